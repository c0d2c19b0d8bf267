package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	os.WriteFile(good, []byte("upstreams:\n  - name: a\n    command: /bin/true\n"), 0o644)
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("listen: {adress: x}\nupstreams:\n  - name: A\n    transport: carrier-pigeon\n"), 0o644)
	tests := []struct {
		args        []string
		code        int
		out, errOut string
	}{
		{args: nil, code: 2, errOut: "Usage:"},
		{args: []string{"frobnicate"}, code: 2, errOut: `unknown command "frobnicate"`},
		{args: []string{"version"}, code: 0, out: "gatehouse "},
		{args: []string{"validate"}, code: 2, errOut: "--config FILE is required"},
		{args: []string{"validate", "--config", good}, code: 0, out: "ok (1 upstreams"},
		{args: []string{"validate", "--config", bad}, code: 1, errOut: "listen.adress"},
		{args: []string{"validate", "--config", bad}, code: 1, errOut: "upstreams[0].transport"},
		{args: []string{"serve", "--config", filepath.Join(dir, "missing.yaml")}, code: 1, errOut: "missing.yaml"},
	}
	for _, tt := range tests {
		var stdout, stderr bytes.Buffer
		code := run(tt.args, strings.NewReader(""), &stdout, &stderr)
		if code != tt.code || !strings.Contains(stdout.String(), tt.out) || !strings.Contains(stderr.String(), tt.errOut) {
			t.Errorf("run(%q) = %d\nstdout: %s\nstderr: %s", tt.args, code, stdout.String(), stderr.String())
		}
	}
}
