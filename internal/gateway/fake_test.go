package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"gatehouse/internal/config"
	"gatehouse/internal/policy"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gatehouse/internal/jsonrpc"
	"gatehouse/internal/upstream"
)

// fakeServer is a scripted MCP server in memory. It is an upstream.Dialer; every Dial opens a
// fakeConn that answers like a small MCP server would.
//
// Tools it understands (tools/call):
//
//	echo     result {"content":[…],"arguments":<the raw arguments>}
//	slow     waits until it is cancelled (notifications/cancelled with its id) or the conn dies
//	progress sends notifications/progress with the request's progressToken, then answers
//	sample   sends sampling/createMessage to the client and returns the client's answer
//	gate     waits for the server's gate channel to be closed, then echoes
type fakeServer struct {
	name            string
	protocolVersion string // "" means the version the client asked for
	caps            string // raw capabilities JSON; "" means tools+prompts+resources
	tools           []string
	prompts         []string
	resources       []string          // URIs
	descriptions    map[string]string // tool descriptions, by name
	pageSize        int               // 0: everything on one page
	// related makes messages sent during a call carry the call's id as "related" (like
	// Streamable HTTP); otherwise related is nil (like stdio).
	related bool

	gate chan struct{} // closed to release "gate" calls
	// dialGate, if set, holds every Dial until it is closed (a slow-starting server).
	dialGate chan struct{}

	// garbageDials: that many Dials deliver an invalid message to the handler before they
	// return (a child that prints garbage as it starts, read before Dial is done).
	garbageDials atomic.Int32

	mu      sync.Mutex
	conns   []*fakeConn
	dialErr error
	dials   atomic.Int32
	connCh  chan *fakeConn // each new conn, if set
}

func newFake(name string, tools ...string) *fakeServer {
	return &fakeServer{name: name, tools: tools, gate: make(chan struct{})}
}

func (f *fakeServer) setDialErr(err error) {
	f.mu.Lock()
	f.dialErr = err
	f.mu.Unlock()
}

func (f *fakeServer) Dial(ctx context.Context, h upstream.Handler) (upstream.Conn, error) {
	f.dials.Add(1)
	if f.dialGate != nil {
		select {
		case <-f.dialGate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	f.mu.Lock()
	err := f.dialErr
	f.mu.Unlock()
	if err != nil {
		return nil, err
	}
	c := &fakeConn{
		srv:     f,
		h:       h,
		done:    make(chan struct{}),
		waiters: map[string]chan *jsonrpc.Message{},
		notify:  make(chan struct{}, 1),
	}
	f.mu.Lock()
	f.conns = append(f.conns, c)
	ch := f.connCh
	f.mu.Unlock()
	if ch != nil {
		ch <- c
	}
	if f.garbageDials.Add(-1) >= 0 {
		h([]byte("this is not JSON-RPC"), nil)
	}
	return c, nil
}

// conn returns the i-th conn dialled (waiting for it up to a few seconds).
func (f *fakeServer) conn(t *testing.T, i int) *fakeConn {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		f.mu.Lock()
		if i < len(f.conns) {
			c := f.conns[i]
			f.mu.Unlock()
			return c
		}
		f.mu.Unlock()
		if time.Now().After(deadline) {
			t.Fatalf("fake %s: conn %d was never dialled", f.name, i)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func (f *fakeServer) lastConn(t *testing.T) *fakeConn {
	t.Helper()
	f.mu.Lock()
	n := len(f.conns)
	f.mu.Unlock()
	if n == 0 {
		return f.conn(t, 0)
	}
	return f.conn(t, n-1)
}

// fakeConn is one connection to a fakeServer.
type fakeConn struct {
	srv *fakeServer
	h   upstream.Handler
	hmu sync.Mutex // a Conn never calls its Handler concurrently with itself

	mu       sync.Mutex
	received [][]byte
	waiters  map[string]chan *jsonrpc.Message // responses the fake waits for, by raw id
	cancels  []string                         // requestIds of notifications/cancelled
	closed   bool
	err      error
	nextOut  int
	done     chan struct{}
	notify   chan struct{}
	wg       sync.WaitGroup
}

var errFakeClosed = errors.New("fake: connection closed")

func (c *fakeConn) Send(ctx context.Context, msg []byte) error {
	select {
	case <-c.done:
		return c.Err()
	default:
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	m, err := jsonrpc.Parse(msg)
	if err != nil {
		return fmt.Errorf("fake: gateway sent an invalid message %q: %w", msg, err)
	}
	c.mu.Lock()
	c.received = append(c.received, bytes.Clone(msg))
	c.mu.Unlock()
	select {
	case c.notify <- struct{}{}:
	default:
	}
	switch m.Kind {
	case jsonrpc.KindRequest:
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			c.serve(m)
		}()
	case jsonrpc.KindNotification:
		if m.Method == "notifications/cancelled" {
			id, _ := jsonrpc.Member(m.Params, "requestId")
			c.mu.Lock()
			c.cancels = append(c.cancels, string(id))
			if w := c.waiters["cancel:"+string(id)]; w != nil {
				delete(c.waiters, "cancel:"+string(id))
				close(w)
			}
			c.mu.Unlock()
		}
	case jsonrpc.KindResponse:
		c.mu.Lock()
		w := c.waiters[string(m.ID)]
		delete(c.waiters, string(m.ID))
		c.mu.Unlock()
		if w != nil {
			w <- m
		}
	}
	return nil
}

func (c *fakeConn) SetProtocolVersion(string) {}
func (c *fakeConn) Done() <-chan struct{}     { return c.done }

func (c *fakeConn) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// kill ends the connection as if the server died.
func (c *fakeConn) kill(err error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	c.err = err
	c.mu.Unlock()
	close(c.done)
}

func (c *fakeConn) Close() error {
	c.kill(errFakeClosed)
	return nil
}

// emit sends one message to the gateway; related is the raw id of the call it belongs to.
func (c *fakeConn) emit(msg []byte, related []byte) {
	select {
	case <-c.done:
		return
	default:
	}
	c.hmu.Lock()
	defer c.hmu.Unlock()
	c.h(msg, related)
}

// Received returns copies of every message the gateway sent.
func (c *fakeConn) Received() [][]byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([][]byte, len(c.received))
	copy(out, c.received)
	return out
}

// waitFor waits until a received message satisfies pred and returns it.
func (c *fakeConn) waitFor(t *testing.T, what string, pred func(*jsonrpc.Message) bool) *jsonrpc.Message {
	t.Helper()
	deadline := time.NewTimer(5 * time.Second)
	defer deadline.Stop()
	for {
		for _, raw := range c.Received() {
			if m, err := jsonrpc.Parse(raw); err == nil && pred(m) {
				return m
			}
		}
		select {
		case <-c.notify:
		case <-time.After(5 * time.Millisecond):
		case <-deadline.C:
			t.Fatalf("fake %s: never received %s; got:\n%s", c.srv.name, what, bytes.Join(c.Received(), []byte("\n")))
			return nil
		}
	}
}

// isCall matches a tools/call of the upstream-local tool name.
func isCall(name string) func(*jsonrpc.Message) bool {
	return func(m *jsonrpc.Message) bool {
		if m.Kind != jsonrpc.KindRequest || m.Method != "tools/call" {
			return false
		}
		n, _ := jsonrpc.StringMember(m.Params, "name")
		return n == name
	}
}

func (c *fakeConn) reply(req *jsonrpc.Message, result string) {
	related := []byte(nil)
	if c.srv.related {
		related = req.ID
	}
	c.emit(jsonrpc.Response(req.ID, []byte(result)), related)
}

func (c *fakeConn) replyErr(req *jsonrpc.Message, code int, msg string) {
	c.emit(jsonrpc.ErrorResponse(req.ID, code, msg, nil), nil)
}

func (c *fakeConn) serve(m *jsonrpc.Message) {
	f := c.srv
	switch m.Method {
	case "initialize":
		v := f.protocolVersion
		if v == "" {
			v, _ = jsonrpc.StringMember(m.Params, "protocolVersion")
		}
		caps := f.caps
		if caps == "" {
			caps = `{"tools":{"listChanged":true},"prompts":{},"resources":{"subscribe":true}}`
		}
		c.reply(m, fmt.Sprintf(`{"protocolVersion":%q,"capabilities":%s,"serverInfo":{"name":%q,"version":"1"}}`, v, caps, f.name))
	case "ping":
		c.reply(m, `{}`)
	case "tools/list":
		c.list(m, "tools", f.tools, func(n string) string {
			if d, ok := f.descriptions[n]; ok {
				return fmt.Sprintf(`{"name":%q,"description":%q,"inputSchema":{"type":"object"}}`, n, d)
			}
			return fmt.Sprintf(`{"name":%q,"inputSchema":{"type":"object"},"x-extra":{"k":1}}`, n)
		})
	case "prompts/list":
		c.list(m, "prompts", f.prompts, func(n string) string { return fmt.Sprintf(`{"name":%q}`, n) })
	case "resources/list":
		c.list(m, "resources", f.resources, func(n string) string { return fmt.Sprintf(`{"uri":%q,"name":%q}`, n, n) })
	case "resources/templates/list":
		c.list(m, "resourceTemplates", nil, nil)
	case "tools/call":
		c.call(m)
	default:
		// Anything else (methods allowed through allow_methods): echo what arrived.
		c.reply(m, fmt.Sprintf(`{"method":%q,"server":%q,"params":%s}`, m.Method, f.name, orNull(m.Params)))
	}
}

func orNull(b []byte) []byte {
	if b == nil {
		return []byte("null")
	}
	return b
}

// list answers a list request with pages of pageSize items and cursors "<server>:<offset>".
func (c *fakeConn) list(m *jsonrpc.Message, key string, names []string, item func(string) string) {
	f := c.srv
	start := 0
	if cur, ok := jsonrpc.StringMember(m.Params, "cursor"); ok {
		rest, ok := strings.CutPrefix(cur, f.name+":")
		n, err := strconv.Atoi(rest)
		if !ok || err != nil || n < 0 || n > len(names) {
			c.replyErr(m, jsonrpc.CodeInvalidParams, "fake: bad cursor "+cur)
			return
		}
		start = n
	}
	end := len(names)
	if f.pageSize > 0 && start+f.pageSize < end {
		end = start + f.pageSize
	}
	var items []string
	for _, n := range names[start:end] {
		items = append(items, item(n))
	}
	res := fmt.Sprintf(`{%q:[%s]`, key, strings.Join(items, ","))
	if end < len(names) {
		res += fmt.Sprintf(`,"nextCursor":"%s:%d"`, f.name, end)
	}
	c.reply(m, res+"}")
}

func (c *fakeConn) call(m *jsonrpc.Message) {
	name, _ := jsonrpc.StringMember(m.Params, "name")
	args, ok := jsonrpc.Member(m.Params, "arguments")
	if !ok {
		args = []byte("null")
	}
	echo := func() {
		c.reply(m, fmt.Sprintf(`{"content":[{"type":"text","text":"%s from %s"}],"arguments":%s}`, name, c.srv.name, args))
	}
	switch name {
	case "fail": // a JSON-RPC error whose message is the "why" argument
		why, _ := jsonrpc.StringMember(args, "why")
		c.replyErr(m, -32000, why)
	case "echo", "x", "y", "z":
		echo()
	case "gate":
		select {
		case <-c.srv.gate:
			echo()
		case <-c.done:
		}
	case "slow":
		w := make(chan *jsonrpc.Message)
		c.mu.Lock()
		c.waiters["cancel:"+string(m.ID)] = w
		c.mu.Unlock()
		select {
		case <-w: // cancelled: no response, as the spec says
		case <-c.done:
		}
	case "progress":
		tok, ok := jsonrpc.Path(m.Params, "_meta", "progressToken")
		if ok {
			related := []byte(nil)
			if c.srv.related {
				related = m.ID
			}
			params := fmt.Sprintf(`{"progressToken":%s,"progress":1,"total":2,"message":"half"}`, tok)
			c.emit(jsonrpc.Notification("notifications/progress", []byte(params)), related)
		}
		select {
		case <-c.srv.gate:
		case <-c.done:
			return
		}
		echo()
	case "sample", "sample_gated":
		if name == "sample_gated" {
			select {
			case <-c.srv.gate:
			case <-c.done:
				return
			}
		}
		c.mu.Lock()
		c.nextOut++
		id := fmt.Sprintf(`"srv-%s-%d"`, c.srv.name, c.nextOut)
		w := make(chan *jsonrpc.Message, 1)
		c.waiters[id] = w
		c.mu.Unlock()
		related := []byte(nil)
		if c.srv.related {
			related = m.ID
		}
		c.emit(jsonrpc.Request([]byte(id), "sampling/createMessage", []byte(`{"messages":[{"role":"user","content":{"type":"text","text":"hi"}}],"maxTokens":5}`)), related)
		select {
		case r := <-w:
			if r.Error != nil {
				c.reply(m, fmt.Sprintf(`{"content":[],"isError":true,"clientError":%s}`, r.Error))
				return
			}
			c.reply(m, fmt.Sprintf(`{"content":[],"sampled":%s}`, r.Result))
		case <-c.done:
		}
	default:
		c.replyErr(m, jsonrpc.CodeInvalidParams, "fake: unknown tool "+name)
	}
}

// recStream is a Stream that records what it is sent.
type recStream struct {
	mu     sync.Mutex
	msgs   [][]byte
	ch     chan struct{}
	closed bool
}

func newRecStream() *recStream { return &recStream{ch: make(chan struct{}, 1)} }

func (r *recStream) Send(msg []byte) error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return errors.New("recStream closed")
	}
	r.msgs = append(r.msgs, bytes.Clone(msg))
	r.mu.Unlock()
	select {
	case r.ch <- struct{}{}:
	default:
	}
	return nil
}

func (r *recStream) all() [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([][]byte, len(r.msgs))
	copy(out, r.msgs)
	return out
}

// waitFor waits for a message with the given method.
func (r *recStream) waitFor(t *testing.T, method string) *jsonrpc.Message {
	t.Helper()
	deadline := time.NewTimer(5 * time.Second)
	defer deadline.Stop()
	for {
		for _, raw := range r.all() {
			if m, err := jsonrpc.Parse(raw); err == nil && m.Method == method {
				return m
			}
		}
		select {
		case <-r.ch:
		case <-time.After(5 * time.Millisecond):
		case <-deadline.C:
			t.Fatalf("stream never got %s; got:\n%s", method, bytes.Join(r.all(), []byte("\n")))
			return nil
		}
	}
}

// ---- gateway helpers ----

type gwOpt func(*Options)

func newGateway(t *testing.T, specs []UpstreamSpec, opts ...gwOpt) *Gateway {
	t.Helper()
	o := Options{Name: "gh-test", Version: "0", Separator: "__", Upstreams: specs, Policy: allowAllPolicy(t)}
	for _, fn := range opts {
		fn(&o)
	}
	g, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	g.Start()
	t.Cleanup(func() {
		done := make(chan struct{})
		go func() { g.Close(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("gateway Close did not return")
		}
	})
	return g
}

// shared returns a spec with a shared leg to f.
func shared(f *fakeServer) UpstreamSpec {
	return UpstreamSpec{Name: f.name, Dialer: f, Shared: true, MinBackoff: 5 * time.Millisecond, MaxBackoff: 20 * time.Millisecond}
}

// perSession returns a spec with per-session legs to f.
func perSession(f *fakeServer) UpstreamSpec {
	return UpstreamSpec{Name: f.name, Dialer: f, MinBackoff: 5 * time.Millisecond, MaxBackoff: 20 * time.Millisecond}
}

// sampleRoundTrip calls the fake's "a__sample" tool in s, answers the sampling request it
// makes with answer(request), and returns the call's response.
func sampleRoundTrip(t *testing.T, s *Session, answer func(req *jsonrpc.Message) []byte) *jsonrpc.Message {
	t.Helper()
	st := newRecStream()
	done := make(chan *jsonrpc.Message, 1)
	go func() {
		m, _ := jsonrpc.Parse(jsonrpc.Request([]byte(`1`), "tools/call", []byte(`{"name":"a__sample"}`)))
		r, _ := jsonrpc.Parse(s.Handle(testCtx(t), m, st))
		done <- r
	}()
	req := st.waitFor(t, "sampling/createMessage")
	s.Handle(testCtx(t), parse(t, answer(req)), nil)
	return <-done
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func parse(t *testing.T, b []byte) *jsonrpc.Message {
	t.Helper()
	if b == nil {
		t.Fatal("no response (nil)")
	}
	m, err := jsonrpc.Parse(b)
	if err != nil {
		t.Fatalf("invalid message %q: %v", b, err)
	}
	return m
}

// request sends one request through the session and returns the parsed response.
func request(t *testing.T, s *Session, st Stream, id, method, params string) *jsonrpc.Message {
	t.Helper()
	raw := jsonrpc.Request([]byte(id), method, []byte(params))
	if params == "" {
		raw = jsonrpc.Request([]byte(id), method, nil)
	}
	m := parse(t, raw)
	return parse(t, s.Handle(testCtx(t), m, st))
}

const clientInitParams = `{"protocolVersion":"2025-11-25","capabilities":{"sampling":{},"roots":{"listChanged":true}},"clientInfo":{"name":"test","version":"1"}}`

// initSession opens and initializes a session with the given initialize params.
func initSession(t *testing.T, g *Gateway, params string) *Session {
	t.Helper()
	s := g.NewSession("test", nil)
	t.Cleanup(s.Close)
	if params == "" {
		params = clientInitParams
	}
	r := request(t, s, nil, `"init"`, "initialize", params)
	if r.Error != nil {
		t.Fatalf("initialize failed: %s", r.Raw)
	}
	s.Handle(testCtx(t), parse(t, jsonrpc.Notification("notifications/initialized", nil)), nil)
	return s
}

// errCode returns the error code and message of a response (0 if it is a success).
func errCode(t *testing.T, m *jsonrpc.Message) (int, string) {
	t.Helper()
	if m.Error == nil {
		return 0, ""
	}
	e, err := jsonrpc.DecodeError(m.Error)
	if err != nil {
		t.Fatalf("bad error object %s", m.Error)
	}
	return e.Code, e.Message
}

func mustOK(t *testing.T, m *jsonrpc.Message) {
	t.Helper()
	if m.Error != nil || m.Kind != jsonrpc.KindResponse {
		t.Fatalf("want success, got %s", m.Raw)
	}
}

// names returns the "name" of every item in result[key].
func names(t *testing.T, result []byte, key string) []string {
	t.Helper()
	var r map[string]json.RawMessage
	if err := json.Unmarshal(result, &r); err != nil {
		t.Fatalf("bad result %s: %v", result, err)
	}
	var items []map[string]any
	if err := json.Unmarshal(r[key], &items); err != nil {
		t.Fatalf("bad items in %s: %v", result, err)
	}
	out := []string{}
	for _, it := range items {
		n, _ := it["name"].(string)
		out = append(out, n)
	}
	return out
}

// allowAllPolicy lets every caller use everything: these tests are about routing, not policy.
func allowAllPolicy(t testing.TB) *policy.Policy {
	t.Helper()
	p, err := policy.Compile(&config.Policy{Rules: []config.Rule{{Name: "test-allow-all", Effect: config.EffectAllow,
		Tools: []string{"*"}, Prompts: []string{"*"}, Resources: []string{"*"}}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
