package e2e

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Shared fixtures of the gateway end-to-end tests (gateway_*_test.go).

// coreUpstreams is the set of real peers behind one gateway: the TypeScript server-everything
// and server-filesystem over stdio, and the Go SDK everything-server over Streamable HTTP and
// over stdio.
type coreUpstreams struct {
	yaml   string // the "upstreams:" block
	dir    string // the folder server-filesystem may access
	goHTTP string // the Go everything-server's URL
}

// secretEnv is set in the gateway's own environment; no upstream may see it.
const secretEnv = "GATEHOUSE_TEST_SECRET"

func newCoreUpstreams(t *testing.T) coreUpstreams {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "hello.txt"), []byte("hello from the filesystem server\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	goURL := StartEverythingServer(t, false)
	var b strings.Builder
	b.WriteString("upstreams:\n")
	b.WriteString(UpstreamStdioYAML("everything", ServerEverythingCmd(t), "env: {PATH: {env: PATH}, FOO: bar}\n"))
	b.WriteString(UpstreamHTTPYAML("gohttp", goURL, ""))
	b.WriteString(UpstreamStdioYAML("gostdio", []string{EverythingServerBin(t)}, ""))
	b.WriteString(UpstreamStdioYAML("files", ServerFilesystemCmd(t, dir), ""))
	return coreUpstreams{yaml: b.String(), dir: dir, goHTTP: goURL}
}

func (c coreUpstreams) config(extra string) string {
	return "log: {level: debug, format: text}\n" + extra + c.yaml
}

// stepsByID returns the TS client's step lines by their "id" (steps without one by index).
func stepsByID(lines []map[string]any) map[string]map[string]any {
	out := map[string]map[string]any{}
	for _, s := range Lines(lines, "step") {
		if id, ok := s["id"].(string); ok {
			out[id] = s
		} else {
			out[toString(s["index"])] = s
		}
	}
	return out
}

func toString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case float64:
		b, _ := json.Marshal(x)
		return string(b)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// resultOf returns a step's result object, failing the test if the step failed.
func resultOf(t *testing.T, s map[string]any, what string) map[string]any {
	t.Helper()
	if s == nil {
		t.Errorf("%s: no step line", what)
		return nil
	}
	if s["ok"] != true {
		t.Errorf("%s: step failed: %v", what, s["error"])
		return nil
	}
	r, _ := s["result"].(map[string]any)
	return r
}

// textOf joins the text content items of a tools/call result.
func textOf(r map[string]any) string {
	var parts []string
	content, _ := r["content"].([]any)
	for _, c := range content {
		if m, ok := c.(map[string]any); ok {
			if s, ok := m["text"].(string); ok {
				parts = append(parts, s)
			}
		}
	}
	return strings.Join(parts, "\n")
}

// namesOf returns the "name" (or key) members of a list result's items.
func namesOf(r map[string]any, list, key string) []string {
	var out []string
	items, _ := r[list].([]any)
	for _, it := range items {
		if m, ok := it.(map[string]any); ok {
			if s, ok := m[key].(string); ok {
				out = append(out, s)
			}
		}
	}
	return out
}

func testCtx(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// errorOf returns a JSON-RPC error member of a decoded message (nil if none).
func errorOf(m map[string]any) map[string]any {
	e, _ := m["error"].(map[string]any)
	return e
}

func errCode(e map[string]any) int {
	f, _ := e["code"].(float64)
	return int(f)
}

func errMsg(e map[string]any) string {
	s, _ := e["message"].(string)
	return s
}
