package upstream

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"gatehouse/internal/http1"
	"gatehouse/internal/sockio"
)

// LeanTransport is an http.RoundTripper for HTTP/1.1 upstreams that does a request's whole
// exchange in the caller's goroutine: it writes the request and reads the response (headers
// and body) on a pooled connection directly, where net/http's Transport hands each request
// between a reader and a writer goroutine per connection. For a gateway that makes one short
// request per call, those hand-offs are a large part of the cost.
//
// It speaks HTTP/1.1 only (no proxies, no HTTP/2); TLS when TLSConfig is set for https URLs.
type LeanTransport struct {
	Dialer      *net.Dialer
	TLSConfig   *tls.Config
	MaxIdle     int           // idle connections kept per host; 0 means 64
	IdleTimeout time.Duration // an idle connection older than this is closed; 0 means 30s
	ReadBuffer  int           // 0 means 64 KiB

	mu   sync.Mutex
	idle map[poolKey][]*leanConn
}

var _ http.RoundTripper = (*LeanTransport)(nil)

type leanConn struct {
	net.Conn
	raw   syscall.RawConn // the TCP socket, for the liveness probe
	br    *bufio.Reader
	bw    *bufio.Writer
	rr    *http1.ResponseReader
	since time.Time
	rest  io.Reader // the unread end of the last response body, read before the next request
}

// maxRest bounds what finishRest reads of a body left unread: the end of an event stream
// whose response has arrived is a few bytes; a connection with more is not worth keeping.
const maxRest = 64 << 10

// restTimeout bounds the wait for a body's end that has not arrived by the time the
// connection is used again.
const restTimeout = time.Second

// finishRest reads the end of the previous response body, if one was left unread, and
// reports whether the connection is clean for the next request. By the time a connection is
// used again, a server has long sent that end (it is usually in the buffer already), so this
// costs at most one read that finds data, where draining at once costs a read that finds
// nothing yet and a wake-up.
func (c *leanConn) finishRest() bool {
	rest := c.rest
	if rest == nil {
		return true
	}
	c.rest = nil
	if c.br.Buffered() < len("0\r\n\r\n") {
		// The socket must be read: bound the wait on a server that never ends the body.
		c.SetReadDeadline(time.Now().Add(restTimeout))
		defer c.SetReadDeadline(time.Time{})
	}
	var buf [512]byte
	for n := 0; n <= maxRest; {
		m, err := rest.Read(buf[:])
		n += m
		if err == io.EOF {
			return true
		}
		if err != nil {
			return false
		}
	}
	return false
}

// probeAfter is how long a connection may sit idle before it is checked before reuse: a
// server may close idle keep-alive connections (Node.js does after 5 s), and a request sent
// on one that is already closed would be lost.
const probeAfter = time.Second

// alive peeks at the socket without blocking: a connection the server has closed reads EOF
// (or unexpected bytes), a live idle one has nothing to read.
func (c *leanConn) alive() bool {
	if c.br.Buffered() > 0 {
		return false // bytes nobody asked for: not a clean idle connection
	}
	if c.raw == nil {
		return true
	}
	idle := false
	var buf [1]byte
	err := c.raw.Read(func(fd uintptr) bool {
		_, _, err := syscall.Recvfrom(int(fd), buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		idle = err == syscall.EAGAIN || err == syscall.EWOULDBLOCK
		return true // never wait
	})
	return err == nil && idle
}

// poolKey names the pool of connections to one origin (a struct: no string built per request).
type poolKey struct{ scheme, host string }

func (t *LeanTransport) key(req *http.Request) poolKey { return poolKey{req.URL.Scheme, req.URL.Host} }

func (t *LeanTransport) get(key poolKey) *leanConn {
	timeout := t.IdleTimeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	for {
		t.mu.Lock()
		conns := t.idle[key]
		if len(conns) == 0 {
			t.mu.Unlock()
			return nil
		}
		c := conns[len(conns)-1]
		t.idle[key] = conns[:len(conns)-1]
		t.mu.Unlock()
		// Outside the lock: finishing a body may read the socket.
		idle := time.Since(c.since)
		if idle < timeout && c.finishRest() && (idle < probeAfter || c.alive()) {
			return c
		}
		c.Close()
	}
}

func (t *LeanTransport) put(key poolKey, c *leanConn) {
	max := t.MaxIdle
	if max <= 0 {
		max = 64
	}
	c.since = time.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.idle == nil {
		t.idle = map[poolKey][]*leanConn{}
	}
	if len(t.idle[key]) >= max {
		c.Close()
		return
	}
	t.idle[key] = append(t.idle[key], c)
}

// CloseIdleConnections closes every pooled connection.
func (t *LeanTransport) CloseIdleConnections() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for k, conns := range t.idle {
		for _, c := range conns {
			c.Close()
		}
		delete(t.idle, k)
	}
}

func (t *LeanTransport) dial(ctx context.Context, req *http.Request) (*leanConn, error) {
	d := t.Dialer
	if d == nil {
		d = &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	}
	host := req.URL.Host
	if req.URL.Port() == "" {
		if req.URL.Scheme == "https" {
			host = net.JoinHostPort(req.URL.Hostname(), "443")
		} else {
			host = net.JoinHostPort(req.URL.Hostname(), "80")
		}
	}
	nc, err := d.DialContext(ctx, "tcp", host)
	if err != nil {
		return nil, err
	}
	nc = sockio.Wrap(nc) // reads and writes without the runtime's syscall bookkeeping
	size := t.ReadBuffer
	if size <= 0 {
		size = 64 << 10
	}
	lc := &leanConn{br: bufio.NewReaderSize(nc, size), bw: bufio.NewWriterSize(nc, 16<<10)}
	lc.rr = http1.NewResponseReader(lc.br)
	if sc, ok := nc.(syscall.Conn); ok {
		lc.raw, _ = sc.SyscallConn()
	}
	if req.URL.Scheme == "https" {
		cfg := t.TLSConfig.Clone()
		if cfg == nil {
			cfg = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		if cfg.ServerName == "" {
			cfg.ServerName = req.URL.Hostname()
		}
		cfg.NextProtos = []string{"http/1.1"}
		tc := tls.Client(nc, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			nc.Close()
			return nil, err
		}
		nc = tc
		lc.br.Reset(nc)
		lc.bw.Reset(nc)
	}
	lc.Conn = nc
	return lc, nil
}

// RoundTrip sends req and returns the response; its body reads from the connection in the
// caller's goroutine, and the connection returns to the pool when the body is read to the end
// and closed.
func (t *LeanTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	return t.roundTrip(req.Context(), req)
}

// roundTrip is RoundTrip with the exchange bound to ctx too (when it is not the request's
// own): ending either ctx or the request's context closes the connection, until the body
// is closed. (Two bindings on the connection cost less than a context merging the two.)
func (t *LeanTransport) roundTrip(ctx context.Context, req *http.Request) (*http.Response, error) {
	if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
		return nil, fmt.Errorf("lean transport: unsupported scheme %q", req.URL.Scheme)
	}
	key := t.key(req)
	// A pooled connection the server has closed meanwhile fails before any response byte:
	// then (and only then) the request goes again on a fresh connection, as net/http does.
	for attempt := 0; ; attempt++ {
		c := t.get(key)
		reused := c != nil
		if c == nil {
			dctx := req.Context()
			if ctx != dctx {
				var cancel context.CancelFunc
				dctx, cancel = context.WithCancel(dctx)
				stop := context.AfterFunc(ctx, cancel)
				defer stop()
				defer cancel()
			}
			var err error
			if c, err = t.dial(dctx, req); err != nil {
				return nil, err
			}
		}
		resp, err := t.exchange(c, req, ctx)
		if err == nil {
			return resp, nil
		}
		c.Close()
		// Only an idempotent request is sent again: a POST (an MCP call) that may have reached
		// the server is never repeated; its caller gets the error instead.
		if reused && attempt == 0 && errors.Is(err, errStaleConn) && idempotent(req.Method) && (req.Body == nil || req.GetBody != nil) {
			if req.GetBody != nil {
				body, gerr := req.GetBody()
				if gerr != nil {
					return nil, gerr
				}
				req = req.Clone(req.Context())
				req.Body = body
			}
			continue
		}
		return nil, err
	}
}

var errStaleConn = errors.New("connection closed by the server before a response")

func idempotent(method string) bool {
	return method == http.MethodGet || method == http.MethodHead || method == http.MethodDelete || method == http.MethodOptions
}

func (t *LeanTransport) exchange(c *leanConn, req *http.Request, bound context.Context) (*http.Response, error) {
	// Cancelling the request (or bound) closes the connection, which ends any read or write.
	closeConn := func() { c.Close() }
	stop := context.AfterFunc(req.Context(), closeConn)
	if bound != req.Context() {
		stopReq, stopBound := stop, context.AfterFunc(bound, closeConn)
		stop = func() bool {
			a, b := stopReq(), stopBound()
			return a && b
		}
	}
	ctxErr := func() error {
		if err := bound.Err(); err != nil {
			return err
		}
		return req.Context().Err()
	}
	err := http1.WriteRequest(c.bw, req)
	if errors.Is(err, http1.ErrUnknownLength) {
		err = req.Write(c.bw) // a streamed body: net/http frames it (chunked)
	} else if req.Body != nil {
		req.Body.Close()
	}
	if err != nil {
		stop()
		return nil, err
	}
	if err := c.bw.Flush(); err != nil {
		stop()
		return nil, err
	}
	if _, err := c.br.Peek(1); err != nil {
		stop()
		if err := ctxErr(); err != nil {
			return nil, err
		}
		if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) {
			return nil, errStaleConn
		}
		return nil, err
	}
	resp, err := c.rr.Read(req)
	if err != nil {
		stop()
		return nil, err
	}
	resp.Body = &leanBody{rc: resp.Body, t: t, c: c, key: t.key(req), stop: stop, reuse: !resp.Close && !req.Close}
	return resp, nil
}

// leanBody returns the connection to the pool once the body was read to its end.
type leanBody struct {
	rc    io.ReadCloser
	t     *LeanTransport
	c     *leanConn
	key   poolKey
	stop  func() bool
	reuse bool
	eof   atomic.Bool // Close may run beside a Read: drain's timeout calls it to end one
	done  atomic.Bool
}

func (b *leanBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if err == io.EOF {
		b.eof.Store(true)
	}
	return n, err
}

// closeUnread ends a body whose caller has what it needs (an event stream's response
// arrived) without waiting for the rest: the connection goes back to the pool, and its next
// request reads that rest first. A body that cannot be finished that way closes the
// connection.
func (b *leanBody) closeUnread() {
	if !b.done.CompareAndSwap(false, true) {
		return
	}
	stopped := b.stop()
	if b.eof.Load() {
		if err := b.rc.Close(); err == nil && b.reuse && stopped {
			b.t.put(b.key, b.c)
			return
		}
		b.c.Close()
		return
	}
	if !b.reuse || !stopped {
		b.c.Close()
		return
	}
	b.c.rest = b.rc
	b.t.put(b.key, b.c)
}

// finishBody ends a response body whose message has arrived: a lean connection reads the
// rest when it is next used, any other body is drained now.
func finishBody(body io.ReadCloser) {
	if lb, ok := body.(*leanBody); ok {
		lb.closeUnread()
		return
	}
	drain(body)
}

// Close returns the connection to the pool when the body was read to its end. Otherwise it
// closes the connection first, so that neither a Read in progress nor the body's own Close
// (which reads the rest) waits on a server that never ends the body.
func (b *leanBody) Close() error {
	if !b.done.CompareAndSwap(false, true) {
		return nil
	}
	stopped := b.stop()
	if !b.eof.Load() {
		b.c.Close()
		b.rc.Close()
		return nil
	}
	err := b.rc.Close()
	if b.reuse && stopped && err == nil {
		b.t.put(b.key, b.c)
		return nil
	}
	b.c.Close()
	return err
}
