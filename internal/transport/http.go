package transport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"gatehouse/internal/gateway"
	"gatehouse/internal/identity"
	"gatehouse/internal/jsonrpc"
	"gatehouse/internal/sse"
)

// HTTPOptions configure the Streamable HTTP endpoint.
type HTTPOptions struct {
	AllowedOrigins       []string      // Origin allowlist; requests without Origin are allowed
	LoopbackOnly         bool          // the listener is on loopback: Host must name loopback too
	MaxMessage           int64         // bytes of one POST body
	MaxSessions          int           // live sessions in all
	MaxSessionsPerClient int           // live sessions per client address
	SessionIdleTimeout   time.Duration // a session with no traffic and no open stream is closed
	ReadTimeout          time.Duration // reading one request body
	WriteTimeout         time.Duration // writing one response or one event
	EventBuffer          int           // events kept per stream for resumption
	KeepAlive            time.Duration // comment lines on idle SSE streams; 0 means 25s
	Logger               *slog.Logger
	// Auth returns the authenticator that establishes each request's identity (a func, so
	// that a configuration reload can replace it); nil, or a nil result, means none.
	Auth func() *identity.Authenticator
	// ResourceMetadataURL returns the RFC 9728 metadata URL named in 401 challenges.
	ResourceMetadataURL func() string
	// OnSecurityEvent, if set, is told of refused attempts worth recording (a session id
	// presented by another identity).
	OnSecurityEvent func(ctx context.Context, event string, id *identity.Identity, detail map[string]any)
}

// HTTPHandler serves the MCP Streamable HTTP transport (session-based revisions 2025-03-26,
// 2025-06-18 and 2025-11-25) in front of a gateway.
type HTTPHandler struct {
	g      *gateway.Gateway
	opts   HTTPOptions
	logger *slog.Logger

	mu        sync.Mutex
	sessions  map[string]*httpSession
	perClient map[string]int

	// jsonType is the Content-Type value of every JSON response, shared (nothing changes
	// a response's header values in place).
	jsonType []string

	stop chan struct{}
	done chan struct{}
	once sync.Once
}

type httpSession struct {
	sess       *gateway.Session
	client     string
	principal  string       // identity.Key of who opened it: only they may use it
	lastActive atomic.Int64 // unix nanoseconds
	active     atomic.Int32 // requests and streams open now
	nextStream atomic.Uint64
	standalone *eventStream

	mu      sync.Mutex
	streams map[string]*eventStream
}

// NewHTTPHandler returns the handler; Close stops its janitor and ends its sessions.
func NewHTTPHandler(g *gateway.Gateway, opts HTTPOptions) *HTTPHandler {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.KeepAlive <= 0 {
		opts.KeepAlive = 25 * time.Second
	}
	h := &HTTPHandler{
		g:         g,
		opts:      opts,
		logger:    opts.Logger,
		sessions:  make(map[string]*httpSession),
		perClient: make(map[string]int),
		jsonType:  []string{"application/json"},
		stop:      make(chan struct{}),
		done:      make(chan struct{}),
	}
	go h.janitor()
	return h
}

// Close ends every session. Idempotent.
func (h *HTTPHandler) Close() {
	h.once.Do(func() {
		close(h.stop)
		<-h.done
		h.mu.Lock()
		all := make([]*httpSession, 0, len(h.sessions))
		for _, hs := range h.sessions {
			all = append(all, hs)
		}
		h.mu.Unlock()
		for _, hs := range all {
			h.endSession(hs)
		}
	})
}

func (h *HTTPHandler) janitor() {
	defer close(h.done)
	if h.opts.SessionIdleTimeout <= 0 {
		<-h.stop
		return
	}
	t := time.NewTicker(min(h.opts.SessionIdleTimeout/4+time.Millisecond, time.Minute))
	defer t.Stop()
	for {
		select {
		case <-h.stop:
			return
		case <-t.C:
		}
		cutoff := time.Now().Add(-h.opts.SessionIdleTimeout).UnixNano()
		var idle []*httpSession
		h.mu.Lock()
		for _, hs := range h.sessions {
			if hs.active.Load() == 0 && hs.lastActive.Load() < cutoff {
				idle = append(idle, hs)
			}
		}
		h.mu.Unlock()
		for _, hs := range idle {
			h.logger.Info("session closed after idle timeout", "session", hs.sess.ID(), "idle_timeout", h.opts.SessionIdleTimeout)
			h.endSession(hs)
		}
	}
}

func (h *HTTPHandler) endSession(hs *httpSession) {
	h.mu.Lock()
	if _, ok := h.sessions[hs.sess.ID()]; ok {
		delete(h.sessions, hs.sess.ID())
		if h.perClient[hs.client]--; h.perClient[hs.client] <= 0 {
			delete(h.perClient, hs.client)
		}
	}
	h.mu.Unlock()
	hs.standalone.close()
	hs.mu.Lock()
	for _, es := range hs.streams {
		es.close()
	}
	hs.mu.Unlock()
	hs.sess.Close()
}

// httpError writes a JSON-RPC error body with an HTTP status.
func httpError(w http.ResponseWriter, status int, id []byte, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(jsonrpc.ErrorResponse(id, code, msg, nil))
}

func (h *HTTPHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := h.checkOrigin(r); err != nil {
		h.logger.Warn("request refused", "reason", err, "remote", r.RemoteAddr, "origin", r.Header.Get("Origin"), "host", r.Host)
		httpError(w, http.StatusForbidden, nil, jsonrpc.CodeInvalidRequest, err.Error())
		return
	}
	if r.URL.RawQuery != "" && hasQueryToken(r) {
		h.logger.Warn("request refused", "reason", "access token in the query string", "remote", r.RemoteAddr)
		httpError(w, http.StatusBadRequest, nil, jsonrpc.CodeInvalidRequest, "tokens in the query string are refused: send them in the Authorization header")
		return
	}
	var auth *identity.Authenticator
	if h.opts.Auth != nil {
		auth = h.opts.Auth()
	}
	id, aerr := auth.Authenticate(r.Context(), r)
	if aerr != nil {
		h.refuseAuth(w, r, aerr)
		return
	}
	r = r.WithContext(identity.NewContext(r.Context(), id))
	switch r.Method {
	case http.MethodPost:
		h.post(w, r)
	case http.MethodGet:
		h.get(w, r)
	case http.MethodDelete:
		h.delete(w, r)
	default:
		w.Header().Set("Allow", "GET, POST, DELETE")
		httpError(w, http.StatusMethodNotAllowed, nil, jsonrpc.CodeInvalidRequest, "method not allowed")
	}
}

// checkOrigin defends against DNS rebinding: a browser page may only reach the gateway from
// an allowed origin, and a loopback listener only under a loopback host name.
func (h *HTTPHandler) checkOrigin(r *http.Request) error {
	if h.opts.LoopbackOnly {
		host := r.Host
		if hh, _, err := net.SplitHostPort(host); err == nil {
			host = hh
		}
		host = strings.Trim(host, "[]")
		if !isLoopbackName(host) {
			return fmt.Errorf("host %q is not allowed on a loopback listener", r.Host)
		}
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return nil
	}
	for _, p := range h.opts.AllowedOrigins {
		if originMatches(p, origin) {
			return nil
		}
	}
	return fmt.Errorf("origin %q is not allowed (listen.allowed_origins)", origin)
}

func isLoopbackName(host string) bool {
	if strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// originMatches matches an origin against a pattern such as "http://localhost:*" or
// "https://*.example.com". "*" as the port matches any port (or none); "*." as the first
// host label matches one or more labels. Nothing else is a wildcard.
func originMatches(pattern, origin string) bool {
	if pattern == "*" {
		return true
	}
	pu, err1 := url.Parse(strings.Replace(pattern, ":*", "", 1))
	ou, err2 := url.Parse(origin)
	if err1 != nil || err2 != nil || ou.Scheme == "" || ou.Host == "" {
		return false
	}
	if !strings.EqualFold(pu.Scheme, ou.Scheme) {
		return false
	}
	anyPort := strings.HasSuffix(pattern, ":*")
	if !anyPort && pu.Port() != ou.Port() {
		return false
	}
	ph, oh := strings.ToLower(pu.Hostname()), strings.ToLower(ou.Hostname())
	if rest, ok := strings.CutPrefix(ph, "*."); ok {
		return strings.HasSuffix(oh, "."+rest)
	}
	return ph == oh
}

// hasQueryToken reports whether the query string carries an access token (RFC 6750 §2.3),
// which a resource server must not accept: URLs end up in logs.
func hasQueryToken(r *http.Request) bool {
	for k := range r.URL.Query() {
		if strings.EqualFold(k, "access_token") {
			return true
		}
	}
	return false
}

// acceptsAll reports whether the Accept header admits every one of types (RFC 9110:
// media types compare case-insensitively, wildcards match, q=0 means "not acceptable").
func acceptsAll(r *http.Request, types ...string) bool {
	vals := r.Header.Values("Accept")
	for _, t := range types {
		if !accepts(vals, t) {
			return false
		}
	}
	return true
}

// accepts reports whether some Accept element admits media type t (lower case).
func accepts(vals []string, t string) bool {
	for _, v := range vals {
		for v != "" {
			var part string
			part, v, _ = strings.Cut(v, ",")
			mt, params, _ := strings.Cut(part, ";")
			mt = strings.TrimSpace(mt)
			switch {
			case strings.EqualFold(mt, t), mt == "*/*":
			case strings.HasSuffix(mt, "/*") && len(mt) <= len(t) && strings.EqualFold(mt[:len(mt)-1], t[:len(mt)-1]):
			default:
				continue
			}
			if !zeroQuality(params) {
				return true
			}
		}
	}
	return false
}

// zeroQuality reports whether media-type parameters carry q=0.
func zeroQuality(params string) bool {
	for params != "" {
		var p string
		p, params, _ = strings.Cut(params, ";")
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		if strings.EqualFold(strings.TrimSpace(k), "q") {
			v = strings.TrimSpace(v)
			return strings.Trim(v, "0.") == "" && v != ""
		}
	}
	return false
}

func clientKey(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// refuseAuth answers a failed authentication: 401 (or 403 for a missing scope) with an RFC
// 6750 challenge that names the protected-resource metadata.
func (h *HTTPHandler) refuseAuth(w http.ResponseWriter, r *http.Request, e *identity.AuthError) {
	if e.Code != "" {
		// No credentials at all is the normal first step of an OAuth client; a bad one is
		// worth a warning.
		h.logger.Warn("authentication refused", "status", e.Status, "error", e.Code, "reason", e.Error(), "remote", r.RemoteAddr)
	}
	if e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden {
		meta := ""
		if h.opts.ResourceMetadataURL != nil {
			meta = h.opts.ResourceMetadataURL()
		}
		w.Header().Set("WWW-Authenticate", e.Challenge(meta))
	}
	httpError(w, e.Status, nil, jsonrpc.CodeInvalidRequest, e.Description)
}

func (h *HTTPHandler) lookup(w http.ResponseWriter, r *http.Request) *httpSession {
	id := r.Header.Get("Mcp-Session-Id")
	if id == "" {
		httpError(w, http.StatusBadRequest, nil, jsonrpc.CodeInvalidRequest, "missing Mcp-Session-Id header: send initialize first")
		return nil
	}
	h.mu.Lock()
	hs := h.sessions[id]
	h.mu.Unlock()
	if hs == nil {
		httpError(w, http.StatusNotFound, nil, jsonrpc.CodeInvalidRequest, "session not found (expired or terminated): initialize a new one")
		return nil
	}
	// The same *Identity (a cached token's, or the anonymous one) needs no key comparison.
	if id := identity.FromContext(r.Context()); id != hs.sess.Identity() && id.Key() != hs.principal {
		// A session id is not a credential: whoever presents it must be who opened it.
		h.logger.Warn("session presented by another identity: refused", "session", hs.sess.ID(),
			"owner", hs.sess.Identity().String(), "presented_by", id.String(), "remote", r.RemoteAddr)
		if h.opts.OnSecurityEvent != nil {
			h.opts.OnSecurityEvent(r.Context(), "session_presented_by_another_identity", id,
				map[string]any{"session": hs.sess.ID(), "owner": hs.sess.Identity().String(), "remote": r.RemoteAddr})
		}
		httpError(w, http.StatusForbidden, nil, jsonrpc.CodeInvalidRequest, "this session belongs to another identity")
		return nil
	}
	// The header must name a version the gateway speaks. Clients are not held to the exact
	// negotiated one: deployed clients (and the conformance suite) send older values.
	if v := r.Header.Get("Mcp-Protocol-Version"); v != "" && !slices.Contains(gateway.SupportedVersions(), v) {
		httpError(w, http.StatusBadRequest, nil, jsonrpc.CodeInvalidRequest, fmt.Sprintf("unsupported MCP-Protocol-Version %q (supported: %s)", v, strings.Join(gateway.SupportedVersions(), ", ")))
		return nil
	}
	hs.lastActive.Store(time.Now().UnixNano())
	return hs
}

func (h *HTTPHandler) post(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	if h.opts.ReadTimeout > 0 {
		rc.SetReadDeadline(time.Now().Add(h.opts.ReadTimeout))
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(strings.ToLower(strings.TrimSpace(ct)), "application/json") {
		httpError(w, http.StatusUnsupportedMediaType, nil, jsonrpc.CodeInvalidRequest, "Content-Type must be application/json")
		return
	}
	if !acceptsAll(r, "application/json", "text/event-stream") {
		httpError(w, http.StatusNotAcceptable, nil, jsonrpc.CodeInvalidRequest, "Accept must list application/json and text/event-stream")
		return
	}
	max := h.opts.MaxMessage
	if max <= 0 {
		max = 4 << 20
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, max))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			httpError(w, http.StatusRequestEntityTooLarge, nil, jsonrpc.CodeLimitExceeded, fmt.Sprintf("message exceeds %d bytes (limits.max_message_bytes)", max))
			return
		}
		httpError(w, http.StatusBadRequest, nil, jsonrpc.CodeParseError, "could not read the request body")
		return
	}
	rc.SetReadDeadline(time.Time{})
	msg, err := jsonrpc.Parse(body)
	if err != nil {
		code := jsonrpc.CodeParseError
		if errors.Is(err, jsonrpc.ErrInvalid) || errors.Is(err, jsonrpc.ErrBatch) {
			code = jsonrpc.CodeInvalidRequest
		}
		httpError(w, http.StatusBadRequest, nil, code, err.Error())
		return
	}

	if isModern(r, msg) {
		h.postModern(w, r, msg)
		return
	}
	if msg.Kind == jsonrpc.KindRequest && msg.Method == "initialize" {
		if r.Header.Get("Mcp-Session-Id") != "" {
			httpError(w, http.StatusBadRequest, msg.ID, jsonrpc.CodeInvalidRequest, "initialize must not carry Mcp-Session-Id")
			return
		}
		h.initialize(w, r, msg)
		return
	}
	hs := h.lookup(w, r)
	if hs == nil {
		return
	}
	defer hs.busy()()
	// A client that disconnects has not cancelled (it may resume): the request goes on.
	ctx := context.WithoutCancel(r.Context())
	if msg.Kind != jsonrpc.KindRequest {
		hs.sess.Handle(ctx, msg, nil)
		w.WriteHeader(http.StatusAccepted)
		return
	}
	ps := newPostStream(h, w, r, hs)
	ps.finish(hs.sess.Handle(ctx, msg, ps))
}

// newResponseStream registers a new response stream of hs, kept for Last-Event-ID resumption.
func (h *HTTPHandler) newResponseStream(hs *httpSession) *eventStream {
	// Stream ids need only be unique within the session (the session id is the secret).
	es := newEventStream(strconv.FormatUint(hs.nextStream.Add(1), 36), h.opts.EventBuffer)
	hs.mu.Lock()
	defer hs.mu.Unlock()
	hs.streams[es.id] = es
	if len(hs.streams) > maxKeptStreams {
		// A client that keeps breaking streams and never resumes must not grow the session
		// without bound: the oldest kept stream goes.
		oldest, oldestN := "", uint64(0)
		for id := range hs.streams {
			if n, err := strconv.ParseUint(id, 36, 64); err == nil && (oldest == "" || n < oldestN) {
				oldest, oldestN = id, n
			}
		}
		if old := hs.streams[oldest]; old != nil && old != es {
			old.close()
			delete(hs.streams, oldest)
		}
	}
	return es
}

// maxKeptStreams bounds the response streams a session keeps for resumption.
const maxKeptStreams = 128

// busy marks the session as in use (the idle janitor leaves it alone) until the returned
// func is called.
func (hs *httpSession) busy() func() {
	hs.active.Add(1)
	return func() {
		hs.active.Add(-1)
		hs.lastActive.Store(time.Now().UnixNano())
	}
}

// primes reports whether the session's protocol asks for priming events (2025-11-25 on).
func primes(hs *httpSession) bool { return hs.sess.ProtocolVersion() >= "2025-11-25" }

func (h *HTTPHandler) dropStream(hs *httpSession, es *eventStream) {
	hs.mu.Lock()
	delete(hs.streams, es.id)
	hs.mu.Unlock()
}

// pump writes es's events after seq last until the stream completes (true) or the client goes
// away (false).
func (h *HTTPHandler) pump(w http.ResponseWriter, r *http.Request, es *eventStream, last uint64, prime bool, stop <-chan struct{}) bool {
	sw := sse.NewWriter(w)
	rc := http.NewResponseController(w)
	if prime && !es.noIDs {
		// 2025-11-25: an event with an id and no data first, so that a client whose stream
		// breaks before the first message can still resume.
		if err := sw.WriteEvent(sse.Event{ID: es.eventID(last), HasID: true}); err != nil {
			return false
		}
	}
	keep := time.NewTicker(h.opts.KeepAlive)
	defer keep.Stop()
	for {
		evs, done := es.after(last)
		for _, e := range evs {
			if h.opts.WriteTimeout > 0 {
				rc.SetWriteDeadline(time.Now().Add(h.opts.WriteTimeout))
			}
			ev := sse.Event{Name: "message", Data: e.data}
			if !es.noIDs {
				ev.ID, ev.HasID = es.eventID(e.seq), true
			}
			if err := sw.WriteEvent(ev); err != nil {
				return false
			}
			last = e.seq
			es.markSent(last)
		}
		if done {
			if more, _ := es.after(last); len(more) == 0 {
				return true
			}
			continue
		}
		select {
		case <-es.wake:
		case <-keep.C:
			if h.opts.WriteTimeout > 0 {
				rc.SetWriteDeadline(time.Now().Add(h.opts.WriteTimeout))
			}
			if err := sw.WriteComment("keep-alive"); err != nil {
				return false
			}
		case <-r.Context().Done():
			return false
		case <-stop:
			return false // taken over by a resuming connection
		}
	}
}

func (h *HTTPHandler) initialize(w http.ResponseWriter, r *http.Request, msg *jsonrpc.Message) {
	client := clientKey(r)
	h.mu.Lock()
	if h.opts.MaxSessions > 0 && len(h.sessions) >= h.opts.MaxSessions {
		h.mu.Unlock()
		httpError(w, http.StatusServiceUnavailable, msg.ID, jsonrpc.CodeLimitExceeded, fmt.Sprintf("too many sessions (limit %d, limits.max_sessions)", h.opts.MaxSessions))
		return
	}
	if h.opts.MaxSessionsPerClient > 0 && h.perClient[client] >= h.opts.MaxSessionsPerClient {
		h.mu.Unlock()
		httpError(w, http.StatusTooManyRequests, msg.ID, jsonrpc.CodeLimitExceeded, fmt.Sprintf("too many sessions from this client (limit %d, limits.max_sessions_per_client)", h.opts.MaxSessionsPerClient))
		return
	}
	h.perClient[client]++ // reserved now, so that concurrent initializes cannot overshoot
	h.mu.Unlock()

	id := identity.FromContext(r.Context())
	sess := h.g.NewSession(client, id)
	hs := &httpSession{sess: sess, client: client, principal: id.Key(), streams: make(map[string]*eventStream)}
	hs.standalone = newEventStream("0", h.opts.EventBuffer)
	hs.lastActive.Store(time.Now().UnixNano())
	sess.SetStandalone(hs.standalone)
	resp := sess.Handle(context.WithoutCancel(r.Context()), msg, nil)
	if !sess.Initialized() {
		sess.Close()
		h.mu.Lock()
		if h.perClient[client]--; h.perClient[client] <= 0 {
			delete(h.perClient, client)
		}
		h.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.Write(resp)
		return
	}
	h.mu.Lock()
	h.sessions[sess.ID()] = hs
	h.mu.Unlock()
	w.Header().Set("Mcp-Session-Id", sess.ID())
	w.Header().Set("Content-Type", "application/json")
	w.Write(resp)
}

func (h *HTTPHandler) get(w http.ResponseWriter, r *http.Request) {
	if !acceptsAll(r, "text/event-stream") {
		httpError(w, http.StatusNotAcceptable, nil, jsonrpc.CodeInvalidRequest, "Accept must list text/event-stream")
		return
	}
	hs := h.lookup(w, r)
	if hs == nil {
		return
	}
	defer hs.busy()()
	es, last := hs.standalone, uint64(0)
	resumed := false
	if lei := r.Header.Get("Last-Event-ID"); lei != "" {
		sid, seq, ok := parseEventID(lei)
		if !ok {
			httpError(w, http.StatusBadRequest, nil, jsonrpc.CodeInvalidRequest, "malformed Last-Event-ID")
			return
		}
		hs.mu.Lock()
		found := hs.streams[sid]
		hs.mu.Unlock()
		switch {
		case found != nil:
			es, last, resumed = found, seq, true
		case sid == hs.standalone.id:
			last = seq
		default:
			httpError(w, http.StatusNotFound, nil, jsonrpc.CodeInvalidRequest, "unknown stream in Last-Event-ID")
			return
		}
	} else {
		last = hs.standalone.delivered()
	}
	var gen uint64
	var stop <-chan struct{}
	if lei := r.Header.Get("Last-Event-ID"); lei != "" {
		// A client resuming a stream knows its old connection is gone, even when the server
		// has not noticed yet: the new connection takes the stream over.
		gen, stop = es.takeover()
	} else {
		if !es.attach() {
			httpError(w, http.StatusConflict, nil, jsonrpc.CodeInvalidRequest, "this stream is already open on another connection")
			return
		}
		gen, stop = es.current()
	}
	defer es.detach(gen)
	sse.SetHeaders(w.Header())
	w.WriteHeader(http.StatusOK)
	http.NewResponseController(w).Flush()
	if h.pump(w, r, es, last, primes(hs), stop) && resumed {
		h.dropStream(hs, es)
	}
}

func (h *HTTPHandler) delete(w http.ResponseWriter, r *http.Request) {
	hs := h.lookup(w, r)
	if hs == nil {
		return
	}
	h.endSession(hs)
	w.WriteHeader(http.StatusNoContent)
}
