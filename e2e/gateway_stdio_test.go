package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestGatewayStdioTSClient runs `gatehouse stdio` as the TypeScript SDK client's server
// process, in front of the same four upstreams, and does the list/call/server-request round
// trips.
func TestGatewayStdioTSClient(t *testing.T) {
	ctx := testCtx(t, 120*time.Second)
	up := newCoreUpstreams(t)
	argv := StdioGatehouse(t, up.config(""))
	lines := TSClient(t, ctx, Target{Stdio: argv, Timeout: 90 * time.Second}, map[string]any{"steps": []map[string]any{
		{"id": "tools", "op": "listTools", "all": true},
		{"id": "echo", "op": "callTool", "name": "everything__echo", "arguments": map[string]any{"message": "over stdio"}},
		{"id": "gohttp-text", "op": "callTool", "name": "gohttp__test_simple_text"},
		{"id": "files", "op": "callTool", "name": "files__list_directory", "arguments": map[string]any{"path": up.dir}},
		{"id": "sampling-everything", "op": "callTool", "name": "everything__trigger-sampling-request", "arguments": map[string]any{"prompt": "stdio-everything"}},
		{"id": "sampling-gohttp", "op": "callTool", "name": "gohttp__test_sampling", "arguments": map[string]any{"prompt": "stdio-gohttp"}},
		{"id": "sampling-gostdio", "op": "callTool", "name": "gostdio__test_sampling", "arguments": map[string]any{"prompt": "stdio-gostdio"}},
		{"id": "elicit-gohttp", "op": "callTool", "name": "gohttp__test_elicitation", "arguments": map[string]any{"message": "name?"}},
		{"id": "elicit-gostdio", "op": "callTool", "name": "gostdio__test_elicitation", "arguments": map[string]any{"message": "name?"}},
		{"id": "progress", "op": "callTool", "name": "everything__trigger-long-running-operation", "arguments": map[string]any{"duration": 0.3, "steps": 3}, "meta": map[string]any{"progressToken": "stdio-tok"}},
		{"id": "read", "op": "readResource", "uri": "test://static-text"},
		{"id": "prompt", "op": "getPrompt", "name": "gostdio__test_simple_prompt"},
		{"id": "ping", "op": "ping"},
	}})
	if len(Lines(lines, "connected")) != 1 {
		t.Fatalf("not connected: %v", lines)
	}
	by := stepsByID(lines)
	tools := namesOf(resultOf(t, by["tools"], "tools/list"), "tools", "name")
	for _, want := range []string{"everything__echo", "gohttp__test_sampling", "gostdio__test_sampling", "files__list_directory"} {
		if !contains(tools, want) {
			t.Errorf("tools/list lacks %s: %v", want, tools)
		}
	}
	checkNamespaced(t, "tools", tools)
	if got := textOf(resultOf(t, by["echo"], "echo")); got != "Echo: over stdio" {
		t.Errorf("echo = %q", got)
	}
	if got := textOf(resultOf(t, by["gohttp-text"], "gohttp")); !strings.Contains(got, "simple text response") {
		t.Errorf("gohttp = %q", got)
	}
	if got := textOf(resultOf(t, by["files"], "files")); !strings.Contains(got, "hello.txt") {
		t.Errorf("files list_directory = %q", got)
	}
	for id, prompt := range map[string]string{"sampling-everything": "stdio-everything", "sampling-gohttp": "stdio-gohttp", "sampling-gostdio": "stdio-gostdio"} {
		if got := textOf(resultOf(t, by[id], id)); !strings.Contains(got, "tsclient sample: ") || !strings.Contains(got, prompt) {
			t.Errorf("%s = %q", id, got)
		}
	}
	for _, id := range []string{"elicit-gohttp", "elicit-gostdio"} {
		if got := textOf(resultOf(t, by[id], id)); !strings.Contains(got, "username:test") {
			t.Errorf("%s = %q", id, got)
		}
	}
	resultOf(t, by["progress"], "progress")
	n := 0
	for _, l := range Notifications(lines, "notifications/progress") {
		if p, _ := l["params"].(map[string]any); p["progressToken"] == "stdio-tok" {
			n++
		} else {
			t.Errorf("progress with a foreign token: %v", p)
		}
	}
	if n < 3 {
		t.Errorf("progress notifications with the client's token = %d, want 3", n)
	}
	if b, _ := json.Marshal(resultOf(t, by["read"], "read")); !strings.Contains(string(b), "static text resource") {
		t.Errorf("read = %s", b)
	}
	resultOf(t, by["prompt"], "prompt")
	resultOf(t, by["ping"], "ping")
}

// stdioPeer drives `gatehouse stdio` by hand: one JSON-RPC message per line.
type stdioPeer struct {
	t     *testing.T
	in    io.WriteCloser
	lines chan map[string]any
	pid   int
}

func startStdioPeer(t *testing.T, ctx context.Context, argv []string) *stdioPeer {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	in, _ := cmd.StdinPipe()
	out, _ := cmd.StdoutPipe()
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &stdioPeer{t: t, in: in, lines: make(chan map[string]any, 100), pid: cmd.Process.Pid}
	go func() {
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 1<<20), 8<<20)
		for sc.Scan() {
			var m map[string]any
			if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
				m = map[string]any{"unparsable": sc.Text()}
			}
			p.lines <- m
		}
		close(p.lines)
	}()
	t.Cleanup(func() {
		in.Close()
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(8 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		if t.Failed() {
			t.Logf("gatehouse stdio stderr:\n%s", stderr.String())
		}
	})
	return p
}

func (p *stdioPeer) send(msg string) {
	if _, err := io.WriteString(p.in, msg+"\n"); err != nil {
		p.t.Fatalf("write to gatehouse stdio: %v", err)
	}
}

// until reads messages until one has the given JSON id, returning everything read.
func (p *stdioPeer) until(id string, timeout time.Duration) ([]map[string]any, map[string]any) {
	var seen []map[string]any
	deadline := time.After(timeout)
	for {
		select {
		case m, ok := <-p.lines:
			if !ok {
				return seen, nil
			}
			seen = append(seen, m)
			if b, _ := json.Marshal(m["id"]); string(b) == id && m["method"] == nil {
				return seen, m
			}
		case <-deadline:
			return seen, nil
		}
	}
}

// fdNonblocking reports whether descriptor fd of process pid is in non-blocking mode; ok is
// false where /proc does not tell.
func fdNonblocking(pid, fd int) (nonblocking, ok bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/fdinfo/%d", pid, fd))
	if err != nil {
		return false, false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, found := strings.CutPrefix(line, "flags:"); found {
			flags, err := strconv.ParseUint(strings.TrimSpace(v), 8, 64)
			return flags&syscall.O_NONBLOCK != 0, err == nil
		}
	}
	return false, false
}

// TestGatewayStdioCancellation cancels a call over `gatehouse stdio`: the gateway must not
// answer the cancelled request (MCP: receivers of notifications/cancelled SHOULD NOT send a
// response), must keep serving, and later calls work.
func TestGatewayStdioCancellation(t *testing.T) {
	ctx := testCtx(t, 60*time.Second)
	yaml := "log: {level: debug, format: text}\nupstreams:\n" + UpstreamStdioYAML("everything", ServerEverythingCmd(t), "env: {PATH: {env: PATH}}\n")
	p := startStdioPeer(t, ctx, StdioGatehouse(t, yaml))
	p.send(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}`)
	if _, m := p.until("1", 20*time.Second); m == nil || m["result"] == nil {
		t.Fatalf("initialize: %v", m)
	}
	// The client's pipes are read and written through the poller (package pollfd): a
	// blocking read on stdin can hold up the runtime's stop for a collection.
	for fd := range 2 {
		if nb, ok := fdNonblocking(p.pid, fd); ok && !nb {
			t.Errorf("gatehouse stdio: descriptor %d is in blocking mode", fd)
		}
	}
	p.send(`{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	p.send(`{"jsonrpc":"2.0","id":"c1","method":"tools/call","params":{"name":"everything__trigger-long-running-operation","arguments":{"duration":30,"steps":30},"_meta":{"progressToken":"c1-tok"}}}`)
	// Wait for the call to be under way (its first progress notification).
	deadline := time.After(15 * time.Second)
	for started := false; !started; {
		select {
		case m := <-p.lines:
			if m["method"] == "notifications/progress" {
				started = true
			}
			if m["id"] == "c1" {
				t.Fatalf("the long call ended early: %v", m)
			}
		case <-deadline:
			t.Fatalf("no progress from the long call")
		}
	}
	p.send(`{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"c1","reason":"test"}}`)
	time.Sleep(1500 * time.Millisecond)
	p.send(`{"jsonrpc":"2.0","id":"p1","method":"tools/call","params":{"name":"everything__echo","arguments":{"message":"after cancel"}}}`)
	seen, m := p.until(`"p1"`, 15*time.Second)
	if b, _ := json.Marshal(m); !strings.Contains(string(b), "Echo: after cancel") {
		t.Errorf("call after cancel: %s", b)
	}
	for _, s := range seen {
		if s["id"] == "c1" && s["method"] == nil {
			b, _ := json.Marshal(s)
			t.Errorf("the gateway answered the cancelled request: %s (want no response after notifications/cancelled)", b)
		}
	}
}

// TestGatewayRoots checks roots/list from an upstream that asks for the client's roots: with a
// per-session connection the request reaches the session's own client.
func TestGatewayRoots(t *testing.T) {
	ctx := testCtx(t, 60*time.Second)
	yaml := "log: {level: debug, format: text}\nupstreams:\n" +
		UpstreamStdioYAML("everything", ServerEverythingCmd(t), "env: {PATH: {env: PATH}}\nsharing: per_session\n")
	gh := StartGatehouse(t, yaml)
	lines := TSClient(t, ctx, Target{HTTP: gh.URL, Timeout: 40 * time.Second}, map[string]any{
		"roots": []map[string]any{{"uri": "file:///tmp/gatehouse-e2e-root", "name": "e2e-root"}},
		"steps": []map[string]any{
			{"id": "roots", "op": "callTool", "name": "everything__get-roots-list"},
		},
	})
	by := stepsByID(lines)
	got := textOf(resultOf(t, by["roots"], "get-roots-list"))
	if !strings.Contains(got, "file:///tmp/gatehouse-e2e-root") || !strings.Contains(got, "e2e-root") {
		t.Errorf("get-roots-list = %q, want the client's root", got)
	}
	if countServerRequests(lines, "roots/list") < 1 {
		t.Errorf("the client never saw roots/list")
	}
}
