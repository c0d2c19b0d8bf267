package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"gatehouse/internal/jsonrpc"
	"gatehouse/internal/upstream"
)

// A leg is one initialized MCP connection to one upstream. It owns the leg-local id space:
// every request forwarded on it gets a fresh integer id, and the pending table maps it back to
// the caller. A shared leg serves every session; a per-session leg serves one.
type leg struct {
	srv    *server
	conn   upstream.Conn
	logger *slog.Logger
	owner  *Session // nil for a shared leg
	// forStateless marks the leg that serves stateless clients of a per-session server:
	// its broadcasts go to listen streams only.
	forStateless bool

	nextID  atomic.Int64
	seq     atomic.Uint64
	up      atomic.Bool // initialized
	closing atomic.Bool // closed on purpose (session end, gateway stop)

	mu      sync.Mutex
	pending map[int64]*call
	closed  bool
	// brokenEarly: the upstream wrote an invalid message before dial had set conn.
	brokenEarly bool

	// Set once by initialize, read-only after.
	protocolVersion string
	caps            serverCaps
	initResult      []byte
}

// call is one request in flight on a leg.
type call struct {
	id       int64
	sess     *Session // nil for the gateway's own requests (initialize)
	clientID []byte   // the client's id; nil for the gateway's own requests
	method   string
	// clientToken is the client's progress token, if it asked for progress. On the leg the
	// token is replaced by the leg-local id, so that tokens of two clients never collide.
	clientToken []byte
	stream      Stream // where related messages go
	seq         uint64
	resp        chan *jsonrpc.Message
}

// serverCaps is what the gateway needs to know of an upstream's capabilities.
type serverCaps struct {
	Tools       *struct{ ListChanged bool }            `json:"tools"`
	Prompts     *struct{ ListChanged bool }            `json:"prompts"`
	Resources   *struct{ Subscribe, ListChanged bool } `json:"resources"`
	Logging     *struct{}                              `json:"logging"`
	Completions *struct{}                              `json:"completions"`
}

func newLeg(srv *server, owner *Session) *leg {
	l := &leg{srv: srv, owner: owner, pending: make(map[int64]*call), logger: srv.logger}
	return l
}

// dial connects and performs the MCP initialize handshake. clientParams are the initialize
// params to send (the client's own for a per-session leg, the gateway's for a shared one).
func (l *leg) dial(ctx context.Context, initParams []byte) error {
	conn, err := l.srv.dialer.Dial(ctx, l.receive)
	if err != nil {
		return err
	}
	// The reader runs from inside Dial: receive may see a message before l.conn is set.
	l.mu.Lock()
	l.conn = conn
	broken := l.brokenEarly
	l.mu.Unlock()
	if broken {
		conn.Close()
		return errors.New("the upstream wrote an invalid JSON-RPC message before initialize")
	}
	go func() {
		<-conn.Done()
		l.fail(conn.Err())
	}()
	resp, err := l.roundTrip(ctx, "initialize", initParams)
	if err != nil {
		conn.Close()
		return fmt.Errorf("initialize: %w", err)
	}
	var res struct {
		ProtocolVersion string          `json:"protocolVersion"`
		Capabilities    json.RawMessage `json:"capabilities"`
	}
	if err := json.Unmarshal(resp, &res); err != nil || res.ProtocolVersion == "" {
		conn.Close()
		return fmt.Errorf("initialize: malformed result")
	}
	if !supportedVersion(res.ProtocolVersion) {
		conn.Close()
		return fmt.Errorf("initialize: upstream chose unsupported protocol version %q", res.ProtocolVersion)
	}
	if len(res.Capabilities) > 0 {
		if err := json.Unmarshal(res.Capabilities, &l.caps); err != nil {
			conn.Close()
			return fmt.Errorf("initialize: malformed capabilities: %w", err)
		}
	}
	l.protocolVersion = res.ProtocolVersion
	l.initResult = resp
	l.up.Store(true)
	conn.SetProtocolVersion(res.ProtocolVersion)
	if err := conn.Send(ctx, jsonrpc.Notification("notifications/initialized", nil)); err != nil {
		conn.Close()
		return fmt.Errorf("initialized: %w", err)
	}
	return nil
}

// roundTrip sends the gateway's own request and returns the raw result.
func (l *leg) roundTrip(ctx context.Context, method string, params []byte) ([]byte, error) {
	c := l.register(nil, nil, method, nil, nil)
	defer l.unregister(c.id)
	msg := jsonrpc.Request(jsonrpc.IntID(c.id), method, params)
	if err := l.conn.Send(ctx, msg); err != nil {
		return nil, err
	}
	resp, err := l.wait(ctx, c)
	if err != nil {
		return nil, err
	}
	if resp.Error != nil {
		e, _ := jsonrpc.DecodeError(resp.Error)
		return nil, fmt.Errorf("%s failed: %d %s", method, e.Code, e.Message)
	}
	return resp.Result, nil
}

func (l *leg) register(sess *Session, clientID []byte, method string, token []byte, st Stream) *call {
	c := &call{
		id:          l.nextID.Add(1),
		sess:        sess,
		clientID:    clientID,
		method:      method,
		clientToken: token,
		stream:      st,
		seq:         l.seq.Add(1),
		resp:        make(chan *jsonrpc.Message, 1),
	}
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		close(c.resp)
		return c
	}
	l.pending[c.id] = c
	l.mu.Unlock()
	return c
}

func (l *leg) unregister(id int64) {
	l.mu.Lock()
	delete(l.pending, id)
	l.mu.Unlock()
}

func (l *leg) wait(ctx context.Context, c *call) (*jsonrpc.Message, error) {
	select {
	case m, ok := <-c.resp:
		if !ok {
			return nil, l.err()
		}
		return m, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (l *leg) err() error {
	if l.conn != nil && l.conn.Err() != nil {
		return l.conn.Err()
	}
	return errors.New("connection closed")
}

// forward sends a client's request upstream and waits for the response. params are the
// params as the upstream must see them (names already un-namespaced). It returns the upstream's
// response message (with the leg-local id still in it).
func (l *leg) forward(ctx context.Context, sess *Session, msg *jsonrpc.Message, params []byte, st Stream) (*jsonrpc.Message, error) {
	var token []byte
	if params != nil {
		if t, ok := jsonrpc.Path(params, "_meta", "progressToken"); ok {
			token = t
		}
	}
	c := l.register(sess, msg.ID, msg.Method, token, st)
	defer l.unregister(c.id)
	id := jsonrpc.IntID(c.id)
	if token != nil {
		params = jsonrpc.SetPath(params, id, "_meta", "progressToken")
	}
	var out []byte
	if params != nil && !bytes.Equal(params, msg.Params) {
		out = msg.WithIDAndParams(id, params)
	} else {
		out = msg.WithID(id)
	}
	if err := l.conn.Send(ctx, out); err != nil {
		return nil, upstreamError(l.srv.name, err)
	}
	resp, err := l.wait(ctx, c)
	if err != nil {
		if ctx.Err() != nil {
			// The client gave up or the call timed out: tell the upstream to stop.
			l.cancel(c.id, ctx.Err())
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return nil, &Error{
					Code:    jsonrpc.CodeRequestTimeout,
					Message: fmt.Sprintf("upstream %q did not answer %s within %s", l.srv.name, msg.Method, l.srv.timeout),
					Data:    map[string]string{"server": l.srv.name},
				}
			}
			return nil, ctx.Err()
		}
		return nil, upstreamError(l.srv.name, err)
	}
	return resp, nil
}

// cancel tells the upstream that the gateway no longer waits for request id.
func (l *leg) cancel(id int64, reason error) {
	params, _ := json.Marshal(map[string]any{"requestId": id, "reason": reason.Error()})
	ctx, done := context.WithTimeout(context.Background(), 5*time.Second)
	defer done()
	if err := l.conn.Send(ctx, jsonrpc.Notification("notifications/cancelled", params)); err != nil {
		l.logger.Debug("cancel not delivered", "err", err)
	}
}

// fail ends every call in flight: their callers see the upstream's error.
func (l *leg) fail(err error) {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return
	}
	l.closed = true
	pending := l.pending
	l.pending = nil
	l.mu.Unlock()
	for _, c := range pending {
		close(c.resp)
	}
	switch {
	case l.closing.Load() || !l.up.Load():
		// Closed on purpose, or never initialized (the dial reports its own error).
		l.logger.Debug("upstream connection closed", "err", err, "in_flight", len(pending))
	case err != nil:
		l.logger.Warn("upstream connection ended", "err", err, "in_flight", len(pending))
	}
	l.srv.legDown(l, err)
}

// shared reports whether the leg is the server's shared connection (whose health the
// server's run loop tracks).
func (l *leg) shared() bool { return l.owner == nil && !l.forStateless && l.srv.shared }

func (l *leg) isClosed() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.closed
}

func (l *leg) close() {
	l.closing.Store(true)
	if l.conn != nil {
		l.conn.Close()
	}
}

func parseLegID(raw []byte) (int64, bool) {
	n, err := strconv.ParseInt(string(raw), 10, 64)
	return n, err == nil
}

// receive handles one message from the upstream. It runs on the connection's reader, so it
// must not block for long.
func (l *leg) receive(raw []byte, related []byte) {
	m, err := jsonrpc.Parse(raw)
	if err != nil {
		// An upstream that breaks the protocol cannot be trusted with the rest of the stream.
		l.logger.Error("upstream wrote an invalid JSON-RPC message; closing the connection", "err", err, "bytes", len(raw))
		l.mu.Lock()
		conn := l.conn
		if conn == nil {
			l.brokenEarly = true // dial closes it once Dial returns
		}
		l.mu.Unlock()
		if conn != nil {
			// Not inline: Close waits for the reader that is running this handler.
			go conn.Close()
		}
		return
	}
	switch m.Kind {
	case jsonrpc.KindResponse:
		id, ok := parseLegID(m.ID)
		if !ok {
			l.logger.Warn("response with an id the gateway never sent", "id", string(m.ID))
			return
		}
		l.mu.Lock()
		c := l.pending[id]
		delete(l.pending, id)
		l.mu.Unlock()
		if c == nil {
			l.logger.Debug("late or unknown response", "id", id)
			return
		}
		c.resp <- m
	case jsonrpc.KindRequest:
		l.srv.g.serverRequest(l, m, l.relatedCall(related))
	case jsonrpc.KindNotification:
		l.srv.g.serverNotification(l, m, l.relatedCall(related))
	}
}

// relatedCall finds the call whose response stream carried a message, if known.
func (l *leg) relatedCall(related []byte) *call {
	if related == nil {
		return nil
	}
	id, ok := parseLegID(related)
	if !ok {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.pending[id]
}

// callByID returns the call in flight with leg-local id.
func (l *leg) callByID(id int64) *call {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.pending[id]
}

// soleCall returns the most recent client call in flight on the leg if every client call in
// flight belongs to one session, and how many sessions have calls in flight. On a transport
// that does not say which call a message belongs to (stdio), that is the only case where a
// server-to-client message can be attributed without guessing.
func (l *leg) soleCall() (*call, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var best *call
	sessions := 0
	for _, c := range l.pending {
		if c.sess == nil {
			continue
		}
		if best == nil {
			sessions = 1
		} else if c.sess != best.sess {
			sessions = 2
		}
		if best == nil || c.seq > best.seq {
			best = c
		}
	}
	if sessions > 1 {
		return nil, sessions
	}
	return best, sessions
}
