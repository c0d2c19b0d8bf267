package e2e

import (
	"encoding/json"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestGatewayUpstreamFailures checks that one broken upstream is reported clearly, by name,
// and leaves the others alone: a command that does not exist, a server that writes garbage to
// stdout, and a server killed (SIGKILL) in the middle of a call, which is then restarted.
func TestGatewayUpstreamFailures(t *testing.T) {
	goURL := StartEverythingServer(t, false)
	yaml := "log: {level: debug, format: text}\nupstreams:\n" +
		UpstreamStdioYAML("victim", ServerEverythingCmd(t), "env: {PATH: {env: PATH}}\nrestart: {initial_backoff: 200ms, max_backoff: 1s}\n") +
		UpstreamStdioYAML("garbage", []string{"/bin/sh", "-c", "read line; echo not-json; sleep 60"}, "restart: {initial_backoff: 5s, max_backoff: 10s}\n") +
		UpstreamStdioYAML("dead", []string{"/nonexistent/gatehouse-no-such-binary"}, "") +
		UpstreamHTTPYAML("gohttp", goURL, "")
	gh := StartGatehouse(t, yaml)
	gh.WaitUpstreamsUp(t, 30*time.Second, "victim")

	ctx := testCtx(t, 90*time.Second)
	s := RawInitialize(t, ctx, gh.URL, "")
	call := func(t *testing.T, id int, tool string, args string) map[string]any {
		t.Helper()
		r, err := s.Post(ctx, `{"jsonrpc":"2.0","id":`+itoa(id)+`,"method":"tools/call","params":{"name":"`+tool+`","arguments":`+args+`}}`)
		if err != nil {
			t.Fatalf("call %s: %v", tool, err)
		}
		return r.Final()
	}
	othersFine := func(t *testing.T) {
		t.Helper()
		f := call(t, 50, "gohttp__test_simple_text", "{}")
		if b, _ := json.Marshal(f["result"]); !strings.Contains(string(b), "simple text response") {
			t.Errorf("gohttp call while another upstream is broken: %v", f)
		}
	}

	for _, tc := range []struct{ name, server, tool string }{
		{"dead command", "dead", "dead__anything"},
		{"garbage on stdout", "garbage", "garbage__anything"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := call(t, 1, tc.tool, "{}")
			e := errorOf(f)
			if e == nil || !strings.Contains(errMsg(e), `"`+tc.server+`"`) {
				t.Errorf("call to %s: %v, want a JSON-RPC error naming the server", tc.server, f)
			}
			if up, why := gh.Health(t).UpstreamUp(tc.server); up || why == "" {
				t.Errorf("healthz: %s up=%v error=%q, want down with a reason", tc.server, up, why)
			}
			if h := gh.Health(t); h.Status == "ok" {
				t.Errorf("healthz status %q with %s down, want degraded", h.Status, tc.server)
			}
			othersFine(t)
			// The lists still come, without the broken upstream.
			r, err := s.Post(ctx, `{"jsonrpc":"2.0","id":2,"method":"tools/list","params":{}}`)
			if err != nil {
				t.Fatal(err)
			}
			names := namesOf(r.Final()["result"].(map[string]any), "tools", "name")
			if !contains(names, "victim__echo") || !contains(names, "gohttp__test_simple_text") {
				t.Errorf("tools/list with %s down: %v", tc.server, names)
			}
		})
	}
	t.Run("garbage is logged", func(t *testing.T) {
		if !strings.Contains(gh.Logs.String(), "invalid JSON-RPC") {
			t.Errorf("no log line about the garbage upstream's invalid output")
		}
	})

	t.Run("killed mid-call and restarted", func(t *testing.T) {
		pids := ChildPIDs(gh.Process.Pid, "server-everything")
		if len(pids) != 1 {
			t.Fatalf("server-everything children of the gateway: %v, want exactly one", pids)
		}
		type result struct {
			f   map[string]any
			dur time.Duration
		}
		done := make(chan result, 1)
		go func() {
			start := time.Now()
			r, err := s.Post(ctx, `{"jsonrpc":"2.0","id":77,"method":"tools/call","params":{"name":"victim__trigger-long-running-operation","arguments":{"duration":30,"steps":30}}}`)
			if err != nil {
				done <- result{map[string]any{"transport-error": err.Error()}, time.Since(start)}
				return
			}
			done <- result{r.Final(), time.Since(start)}
		}()
		time.Sleep(700 * time.Millisecond)
		if err := syscall.Kill(pids[0], syscall.SIGKILL); err != nil {
			t.Fatalf("kill -9 %d: %v", pids[0], err)
		}
		var res result
		select {
		case res = <-done:
		case <-time.After(20 * time.Second):
			t.Fatalf("the in-flight call did not end within 20s of its upstream dying")
		}
		e := errorOf(res.f)
		if e == nil || !strings.Contains(errMsg(e), `"victim"`) {
			t.Errorf("in-flight call on a killed upstream: %v, want a JSON-RPC error naming victim", res.f)
		}
		if id, _ := res.f["id"].(float64); id != 77 {
			t.Errorf("error response id = %v, want 77", res.f["id"])
		}
		othersFine(t)

		// After the restart backoff the upstream serves again.
		deadline := time.Now().Add(30 * time.Second)
		for i := 100; ; i++ {
			f := call(t, i, "victim__echo", `{"message":"back"}`)
			if b, _ := json.Marshal(f["result"]); strings.Contains(string(b), "Echo: back") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("victim did not come back within 30s: last answer %v", f)
			}
			time.Sleep(200 * time.Millisecond)
		}
		if np := ChildPIDs(gh.Process.Pid, "server-everything"); len(np) != 1 || np[0] == pids[0] {
			t.Errorf("after restart server-everything children = %v (old %d)", np, pids[0])
		}
	})

	t.Run("session survives", func(t *testing.T) {
		r, err := s.Post(ctx, `{"jsonrpc":"2.0","id":3,"method":"ping"}`)
		if err != nil || r.Status != http.StatusOK || errorOf(r.Final()) != nil {
			t.Errorf("ping after the failures: %v %s", err, r.Body)
		}
	})
}

func itoa(i int) string {
	b, _ := json.Marshal(i)
	return string(b)
}
