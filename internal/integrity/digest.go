package integrity

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
)

// Kind is what a definition defines.
type Kind string

const (
	KindTool     Kind = "tool"
	KindPrompt   Kind = "prompt"
	KindTemplate Kind = "resource-template"
)

// Key names a definition: server, kind and the upstream's own name.
func Key(server string, kind Kind, name string) string {
	return server + "/" + string(kind) + "/" + name
}

// pinnedFields are the members of a definition that its pin covers: what a model reads or
// relies on. Anything else (_meta, icons, vendor extensions) may change freely.
func pinnedFields() []string {
	return []string{"name", "title", "description", "inputSchema", "outputSchema", "annotations", "arguments", "uriTemplate", "mimeType"}
}

// Canonical returns the pinned part of a definition as canonical JSON (sorted keys, no
// insignificant space), and its digest "sha256:<hex>".
func Canonical(def []byte) ([]byte, string, error) {
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(def))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		return nil, "", fmt.Errorf("definition is not a JSON object: %w", err)
	}
	keep := map[string]any{}
	for _, k := range pinnedFields() {
		if v, ok := m[k]; ok {
			keep[k] = v
		}
	}
	var buf bytes.Buffer
	writeCanonical(&buf, keep)
	sum := sha256.Sum256(buf.Bytes())
	return buf.Bytes(), "sha256:" + hex.EncodeToString(sum[:]), nil
}

// writeCanonical writes v with object keys sorted (json.Marshal sorts map keys, but the
// numbers must keep their text, which json.Number does).
func writeCanonical(buf *bytes.Buffer, v any) {
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		buf.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				buf.WriteByte(',')
			}
			kb, _ := json.Marshal(k)
			buf.Write(kb)
			buf.WriteByte(':')
			writeCanonical(buf, x[k])
		}
		buf.WriteByte('}')
	case []any:
		buf.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				buf.WriteByte(',')
			}
			writeCanonical(buf, e)
		}
		buf.WriteByte(']')
	default:
		b, _ := json.Marshal(x)
		buf.Write(b)
	}
}

// Pretty renders canonical JSON indented, one member per line: the form diffs are read in.
func Pretty(canonical []byte) string {
	var out bytes.Buffer
	if err := json.Indent(&out, canonical, "", "  "); err != nil {
		return string(canonical)
	}
	return out.String()
}
