// Package app wires a loaded configuration into a running gateway: upstream dialers, the
// gateway, and the client-facing listeners. It is the composition root that cmd/gatehouse
// calls; nothing else constructs these parts.
package app

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"gatehouse/internal/config"
	"gatehouse/internal/gateway"
	"gatehouse/internal/http1"
	"gatehouse/internal/identity"
	"gatehouse/internal/jsonrpc"
	"gatehouse/internal/transport"
	"gatehouse/internal/upstream"
)

// Version is the gateway's version, reported as serverInfo.version.
const Version = "0.1.0"

// App is a gateway built from a configuration.
type App struct {
	cfg    *config.Config
	logger *slog.Logger
	gw     *gateway.Gateway
	auth   atomic.Pointer[identity.Authenticator]
	stdio  atomic.Pointer[identity.Identity]
	authC  atomic.Pointer[config.Auth] // the auth section in force (nil: none)

	reloadMu sync.Mutex // one reload at a time
	digest   string     // of the configuration in force

	audit auditParts
	// forwarders deliver audit records to their sinks until stopForward is called.
	stopForward context.CancelFunc
	forwardWG   sync.WaitGroup
	// the definitions re-check runs until stopRecheck is called.
	stopRecheck context.CancelFunc
	recheckWG   sync.WaitGroup
	// the scheduler's size: how it is set (limits.cpus), and the controller that follows
	// the load in auto mode until stopProcs is called.
	cpusMode  string
	cpusMax   int
	stopProcs context.CancelFunc
	procsWG   sync.WaitGroup
}

// New builds the gateway from cfg. Upstreams are not contacted until Start.
func New(cfg *config.Config, logger *slog.Logger) (*App, error) {
	specs := make([]gateway.UpstreamSpec, 0, len(cfg.Upstreams))
	for i := range cfg.Upstreams {
		u := &cfg.Upstreams[i]
		d, err := dialer(cfg, u, logger)
		if err != nil {
			return nil, fmt.Errorf("upstream %q: %w", u.Name, err)
		}
		var sl *upstream.Stateless
		if u.Transport == config.TransportStreamableHTTP {
			client, err := httpClient(u)
			if err != nil {
				return nil, fmt.Errorf("upstream %q: %w", u.Name, err)
			}
			sl = &upstream.Stateless{Name: u.Name, URL: u.URL, Headers: upstreamHeaders(u), Client: client, MaxMessage: int(cfg.Limits.MaxMessageBytes.Int64())}
		}
		specs = append(specs, gateway.UpstreamSpec{
			Stateless:      sl,
			Name:           u.Name,
			Dialer:         d,
			Shared:         u.Sharing == config.SharingShared,
			RequestTimeout: u.RequestTimeout.Std(),
			AllowMethods:   u.AllowMethods,
			Plain:          !u.Namespace,
			MinBackoff:     u.Restart.InitialBackoff.Std(),
			MaxBackoff:     u.Restart.MaxBackoff.Std(),
			ActsForCaller:  u.Credentials != nil && u.Credentials.Type == "token_exchange",
		})
	}
	pol, err := CompilePolicy(cfg)
	if err != nil {
		return nil, err
	}
	auth, err := authenticator(cfg)
	if err != nil {
		return nil, err
	}
	if cfg.Policy == nil {
		logger.Warn("no policy configured: every tool, prompt and resource is denied (add a policy section)")
	}
	logger.Info("authentication", "mode", describeAuth(cfg))
	var parts auditParts
	if cfg.Audit.Enabled {
		if parts.store, parts.auditor, err = OpenAudit(cfg, logger); err != nil {
			return nil, err
		}
		where := cfg.Audit.Path
		if cfg.Audit.Store == "postgres" {
			where = "postgres"
		}
		logger.Info("audit trail", "store", where, "chain", ChainName(cfg), "fail_open", cfg.Audit.FailOpen)
		if cfg.Audit.FailOpen {
			logger.Warn("audit.fail_open is set: requests whose audit record cannot be written are forwarded anyway")
		}
	} else {
		logger.Warn("the audit trail is OFF (audit.enabled: false): decisions are not recorded")
	}
	eng, acts, err := Inspector(cfg.Inspection)
	if err != nil {
		if parts.auditor != nil {
			parts.auditor.Close()
			parts.store.Close()
		}
		return nil, fmt.Errorf("inspection: %w", err)
	}
	var insp *gateway.Inspection
	if eng != nil {
		insp = &gateway.Inspection{Engine: eng, Actions: acts, MaxBytes: int(cfg.Inspection.MaxBytes.Int64())}
		logger.Info("content inspection", "injection_threshold", cfg.Inspection.Threshold, "secrets", cfg.Inspection.Secrets,
			"pii", cfg.Inspection.PII, "egress_allow", cfg.Inspection.EgressAllow, "egress_block_private", cfg.Inspection.EgressBlockPrivate)
	} else {
		logger.Warn("content inspection is OFF (inspection.enabled: false)")
	}
	pins, err := OpenPins(cfg)
	if err != nil {
		if parts.auditor != nil {
			parts.auditor.Close()
			parts.store.Close()
		}
		return nil, fmt.Errorf("integrity: %w", err)
	}
	if pins == nil {
		logger.Warn("tool integrity is OFF (integrity.mode: off): definitions are not pinned")
	} else {
		logger.Info("tool integrity", "mode", cfg.Integrity.Mode, "pins", PinsPath(cfg), "lock_file", cfg.Integrity.LockFile)
	}
	gw, err := gateway.New(gateway.Options{
		Pins:          pins,
		Inspection:    insp,
		Policy:        pol,
		Audit:         parts.auditor,
		AuditFailOpen: cfg.Audit.FailOpen,
		Name:          cfg.Gateway.Name,
		Version:       Version,
		Separator:     cfg.Gateway.Separator,
		Limits: gateway.Limits{
			MaxMessage:    int(cfg.Limits.MaxMessageBytes.Int64()),
			MaxPending:    cfg.Limits.MaxPendingRequests,
			UpstreamNotes: cfg.Limits.UpstreamNotificationsPerSecond,
		},
		Upstreams: specs,
		Logger:    logger,
	})
	if err != nil {
		if parts.auditor != nil {
			parts.auditor.Close()
			parts.store.Close()
		}
		return nil, err
	}
	a := &App{cfg: cfg, logger: logger, gw: gw, digest: cfg.Digest(), audit: parts}
	a.auth.Store(auth)
	a.stdio.Store(StdioIdentity(cfg))
	a.authC.Store(cfg.Auth)
	a.startForwarders()
	return a, nil
}

// Gateway returns the gateway (for tests and embedding).
func (a *App) Gateway() *gateway.Gateway { return a.gw }

// stdioDialer resolves the declared environment when it dials, so that secrets are read as
// late as possible and never logged.
type stdioDialer struct {
	base upstream.Stdio
	env  map[string]config.Secret
}

func (d *stdioDialer) Dial(ctx context.Context, h upstream.Handler) (upstream.Conn, error) {
	s := d.base
	keys := make([]string, 0, len(d.env))
	for k := range d.env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	s.Env = make([]string, 0, len(keys))
	for _, k := range keys {
		v, err := d.env[k].Resolve(nil)
		if err != nil {
			return nil, fmt.Errorf("upstream %q: env %s: %w", s.Name, k, err)
		}
		s.Env = append(s.Env, k+"="+v)
	}
	return s.Dial(ctx, h)
}

func dialer(cfg *config.Config, u *config.Upstream, logger *slog.Logger) (upstream.Dialer, error) {
	max := int(cfg.Limits.MaxMessageBytes.Int64())
	switch u.Transport {
	case config.TransportStdio:
		return &stdioDialer{
			base: upstream.Stdio{
				Name:       u.Name,
				Command:    u.Command,
				Args:       u.Args,
				Dir:        u.Cwd,
				MaxMessage: max,
				Logger:     logger,
			},
			env: u.Env,
		}, nil
	case config.TransportStreamableHTTP, config.TransportSSE:
		client, err := httpClient(u)
		if err != nil {
			return nil, err
		}
		headers := upstreamHeaders(u)
		if u.Transport == config.TransportSSE {
			return &upstream.LegacySSE{Name: u.Name, URL: u.URL, Headers: headers, Client: client, MaxMessage: max, Logger: logger}, nil
		}
		return &upstream.StreamableHTTP{Name: u.Name, URL: u.URL, Headers: headers, Client: client, MaxMessage: max, Logger: logger}, nil
	}
	return nil, fmt.Errorf("unknown transport %q", u.Transport)
}

// headerFunc resolves an upstream's secret headers. The result is kept for headerTTL, so that
// a {file: …} secret costs no file read per call yet a rotated one is picked up within a
// second. Callers copy the values and must not change the returned header.
func headerFunc(h map[string]config.Secret) func(context.Context) (http.Header, error) {
	if len(h) == 0 {
		return nil
	}
	var mu sync.Mutex
	var cached http.Header
	var at time.Time
	return func(context.Context) (http.Header, error) {
		mu.Lock()
		defer mu.Unlock()
		if cached != nil && time.Since(at) < headerTTL {
			return cached, nil
		}
		out := make(http.Header, len(h))
		for k, s := range h {
			v, err := s.Resolve(nil)
			if err != nil {
				return nil, fmt.Errorf("header %s: %w", k, err)
			}
			out.Set(k, v)
		}
		cached, at = out, time.Now()
		return out, nil
	}
}

// headerTTL is how long resolved upstream headers are reused.
const headerTTL = time.Second

// httpClient builds the upstream's own client: never http.DefaultClient, never the proxy
// settings of the environment by accident, with the upstream's TLS settings.
func httpClient(u *config.Upstream) (*http.Client, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: u.TLS.ServerName}
	if u.TLS.CAFile != "" {
		pem, err := os.ReadFile(u.TLS.CAFile)
		if err != nil {
			return nil, fmt.Errorf("tls.ca_file: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tls.ca_file: no certificates in %s", u.TLS.CAFile)
		}
		tc.RootCAs = pool
	}
	if u.TLS.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(u.TLS.CertFile, u.TLS.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("tls.cert_file/key_file: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	if u.TLS.InsecureSkipVerify {
		tc.InsecureSkipVerify = true
	}
	// The upstream's own HTTP/1.1 transport: each request's exchange runs in the calling
	// goroutine on a pooled connection (see upstream.LeanTransport). No proxy from the
	// environment: a gateway reaches its upstreams directly.
	tr := &upstream.LeanTransport{
		Dialer:     &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second},
		TLSConfig:  tc,
		MaxIdle:    256,
		ReadBuffer: 64 << 10,
	}
	return &http.Client{Transport: tr, CheckRedirect: sameOriginRedirects}, nil
}

// sameOriginRedirects refuses a redirect to another origin: the upstream's credentials must
// not follow it anywhere else.
func sameOriginRedirects(req *http.Request, via []*http.Request) error {
	if len(via) >= 5 {
		return errors.New("too many redirects")
	}
	if req.URL.Scheme != via[0].URL.Scheme || req.URL.Host != via[0].URL.Host {
		return fmt.Errorf("refusing a redirect to another origin (%s://%s)", req.URL.Scheme, req.URL.Host)
	}
	return nil
}

// Start connects the shared upstreams in the background.
func (a *App) Start() {
	for _, u := range a.cfg.Upstreams {
		if u.TLS.InsecureSkipVerify {
			a.logger.Warn("TLS certificate verification is OFF for this upstream (tls.insecure_skip_verify)", "upstream", u.Name)
		}
	}
	a.gw.Start()
	a.startRecheck()
	a.startProcs()
}

// Close stops everything.
func (a *App) Close() error {
	if a.stopProcs != nil {
		a.stopProcs()
		a.procsWG.Wait()
	}
	if a.stopRecheck != nil {
		a.stopRecheck()
		a.recheckWG.Wait()
	}
	if a.stopForward != nil {
		a.stopForward()
		a.forwardWG.Wait()
	}
	err := a.gw.Close()
	if a.audit.auditor != nil {
		a.audit.auditor.Close() // writes what is queued and a last checkpoint
		a.audit.store.Close()
	}
	return err
}

// ServeHTTP runs the HTTP listener until ctx ends, then shuts down gracefully.
func (a *App) ServeHTTP(ctx context.Context, ready func(addr net.Addr)) error {
	l := a.cfg.Listen
	ln, err := net.Listen("tcp", l.Address)
	if err != nil {
		return fmt.Errorf("listen %s: %w", l.Address, err)
	}
	loopback := false
	if host, _, err := net.SplitHostPort(ln.Addr().String()); err == nil {
		if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
			loopback = true
		}
	}
	lim := a.cfg.Limits
	mcp := transport.NewHTTPHandler(a.gw, transport.HTTPOptions{
		AllowedOrigins:       l.AllowedOrigins,
		LoopbackOnly:         loopback,
		MaxMessage:           lim.MaxMessageBytes.Int64(),
		MaxSessions:          lim.MaxSessions,
		MaxSessionsPerClient: lim.MaxSessionsPerClient,
		SessionIdleTimeout:   lim.SessionIdleTimeout.Std(),
		ReadTimeout:          lim.ReadTimeout.Std(),
		WriteTimeout:         lim.WriteTimeout.Std(),
		EventBuffer:          lim.EventBuffer,
		Logger:               a.logger,
		Auth:                 a.auth.Load,
		ResourceMetadataURL:  a.metadataURL,
		OnSecurityEvent:      a.gw.SecurityEvent,
	})
	defer mcp.Close()
	mux := http.NewServeMux()
	mux.Handle(l.Path, mcp)
	mux.HandleFunc(l.HealthPath, a.health)
	// The metadata follows the auth section in force, which a reload may change.
	mux.HandleFunc(identity.MetadataPaths("")[0], a.metadata)
	mux.HandleFunc(identity.MetadataPaths("")[0]+"/", a.metadata)
	srv := &http1.Server{
		Handler:           mux,
		ReadHeaderTimeout: lim.ReadHeaderTimeout.Std(),
		MaxHeaderBytes:    int(lim.MaxHeaderBytes.Int64()),
		IdleTimeout:       2 * time.Minute,
		Logger:            a.logger,
		ErrorBody: func(status int, reason string) (string, []byte) {
			code := jsonrpc.CodeInvalidRequest
			if status == http.StatusRequestHeaderFieldsTooLarge {
				code = jsonrpc.CodeLimitExceeded
				reason += " (limits.max_header_bytes)"
			}
			return "application/json", jsonrpc.ErrorResponse(nil, code, "malformed HTTP request: "+reason, nil)
		},
	}
	if l.TLS.Enabled() {
		cert, err := tls.LoadX509KeyPair(l.TLS.CertFile, l.TLS.KeyFile)
		if err != nil {
			ln.Close()
			return fmt.Errorf("listen.tls: %w", err)
		}
		srv.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
	}
	if ready != nil {
		ready(ln.Addr())
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	mcp.Close() // ends SSE streams so that Shutdown need not wait for them
	err = srv.Shutdown(sctx)
	srv.Close() // what did not finish in time
	if err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return nil
}

func (a *App) health(w http.ResponseWriter, r *http.Request) {
	ups := a.gw.Health()
	status, code := "ok", http.StatusOK
	for _, u := range ups {
		if !u.Up {
			status = "degraded"
		}
	}
	doc := map[string]any{
		"version":   Version,
		"sessions":  a.gw.SessionCount(),
		"upstreams": ups,
		"cpus":      a.cpusHealth(),
	}
	if au := a.audit.auditor; au != nil {
		ok, why := au.Healthy()
		doc["audit"] = map[string]any{"ok": ok, "error": why, "chain": au.Chain(), "records_written": au.Written(), "commits": au.Commits(), "fail_open": a.cfg.Audit.FailOpen}
		if !ok && !a.cfg.Audit.FailOpen {
			// Requests are being refused: not ready.
			status, code = "failing", http.StatusServiceUnavailable
		}
	}
	doc["status"] = status
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(doc)
}

// ServeStdio serves one MCP client on in/out until in ends.
func (a *App) ServeStdio(ctx context.Context, in io.Reader, out io.Writer) error {
	return transport.ServeStdio(ctx, a.gw, in, out, transport.StdioOptions{
		MaxMessage: int(a.cfg.Limits.MaxMessageBytes.Int64()),
		Logger:     a.logger,
		Identity:   a.stdio.Load(),
	})
}
