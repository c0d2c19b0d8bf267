package inspect

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
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

// runeOffsets converts findings' byte offsets in text to code-point offsets (offsets past the
// end count as the end; a byte of an incomplete character counts as one, as
// utf8.RuneCountInString counts it), in one pass over the text whatever the number of findings:
// counting from the start for each was quadratic, minutes for a megabyte that repeats an
// attack thousands of times.
func runeOffsets(text string, fs []Finding) []Finding {
	out := make([]Finding, len(fs))
	offs := make([]int, 0, 2*len(fs))
	for i, f := range fs {
		f.Start, f.End = min(f.Start, len(text)), min(f.End, len(text))
		out[i] = f
		offs = append(offs, f.Start, f.End)
	}
	slices.Sort(offs)
	runes := make(map[int]int, len(offs))
	pos, n := 0, 0 // pos is a character boundary, n the code points before it
	for _, o := range slices.Compact(offs) {
		for pos < o {
			_, size := utf8.DecodeRuneInString(text[pos:])
			if pos+size > o {
				break
			}
			pos += size
			n++
		}
		runes[o] = n + (o - pos)
	}
	for i := range out {
		out[i].Start, out[i].End = runes[out[i].Start], runes[out[i].End]
	}
	return out
}
