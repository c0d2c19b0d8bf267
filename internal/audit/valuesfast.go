package audit

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"sort"
	"unicode/utf8"
)

// argsFast is Arguments for the common configuration (no field rule applies, values hashed
// by default) in one pass over the raw JSON, without decoding it into maps: each leaf is
// replaced by its keyed hash, object keys come out sorted as encoding/json sorts a map's.
// It returns false wherever it could not be sure of giving the general path's bytes exactly
// (escapes or characters that encoding/json rewrites, duplicate keys, anything malformed),
// and the caller takes the general path.
func (v *Valuer) argsFast(raw []byte) (json.RawMessage, bool) {
	p := fastArgs{v: v, s: raw}
	p.ws()
	out, ok := p.value(make([]byte, 0, 64))
	p.ws()
	if !ok || p.i != len(p.s) {
		return nil, false
	}
	return out, true
}

type fastArgs struct {
	v     *Valuer
	s     []byte
	i     int
	depth int
}

// maxFastDepth bounds the recursion; deeper documents take the general path.
const maxFastDepth = 64

func (p *fastArgs) ws() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t' || p.s[p.i] == '\n' || p.s[p.i] == '\r') {
		p.i++
	}
}

// value appends the audited form of the value at p.i to dst.
func (p *fastArgs) value(dst []byte) ([]byte, bool) {
	if p.i >= len(p.s) {
		return nil, false
	}
	switch c := p.s[p.i]; {
	case c == '{':
		return p.object(dst)
	case c == '[':
		return p.array(dst)
	case c == '"':
		tok, ok := p.str()
		if !ok {
			return nil, false
		}
		return p.hashed(dst, tok), true
	default:
		tok, ok := p.literal()
		if !ok {
			return nil, false
		}
		return p.hashed(dst, tok), true
	}
}

// hashed appends the JSON string of tok's keyed hash (HashValue) to dst.
func (p *fastArgs) hashed(dst, tok []byte) []byte {
	var sum [32]byte
	p.v.sum(sum[:0], tok)
	dst = append(dst, `"hmac-sha256:`...)
	dst = hex.AppendEncode(dst, sum[:16])
	return append(dst, '"')
}

// str reads a string token that encoding/json would write back byte for byte: no escapes,
// no control characters, no '<', '>' or '&', valid UTF-8 without U+2028 and U+2029.
func (p *fastArgs) str() ([]byte, bool) {
	start := p.i
	p.i++
	for p.i < len(p.s) {
		c := p.s[p.i]
		switch {
		case c == '"':
			p.i++
			return p.s[start:p.i], true
		case c == '\\' || c < 0x20 || c == '<' || c == '>' || c == '&':
			return nil, false
		case c < utf8.RuneSelf:
			p.i++
		default:
			r, n := utf8.DecodeRune(p.s[p.i:])
			if r == utf8.RuneError || r == '\u2028' || r == '\u2029' {
				return nil, false
			}
			p.i += n
		}
	}
	return nil, false
}

// literal reads a number, true, false or null, validated as encoding/json would.
func (p *fastArgs) literal() ([]byte, bool) {
	start := p.i
	for p.i < len(p.s) {
		c := p.s[p.i]
		if c == ',' || c == '}' || c == ']' || c == ' ' || c == '\t' || c == '\n' || c == '\r' {
			break
		}
		p.i++
	}
	tok := p.s[start:p.i]
	switch string(tok) {
	case "true", "false", "null":
		return tok, true
	}
	return tok, len(tok) > 0 && json.Valid(tok) && (tok[0] == '-' || tok[0] >= '0' && tok[0] <= '9')
}

type fastMember struct {
	key []byte // the key's token, quotes included
	val []byte // its audited form
}

func (p *fastArgs) object(dst []byte) ([]byte, bool) {
	if p.depth++; p.depth > maxFastDepth {
		return nil, false
	}
	defer func() { p.depth-- }()
	p.i++ // '{'
	var members []fastMember
	p.ws()
	if p.i < len(p.s) && p.s[p.i] == '}' {
		p.i++
		return append(dst, "{}"...), true
	}
	for {
		p.ws()
		if p.i >= len(p.s) || p.s[p.i] != '"' {
			return nil, false
		}
		key, ok := p.str()
		if !ok {
			return nil, false
		}
		p.ws()
		if p.i >= len(p.s) || p.s[p.i] != ':' {
			return nil, false
		}
		p.i++
		p.ws()
		val, ok := p.value(nil)
		if !ok {
			return nil, false
		}
		members = append(members, fastMember{key, val})
		p.ws()
		if p.i >= len(p.s) {
			return nil, false
		}
		if p.s[p.i] == ',' {
			p.i++
			continue
		}
		if p.s[p.i] != '}' {
			return nil, false
		}
		p.i++
		break
	}
	// encoding/json writes a map's keys in sorted order; a key given twice is ambiguous.
	sort.Slice(members, func(i, j int) bool { return bytes.Compare(unquoted(members[i].key), unquoted(members[j].key)) < 0 })
	dst = append(dst, '{')
	for i, m := range members {
		if i > 0 {
			if bytes.Equal(unquoted(m.key), unquoted(members[i-1].key)) {
				return nil, false
			}
			dst = append(dst, ',')
		}
		dst = append(dst, m.key...)
		dst = append(dst, ':')
		dst = append(dst, m.val...)
	}
	return append(dst, '}'), true
}

func (p *fastArgs) array(dst []byte) ([]byte, bool) {
	if p.depth++; p.depth > maxFastDepth {
		return nil, false
	}
	defer func() { p.depth-- }()
	p.i++ // '['
	dst = append(dst, '[')
	p.ws()
	if p.i < len(p.s) && p.s[p.i] == ']' {
		p.i++
		return append(dst, ']'), true
	}
	for n := 0; ; n++ {
		if n > 0 {
			dst = append(dst, ',')
		}
		p.ws()
		var ok bool
		if dst, ok = p.value(dst); !ok {
			return nil, false
		}
		p.ws()
		if p.i >= len(p.s) {
			return nil, false
		}
		if p.s[p.i] == ',' {
			p.i++
			continue
		}
		if p.s[p.i] != ']' {
			return nil, false
		}
		p.i++
		return append(dst, ']'), true
	}
}

// unquoted is a string token without its quotes (str admits no escapes, so this is the
// decoded key, which encoding/json sorts by).
func unquoted(tok []byte) []byte { return tok[1 : len(tok)-1] }
