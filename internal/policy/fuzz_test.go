package policy

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// FuzzRedact: redaction never panics, keeps valid JSON valid, and leaves no redacted value.
func FuzzRedact(f *testing.F) {
	f.Add([]byte(`{"password":"p","a":{"b":[1,{"password":"q"}]}}`), "a.b.*.password")
	f.Add([]byte(`[1,2,3]`), "*")
	f.Add([]byte(`{`), "x")
	f.Fuzz(func(t *testing.T, doc []byte, path string) {
		out, changed, err := Redact(doc, []string{path})
		if err != nil || !changed {
			return
		}
		if !json.Valid(out) {
			t.Fatalf("redaction of %s at %q produced invalid JSON: %s", doc, path, out)
		}
	})
}

// FuzzLoadCases: the policy test file parser never panics and reports problems as errors.
func FuzzLoadCases(f *testing.F) {
	f.Add([]byte("config: c.yaml\ncases:\n  - name: a\n    identity: {subject: s}\n    request: {server: x, tool: y}\n    expect: {effect: allow}\n"))
	f.Add([]byte("cases: [1, 2]"))
	f.Add([]byte(":::"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(dir, "cases.yaml")
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Skip()
		}
		LoadCases(p)
	})
}
