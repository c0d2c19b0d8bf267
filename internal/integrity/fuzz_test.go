package integrity

import (
	"encoding/json"
	"testing"
)

func FuzzCanonical(f *testing.F) {
	for _, s := range []string{`{"name":"x"}`, `{"name":"x","inputSchema":{"b":[1,2.50,{"c":null}]}}`, `[]`, `{"description":"\u00e9"}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, d, err := Canonical([]byte(s))
		if err != nil {
			return
		}
		if !json.Valid(c) {
			t.Fatalf("canonical form is not JSON: %s", c)
		}
		// Canonical of canonical is itself.
		c2, d2, err := Canonical(c)
		if err != nil || string(c2) != string(c) || d2 != d {
			t.Fatalf("not idempotent: %s -> %s (%v)", c, c2, err)
		}
	})
}
