package gateway

import (
	"gatehouse/internal/integrity"
	"sync/atomic"

	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"gatehouse/internal/audit"
	"gatehouse/internal/identity"
	"gatehouse/internal/policy"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"gatehouse/internal/jsonrpc"
)

// Protocol versions of the session-based generation, newest first.
func sessionVersions() []string {
	return []string{"2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"}
}

// upstreamProtocolVersion is what the gateway offers upstreams.
const upstreamProtocolVersion = "2025-11-25"

func supportedVersion(v string) bool { return slices.Contains(sessionVersions(), v) }

// SupportedVersions lists the session-based protocol versions the gateway speaks to clients.
func SupportedVersions() []string { return sessionVersions() }

// Limits are the gateway's per-session limits.
type Limits struct {
	MaxMessage int // bytes of one message
	MaxPending int // client requests in flight per session
	// UpstreamNotes is how many log and progress notifications per second one upstream may
	// have forwarded (bursts of twice as many); the rest are dropped. 0: no limit.
	UpstreamNotes int
}

// Options configure a Gateway.
type Options struct {
	Name      string // serverInfo.name
	Version   string // serverInfo.version
	Separator string // namespace separator
	Limits    Limits
	Upstreams []UpstreamSpec
	Logger    *slog.Logger
	// Policy decides who may use what; nil denies everything (no policy configured).
	Policy *policy.Policy
	// Audit records every decision and outcome; nil records nothing.
	Audit *audit.Auditor
	// AuditFailOpen forwards requests whose record could not be written (an explicit,
	// logged configuration choice); by default they are refused.
	AuditFailOpen bool
	// Inspection inspects content; nil inspects nothing.
	Inspection *Inspection
	// Pins holds the approved definitions; nil pins nothing.
	Pins *integrity.Store
	// ParkTTL bounds how long a call parked for a stateless client's input_required round
	// waits for the client's retry; 0 means 5 minutes.
	ParkTTL time.Duration
}

// Gateway routes MCP messages between client sessions and upstream servers.
type Gateway struct {
	name, version string
	sep           string
	limits        Limits
	logger        *slog.Logger
	servers       []*server
	byName        map[string]*server
	plain         *server // the server whose names carry no prefix, if any
	pipe          *Pipeline
	pol           atomic.Pointer[policy.Policy]
	insp          atomic.Pointer[Inspection]
	pins          *integrity.Store // nil: definitions are not pinned
	poisoned      sync.Map         // definitionKey → why inspection withheld that definition
	shadows       sync.Map         // shadowing pairs already reported
	audit         *audit.Auditor
	auditFailOpen bool
	cursorKey     []byte
	parkTTL       time.Duration

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu       sync.Mutex
	sessions map[*Session]struct{}

	parkMu sync.Mutex
	parks  map[string]*parked // calls of stateless clients waiting for input, by requestState
}

// New builds a gateway. Start connects the shared upstreams.
func New(opts Options) (*Gateway, error) {
	if opts.Separator == "" {
		return nil, errors.New("gateway: empty separator")
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	g := &Gateway{
		name:     opts.Name,
		version:  opts.Version,
		sep:      opts.Separator,
		limits:   opts.Limits,
		logger:   logger,
		byName:   make(map[string]*server),
		sessions: make(map[*Session]struct{}),
	}
	if g.name == "" {
		g.name = "gatehouse"
	}
	g.parkTTL = opts.ParkTTL
	if g.parkTTL <= 0 {
		g.parkTTL = defaultParkTTL
	}
	g.cursorKey = make([]byte, 32)
	rand.Read(g.cursorKey)
	for _, spec := range opts.Upstreams {
		if _, dup := g.byName[spec.Name]; dup {
			return nil, fmt.Errorf("gateway: duplicate upstream %q", spec.Name)
		}
		if strings.Contains(spec.Name, g.sep) {
			return nil, fmt.Errorf("gateway: upstream name %q contains the separator %q", spec.Name, g.sep)
		}
		s := newServer(g, spec)
		if s.plain {
			if g.plain != nil {
				return nil, fmt.Errorf("gateway: upstreams %q and %q both have plain names", g.plain.name, s.name)
			}
			g.plain = s
		}
		g.servers = append(g.servers, s)
		g.byName[spec.Name] = s
	}
	pol := opts.Policy
	if pol == nil {
		pol, _ = policy.Compile(nil, nil)
	}
	g.pol.Store(pol)
	g.insp.Store(opts.Inspection)
	g.pins = opts.Pins
	g.audit, g.auditFailOpen = opts.Audit, opts.AuditFailOpen
	g.pipe = newPipeline(g)
	g.ctx, g.cancel = context.WithCancel(context.Background())
	return g, nil
}

// Start connects the shared upstreams in the background; it does not wait for them.
func (g *Gateway) Start() {
	for _, s := range g.servers {
		if s.shared {
			g.wg.Add(1)
			go func() {
				defer g.wg.Done()
				s.run(g.ctx)
			}()
		}
	}
}

// Close ends every session and upstream connection and waits for them.
func (g *Gateway) Close() error {
	g.mu.Lock()
	sessions := make([]*Session, 0, len(g.sessions))
	for s := range g.sessions {
		sessions = append(sessions, s)
	}
	g.mu.Unlock()
	for _, s := range sessions {
		s.Close()
	}
	g.cancel()
	g.wg.Wait()
	return nil
}

// Health reports every upstream's state.
func (g *Gateway) Health() []Health {
	out := make([]Health, 0, len(g.servers))
	for _, s := range g.servers {
		out = append(out, s.health())
	}
	return out
}

// SessionCount returns the number of live sessions.
func (g *Gateway) SessionCount() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.sessions)
}

// NewSession opens a client-facing session. remote names the client (its address).
// id is who opened it; every request on the session is theirs.
func (g *Gateway) NewSession(remote string, id *identity.Identity) *Session {
	return g.newSession(remote, id, true)
}

// SetPolicy replaces the policy (a reload); requests already decided keep their decision.
func (g *Gateway) SetPolicy(p *policy.Policy) { g.pol.Store(p) }

// Policy returns the policy in force.
func (g *Gateway) Policy() *policy.Policy { return g.pol.Load() }

// newSession builds a session; register makes it reachable by broadcasts (list changes).
func (g *Gateway) newSession(remote string, id *identity.Identity, register bool) *Session {
	idb := make([]byte, 16)
	rand.Read(idb) // crypto/rand: session ids must not be guessable
	ctx, cancel := context.WithCancel(g.ctx)
	s := &Session{
		g:           g,
		id:          hex.EncodeToString(idb),
		remote:      remote,
		identity:    id,
		ctx:         ctx,
		cancel:      cancel,
		legs:        make(map[*server]*leg),
		dialing:     make(map[*server]*sync.Mutex),
		outPending:  make(map[int64]outCall),
		subs:        make(map[string]*server),
		uriOwner:    make(map[string]*server),
		cancelFuncs: make(map[string]*inflight),
	}
	s.logger = g.logger.With("session", s.id)
	if register {
		g.mu.Lock()
		g.sessions[s] = struct{}{}
		g.mu.Unlock()
	}
	return s
}

func (g *Gateway) removeSession(s *Session) {
	g.mu.Lock()
	delete(g.sessions, s)
	g.mu.Unlock()
}

func notificationMethod(b []byte) string {
	m, err := jsonrpc.Parse(b)
	if err != nil {
		return ""
	}
	return m.Method
}

// sessionsOf returns the sessions a message from leg l may reach: its owner, or (shared legs)
// every session.
func (g *Gateway) sessionsOf(l *leg) []*Session {
	if l.owner != nil {
		return []*Session{l.owner}
	}
	pol := g.Policy()
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make([]*Session, 0, len(g.sessions))
	for s := range g.sessions {
		if s.Initialized() && (!l.forStateless || s.listen != nil) && pol.ServerVisible(s.identity, l.srv.name) {
			out = append(out, s)
		}
	}
	return out
}

// sharedInitParams are the initialize params of the gateway's own (shared) legs. The gateway
// declares the client features it can route, and refuses per request when the client at hand
// lacks them.
func (g *Gateway) sharedInitParams() []byte {
	b, _ := json.Marshal(map[string]any{
		"protocolVersion": upstreamProtocolVersion,
		"capabilities": map[string]any{
			"sampling":    map[string]any{},
			"elicitation": map[string]any{"form": map[string]any{}, "url": map[string]any{}},
			"roots":       map[string]any{"listChanged": true},
		},
		"clientInfo": map[string]any{"name": g.name, "version": g.version},
	})
	return b
}

// upstreamRestored tells clients that a restarted upstream's lists may have changed.
func (g *Gateway) upstreamRestored(s *server) {
	caps, _ := s.knownCaps()
	var notes [][]byte
	if caps.Tools != nil {
		notes = append(notes, jsonrpc.Notification("notifications/tools/list_changed", nil))
	}
	if caps.Prompts != nil {
		notes = append(notes, jsonrpc.Notification("notifications/prompts/list_changed", nil))
	}
	if caps.Resources != nil {
		notes = append(notes, jsonrpc.Notification("notifications/resources/list_changed", nil))
	}
	g.mu.Lock()
	sessions := make([]*Session, 0, len(g.sessions))
	for sess := range g.sessions {
		sessions = append(sessions, sess)
	}
	g.mu.Unlock()
	for _, sess := range sessions {
		for _, n := range notes {
			if f := sess.listen; f != nil {
				if n = f.forListener(notificationMethod(n), nil, n); n == nil {
					continue
				}
			}
			sess.notify(n, nil)
		}
	}
}
