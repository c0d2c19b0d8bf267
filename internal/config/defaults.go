package config

import "time"

// applyDefaults fills in every setting the file left out (set holds the dotted paths of
// the keys it did give), exactly as documented in examples/reference.yaml. It runs only on
// a configuration that passed validation.
func applyDefaults(c *Config, set map[string]bool) {
	unset := func(path string) bool { return !set[path] }

	l := &c.Listen
	if unset("listen.address") {
		l.Address = "127.0.0.1:8787"
	}
	if unset("listen.path") {
		l.Path = "/mcp"
	}
	if unset("listen.health_path") {
		l.HealthPath = "/healthz"
	}
	if unset("listen.allowed_origins") {
		l.AllowedOrigins = []string{"http://localhost:*", "http://127.0.0.1:*", "http://[::1]:*"}
	}

	lim := &c.Limits
	if unset("limits.max_message_bytes") {
		lim.MaxMessageBytes = 4 << 20
	}
	if unset("limits.max_header_bytes") {
		lim.MaxHeaderBytes = 64 << 10
	}
	if unset("limits.max_pending_requests") {
		lim.MaxPendingRequests = 64
	}
	if unset("limits.upstream_notifications_per_second") {
		lim.UpstreamNotificationsPerSecond = 1000
	}
	if unset("limits.max_sessions_per_client") {
		lim.MaxSessionsPerClient = 64
	}
	if unset("limits.max_sessions") {
		lim.MaxSessions = 10000
	}
	if unset("limits.read_header_timeout") {
		lim.ReadHeaderTimeout = Duration(10 * time.Second)
	}
	if unset("limits.read_timeout") {
		lim.ReadTimeout = Duration(30 * time.Second)
	}
	if unset("limits.write_timeout") {
		lim.WriteTimeout = Duration(30 * time.Second)
	}
	if unset("limits.session_idle_timeout") {
		lim.SessionIdleTimeout = Duration(30 * time.Minute)
	}
	if unset("limits.request_timeout") {
		lim.RequestTimeout = Duration(2 * time.Minute)
	}
	if unset("limits.event_buffer") {
		lim.EventBuffer = 256
	}

	if unset("log.level") {
		c.Log.Level = "info"
	}
	if unset("log.format") {
		c.Log.Format = "json"
	}

	if unset("data_dir") {
		c.DataDir = c.dir + "/data"
	}
	if c.Audit.Store == "" {
		c.Audit.Store = "sqlite"
	}
	if c.Audit.Path == "" {
		c.Audit.Path = c.DataDir + "/audit.db"
	}
	if c.Audit.CheckpointEvery == 0 {
		c.Audit.CheckpointEvery = 1000
	}
	if unset("audit.checkpoint_interval") {
		c.Audit.CheckpointInterval = Duration(10 * time.Second)
	}
	if c.Audit.Values == "" {
		c.Audit.Values = "hash"
	}
	if a := c.Auth; a != nil {
		if in := a.Introspection; in != nil && unset("auth.introspection.cache_ttl") {
			in.CacheTTL = Duration(time.Minute)
		}
		if a.JWT != nil {
			j := a.JWT
			if len(j.Audiences) == 0 {
				j.Audiences = []string{a.Resource}
			}
			if len(j.Algorithms) == 0 {
				j.Algorithms = []string{"RS256", "ES256"}
			}
			if unset("auth.jwt.clock_skew") {
				j.ClockSkew = Duration(60 * time.Second)
			}
			if len(a.AuthorizationServers) == 0 {
				a.AuthorizationServers = []string{j.Issuer}
			}
		}
	}
	if c.Identity.Anonymous.Subject == "" {
		c.Identity.Anonymous.Subject = "anonymous"
	}
	if unset("gateway.separator") {
		c.Gateway.Separator = defaultSeparator
	}
	if unset("gateway.name") {
		c.Gateway.Name = "gatehouse"
	}

	for i := range c.Upstreams {
		u := &c.Upstreams[i]
		p := index("upstreams", i)
		if unset(p + ".sharing") {
			if u.Transport == TransportStdio {
				u.Sharing = SharingShared
			} else {
				u.Sharing = SharingPerSession
			}
		}
		if unset(p + ".restart.initial_backoff") {
			u.Restart.InitialBackoff = defaultInitialBackoff
		}
		if unset(p + ".restart.max_backoff") {
			u.Restart.MaxBackoff = defaultMaxBackoff
		}
		if unset(p + ".request_timeout") {
			u.RequestTimeout = lim.RequestTimeout
		}
		if u.Transport == TransportStdio && u.Cwd == "" {
			u.Cwd = c.dir
		}
	}
}
