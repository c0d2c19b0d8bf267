package inspect

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
	"unsafe"

	"gatehouse/internal/jsonrpc"
)

// StringVisitor sees one string value of a JSON document: path holds the member names
// (and "[]" for array elements) from the root. It returns a replacement and true to change
// the value. A string without escapes is not copied out of the document: s (and a member
// name in path) shares its memory, so a visitor that keeps one or a part of it beyond the
// document's life (a buffer that is reused) must copy it (strings.Clone).
type StringVisitor func(path []string, s string) (string, bool)

// RewriteStrings walks the JSON value b, calls fn on every string value (member names are
// not values), and returns b with the replacements spliced in (b itself if none). The
// document is parsed once; bytes outside replaced strings are copied as they were.
func RewriteStrings(b []byte, fn StringVisitor) ([]byte, error) {
	w := walker{b: b, fn: fn}
	i, err := w.value(skipSpace(b, 0), 0)
	if err != nil {
		return nil, err
	}
	if skipSpace(b, i) != len(b) {
		return nil, errors.New("json: trailing data")
	}
	if w.out == nil {
		return b, nil
	}
	return append(w.out, b[w.copied:]...), nil
}

const maxDepth = 128

type walker struct {
	b      []byte
	fn     StringVisitor
	path   []string
	out    []byte // nil until the first replacement
	copied int    // b[:copied] is in out
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == '\t' || b[i] == '\r') {
		i++
	}
	return i
}

func (w *walker) value(i, depth int) (int, error) {
	b := w.b
	if depth > maxDepth {
		return 0, errors.New("json: nested too deeply")
	}
	if i >= len(b) {
		return 0, errors.New("json: unexpected end")
	}
	switch c := b[i]; {
	case c == '"':
		end, s, err := stringAt(b, i)
		if err != nil {
			return 0, err
		}
		if repl, ok := w.fn(w.path, s); ok && repl != s {
			enc, _ := json.Marshal(repl)
			w.out = append(append(w.out, b[w.copied:i]...), enc...)
			w.copied = end
		}
		return end, nil
	case c == '{':
		i = skipSpace(b, i+1)
		if i < len(b) && b[i] == '}' {
			return i + 1, nil
		}
		for {
			if i >= len(b) || b[i] != '"' {
				return 0, fmt.Errorf("json: member name expected at offset %d", i)
			}
			end, key, err := stringAt(b, i)
			if err != nil {
				return 0, err
			}
			i = skipSpace(b, end)
			if i >= len(b) || b[i] != ':' {
				return 0, fmt.Errorf("json: ':' expected at offset %d", i)
			}
			w.path = append(w.path, key)
			i, err = w.value(skipSpace(b, i+1), depth+1)
			w.path = w.path[:len(w.path)-1]
			if err != nil {
				return 0, err
			}
			i = skipSpace(b, i)
			if i < len(b) && b[i] == ',' {
				i = skipSpace(b, i+1)
				continue
			}
			if i < len(b) && b[i] == '}' {
				return i + 1, nil
			}
			return 0, fmt.Errorf("json: ',' or '}' expected at offset %d", i)
		}
	case c == '[':
		i = skipSpace(b, i+1)
		if i < len(b) && b[i] == ']' {
			return i + 1, nil
		}
		w.path = append(w.path, "[]")
		defer func() { w.path = w.path[:len(w.path)-1] }()
		for {
			var err error
			i, err = w.value(i, depth+1)
			if err != nil {
				return 0, err
			}
			i = skipSpace(b, i)
			if i < len(b) && b[i] == ',' {
				i = skipSpace(b, i+1)
				continue
			}
			if i < len(b) && b[i] == ']' {
				return i + 1, nil
			}
			return 0, fmt.Errorf("json: ',' or ']' expected at offset %d", i)
		}
	default:
		j := i
		for j < len(b) && (b[j] == '-' || b[j] == '+' || b[j] == '.' || b[j] >= '0' && b[j] <= '9' || b[j] >= 'a' && b[j] <= 'z' || b[j] == 'E') {
			j++
		}
		switch lit := string(b[i:j]); {
		case j == i:
			return 0, fmt.Errorf("json: unexpected %q at offset %d", c, i)
		case lit == "true" || lit == "false" || lit == "null":
		case json.Valid(b[i:j]):
		default:
			return 0, fmt.Errorf("json: bad literal %q at offset %d", lit, i)
		}
		return j, nil
	}
}

// stringAt reads the JSON string starting at b[i] (a quote): its end and its value.
func stringAt(b []byte, i int) (int, string, error) {
	// The usual case, a valid string without escapes, through the word-at-a-time scanner;
	// anything else takes the careful path below.
	if end, esc, err := jsonrpc.StringEnd(b, i); err == nil && !esc {
		// No copy: a tool result is often one string of tens of kilobytes.
		return end, unsafe.String(unsafe.SliceData(b[i+1:end-1]), end-1-i-1), nil
	}
	escaped := false
	for j := i + 1; j < len(b); j++ {
		switch c := b[j]; {
		case c == '\\':
			escaped = true
			j++
		case c == '"':
			if !escaped {
				s := string(b[i+1 : j])
				if !utf8.ValidString(s) {
					s = strings.ToValidUTF8(s, "\uFFFD")
				}
				return j + 1, s, nil
			}
			var s string
			if err := json.Unmarshal(b[i:j+1], &s); err != nil {
				return 0, "", fmt.Errorf("json: bad string at offset %d: %w", i, err)
			}
			return j + 1, s, nil
		case c < 0x20:
			return 0, "", fmt.Errorf("json: control character in string at offset %d", j)
		}
	}
	return 0, "", errors.New("json: unterminated string")
}
