package devdata

import (
	"errors"
	"sort"
	"testing"

	"gatehouse/internal/inspect/injection"
)

func TestCrossValidation(t *testing.T) {
	docs, err := Load(dataDir())
	if errors.Is(err, ErrMissing) {
		t.Skipf("skipping: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	var ctxs []string
	for _, d := range docs {
		if !d.Label && len(d.Text) > 200 {
			ctxs = append(ctxs, d.Text)
		}
	}
	docs = append(docs, BuildFramed(ctxs, nil)...)
	m, scores := Build(docs, 5, injection.TrainOptions{})
	t.Logf("threshold %.4f", m.Threshold)
	type agg struct{ n, hit int }
	res := map[string]*agg{}
	for i, d := range docs {
		key := d.Source + " " + d.Style
		if !d.Label {
			key = d.Source + " benign"
		}
		a := res[key]
		if a == nil {
			a = &agg{}
			res[key] = a
		}
		a.n++
		if scores[i] >= float64(m.Threshold) {
			a.hit++
		}
	}
	for k, a := range res {
		t.Logf("%-60s %5d flagged %5d (%.2f%%)", k, a.n, a.hit, 100*float64(a.hit)/float64(a.n))
	}
}

func TestTopBenign(t *testing.T) {
	docs, err := Load(dataDir())
	if err != nil {
		t.Skip(err)
	}
	scores := CrossScores(docs, 5, injection.TrainOptions{})
	type ds struct {
		s float64
		d Doc
	}
	var top []ds
	for i, d := range docs {
		if !d.Label {
			top = append(top, ds{scores[i], d})
		}
	}
	sort.Slice(top, func(i, j int) bool { return top[i].s > top[j].s })
	for _, x := range top[:25] {
		t.Logf("%.4f %s %.300q", x.s, x.d.Source, x.d.Text)
	}
}
