package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// TestGatewayProtectiveDefaults checks the HTTP listener's guards through the binary: Origin
// allowlist, body size limit, session id checks, per-client session limit, per-session
// pending-request limit, and DELETE.
func TestGatewayProtectiveDefaults(t *testing.T) {
	yaml := "log: {level: debug, format: text}\n" +
		"limits: {max_message_bytes: 64KiB, max_sessions_per_client: 2, max_pending_requests: 1}\n" +
		"upstreams:\n" + UpstreamStdioYAML("everything", ServerEverythingCmd(t), "env: {PATH: {env: PATH}}\n")
	gh := StartGatehouse(t, yaml)
	gh.WaitUpstreamsUp(t, 30*time.Second, "everything")
	ctx := testCtx(t, 60*time.Second)
	initBody := `{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}`

	t.Run("Origin", func(t *testing.T) {
		s := &RawSession{URL: gh.URL}
		r, err := s.Post(ctx, initBody, "Origin", "http://evil.example")
		if err != nil {
			t.Fatal(err)
		}
		if r.Status != http.StatusForbidden || errorOf(r.Final()) == nil {
			t.Errorf("Origin http://evil.example: HTTP %d %s, want 403 with a JSON-RPC error", r.Status, r.Body)
		}
		if r.Header.Get("Mcp-Session-Id") != "" {
			t.Errorf("a refused origin got a session")
		}
		// An allowed origin (the default allowlist has http://localhost:*) is served.
		r, err = s.Post(ctx, initBody, "Origin", "http://localhost:5173")
		if err != nil {
			t.Fatal(err)
		}
		if r.Status != http.StatusOK {
			t.Errorf("Origin http://localhost:5173: HTTP %d %s, want 200", r.Status, r.Body)
		}
		deleteSession(t, ctx, gh.URL, r.Header.Get("Mcp-Session-Id"))
	})

	t.Run("body too large", func(t *testing.T) {
		s := &RawSession{URL: gh.URL}
		big := `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"` + strings.Repeat("x", 70<<10) + `","version":"1"}}}`
		r, err := s.Post(ctx, big)
		if err != nil {
			t.Fatal(err)
		}
		e := errorOf(r.Final())
		if r.Status != http.StatusRequestEntityTooLarge || e == nil || !strings.Contains(errMsg(e), "max_message_bytes") {
			t.Errorf("70 KiB body with a 64 KiB limit: HTTP %d %s, want 413 with a JSON-RPC error naming the limit", r.Status, r.Body)
		}
		// Also on an established session, for a tools/call.
		sess := RawInitialize(t, ctx, gh.URL, "")
		defer deleteSession(t, ctx, gh.URL, sess.SessionID)
		r, err = sess.Post(ctx, `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"everything__echo","arguments":{"message":"`+strings.Repeat("y", 70<<10)+`"}}}`)
		if err != nil {
			t.Fatal(err)
		}
		if r.Status != http.StatusRequestEntityTooLarge || errorOf(r.Final()) == nil {
			t.Errorf("oversized tools/call: HTTP %d %.200s, want 413 with a JSON-RPC error", r.Status, r.Body)
		}
	})

	t.Run("session ids", func(t *testing.T) {
		s := &RawSession{URL: gh.URL, Version: "2025-11-25"}
		r, err := s.Post(ctx, `{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{}}`)
		if err != nil {
			t.Fatal(err)
		}
		if r.Status != http.StatusBadRequest || errorOf(r.Final()) == nil {
			t.Errorf("no Mcp-Session-Id: HTTP %d %s, want 400 with a JSON-RPC error", r.Status, r.Body)
		}
		s.SessionID = "0123456789abcdef0123456789abcdef"
		r, err = s.Post(ctx, `{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{}}`)
		if err != nil {
			t.Fatal(err)
		}
		if r.Status != http.StatusNotFound || errorOf(r.Final()) == nil {
			t.Errorf("unknown Mcp-Session-Id: HTTP %d %s, want 404 with a JSON-RPC error", r.Status, r.Body)
		}
	})

	t.Run("sessions per client and DELETE", func(t *testing.T) {
		s1 := RawInitialize(t, ctx, gh.URL, "")
		s2 := RawInitialize(t, ctx, gh.URL, "")
		s3, r, err := TryRawInitialize(ctx, gh.URL, "")
		if err != nil {
			t.Fatal(err)
		}
		if s3 != nil || r.Status != http.StatusTooManyRequests || !strings.Contains(string(r.Body), "max_sessions_per_client") {
			t.Errorf("third session from one client with a limit of 2: HTTP %d %s, want 429", r.Status, r.Body)
		}
		if code := deleteSession(t, ctx, gh.URL, s1.SessionID); code != http.StatusNoContent && code != http.StatusOK {
			t.Errorf("DELETE: HTTP %d", code)
		}
		r, err = s1.Post(ctx, `{"jsonrpc":"2.0","id":1,"method":"ping"}`)
		if err != nil {
			t.Fatal(err)
		}
		if r.Status != http.StatusNotFound {
			t.Errorf("request on a deleted session: HTTP %d %s, want 404", r.Status, r.Body)
		}
		// The deleted session's slot is free again.
		s3 = RawInitialize(t, ctx, gh.URL, "")
		deleteSession(t, ctx, gh.URL, s2.SessionID)
		deleteSession(t, ctx, gh.URL, s3.SessionID)
	})

	t.Run("pending requests per session", func(t *testing.T) {
		s := RawInitialize(t, ctx, gh.URL, "")
		defer deleteSession(t, ctx, gh.URL, s.SessionID)
		sctx, cancel := context.WithCancel(ctx)
		defer cancel()
		req, _ := http.NewRequestWithContext(sctx, http.MethodPost, gh.URL, strings.NewReader(
			`{"jsonrpc":"2.0","id":"slow","method":"tools/call","params":{"name":"everything__trigger-long-running-operation","arguments":{"duration":1.5,"steps":3},"_meta":{"progressToken":"t"}}}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		req.Header.Set("Mcp-Session-Id", s.SessionID)
		req.Header.Set("Mcp-Protocol-Version", s.Version)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		// Once the first progress event is here, the slow call is surely in flight.
		br := bufio.NewReader(resp.Body)
		for {
			ev, err := ReadSSEEvent(br)
			if err != nil {
				t.Fatalf("slow call's stream: %v", err)
			}
			if strings.Contains(ev.Data, "notifications/progress") {
				break
			}
		}
		r, err := s.Post(ctx, `{"jsonrpc":"2.0","id":"second","method":"tools/call","params":{"name":"everything__echo","arguments":{"message":"x"}}}`)
		if err != nil {
			t.Fatal(err)
		}
		e := errorOf(r.Final())
		if e == nil || !strings.Contains(errMsg(e), "max_pending_requests") {
			t.Errorf("second concurrent call with max_pending_requests 1: HTTP %d %s, want a JSON-RPC error naming the limit", r.Status, r.Body)
		}
		// The slow call still completes.
		var final string
		for {
			ev, err := ReadSSEEvent(br)
			if err != nil {
				break
			}
			if strings.Contains(ev.Data, `"result"`) {
				final = ev.Data
				break
			}
		}
		if !strings.Contains(final, "Long running operation completed") {
			t.Errorf("the slow call did not complete: %q", final)
		}
		// With the slot free, the next call goes through.
		r, err = s.Post(ctx, `{"jsonrpc":"2.0","id":"third","method":"tools/call","params":{"name":"everything__echo","arguments":{"message":"free"}}}`)
		if err != nil || !strings.Contains(string(r.Body), "Echo: free") {
			t.Errorf("call after the slot was freed: %v %s", err, r.Body)
		}
	})

	t.Run("malformed HTTP", func(t *testing.T) {
		// Requests that HTTP parsers read differently (the material of request smuggling),
		// and a head over limits.max_header_bytes: each refused with a JSON-RPC error
		// body, the connection closed, nothing forwarded, and the gateway goes on serving.
		host := strings.TrimPrefix(strings.TrimSuffix(gh.URL, "/mcp"), "http://")
		for _, tt := range []struct {
			name, req string
			status    int
			code      float64
			says      string
		}{
			{"CL and TE", "POST /mcp HTTP/1.1\r\nHost: " + host + "\r\nContent-Type: application/json\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400, -32600, "both Transfer-Encoding and Content-Length"},
			{"two lengths", "POST /mcp HTTP/1.1\r\nHost: " + host + "\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n{}", 400, -32600, "more than one Content-Length"},
			{"space before colon", "POST /mcp HTTP/1.1\r\nHost: " + host + "\r\nContent-Length : 2\r\n\r\n{}", 400, -32600, "malformed header name"},
			{"head too large", "GET /mcp HTTP/1.1\r\nHost: " + host + "\r\nX-Big: " + strings.Repeat("a", 70<<10) + "\r\n\r\n", 431, -32005, "limits.max_header_bytes"},
		} {
			c, err := net.Dial("tcp", host)
			if err != nil {
				t.Fatal(err)
			}
			c.SetDeadline(time.Now().Add(10 * time.Second))
			io.WriteString(c, tt.req)
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
			var body struct {
				Error struct {
					Code    float64
					Message string
				}
			}
			err = json.NewDecoder(resp.Body).Decode(&body)
			c.Close()
			if err != nil || resp.StatusCode != tt.status || body.Error.Code != tt.code || !strings.Contains(body.Error.Message, tt.says) || !resp.Close {
				t.Errorf("%s: HTTP %d %+v (%v), close=%v; want %d, code %v, saying %q, closed", tt.name, resp.StatusCode, body, err, resp.Close, tt.status, tt.code, tt.says)
			}
		}
		s := RawInitialize(t, ctx, gh.URL, "")
		deleteSession(t, ctx, gh.URL, s.SessionID)
	})

	t.Run("healthz counts sessions", func(t *testing.T) {
		s := RawInitialize(t, ctx, gh.URL, "")
		if n := gh.Health(t).Sessions; n < 1 {
			t.Errorf("healthz sessions = %d with one open", n)
		}
		deleteSession(t, ctx, gh.URL, s.SessionID)
	})
}

func deleteSession(t *testing.T, ctx context.Context, url, id string) int {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodDelete, url, nil)
	req.Header.Set("Mcp-Session-Id", id)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Errorf("DELETE: %v", err)
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestGatehouseValidate runs `gatehouse validate` on a good and a broken configuration.
func TestGatehouseValidate(t *testing.T) {
	bin := GatehouseBin(t)
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	os.WriteFile(good, []byte("upstreams:\n  - name: a\n    transport: stdio\n    command: /bin/true\n"), 0o644)
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte(`listen:
  address: 127.0.0.1:notaport
limits:
  max_message_bytes: lots
inspection:
  secrets: {disable: [aws-acess-token]}
upstreams:
  - name: Bad_Name
    transport: carrier-pigeon
  - name: web
    transport: streamable_http
  - name: web
    transport: stdio
`), 0o644)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	out, err := exec.CommandContext(ctx, bin, "validate", "--config", good).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "ok") {
		t.Errorf("validate good config: %v\n%s", err, out)
	}

	out, err = exec.CommandContext(ctx, bin, "validate", "--config", bad).CombinedOutput()
	if err == nil {
		t.Fatalf("validate of a broken config exited 0:\n%s", out)
	}
	var ee *exec.ExitError
	if !errorAs(err, &ee) || ee.ExitCode() == 0 {
		t.Errorf("validate: %v", err)
	}
	withLine := regexp.MustCompile(`bad\.yaml:\d+(:\d+)?: `)
	lines := withLine.FindAllString(string(out), -1)
	if len(lines) < 4 {
		t.Errorf("validate listed %d problems with line numbers, want >= 4 (address, size, name, transport, url, command, duplicate):\n%s", len(lines), out)
	}
	for _, want := range []string{"max_message_bytes", "transport", "upstreams[1]", "url", `inspection.secrets.disable[0]: no secret rule "aws-acess-token"`} {
		if !strings.Contains(string(out), want) {
			t.Errorf("validate output does not mention %q:\n%s", want, out)
		}
	}
}

func errorAs(err error, target **exec.ExitError) bool {
	e, ok := err.(*exec.ExitError)
	if ok {
		*target = e
	}
	return ok
}

// TestServeCPUProfile: `serve --cpuprofile FILE` leaves a Go CPU profile (gzipped protobuf)
// once the gateway stops.
func TestServeCPUProfile(t *testing.T) {
	up := startRecordingUpstream(t, "up", "echo")
	prof := filepath.Join(t.TempDir(), "cpu.pprof")
	gh := StartGatehouseArgs(t, "upstreams:\n"+UpstreamHTTPYAML("up", up.URL+"/mcp", ""), []string{"--cpuprofile", prof})
	gh.Stop(t)
	b, err := os.ReadFile(prof)
	if err != nil || len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b {
		t.Fatalf("profile after stop: %v, %d bytes", err, len(b))
	}
}

// TestCPUs checks how limits.cpus sizes the gateway's scheduler, as /healthz reports it: by
// default it starts at one P with every CPU as the ceiling; a number fixes it; a GOMAXPROCS
// environment variable wins over the configuration.
func TestCPUs(t *testing.T) {
	up := "upstreams:\n" + UpstreamHTTPYAML("dead", "http://127.0.0.1:1/mcp", "")
	cases := []struct {
		name      string
		yaml      string
		env       string
		mode      string
		procs     int
		wantMaxed bool // max is reported and is this machine's CPU count
	}{
		{"auto by default", up, "GOMAXPROCS=", "auto", 1, true},
		{"fixed", "limits: {cpus: 3}\n" + up, "GOMAXPROCS=", "fixed", 3, false},
		{"environment wins", "limits: {cpus: 3}\n" + up, "GOMAXPROCS=2", "environment", 2, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			gh := StartGatehouse(t, tc.yaml, tc.env)
			// Auto mode starts at one P; should a busy start have added one, the hold gives
			// it back within seconds.
			deadline := time.Now().Add(15 * time.Second)
			for {
				h := gh.Health(t)
				c := h.CPUs
				if c.Mode == tc.mode && c.Procs == tc.procs && (!tc.wantMaxed || c.Max == runtime.NumCPU()) {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("healthz cpus = %+v; want mode %s, procs %d (max %d: %v)", c, tc.mode, tc.procs, runtime.NumCPU(), tc.wantMaxed)
				}
				time.Sleep(50 * time.Millisecond)
			}
		})
	}
}

// TestUpstreamNotificationFlood: an upstream that floods log notifications has at most
// limits.upstream_notifications_per_second of them forwarded (bursts of twice as many), its
// call still completes, a second upstream's notifications still arrive, and the gateway says
// what it dropped.
func TestUpstreamNotificationFlood(t *testing.T) {
	ctx := testCtx(t, 60*time.Second)
	a, b := startGoUpstream(t, false, false), startGoUpstream(t, false, false)
	const perSecond = 5
	gh := StartGatehouse(t, "log: {level: info, format: text}\n"+
		"limits: {upstream_notifications_per_second: 5}\n"+
		"upstreams:\n"+UpstreamHTTPYAML("a", a, "")+UpstreamHTTPYAML("b", b, ""))
	var mu sync.Mutex
	logs := map[string]int{}
	c := mcp.NewClient(&mcp.Implementation{Name: "listener", Version: "1"}, &mcp.ClientOptions{
		LoggingMessageHandler: func(_ context.Context, r *mcp.LoggingMessageRequest) {
			mu.Lock()
			defer mu.Unlock()
			logs[fmt.Sprint(r.Params.Data)]++
		},
	})
	cs, err := c.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: gh.URL}, &mcp.ClientSessionOptions{ProtocolVersion: "2025-11-25"})
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	if err := cs.SetLoggingLevel(ctx, &mcp.SetLoggingLevelParams{Level: "debug"}); err != nil {
		t.Fatal(err)
	}
	count := func(text string) int {
		mu.Lock()
		defer mu.Unlock()
		return logs[text]
	}
	start := time.Now()
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "a__chatter", Arguments: map[string]any{"text": "flood", "repeat": 200}})
	if err != nil || len(res.Content) == 0 || res.Content[0].(*mcp.TextContent).Text != "chattered" {
		t.Fatalf("the flooding call: %v %+v", err, res)
	}
	most := 2*perSecond + int(time.Since(start).Seconds()*perSecond) + 1
	if _, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "b__chatter", Arguments: map[string]any{"text": "other"}}); err != nil {
		t.Fatal(err)
	}
	// The client handles notifications on its own goroutine: wait for the other upstream's.
	for deadline := time.Now().Add(10 * time.Second); count("other") == 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the other upstream's log notification did not arrive")
		}
	}
	if n := count("flood"); n < 2*perSecond || n > most {
		t.Errorf("%d of 200 flooded log notifications reached the client, want %d to %d", n, 2*perSecond, most)
	}
	if !strings.Contains(gh.Logs.String(), "upstream notifications dropped") {
		t.Errorf("no log line about the dropped notifications:\n%s", gh.Logs.String())
	}
}
