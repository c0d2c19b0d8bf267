package jsonrpc

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"

	"gatehouse/internal/swar"
)

// The scanner validates JSON while it skips over it, so that the parser can record byte spans
// without building values. It is strict RFC 8259: no comments, no trailing commas, strings
// must be valid UTF-8 without raw control characters.

func isWS(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func skipWS(b []byte, i int) int {
	for i < len(b) && isWS(b[i]) {
		i++
	}
	return i
}

// skipValue returns the offset just past the JSON value starting at b[i].
func skipValue(b []byte, i, depth int) (int, error) {
	if i >= len(b) {
		return 0, errors.New("unexpected end of input")
	}
	switch c := b[i]; {
	case c == '"':
		end, _, err := skipString(b, i)
		return end, err
	case c == '{':
		return skipObject(b, i, depth+1)
	case c == '[':
		return skipArray(b, i, depth+1)
	case c == 't':
		return skipLiteral(b, i, "true")
	case c == 'f':
		return skipLiteral(b, i, "false")
	case c == 'n':
		return skipLiteral(b, i, "null")
	case c == '-' || (c >= '0' && c <= '9'):
		return skipNumber(b, i)
	default:
		return 0, fmt.Errorf("unexpected character %q at offset %d", c, i)
	}
}

func skipLiteral(b []byte, i int, lit string) (int, error) {
	if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
		return 0, fmt.Errorf("invalid literal at offset %d", i)
	}
	return i + len(lit), nil
}

func skipNumber(b []byte, i int) (int, error) {
	start := i
	if b[i] == '-' {
		i++
	}
	if i >= len(b) {
		return 0, fmt.Errorf("invalid number at offset %d", start)
	}
	switch {
	case b[i] == '0':
		i++
	case b[i] >= '1' && b[i] <= '9':
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	default:
		return 0, fmt.Errorf("invalid number at offset %d", start)
	}
	if i < len(b) && b[i] == '.' {
		i++
		d := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == d {
			return 0, fmt.Errorf("invalid number at offset %d", start)
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		d := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == d {
			return 0, fmt.Errorf("invalid number at offset %d", start)
		}
	}
	return i, nil
}

// strSafe marks bytes that need no attention inside a string.
var strSafe = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// plainMask is non-zero when some byte of x needs attention inside a string.
func plainMask(x uint64) uint64 {
	return x&swar.High | swar.Eq(x, '"') | swar.Eq(x, '\\') | swar.Less(x, 0x20)
}

// skipString returns the offset past the closing quote of the string at b[i], and whether it
// contains escapes.
func skipString(b []byte, i int) (end int, escaped bool, err error) {
	start := i
	i++
	highBit := false
	for {
		// Eight bytes at a time while none needs attention (a quote, a backslash, a control
		// character or a non-ASCII byte): most string bytes are plain text. A string whose
		// first eight bytes are plain may be long: it goes on 32 bytes per test, four
		// independent words the CPU checks at once (short strings, most member names, do
		// not pay for the wider loads).
		if i+8 <= len(b) && plainMask(binary.LittleEndian.Uint64(b[i:])) == 0 {
			i += 8
			for i+32 <= len(b) {
				w := b[i : i+32]
				x0 := binary.LittleEndian.Uint64(w)
				x1 := binary.LittleEndian.Uint64(w[8:])
				x2 := binary.LittleEndian.Uint64(w[16:])
				x3 := binary.LittleEndian.Uint64(w[24:])
				if plainMask(x0)|plainMask(x1)|plainMask(x2)|plainMask(x3) != 0 {
					break
				}
				i += 32
			}
		}
		for i+8 <= len(b) {
			if plainMask(binary.LittleEndian.Uint64(b[i:])) != 0 {
				break
			}
			i += 8
		}
		for i < len(b) && strSafe[b[i]] {
			i++
		}
		if i >= len(b) {
			return 0, false, fmt.Errorf("unterminated string at offset %d", start)
		}
		switch c := b[i]; {
		case c == '"':
			if highBit && !utf8.Valid(b[start+1:i]) {
				return 0, false, fmt.Errorf("invalid UTF-8 in string at offset %d", start)
			}
			return i + 1, escaped, nil
		case c == '\\':
			escaped = true
			if i+1 >= len(b) {
				return 0, false, fmt.Errorf("unterminated string at offset %d", start)
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(b) || !isHex(b[i+2]) || !isHex(b[i+3]) || !isHex(b[i+4]) || !isHex(b[i+5]) {
					return 0, false, fmt.Errorf("invalid \\u escape at offset %d", i)
				}
				i += 6
			default:
				return 0, false, fmt.Errorf("invalid escape at offset %d", i)
			}
		case c < 0x20:
			return 0, false, fmt.Errorf("control character in string at offset %d", i)
		default: // >= 0x80
			highBit = true
			i++
		}
	}
}

// StringEnd returns the offset just past the JSON string literal that starts at b[i] (a
// quote), and whether it holds escapes; it fails on anything RFC 8259 does not allow in a
// string (raw control characters, bad escapes, invalid UTF-8).
func StringEnd(b []byte, i int) (end int, escaped bool, err error) { return skipString(b, i) }

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

// errDuplicateMember: an object names the same member twice. RFC 8259 leaves the meaning
// to the parser, and parsers differ (most take the last, some the first), so a gateway that
// read one value while the upstream read the other could be steered past its own checks:
// such a message is refused, whichever side sends it.
var errDuplicateMember = errors.New("duplicate member name")

// memberNames finds repeated member names in one object: a linear scan while the object is
// small (the usual case; no allocation), a set beyond that.
type memberNames struct {
	small [16][]byte
	n     int
	set   map[string]struct{}
}

// add records name (the raw literal, quotes included) and reports whether it was seen before.
func (m *memberNames) add(raw []byte, escaped bool) bool {
	name := raw[1 : len(raw)-1]
	if escaped {
		name = unquoteBytes(raw)
	}
	if m.set != nil {
		if _, ok := m.set[string(name)]; ok {
			return true
		}
		m.set[string(name)] = struct{}{}
		return false
	}
	for _, s := range m.small[:m.n] {
		if string(s) == string(name) {
			return true
		}
	}
	if m.n < len(m.small) {
		m.small[m.n] = name
		m.n++
		return false
	}
	m.set = make(map[string]struct{}, 2*len(m.small))
	for _, s := range m.small {
		m.set[string(s)] = struct{}{}
	}
	m.set[string(name)] = struct{}{}
	return false
}

func skipObject(b []byte, i, depth int) (int, error) {
	if depth > maxDepth {
		return 0, errors.New("nesting too deep")
	}
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == '}' {
		return i + 1, nil
	}
	var names memberNames
	for {
		if i >= len(b) || b[i] != '"' {
			return 0, fmt.Errorf("expected member name at offset %d", i)
		}
		end, esc, err := skipString(b, i)
		if err != nil {
			return 0, err
		}
		if names.add(b[i:end], esc) {
			return 0, fmt.Errorf("%w %s at offset %d", errDuplicateMember, b[i:end], i)
		}
		i = skipWS(b, end)
		if i >= len(b) || b[i] != ':' {
			return 0, fmt.Errorf("expected ':' at offset %d", i)
		}
		if i, err = skipValue(b, skipWS(b, i+1), depth); err != nil {
			return 0, err
		}
		i = skipWS(b, i)
		if i >= len(b) {
			return 0, errors.New("unterminated object")
		}
		switch b[i] {
		case ',':
			i = skipWS(b, i+1)
		case '}':
			return i + 1, nil
		default:
			return 0, fmt.Errorf("expected ',' or '}' at offset %d", i)
		}
	}
}

func skipArray(b []byte, i, depth int) (int, error) {
	if depth > maxDepth {
		return 0, errors.New("nesting too deep")
	}
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == ']' {
		return i + 1, nil
	}
	for {
		var err error
		if i, err = skipValue(b, i, depth); err != nil {
			return 0, err
		}
		i = skipWS(b, i)
		if i >= len(b) {
			return 0, errors.New("unterminated array")
		}
		switch b[i] {
		case ',':
			i = skipWS(b, i+1)
		case ']':
			return i + 1, nil
		default:
			return 0, fmt.Errorf("expected ',' or ']' at offset %d", i)
		}
	}
}

// unquoteBytes decodes a JSON string literal that skipString has already validated.
func unquoteBytes(q []byte) []byte {
	inner := q[1 : len(q)-1]
	needs := false
	for _, c := range inner {
		if c == '\\' {
			needs = true
			break
		}
	}
	if !needs {
		return inner
	}
	var s string
	if err := json.Unmarshal(q, &s); err != nil {
		return inner
	}
	return []byte(s)
}

// appendString appends s as a JSON string literal.
func appendString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// AppendString appends s to dst as a JSON string literal.
func AppendString(dst []byte, s string) []byte { return appendString(dst, s) }

// Valid reports whether b is one well-formed JSON value (with surrounding whitespace).
func Valid(b []byte) bool {
	i := skipWS(b, 0)
	end, err := skipValue(b, i, 0)
	return err == nil && skipWS(b, end) == len(b)
}
