package audit

import (
	"encoding/hex"
	"encoding/json"
	"sort"
	"unicode/utf8"

	"gatehouse/internal/jsonrpc"
)

// argsFast is Arguments for the common configuration (no field rule applies, values hashed
// by default) in one pass over the raw JSON with jsonrpc's scanner, without decoding it into
// maps: each leaf is replaced by its keyed hash, object keys come out sorted as
// encoding/json sorts a map's. It returns false wherever it could not be sure of giving the
// general path's bytes exactly (escapes or characters that encoding/json rewrites, duplicate
// keys, deep nesting, anything malformed), and the caller takes the general path.
func (v *Valuer) argsFast(raw []byte) (json.RawMessage, bool) {
	if !jsonrpc.Valid(raw) {
		return nil, false
	}
	return v.fastValue(make([]byte, 0, 64), trimSpace(raw), 0)
}

// maxFastDepth bounds the recursion; deeper documents take the general path.
const maxFastDepth = 64

// fastValue appends the audited form of the valid JSON value val to dst.
func (v *Valuer) fastValue(dst, val []byte, depth int) ([]byte, bool) {
	if depth > maxFastDepth {
		return nil, false
	}
	switch val[0] {
	case '{':
		type member struct {
			key string
			val []byte
		}
		var members []member
		ok := true
		jsonrpc.EachMember(val, func(k string, e []byte) bool {
			var out []byte
			if out, ok = v.fastValue(nil, e, depth+1); ok && plainString(k) {
				members = append(members, member{k, out})
			} else {
				ok = false
			}
			return ok
		})
		if !ok {
			return nil, false
		}
		// encoding/json writes a map's keys in sorted order; a key given twice is ambiguous.
		sort.Slice(members, func(i, j int) bool { return members[i].key < members[j].key })
		dst = append(dst, '{')
		for i, m := range members {
			if i > 0 {
				if m.key == members[i-1].key {
					return nil, false
				}
				dst = append(dst, ',')
			}
			dst = append(append(append(dst, '"'), m.key...), `":`...)
			dst = append(dst, m.val...)
		}
		return append(dst, '}'), true
	case '[':
		dst = append(dst, '[')
		n, ok := 0, true
		jsonrpc.EachElement(val, func(e []byte) bool {
			if n++; n > 1 {
				dst = append(dst, ',')
			}
			dst, ok = v.fastValue(dst, e, depth+1)
			return ok
		})
		if !ok {
			return nil, false
		}
		return append(dst, ']'), true
	case '"':
		if _, escaped, err := jsonrpc.StringEnd(val, 0); err != nil || escaped || !plainString(string(val[1:len(val)-1])) {
			return nil, false
		}
	}
	// A leaf: a plain string, a number, true, false or null, whose bytes are what
	// encoding/json writes for it and so what the general path hashes.
	var sum [32]byte
	v.sum(sum[:0], val)
	dst = append(dst, `"hmac-sha256:`...)
	dst = hex.AppendEncode(dst, sum[:16])
	return append(dst, '"'), true
}

// plainString reports whether encoding/json writes s between quotes unchanged: no control
// characters, quote, backslash, '<', '>' or '&', valid UTF-8 without U+2028 and U+2029.
func plainString(s string) bool {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c < 0x20 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
				return false
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError || r == '\u2028' || r == '\u2029' {
			return false
		}
		i += n
	}
	return true
}

func trimSpace(b []byte) []byte {
	isWS := func(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
	for len(b) > 0 && isWS(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isWS(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}
