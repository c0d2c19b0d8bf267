package devdata

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"gatehouse/internal/inspect/injection"
)

// Scored is a doc's verdict.
type Scored struct {
	Score   float64
	Flagged bool
	Took    time.Duration
}

// Row is one line of the evaluation: a file, or an attack style within a file.
type Row struct {
	Name                   string
	Benign, Injected       int
	TP, FP                 int
	Precision, Recall, F1  float64 // NaN where the row has no positives (or no flags)
	FPR, RecallAt1FPR      float64
	ThresholdAt1FPR        float64
	hasBenign, hasInjected bool
}

// Report is the evaluation of a detector over the development data.
type Report struct {
	Mode      string
	Threshold float64
	Rows      []Row
	// Latency per KiB of text, over docs of at least 512 bytes.
	P50PerKB, P99PerKB time.Duration
	Docs               int
}

// Evaluate computes the report from each doc's verdict.
func Evaluate(mode string, threshold float64, docs []Doc, res []Scored) Report {
	rep := Report{Mode: mode, Threshold: threshold, Docs: len(docs)}
	type idx []int
	files := map[string]idx{}
	styles := map[string]idx{}
	var pooledBenign []float64
	for i, d := range docs {
		files[d.Source] = append(files[d.Source], i)
		if d.Label {
			k := d.Source + " · " + d.Style
			styles[k] = append(styles[k], i)
		} else if !d.Built {
			pooledBenign = append(pooledBenign, res[i].Score)
		}
	}
	pooledCut := quantileCut(pooledBenign)
	row := func(name string, ix idx, cut float64, haveCut bool) Row {
		r := Row{Name: name}
		var benign []float64
		for _, i := range ix {
			if docs[i].Label {
				r.Injected++
				if res[i].Flagged {
					r.TP++
				}
			} else {
				r.Benign++
				benign = append(benign, res[i].Score)
				if res[i].Flagged {
					r.FP++
				}
			}
		}
		r.hasBenign, r.hasInjected = r.Benign > 0, r.Injected > 0
		r.Precision, r.Recall, r.F1, r.FPR = math.NaN(), math.NaN(), math.NaN(), math.NaN()
		r.RecallAt1FPR = math.NaN()
		if r.TP+r.FP > 0 {
			r.Precision = float64(r.TP) / float64(r.TP+r.FP)
		}
		if r.Injected > 0 {
			r.Recall = float64(r.TP) / float64(r.Injected)
			if !math.IsNaN(r.Precision) && r.Precision+r.Recall > 0 {
				r.F1 = 2 * r.Precision * r.Recall / (r.Precision + r.Recall)
			}
		}
		if r.Benign > 0 {
			r.FPR = float64(r.FP) / float64(r.Benign)
		}
		if !haveCut && len(benign) > 0 {
			cut, haveCut = quantileCut(benign), true
		}
		if !haveCut {
			cut, haveCut = pooledCut, true
		}
		r.ThresholdAt1FPR = cut
		if r.Injected > 0 {
			hit := 0
			for _, i := range ix {
				if docs[i].Label && res[i].Score > cut {
					hit++
				}
			}
			r.RecallAt1FPR = float64(hit) / float64(r.Injected)
		}
		return r
	}
	names := make([]string, 0, len(files))
	for k := range files {
		names = append(names, k)
	}
	sort.Strings(names)
	var real, built idx
	for _, name := range names {
		ix := files[name]
		fileRow := row(name, ix, 0, false)
		rep.Rows = append(rep.Rows, fileRow)
		var ss []string
		for k := range styles {
			if strings.HasPrefix(k, name+" · ") {
				ss = append(ss, k)
			}
		}
		sort.Strings(ss)
		if len(ss) > 1 {
			cut := fileRow.ThresholdAt1FPR
			for _, k := range ss {
				rep.Rows = append(rep.Rows, row("  "+k[len(name)+3:], styles[k], cut, true))
			}
		}
		for _, i := range ix {
			if docs[i].Built {
				built = append(built, i)
			} else {
				real = append(real, i)
			}
		}
	}
	rep.Rows = append(rep.Rows, row("all files", real, pooledCut, true))
	if len(built) > 0 {
		rep.Rows = append(rep.Rows, row("built positives (training aid, not a file)", built, pooledCut, true))
	}
	var perKB []float64
	for i, d := range docs {
		if len(d.Text) >= 512 && res[i].Took > 0 {
			perKB = append(perKB, float64(res[i].Took)/(float64(len(d.Text))/1024))
		}
	}
	sort.Float64s(perKB)
	if len(perKB) > 0 {
		rep.P50PerKB = time.Duration(perKB[len(perKB)/2])
		rep.P99PerKB = time.Duration(perKB[min(len(perKB)-1, len(perKB)*99/100)])
	}
	return rep
}

// quantileCut is the score above which 1% of s lies (the 99th percentile).
func quantileCut(s []float64) float64 {
	if len(s) == 0 {
		return 1
	}
	c := append([]float64(nil), s...)
	sort.Float64s(c)
	return c[min(len(c)-1, int(math.Ceil(0.99*float64(len(c))))-1)]
}

// Write prints the report as a table.
func (r Report) Write(w io.Writer) error {
	fmt.Fprintf(w, "mode: %s\noperating point: %.4f\ndocs: %d\nlatency per KiB (docs ≥ 512 B, whole inspection): p50 %s, p99 %s\n\n",
		r.Mode, r.Threshold, r.Docs, r.P50PerKB.Round(time.Microsecond/10), r.P99PerKB.Round(time.Microsecond/10))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	io.WriteString(tw, "file / attack style\tbenign\tinjected\tprecision\trecall\tF1\tFPR\trecall@1% FPR\t\n")
	for _, x := range r.Rows {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\t%s\t%s\t%s\t\n", x.Name, x.Benign, x.Injected, pct(x.Precision), pct(x.Recall), pct(x.F1), pct(x.FPR), pct(x.RecallAt1FPR))
	}
	return tw.Flush()
}

func pct(x float64) string {
	if math.IsNaN(x) {
		return "–"
	}
	return fmt.Sprintf("%.2f%%", 100*x)
}

// Corpus is the development data with the built positives: what the shipped model is
// trained on, and what evaluation runs over.
func Corpus(dir string) ([]Doc, error) {
	docs, err := Load(dir)
	if err != nil {
		return nil, err
	}
	var ctxs []string
	for _, d := range docs {
		if !d.Label && len(d.Text) > 200 {
			ctxs = append(ctxs, d.Text)
		}
	}
	return append(docs, BuildFramed(ctxs, nil)...), nil
}

// CrossValidated scores every doc with the fold model that did not see its template group
// and flags at the operating point the folds chose.
func CrossValidated(docs []Doc, k int) (float64, []Scored) {
	scores, th := CrossScores(docs, k, injection.TrainOptions{})
	out := make([]Scored, len(docs))
	for i, s := range scores {
		out[i] = Scored{Score: s, Flagged: s >= th}
	}
	return th, out
}
