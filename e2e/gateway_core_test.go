package e2e

import (
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestGatewayTSClientHTTP drives `gatehouse serve` with the official TypeScript SDK client over
// Streamable HTTP, in front of four real upstreams at once (two stdio Node servers, the Go
// everything-server over HTTP and over stdio), and checks every routed feature end to end.
func TestGatewayTSClientHTTP(t *testing.T) {
	ctx := testCtx(t, 150*time.Second)
	up := newCoreUpstreams(t)
	gh := StartGatehouse(t, up.config(""), secretEnv+"=do-not-leak-4711")
	gh.WaitUpstreamsUp(t, 30*time.Second, "everything", "gostdio", "files")

	hello := filepath.Join(up.dir, "hello.txt")
	steps := []map[string]any{
		{"id": "tools", "op": "listTools", "all": true},
		{"id": "prompts", "op": "listPrompts", "all": true},
		{"id": "resources", "op": "listResources", "all": true},
		{"id": "templates", "op": "listResourceTemplates", "all": true},
		{"id": "echo", "op": "callTool", "name": "everything__echo", "arguments": map[string]any{"message": "hello gatehouse"}},
		{"id": "sum", "op": "callTool", "name": "everything__get-sum", "arguments": map[string]any{"a": 2, "b": 40}},
		{"id": "gohttp-text", "op": "callTool", "name": "gohttp__test_simple_text"},
		{"id": "gostdio-text", "op": "callTool", "name": "gostdio__test_simple_text"},
		{"id": "files-read", "op": "callTool", "name": "files__read_text_file", "arguments": map[string]any{"path": hello}},
		{"id": "prompt-everything", "op": "getPrompt", "name": "everything__args-prompt", "arguments": map[string]any{"city": "Paris"}},
		{"id": "prompt-go", "op": "getPrompt", "name": "gohttp__test_prompt_with_arguments", "arguments": map[string]any{"arg1": "alpha", "arg2": "beta"}},
		{"id": "read-static", "op": "readResource", "uri": "test://static-text"},
		{"id": "read-template-go", "op": "readResource", "uri": "test://template/42/data"},
		{"id": "read-template-everything", "op": "readResource", "uri": "demo://resource/dynamic/text/7"},
		{"id": "complete-prompt", "op": "complete", "ref": map[string]any{"type": "ref/prompt", "name": "everything__completable-prompt"}, "argument": map[string]any{"name": "department", "value": "E"}},
		{"id": "setlevel", "op": "setLoggingLevel", "level": "debug"},
		{"id": "logtool", "op": "callTool", "name": "gohttp__test_tool_with_logging"},
		{"id": "subscribe", "op": "subscribe", "uri": "test://watched-resource"},
		{"id": "wait-updated", "op": "waitForNotification", "method": "notifications/resources/updated", "timeoutMs": 12000},
		{"id": "ping", "op": "ping"},
		{"id": "progress-everything", "op": "callTool", "name": "everything__trigger-long-running-operation", "arguments": map[string]any{"duration": 0.6, "steps": 3}, "meta": map[string]any{"progressToken": "ts-tok-everything"}},
		{"id": "progress-go", "op": "callTool", "name": "gohttp__test_tool_with_progress", "meta": map[string]any{"progressToken": "ts-tok-go"}},
		{"id": "progress-gostdio", "op": "callTool", "name": "gostdio__test_tool_with_progress", "meta": map[string]any{"progressToken": 987654}},
		{"id": "sampling-everything", "op": "callTool", "name": "everything__trigger-sampling-request", "arguments": map[string]any{"prompt": "ping-everything"}},
		{"id": "sampling-gohttp", "op": "callTool", "name": "gohttp__test_sampling", "arguments": map[string]any{"prompt": "ping-gohttp"}},
		{"id": "sampling-gostdio", "op": "callTool", "name": "gostdio__test_sampling", "arguments": map[string]any{"prompt": "ping-gostdio"}},
		{"id": "elicit-everything", "op": "callTool", "name": "everything__trigger-elicitation-request"},
		{"id": "elicit-gohttp", "op": "callTool", "name": "gohttp__test_elicitation", "arguments": map[string]any{"message": "who are you?"}},
		{"id": "elicit-gostdio", "op": "callTool", "name": "gostdio__test_elicitation", "arguments": map[string]any{"message": "who are you?"}},
		{"id": "cancel", "op": "cancelAfterMs", "ms": 700, "name": "everything__trigger-long-running-operation", "arguments": map[string]any{"duration": 20, "steps": 20}},
		{"id": "after-cancel", "op": "callTool", "name": "everything__echo", "arguments": map[string]any{"message": "still here"}},
		{"id": "env", "op": "callTool", "name": "everything__get-env"},
		{"id": "unknown-tool", "op": "callTool", "name": "nosuchserver__echo"},
	}
	lines := TSClient(t, ctx, Target{HTTP: gh.URL, Timeout: 100 * time.Second}, map[string]any{"steps": steps})
	conn := Lines(lines, "connected")
	if len(conn) != 1 {
		t.Fatalf("not connected: %v", lines)
	}
	if si, _ := conn[0]["serverInfo"].(map[string]any); si["name"] != "gatehouse" {
		t.Errorf("serverInfo = %v, want name gatehouse", conn[0]["serverInfo"])
	}
	if pv := conn[0]["protocolVersion"]; pv != "2025-11-25" {
		t.Errorf("negotiated protocol version = %v, want 2025-11-25", pv)
	}
	by := stepsByID(lines)

	t.Run("merged lists", func(t *testing.T) {
		tools := namesOf(resultOf(t, by["tools"], "tools/list"), "tools", "name")
		for _, want := range []string{"everything__echo", "everything__get-sum", "everything__trigger-sampling-request", "everything__get-env",
			"gohttp__test_simple_text", "gohttp__test_sampling", "gostdio__test_simple_text", "files__read_text_file", "files__list_directory"} {
			if !slices.Contains(tools, want) {
				t.Errorf("tools/list lacks %q (got %v)", want, tools)
			}
		}
		checkNamespaced(t, "tools", tools)
		prompts := namesOf(resultOf(t, by["prompts"], "prompts/list"), "prompts", "name")
		for _, want := range []string{"everything__simple-prompt", "everything__args-prompt", "gohttp__test_simple_prompt", "gostdio__test_simple_prompt"} {
			if !slices.Contains(prompts, want) {
				t.Errorf("prompts/list lacks %q (got %v)", want, prompts)
			}
		}
		checkNamespaced(t, "prompts", prompts)
		uris := namesOf(resultOf(t, by["resources"], "resources/list"), "resources", "uri")
		if !slices.Contains(uris, "test://static-text") || !slices.ContainsFunc(uris, func(u string) bool { return strings.HasPrefix(u, "demo://resource/static/document/") }) {
			t.Errorf("resources/list lacks the Go or the TypeScript server's resources: %v", uris)
		}
		tr := resultOf(t, by["templates"], "resources/templates/list")
		tnames := namesOf(tr, "resourceTemplates", "name")
		tpls := namesOf(tr, "resourceTemplates", "uriTemplate")
		if !slices.Contains(tnames, "gohttp__template") || !slices.Contains(tnames, "gostdio__template") || !slices.Contains(tpls, "demo://resource/dynamic/text/{resourceId}") || !slices.Contains(tpls, "test://template/{id}/data") {
			t.Errorf("templates/list: names %v, uriTemplates %v", tnames, tpls)
		}
	})

	t.Run("tools/call routed", func(t *testing.T) {
		if got := textOf(resultOf(t, by["echo"], "echo")); got != "Echo: hello gatehouse" {
			t.Errorf("echo = %q", got)
		}
		if got := textOf(resultOf(t, by["sum"], "get-sum")); !strings.Contains(got, "42") {
			t.Errorf("get-sum = %q, want 42 in it", got)
		}
		for _, id := range []string{"gohttp-text", "gostdio-text"} {
			if got := textOf(resultOf(t, by[id], id)); got != "This is a simple text response for testing." {
				t.Errorf("%s = %q", id, got)
			}
		}
		if got := textOf(resultOf(t, by["files-read"], "files read_text_file")); !strings.Contains(got, "hello from the filesystem server") {
			t.Errorf("files read_text_file = %q", got)
		}
		s := by["unknown-tool"]
		if s == nil || s["ok"] != false {
			t.Errorf("call of an unknown server's tool: %v, want an error", s)
		} else if e := s["error"].(map[string]any); errCode(e) != -32602 || !strings.Contains(errMsg(e), "nosuchserver__echo") {
			t.Errorf("unknown tool error = %v, want -32602 naming the tool", e)
		}
	})

	t.Run("prompts/get", func(t *testing.T) {
		b, _ := json.Marshal(resultOf(t, by["prompt-everything"], "prompt everything"))
		if !strings.Contains(string(b), "Paris") {
			t.Errorf("everything args-prompt = %s, want Paris in it", b)
		}
		b, _ = json.Marshal(resultOf(t, by["prompt-go"], "prompt go"))
		if !strings.Contains(string(b), "alpha") || !strings.Contains(string(b), "beta") {
			t.Errorf("go test_prompt_with_arguments = %s", b)
		}
	})

	t.Run("resources/read", func(t *testing.T) {
		b, _ := json.Marshal(resultOf(t, by["read-static"], "read static"))
		if !strings.Contains(string(b), "This is the content of the static text resource.") {
			t.Errorf("read test://static-text = %s", b)
		}
		b, _ = json.Marshal(resultOf(t, by["read-template-go"], "read go template"))
		if !strings.Contains(string(b), "Data for ID: 42") {
			t.Errorf("read test://template/42/data = %s", b)
		}
		b, _ = json.Marshal(resultOf(t, by["read-template-everything"], "read everything template"))
		if !strings.Contains(string(b), "Resource 7") {
			t.Errorf("read demo://resource/dynamic/text/7 = %s", b)
		}
	})

	t.Run("completion", func(t *testing.T) {
		r := resultOf(t, by["complete-prompt"], "complete")
		b, _ := json.Marshal(r)
		if !strings.Contains(string(b), "Engineering") {
			t.Errorf("completion/complete of department=E: %s, want Engineering", b)
		}
	})

	t.Run("logging", func(t *testing.T) {
		resultOf(t, by["setlevel"], "setLevel")
		resultOf(t, by["logtool"], "tool with logging")
		var got []string
		for _, n := range Notifications(lines, "notifications/message") {
			p, _ := n["params"].(map[string]any)
			got = append(got, toString(p["data"]))
		}
		for _, want := range []string{"Tool execution started", "Tool execution completed"} {
			if !slices.ContainsFunc(got, func(s string) bool { return strings.Contains(s, want) }) {
				t.Errorf("log notification %q not received; got %v", want, got)
			}
		}
	})

	t.Run("subscribe", func(t *testing.T) {
		resultOf(t, by["subscribe"], "subscribe")
		resultOf(t, by["wait-updated"], "wait for resources/updated")
		for _, n := range Notifications(lines, "notifications/resources/updated") {
			if p, _ := n["params"].(map[string]any); p["uri"] != "test://watched-resource" {
				t.Errorf("resources/updated for %v, want only the subscribed URI", p["uri"])
			}
		}
	})

	t.Run("ping", func(t *testing.T) { resultOf(t, by["ping"], "ping") })

	t.Run("progress keeps the client's token", func(t *testing.T) {
		resultOf(t, by["progress-everything"], "progress everything")
		// Upstream the token is the leg's own (so that two clients' tokens never collide);
		// the client must see its own token again.
		resultOf(t, by["progress-go"], "progress go")
		resultOf(t, by["progress-gostdio"], "progress gostdio")
		count := map[string]int{}
		for _, n := range Notifications(lines, "notifications/progress") {
			p, _ := n["params"].(map[string]any)
			count[toString(p["progressToken"])]++
		}
		if count["ts-tok-everything"] < 3 || count["ts-tok-go"] < 3 || count["987654"] < 3 || len(count) != 3 {
			t.Errorf("progress notifications by token = %v, want >= 3 each for ts-tok-everything, ts-tok-go and 987654, and no other token", count)
		}
	})

	t.Run("sampling", func(t *testing.T) {
		for id, prompt := range map[string]string{"sampling-everything": "ping-everything", "sampling-gohttp": "ping-gohttp", "sampling-gostdio": "ping-gostdio"} {
			got := textOf(resultOf(t, by[id], id))
			if !strings.Contains(got, "tsclient sample: ") || !strings.Contains(got, prompt) {
				t.Errorf("%s result = %q, want the client's answer to %q in it", id, got, prompt)
			}
		}
		if n := countServerRequests(lines, "sampling/createMessage"); n != 3 {
			t.Errorf("sampling requests seen by the client = %d, want 3", n)
		}
	})

	t.Run("elicitation", func(t *testing.T) {
		got := textOf(resultOf(t, by["elicit-everything"], "elicit everything"))
		if !strings.Contains(got, "accept") {
			t.Errorf("everything elicitation result = %q, want the accepted answer", got)
		}
		for _, id := range []string{"elicit-gohttp", "elicit-gostdio"} {
			got := textOf(resultOf(t, by[id], id))
			if !strings.Contains(got, "action=accept") || !strings.Contains(got, "username:test") {
				t.Errorf("%s result = %q, want action=accept and username:test", id, got)
			}
		}
	})

	t.Run("cancellation", func(t *testing.T) {
		s := by["cancel"]
		if s == nil || s["ok"] != false {
			t.Errorf("cancelled call: %v, want a failed step", s)
		} else if ms, _ := s["ms"].(float64); ms > 15000 {
			t.Errorf("cancelled call ended after %vms", ms)
		}
		if got := textOf(resultOf(t, by["after-cancel"], "echo after cancel")); got != "Echo: still here" {
			t.Errorf("echo after cancel = %q", got)
		}
	})

	t.Run("environment isolation", func(t *testing.T) {
		var env map[string]string
		if err := json.Unmarshal([]byte(textOf(resultOf(t, by["env"], "get-env"))), &env); err != nil {
			t.Fatalf("get-env: %v", err)
		}
		if _, ok := env[secretEnv]; ok {
			t.Errorf("the gateway's %s reached the child: %v", secretEnv, env)
		}
		if env["FOO"] != "bar" {
			t.Errorf("declared env FOO = %q, want bar", env["FOO"])
		}
		if env["PATH"] == "" {
			t.Errorf("declared env PATH (from {env: PATH}) missing")
		}
		for k := range env {
			if k != "FOO" && k != "PATH" && !strings.HasPrefix(k, "npm_") && k != "NODE" {
				// Node itself may add nothing else; anything more came from the gateway.
				t.Errorf("undeclared variable %s reached the child", k)
			}
		}
	})

	if t.Failed() {
		for _, l := range lines {
			b, _ := json.Marshal(l)
			if len(b) > 600 {
				b = append(b[:600], "..."...)
			}
			t.Logf("tsclient: %s", b)
		}
	}
}

func checkNamespaced(t *testing.T, what string, names []string) {
	t.Helper()
	seen := map[string]bool{}
	for _, n := range names {
		srv, _, ok := strings.Cut(n, "__")
		if !ok || !slices.Contains([]string{"everything", "gohttp", "gostdio", "files"}, srv) {
			t.Errorf("%s: %q is not namespaced <server>__<name>", what, n)
		}
		if seen[n] {
			t.Errorf("%s: %q listed twice", what, n)
		}
		seen[n] = true
	}
}

func countServerRequests(lines []map[string]any, method string) int {
	n := 0
	for _, l := range Lines(lines, "serverRequest") {
		if l["method"] == method {
			n++
		}
	}
	return n
}
