package upstream

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"

	"gatehouse/internal/http1"
	"gatehouse/internal/jsonrpc"
	"gatehouse/internal/sse"
)

// Errors that end an HTTP Conn. Conn.Err wraps them.
var (
	// ErrSessionExpired: the upstream answered 404 to a request carrying its session id, so
	// the session is gone and the upstream must be initialized again.
	ErrSessionExpired = errors.New("session expired")
	// ErrClosed: Close was called.
	ErrClosed = errors.New("connection closed")
)

const (
	defaultHTTPMaxMessage = 4 << 20
	defaultBackoffBase    = 500 * time.Millisecond
	maxBackoff            = 30 * time.Second
	// maxResumeAttempts bounds how often a POST response stream is resumed (GET with
	// Last-Event-ID) without receiving any new event in between.
	maxResumeAttempts = 5
	deleteTimeout     = 5 * time.Second
	drainTimeout      = time.Second
	errorBodySnippet  = 512
	// synthesizedErrorCode is the JSON-RPC error code of the error response delivered for a
	// request whose response stream was lost: the code the gateway uses for upstream failures.
	synthesizedErrorCode = -32000
)

// StatusError is returned when an upstream answers an HTTP request with an unexpected status.
type StatusError struct {
	Server     string // the upstream's name
	Method     string // the HTTP method: POST, GET or DELETE
	StatusCode int
	Body       string // the start of the response body, made printable
}

func (e *StatusError) Error() string {
	s := fmt.Sprintf("upstream %q: %s returned HTTP %d %s", e.Server, e.Method, e.StatusCode, http.StatusText(e.StatusCode))
	if e.Body != "" {
		s += ": " + e.Body
	}
	return s
}

// StreamableHTTP dials an upstream MCP server over the Streamable HTTP transport (MCP
// 2025-03-26, 2025-06-18 and 2025-11-25). Use it by pointer and do not copy it after the first
// Dial: the default HTTP client is created once and shared by all its Conns.
type StreamableHTTP struct {
	Name string // the upstream's name, for logs and errors
	URL  string // the MCP endpoint
	// Headers returns extra request headers (credentials, say); it is called for every HTTP
	// request, so secrets are resolved lazily and may rotate. May be nil.
	Headers func(ctx context.Context) (http.Header, error)
	// Client sends the requests. nil means a client owned by this dialer with connect and
	// TLS handshake timeouts and no overall timeout (streams are long-lived; every request is
	// bounded by a context instead), which refuses cross-origin redirects. Never
	// http.DefaultClient.
	Client *http.Client
	// MaxMessage bounds one message from the upstream (a JSON body, or one SSE event);
	// 0 means 4 MiB. A larger message ends the Conn.
	MaxMessage int
	Logger     *slog.Logger

	// backoffBase is the first reconnection delay; 0 means 500ms. For tests.
	backoffBase time.Duration

	clientOnce sync.Once
	client     *http.Client
	readers    readerCache // response-stream readers shared by this dialer's Conns
}

var _ Dialer = (*StreamableHTTP)(nil)

// Dial checks the configuration and returns a Conn. It does no network I/O: the first
// exchange is the initialize request sent with Send.
func (d *StreamableHTTP) Dial(ctx context.Context, h Handler) (Conn, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if _, err := parseHTTPURL(d.URL); err != nil {
		return nil, fmt.Errorf("upstream %q: %w", d.Name, err)
	}
	d.clientOnce.Do(func() {
		d.client = d.Client
		if d.client == nil {
			d.client = newHTTPClient()
		}
	})
	c := &httpConn{url: d.URL}
	c.init(ctx, d.Name, d.client, d.Headers, d.MaxMessage, d.Logger, d.backoffBase, h)
	c.readers = &d.readers
	return c, nil
}

// newHTTPClient returns the client used when a dialer has none.
func newHTTPClient() *http.Client {
	t := &http.Transport{
		Proxy: http.ProxyFromEnvironment,
		DialContext: (&net.Dialer{
			Timeout:   10 * time.Second,
			KeepAlive: 30 * time.Second,
		}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   32,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	return &http.Client{
		Transport: t,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 5 {
				return errors.New("too many redirects")
			}
			if !sameOrigin(req.URL, via[0].URL) {
				return fmt.Errorf("refusing redirect to another origin (%s)", req.URL.Host)
			}
			return nil
		},
	}
}

func parseHTTPURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("invalid URL: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("invalid URL %q: want http or https with a host", u.Redacted())
	}
	return u, nil
}

// sameOrigin reports whether a and b have the same scheme, host and port.
func sameOrigin(a, b *url.URL) bool {
	port := func(u *url.URL) string {
		if p := u.Port(); p != "" {
			return p
		}
		if strings.EqualFold(u.Scheme, "https") {
			return "443"
		}
		return "80"
	}
	return strings.EqualFold(a.Scheme, b.Scheme) &&
		strings.EqualFold(a.Hostname(), b.Hostname()) &&
		port(a) == port(b)
}

// base is what the HTTP transports share: the lifetime of a Conn, its goroutines, and
// serialised delivery to the Handler.
type base struct {
	name        string
	client      *http.Client
	headers     func(context.Context) (http.Header, error)
	max         int
	log         *slog.Logger
	backoffBase time.Duration
	h           Handler

	ctx    context.Context // the Conn's lifetime: cancelled when it ends
	cancel context.CancelFunc
	wg     sync.WaitGroup // goroutines reading bodies and streams

	fixed  fixedHeaders
	target atomic.Pointer[parsedTarget] // the last request target, parsed

	deliverMu sync.Mutex   // serialises Handler calls
	readers   *readerCache // response-stream readers, reused (nil: none kept)

	mu      sync.Mutex
	closing bool // Close was called: no new goroutines
	err     error
	done    chan struct{}

	closeOnce sync.Once
	closeErr  error
}

func (b *base) init(dialCtx context.Context, name string, client *http.Client, headers func(context.Context) (http.Header, error),
	max int, logger *slog.Logger, backoffBase time.Duration, h Handler) {
	if max <= 0 {
		max = defaultHTTPMaxMessage
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if backoffBase <= 0 {
		backoffBase = defaultBackoffBase
	}
	b.name, b.client, b.headers, b.max = name, client, headers, max
	b.fixed = newFixedHeaders()
	b.log, b.backoffBase, b.h = logger.With("upstream", name), backoffBase, h
	// The Conn outlives the dial, so it keeps only the dial context's values (such as the
	// identity a per-session connection was opened for, which credential sources read).
	b.ctx, b.cancel = context.WithCancel(context.WithoutCancel(dialCtx))
	b.done = make(chan struct{})
}

// errClosed returns why the Conn ended, or ErrClosed while Close is still in progress.
func (b *base) errClosed() error {
	if err := b.Err(); err != nil {
		return err
	}
	return fmt.Errorf("upstream %q: %w", b.name, ErrClosed)
}

func (b *base) Done() <-chan struct{} { return b.done }

func (b *base) Err() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.err
}

// fail ends the Conn with err (the first cause wins) and stops its streams. It does not wait.
func (b *base) fail(err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.err != nil {
		return
	}
	b.err = err
	b.cancel()
	close(b.done)
}

// goRun runs f in a goroutine owned by the Conn, unless the Conn is ending.
func (b *base) goRun(f func()) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closing || b.err != nil {
		return false
	}
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		f()
	}()
	return true
}

// shutdown ends the Conn for Close: no new goroutines, streams cancelled, then last (which
// may send a final request) and waiting for the goroutines.
func (b *base) shutdown(last func() error) error {
	b.closeOnce.Do(func() {
		b.mu.Lock()
		b.closing = true
		b.mu.Unlock()
		b.cancel()
		if last != nil {
			b.closeErr = last()
		}
		b.wg.Wait()
		b.fail(fmt.Errorf("upstream %q: %w", b.name, ErrClosed))
	})
	return b.closeErr
}

// deliver hands msg to the Handler, unless the Conn has ended.
func (b *base) deliver(msg, related []byte) {
	b.deliverMu.Lock()
	defer b.deliverMu.Unlock()
	if b.ctx.Err() != nil {
		return
	}
	b.h(msg, related)
}

// newRequest builds a request bound to reqCtx, with the configured headers resolved with
// hdrCtx. It is http.NewRequestWithContext without its work per request: the target is
// parsed once (a Conn sends to one URL, two with a legacy SSE endpoint), the body is written
// as it is, and the fixed header values are shared.
func (b *base) newRequest(hdrCtx, reqCtx context.Context, method, target string, body []byte) (*http.Request, error) {
	u, err := b.parseTarget(target)
	if err != nil {
		return nil, fmt.Errorf("upstream %q: %w", b.name, err)
	}
	r := http.Request{
		Method:     method,
		URL:        u,
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: 1,
		Header:     make(http.Header, 6),
		Host:       strings.TrimSuffix(u.Host, ":"), // an empty port, as NewRequest does
	}
	switch {
	case len(body) > 0:
		r.Body, r.ContentLength = http1.NewBytesBody(body), int64(len(body))
		r.GetBody = func() (io.ReadCloser, error) { return http1.NewBytesBody(body), nil }
	case body != nil:
		r.Body, r.GetBody = http.NoBody, func() (io.ReadCloser, error) { return http.NoBody, nil }
	}
	req := r.WithContext(reqCtx)
	if b.headers != nil {
		h, err := b.headers(hdrCtx)
		if err != nil {
			return nil, fmt.Errorf("upstream %q: resolving headers: %w", b.name, err)
		}
		for k, vs := range h {
			req.Header[http.CanonicalHeaderKey(k)] = append([]string(nil), vs...)
		}
	}
	if body != nil {
		req.Header["Content-Type"] = b.fixed.contentType // after the configured ones: it wins
	}
	return req, nil
}

// fixedHeaders are header values every request of a Conn shares (nothing modifies a
// request's header values in place).
type fixedHeaders struct {
	contentType, acceptPOST, acceptSSE []string
}

func newFixedHeaders() fixedHeaders {
	return fixedHeaders{
		contentType: []string{"application/json"},
		acceptPOST:  []string{"application/json, text/event-stream"},
		acceptSSE:   []string{"text/event-stream"},
	}
}

// parsedTarget is a request target and its parse.
type parsedTarget struct {
	s string
	u url.URL
}

// parseTarget returns a fresh copy of target's parse, cached for the last target.
func (b *base) parseTarget(target string) (*url.URL, error) {
	if p := b.target.Load(); p != nil && p.s == target {
		u := p.u
		return &u, nil
	}
	u, err := url.Parse(target)
	if err != nil {
		return nil, err
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("unsupported protocol scheme %q", u.Scheme)
	case u.Host == "":
		return nil, errors.New("no host in request URL")
	}
	b.target.Store(&parsedTarget{s: target, u: *u})
	return u, nil
}

// do sends req and returns its response. ctx (the caller's) bounds the whole exchange, the
// body included, as does the request's own context (the Conn's, from newRequest). The
// caller must call release once done with the body.
func (b *base) do(ctx context.Context, req *http.Request) (resp *http.Response, release func(), err error) {
	if lt, ok := b.client.Transport.(*LeanTransport); ok && b.client.Jar == nil && b.client.Timeout == 0 {
		if resp, err = b.sendLean(ctx, lt, req); err == nil {
			return resp, func() { resp.Body.Close() }, nil
		}
	} else {
		reqCtx, cancelReq := context.WithCancel(req.Context())
		req = req.WithContext(reqCtx)
		stop := context.AfterFunc(ctx, cancelReq)
		if resp, err = b.client.Do(req); err == nil {
			return resp, func() { stop(); cancelReq() }, nil
		}
		stop()
		cancelReq()
	}
	if ctx.Err() != nil {
		return nil, nil, fmt.Errorf("upstream %q: %s: %w", b.name, req.Method, ctx.Err())
	}
	if b.ctx.Err() != nil {
		return nil, nil, b.errClosed()
	}
	// *url.Error would print the URL, which may carry credentials in its query.
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return nil, nil, fmt.Errorf("upstream %q: %s: %w", b.name, req.Method, err)
}

// sendLean is b.client.Do(req) on the lean transport, with the exchange bound to ctx too.
// It spares Client.Do's work per request (copying the headers for redirects that rarely
// come) and follows redirects itself the way Client.Do does: under the client's
// CheckRedirect (by default at most 10, same origin only), the method and body kept for 307
// and 308, a GET without body after 301, 302 and 303, credentials dropped when the host
// changes.
func (b *base) sendLean(ctx context.Context, lt *LeanTransport, req *http.Request) (*http.Response, error) {
	var via []*http.Request
	for {
		resp, err := lt.roundTrip(ctx, req)
		if err != nil {
			return nil, &url.Error{Op: req.Method, URL: req.URL.Redacted(), Err: err}
		}
		next, err := redirected(req, resp)
		if next == nil || err != nil {
			if err != nil {
				drain(resp.Body)
				return nil, &url.Error{Op: req.Method, URL: req.URL.Redacted(), Err: err}
			}
			return resp, nil
		}
		via = append(via, req)
		check := b.client.CheckRedirect
		if check == nil {
			check = defaultCheckRedirect
		}
		if err := check(next, via); err != nil {
			if errors.Is(err, http.ErrUseLastResponse) {
				return resp, nil
			}
			drain(resp.Body)
			return nil, &url.Error{Op: next.Method, URL: next.URL.Redacted(), Err: err}
		}
		drain(resp.Body)
		req = next
	}
}

// redirected returns the request a redirect response asks for, or nil if resp is not one.
func redirected(req *http.Request, resp *http.Response) (*http.Request, error) {
	code := resp.StatusCode
	switch code {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther, http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
	default:
		return nil, nil
	}
	loc := resp.Header.Get("Location")
	if loc == "" {
		return nil, nil
	}
	u, err := req.URL.Parse(loc)
	if err != nil {
		return nil, fmt.Errorf("redirect to a malformed Location: %w", err)
	}
	next := req.Clone(req.Context())
	next.URL, next.Host = u, ""
	if code == http.StatusTemporaryRedirect || code == http.StatusPermanentRedirect {
		if req.Body != nil && req.Body != http.NoBody {
			if req.GetBody == nil {
				return nil, nil // the body cannot be sent again: the redirect is the answer
			}
			if next.Body, err = req.GetBody(); err != nil {
				return nil, err
			}
		}
	} else {
		if req.Method != http.MethodHead {
			next.Method = http.MethodGet
		}
		next.Body, next.GetBody, next.ContentLength = nil, nil, 0
		next.Header.Del("Content-Type")
		next.Header.Del("Content-Length")
	}
	if u.Host != req.URL.Host {
		for _, k := range []string{"Authorization", "Proxy-Authorization", "Www-Authenticate", "Cookie", "Cookie2"} {
			next.Header.Del(k)
		}
	}
	return next, nil
}

func defaultCheckRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 10 {
		return errors.New("stopped after 10 redirects")
	}
	if !sameOrigin(req.URL, via[0].URL) {
		return fmt.Errorf("refusing redirect to another origin (%s)", req.URL.Host)
	}
	return nil
}

// statusError reads the start of resp's body (waiting at most drainTimeout) and closes it.
func (b *base) statusError(method string, resp *http.Response) *StatusError {
	t := time.AfterFunc(drainTimeout, func() { resp.Body.Close() })
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, errorBodySnippet))
	t.Stop()
	resp.Body.Close()
	return &StatusError{Server: b.name, Method: method, StatusCode: resp.StatusCode, Body: printable(snippet)}
}

// printable makes b (at most errorBodySnippet bytes) safe and short for an error message.
func printable(b []byte) string {
	s := strings.ToValidUTF8(string(b), "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	if len(b) >= errorBodySnippet {
		s += "…"
	}
	return s
}

// drain reads what is left of body, if that is little and comes at once, and closes it, so
// that the connection can be reused. A peer that keeps the body open costs at most
// drainTimeout.
func drain(body io.ReadCloser) {
	t := time.AfterFunc(drainTimeout, func() { body.Close() })
	io.Copy(io.Discard, io.LimitReader(body, 64<<10))
	t.Stop()
	body.Close()
}

// sleep waits d or until the Conn ends; it reports whether the Conn is still alive.
func (b *base) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-b.ctx.Done():
		return false
	}
}

// backoff is the delay before reconnection attempt n (1, 2, ...): exponential from
// backoffBase, capped, with jitter of up to a half.
func (b *base) backoff(n int) time.Duration {
	d := b.backoffBase
	for i := 1; i < n && d < maxBackoff; i++ {
		d *= 2
	}
	d = min(d, maxBackoff)
	return d/2 + rand.N(d/2+1)
}

// envelope is the part of a JSON-RPC message the HTTP transports need to see.
type envelope struct {
	ID     json.RawMessage `json:"id"`
	Method string          `json:"method"`
}

// peekEnvelope returns the id and method of the JSON object b. It does not validate the rest:
// the gateway parses every message once, strictly, where it handles it.
func peekEnvelope(b []byte) (envelope, error) {
	id, method, err := jsonrpc.Peek(b)
	if err != nil {
		return envelope{}, err
	}
	return envelope{ID: id, Method: method}, nil
}

func (e envelope) isRequest() bool  { return e.Method != "" && e.ID != nil }
func (e envelope) isResponse() bool { return e.Method == "" && e.ID != nil }

// sameID reports whether two raw JSON ids are the same id.
func sameID(a, b []byte) bool {
	a, b = bytes.TrimSpace(a), bytes.TrimSpace(b)
	if bytes.Equal(a, b) {
		return true
	}
	if len(a) > 0 && len(b) > 0 && a[0] == '"' && b[0] == '"' {
		var sa, sb string
		return json.Unmarshal(a, &sa) == nil && json.Unmarshal(b, &sb) == nil && sa == sb
	}
	return false
}

// errorResponse builds the JSON-RPC error response delivered for a request whose response
// can no longer arrive.
func errorResponse(id []byte, message string) []byte {
	m, _ := json.Marshal(message)
	var buf bytes.Buffer
	buf.WriteString(`{"jsonrpc":"2.0","id":`)
	buf.Write(id)
	fmt.Fprintf(&buf, `,"error":{"code":%d,"message":`, synthesizedErrorCode)
	buf.Write(m)
	buf.WriteString("}}")
	return buf.Bytes()
}

// mediaType returns the lower-case media type of a Content-Type value, without parameters.
func mediaType(ct string) string {
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	return strings.ToLower(strings.TrimSpace(ct))
}

// streamState follows one logical event stream across reconnections.
type streamState struct {
	lastID   string
	retry    time.Duration
	hasRetry bool
	events   int // events read so far, for progress detection
}

// streamEnd says how consume stopped.
type streamEnd int

const (
	streamBroken    streamEnd = iota // EOF or read error: may be resumed
	streamResponded                  // the awaited response was delivered
	streamFatal                      // the Conn has ended (failed or closed)
)

// consume reads events from body and delivers the data of "message" (or unnamed) events.
// related is passed to the Handler. If want is not nil, consume stops after delivering the
// response with that id. An oversized or invalid message fails the Conn.
func (b *base) consume(body io.Reader, st *streamState, related, want []byte, what string) streamEnd {
	var r *sse.Reader
	if want != nil {
		// A response stream: large messages are common, so a large buffer, reused.
		r = b.readers.get(body, b.max)
		// Back to the cache for the next response stream; it keeps no reference to body.
		defer b.readers.put(r)
	} else {
		// The standalone stream lives as long as the session and is mostly idle.
		r = sse.NewReaderSize(body, b.max, 4<<10)
	}
	for {
		ev, err := r.Next()
		if err != nil {
			if b.ctx.Err() != nil {
				return streamFatal
			}
			if errors.Is(err, sse.ErrEventTooLarge) {
				b.fail(fmt.Errorf("upstream %q: %s: message exceeds %d bytes", b.name, what, b.max))
				return streamFatal
			}
			if err != io.EOF {
				b.log.Debug("event stream broken", "stream", what, "err", err)
			}
			return streamBroken
		}
		st.events++
		if ev.HasID {
			st.lastID = ev.ID
		}
		if ev.HasRetry {
			st.retry, st.hasRetry = ev.Retry, true
		}
		if ev.Name != "" && ev.Name != "message" {
			b.log.Debug("ignoring event", "stream", what, "event", ev.Name)
			continue
		}
		msg := bytes.TrimSpace(ev.Data)
		if len(msg) == 0 {
			continue // priming event: only an id
		}
		env, err := peekEnvelope(msg)
		if err != nil {
			b.fail(fmt.Errorf("upstream %q: %s: invalid message: %v", b.name, what, err))
			return streamFatal
		}
		b.deliver(msg, related)
		if want != nil && env.isResponse() && sameID(env.ID, want) {
			return streamResponded
		}
	}
}

// httpConn is a Conn over Streamable HTTP.
type httpConn struct {
	base
	url string

	// under base.mu
	sessionID string
	version   string
	// The header values sent for them, shared by every request (built when they change).
	sidHeader, versionHeader []string
	getStarted               bool
	expired                  bool
}

func (c *httpConn) SetProtocolVersion(v string) {
	c.mu.Lock()
	c.version = v
	start := v != "" && !c.getStarted
	if start {
		c.getStarted = true
	}
	c.mu.Unlock()
	if start {
		c.goRun(c.runGET)
	}
}

// mcpHeaders sets the session and protocol version headers and returns the session id sent.
func (c *httpConn) mcpHeaders(req *http.Request) string {
	c.mu.Lock()
	sid, v := c.sessionID, c.version
	if sid != "" && (len(c.sidHeader) == 0 || c.sidHeader[0] != sid) {
		c.sidHeader = []string{sid}
	}
	if v != "" && (len(c.versionHeader) == 0 || c.versionHeader[0] != v) {
		c.versionHeader = []string{v}
	}
	sidH, vH := c.sidHeader, c.versionHeader
	c.mu.Unlock()
	if sid != "" {
		req.Header["Mcp-Session-Id"] = sidH
	}
	if v != "" {
		req.Header["Mcp-Protocol-Version"] = vH
	}
	return sid
}

// expire ends the Conn because the upstream forgot the session.
func (c *httpConn) expire(method string) error {
	c.mu.Lock()
	c.expired = true
	c.mu.Unlock()
	err := fmt.Errorf("upstream %q: %s returned HTTP 404: %w", c.name, method, ErrSessionExpired)
	c.fail(err)
	return c.Err()
}

func (c *httpConn) Send(ctx context.Context, msg []byte) error {
	if err := c.Err(); err != nil {
		return err
	}
	env, err := peekEnvelope(msg)
	if err != nil {
		return fmt.Errorf("upstream %q: refusing to send an invalid message: %w", c.name, err)
	}
	req, err := c.newRequest(ctx, c.ctx, http.MethodPost, c.url, msg)
	if err != nil {
		return err
	}
	req.Header["Accept"] = c.fixed.acceptPOST
	sid := c.mcpHeaders(req)
	resp, release, err := c.do(ctx, req)
	if err != nil {
		return err
	}
	if resp.StatusCode == http.StatusNotFound && sid != "" {
		drain(resp.Body)
		release()
		return c.expire(http.MethodPost)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		err := c.statusError(http.MethodPost, resp)
		release()
		return err
	}
	if got := resp.Header.Get("Mcp-Session-Id"); got != "" {
		c.mu.Lock()
		if c.sessionID == "" {
			c.sessionID = got
		} else if got != c.sessionID {
			c.log.Warn("upstream changed its session id; keeping the first", "method", env.Method)
		}
		c.mu.Unlock()
	}
	if !env.isRequest() {
		// Notifications and responses: 202 Accepted, no body. Be lenient about 200/204.
		drain(resp.Body)
		release()
		return nil
	}
	related := bytes.Clone(bytes.TrimSpace(env.ID))
	var run func()
	switch ct := mediaType(resp.Header.Get("Content-Type")); {
	case resp.StatusCode == http.StatusAccepted || resp.StatusCode == http.StatusNoContent:
		// Streamable HTTP requires a JSON or SSE response to a request; none will come.
		drain(resp.Body)
		release()
		return fmt.Errorf("upstream %q: POST %s: HTTP %d without a response", c.name, env.Method, resp.StatusCode)
	case ct == "application/json":
		run = func() { c.readJSON(resp, related, env.Method) }
	case ct == "text/event-stream":
		run = func() { c.readPOSTStream(ctx, resp, related, env.Method) }
	default:
		drain(resp.Body)
		release()
		return fmt.Errorf("upstream %q: POST %s: unsupported response Content-Type %q", c.name, env.Method, ct)
	}
	// The response is read here, in the caller's goroutine: the caller waits for it anyway,
	// and a hand-off to another goroutine per call costs more than the read. The caller
	// giving up (ctx) ends the read.
	if !c.enter() {
		resp.Body.Close()
		release()
		return c.errClosed()
	}
	defer c.wg.Done()
	defer release() // do bound the body to ctx: the caller giving up ends the read
	run()
	return nil
}

// enter registers a reader running in the caller's goroutine, so that Close waits for it;
// false when the Conn is ending.
func (b *base) enter() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closing || b.err != nil {
		return false
	}
	b.wg.Add(1)
	return true
}

// readJSON delivers a single JSON response body.
func (c *httpConn) readJSON(resp *http.Response, related []byte, method string) {
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, int64(c.max)+1))
	if err != nil {
		if c.ctx.Err() == nil {
			c.deliver(errorResponse(related, fmt.Sprintf("upstream %q: reading the response failed: %v", c.name, err)), related)
		}
		return
	}
	if len(body) > c.max {
		c.fail(fmt.Errorf("upstream %q: response to %s exceeds %d bytes", c.name, method, c.max))
		return
	}
	msg := bytes.TrimSpace(body)
	if _, err := peekEnvelope(msg); err != nil {
		c.fail(fmt.Errorf("upstream %q: response to %s: invalid message: %v", c.name, method, err))
		return
	}
	c.deliver(msg, related)
}

// readPOSTStream reads the SSE response to one request until its response arrives,
// resuming with GET and Last-Event-ID if the stream breaks first. If the response cannot
// arrive any more, it delivers a JSON-RPC error response for the request instead, so the
// caller is not left waiting.
func (c *httpConn) readPOSTStream(ctx context.Context, resp *http.Response, related []byte, method string) {
	what := "response stream of " + method
	lost := func(why string) {
		c.deliver(errorResponse(related, fmt.Sprintf("upstream %q: the response stream of %s ended before the response; %s",
			c.name, method, why)), related)
	}
	var st streamState
	body, release := resp.Body, func() {}
	attempts, seen := 0, 0
	for {
		if body != nil {
			end := c.consume(body, &st, related, related, what)
			if end == streamResponded {
				finishBody(body) // usually only the end of the stream is left
			} else {
				body.Close()
			}
			release()
			body = nil
			if end != streamBroken {
				return
			}
		}
		if ctx.Err() != nil {
			return // the caller gave up on this request
		}
		if st.lastID == "" {
			lost("it carried no event ids, so it cannot be resumed")
			return
		}
		if st.events > seen {
			attempts, seen = 0, st.events
		}
		attempts++
		if attempts > maxResumeAttempts {
			lost(fmt.Sprintf("gave up resuming it after %d attempts", maxResumeAttempts))
			return
		}
		delay := c.backoff(attempts)
		if st.hasRetry && attempts == 1 {
			delay = st.retry
		}
		if !c.sleep(delay) {
			return
		}
		r, rel, status, err := c.get(st.lastID)
		switch {
		case err != nil:
			if c.ctx.Err() != nil {
				return
			}
			c.log.Debug("resuming response stream failed", "method", method, "err", err)
			continue
		case status == http.StatusNotFound && c.hasSession():
			drain(r.Body)
			rel()
			c.expire(http.MethodGet)
			return
		case status >= 500 || status == http.StatusTooManyRequests:
			drain(r.Body)
			rel()
			continue
		case status < 200 || status > 299 || mediaType(r.Header.Get("Content-Type")) != "text/event-stream":
			err := c.statusError(http.MethodGet, r)
			rel()
			lost(fmt.Sprintf("resuming it failed: %v", err))
			return
		}
		body, release = r.Body, rel
	}
}

func (c *httpConn) hasSession() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sessionID != ""
}

// get opens an event stream with GET, bound to the Conn.
func (c *httpConn) get(lastID string) (*http.Response, func(), int, error) {
	req, err := c.newRequest(c.ctx, c.ctx, http.MethodGet, c.url, nil)
	if err != nil {
		return nil, nil, 0, err
	}
	req.Header["Accept"] = c.fixed.acceptSSE
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	c.mcpHeaders(req)
	resp, release, err := c.do(c.ctx, req)
	if err != nil {
		return nil, nil, 0, err
	}
	return resp, release, resp.StatusCode, nil
}

// runGET keeps the standalone GET stream open while the Conn lives.
func (c *httpConn) runGET() {
	const what = "GET stream"
	var st streamState
	failures := 0
	for c.ctx.Err() == nil {
		resp, release, status, err := c.get(st.lastID)
		switch {
		case err != nil:
			if c.ctx.Err() != nil {
				return
			}
			c.log.Debug("GET stream failed", "err", err)
		case status == http.StatusMethodNotAllowed:
			drain(resp.Body)
			release()
			c.log.Debug("upstream offers no GET stream")
			return
		case status >= 500 || status == http.StatusTooManyRequests:
			c.log.Debug("GET stream refused", "status", status)
			drain(resp.Body)
			release()
		case status < 200 || status > 299:
			// 404 here may mean an expired session, but some servers answer 404 instead of
			// 405; the next POST tells which.
			err := c.statusError(http.MethodGet, resp)
			release()
			c.log.Warn("upstream refused the GET stream; no server-initiated messages outside requests", "err", err)
			return
		case mediaType(resp.Header.Get("Content-Type")) != "text/event-stream":
			drain(resp.Body)
			release()
			c.log.Warn("upstream answered the GET stream without text/event-stream; not retrying",
				"content_type", resp.Header.Get("Content-Type"))
			return
		default:
			before := st.events
			end := c.consume(resp.Body, &st, nil, nil, what)
			resp.Body.Close()
			release()
			if end == streamFatal {
				return
			}
			if st.events > before {
				failures = 0
			}
		}
		failures++
		delay := c.backoff(failures)
		if st.hasRetry && failures == 1 {
			delay = st.retry
		}
		if !c.sleep(delay) {
			return
		}
	}
}

// Close cancels the streams, sends DELETE for the session (unless the upstream already
// dropped it) and waits for the Conn's goroutines.
func (c *httpConn) Close() error {
	return c.shutdown(func() error {
		c.mu.Lock()
		sid, expired := c.sessionID, c.expired
		c.mu.Unlock()
		if sid == "" || expired {
			return nil
		}
		ctx, cancel := context.WithTimeout(context.Background(), deleteTimeout)
		defer cancel()
		req, err := c.newRequest(ctx, ctx, http.MethodDelete, c.url, nil)
		if err != nil {
			return err
		}
		c.mcpHeaders(req)
		resp, err := c.client.Do(req)
		if err != nil {
			var ue *url.Error
			if errors.As(err, &ue) {
				err = ue.Err
			}
			return fmt.Errorf("upstream %q: DELETE: %w", c.name, err)
		}
		switch s := resp.StatusCode; {
		case s >= 200 && s <= 299, s == http.StatusMethodNotAllowed, s == http.StatusNotFound:
			drain(resp.Body)
			return nil
		}
		return c.statusError(http.MethodDelete, resp)
	})
}

// readerCache keeps a few response-stream readers (each with a 128 KiB buffer) for reuse. A
// sync.Pool would not do: the gateway's heap is small, so collections are frequent and would
// empty it, and each new reader's buffer is itself a large allocation.
type readerCache struct {
	once sync.Once
	free chan *sse.Reader
}

// readerCacheSize bounds what a dialer keeps: enough for the calls in flight at once on a
// busy upstream, at most 2 MiB.
const readerCacheSize = 16

// responseBufSize is the read buffer of a response stream: a message of up to this size
// (a 64 KiB result with its envelope, say) is parsed without being copied together first.
const responseBufSize = 128 << 10

func (c *readerCache) get(body io.Reader, max int) *sse.Reader {
	if c == nil {
		return sse.NewReaderSize(body, max, responseBufSize)
	}
	c.once.Do(func() { c.free = make(chan *sse.Reader, readerCacheSize) })
	select {
	case r := <-c.free:
		r.Reset(body)
		return r
	default:
		return sse.NewReaderSize(body, max, responseBufSize)
	}
}

func (c *readerCache) put(r *sse.Reader) {
	r.Reset(nil)
	if c == nil {
		return
	}
	select {
	case c.free <- r:
	default:
	}
}
