package e2e

import (
	"context"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// TestGatewayGoClient drives the gateway with the Go SDK client, over `gatehouse serve`
// (Streamable HTTP) and `gatehouse stdio`, with the SDK's default protocol (2026-07-28 first:
// server/discover, refused, then initialize) and with 2025-11-25 pinned.
func TestGatewayGoClient(t *testing.T) {
	up := newCoreUpstreams(t)
	gh := StartGatehouse(t, up.config(""))
	gh.WaitUpstreamsUp(t, 30*time.Second, "everything", "gostdio", "files")

	for _, mode := range []string{"http", "stdio"} {
		for _, version := range []string{"", "2025-11-25"} {
			name := mode + "/default"
			if version != "" {
				name = mode + "/" + version
			}
			t.Run(name, func(t *testing.T) {
				ctx := testCtx(t, 90*time.Second)
				var transport mcp.Transport
				if mode == "http" {
					transport = &mcp.StreamableClientTransport{Endpoint: gh.URL, MaxRetries: -1}
				} else {
					argv := StdioGatehouse(t, up.config(""))
					transport = &mcp.CommandTransport{Command: exec.Command(argv[0], argv[1:]...), TerminateDuration: 3 * time.Second}
				}
				var opts *mcp.ClientSessionOptions
				if version != "" {
					opts = &mcp.ClientSessionOptions{ProtocolVersion: version}
				}
				runGoClient(t, ctx, transport, opts)
			})
		}
	}
}

func runGoClient(t *testing.T, ctx context.Context, transport mcp.Transport, opts *mcp.ClientSessionOptions) {
	var mu sync.Mutex
	progress := map[string]int{}
	var logs []string
	client := mcp.NewClient(&mcp.Implementation{Name: "gatehouse-goclient", Version: "1.0.0"}, &mcp.ClientOptions{
		CreateMessageHandler: func(ctx context.Context, req *mcp.CreateMessageRequest) (*mcp.CreateMessageResult, error) {
			var prompt string
			for _, m := range req.Params.Messages {
				if tc, ok := m.Content.(*mcp.TextContent); ok {
					prompt += tc.Text
				}
			}
			return &mcp.CreateMessageResult{Role: "assistant", Model: "go-test-model", Content: &mcp.TextContent{Text: "go sample: " + prompt}}, nil
		},
		ElicitationHandler: func(ctx context.Context, req *mcp.ElicitRequest) (*mcp.ElicitResult, error) {
			return &mcp.ElicitResult{Action: "accept", Content: map[string]any{"username": "gopher"}}, nil
		},
		ProgressNotificationHandler: func(ctx context.Context, req *mcp.ProgressNotificationClientRequest) {
			mu.Lock()
			progress[fmt.Sprint(req.Params.ProgressToken)]++
			mu.Unlock()
		},
		LoggingMessageHandler: func(ctx context.Context, req *mcp.LoggingMessageRequest) {
			mu.Lock()
			logs = append(logs, fmt.Sprint(req.Params.Data))
			mu.Unlock()
		},
	})
	cs, err := client.Connect(ctx, transport, opts)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer cs.Close()
	ir := cs.InitializeResult()
	// With the SDK's default the client tries the stateless revision (server/discover) first:
	// the gateway either serves it (2026-07-28) or refuses it and the client falls back to
	// initialize (2025-11-25). With 2025-11-25 pinned it must be 2025-11-25.
	modern := ir.ProtocolVersion == "2026-07-28"
	wantVersion := "2025-11-25"
	if (opts == nil || opts.ProtocolVersion == "") && modern {
		wantVersion = "2026-07-28"
	}
	t.Logf("negotiated protocol version %s", ir.ProtocolVersion)
	if ir.ProtocolVersion != wantVersion || ir.ServerInfo == nil || ir.ServerInfo.Name != "gatehouse" {
		t.Errorf("initialize result: version %q (want %s), serverInfo %+v", ir.ProtocolVersion, wantVersion, ir.ServerInfo)
	}

	var tools []string
	for tool, err := range cs.Tools(ctx, nil) {
		if err != nil {
			t.Fatalf("tools/list: %v", err)
		}
		tools = append(tools, tool.Name)
	}
	for _, want := range []string{"everything__echo", "everything__trigger-sampling-request", "gohttp__test_sampling", "gostdio__test_elicitation", "files__list_directory"} {
		if !slices.Contains(tools, want) {
			t.Errorf("tools/list lacks %q: %v", want, tools)
		}
	}
	checkNamespaced(t, "tools", tools)

	call := func(name string, args map[string]any, meta mcp.Meta) string {
		t.Helper()
		res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: name, Arguments: args, Meta: meta})
		if err != nil {
			t.Errorf("call %s: %v", name, err)
			return ""
		}
		var parts []string
		for _, c := range res.Content {
			if tc, ok := c.(*mcp.TextContent); ok {
				parts = append(parts, tc.Text)
			}
		}
		if res.IsError {
			t.Errorf("call %s: tool error %v", name, parts)
		}
		return strings.Join(parts, "\n")
	}
	if got := call("everything__echo", map[string]any{"message": "hi from go"}, nil); got != "Echo: hi from go" {
		t.Errorf("echo = %q", got)
	}
	if got := call("everything__get-sum", map[string]any{"a": 40, "b": 2}, nil); !strings.Contains(got, "42") {
		t.Errorf("get-sum = %q", got)
	}
	for _, tool := range []string{"gohttp__test_simple_text", "gostdio__test_simple_text"} {
		if got := call(tool, nil, nil); got != "This is a simple text response for testing." {
			t.Errorf("%s = %q", tool, got)
		}
	}
	rr, err := cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: "test://template/7/data"})
	if err != nil || len(rr.Contents) == 0 || !strings.Contains(rr.Contents[0].Text, "Data for ID: 7") {
		t.Errorf("resources/read template: %v %+v", err, rr)
	}
	gp, err := cs.GetPrompt(ctx, &mcp.GetPromptParams{Name: "gostdio__test_simple_prompt"})
	if err != nil || len(gp.Messages) == 0 {
		t.Errorf("prompts/get: %v %+v", err, gp)
	}
	if modern {
		// The stateless revision has no server-to-client requests mid-call, no ping and no
		// logging/setLevel: the rest is for session-based versions only.
		return
	}
	for _, c := range []struct{ tool, prompt string }{
		{"everything__trigger-sampling-request", "go-everything"},
		{"gohttp__test_sampling", "go-gohttp"},
		{"gostdio__test_sampling", "go-gostdio"},
	} {
		if got := call(c.tool, map[string]any{"prompt": c.prompt}, nil); !strings.Contains(got, "go sample: ") || !strings.Contains(got, c.prompt) {
			t.Errorf("sampling via %s = %q, want the client's answer", c.tool, got)
		}
	}
	for _, tool := range []string{"gohttp__test_elicitation", "gostdio__test_elicitation"} {
		if got := call(tool, map[string]any{"message": "name?"}, nil); !strings.Contains(got, "username:gopher") {
			t.Errorf("elicitation via %s = %q, want the client's answer", tool, got)
		}
	}
	call("everything__trigger-long-running-operation", map[string]any{"duration": 0.3, "steps": 3}, mcp.Meta{"progressToken": "go-tok-1"})
	call("gohttp__test_tool_with_progress", nil, mcp.Meta{"progressToken": "go-tok-2"})

	if err := cs.SetLoggingLevel(ctx, &mcp.SetLoggingLevelParams{Level: "debug"}); err != nil {
		t.Errorf("logging/setLevel: %v", err)
	}
	call("gostdio__test_tool_with_logging", nil, nil)

	if err := cs.Ping(ctx, nil); err != nil {
		t.Errorf("ping: %v", err)
	}

	// Notifications may trail the response that ends their request by a moment.
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		ok := progress["go-tok-1"] >= 3 && progress["go-tok-2"] >= 3 && len(logs) >= 3
		p, l := fmt.Sprint(progress), slices.Clone(logs)
		mu.Unlock()
		if ok {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("progress by token = %s (want >= 3 for go-tok-1 and go-tok-2); log messages = %q (want 3)", p, l)
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	mu.Lock()
	for tok := range progress {
		if tok != "go-tok-1" && tok != "go-tok-2" {
			t.Errorf("progress with a token the client never sent: %q", tok)
		}
	}
	mu.Unlock()
}
