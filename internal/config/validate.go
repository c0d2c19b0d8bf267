package config

import (
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"

	"go.yaml.in/yaml/v3"
)

// Key lists per section, in reference.yaml order.
func topKeys() []string {
	return []string{"listen", "limits", "log", "gateway", "data_dir", "auth", "identity", "policy", "audit", "inspection", "integrity", "upstreams"}
}

func listenKeys() []string {
	return []string{"address", "path", "health_path", "allowed_origins", "tls"}
}

func serverTLSKeys() []string { return []string{"cert_file", "key_file"} }

func limitsKeys() []string {
	return []string{
		"max_message_bytes", "max_header_bytes", "max_pending_requests", "max_sessions_per_client",
		"max_sessions", "read_header_timeout", "read_timeout", "write_timeout",
		"session_idle_timeout", "request_timeout", "event_buffer", "cpus",
		"upstream_notifications_per_second",
	}
}

func logKeys() []string     { return []string{"level", "format"} }
func gatewayKeys() []string { return []string{"separator", "name"} }

func stdioKeys() []string { return []string{"command", "args", "cwd", "env"} }
func httpKeys() []string  { return []string{"url", "headers", "tls", "credentials"} }

func upstreamKeys() []string {
	keys := []string{"name", "transport"}
	keys = append(keys, stdioKeys()...)
	keys = append(keys, httpKeys()...)
	return append(keys, "sharing", "restart", "request_timeout", "allow_methods", "namespace", "tenant")
}

func clientTLSKeys() []string {
	return []string{"ca_file", "cert_file", "key_file", "server_name", "insecure_skip_verify"}
}

func restartKeys() []string { return []string{"initial_backoff", "max_backoff"} }

// Defaults that validation needs before defaults are applied.
const (
	defaultSeparator      = "__"
	defaultInitialBackoff = Duration(500 * time.Millisecond)
	defaultMaxBackoff     = Duration(30 * time.Second)
)

// config walks the root mapping. Sections are decoded in a fixed order (gateway before
// upstreams, which need the separator) whatever their order in the file.
func (d *decoder) config(root *yaml.Node, cfg *Config) {
	f := d.fields(root, "", topKeys()...)
	if f == nil {
		return
	}
	if e, ok := f["listen"]; ok {
		d.listen(e.val, "listen", &cfg.Listen)
	}
	if e, ok := f["limits"]; ok {
		d.limits(e.val, "limits", &cfg.Limits)
	}
	if e, ok := f["log"]; ok {
		d.log(e.val, "log", &cfg.Log)
	}
	if e, ok := f["gateway"]; ok {
		d.gateway(e.val, "gateway", &cfg.Gateway)
	}
	if e, ok := f["data_dir"]; ok {
		if s, ok := d.str(e.val, "data_dir"); ok && s != "" {
			cfg.DataDir = d.abs(s)
		}
	}
	if e, ok := f["auth"]; ok {
		cfg.Auth = &Auth{}
		d.auth(e.val, "auth", cfg.Auth)
	}
	if e, ok := f["identity"]; ok {
		d.identities(e.val, "identity", &cfg.Identity)
	}
	if e, ok := f["policy"]; ok {
		cfg.Policy = &Policy{}
		d.policy(e.val, "policy", cfg.Policy)
	}
	cfg.Audit.Enabled = true
	if e, ok := f["audit"]; ok {
		d.audit(e.val, "audit", &cfg.Audit)
	}
	cfg.Integrity = defaultIntegrity(d.dir)
	if e, ok := f["integrity"]; ok {
		d.integrity(e.val, "integrity", &cfg.Integrity)
	}
	cfg.Inspection = defaultInspection()
	if e, ok := f["inspection"]; ok {
		d.inspection(e.val, "inspection", &cfg.Inspection)
	}
	sep := cfg.Gateway.Separator // "" if invalid: the name check is then skipped
	if !d.set["gateway.separator"] {
		sep = defaultSeparator
	}
	e, ok := f["upstreams"]
	if !ok {
		d.add(root, "upstreams", "at least one upstream is required")
		return
	}
	d.upstreams(e.val, "upstreams", cfg, sep)
}

func (d *decoder) listen(n *yaml.Node, path string, l *Listen) {
	f := d.fields(n, path, listenKeys()...)
	if f == nil {
		return
	}
	if e, ok := f["address"]; ok {
		p := join(path, "address")
		if s, ok := d.str(e.val, p); ok {
			if msg := checkAddress(s); msg != "" {
				d.add(e.val, p, "%s", msg)
			}
			l.Address = s
		}
	}
	for _, k := range []struct {
		key string
		dst *string
	}{{"path", &l.Path}, {"health_path", &l.HealthPath}} {
		e, ok := f[k.key]
		if !ok {
			continue
		}
		p := join(path, k.key)
		if s, ok := d.str(e.val, p); ok {
			if !strings.HasPrefix(s, "/") || strings.ContainsAny(s, "?# \t") {
				d.add(e.val, p, "%q must be a URL path starting with /", s)
			}
			*k.dst = s
		}
	}
	if e, ok := f["health_path"]; ok && l.HealthPath != "" {
		endpoint := l.Path
		if !d.set[join(path, "path")] {
			endpoint = "/mcp"
		}
		if l.HealthPath == endpoint {
			d.add(e.val, join(path, "health_path"), "must differ from listen.path (%s)", endpoint)
		}
	}
	if e, ok := f["allowed_origins"]; ok {
		p := join(path, "allowed_origins")
		if list, ok := d.strList(e.val, p); ok {
			items := deref(e.val).Content
			for i, o := range list {
				if msg := checkOrigin(o); msg != "" {
					d.add(items[i], index(p, i), "%q: %s", o, msg)
				}
			}
			l.AllowedOrigins = list
		}
	}
	if e, ok := f["tls"]; ok {
		p := join(path, "tls")
		if tf := d.fields(e.val, p, serverTLSKeys()...); tf != nil {
			l.TLS.CertFile = d.optFile(tf, p, "cert_file")
			l.TLS.KeyFile = d.optFile(tf, p, "key_file")
			d.pair(e.val, p, "cert_file", l.TLS.CertFile, "key_file", l.TLS.KeyFile)
		}
	}
}

// pair reports when exactly one of two settings that go together is set.
func (d *decoder) pair(n *yaml.Node, path, aKey, a, bKey, b string) {
	switch {
	case a != "" && b == "":
		d.add(n, join(path, bKey), "required when %s is set", aKey)
	case a == "" && b != "":
		d.add(n, join(path, aKey), "required when %s is set", bKey)
	}
}

// checkAddress validates a host:port listen address.
func checkAddress(s string) string {
	_, port, err := net.SplitHostPort(s)
	if err != nil {
		return "must be host:port (" + err.Error() + ")"
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return "port " + strconv.Quote(port) + " must be a number from 0 to 65535"
	}
	return ""
}

// checkOrigin validates an allowed origin: scheme://host[:port] with "*" allowed as the
// port or as a whole host label.
func checkOrigin(o string) string {
	if o == "*" {
		return `a bare "*" would allow every origin; list origins, using * only for a port or a host label`
	}
	scheme, rest, ok := strings.Cut(o, "://")
	if !ok {
		return "must be an origin such as http://localhost:*"
	}
	if scheme != "http" && scheme != "https" {
		return "scheme must be http or https"
	}
	if strings.ContainsAny(rest, "/?#@ ") {
		return "must be only scheme://host[:port], with no path, query, user or trailing slash"
	}
	var host, port string
	if strings.HasPrefix(rest, "[") {
		end := strings.Index(rest, "]")
		if end < 0 {
			return "unterminated IPv6 address"
		}
		host, rest = rest[:end+1], rest[end+1:]
		if ip := net.ParseIP(host[1 : len(host)-1]); ip == nil || ip.To4() != nil {
			return "invalid IPv6 address " + host
		}
		if rest != "" {
			p, ok := strings.CutPrefix(rest, ":")
			if !ok {
				return "unexpected text after " + host
			}
			port = p
			if port == "" {
				return "empty port"
			}
		}
	} else {
		h, p, hasPort := strings.Cut(rest, ":")
		host, port = h, p
		if hasPort && port == "" {
			return "empty port"
		}
		if host == "" {
			return "missing host"
		}
		for _, label := range strings.Split(host, ".") {
			if label == "*" {
				continue
			}
			if label == "" {
				return "empty host label"
			}
			for _, r := range label {
				if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
					return "host must be lowercase letters, digits, '-' and '.', with * for a whole label"
				}
			}
		}
	}
	if port != "" && port != "*" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return "port must be * or a number from 1 to 65535"
		}
	}
	return ""
}

func (d *decoder) limits(n *yaml.Node, path string, l *Limits) {
	f := d.fields(n, path, limitsKeys()...)
	if f == nil {
		return
	}
	sizes := []struct {
		key string
		dst *Size
	}{{"max_message_bytes", &l.MaxMessageBytes}, {"max_header_bytes", &l.MaxHeaderBytes}}
	for _, s := range sizes {
		if e, ok := f[s.key]; ok {
			p := join(path, s.key)
			if v, ok := d.size(e.val, p); ok && d.positive(e.val, p, int64(v)) {
				*s.dst = v
			}
		}
	}
	counts := []struct {
		key    string
		dst    *int
		zeroOK bool
	}{
		{"max_pending_requests", &l.MaxPendingRequests, false},
		{"max_sessions_per_client", &l.MaxSessionsPerClient, false},
		{"max_sessions", &l.MaxSessions, false},
		{"event_buffer", &l.EventBuffer, true},
		{"upstream_notifications_per_second", &l.UpstreamNotificationsPerSecond, true},
	}
	for _, c := range counts {
		e, ok := f[c.key]
		if !ok {
			continue
		}
		p := join(path, c.key)
		v, ok := d.integer(e.val, p)
		if !ok {
			continue
		}
		if c.zeroOK {
			if v < 0 {
				d.add(e.val, p, "must not be negative")
				continue
			}
		} else if !d.positive(e.val, p, int64(v)) {
			continue
		}
		*c.dst = v
	}
	if e, ok := f["cpus"]; ok {
		d.cpus(e.val, join(path, "cpus"), &l.CPUs)
	}
	durations := []struct {
		key string
		dst *Duration
	}{
		{"read_header_timeout", &l.ReadHeaderTimeout},
		{"read_timeout", &l.ReadTimeout},
		{"write_timeout", &l.WriteTimeout},
		{"session_idle_timeout", &l.SessionIdleTimeout},
		{"request_timeout", &l.RequestTimeout},
	}
	for _, t := range durations {
		if e, ok := f[t.key]; ok {
			if v, ok := d.nonNegDuration(e.val, join(path, t.key)); ok {
				*t.dst = v
			}
		}
	}
}

// maxCPUs bounds limits.cpus: a number far beyond any machine is a typo.
const maxCPUs = 4096

// cpus decodes limits.cpus: "auto" (stored as 0) or a number of CPUs from 1 to maxCPUs.
func (d *decoder) cpus(n *yaml.Node, path string, dst *int) {
	v, ok := d.scalar(n, path, `"auto" or a number of CPUs`)
	if !ok {
		return
	}
	if v.ShortTag() == "!!str" && v.Value == "auto" {
		*dst = 0
		return
	}
	if v.ShortTag() != "!!int" {
		d.add(n, path, `must be "auto" or a number of CPUs, not %s`, describe(n))
		return
	}
	var i int
	if err := v.Decode(&i); err != nil || i < 1 || i > maxCPUs {
		d.add(n, path, `must be "auto" or a number of CPUs from 1 to %d, not %s`, maxCPUs, v.Value)
		return
	}
	*dst = i
}

// positive reports a problem unless v > 0.
func (d *decoder) positive(n *yaml.Node, path string, v int64) bool {
	switch {
	case v < 0:
		d.add(n, path, "must not be negative")
		return false
	case v == 0:
		d.add(n, path, "must be positive (leave it out for the default)")
		return false
	}
	return true
}

func (d *decoder) nonNegDuration(n *yaml.Node, path string) (Duration, bool) {
	v, ok := d.duration(n, path)
	if ok && v < 0 {
		d.add(n, path, "must not be negative")
		return 0, false
	}
	return v, ok
}

func (d *decoder) log(n *yaml.Node, path string, l *Log) {
	f := d.fields(n, path, logKeys()...)
	if f == nil {
		return
	}
	if e, ok := f["level"]; ok {
		l.Level, _ = d.oneOf(e.val, join(path, "level"), "debug", "info", "warn", "error")
	}
	if e, ok := f["format"]; ok {
		l.Format, _ = d.oneOf(e.val, join(path, "format"), "json", "text")
	}
}

func (d *decoder) gateway(n *yaml.Node, path string, g *Gateway) {
	f := d.fields(n, path, gatewayKeys()...)
	if f == nil {
		return
	}
	if e, ok := f["separator"]; ok {
		p := join(path, "separator")
		if s, ok := d.str(e.val, p); ok {
			switch {
			case s == "":
				d.add(e.val, p, "must not be empty")
			case strings.IndexFunc(s, func(r rune) bool { return unicode.IsSpace(r) || !unicode.IsPrint(r) }) >= 0:
				d.add(e.val, p, "%q must not contain spaces or control characters", s)
			default:
				g.Separator = s
			}
		}
	}
	if e, ok := f["name"]; ok {
		p := join(path, "name")
		if s, ok := d.str(e.val, p); ok {
			if strings.TrimSpace(s) == "" {
				d.add(e.val, p, "must not be empty")
			} else {
				g.Name = s
			}
		}
	}
}

func (d *decoder) upstreams(n *yaml.Node, path string, cfg *Config, sep string) {
	v := deref(n)
	if v == nil || v.Kind != yaml.SequenceNode {
		d.add(n, path, "must be a list of upstreams, not %s", describe(n))
		return
	}
	if len(v.Content) == 0 {
		d.add(n, path, "at least one upstream is required")
		return
	}
	firstLine := make(map[string]int)
	cfg.Upstreams = make([]Upstream, len(v.Content))
	plain := ""
	for i, item := range v.Content {
		p := index(path, i)
		u := &cfg.Upstreams[i]
		u.Namespace = true
		nameNode := d.upstream(item, p, u, sep)
		if !u.Namespace {
			if plain != "" {
				d.add(item, join(p, "namespace"), "only one upstream may have namespace: false (%q already has)", plain)
			}
			plain = u.Name
		}
		if u.Name == "" || nameNode == nil {
			continue
		}
		if line, dup := firstLine[u.Name]; dup {
			d.add(nameNode, join(p, "name"), "duplicate upstream name %q (first used at line %d)", u.Name, line)
			continue
		}
		firstLine[u.Name] = nameNode.Line
	}
}

// validName reports whether s matches ^[a-z0-9][a-z0-9-]*$.
func validName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
		case r == '-' && i > 0:
		default:
			return false
		}
	}
	return true
}

// upstream decodes one upstream and returns the node holding its name (nil if none).
func (d *decoder) upstream(n *yaml.Node, path string, u *Upstream, sep string) *yaml.Node {
	f := d.fields(n, path, upstreamKeys()...)
	if f == nil {
		return nil
	}
	var nameNode *yaml.Node
	if e, ok := f["name"]; ok {
		p := join(path, "name")
		if s, ok := d.str(e.val, p); ok {
			switch {
			case !validName(s):
				d.add(e.val, p, "%q must match ^[a-z0-9][a-z0-9-]*$ (lowercase letters, digits and '-')", s)
			case sep != "" && strings.Contains(s, sep):
				d.add(e.val, p, "%q contains the gateway separator %q", s, sep)
			default:
				u.Name = s
				nameNode = e.val
			}
		}
	} else {
		d.add(n, join(path, "name"), "required")
	}

	// Transport, stated or inferred; "" if unknown (transport-specific checks are skipped).
	_, hasCommand := f["command"]
	_, hasURL := f["url"]
	if e, ok := f["transport"]; ok {
		t, _ := d.oneOf(e.val, join(path, "transport"), string(TransportStdio), string(TransportStreamableHTTP), string(TransportSSE))
		u.Transport = Transport(t)
	} else {
		switch {
		case hasCommand && !hasURL:
			u.Transport = TransportStdio
		case hasURL && !hasCommand:
			u.Transport = TransportStreamableHTTP
		default:
			d.add(n, join(path, "transport"), "required (stdio, streamable_http or sse)")
		}
	}

	switch {
	case u.Transport == TransportStdio:
		d.misplaced(f, path, httpKeys(), "only for streamable_http and sse upstreams, not stdio")
		d.stdio(f, n, path, u)
	case u.Transport.IsHTTP():
		d.misplaced(f, path, stdioKeys(), "only for stdio upstreams, not "+string(u.Transport))
		d.http(f, n, path, u)
	}

	if e, ok := f["sharing"]; ok {
		s, _ := d.oneOf(e.val, join(path, "sharing"), string(SharingShared), string(SharingPerSession))
		u.Sharing = Sharing(s)
	}
	if e, ok := f["restart"]; ok {
		d.restart(e.val, join(path, "restart"), &u.Restart)
	}
	if e, ok := f["request_timeout"]; ok {
		u.RequestTimeout, _ = d.nonNegDuration(e.val, join(path, "request_timeout"))
	}
	if e, ok := f["namespace"]; ok {
		u.Namespace, _ = d.boolean(e.val, join(path, "namespace"))
	}
	if e, ok := f["credentials"]; ok && u.Transport.IsHTTP() {
		u.Credentials = &Credentials{}
		d.credentials(e.val, join(path, "credentials"), u)
	}
	if e, ok := f["tenant"]; ok {
		if s, ok := d.str(e.val, join(path, "tenant")); ok {
			if msg := checkTenant(s); msg != "" {
				d.add(e.val, join(path, "tenant"), "%s", msg)
			}
			u.Tenant = s
		}
	}
	if e, ok := f["allow_methods"]; ok {
		p := join(path, "allow_methods")
		if list, ok := d.strList(e.val, p); ok {
			items := deref(e.val).Content
			seen := make(map[string]bool)
			for i, m := range list {
				switch {
				case strings.TrimSpace(m) == "":
					d.add(items[i], index(p, i), "must not be empty")
				case seen[m]:
					d.add(items[i], index(p, i), "%q is listed twice", m)
				}
				seen[m] = true
			}
			u.AllowMethods = list
		}
	}
	return nameNode
}

func (d *decoder) misplaced(f map[string]entry, path string, keys []string, msg string) {
	for _, k := range keys {
		if e, ok := f[k]; ok {
			d.add(e.key, join(path, k), "%s", msg)
		}
	}
}

func (d *decoder) stdio(f map[string]entry, n *yaml.Node, path string, u *Upstream) {
	if e, ok := f["command"]; ok {
		p := join(path, "command")
		if s, ok := d.str(e.val, p); ok {
			if strings.TrimSpace(s) == "" {
				d.add(e.val, p, "must not be empty")
			}
			u.Command = s
		}
	} else {
		d.add(n, join(path, "command"), "required for stdio upstreams")
	}
	if e, ok := f["args"]; ok {
		u.Args, _ = d.strList(e.val, join(path, "args"))
	}
	if e, ok := f["cwd"]; ok {
		p := join(path, "cwd")
		if s, ok := d.str(e.val, p); ok && s != "" {
			u.Cwd, _ = d.existing(e.val, p, s, true)
		}
	}
	if e, ok := f["env"]; ok {
		u.Env = d.secretMap(e.val, join(path, "env"), func(k string) string {
			if k == "" || strings.ContainsAny(k, "=\x00") {
				return "is not a valid environment variable name"
			}
			return ""
		}, false)
	}
}

func (d *decoder) http(f map[string]entry, n *yaml.Node, path string, u *Upstream) {
	var parsed *url.URL
	if e, ok := f["url"]; ok {
		p := join(path, "url")
		if s, ok := d.str(e.val, p); ok {
			pu, err := url.Parse(s)
			switch {
			case err != nil:
				d.add(e.val, p, "invalid URL: %v", err)
			case pu.Scheme != "http" && pu.Scheme != "https":
				d.add(e.val, p, "%q must be an absolute http:// or https:// URL", s)
			case pu.Host == "":
				d.add(e.val, p, "%q has no host", s)
			default:
				u.URL = s
				parsed = pu
			}
		}
	} else {
		d.add(n, join(path, "url"), "required for %s upstreams (an absolute http or https URL)", u.Transport)
	}
	if e, ok := f["headers"]; ok {
		u.Headers = d.secretMap(e.val, join(path, "headers"), checkHeaderName, true)
	}
	if e, ok := f["tls"]; ok {
		p := join(path, "tls")
		tf := d.fields(e.val, p, clientTLSKeys()...)
		if tf == nil {
			return
		}
		t := &u.TLS
		t.CAFile = d.optFile(tf, p, "ca_file")
		t.CertFile = d.optFile(tf, p, "cert_file")
		t.KeyFile = d.optFile(tf, p, "key_file")
		d.pair(e.val, p, "cert_file", t.CertFile, "key_file", t.KeyFile)
		if se, ok := tf["server_name"]; ok {
			t.ServerName, _ = d.str(se.val, join(p, "server_name"))
		}
		if ie, ok := tf["insecure_skip_verify"]; ok {
			t.InsecureSkipVerify, _ = d.boolean(ie.val, join(p, "insecure_skip_verify"))
		}
		used := t.CAFile != "" || t.CertFile != "" || t.KeyFile != "" || t.ServerName != "" || t.InsecureSkipVerify
		if used && parsed != nil && parsed.Scheme != "https" {
			d.add(e.key, p, "TLS settings need an https:// url")
		}
	}
}

// checkHeaderName validates an HTTP header name the gateway lets users set.
func checkHeaderName(k string) string {
	if k == "" {
		return "is not a valid header name"
	}
	for _, r := range k {
		if r > unicode.MaxASCII || !(unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("!#$%&'*+-.^_`|~", r)) {
			return "is not a valid header name"
		}
	}
	switch http.CanonicalHeaderKey(k) {
	case "Host", "Content-Length", "Content-Type", "Transfer-Encoding", "Connection", "Accept",
		"Mcp-Session-Id", "Mcp-Protocol-Version", "Last-Event-Id":
		return "is set by the gateway itself"
	}
	return ""
}

// secretMap decodes a mapping of names to secrets. checkKey returns a message for a bad
// name; fold makes duplicate detection case-insensitive (HTTP headers).
func (d *decoder) secretMap(n *yaml.Node, path string, checkKey func(string) string, fold bool) map[string]Secret {
	v := deref(n)
	if v == nil || v.Kind != yaml.MappingNode {
		d.add(n, path, "must be a mapping of names to values, not %s", describe(n))
		return nil
	}
	out := make(map[string]Secret, len(v.Content)/2)
	seen := make(map[string]int)
	for i := 0; i+1 < len(v.Content); i += 2 {
		k, val := v.Content[i], v.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			d.add(k, path, "names must be plain strings, not %s", describe(k))
			continue
		}
		p := join(path, k.Value)
		if msg := checkKey(k.Value); msg != "" {
			d.add(k, p, "%q %s", k.Value, msg)
			continue
		}
		id := k.Value
		if fold {
			id = strings.ToLower(id)
		}
		if line, dup := seen[id]; dup {
			d.add(k, p, "duplicate name (first set at line %d)", line)
			continue
		}
		seen[id] = k.Line
		s, ok := d.secret(val, p)
		if !ok {
			continue
		}
		if fold && s.kind == secretLiteral && strings.ContainsAny(s.literal, "\r\n\x00") {
			d.add(val, p, "header values must not contain line breaks or NUL")
			continue
		}
		out[k.Value] = s
	}
	return out
}

func (d *decoder) restart(n *yaml.Node, path string, r *Restart) {
	f := d.fields(n, path, restartKeys()...)
	if f == nil {
		return
	}
	lo, hi := defaultInitialBackoff, defaultMaxBackoff
	okInit, okMax := true, true
	if e, ok := f["initial_backoff"]; ok {
		p := join(path, "initial_backoff")
		if v, ok := d.duration(e.val, p); !ok {
			okInit = false
		} else if v <= 0 {
			d.add(e.val, p, "must be positive")
			okInit = false
		} else {
			r.InitialBackoff, lo = v, v
		}
	}
	maxNode := n
	if e, ok := f["max_backoff"]; ok {
		p := join(path, "max_backoff")
		maxNode = e.val
		if v, ok := d.duration(e.val, p); !ok {
			okMax = false
		} else if v <= 0 {
			d.add(e.val, p, "must be positive")
			okMax = false
		} else {
			r.MaxBackoff, hi = v, v
		}
	}
	if okInit && okMax && hi < lo {
		d.add(maxNode, join(path, "max_backoff"), "%s is less than initial_backoff %s", hi, lo)
	}
}
