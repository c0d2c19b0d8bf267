package devdata

import (
	"errors"
	"path/filepath"
	"testing"
)

// dataDir is the shared datasets folder, seen from this package's directory.
func dataDir() string { return filepath.Join("..", "..", "..", DefaultDir) }

func TestLoad(t *testing.T) {
	docs, err := Load(dataDir())
	if errors.Is(err, ErrMissing) {
		t.Skipf("skipping: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	count := map[string][2]int{}
	spans := 0
	for _, d := range docs {
		c := count[d.Source]
		if d.Label {
			c[1]++
			if len(d.Spans) == 0 && d.Source == "agentdojo/tool_outputs_dev" {
				t.Logf("no span: %.200q", d.Text)
			} else {
				spans++
			}
		} else {
			c[0]++
		}
		count[d.Source] = c
		for _, s := range d.Spans {
			if s[0] < 0 || s[1] > len(d.Text) || s[0] >= s[1] {
				t.Fatalf("bad span %v in %q", s, d.Source)
			}
		}
	}
	for k, v := range count {
		t.Logf("%-40s benign %5d injected %5d", k, v[0], v[1])
	}
	if count["agentdojo/tool_outputs_dev"] != [2]int{1322, 2149} {
		t.Errorf("agentdojo rows = %v, want 1322 benign and 2149 injected (SOURCES.md)", count["agentdojo/tool_outputs_dev"])
	}
}
