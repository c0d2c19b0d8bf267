package http1

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"gatehouse/internal/sockio"
)

// Server serves HTTP/1.1 to an http.Handler. Set its fields before Serve; they are not
// changed afterwards.
type Server struct {
	Handler http.Handler
	// TLSConfig, if set, makes Serve speak TLS (ALPN: http/1.1 only).
	TLSConfig *tls.Config
	// ReadHeaderTimeout bounds the reading of a request head (and the TLS handshake);
	// IdleTimeout the wait for the next request on a kept-alive connection. Zero means none.
	ReadHeaderTimeout time.Duration
	IdleTimeout       time.Duration
	// MaxHeaderBytes bounds a request head (request line and header fields), and a chunked
	// body's trailer section: 431 beyond it. Zero means 1 MiB, as net/http.
	MaxHeaderBytes int
	// ErrorBody makes the body of a refusal the server sends itself (a malformed request,
	// a head too large); nil sends the reason as plain text.
	ErrorBody func(status int, reason string) (contentType string, body []byte)
	Logger    *slog.Logger

	mu       sync.Mutex
	ctx      context.Context
	stop     context.CancelFunc
	lns      map[net.Listener]struct{}
	conns    map[*conn]struct{}
	closing  atomic.Bool
	dates    dateCache
	initOnce sync.Once
}

func (s *Server) init() {
	s.initOnce.Do(func() {
		s.ctx, s.stop = context.WithCancel(context.Background())
		s.lns = map[net.Listener]struct{}{}
		s.conns = map[*conn]struct{}{}
	})
}

// Serve accepts connections on ln until Shutdown or Close, and then returns
// http.ErrServerClosed; any other error of ln's ends it too.
func (s *Server) Serve(ln net.Listener) error {
	s.init()
	ln = sockio.Listener(ln) // reads and writes without the runtime's syscall bookkeeping
	if s.TLSConfig != nil {
		cfg := s.TLSConfig.Clone()
		cfg.NextProtos = []string{"http/1.1"}
		ln = tls.NewListener(ln, cfg)
	}
	s.mu.Lock()
	if s.closing.Load() {
		s.mu.Unlock()
		ln.Close()
		return http.ErrServerClosed
	}
	s.lns[ln] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.lns, ln)
		s.mu.Unlock()
	}()
	var backoff time.Duration
	for {
		rwc, err := ln.Accept()
		if err != nil {
			if s.closing.Load() {
				return http.ErrServerClosed
			}
			if errors.Is(err, net.ErrClosed) {
				return err
			}
			// Out of file descriptors and the like: wait and try again, as net/http does.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			s.logger().Warn("accept failed; retrying", "error", err, "in", backoff)
			select {
			case <-time.After(backoff):
			case <-s.ctx.Done():
				return http.ErrServerClosed
			}
			continue
		}
		backoff = 0
		c := &conn{srv: s, rwc: rwc, ctx: s.ctx, remote: rwc.RemoteAddr().String()}
		c.br = bufio.NewReader(connReader{c})
		if !s.track(c) {
			rwc.Close()
			return http.ErrServerClosed
		}
		go c.serve()
	}
}

func (s *Server) track(c *conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing.Load() {
		return false
	}
	s.conns[c] = struct{}{}
	return true
}

func (s *Server) untrack(c *conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
}

// Shutdown stops accepting, closes idle connections and waits for the others to finish
// their exchange (they close after it), until ctx ends; then it returns ctx's error and
// leaves the rest to Close.
func (s *Server) Shutdown(ctx context.Context) error {
	s.init()
	s.closeListeners()
	wait := time.Millisecond
	for {
		if s.closeIdle() == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, 100*time.Millisecond)
	}
}

// Close closes the listeners and every connection at once.
func (s *Server) Close() error {
	s.init()
	s.closeListeners()
	s.stop()
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		c.rwc.Close()
	}
	return nil
}

func (s *Server) closeListeners() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closing.Store(true)
	for ln := range s.lns {
		ln.Close()
	}
}

// closeIdle closes the connections that wait for a request, and counts those left.
func (s *Server) closeIdle() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		// A connection accepted but not yet read from counts as idle too.
		if st := c.state.Load(); st == stateIdle || st == stateNew {
			c.rwc.Close()
		}
	}
	return len(s.conns)
}

func (s *Server) shuttingDown() bool { return s.closing.Load() }

func (s *Server) maxHeaderBytes() int {
	if s.MaxHeaderBytes > 0 {
		return s.MaxHeaderBytes
	}
	return 1 << 20
}

func (s *Server) date() string { return s.dates.get(time.Now()) }

func (s *Server) errorBody(status int, reason string) (string, []byte) {
	if s.ErrorBody != nil {
		return s.ErrorBody(status, reason)
	}
	return "text/plain; charset=utf-8", []byte(http.StatusText(status) + ": " + reason + "\n")
}

func (s *Server) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

func (s *Server) info(msg string, args ...any)  { s.logger().Info(msg, args...) }
func (s *Server) debug(msg string, args ...any) { s.logger().Debug(msg, args...) }
