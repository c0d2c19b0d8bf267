package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"gatehouse/internal/identity"
	"gatehouse/internal/upstream"
)

// server is the gateway's view of one configured upstream: how to reach it, whether its
// connection is shared, and its health.
type server struct {
	g             *Gateway
	name          string
	dialer        upstream.Dialer
	shared        bool
	actsForCaller bool
	plain         bool // names offered without prefix
	timeout       time.Duration
	allowMethods  map[string]bool
	logger        *slog.Logger
	minBackoff    time.Duration
	maxBackoff    time.Duration

	mu       sync.Mutex
	leg      *leg          // the shared leg while it is up
	ready    chan struct{} // closed when the first shared dial attempt has finished
	lastErr  error         // why the last dial or connection failed
	retryAt  time.Time     // no new per-session dial before this
	failures int
	caps     serverCaps // last known capabilities
	hasCaps  bool

	stateless  *upstream.Stateless
	modern     modernState
	modernOnly bool       // refuses sessions; reached with the stateless revision only
	slLeg      *leg       // session-based leg for stateless clients of a per-session server
	slMu       sync.Mutex // serialises dialling slLeg

	annMu sync.Mutex
	ann   map[string]map[string]any // tool → annotations, from the last tools/list

	// withheld bounds the security records of notifications this upstream sends that
	// inspection withholds: the upstream, not a client, decides how many it sends.
	withheld withheldRecords

	// relists throttles the re-checks of this upstream's lists that its list_changed ask for.
	relists throttle

	// notes bounds the log and progress notifications of this upstream that go on (nil: no
	// bound); notesDropped counts the rest, and notesLog spaces the warnings about them.
	notes        *rate.Limiter
	notesLog     *rate.Limiter
	notesDropped atomic.Int64
}

// admitNote reports whether a log or progress notification from this upstream may go on.
// The upstream, not a client, decides how many it sends, and each one forwarded costs a
// write to a client's stream (and inspection); past limits.upstream_notifications_per_second
// a flood costs the gateway only the reading of it. Dropped ones are counted and logged, at
// most once per notesLogEvery.
func (s *server) admitNote(method string) bool {
	if s.notes == nil || s.notes.Allow() {
		return true
	}
	n := s.notesDropped.Add(1)
	if s.notesLog.Allow() {
		s.logger.Warn("upstream notifications dropped: more than limits.upstream_notifications_per_second",
			"method", method, "dropped_so_far", n)
	}
	return false
}

// notesLogEvery spaces the warnings about dropped notifications.
const notesLogEvery = 10 * time.Second

type modernState uint8

const (
	modernUnknown modernState = iota
	modernYes
	modernNo
)

// UpstreamSpec describes one upstream to the gateway.
type UpstreamSpec struct {
	Name           string
	Dialer         upstream.Dialer
	Shared         bool // one connection for all sessions (else one per session)
	RequestTimeout time.Duration
	AllowMethods   []string
	// Plain offers this server's names without the "<name><separator>" prefix (at most one).
	Plain      bool
	MinBackoff time.Duration
	// Stateless, if set, reaches the same upstream with the stateless revision; requests of
	// 2026-07-28 clients go that way when the upstream speaks it.
	Stateless  *upstream.Stateless
	MaxBackoff time.Duration
	// ActsForCaller says the upstream's credentials are made for each caller (token
	// exchange): the gateway cannot reach it on its own, only through a client's session.
	ActsForCaller bool
}

func newServer(g *Gateway, spec UpstreamSpec) *server {
	s := &server{
		g:             g,
		name:          spec.Name,
		dialer:        spec.Dialer,
		shared:        spec.Shared,
		actsForCaller: spec.ActsForCaller,
		plain:         spec.Plain,
		timeout:       spec.RequestTimeout,
		allowMethods:  make(map[string]bool),
		logger:        g.logger.With("upstream", spec.Name),
		minBackoff:    spec.MinBackoff,
		maxBackoff:    spec.MaxBackoff,
		ready:         make(chan struct{}),
		stateless:     spec.Stateless,
		withheld:      withheldRecords{lim: rate.NewLimiter(withheldRate, withheldBurst)},
	}
	if n := g.limits.UpstreamNotes; n > 0 {
		s.notes = rate.NewLimiter(rate.Limit(n), 2*n)
		s.notesLog = rate.NewLimiter(rate.Every(notesLogEvery), 1)
	}
	if s.timeout <= 0 {
		s.timeout = 2 * time.Minute
	}
	if s.minBackoff <= 0 {
		s.minBackoff = 500 * time.Millisecond
	}
	if s.maxBackoff < s.minBackoff {
		s.maxBackoff = 30 * time.Second
	}
	for _, m := range spec.AllowMethods {
		s.allowMethods[m] = true
	}
	return s
}

func (s *server) backoff(failures int) time.Duration {
	d := s.minBackoff
	for i := 1; i < failures && d < s.maxBackoff; i++ {
		d *= 2
	}
	return min(d, s.maxBackoff)
}

// run keeps the shared leg up: dial, initialize, serve until it breaks, back off, again.
// It returns when ctx ends.
func (s *server) run(ctx context.Context) {
	first, everUp := true, false
	for {
		l := newLeg(s, nil)
		dctx, cancel := context.WithTimeout(ctx, s.timeout)
		err := l.dial(dctx, s.g.sharedInitParams())
		cancel()
		s.mu.Lock()
		if err == nil {
			s.leg, s.lastErr, s.failures = l, nil, 0
			s.caps, s.hasCaps = l.caps, true
		} else {
			s.lastErr = err
			s.failures++
		}
		failures := s.failures
		if first {
			close(s.ready)
			first = false
		}
		s.mu.Unlock()
		if err == nil {
			s.logger.Info("upstream ready", "protocol_version", l.protocolVersion)
			if everUp {
				// A restarted server may offer other tools: clients should list again.
				s.g.upstreamRestored(s)
			}
			everUp = true
			select {
			case <-l.conn.Done():
			case <-ctx.Done():
				l.close()
				return
			}
			s.mu.Lock()
			s.leg = nil
			s.lastErr = l.conn.Err()
			s.failures = 1
			failures = 1
			s.mu.Unlock()
		} else if ctx.Err() == nil {
			s.logger.Warn("upstream unavailable", "err", err, "retry_in", s.backoff(failures))
		}
		select {
		case <-time.After(s.backoff(failures)):
		case <-ctx.Done():
			return
		}
	}
}

// legDown is called when any leg of this server ends.
func (s *server) legDown(l *leg, err error) {
	if l.owner != nil {
		l.owner.dropLeg(s, l)
	}
	// Only a connection that was up and ended by itself says something about the server's
	// health; a deliberate close or a failed dial (which records its own error) does not.
	if !l.shared() && l.up.Load() && !l.closing.Load() && err != nil {
		s.mu.Lock()
		s.lastErr = err
		s.mu.Unlock()
	}
}

// legFor returns a ready leg for the session: the shared one, or the session's own (dialled
// on first use).
func (s *server) legFor(ctx context.Context, sess *Session) (*leg, error) {
	if s.shared {
		select {
		case <-s.ready:
		case <-ctx.Done():
			return nil, upstreamError(s.name, fmt.Errorf("still starting: %w", ctx.Err()))
		}
		s.mu.Lock()
		l, lastErr := s.leg, s.lastErr
		s.mu.Unlock()
		if l == nil || l.isClosed() {
			if lastErr == nil {
				lastErr = errors.New("not connected")
			}
			return nil, upstreamError(s.name, lastErr)
		}
		return l, nil
	}
	if sess.modern {
		return s.statelessLeg(ctx, sess)
	}
	return sess.ownLeg(ctx, s)
}

// statelessLeg is the session-based connection that serves the stateless clients of a
// per-session server that does not speak the stateless revision itself.
func (s *server) statelessLeg(ctx context.Context, sess *Session) (*leg, error) {
	s.slMu.Lock()
	defer s.slMu.Unlock()
	if l := s.slLeg; l != nil && !l.isClosed() {
		return l, nil
	}
	l, err := s.dialFor(ctx, nil)
	if err != nil {
		return nil, err
	}
	l.forStateless = true
	s.slLeg = l
	return l, nil
}

// dialFor opens a per-session leg (sess nil: a gateway-owned one), respecting the server's
// backoff after failures.
func (s *server) dialFor(ctx context.Context, sess *Session) (*leg, error) {
	s.mu.Lock()
	if wait := time.Until(s.retryAt); wait > 0 && s.lastErr != nil {
		err := s.lastErr
		s.mu.Unlock()
		return nil, upstreamError(s.name, fmt.Errorf("%v (next attempt in %s)", err, wait.Round(time.Millisecond)))
	}
	s.mu.Unlock()
	l := newLeg(s, sess)
	dctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	init := s.g.sharedInitParams()
	if sess != nil {
		init = sess.upstreamInitParams()
		// The connection is the session's: credential sources (token exchange) act for
		// its identity, whatever request happens to open it.
		dctx = identity.NewContext(dctx, sess.identity)
	}
	err := l.dial(dctx, init)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		s.failures++
		s.lastErr = err
		s.retryAt = time.Now().Add(s.backoff(s.failures))
		s.logger.Warn("upstream unavailable", "err", err)
		return nil, upstreamError(s.name, err)
	}
	s.failures, s.lastErr = 0, nil
	s.caps, s.hasCaps = l.caps, true
	return l, nil
}

// knownCaps returns the server's last known capabilities.
func (s *server) knownCaps() (serverCaps, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.caps, s.hasCaps
}

// Health is one upstream's state for the health endpoint.
type Health struct {
	Name   string `json:"name"`
	Shared bool   `json:"shared"`
	Up     bool   `json:"up"`
	Error  string `json:"error,omitempty"`
}

func (s *server) health() Health {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := Health{Name: s.name, Shared: s.shared}
	if s.shared {
		h.Up = s.leg != nil && !s.leg.isClosed()
	} else {
		h.Up = s.lastErr == nil
	}
	if s.lastErr != nil {
		h.Error = s.lastErr.Error()
	}
	return h
}
