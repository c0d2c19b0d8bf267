package injection

import (
	"math"
	"math/rand/v2"
)

// Example is one training segment: normalised, lowercased text and its label.
type Example struct {
	Text   string
	Label  bool
	Weight float32 // 0 means 1
}

// TrainOptions tune Train; the zero value is the reproducible default.
type TrainOptions struct {
	Epochs int     // default 6
	L2     float64 // default 1e-6
	Rate   float64 // AdaGrad base rate, default 0.5
	Seed   uint64  // shuffling seed, default 1
}

// Train fits the model by AdaGrad on the logistic loss, with the two classes weighted to
// balance. The same examples and options give the same weights, bit for bit.
func Train(examples []Example, o TrainOptions) *Model {
	if o.Epochs == 0 {
		o.Epochs = 6
	}
	if o.L2 == 0 {
		o.L2 = 1e-6
	}
	if o.Rate == 0 {
		o.Rate = 0.5
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	type vec struct {
		f []uint32
		v float32
		y float64
		w float64
	}
	var pos, neg float64
	for _, e := range examples {
		if e.Label {
			pos++
		} else {
			neg++
		}
	}
	vecs := make([]vec, len(examples))
	for i, e := range examples {
		f, v := features(nil, e.Text)
		w := float64(e.Weight)
		if w == 0 {
			w = 1
		}
		if e.Label {
			vecs[i] = vec{f, v, 1, w * (pos + neg) * positiveMass / max(pos, 1)}
		} else {
			vecs[i] = vec{f, v, 0, w * (pos + neg) * (1 - positiveMass) / max(neg, 1)}
		}
	}
	w := make([]float64, Dims)
	g2 := make([]float64, Dims)
	// The bias is fixed, not learned: text the model knows nothing about (a format absent
	// from the training data, a short string) must score as benign. Balanced classes would
	// otherwise teach it a prior near one half.
	bias := fixedBias
	rng := rand.New(rand.NewPCG(o.Seed, 0x9e3779b97f4a7c15))
	order := make([]int, len(vecs))
	for i := range order {
		order[i] = i
	}
	for range o.Epochs {
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for _, i := range order {
			x := &vecs[i]
			z := bias
			for _, f := range x.f {
				z += w[f] * float64(x.v)
			}
			g := (sigmoid(z) - x.y) * x.w
			for _, f := range x.f {
				gi := g*float64(x.v) + o.L2*w[f]
				g2[f] += gi * gi
				w[f] -= o.Rate * gi / math.Sqrt(g2[f]+1e-8)
			}
		}
	}
	m := &Model{W: make([]float32, Dims), Bias: float32(bias), Threshold: 0.5}
	for i, x := range w {
		m.W[i] = float32(x)
	}
	return m
}

func mathLog(x float64) float64 { return math.Log(x) }

// positiveMass is the share of the training weight the positives carry. Below one half: the
// injected spans are plain English sentences and the benign texts mostly structured data, so
// balanced classes teach the model that prose itself is suspicious.
const positiveMass = 0.2

// fixedBias is the logit of a text without features: about 5%.
const fixedBias = -3.0
