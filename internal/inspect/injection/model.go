package injection

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// Model is a logistic regression over hashed features: small, fast, and trained from the
// development data by Train (see `gatehouse inspect train`).
type Model struct {
	W    []float32 // Dims weights
	Bias float32
	// Threshold is the operating point on the score, chosen on the development data.
	Threshold float32
}

// magic and version head the serialised weights, so that a stale or foreign file is refused.
const modelMagic = "GHINJ002"

// MarshalBinary writes the model as magic, bias and the weights as float32, little-endian.
func (m *Model) MarshalBinary() ([]byte, error) {
	out := make([]byte, 0, len(modelMagic)+8+4*len(m.W))
	out = append(out, modelMagic...)
	out = binary.LittleEndian.AppendUint32(out, math.Float32bits(m.Bias))
	out = binary.LittleEndian.AppendUint32(out, math.Float32bits(m.Threshold))
	for _, w := range m.W {
		out = binary.LittleEndian.AppendUint32(out, math.Float32bits(w))
	}
	return out, nil
}

// UnmarshalBinary reads what MarshalBinary wrote.
func (m *Model) UnmarshalBinary(b []byte) error {
	if len(b) != len(modelMagic)+8+4*Dims || string(b[:len(modelMagic)]) != modelMagic {
		return errors.New("injection model: not a weights file of this version")
	}
	b = b[len(modelMagic):]
	m.Bias = math.Float32frombits(binary.LittleEndian.Uint32(b))
	m.Threshold = math.Float32frombits(binary.LittleEndian.Uint32(b[4:]))
	b = b[8:]
	m.W = make([]float32, Dims)
	for i := range m.W {
		m.W[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return nil
}

func sigmoid(z float64) float64 { return 1 / (1 + math.Exp(-z)) }

func (m *Model) String() string { return fmt.Sprintf("injection model (%d buckets)", len(m.W)) }
