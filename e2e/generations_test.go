package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// startGoUpstream serves a small Go SDK server on 127.0.0.1 with one tool, "whoami", that
// reports the protocol generation it was called with. stateless selects the Go SDK's
// stateless mode (which also speaks 2026-07-28); refuseInitialize makes it a server of the
// stateless revision only, as a pure 2026-07-28 server would be.
func startGoUpstream(t *testing.T, stateless, refuseInitialize bool) string {
	t.Helper()
	srv := mcp.NewServer(&mcp.Implementation{Name: "gen-upstream", Version: "1"}, nil)
	type in struct {
		Text   string `json:"text"`
		Repeat int    `json:"repeat,omitempty"` // chatter: log the text this many times (default once)
	}
	mcp.AddTool(srv, &mcp.Tool{Name: "whoami", Description: "reports the caller's protocol generation"},
		func(ctx context.Context, req *mcp.CallToolRequest, args in) (*mcp.CallToolResult, any, error) {
			gen := "session"
			if req.Extra != nil && req.Extra.Header.Get("Mcp-Method") != "" {
				gen = "stateless"
			}
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: gen + ":" + args.Text}}}, nil, nil
		})
	mcp.AddTool(srv, &mcp.Tool{Name: "ask", Description: "asks the client for a sample mid-call"},
		func(ctx context.Context, req *mcp.CallToolRequest, args in) (*mcp.CallToolResult, any, error) {
			res, err := req.Session.CreateMessage(ctx, &mcp.CreateMessageParams{
				MaxTokens: 10,
				Messages:  []*mcp.SamplingMessage{{Role: "user", Content: &mcp.TextContent{Text: args.Text}}},
			})
			if err != nil {
				return nil, nil, err
			}
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "sampled:" + res.Content.(*mcp.TextContent).Text}}}, nil, nil
		})
	// chatter sends its text as a log message and, when the call carries a progress token,
	// as a progress message, before it answers.
	mcp.AddTool(srv, &mcp.Tool{Name: "chatter", Description: "logs and reports progress with its text"},
		func(ctx context.Context, req *mcp.CallToolRequest, args in) (*mcp.CallToolResult, any, error) {
			for range max(1, args.Repeat) {
				if err := req.Session.Log(ctx, &mcp.LoggingMessageParams{Level: "warning", Logger: "chatter", Data: args.Text}); err != nil {
					return nil, nil, err
				}
			}
			if tok := req.Params.GetProgressToken(); tok != nil {
				if err := req.Session.NotifyProgress(ctx, &mcp.ProgressNotificationParams{ProgressToken: tok, Progress: 1, Total: 2, Message: args.Text}); err != nil {
					return nil, nil, err
				}
			}
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "chattered"}}}, nil, nil
		})
	// confirm asks for a sample the stateless revision's way: an input_required result first,
	// then the real result once the answer comes back with the request state.
	mcp.AddTool(srv, &mcp.Tool{Name: "confirm", Description: "asks for a sample through input_required"},
		func(ctx context.Context, req *mcp.CallToolRequest, args in) (*mcp.CallToolResult, any, error) {
			if len(req.Params.InputResponses) == 0 {
				return &mcp.CallToolResult{
					InputRequests: mcp.InputRequestMap{"s": &mcp.CreateMessageParams{
						MaxTokens: 10,
						Messages:  []*mcp.SamplingMessage{{Role: "user", Content: &mcp.TextContent{Text: args.Text}}},
					}},
					RequestState: "state-1",
				}, nil, nil
			}
			r, ok := req.Params.InputResponses["s"].(*mcp.CreateMessageWithToolsResult)
			if !ok || len(r.Content) == 0 {
				return nil, nil, fmt.Errorf("unexpected input response %T", req.Params.InputResponses["s"])
			}
			text := r.Content[0].(*mcp.TextContent).Text
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "confirmed:" + text + ":" + req.Params.RequestState}}}, nil, nil
		})
	h := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv }, &mcp.StreamableHTTPOptions{Stateless: stateless})
	var handler http.Handler = h
	if refuseInitialize {
		handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			if bytes.Contains(body, []byte(`"method":"initialize"`)) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusBadRequest)
				w.Write([]byte(`{"jsonrpc":"2.0","id":null,"error":{"code":-32022,"message":"this server speaks only 2026-07-28","data":{"supported":["2026-07-28"]}}}`))
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			h.ServeHTTP(w, r)
		})
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: handler}
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close() })
	return "http://" + ln.Addr().String() + "/mcp"
}

func callWhoami(t *testing.T, ctx context.Context, url string, opts *mcp.ClientSessionOptions) (string, string) {
	t.Helper()
	c := mcp.NewClient(&mcp.Implementation{Name: "gen-client", Version: "1"}, nil)
	cs, err := c.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: url}, opts)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer cs.Close()
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "up__whoami", Arguments: map[string]any{"text": "hi"}})
	if err != nil {
		t.Fatalf("tools/call: %v", err)
	}
	if res.IsError || len(res.Content) != 1 {
		t.Fatalf("tools/call result: %+v", res)
	}
	return res.Content[0].(*mcp.TextContent).Text, cs.InitializeResult().ProtocolVersion
}

// TestProtocolGenerations: clients of both generations reach upstreams of both generations
// through one gateway endpoint.
func TestProtocolGenerations(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cases := []struct {
		name             string
		stateless        bool
		refuseInitialize bool
		clientVersion    string // "" = the Go SDK's default (2026-07-28 first)
		wantClient       string // protocol version the client ends up speaking
		wantUpstream     string // generation the upstream sees
	}{
		{"2026 client, session-only upstream", false, false, "", "2026-07-28", "session"},
		{"2026 client, dual upstream", true, false, "", "2026-07-28", "stateless"},
		{"2025 client, dual upstream", true, false, "2025-11-25", "2025-11-25", "session"},
		{"2025 client, 2026-only upstream", true, true, "2025-11-25", "2025-11-25", "stateless"},
		{"2026 client, 2026-only upstream", true, true, "", "2026-07-28", "stateless"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			up := startGoUpstream(t, tc.stateless, tc.refuseInitialize)
			gh := StartGatehouse(t, "log: {level: debug, format: text}\nupstreams:\n"+UpstreamHTTPYAML("up", up, ""))
			var opts *mcp.ClientSessionOptions
			if tc.clientVersion != "" {
				opts = &mcp.ClientSessionOptions{ProtocolVersion: tc.clientVersion}
			}
			text, version := callWhoami(t, ctx, gh.URL, opts)
			if version != tc.wantClient {
				t.Errorf("client negotiated %q, want %q", version, tc.wantClient)
			}
			if want := tc.wantUpstream + ":hi"; text != want {
				t.Errorf("upstream saw %q, want %q", text, want)
			}
		})
	}
}

// TestStatelessHeaderRules checks the 2026-07-28 request rules at the gateway's edge.
func TestStatelessHeaderRules(t *testing.T) {
	up := startGoUpstream(t, true, false)
	gh := StartGatehouse(t, "upstreams:\n"+UpstreamHTTPYAML("up", up, ""))
	meta := `"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}`
	call := `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"up__whoami","arguments":{"text":"x"},` + meta + `}}`
	cases := []struct {
		name       string
		body       string
		hdr        map[string]string
		wantStatus int
		wantCode   float64 // 0: a result is expected
	}{
		{"ok", call, map[string]string{"Mcp-Method": "tools/call", "Mcp-Name": "up__whoami"}, 200, 0},
		{"base64 name", call, map[string]string{"Mcp-Method": "tools/call", "Mcp-Name": "=?base64?dXBfX3dob2FtaQ==?="}, 200, 0},
		{"name mismatch", call, map[string]string{"Mcp-Method": "tools/call", "Mcp-Name": "up__other"}, 400, -32020},
		{"method mismatch", call, map[string]string{"Mcp-Method": "tools/list", "Mcp-Name": "up__whoami"}, 400, -32020},
		{"missing method header", call, map[string]string{"Mcp-Name": "up__whoami"}, 400, -32020},
		{"missing capabilities", `{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}`, map[string]string{"Mcp-Method": "tools/list"}, 400, -32602},
		{"removed method", `{"jsonrpc":"2.0","id":1,"method":"ping","params":{` + meta + `}}`, map[string]string{"Mcp-Method": "ping"}, 404, -32601},
		{"unsupported version", `{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2099-01-01","io.modelcontextprotocol/clientCapabilities":{}}}}`, map[string]string{"Mcp-Method": "tools/list", "Mcp-Protocol-Version": "2099-01-01"}, 400, -32022},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest("POST", gh.URL, strings.NewReader(tc.body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Accept", "application/json, text/event-stream")
			req.Header.Set("Mcp-Protocol-Version", "2026-07-28")
			for k, v := range tc.hdr {
				req.Header.Set(k, v)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.wantStatus {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.wantStatus, body)
			}
			if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
				evs := ParseSSE(body)
				body = []byte(evs[len(evs)-1].Data)
			}
			var m struct {
				Result map[string]any
				Error  *struct{ Code float64 }
			}
			if err := json.Unmarshal(body, &m); err != nil {
				t.Fatalf("body %s: %v", body, err)
			}
			if tc.wantCode == 0 {
				if m.Error != nil || m.Result["resultType"] != "complete" {
					t.Fatalf("want a complete result, got %s", body)
				}
				return
			}
			if m.Error == nil || m.Error.Code != tc.wantCode {
				t.Fatalf("want error %v, got %s", tc.wantCode, body)
			}
		})
	}
}

// TestSamplingAcrossGenerations: a session-based upstream asks for sampling mid-call. A
// 2025-11-25 client gets the request on its stream; a 2026-07-28 client gets an
// input_required round, answers it, and the upstream's call completes with its answer. A
// 2026-07-28 client that did not declare sampling gets -32021.
func TestSamplingAcrossGenerations(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	up := startGoUpstream(t, false, false)
	gh := StartGatehouse(t, "log: {level: debug, format: text}\nupstreams:\n"+UpstreamHTTPYAML("up", up, ""))
	sampler := func(ctx context.Context, req *mcp.CreateMessageRequest) (*mcp.CreateMessageResult, error) {
		text := req.Params.Messages[0].Content.(*mcp.TextContent).Text
		return &mcp.CreateMessageResult{Role: "assistant", Model: "test", Content: &mcp.TextContent{Text: "echo(" + text + ")"}}, nil
	}
	for _, version := range []string{"2025-11-25", ""} {
		t.Run("client "+version, func(t *testing.T) {
			c := mcp.NewClient(&mcp.Implementation{Name: "sampler", Version: "1"}, &mcp.ClientOptions{CreateMessageHandler: sampler})
			var opts *mcp.ClientSessionOptions
			if version != "" {
				opts = &mcp.ClientSessionOptions{ProtocolVersion: version}
			}
			cs, err := c.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: gh.URL}, opts)
			if err != nil {
				t.Fatal(err)
			}
			defer cs.Close()
			res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "up__ask", Arguments: map[string]any{"text": "q1"}})
			if err != nil {
				t.Fatalf("tools/call: %v", err)
			}
			if got := res.Content[0].(*mcp.TextContent).Text; got != "sampled:echo(q1)" {
				t.Fatalf("result %q", got)
			}
		})
	}
	t.Run("2026 client without sampling", func(t *testing.T) {
		c := mcp.NewClient(&mcp.Implementation{Name: "plain", Version: "1"}, nil)
		cs, err := c.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: gh.URL}, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer cs.Close()
		_, err = cs.CallTool(ctx, &mcp.CallToolParams{Name: "up__ask", Arguments: map[string]any{"text": "q1"}})
		if err == nil || !strings.Contains(err.Error(), "-32021") && !strings.Contains(err.Error(), "sampling") {
			t.Fatalf("want a missing-capability error, got %v", err)
		}
	})
}

// TestInputRequiredForSessionClient: an upstream of the stateless revision only answers with
// input_required; a 2025-11-25 client gets the question as a sampling request of its own, and
// the upstream gets the answer in a retry with its request state.
func TestInputRequiredForSessionClient(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	up := startGoUpstream(t, true, true)
	gh := StartGatehouse(t, "log: {level: debug, format: text}\nupstreams:\n"+UpstreamHTTPYAML("up", up, ""))
	asked := 0
	c := mcp.NewClient(&mcp.Implementation{Name: "sampler", Version: "1"}, &mcp.ClientOptions{
		CreateMessageHandler: func(ctx context.Context, req *mcp.CreateMessageRequest) (*mcp.CreateMessageResult, error) {
			asked++
			text := req.Params.Messages[0].Content.(*mcp.TextContent).Text
			return &mcp.CreateMessageResult{Role: "assistant", Model: "test", Content: &mcp.TextContent{Text: "ok(" + text + ")"}}, nil
		},
	})
	cs, err := c.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: gh.URL}, &mcp.ClientSessionOptions{ProtocolVersion: "2025-11-25"})
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "up__confirm", Arguments: map[string]any{"text": "deploy?"}})
	if err != nil {
		t.Fatalf("tools/call: %v", err)
	}
	if got := res.Content[0].(*mcp.TextContent).Text; got != "confirmed:ok(deploy?):state-1" || asked != 1 {
		t.Fatalf("result %q after %d questions", got, asked)
	}

	// A 2026-07-28 client gets the upstream's input_required result as it is (the gateway's
	// namespacing aside) and answers it itself.
	cs26, err := c.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: gh.URL}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cs26.Close()
	res, err = cs26.CallTool(ctx, &mcp.CallToolParams{Name: "up__confirm", Arguments: map[string]any{"text": "again?"}})
	if err != nil {
		t.Fatalf("tools/call (2026): %v", err)
	}
	if got := res.Content[0].(*mcp.TextContent).Text; got != "confirmed:ok(again?):state-1" || asked != 2 {
		t.Fatalf("2026 result %q after %d questions", got, asked)
	}

	// Without the sampling capability the call fails with an error that says why.
	plain := mcp.NewClient(&mcp.Implementation{Name: "plain", Version: "1"}, nil)
	ps, err := plain.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: gh.URL}, &mcp.ClientSessionOptions{ProtocolVersion: "2025-11-25"})
	if err != nil {
		t.Fatal(err)
	}
	defer ps.Close()
	_, err = ps.CallTool(ctx, &mcp.CallToolParams{Name: "up__confirm", Arguments: map[string]any{"text": "x"}})
	if err == nil || !strings.Contains(err.Error(), "did not declare that capability") {
		t.Fatalf("want a capability error, got %v", err)
	}
}
