package http1

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// watchDelay is how long a handler runs before the server starts watching its connection
// for the client going away. Most calls end sooner and never pay for the watch (a read
// that finds nothing, and a wake-up to stop it); streams start it when they first flush.
const watchDelay = 50 * time.Millisecond

// maxDrain is how much of a request body the handler left unread the server reads to keep
// the connection; a larger rest closes it.
const maxDrain = 256 << 10

// idleBuf is the most buffer capacity a connection keeps between requests.
const idleBuf = 4 << 10

const (
	stateNew int32 = iota
	stateActive
	stateIdle
	stateClosed
)

// conn is one client connection. Its goroutine reads a request, runs the handler and
// writes the response, one exchange at a time (pipelined requests wait their turn).
type conn struct {
	srv    *Server
	rwc    net.Conn
	ctx    context.Context // cancelled when the server closes
	remote string
	tls    *tls.ConnectionState
	br     *bufio.Reader
	parser parser
	head   []byte      // the request head being read
	out    []byte      // bytes for the socket, written at the end of a response or a flush
	pend   []byte      // body held back until the response's framing is known
	vec    net.Buffers // scratch for writev
	resp   response
	state  atomic.Int32

	// The watch: while a handler runs (and its request body has been read), one read on
	// the socket notices the client going away and cancels the request's context.
	mu        sync.Mutex
	running   bool
	bodyEOF   bool // the request body was read to its end: the socket is free to watch
	pipelined bool // the next request's bytes are already buffered: the client is there
	wanted    bool // the watch is due once the body is read
	watching  bool // a watch read is in flight
	aborting  bool // the server is ending the watch read (its error is not the client's)
	gone      bool // the client went away
	cancel    context.CancelFunc
	watchDone chan struct{}
	timer     *time.Timer
	early     [1]byte // a byte the watch read (of a pipelined request)
	hasEarly  bool
}

// connReader feeds the buffered reader, first with a byte the watch read, if any.
type connReader struct{ c *conn }

func (r connReader) Read(p []byte) (int, error) {
	c := r.c
	if c.hasEarly && len(p) > 0 {
		c.hasEarly = false
		p[0] = c.early[0]
		return 1, nil
	}
	return c.rwc.Read(p)
}

func (c *conn) serve() {
	defer c.close()
	if tc, ok := c.rwc.(*tls.Conn); ok {
		if d := c.srv.ReadHeaderTimeout; d > 0 {
			tc.SetDeadline(time.Now().Add(d))
		}
		if err := tc.HandshakeContext(c.ctx); err != nil {
			c.srv.debug("TLS handshake failed", "remote", c.remote, "error", err)
			return
		}
		tc.SetDeadline(time.Time{})
		st := tc.ConnectionState()
		c.tls = &st
	}
	for {
		h, err := c.readHead()
		if err != nil {
			var he *headError
			if errors.As(err, &he) {
				c.refuse(he)
			}
			return
		}
		if !c.exchange(h) {
			return
		}
	}
}

// readHead waits for the next request (at most IdleTimeout) and reads its head (at most
// ReadHeaderTimeout, MaxHeaderBytes).
func (c *conn) readHead() (*head, error) {
	s := c.srv
	c.state.Store(stateIdle)
	if s.shuttingDown() {
		return nil, http.ErrServerClosed
	}
	deadline := false
	if c.br.Buffered() == 0 {
		if s.IdleTimeout > 0 {
			c.rwc.SetReadDeadline(time.Now().Add(s.IdleTimeout))
			deadline = true
		}
		if _, err := c.br.Peek(1); err != nil {
			return nil, err
		}
	}
	c.state.Store(stateActive)
	if s.ReadHeaderTimeout > 0 && !headBuffered(c.br) {
		c.rwc.SetReadDeadline(time.Now().Add(s.ReadHeaderTimeout))
		deadline = true
	}
	max := s.maxHeaderBytes()
	c.head = c.head[:0]
	skipped := 0 // empty lines before the request line, which RFC 9112 §2.2 says to ignore
	for {
		start := len(c.head)
		for {
			frag, err := c.br.ReadSlice('\n')
			if skipped+len(c.head)+len(frag) > max {
				return nil, &headError{status: http.StatusRequestHeaderFieldsTooLarge,
					msg: fmt.Sprintf("request header section exceeds %d bytes", max)}
			}
			c.head = append(c.head, frag...)
			if err == bufio.ErrBufferFull {
				continue
			}
			if err != nil {
				if len(c.head) > 0 && err == io.EOF {
					return nil, badRequest("connection closed in the request head")
				}
				return nil, err
			}
			break
		}
		if line := c.head[start:]; len(line) == 1 || len(line) == 2 && line[0] == '\r' {
			if start > 0 {
				break
			}
			skipped += len(line)
			c.head = c.head[:0]
		}
	}
	if deadline {
		c.rwc.SetReadDeadline(time.Time{})
	}
	h, herr := c.parser.parse(c.head)
	if cap(c.head) > idleBuf {
		c.head = nil // parse copied what it keeps
	}
	if herr != nil {
		return nil, herr
	}
	return h, nil
}

// headBuffered reports whether a whole request head is already in br's buffer, so that
// reading it needs no deadline.
func headBuffered(br *bufio.Reader) bool {
	b, _ := br.Peek(br.Buffered())
	for i := 0; i+1 < len(b); i++ {
		if b[i] == '\n' && (b[i+1] == '\n' || b[i+1] == '\r' && i+2 < len(b) && b[i+2] == '\n') {
			return true
		}
	}
	return false
}

// exchange runs the handler on one request and completes its response. It reports
// whether the connection may carry another request.
func (c *conn) exchange(h *head) (keep bool) {
	ctx, cancel := context.WithCancel(c.ctx)
	defer cancel()
	// A value, so that only WithContext's copy is on the heap.
	r := http.Request{
		Method:     h.method,
		URL:        h.url,
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: h.minor,
		Header:     h.header,
		Host:       h.host,
		RemoteAddr: c.remote,
		RequestURI: h.target,
		TLS:        c.tls,
		Close:      h.close,
	}
	if h.minor == 0 {
		r.Proto = "HTTP/1.0"
	}
	rb := newBody(c, h, c.srv.maxHeaderBytes())
	r.Body = rb
	r.ContentLength = h.length
	if h.chunked {
		r.TransferEncoding = []string{"chunked"}
	}
	req := r.WithContext(ctx)

	hdr := c.resp.header
	if hdr == nil {
		hdr = make(http.Header, 4)
	}
	clear(hdr)
	c.resp = response{c: c, header: hdr, minor: h.minor, isHead: h.method == http.MethodHead, declared: -1, closing: h.close}
	w := &c.resp

	c.mu.Lock()
	c.running, c.gone, c.wanted, c.cancel = true, false, false, cancel
	c.bodyEOF = rb == http.NoBody
	c.pipelined = c.bodyEOF && c.br.Buffered() > 0
	c.mu.Unlock()
	if c.timer == nil {
		c.timer = time.AfterFunc(watchDelay, c.watchNow)
	} else {
		c.timer.Reset(watchDelay)
	}

	panicked := c.run(w, req)
	c.stopWatch()
	if panicked {
		return false
	}
	b, unread := rb.(*body)
	unread = unread && !b.done()
	if unread && (b.continued || b.err != nil || b.chunks == nil && b.remaining > maxDrain) {
		// The client waits for 100 Continue, or the rest is broken or too large to read:
		// the response says the connection ends.
		w.closing = true
	}
	keep = w.finish()
	if cap(c.pend) > idleBuf || cap(c.out) > idleBuf {
		c.pend, c.out = nil, nil // an idle connection does not keep a large response's buffers
	}
	if keep && unread {
		keep = c.drain(b)
	}
	return keep && !c.gone && !c.srv.shuttingDown()
}

// run calls the handler, turning a panic into a closed connection (and a log line, except
// for http.ErrAbortHandler).
func (c *conn) run(w *response, req *http.Request) (panicked bool) {
	defer func() {
		if v := recover(); v != nil {
			panicked = true
			if v != http.ErrAbortHandler {
				buf := make([]byte, 16<<10)
				buf = buf[:runtime.Stack(buf, false)]
				c.srv.logger().Error("http handler panicked", "remote", c.remote, "method", req.Method, "path", req.URL.Path, "panic", fmt.Sprint(v), "stack", string(buf))
			}
		}
	}()
	c.srv.Handler.ServeHTTP(w, req)
	return false
}

// drain reads what the handler left of the request body, if that is little, so that the
// connection can carry the next request.
func (c *conn) drain(b *body) bool {
	if b.continued || b.err != nil {
		return false // the client still waits for 100 Continue, or the body is broken
	}
	c.rwc.SetReadDeadline(time.Now().Add(time.Second))
	defer c.rwc.SetReadDeadline(time.Time{})
	n, err := io.CopyN(io.Discard, b, maxDrain+1)
	return err == io.EOF && n <= maxDrain
}

// watchNow starts the watch, now or as soon as the request body has been read. It is
// called by the timer (a handler running for watchDelay) and by a flush (a streamed
// response).
func (c *conn) watchNow() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.running || c.watching || c.gone || c.pipelined {
		return
	}
	if !c.bodyEOF {
		c.wanted = true
		return
	}
	c.watching = true
	c.watchDone = make(chan struct{})
	go c.watch()
}

// bodyDone is called by the body when the handler has read it to its end.
func (c *conn) bodyDone() {
	c.mu.Lock()
	c.bodyEOF = true
	c.pipelined = c.br.Buffered() > 0
	wanted := c.wanted
	c.mu.Unlock()
	if wanted {
		c.watchNow()
	}
}

// watch reads one byte: the next request's (kept for it), or the end of the connection,
// which cancels the running request's context.
func (c *conn) watch() {
	n, err := c.rwc.Read(c.early[:])
	c.mu.Lock()
	defer c.mu.Unlock()
	if n == 1 {
		c.hasEarly = true
	} else if err != nil && !c.aborting && !isTimeout(err) {
		c.gone = true
		c.cancel()
	}
	c.watching = false
	close(c.watchDone)
}

// stopWatch ends the watch when the handler has returned.
func (c *conn) stopWatch() {
	c.timer.Stop()
	c.mu.Lock()
	c.running, c.wanted = false, false
	watching, done := c.watching, c.watchDone
	c.aborting = watching
	c.mu.Unlock()
	if watching {
		c.rwc.SetReadDeadline(aLongTimeAgo)
		<-done
		c.rwc.SetReadDeadline(time.Time{})
		c.mu.Lock()
		c.aborting = false
		c.mu.Unlock()
	}
}

var aLongTimeAgo = time.Unix(1, 0)

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func (c *conn) writeContinue() error {
	c.rwc.SetWriteDeadline(time.Now().Add(5 * time.Second))
	defer c.rwc.SetWriteDeadline(time.Time{})
	_, err := io.WriteString(c.rwc, "HTTP/1.1 100 Continue\r\n\r\n")
	return err
}

// vectorWriter is a connection that gathers buffers into one write itself (sockio.Conn).
type vectorWriter interface {
	Writev(v [][]byte) (int64, error)
}

// writev writes c.out and then p (which may be nil) in one system call where the socket
// allows, and empties c.out.
func (c *conn) writev(p []byte) error {
	if len(c.out) == 0 && len(p) == 0 {
		return nil
	}
	var err error
	switch {
	case len(p) == 0:
		_, err = c.rwc.Write(c.out)
	case len(c.out) == 0:
		_, err = c.rwc.Write(p)
	default:
		c.vec = append(c.vec[:0], c.out, p)
		if wv, ok := c.rwc.(vectorWriter); ok {
			_, err = wv.Writev(c.vec)
		} else {
			v := c.vec
			_, err = v.WriteTo(c.rwc)
		}
		c.vec[0], c.vec[1] = nil, nil
	}
	c.out = c.out[:0]
	if cap(c.out) > 64<<10 {
		c.out = nil // one large response does not pin its buffer for the connection's life
	}
	return err
}

// refuse answers a request head the server will not serve, and the connection ends.
func (c *conn) refuse(he *headError) {
	c.srv.info("request refused", "remote", c.remote, "status", he.status, "reason", he.msg)
	ctype, body := c.srv.errorBody(he.status, he.msg)
	c.rwc.SetWriteDeadline(time.Now().Add(5 * time.Second))
	b := fmt.Appendf(c.out[:0], "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %d\r\nConnection: close\r\nDate: %s\r\n\r\n",
		he.status, http.StatusText(he.status), ctype, len(body), c.srv.date())
	c.rwc.Write(append(b, body...))
	// Let the client read the answer before the close resets the connection.
	if tc, ok := c.rwc.(interface{ CloseWrite() error }); ok {
		tc.CloseWrite()
		c.rwc.SetReadDeadline(time.Now().Add(time.Second))
		io.CopyN(io.Discard, c.rwc, 256<<10)
	}
}

func (c *conn) close() {
	c.state.Store(stateClosed)
	if c.timer != nil {
		c.timer.Stop()
	}
	c.rwc.Close()
	c.srv.untrack(c)
}
