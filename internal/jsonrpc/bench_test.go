package jsonrpc

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

// BenchmarkParse parses a response as the gateway does every message: a small echo result
// and a 64 KiB text result, as the load tool's upstream returns them.
func BenchmarkParse(b *testing.B) {
	for _, tc := range []struct {
		name string
		text string
	}{
		{"echo", strings.Repeat("e", 100)},
		{"64KiB", strings.Repeat("The quick brown fox jumps over the lazy dog. ", 65536/45)},
	} {
		msg := []byte(`{"jsonrpc":"2.0","id":7,"result":{"content":[{"type":"text","text":"` + tc.text + `"}],"isError":false}}`)
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(int64(len(msg)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Parse(msg); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestStringEndEveryOffset puts each kind of byte that needs attention at every offset of a
// long string, so that every lane of the 8- and 32-byte loops meets it, and checks
// StringEnd against encoding/json.
func TestStringEndEveryOffset(t *testing.T) {
	specials := []string{`"`, `\n`, `\u00e9`, "\x01", "\x1f", "é", "\xff", `\x`, "\x7f"}
	for _, sp := range specials {
		for off := 0; off < 80; off++ {
			body := strings.Repeat("a", off) + sp + strings.Repeat("b", 80-off)
			lit := `"` + body + `"`
			end, _, err := StringEnd([]byte(lit+` `), 0)
			// encoding/json lets invalid UTF-8 through; RFC 8259, and StringEnd, do not.
			valid := json.Valid([]byte(lit)) && utf8.ValidString(lit)
			switch {
			case sp == `"`:
				// The string ends at the special quote.
				if err != nil || end != off+2 {
					t.Errorf("quote at %d: end %d, err %v; want %d", off, end, err, off+2)
				}
			case valid && (err != nil || end != len(lit)):
				t.Errorf("%q at %d: end %d, err %v; want %d", sp, off, end, err, len(lit))
			case !valid && err == nil:
				t.Errorf("%q at %d: accepted an invalid string", sp, off)
			}
		}
	}
}
