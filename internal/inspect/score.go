package inspect

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"unicode/utf8"
)

// ScoreLine is one output line of `gatehouse inspect score`: a stable contract. Offsets
// are in Unicode code points of the input text (what most JSON consumers index by).
type ScoreLine struct {
	Injection float64   `json:"injection"`
	Flagged   bool      `json:"flagged"`
	Findings  []Finding `json:"findings"`
	Error     string    `json:"error,omitempty"` // an input line that was not an object with a text
}

// maxScoreLine bounds one input line.
const maxScoreLine = 64 << 20

// Score reads JSON Lines ({"text": "..."}) from r and writes one ScoreLine per input line,
// in order. A line that cannot be read gets a line with an error, so that outputs stay
// aligned with inputs.
func (e *Engine) Score(ctx context.Context, r io.Reader, w io.Writer, kind Kind) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxScoreLine)
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	for line := 1; sc.Scan(); line++ {
		var in struct {
			Text *string `json:"text"`
		}
		var out ScoreLine
		if err := json.Unmarshal(sc.Bytes(), &in); err != nil || in.Text == nil {
			out.Error = fmt.Sprintf("line %d: want a JSON object with a string field \"text\"", line)
		} else {
			rep := e.Inspect(ctx, *in.Text, kind)
			out.Injection, out.Flagged, out.Findings = rep.Injection, rep.Flagged, runeOffsets(*in.Text, rep.Findings)
		}
		if out.Findings == nil {
			out.Findings = []Finding{}
		}
		if err := enc.Encode(&out); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("reading input: %w", err)
	}
	return bw.Flush()
}

// runeOffsets converts findings' byte offsets in text to code-point offsets.
func runeOffsets(text string, fs []Finding) []Finding {
	out := make([]Finding, len(fs))
	for i, f := range fs {
		f.Start = utf8.RuneCountInString(text[:min(f.Start, len(text))])
		f.End = utf8.RuneCountInString(text[:min(f.End, len(text))])
		out[i] = f
	}
	return out
}
