package devdata

import (
	"bytes"
	"errors"
	"math"
	"testing"

	"gatehouse/internal/inspect/injection"
)

func corpus(t *testing.T) []Doc {
	t.Helper()
	docs, err := Corpus(dataDir())
	if errors.Is(err, ErrMissing) {
		t.Skipf("skipping: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	return docs
}

// TestTargets: under template-split cross-validation the detector meets the product's
// targets on the development data: FPR at most 1% on every benign source, recall at least
// 95% on injected tool outputs.
func TestTargets(t *testing.T) {
	docs := corpus(t)
	th, res := CrossValidated(docs, Folds)
	scores := make([]float64, len(res))
	for i, r := range res {
		scores[i] = r.Score
	}
	// The scores were made at the operating point they choose (the detector's floors sit
	// relative to it), as the shipped detector runs at the point it ships with.
	if got := OperatingPoint(docs, scores); got != th {
		t.Errorf("the cross-validated scores choose operating point %v, but were made at %v", got, th)
	}
	rep := Evaluate("cv", th, docs, res)
	var buf bytes.Buffer
	rep.Write(&buf)
	t.Logf("\n%s", buf.String())
	for _, r := range rep.Rows {
		if r.Benign > 0 && !math.IsNaN(r.FPR) && r.FPR > 0.01 {
			t.Errorf("%s: false-positive rate %.2f%% > 1%%", r.Name, 100*r.FPR)
		}
		if r.Name == "agentdojo/tool_outputs_dev" && r.Recall < 0.95 {
			t.Errorf("%s: recall %.2f%% < 95%%", r.Name, 100*r.Recall)
		}
	}
}

// TestWeightsReproducible: `gatehouse inspect train` on the development data gives the
// embedded weights bit for bit.
func TestWeightsReproducible(t *testing.T) {
	docs := corpus(t)
	m, _ := Build(docs, Folds, injection.TrainOptions{})
	got, err := m.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, injection.EmbeddedWeights()) {
		t.Fatal("the embedded weights are not what training on the development data gives: run `go run ./cmd/gatehouse inspect train` and commit weights.bin")
	}
}
