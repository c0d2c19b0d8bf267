package transport

import (
	"context"
	"errors"
	"fmt"
	"gatehouse/internal/config"
	"gatehouse/internal/policy"
	"sync"
	"testing"
	"time"

	"gatehouse/internal/gateway"
	"gatehouse/internal/jsonrpc"
	"gatehouse/internal/upstream"
)

// fakeUpstream is a minimal scripted MCP server in memory (an upstream.Dialer). Tools:
// "echo" answers with its arguments; "progress" sends notifications/progress for the
// request's progressToken and answers once release is closed.
type fakeUpstream struct {
	name    string
	release chan struct{}

	mu    sync.Mutex
	conns []*fakeUpConn
}

func newFakeUpstream(name string) *fakeUpstream {
	return &fakeUpstream{name: name, release: make(chan struct{})}
}

func (f *fakeUpstream) Dial(ctx context.Context, h upstream.Handler) (upstream.Conn, error) {
	c := &fakeUpConn{f: f, h: h, done: make(chan struct{})}
	f.mu.Lock()
	f.conns = append(f.conns, c)
	f.mu.Unlock()
	return c, nil
}

// conn waits for the first connection.
func (f *fakeUpstream) conn(t *testing.T) *fakeUpConn {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		f.mu.Lock()
		if len(f.conns) > 0 {
			c := f.conns[0]
			f.mu.Unlock()
			return c
		}
		f.mu.Unlock()
		time.Sleep(2 * time.Millisecond)
	}
	t.Fatal("upstream never dialled")
	return nil
}

type fakeUpConn struct {
	f    *fakeUpstream
	h    upstream.Handler
	hmu  sync.Mutex
	once sync.Once
	done chan struct{}
}

func (c *fakeUpConn) emit(b []byte) {
	select {
	case <-c.done:
		return
	default:
	}
	c.hmu.Lock()
	defer c.hmu.Unlock()
	c.h(b, nil)
}

func (c *fakeUpConn) Send(ctx context.Context, msg []byte) error {
	select {
	case <-c.done:
		return errors.New("fake: closed")
	default:
	}
	m, err := jsonrpc.Parse(msg)
	if err != nil {
		return err
	}
	if m.Kind == jsonrpc.KindRequest {
		go c.serve(m)
	}
	return nil
}

func (c *fakeUpConn) serve(m *jsonrpc.Message) {
	switch m.Method {
	case "initialize":
		c.emit(jsonrpc.Response(m.ID, []byte(`{"protocolVersion":"2025-11-25","capabilities":{"tools":{"listChanged":true}},"serverInfo":{"name":"fake","version":"1"}}`)))
	case "tools/list":
		c.emit(jsonrpc.Response(m.ID, []byte(`{"tools":[{"name":"echo","inputSchema":{"type":"object"}},{"name":"progress","inputSchema":{"type":"object"}}]}`)))
	case "tools/call":
		name, _ := jsonrpc.StringMember(m.Params, "name")
		args, ok := jsonrpc.Member(m.Params, "arguments")
		if !ok {
			args = []byte("null")
		}
		if name == "progress" {
			tok, _ := jsonrpc.Path(m.Params, "_meta", "progressToken")
			if tok != nil {
				c.emit(jsonrpc.Notification("notifications/progress", fmt.Appendf(nil, `{"progressToken":%s,"progress":1,"total":2}`, tok)))
			}
			select {
			case <-c.f.release:
			case <-c.done:
				return
			}
		}
		c.emit(jsonrpc.Response(m.ID, fmt.Appendf(nil, `{"content":[{"type":"text","text":"ok"}],"arguments":%s}`, args)))
	default:
		c.emit(jsonrpc.ErrorResponse(m.ID, jsonrpc.CodeMethodNotFound, "fake: no "+m.Method, nil))
	}
}

func (c *fakeUpConn) SetProtocolVersion(string) {}
func (c *fakeUpConn) Done() <-chan struct{}     { return c.done }
func (c *fakeUpConn) Err() error {
	select {
	case <-c.done:
		return errors.New("fake: closed")
	default:
		return nil
	}
}
func (c *fakeUpConn) Close() error {
	c.once.Do(func() { close(c.done) })
	return nil
}

// newTestGateway returns a started gateway over one shared fake upstream "f".
func newTestGateway(t *testing.T) (*gateway.Gateway, *fakeUpstream) {
	t.Helper()
	f := newFakeUpstream("f")
	g, err := gateway.New(gateway.Options{
		Policy:    allowAllPolicy(t),
		Separator: "__",
		Upstreams: []gateway.UpstreamSpec{{Name: "f", Dialer: f, Shared: true}},
	})
	if err != nil {
		t.Fatal(err)
	}
	g.Start()
	t.Cleanup(func() {
		select {
		case <-f.release:
		default:
			close(f.release)
		}
		done := make(chan struct{})
		go func() { g.Close(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("gateway Close hung")
		}
	})
	// Wait for the shared leg, so that capabilities are known.
	deadline := time.Now().Add(5 * time.Second)
	for !g.Health()[0].Up {
		if time.Now().After(deadline) {
			t.Fatal("upstream never came up")
		}
		time.Sleep(2 * time.Millisecond)
	}
	return g, f
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
