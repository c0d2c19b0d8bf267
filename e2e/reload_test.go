package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

const reloadPolicyA = `identity:
  anonymous: {roles: [dev]}
policy:
  roles:
    dev:
      - tools: [echo]
`

const reloadPolicyB = `identity:
  anonymous: {roles: [dev]}
policy:
  roles:
    dev:
      - tools: [echo, wipe]
`

// A configuration with problems: an unknown key and a condition that does not compile.
const reloadPolicyBad = `identity:
  anonymous: {roles: [dev], colour: blue}
policy:
  roles:
    dev:
      - tools: [echo]
  rules:
    - name: broken
      effect: deny
      when: 'args.x >'
`

// TestConfigReload: a new configuration is applied on SIGHUP and on a file change, while
// a client keeps calling; a bad one is refused with its problems logged and the one in
// force keeps serving.
func TestConfigReload(t *testing.T) {
	for _, mode := range []struct {
		name    string
		args    []string
		trigger func(gh *Gatehouse)
	}{
		{"file change", []string{"--watch-config", "200ms"}, func(*Gatehouse) {}},
		{"SIGHUP", []string{"--watch-config", "0"}, func(gh *Gatehouse) { gh.Process.Signal(syscall.SIGHUP) }},
	} {
		t.Run(mode.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			up := startRecordingUpstream(t, "up", "echo", "wipe")
			upstreams := "upstreams:\n" + UpstreamHTTPYAML("up", up.URL+"/mcp", "")
			gh := StartGatehouseArgs(t, "log: {level: info, format: text}\n"+reloadPolicyA+upstreams, mode.args)
			// The file as the gateway sees it (StartGatehouse filled in the port).
			base, err := os.ReadFile(gh.Config)
			if err != nil {
				t.Fatal(err)
			}
			listen := strings.SplitN(string(base), "\n", 2)[0] + "\n"
			write := func(body string) {
				tmp := filepath.Join(filepath.Dir(gh.Config), "next.yaml")
				if err := os.WriteFile(tmp, []byte(listen+"log: {level: info, format: text}\n"+body+upstreams), 0o644); err != nil {
					t.Fatal(err)
				}
				if err := os.Rename(tmp, gh.Config); err != nil { // as editors and config managers do
					t.Fatal(err)
				}
				mode.trigger(gh)
			}
			waitLog := func(what string, n int) {
				t.Helper()
				deadline := time.Now().Add(15 * time.Second)
				for strings.Count(gh.Logs.String(), what) < n {
					if time.Now().After(deadline) {
						t.Fatalf("no %q in the log (want %d):\n%s", what, n, gh.Logs.String())
					}
					time.Sleep(50 * time.Millisecond)
				}
			}

			c := mcp.NewClient(&mcp.Implementation{Name: "reload", Version: "1"}, nil)
			cs, err := c.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: gh.URL}, &mcp.ClientSessionOptions{ProtocolVersion: "2025-11-25"})
			if err != nil {
				t.Fatal(err)
			}
			defer cs.Close()
			wipe := func() error {
				_, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "up__wipe"})
				return err
			}
			if err := wipe(); err == nil || !strings.Contains(err.Error(), "denied by policy") {
				t.Fatalf("wipe under policy A: %v", err)
			}

			// Traffic throughout: echo is allowed by every policy that gets applied.
			var calls, failures atomic.Int64
			var firstErr atomic.Value
			stop := make(chan struct{})
			var wg sync.WaitGroup
			for range 2 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					tc, err := c.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: gh.URL}, &mcp.ClientSessionOptions{ProtocolVersion: "2025-11-25"})
					if err != nil {
						failures.Add(1)
						firstErr.CompareAndSwap(nil, err.Error())
						return
					}
					defer tc.Close()
					for {
						select {
						case <-stop:
							return
						default:
						}
						if _, err := tc.CallTool(ctx, &mcp.CallToolParams{Name: "up__echo", Arguments: map[string]any{"text": "x"}}); err != nil {
							failures.Add(1)
							firstErr.CompareAndSwap(nil, err.Error())
						}
						calls.Add(1)
					}
				}()
			}

			write(reloadPolicyB)
			waitLog("configuration reloaded", 1)
			if err := wipe(); err != nil {
				t.Fatalf("wipe after reloading policy B: %v", err)
			}

			write(reloadPolicyBad)
			waitLog("configuration reload refused", 1)
			logs := gh.Logs.String()
			for _, want := range []string{"identity.anonymous.colour: unknown key", "policy.rules[0].when: invalid CEL condition"} {
				if !strings.Contains(logs, want) {
					t.Errorf("the refused reload's log lacks %q", want)
				}
			}
			if err := wipe(); err != nil {
				t.Fatalf("wipe after a refused reload (policy B must still be in force): %v", err)
			}
			time.Sleep(200 * time.Millisecond)
			close(stop)
			wg.Wait()
			if calls.Load() == 0 || failures.Load() > 0 {
				t.Fatalf("traffic during reloads: %d calls, %d failures (first: %v)", calls.Load(), failures.Load(), firstErr.Load())
			}
			t.Logf("%d calls during the reloads, none failed", calls.Load())
		})
	}
}
