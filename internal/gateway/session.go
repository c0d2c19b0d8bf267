package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"gatehouse/internal/identity"
	"gatehouse/internal/policy"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/yosida95/uritemplate/v3"

	"gatehouse/internal/jsonrpc"
)

// Stream carries server-originated messages to the client: a POST's SSE response stream, the
// session's standalone stream (HTTP GET), or stdout in stdio mode.
type Stream interface {
	// Send delivers one message. An error means the stream is gone.
	Send(msg []byte) error
}

// ClientInfo is what the client declared when it initialized.
type ClientInfo struct {
	ProtocolVersion string
	Capabilities    struct {
		Sampling    *json.RawMessage `json:"sampling"`
		Elicitation *json.RawMessage `json:"elicitation"`
		Roots       *json.RawMessage `json:"roots"`
	}
	// Params are the client's raw initialize params, forwarded to per-session legs.
	Params []byte
}

// Session is one client-facing MCP session. Its methods are safe for concurrent use.
type Session struct {
	g      *Gateway
	id     string
	remote string
	// identity opened the session; it is fixed for the session's life.
	identity *identity.Identity
	logger   *slog.Logger
	ctx      context.Context
	cancel   context.CancelFunc

	nextOutID atomic.Int64

	mu          sync.Mutex
	initialized bool
	client      ClientInfo
	legs        map[*server]*leg
	dialing     map[*server]*sync.Mutex
	standalone  Stream
	outPending  map[int64]outCall // server-to-client requests awaiting the client's answer
	inflight    int
	subs        map[string]*server                           // subscribed resource URI → its server
	uriOwner    map[string]*server                           // resource URI → server, learned from lists
	templates   map[*server]map[string]*uritemplate.Template // by template text
	logLevel    string
	closed      bool
	// listChanged throttles the list_changed notifications the session is sent.
	listChanged throttle
	cancelFuncs map[string]*inflight // client request id → its cancellation
	history     policy.History       // what the session called, for policy conditions
	policyMemo  policy.Memo          // static policy conditions already evaluated for this session

	// The stateless revision: a session lives for one request (or one listen stream).
	modern bool
	fwd    http.Header   // request headers forwarded upstream (Mcp-Param-*)
	listen *listenFilter // set on a subscriptions/listen stream
	mrtr   *mrtrState    // set while a call may be parked for input_required rounds
}

// inflight is a client request being served.
type inflight struct {
	cancel    context.CancelFunc
	cancelled atomic.Bool // the client cancelled it: no response is sent
}

type outCall struct {
	leg        *leg
	upstreamID []byte
	stream     Stream
	// reply, when set, receives the client's answer instead of an upstream leg (the gateway
	// asked on behalf of a stateless upstream's input_required result).
	reply  chan *jsonrpc.Message
	server string
}

// ID returns the session id (the Mcp-Session-Id of HTTP sessions).
func (s *Session) ID() string { return s.id }

// Identity returns who opened the session.
func (s *Session) Identity() *identity.Identity { return s.identity }

// Initialized reports whether the session completed initialize.
func (s *Session) Initialized() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.initialized
}

// ProtocolVersion is the version negotiated with the client.
func (s *Session) ProtocolVersion() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.client.ProtocolVersion
}

// SetStandalone sets (or, with nil, clears) the stream for messages that belong to no request.
func (s *Session) SetStandalone(st Stream) {
	s.mu.Lock()
	s.standalone = st
	s.mu.Unlock()
}

func (s *Session) standaloneStream() Stream {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.standalone
}

// Done is closed when the session ends.
func (s *Session) Done() <-chan struct{} { return s.ctx.Done() }

// Close ends the session and every per-session upstream connection. Idempotent.
func (s *Session) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	legs := s.legs
	s.legs = map[*server]*leg{}
	s.mu.Unlock()
	s.cancel()
	s.listChanged.stop()
	for _, l := range legs {
		l.close()
	}
	s.g.removeSession(s)
}

// Handle processes one message from the client. For a request it returns the response to
// send; for notifications and responses it returns nil. Messages related to the request
// (progress, logging, server-to-client requests) go to st while the request is in flight.
func (s *Session) Handle(ctx context.Context, msg *jsonrpc.Message, st Stream) []byte {
	switch msg.Kind {
	case jsonrpc.KindResponse:
		s.clientResponse(ctx, msg)
		return nil
	case jsonrpc.KindNotification:
		s.clientNotification(ctx, msg)
		return nil
	}
	resp, cancelled, err := s.request(ctx, msg, st)
	if cancelled {
		// The client withdrew the request: per MCP, the receiver does not answer it.
		s.logger.Debug("request cancelled by the client", "method", msg.Method)
		return nil
	}
	if err != nil {
		var e *Error
		if !errors.As(err, &e) || e.Cause != nil {
			s.logger.Warn("request failed", "method", msg.Method, "err", err)
		}
		return errorResponse(msg.ID, err)
	}
	return resp
}

func (s *Session) request(ctx context.Context, msg *jsonrpc.Message, st Stream) ([]byte, bool, error) {
	if msg.Method != "initialize" && msg.Method != "ping" && !s.Initialized() {
		return nil, false, errorf(jsonrpc.CodeInvalidRequest, "session is not initialized: send initialize first")
	}
	limit := s.g.limits.MaxPending
	s.mu.Lock()
	if limit > 0 && s.inflight >= limit {
		s.mu.Unlock()
		return nil, false, errorf(jsonrpc.CodeLimitExceeded, "too many requests in flight on this session (limit %d, limits.max_pending_requests)", limit)
	}
	s.inflight++
	cctx, cancel := context.WithCancel(ctx)
	key := string(msg.ID)
	fl := &inflight{cancel: cancel}
	s.cancelFuncs[key] = fl
	s.mu.Unlock()
	defer func() {
		cancel()
		s.mu.Lock()
		s.inflight--
		if s.cancelFuncs[key] == fl {
			delete(s.cancelFuncs, key)
		}
		s.mu.Unlock()
	}()
	// The session's end cancels its requests too.
	stop := context.AfterFunc(s.ctx, cancel)
	defer stop()
	resp, err := s.g.dispatch(cctx, s, msg, st)
	return resp, fl.cancelled.Load(), err
}

func (s *Session) clientResponse(ctx context.Context, msg *jsonrpc.Message) {
	id, err := strconv.ParseInt(string(msg.ID), 10, 64)
	s.mu.Lock()
	oc, ok := s.outPending[id]
	delete(s.outPending, id)
	s.mu.Unlock()
	if err != nil || !ok {
		s.logger.Warn("client answered a request the gateway did not send", "id", string(msg.ID))
		return
	}
	server := oc.server
	if oc.leg != nil {
		server = oc.leg.srv.name
	}
	env := &Envelope{Dir: ClientToServer, Session: s, Msg: msg, Server: server}
	if oc.reply != nil {
		if err := s.g.pipe.Run(ctx, env); err != nil {
			s.logger.Warn("client response refused", "err", err)
			oc.reply <- nil
			return
		}
		m := env.Msg
		if env.Out != nil {
			if pm, err := jsonrpc.Parse(env.Out); err == nil {
				m = pm
			}
		}
		oc.reply <- m
		return
	}
	if err := s.g.pipe.Run(ctx, env); err != nil {
		// Refused: the upstream still needs an answer, and it must not be the refused one.
		s.logger.Warn("client response refused", "err", err)
		oc.leg.conn.Send(ctx, errorResponse(oc.upstreamID, err))
		return
	}
	m := env.Msg
	if env.Out != nil {
		if pm, err := jsonrpc.Parse(env.Out); err == nil {
			m = pm
		}
	}
	if err := oc.leg.conn.Send(ctx, m.WithID(oc.upstreamID)); err != nil {
		s.logger.Warn("could not deliver the client's answer upstream", "upstream", oc.leg.srv.name, "err", err)
	}
}

func (s *Session) clientNotification(ctx context.Context, msg *jsonrpc.Message) {
	switch msg.Method {
	case "notifications/initialized":
		return
	case "notifications/cancelled":
		reqID, ok := jsonrpc.Member(msg.Params, "requestId")
		if !ok {
			return
		}
		s.mu.Lock()
		fl := s.cancelFuncs[string(reqID)]
		s.mu.Unlock()
		if fl != nil {
			// Cancelling the call's context makes the leg send notifications/cancelled upstream.
			fl.cancelled.Store(true)
			fl.cancel()
		}
	case "notifications/roots/list_changed":
		for _, l := range s.allLegs(ctx) {
			l.conn.Send(ctx, msg.Raw)
		}
	case "notifications/progress":
		// Progress on a server-to-client request: the token is the upstream's own.
		token, _ := jsonrpc.Member(msg.Params, "progressToken")
		s.mu.Lock()
		var target *leg
		for _, oc := range s.outPending {
			target = oc.leg
			break
		}
		s.mu.Unlock()
		if target != nil && token != nil {
			target.conn.Send(ctx, msg.Raw)
		}
	default:
		s.logger.Debug("client notification ignored", "method", msg.Method)
	}
}

// allLegs returns the legs the session currently uses (connected ones only).
func (s *Session) allLegs(ctx context.Context) []*leg {
	var out []*leg
	pol := s.g.Policy()
	for _, srv := range s.g.servers {
		if !pol.ServerVisible(s.identity, srv.name) {
			continue // another tenant's server
		}
		if srv.shared {
			srv.mu.Lock()
			l := srv.leg
			srv.mu.Unlock()
			if l != nil {
				out = append(out, l)
			}
			continue
		}
		s.mu.Lock()
		l := s.legs[srv]
		s.mu.Unlock()
		if l != nil {
			out = append(out, l)
		}
	}
	return out
}

// ownLeg returns the session's leg to srv, dialling it once if needed.
func (s *Session) ownLeg(ctx context.Context, srv *server) (*leg, error) {
	s.mu.Lock()
	if l := s.legs[srv]; l != nil && !l.isClosed() {
		s.mu.Unlock()
		return l, nil
	}
	if s.closed {
		s.mu.Unlock()
		return nil, errorf(jsonrpc.CodeInvalidRequest, "session closed")
	}
	dm := s.dialing[srv]
	if dm == nil {
		dm = &sync.Mutex{}
		s.dialing[srv] = dm
	}
	s.mu.Unlock()
	dm.Lock()
	defer dm.Unlock()
	s.mu.Lock()
	if l := s.legs[srv]; l != nil && !l.isClosed() {
		s.mu.Unlock()
		return l, nil
	}
	s.mu.Unlock()
	l, err := srv.dialFor(ctx, s)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		l.close()
		return nil, errorf(jsonrpc.CodeInvalidRequest, "session closed")
	}
	s.legs[srv] = l
	s.mu.Unlock()
	return l, nil
}

func (s *Session) dropLeg(srv *server, l *leg) {
	s.mu.Lock()
	if s.legs[srv] == l {
		delete(s.legs, srv)
	}
	s.mu.Unlock()
}

// upstreamInitParams are the initialize params for a per-session leg: the client's own,
// with the protocol version the gateway speaks upstream.
func (s *Session) upstreamInitParams() []byte {
	s.mu.Lock()
	p := s.client.Params
	s.mu.Unlock()
	if p == nil {
		return s.g.sharedInitParams()
	}
	return jsonrpc.SetMember(p, "protocolVersion", jsonrpc.Quote(upstreamProtocolVersion))
}

// maxOutPending bounds the server-to-client requests a client may leave unanswered.
const maxOutPending = 256

// sendRequest forwards a server-to-client request from leg l on st (or the standalone
// stream), under a session-local id.
func (s *Session) sendRequest(l *leg, m *jsonrpc.Message, raw []byte, st Stream) error {
	id := s.nextOutID.Add(1)
	s.mu.Lock()
	if len(s.outPending) >= maxOutPending {
		s.mu.Unlock()
		return fmt.Errorf("the client has %d requests unanswered", maxOutPending)
	}
	s.outPending[id] = outCall{leg: l, upstreamID: m.ID, stream: st}
	s.mu.Unlock()
	out, err := jsonrpc.Parse(raw)
	if err != nil {
		return err
	}
	b := out.WithID(jsonrpc.IntID(id))
	if st != nil {
		if err := st.Send(b); err == nil {
			return nil
		}
	}
	if sa := s.standaloneStream(); sa != nil {
		if err := sa.Send(b); err == nil {
			return nil
		}
	}
	s.mu.Lock()
	delete(s.outPending, id)
	s.mu.Unlock()
	return fmt.Errorf("no open stream to the client")
}

// askClient sends the client a request of its own (method, params) on st, or the standalone
// stream, and waits for the answer: the bridge from a stateless upstream's input_required
// result to a session-based client.
func (s *Session) askClient(ctx context.Context, server, method string, params []byte, st Stream) (*jsonrpc.Message, error) {
	id := s.nextOutID.Add(1)
	reply := make(chan *jsonrpc.Message, 1)
	s.mu.Lock()
	s.outPending[id] = outCall{reply: reply, server: server, stream: st}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.outPending, id)
		s.mu.Unlock()
	}()
	env := &Envelope{Dir: ServerToClient, Session: s, Method: method, Server: server,
		Out: jsonrpc.Request(jsonrpc.IntID(id), method, params)}
	m, err := jsonrpc.Parse(env.Out)
	if err != nil {
		return nil, err
	}
	env.Msg = m
	if err := s.g.pipe.Run(ctx, env); err != nil {
		return nil, err
	}
	sent := false
	if st != nil && st.Send(env.Bytes()) == nil {
		sent = true
	} else if sa := s.standaloneStream(); sa != nil && sa.Send(env.Bytes()) == nil {
		sent = true
	}
	if !sent {
		return nil, fmt.Errorf("no open stream to the client")
	}
	select {
	case m := <-reply:
		if m == nil {
			return nil, errorf(jsonrpc.CodeInternalError, "the client's answer to %s was refused", method)
		}
		return m, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// notify delivers a notification on st, falling back to the standalone stream.
func (s *Session) notify(b []byte, st Stream) {
	if st != nil && st.Send(b) == nil {
		return
	}
	if sa := s.standaloneStream(); sa != nil {
		if err := sa.Send(b); err != nil {
			s.logger.Debug("notification dropped", "err", err)
		}
	}
}

// takeOut finds the session-local id of a server-to-client request from leg l and forgets
// it (the upstream withdrew it).
func (s *Session) takeOut(l *leg, upstreamID []byte) (int64, Stream, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, oc := range s.outPending {
		if oc.leg == l && string(oc.upstreamID) == string(upstreamID) {
			delete(s.outPending, id)
			return id, oc.stream, true
		}
	}
	return 0, nil, false
}
