package upstream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"gatehouse/internal/sse"
)

// testTimeout bounds every wait in these tests.
const testTimeout = 15 * time.Second

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

// received is one Handler call.
type received struct {
	msg     string
	related []byte // nil when the Handler got nil
}

// collector is a Handler that records what it receives.
type collector struct {
	mu     sync.Mutex
	msgs   []received
	notify chan struct{}
	active int // Handler calls in progress, to check they are serialised
}

func newCollector() *collector { return &collector{notify: make(chan struct{}, 1)} }

func (c *collector) handle(msg, related []byte) {
	c.mu.Lock()
	c.active++
	if c.active > 1 {
		panic("concurrent Handler calls")
	}
	c.msgs = append(c.msgs, received{string(msg), related})
	c.active--
	c.mu.Unlock()
	select {
	case c.notify <- struct{}{}:
	default:
	}
}

func (c *collector) all() []received {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]received(nil), c.msgs...)
}

// wait returns the first received message for which match is true.
func (c *collector) wait(t *testing.T, what string, match func(received) bool) received {
	t.Helper()
	deadline := time.After(testTimeout)
	for {
		for _, r := range c.all() {
			if match(r) {
				return r
			}
		}
		select {
		case <-c.notify:
		case <-deadline:
			t.Fatalf("timed out waiting for %s; got %v", what, c.all())
		}
	}
}

// withID matches the response with the given raw id.
func withID(id string) func(received) bool {
	return func(r received) bool {
		var m struct {
			ID     json.RawMessage `json:"id"`
			Method string          `json:"method"`
		}
		return json.Unmarshal([]byte(r.msg), &m) == nil && m.Method == "" && string(m.ID) == id
	}
}

// withMethod matches a notification or request with the given method.
func withMethod(method string) func(received) bool {
	return func(r received) bool {
		var m struct {
			Method string `json:"method"`
		}
		return json.Unmarshal([]byte(r.msg), &m) == nil && m.Method == method
	}
}

func decode(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatalf("decoding %q: %v", s, err)
	}
	return m
}

func waitDone(t *testing.T, c Conn) {
	t.Helper()
	select {
	case <-c.Done():
	case <-time.After(testTimeout):
		t.Fatal("Conn not done")
	}
}

func notDone(t *testing.T, c Conn) {
	t.Helper()
	select {
	case <-c.Done():
		t.Fatalf("Conn finished: %v", c.Err())
	default:
	}
}

// seen is one request a test server got.
type seen struct {
	method string
	header http.Header
	body   string
}

// recorder wraps a handler and records the requests it serves.
type recorder struct {
	mu   sync.Mutex
	reqs []seen
	next http.Handler
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	req.Body = io.NopCloser(strings.NewReader(string(body)))
	r.mu.Lock()
	r.reqs = append(r.reqs, seen{req.Method, req.Header.Clone(), string(body)})
	r.mu.Unlock()
	r.next.ServeHTTP(w, req)
}

func (r *recorder) requests(method string) []seen {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []seen
	for _, s := range r.reqs {
		if s.method == method {
			out = append(out, s)
		}
	}
	return out
}

func (r *recorder) waitFor(t *testing.T, method string, n int) []seen {
	t.Helper()
	deadline := time.Now().Add(testTimeout)
	for time.Now().Before(deadline) {
		if s := r.requests(method); len(s) >= n {
			return s
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %d %s requests", n, method)
	return nil
}

// newMCPServer returns an SDK server with a tool "work" that reports progress and logs
// before it returns.
func newMCPServer() *mcp.Server {
	s := mcp.NewServer(&mcp.Implementation{Name: "sdk-upstream", Version: "1.0.0"}, nil)
	type in struct {
		Label string `json:"label"`
	}
	mcp.AddTool(s, &mcp.Tool{Name: "work", Description: "reports progress, logs, returns"},
		func(ctx context.Context, req *mcp.CallToolRequest, args in) (*mcp.CallToolResult, any, error) {
			if tok := req.Params.GetProgressToken(); tok != nil {
				if err := req.Session.NotifyProgress(ctx, &mcp.ProgressNotificationParams{
					ProgressToken: tok, Progress: 1, Total: 2, Message: "half way",
				}); err != nil {
					return nil, nil, err
				}
			}
			if err := req.Session.Log(ctx, &mcp.LoggingMessageParams{Level: "info", Logger: "work", Data: "working on " + args.Label}); err != nil {
				return nil, nil, err
			}
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "done " + args.Label}}}, nil, nil
		})
	return s
}

const (
	msgInitialize  = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"gatehouse-test","version":"0"}}}`
	msgInitialized = `{"jsonrpc":"2.0","method":"notifications/initialized"}`
	msgSetLevel    = `{"jsonrpc":"2.0","id":"lvl","method":"logging/setLevel","params":{"level":"debug"}}`
	msgToolsList   = `{"jsonrpc":"2.0","id":2,"method":"tools/list"}`
	msgToolsCall   = `{"jsonrpc":"2.0","id":"call-1","method":"tools/call","params":{"name":"work","arguments":{"label":"x"},"_meta":{"progressToken":"tok-7"}}}`
)

func send(t *testing.T, c Conn, msg string) {
	t.Helper()
	if err := c.Send(testCtx(t), []byte(msg)); err != nil {
		t.Fatalf("Send(%s): %v", msg, err)
	}
}

// sdkSession drives a whole MCP session through c against an SDK server, asserting the
// raw messages that come back. related says whether messages carry the request id (POST
// streams) or nil (legacy SSE).
func sdkSession(t *testing.T, c Conn, col *collector, withRelated, withLog bool) {
	rel := func(id string) []byte {
		if withRelated {
			return []byte(id)
		}
		return nil
	}
	checkRelated := func(r received, id string) {
		t.Helper()
		if string(r.related) != string(rel(id)) || (r.related == nil) != (rel(id) == nil) {
			t.Errorf("related of %s = %q, want %q", r.msg, r.related, rel(id))
		}
	}

	send(t, c, msgInitialize)
	r := col.wait(t, "initialize response", withID("1"))
	checkRelated(r, "1")
	res := decode(t, r.msg)["result"].(map[string]any)
	if res["protocolVersion"] != "2025-06-18" {
		t.Fatalf("initialize result: %s", r.msg)
	}
	c.SetProtocolVersion("2025-06-18")
	send(t, c, msgInitialized)

	if withLog {
		send(t, c, msgSetLevel)
		checkRelated(col.wait(t, "setLevel response", withID(`"lvl"`)), `"lvl"`)
	}

	send(t, c, msgToolsList)
	r = col.wait(t, "tools/list response", withID("2"))
	checkRelated(r, "2")
	if !strings.Contains(r.msg, `"name":"work"`) {
		t.Fatalf("tools/list: %s", r.msg)
	}

	send(t, c, msgToolsCall)
	r = col.wait(t, "tools/call response", withID(`"call-1"`))
	checkRelated(r, `"call-1"`)
	if !strings.Contains(r.msg, `done x`) {
		t.Fatalf("tools/call: %s", r.msg)
	}
	p := col.wait(t, "progress", withMethod("notifications/progress"))
	checkRelated(p, `"call-1"`)
	if params := decode(t, p.msg)["params"].(map[string]any); params["progressToken"] != "tok-7" || params["message"] != "half way" {
		t.Fatalf("progress: %s", p.msg)
	}
	if withLog {
		l := col.wait(t, "log message", withMethod("notifications/message"))
		checkRelated(l, `"call-1"`)
		if !strings.Contains(l.msg, "working on x") {
			t.Fatalf("log: %s", l.msg)
		}
	}
	// Notifications of a call arrive before its response.
	var order []string
	for _, m := range col.all() {
		switch {
		case withMethod("notifications/progress")(m):
			order = append(order, "progress")
		case withID(`"call-1"`)(m):
			order = append(order, "response")
		}
	}
	if strings.Join(order, ",") != "progress,response" {
		t.Errorf("order %v", order)
	}
	notDone(t, c)
}

func TestStreamableHTTPWithSDKServer(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts mcp.StreamableHTTPOptions
	}{
		{"stateful", mcp.StreamableHTTPOptions{}},
		{"stateful-json", mcp.StreamableHTTPOptions{JSONResponse: true}},
		{"stateless", mcp.StreamableHTTPOptions{Stateless: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			server := newMCPServer()
			rec := &recorder{next: mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return server }, &tc.opts)}
			ts := httptest.NewServer(rec)
			defer ts.Close()

			d := &StreamableHTTP{Name: "sdk", URL: ts.URL,
				Headers: func(context.Context) (http.Header, error) {
					return http.Header{"Authorization": {"Bearer sekrit"}}, nil
				}}
			col := newCollector()
			c, err := d.Dial(testCtx(t), col.handle)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()

			// A stateless server forgets the log level between requests; JSON responses
			// carry only the response (the SDK drops notifications then).
			withLog := !tc.opts.Stateless && !tc.opts.JSONResponse
			if tc.opts.JSONResponse {
				jsonSession(t, c, col)
			} else {
				sdkSession(t, c, col, true, withLog)
			}

			posts := rec.requests("POST")
			for i, p := range posts {
				if p.header.Get("Authorization") != "Bearer sekrit" ||
					p.header.Get("Content-Type") != "application/json" ||
					p.header.Get("Accept") != "application/json, text/event-stream" {
					t.Errorf("POST %d headers: %v", i, p.header)
				}
				wantVersion, wantSession := "2025-06-18", !tc.opts.Stateless
				if i == 0 {
					wantVersion, wantSession = "", false
				}
				if got := p.header.Get("MCP-Protocol-Version"); got != wantVersion {
					t.Errorf("POST %d (%s): MCP-Protocol-Version %q, want %q", i, p.body, got, wantVersion)
				}
				if got := p.header.Get("Mcp-Session-Id"); (got != "") != wantSession {
					t.Errorf("POST %d: Mcp-Session-Id %q", i, got)
				}
			}

			// The standalone GET stream was tried after initialization.
			gets := rec.waitFor(t, "GET", 1)
			if gets[0].header.Get("Accept") != "text/event-stream" || gets[0].header.Get("MCP-Protocol-Version") != "2025-06-18" {
				t.Errorf("GET headers: %v", gets[0].header)
			}

			if err := c.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			if !errors.Is(c.Err(), ErrClosed) {
				t.Fatalf("Err after Close: %v", c.Err())
			}
			waitDone(t, c)
			dels := rec.requests("DELETE")
			if tc.opts.Stateless {
				if len(dels) != 0 || len(rec.requests("GET")) != 1 {
					t.Errorf("stateless: %d DELETEs, %d GETs (405 must stop the GET stream)", len(dels), len(rec.requests("GET")))
				}
			} else if len(dels) != 1 || dels[0].header.Get("Mcp-Session-Id") == "" ||
				dels[0].header.Get("Mcp-Session-Id") != posts[len(posts)-1].header.Get("Mcp-Session-Id") {
				t.Errorf("DELETEs: %v", dels)
			}
			if err := c.Send(testCtx(t), []byte(msgToolsList)); !errors.Is(err, ErrClosed) {
				t.Errorf("Send after Close: %v", err)
			}
			if err := c.Close(); err != nil {
				t.Errorf("second Close: %v", err)
			}
		})
	}
}

// jsonSession is sdkSession for a server answering with application/json.
func jsonSession(t *testing.T, c Conn, col *collector) {
	send(t, c, msgInitialize)
	if r := col.wait(t, "initialize response", withID("1")); string(r.related) != "1" {
		t.Errorf("related %q", r.related)
	}
	c.SetProtocolVersion("2025-06-18")
	send(t, c, msgInitialized)
	// Without a progress token: in JSON mode the SDK sends progress on the GET stream,
	// which may not be connected yet.
	send(t, c, `{"jsonrpc":"2.0","id":"call-1","method":"tools/call","params":{"name":"work","arguments":{"label":"x"}}}`)
	if r := col.wait(t, "tools/call response", withID(`"call-1"`)); string(r.related) != `"call-1"` || !strings.Contains(r.msg, "done x") {
		t.Errorf("tools/call: %s related %q", r.msg, r.related)
	}
}

// The SDK server pushes server-initiated messages on the standalone GET stream.
func TestStreamableHTTPGETStreamWithSDKServer(t *testing.T) {
	server := newMCPServer()
	sessions := make(chan *mcp.ServerSession, 1)
	server.AddReceivingMiddleware(func(next mcp.MethodHandler) mcp.MethodHandler {
		return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
			if method == "notifications/initialized" {
				if ss, ok := req.GetSession().(*mcp.ServerSession); ok {
					select {
					case sessions <- ss:
					default:
					}
				}
			}
			return next(ctx, method, req)
		}
	})
	rec := &recorder{next: mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return server }, nil)}
	ts := httptest.NewServer(rec)
	defer ts.Close()
	col := newCollector()
	c, err := (&StreamableHTTP{Name: "sdk", URL: ts.URL}).Dial(testCtx(t), col.handle)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	send(t, c, msgInitialize)
	col.wait(t, "initialize response", withID("1"))
	c.SetProtocolVersion("2025-06-18")
	send(t, c, msgInitialized)
	send(t, c, msgSetLevel)
	col.wait(t, "setLevel response", withID(`"lvl"`))
	var ss *mcp.ServerSession
	select {
	case ss = <-sessions:
	case <-time.After(testTimeout):
		t.Fatal("no server session")
	}
	rec.waitFor(t, "GET", 1)
	// The GET may be accepted a moment after the request was recorded; retry until the
	// message arrives.
	deadline := time.Now().Add(testTimeout)
	for {
		// Fails with "stream not connected" until the server has the GET stream.
		ss.Log(context.Background(), &mcp.LoggingMessageParams{Level: "warning", Data: "unprompted"})
		found := false
		for _, r := range col.all() {
			if strings.Contains(r.msg, "unprompted") {
				if r.related != nil {
					t.Errorf("GET stream message with related %q", r.related)
				}
				found = true
			}
		}
		if found {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no message on the GET stream: %v", col.all())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// scripted is a hand-written Streamable HTTP upstream.
func scripted(t *testing.T, h http.HandlerFunc) (*httptest.Server, *recorder) {
	rec := &recorder{next: h}
	ts := httptest.NewServer(rec)
	t.Cleanup(ts.Close)
	return ts, rec
}

func dialHTTP(t *testing.T, d *StreamableHTTP) (Conn, *collector) {
	t.Helper()
	if d.Name == "" {
		d.Name = "up"
	}
	d.backoffBase = time.Millisecond
	col := newCollector()
	c, err := d.Dial(testCtx(t), col.handle)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, col
}

func writeSSE(w http.ResponseWriter, events ...sse.Event) {
	sw := sse.NewWriter(w)
	for _, e := range events {
		sw.WriteEvent(e)
	}
}

func sseHeaders(w http.ResponseWriter) {
	sse.SetHeaders(w.Header())
	w.WriteHeader(http.StatusOK)
	http.NewResponseController(w).Flush()
}

func msgEvent(id, data string) sse.Event {
	return sse.Event{ID: id, HasID: id != "", Name: "message", Data: []byte(data)}
}

func TestStreamableHTTPJSONResponsePreservesBytes(t *testing.T) {
	const reply = `{"jsonrpc":"2.0", "id":7,"result":{"z":1,"a":[true,null]},"x-unknown":{"keep":"me"}}`
	ts, _ := scripted(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		io.WriteString(w, "\n"+reply+"\n")
	})
	c, col := dialHTTP(t, &StreamableHTTP{URL: ts.URL})
	send(t, c, `{"jsonrpc":"2.0","id":7,"method":"x"}`)
	r := col.wait(t, "response", withID("7"))
	if r.msg != reply || string(r.related) != "7" {
		t.Fatalf("got %q related %q", r.msg, r.related)
	}
}

func TestStreamableHTTPSSEResponse(t *testing.T) {
	const (
		note  = `{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":1,"progress":1},"x":[1]}`
		req   = `{"jsonrpc":"2.0","id":"s1","method":"sampling/createMessage","params":{}}`
		reply = `{"jsonrpc":"2.0","id":"abc","result":{},"x-extra":"kept"}`
	)
	ts, _ := scripted(t, func(w http.ResponseWriter, r *http.Request) {
		sseHeaders(w)
		sw := sse.NewWriter(w)
		sw.WriteComment("keep-alive")
		sw.WriteEvent(sse.Event{ID: "p", HasID: true}) // priming
		sw.WriteEvent(sse.Event{Data: []byte(note)})   // unnamed: a message
		sw.WriteEvent(sse.Event{Name: "other", Data: []byte("ignored, not JSON")})
		sw.WriteEvent(msgEvent("2", req))
		// Data split over lines is joined by the reader.
		sw.WriteEvent(msgEvent("3", strings.Replace(reply, ",", ",\n", 1)))
		sw.WriteEvent(msgEvent("4", `{"jsonrpc":"2.0","method":"after/response"}`))
	})
	c, col := dialHTTP(t, &StreamableHTTP{URL: ts.URL})
	send(t, c, `{"jsonrpc":"2.0","id":"abc","method":"tools/call"}`)
	r := col.wait(t, "response", withID(`"abc"`))
	want := strings.Replace(reply, ",", ",\n", 1)
	if r.msg != want || string(r.related) != `"abc"` {
		t.Fatalf("got %q related %q", r.msg, r.related)
	}
	got := col.all()
	if len(got) != 3 || got[0].msg != note || got[1].msg != req || string(got[0].related) != `"abc"` || string(got[1].related) != `"abc"` {
		t.Fatalf("messages: %v", got)
	}
	notDone(t, c)
}

func TestStreamableHTTPStatusErrors(t *testing.T) {
	ts, _ := scripted(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
		io.WriteString(w, "boom:\n\x00 stack "+strings.Repeat("x", 2000))
	})
	c, _ := dialHTTP(t, &StreamableHTTP{Name: "flaky", URL: ts.URL})
	err := c.Send(testCtx(t), []byte(msgToolsList))
	var se *StatusError
	if !errors.As(err, &se) || se.StatusCode != 500 || se.Server != "flaky" || se.Method != "POST" {
		t.Fatalf("err = %#v", err)
	}
	msg := err.Error()
	if !strings.Contains(msg, `"flaky"`) || !strings.Contains(msg, "500") || !strings.Contains(msg, "boom: stack xxx") ||
		len(msg) > 700 || strings.ContainsAny(msg, "\n\x00") {
		t.Fatalf("error message %q", msg)
	}
	// One failed request does not end the connection.
	notDone(t, c)
}

func TestStreamableHTTPUnreachable(t *testing.T) {
	ts := httptest.NewServer(http.NotFoundHandler())
	url := ts.URL + "/mcp?token=sekrit"
	ts.Close()
	c, _ := dialHTTP(t, &StreamableHTTP{Name: "gone", URL: url})
	err := c.Send(testCtx(t), []byte(msgToolsList))
	if err == nil || !strings.Contains(err.Error(), `"gone"`) || strings.Contains(err.Error(), "sekrit") {
		t.Fatalf("err = %v", err)
	}
}

func TestStreamableHTTPInvalidMessages(t *testing.T) {
	for _, tc := range []struct {
		name, contentType, body string
		max                     int
		want                    string
	}{
		{"garbage json", "application/json", "<html>oops</html>", 0, "invalid message"},
		{"json array", "application/json", `[{"jsonrpc":"2.0","id":1,"result":{}}]`, 0, "invalid message"},
		{"empty json", "application/json", "", 0, "invalid message"},
		{"oversized json", "application/json", `{"jsonrpc":"2.0","id":1,"result":"` + strings.Repeat("x", 200) + `"}`, 100, "exceeds 100 bytes"},
		{"garbage event", "text/event-stream", "event: message\ndata: {nope\n\n", 0, "invalid message"},
		{"oversized event", "text/event-stream", "data: " + strings.Repeat("x", 200) + "\n\n", 100, "exceeds 100 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts, _ := scripted(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", tc.contentType)
				io.WriteString(w, tc.body)
			})
			c, col := dialHTTP(t, &StreamableHTTP{Name: "bad", URL: ts.URL, MaxMessage: tc.max})
			if err := c.Send(testCtx(t), []byte(`{"jsonrpc":"2.0","id":1,"method":"m"}`)); err != nil {
				t.Fatal(err)
			}
			waitDone(t, c)
			if err := c.Err(); err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), `"bad"`) {
				t.Fatalf("Err = %v", err)
			}
			if got := col.all(); len(got) != 0 {
				t.Fatalf("delivered %v", got)
			}
			if err := c.Send(testCtx(t), []byte(msgToolsList)); err == nil {
				t.Fatal("Send on a finished Conn succeeded")
			}
		})
	}
}

func TestStreamableHTTPRefusesInvalidSend(t *testing.T) {
	ts, rec := scripted(t, func(w http.ResponseWriter, r *http.Request) {})
	c, _ := dialHTTP(t, &StreamableHTTP{URL: ts.URL})
	for _, m := range []string{"", "nope", "[]", "null", `"x"`} {
		if err := c.Send(testCtx(t), []byte(m)); err == nil {
			t.Errorf("Send(%q) succeeded", m)
		}
	}
	if n := len(rec.requests("POST")); n != 0 {
		t.Fatalf("%d POSTs", n)
	}
}

func TestStreamableHTTPNotificationAccepted(t *testing.T) {
	ts, rec := scripted(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusAccepted)
	})
	c, col := dialHTTP(t, &StreamableHTTP{URL: ts.URL})
	send(t, c, msgInitialized)
	send(t, c, `{"jsonrpc":"2.0","id":"srv-1","result":{}}`) // a response to a server request
	if len(rec.requests("POST")) != 2 || len(col.all()) != 0 {
		t.Fatal("unexpected traffic")
	}
	// A request answered with 202 will never get its response: Send says so.
	if err := c.Send(testCtx(t), []byte(msgToolsList)); err == nil || !strings.Contains(err.Error(), "202") {
		t.Fatalf("err = %v", err)
	}
	notDone(t, c)
}

func TestStreamableHTTPSessionExpiry(t *testing.T) {
	var mu sync.Mutex
	expired := false
	ts, rec := scripted(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case r.Method == http.MethodGet:
			w.WriteHeader(http.StatusMethodNotAllowed)
		case r.Header.Get("Mcp-Session-Id") == "":
			w.Header().Set("Mcp-Session-Id", "sess-1")
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"jsonrpc":"2.0","id":1,"result":{"protocolVersion":"2025-11-25"}}`)
		case expired:
			http.Error(w, "session not found", http.StatusNotFound)
		default:
			w.WriteHeader(http.StatusAccepted)
		}
	})
	c, col := dialHTTP(t, &StreamableHTTP{Name: "exp", URL: ts.URL})
	send(t, c, msgInitialize)
	col.wait(t, "initialize response", withID("1"))
	c.SetProtocolVersion("2025-11-25")
	send(t, c, msgInitialized)
	if h := rec.requests("POST")[1].header; h.Get("Mcp-Session-Id") != "sess-1" || h.Get("Mcp-Protocol-Version") != "2025-11-25" {
		t.Fatalf("headers %v", h)
	}
	mu.Lock()
	expired = true
	mu.Unlock()
	err := c.Send(testCtx(t), []byte(msgToolsList))
	if !errors.Is(err, ErrSessionExpired) {
		t.Fatalf("err = %v", err)
	}
	waitDone(t, c)
	if !errors.Is(c.Err(), ErrSessionExpired) || !strings.Contains(c.Err().Error(), `"exp"`) {
		t.Fatalf("Err = %v", c.Err())
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if n := len(rec.requests("DELETE")); n != 0 {
		t.Fatalf("%d DELETEs for an expired session", n)
	}
	if !errors.Is(c.Err(), ErrSessionExpired) {
		t.Fatalf("Close replaced the cause: %v", c.Err())
	}
}

// 404 before any session was established is an ordinary error.
func TestStreamableHTTP404WithoutSession(t *testing.T) {
	ts, _ := scripted(t, func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) })
	c, _ := dialHTTP(t, &StreamableHTTP{URL: ts.URL})
	var se *StatusError
	if err := c.Send(testCtx(t), []byte(msgInitialize)); !errors.As(err, &se) || se.StatusCode != 404 {
		t.Fatalf("err = %v", err)
	}
	notDone(t, c)
}

func TestStreamableHTTPCloseSendsDELETE(t *testing.T) {
	for _, status := range []int{http.StatusOK, http.StatusMethodNotAllowed, http.StatusInternalServerError} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			ts, rec := scripted(t, func(w http.ResponseWriter, r *http.Request) {
				switch r.Method {
				case http.MethodDelete:
					w.WriteHeader(status)
				case http.MethodPost:
					w.Header().Set("Mcp-Session-Id", "s-42")
					w.Header().Set("Content-Type", "application/json")
					io.WriteString(w, `{"jsonrpc":"2.0","id":1,"result":{}}`)
				}
			})
			c, col := dialHTTP(t, &StreamableHTTP{URL: ts.URL})
			send(t, c, msgInitialize)
			col.wait(t, "initialize response", withID("1"))
			err := c.Close()
			if status == 500 {
				var se *StatusError
				if !errors.As(err, &se) || se.Method != "DELETE" {
					t.Fatalf("Close = %v", err)
				}
			} else if err != nil {
				t.Fatalf("Close = %v", err)
			}
			dels := rec.requests("DELETE")
			if len(dels) != 1 || dels[0].header.Get("Mcp-Session-Id") != "s-42" {
				t.Fatalf("DELETEs %v", dels)
			}
			waitDone(t, c)
		})
	}
}

// A response stream cut mid-way is resumed with GET and Last-Event-ID.
func TestStreamableHTTPResumesCutStream(t *testing.T) {
	const (
		progress = `{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":"t","progress":1}}`
		reply    = `{"jsonrpc":"2.0","id":9,"result":{"ok":true}}`
	)
	ts, rec := scripted(t, func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodPost:
			sseHeaders(w)
			writeSSE(w, sse.Event{ID: "e1", HasID: true, Retry: 5 * time.Millisecond, HasRetry: true}, msgEvent("e2", progress))
			io.WriteString(w, "id: e3\ndata: {\"jsonrpc\":\"2.0\",\"id\":9,\"res") // cut inside an event
			http.NewResponseController(w).Flush()
			panic(http.ErrAbortHandler) // drop the connection
		case r.Method == http.MethodGet && r.Header.Get("Last-Event-ID") == "e2":
			sseHeaders(w)
			writeSSE(w, msgEvent("e3", reply))
		default:
			w.WriteHeader(http.StatusMethodNotAllowed)
		}
	})
	c, col := dialHTTP(t, &StreamableHTTP{URL: ts.URL})
	send(t, c, `{"jsonrpc":"2.0","id":9,"method":"tools/call"}`)
	r := col.wait(t, "response", withID("9"))
	if r.msg != reply || string(r.related) != "9" {
		t.Fatalf("got %q related %q", r.msg, r.related)
	}
	got := col.all()
	if len(got) != 2 || got[0].msg != progress || string(got[0].related) != "9" {
		t.Fatalf("messages %v", got)
	}
	gets := rec.requests("GET")
	if len(gets) != 1 || gets[0].header.Get("Accept") != "text/event-stream" {
		t.Fatalf("GETs %v", gets)
	}
	notDone(t, c)
}

func TestStreamableHTTPLostStream(t *testing.T) {
	for _, tc := range []struct {
		name   string
		withID bool
		want   string
	}{
		{"no event ids", false, "cannot be resumed"},
		{"resumption keeps failing", true, "gave up resuming"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts, rec := scripted(t, func(w http.ResponseWriter, r *http.Request) {
				sseHeaders(w)
				if r.Method == http.MethodPost {
					ev := msgEvent("", `{"jsonrpc":"2.0","method":"notifications/message","params":{}}`)
					if tc.withID {
						ev.ID, ev.HasID = "1", true
					}
					writeSSE(w, ev)
				}
				// GETs: an empty stream that ends at once.
			})
			c, col := dialHTTP(t, &StreamableHTTP{Name: "cut", URL: ts.URL})
			send(t, c, `{"jsonrpc":"2.0","id":"q","method":"tools/call"}`)
			r := col.wait(t, "synthesized error", withID(`"q"`))
			m := decode(t, r.msg)
			e, _ := m["error"].(map[string]any)
			if string(r.related) != `"q"` || e == nil || e["code"] != float64(-32000) ||
				!strings.Contains(e["message"].(string), tc.want) || !strings.Contains(e["message"].(string), `"cut"`) {
				t.Fatalf("got %s related %q", r.msg, r.related)
			}
			gets := rec.requests("GET")
			if tc.withID && len(gets) != maxResumeAttempts {
				t.Fatalf("%d GETs", len(gets))
			}
			if !tc.withID && len(gets) != 0 {
				t.Fatalf("%d GETs", len(gets))
			}
			for _, g := range gets {
				if g.header.Get("Last-Event-ID") != "1" {
					t.Fatalf("GET headers %v", g.header)
				}
			}
			notDone(t, c)
		})
	}
}

// ctx bounds Send, not the response stream it starts.
func TestStreamableHTTPSendContext(t *testing.T) {
	release := make(chan struct{})
	ts, _ := scripted(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Test") == "hang" {
			<-r.Context().Done() // never answers
			return
		}
		sseHeaders(w)
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
		writeSSE(w, msgEvent("", `{"jsonrpc":"2.0","id":1,"result":{}}`))
	})
	hang := false
	var mu sync.Mutex
	c, col := dialHTTP(t, &StreamableHTTP{URL: ts.URL, Headers: func(context.Context) (http.Header, error) {
		mu.Lock()
		defer mu.Unlock()
		if hang {
			return http.Header{"X-Test": {"hang"}}, nil
		}
		return nil, nil
	}})
	// Send reads a request's response in the caller's goroutine: it returns once the
	// response was delivered.
	ctx, cancel := context.WithCancel(context.Background())
	sent := make(chan error, 1)
	go func() { sent <- c.Send(ctx, []byte(`{"jsonrpc":"2.0","id":1,"method":"slow"}`)) }()
	time.Sleep(20 * time.Millisecond)
	close(release)
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
	col.wait(t, "response delivered before Send returned", withID("1"))
	cancel()

	// A caller that gives up while the response stream is open gets Send back promptly.
	ctx3, cancel3 := context.WithCancel(context.Background())
	mu.Lock()
	hang = true
	mu.Unlock()
	go func() { time.Sleep(30 * time.Millisecond); cancel3() }()
	if err := c.Send(ctx3, []byte(`{"jsonrpc":"2.0","id":3,"method":"slow"}`)); err == nil {
		t.Fatal("Send returned nil for a request whose caller gave up before the headers")
	}
	mu.Lock()
	hang = false
	mu.Unlock()

	// A Send whose ctx ends before the headers arrive returns promptly.
	mu.Lock()
	hang = true
	mu.Unlock()
	ctx, cancel = context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := c.Send(ctx, []byte(`{"jsonrpc":"2.0","id":2,"method":"slow"}`)); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
	notDone(t, c)
}

// Close cancels streams in progress and waits; nothing is delivered afterwards.
func TestStreamableHTTPCloseStopsStreams(t *testing.T) {
	started := make(chan struct{}, 1)
	ts, _ := scripted(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.WriteHeader(http.StatusMethodNotAllowed)
			return
		}
		sseHeaders(w)
		started <- struct{}{}
		<-r.Context().Done()
	})
	c, col := dialHTTP(t, &StreamableHTTP{URL: ts.URL})
	sent := make(chan error, 1)
	// Send reads the response stream itself, so it is still running when Close comes.
	go func() { sent <- c.Send(context.Background(), []byte(`{"jsonrpc":"2.0","id":1,"method":"forever"}`)) }()
	<-started
	closed := make(chan error, 1)
	go func() { closed <- c.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(testTimeout):
		t.Fatal("Close hangs")
	}
	select {
	case <-sent:
	case <-time.After(testTimeout):
		t.Fatal("Send still reading after Close returned")
	}
	if len(col.all()) != 0 {
		t.Fatal("delivered after Close")
	}
}

// The standalone GET stream reconnects with Last-Event-ID after the server ends it.
func TestStreamableHTTPGETStreamReconnects(t *testing.T) {
	var mu sync.Mutex
	gets := 0
	ts, rec := scripted(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			w.WriteHeader(http.StatusAccepted)
			return
		}
		mu.Lock()
		gets++
		n := gets
		mu.Unlock()
		sseHeaders(w)
		switch n {
		case 1:
			writeSSE(w, sse.Event{Retry: time.Millisecond, HasRetry: true, ID: "g1", HasID: true,
				Data: []byte(`{"jsonrpc":"2.0","method":"notifications/tools/list_changed"}`)})
		case 2:
			writeSSE(w, msgEvent("g2", `{"jsonrpc":"2.0","id":"ping-1","method":"ping"}`))
			<-r.Context().Done()
		}
	})
	c, col := dialHTTP(t, &StreamableHTTP{URL: ts.URL})
	c.SetProtocolVersion("2025-06-18")
	c.SetProtocolVersion("2025-06-18") // only one GET stream
	r := col.wait(t, "ping on the second GET", withMethod("ping"))
	if r.related != nil {
		t.Fatalf("related %q", r.related)
	}
	got := col.all()
	if len(got) != 2 || got[0].related != nil || !strings.Contains(got[0].msg, "list_changed") {
		t.Fatalf("messages %v", got)
	}
	g := rec.requests("GET")
	if len(g) != 2 || g[0].header.Get("Last-Event-ID") != "" || g[1].header.Get("Last-Event-ID") != "g1" {
		t.Fatalf("GETs %v", g)
	}
	// A Handler may Send: answer the ping.
	send(t, c, `{"jsonrpc":"2.0","id":"ping-1","result":{}}`)
}

func TestStreamableHTTPDialValidates(t *testing.T) {
	for _, u := range []string{"", "ftp://x/y", "http://", "::"} {
		if _, err := (&StreamableHTTP{Name: "v", URL: u}).Dial(context.Background(), func([]byte, []byte) {}); err == nil {
			t.Errorf("Dial(%q) succeeded", u)
		}
	}
}

func TestSameOrigin(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"http://h/x", "http://H:80/y", true},
		{"https://h/x", "https://h:443/", true},
		{"http://h/x", "https://h/x", false},
		{"http://h:8080/x", "http://h/x", false},
		{"http://h/x", "http://evil/x", false},
	} {
		a, _ := parseHTTPURL(tc.a)
		b, _ := parseHTTPURL(tc.b)
		if got := sameOrigin(a, b); got != tc.want {
			t.Errorf("sameOrigin(%s, %s) = %v", tc.a, tc.b, got)
		}
	}
}

func TestStreamableHTTPHeadersError(t *testing.T) {
	ts, rec := scripted(t, func(w http.ResponseWriter, r *http.Request) {})
	c, _ := dialHTTP(t, &StreamableHTTP{Name: "h", URL: ts.URL, Headers: func(context.Context) (http.Header, error) {
		return nil, errors.New("vault sealed")
	}})
	if err := c.Send(testCtx(t), []byte(msgToolsList)); err == nil || !strings.Contains(err.Error(), "vault sealed") {
		t.Fatalf("err = %v", err)
	}
	if len(rec.requests("POST")) != 0 {
		t.Fatal("sent without headers")
	}
	notDone(t, c)
}

// The default client does not follow a redirect to another origin (which would carry the
// message, and possibly credentials, elsewhere).
func TestStreamableHTTPRefusesCrossOriginRedirect(t *testing.T) {
	other, otherRec := scripted(t, func(w http.ResponseWriter, r *http.Request) {})
	ts, _ := scripted(t, func(w http.ResponseWriter, r *http.Request) {
		// Same host, another port: another origin.
		http.Redirect(w, r, other.URL+"/mcp", http.StatusTemporaryRedirect)
	})
	c, _ := dialHTTP(t, &StreamableHTTP{URL: ts.URL})
	if err := c.Send(testCtx(t), []byte(msgToolsList)); err == nil || !strings.Contains(err.Error(), "another origin") {
		t.Fatalf("err = %v", err)
	}
	if len(otherRec.requests("POST")) != 0 {
		t.Fatal("followed the redirect")
	}
}
