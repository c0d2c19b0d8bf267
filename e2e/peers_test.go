package e2e

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestTSClientServerEverythingStdio checks the test peers themselves: the TypeScript SDK client
// drives the reference server-everything over stdio, directly (no gateway).
func TestTSClientServerEverythingStdio(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	lines := TSClient(t, ctx, Target{Stdio: ServerEverythingCmd(t), Timeout: 60 * time.Second}, []map[string]any{
		{"op": "listTools"},
		{"op": "callTool", "name": "echo", "arguments": map[string]any{"message": "hello gatehouse"}},
		{"op": "callTool", "name": "get-sum", "arguments": map[string]any{"a": 2, "b": 40}},
		{"op": "callTool", "name": "trigger-sampling-request", "arguments": map[string]any{"prompt": "ping-42"}},
		{"op": "callTool", "name": "trigger-long-running-operation", "arguments": map[string]any{"duration": 1, "steps": 2}, "progress": true},
		{"op": "ping"},
	})

	if c := Lines(lines, "connected"); len(c) != 1 {
		t.Fatalf("connected lines = %d, want 1; lines: %v", len(c), lines)
	}
	steps := Lines(lines, "step")
	if len(steps) != 6 {
		t.Fatalf("step lines = %d, want 6; lines: %v", len(steps), lines)
	}
	for i, s := range steps {
		if s["ok"] != true {
			t.Errorf("step %d (%v) failed: %v", i, s["op"], s["error"])
		}
	}
	if t.Failed() {
		return
	}

	var names []string
	for _, tool := range steps[0]["result"].(map[string]any)["tools"].([]any) {
		names = append(names, tool.(map[string]any)["name"].(string))
	}
	for _, want := range []string{"echo", "get-sum", "trigger-long-running-operation", "trigger-sampling-request"} {
		if !contains(names, want) {
			t.Errorf("tools/list lacks %q: %v", want, names)
		}
	}

	if got := firstText(t, steps[1]); got != "Echo: hello gatehouse" {
		t.Errorf("echo result text = %q, want %q", got, "Echo: hello gatehouse")
	}
	if got := firstText(t, steps[2]); !strings.Contains(got, "42") {
		t.Errorf("get-sum result text = %q, want it to contain 42", got)
	}
	// The sampling handler answers with a fixed text that includes the received prompt.
	if got := firstText(t, steps[3]); !strings.Contains(got, "tsclient sample") || !strings.Contains(got, "ping-42") {
		t.Errorf("sampling round trip text = %q", got)
	}
	if n := len(Notifications(lines, "notifications/progress")); n < 1 {
		t.Errorf("progress notifications = %d, want >= 1", n)
	}
	if d := Lines(lines, "done"); len(d) != 1 || d[0]["ok"] != true {
		t.Errorf("done line = %v", d)
	}
}

// TestConformanceEverythingServerDirect runs both conformance suites straight against the Go
// SDK's everything-server, the baseline that "through the gateway" runs are compared with.
func TestConformanceEverythingServerDirect(t *testing.T) {
	core := []string{
		"completion-complete",
		"tools-list",
		"tools-call-simple-text",
		"tools-call-image",
		"tools-call-error",
		"tools-call-with-progress",
		"resources-list",
		"resources-read-text",
		"resources-templates-read",
		"prompts-list",
		"prompts-get-simple",
		"prompts-get-with-args",
	}
	cases := []struct {
		name      string
		stateless bool
		suite     string
		extra     []string
	}{
		// The 2025-11-25 wire, session-based server: every scenario passes.
		{"2025/stateful", false, "2025", []string{"server-initialize", "ping", "logging-set-level", "tools-call-sampling", "tools-call-elicitation", "resources-subscribe"}},
		// The 2026-07-28 wire needs a stateless server.
		{"2026/stateless", true, "2026", []string{"server-stateless", "caching", "input-required-result-basic-sampling"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			url := StartEverythingServer(t, tc.stateless)
			got := RunConformance(t, ctx, url, tc.suite)
			t.Logf("%d scenarios: %v", len(got), got)
			for _, s := range append(append([]string{}, core...), tc.extra...) {
				if got[s] != ConformancePass {
					t.Errorf("scenario %s = %q, want %q", s, got[s], ConformancePass)
				}
			}
		})
	}
}

func firstText(t *testing.T, step map[string]any) string {
	t.Helper()
	res, _ := step["result"].(map[string]any)
	content, _ := res["content"].([]any)
	if len(content) == 0 {
		t.Fatalf("step has no content: %v", step)
	}
	text, _ := content[0].(map[string]any)["text"].(string)
	return text
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
