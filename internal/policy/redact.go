package policy

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
)

// Redacted replaces a redacted value.
const Redacted = "[REDACTED:policy]"

// Redact replaces the values at paths in the JSON document raw. A path is dot-separated
// object keys and array indices; "*" matches every key or element at its level
// ("content.*.text"). Paths that lead nowhere are skipped. It reports whether anything
// changed; unchanged input is returned as is.
func Redact(raw []byte, paths []string) ([]byte, bool, error) {
	if len(paths) == 0 || len(raw) == 0 {
		return raw, false, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber() // numbers survive untouched
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return nil, false, err
	}
	changed := false
	for _, p := range paths {
		var n bool
		doc, n = redactAt(doc, strings.Split(p, "."))
		changed = changed || n
	}
	if !changed {
		return raw, false, nil
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(doc); err != nil {
		return nil, false, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), true, nil
}

func redactAt(v any, path []string) (any, bool) {
	if len(path) == 0 {
		return Redacted, true
	}
	seg, rest := path[0], path[1:]
	changed := false
	switch x := v.(type) {
	case map[string]any:
		for k, child := range x {
			if seg == "*" || seg == k {
				nv, c := redactAt(child, rest)
				if c {
					x[k], changed = nv, true
				}
			}
		}
	case []any:
		for i, child := range x {
			if seg == "*" || seg == strconv.Itoa(i) {
				nv, c := redactAt(child, rest)
				if c {
					x[i], changed = nv, true
				}
			}
		}
	}
	return v, changed
}
