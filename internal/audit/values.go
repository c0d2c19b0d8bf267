package audit

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"hash"
	"strconv"
	"strings"
	"sync"
)

// Modes of an audited value.
const (
	ModeHash  = "hash"  // keyed hash: equal values correlate, nothing is readable (default)
	ModeClear = "clear" // kept as sent
	ModeOmit  = "omit"  // left out
)

// FieldRule chooses the mode of the argument values at Path (dotted; "*" matches any key or
// element; a rule covers everything below its path) of Tool on Server ("*" or "" for any).
type FieldRule struct {
	Server, Tool, Path, Mode string
}

// Valuer turns a call's arguments into what the audit record keeps. Safe for concurrent use.
type Valuer struct {
	key   []byte
	rules []FieldRule
	def   string
	macs  sync.Pool // of hash.Hash: HMAC-SHA-256 under key, reset before each use
}

// NewValuer returns a Valuer hashing with key; rules are tried in order, the first that
// matches decides, and values no rule covers get def (ModeHash if "").
func NewValuer(key []byte, rules []FieldRule, def string) *Valuer {
	if def == "" {
		def = ModeHash
	}
	return &Valuer{key: key, rules: rules, def: def}
}

// sum appends HMAC-SHA-256(key, raw) to dst.
func (v *Valuer) sum(dst, raw []byte) []byte {
	m, _ := v.macs.Get().(hash.Hash)
	if m == nil {
		m = hmac.New(sha256.New, v.key)
	} else {
		m.Reset()
	}
	m.Write(raw)
	dst = m.Sum(dst)
	v.macs.Put(m)
	return dst
}

// HashValue is the keyed hash of one JSON value, as it appears in records.
func (v *Valuer) HashValue(raw []byte) string {
	var sum [32]byte
	v.sum(sum[:0], raw)
	return "hmac-sha256:" + hex.EncodeToString(sum[:16])
}

// Digest is the keyed digest of a whole response: equal responses correlate, and a short
// answer cannot be confirmed by guessing it.
func (v *Valuer) Digest(raw []byte) string {
	var sum [32]byte
	v.sum(sum[:0], raw)
	return "hmac-sha256:" + hex.EncodeToString(sum[:])
}

// Result returns the fields of a call's result that "result.…" field rules keep, or nil
// when no rule asks for any (the default: a result is recorded by size and digest only,
// because decoding every large result would cost every call).
func (v *Valuer) Result(server, tool string, raw []byte) json.RawMessage {
	var rules []FieldRule
	for _, r := range v.rules {
		if (r.Server == "" || r.Server == "*" || r.Server == server) && (r.Tool == "" || r.Tool == "*" || r.Tool == tool) &&
			strings.HasPrefix(r.Path, "result.") && r.Mode != ModeOmit {
			rules = append(rules, FieldRule{Path: strings.TrimPrefix(r.Path, "result."), Mode: r.Mode})
		}
	}
	if len(rules) == 0 || len(raw) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var doc any
	if dec.Decode(&doc) != nil {
		return nil
	}
	// Only what a rule names is kept; everything else is left out.
	only := &Valuer{key: v.key, def: ModeOmit} // its own HMAC pool, filled as it hashes
	out, keep := only.walk(doc, nil, rules)
	if !keep {
		return nil
	}
	b, _ := json.Marshal(out)
	if string(b) == "{}" {
		return nil
	}
	return b
}

// Arguments applies the field rules to raw (a JSON object), keeping its structure.
func (v *Valuer) Arguments(server, tool string, raw []byte) json.RawMessage {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var rules []FieldRule
	for _, r := range v.rules {
		if (r.Server == "" || r.Server == "*" || r.Server == server) && (r.Tool == "" || r.Tool == "*" || r.Tool == tool) &&
			!strings.HasPrefix(r.Path, "result.") {
			rules = append(rules, r)
		}
	}
	if len(rules) == 0 && v.def == ModeClear {
		return append(json.RawMessage(nil), raw...)
	}
	if len(rules) == 0 && v.def == ModeHash {
		if out, ok := v.argsFast(raw); ok {
			return out
		}
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return json.RawMessage(`"` + v.HashValue(raw) + `"`) // not JSON: hashed whole
	}
	out, keep := v.walk(doc, nil, rules)
	if !keep {
		return nil
	}
	b, _ := json.Marshal(out)
	return b
}

func (v *Valuer) mode(path []string, rules []FieldRule) string {
	for _, r := range rules {
		if covers(strings.Split(r.Path, "."), path) {
			return r.Mode
		}
	}
	return ""
}

// covers reports whether rule path rp is a prefix of path p (with "*" wildcards).
func covers(rp, p []string) bool {
	if len(rp) == 1 && rp[0] == "" {
		return true // the whole value
	}
	if len(rp) > len(p) {
		return false
	}
	for i, s := range rp {
		if s != "*" && s != p[i] {
			return false
		}
	}
	return true
}

// walk returns the audited form of val at path, and whether to keep it at all.
func (v *Valuer) walk(val any, path []string, rules []FieldRule) (any, bool) {
	mode := v.mode(path, rules)
	switch mode {
	case ModeOmit:
		return nil, false
	case ModeClear:
		return val, true
	}
	switch x := val.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			if nv, keep := v.walk(e, append(path[:len(path):len(path)], k), rules); keep {
				out[k] = nv
			}
		}
		if len(out) == 0 && len(x) > 0 && v.def == ModeOmit {
			return nil, false // nothing in it was kept
		}
		return out, true
	case []any:
		out := make([]any, 0, len(x))
		for i, e := range x {
			if nv, keep := v.walk(e, append(path[:len(path):len(path)], strconv.Itoa(i)), rules); keep {
				out = append(out, nv)
			}
		}
		if len(out) == 0 && len(x) > 0 && v.def == ModeOmit {
			return nil, false
		}
		return out, true
	}
	if mode == "" && v.def != ModeHash {
		if v.def == ModeOmit {
			return nil, false
		}
		return val, true
	}
	b, _ := json.Marshal(val)
	return v.HashValue(b), true
}
