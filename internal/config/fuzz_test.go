package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse checks that Parse never panics and that it returns either a config or a
// non-empty, well-formed Problems. The seeds are every YAML file under testdata.
func FuzzParse(f *testing.F) {
	seeds, err := filepath.Glob(filepath.Join("testdata", "*.yaml"))
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range seeds {
		b, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{
		"", "~", "[]", "{}", "a: *x", "upstreams: &u [*u]", "x: &a {b: *a}\nupstreams: [{name: a, command: x, env: *a}]",
		"upstreams: [{name: a, command: x, env: {A: {env: [1]}}}]", "upstreams:\n- <<: &b {name: a}\n  command: c\n",
		"listen: {allowed_origins: ['http://[', 'http://[::1]x', 'http://[1.2.3.4]']}\nupstreams: [{name: a, command: x}]",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse(data, filepath.Join("testdata", "fuzz.yaml"))
		if err == nil {
			if cfg == nil || len(cfg.Upstreams) == 0 || cfg.Gateway.Separator == "" {
				t.Fatalf("accepted config is incomplete: %+v", cfg)
			}
			return
		}
		var ps Problems
		if !errors.As(err, &ps) || len(ps) == 0 {
			t.Fatalf("error is not a non-empty Problems: %v", err)
		}
		if cfg != nil {
			t.Fatal("config returned along with problems")
		}
		for i, p := range ps {
			if p.Message == "" {
				t.Fatalf("problem %d has no message", i)
			}
			if i > 0 && p.Line < ps[i-1].Line {
				t.Fatalf("problems not sorted: %v", err)
			}
		}
		if n := strings.Count(err.Error(), "\n") + 1; n < len(ps) {
			t.Fatalf("Error() has %d lines for %d problems", n, len(ps))
		}
	})
}
