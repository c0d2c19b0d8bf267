package devdata

import (
	"hash/fnv"
	"sort"

	"gatehouse/internal/inspect"
	"gatehouse/internal/inspect/injection"
)

// Examples cuts docs into the detector's segments: every segment of a benign text, and every
// segment of an injected one that holds none of the injection (benign text around an
// injection is the best negative there is), is negative; the injected spans are the
// positives. A positive doc whose span is unknown gives none.
func Examples(docs []Doc) []injection.Example {
	var out []injection.Example
	var segs []injection.Segment
	for _, d := range docs {
		n := inspect.Normalize(d.Text)
		segs = injection.Segments(segs[:0], n.Lower)
		for _, sg := range segs {
			text := n.Lower[sg.Start:sg.End]
			if !d.Label {
				out = append(out, injection.Example{Text: text})
				continue
			}
			if len(d.Spans) == 0 {
				// Where the injection is is unknown (and some such rows hold none that can be
				// seen): no segment of it is a sure example either way.
				break
			}
			os, oe := n.Orig(sg.Start, sg.End)
			hit := false
			for _, sp := range d.Spans {
				if min(oe, sp[1]) > max(os, sp[0]) {
					hit = true
				}
			}
			if !hit {
				out = append(out, injection.Example{Text: text})
			}
		}
		// The injected text itself is the positive: with its surroundings, the model would
		// learn the contexts attacks happened to be planted in (hotel reviews, tables).
		for _, sp := range d.Spans {
			in := Normalize(d.Text[sp[0]:sp[1]])
			segs = injection.Segments(segs[:0], in)
			for _, sg := range segs {
				out = append(out, injection.Example{Text: in[sg.Start:sg.End], Label: true})
			}
		}
	}
	return out
}

// Fold assigns a group to one of k folds, by a hash of its name: stable across runs.
func Fold(group string, k int) int {
	h := fnv.New32a()
	h.Write([]byte(group))
	return int(h.Sum32() % uint32(k))
}

// CrossScores trains k models, each without one fold of groups, and scores every doc with
// the model that did not see its group. Built docs train in every fold they do not belong
// to, and are scored too.
//
// A detector's floors (where the model is not heard: short texts, the sentence around a
// rule) sit relative to its operating point, which these scores choose. So the docs are
// scored at the models' default point, the operating point is taken from those scores, and
// they are scored again at it until it settles, as the shipped detector runs at the point
// it ships with. It returns the scores and the operating point they were made at.
func CrossScores(docs []Doc, k int, o injection.TrainOptions) ([]float64, float64) {
	dets := make([]*injection.Detector, k)
	for f := range k {
		var train []Doc
		for _, d := range docs {
			if Fold(d.Group, k) != f {
				train = append(train, d)
			}
		}
		dets[f] = injection.New(injection.Train(Examples(train), o))
	}
	lower := make([]string, len(docs))
	for i, d := range docs {
		lower[i] = inspect.Normalize(d.Text).Lower
	}
	scores := make([]float64, len(docs))
	th := dets[0].Threshold
	for iter := 0; ; iter++ {
		for _, det := range dets {
			det.Threshold, det.DescriptionThreshold = th, injection.Stricter(th)
		}
		for i, d := range docs {
			r := dets[Fold(d.Group, k)].Score(lower[i], injection.KindResult)
			scores[i] = r.Score
			if !injection.Flag(injection.KindResult, r, 0) {
				scores[i] = min(scores[i], 0.5) // the model alone does not flag a short text
			}
		}
		next := OperatingPoint(docs, scores)
		if next == th || iter == 3 {
			return scores, th // unsettled after four passes, TestTargets says so
		}
		th = next
	}
}

// Folds is the number of cross-validation folds the shipped operating point comes from.
const Folds = 5

// TargetFPR is the false-positive rate the operating point aims under on every benign
// source (the product's target is 1%; half of it is the margin for data not seen).
const TargetFPR = 0.005

// OperatingPoint is the lowest score threshold at which every benign source of the
// development files stays at or under TargetFPR.
func OperatingPoint(docs []Doc, scores []float64) float64 {
	bySource := map[string][]float64{}
	for i, d := range docs {
		if !d.Label && !d.Built {
			bySource[d.Source] = append(bySource[d.Source], scores[i])
		}
	}
	th := 0.5
	for _, s := range bySource {
		sort.Float64s(s)
		// The smallest threshold above all but TargetFPR of this source's scores.
		allowed := int(TargetFPR * float64(len(s)))
		cut := s[len(s)-1-allowed]
		th = max(th, nextAbove(cut))
	}
	return th
}

func nextAbove(x float64) float64 { return x + 1e-6 }

// Build trains the shipped model: cross-validated scores fix the operating point, then one
// model is trained on everything.
func Build(docs []Doc, k int, o injection.TrainOptions) (*injection.Model, []float64) {
	scores, th := CrossScores(docs, k, o)
	m := injection.Train(Examples(docs), o)
	m.Threshold = float32(th)
	return m, scores
}

// Normalize is the text as the detector sees it.
func Normalize(s string) string { return inspect.Normalize(s).Lower }
