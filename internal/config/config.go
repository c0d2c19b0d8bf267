package config

import (
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
)

// Config is a whole Gatehouse configuration file.
type Config struct {
	// Listen is the client-facing Streamable HTTP listener.
	Listen Listen

	// Limits bound the resources one client or the gateway as a whole may use.
	Limits Limits

	// Log configures the gateway's own log.
	Log Log

	// Gateway holds the identity and naming the gateway presents to clients.
	Gateway Gateway

	// DataDir holds the gateway's state (API keys; later the audit store). Default "data"
	// in the config file's folder; stored absolute.
	DataDir string

	// Auth configures client authentication over HTTP; nil means none (identity.anonymous).
	Auth *Auth

	// Identity configures the identities of unauthenticated and stdio callers.
	Identity Identities

	// Policy decides who may use what; nil means no policy, which denies everything.
	Policy *Policy

	// Audit configures the tamper-evident audit trail (on by default).
	Audit Audit

	// Inspection configures content inspection (on by default).
	Inspection Inspection

	// Integrity configures pinned definitions (trust on first use by default).
	Integrity Integrity

	// Upstreams are the MCP servers behind the gateway. At least one is required; names are
	// unique, match ^[a-z0-9][a-z0-9-]*$ and do not contain the gateway separator.
	Upstreams []Upstream

	file string // path as given to Load or Parse
	dir  string // absolute folder of file; relative paths in the file are resolved against it
	raw  []byte // the file's bytes, for Digest
}

// Listen configures the client-facing listener.
type Listen struct {
	// Address is the host:port to bind. Default 127.0.0.1:8787; bind elsewhere only on
	// purpose. An empty host (":8787") binds every interface.
	Address string

	// Path is the Streamable HTTP endpoint. Default /mcp.
	Path string

	// HealthPath serves liveness/readiness JSON. Default /healthz.
	HealthPath string

	// AllowedOrigins is the Origin header allowlist, the defence against DNS rebinding.
	// Each entry is scheme://host[:port]; "*" may stand for the port or for one host
	// label. Default http://localhost:*, http://127.0.0.1:* and http://[::1]:*. An explicit
	// empty list allows no browser origin at all.
	AllowedOrigins []string

	// TLS, when both files are set, makes the listener serve HTTPS.
	TLS ServerTLS
}

// ServerTLS is the listener's certificate. Set both files or neither.
type ServerTLS struct {
	// CertFile is the PEM certificate chain. Relative to the config file's folder; stored
	// absolute after loading.
	CertFile string

	// KeyFile is the PEM private key. Relative to the config file's folder; stored absolute
	// after loading.
	KeyFile string
}

// Enabled reports whether HTTPS is configured.
func (t ServerTLS) Enabled() bool { return t.CertFile != "" && t.KeyFile != "" }

// Limits bound resource use. Sizes and counts must be positive; timeouts must not be
// negative, and 0 disables the timeout.
type Limits struct {
	// MaxMessageBytes bounds one JSON-RPC message in either direction (413 / error -32600).
	// Default 4MiB.
	MaxMessageBytes Size

	// MaxHeaderBytes bounds HTTP request headers (431). Default 64KiB.
	MaxHeaderBytes Size

	// MaxPendingRequests bounds in-flight client requests per session (429 / error).
	// Default 64.
	MaxPendingRequests int

	// MaxSessionsPerClient bounds live sessions per client address (429). Default 64.
	MaxSessionsPerClient int

	// MaxSessions bounds live sessions in all (503). Default 10000.
	MaxSessions int

	// ReadHeaderTimeout bounds reading request headers. Default 10s.
	ReadHeaderTimeout Duration

	// ReadTimeout bounds reading one request body. Default 30s.
	ReadTimeout Duration

	// WriteTimeout bounds writing one non-streaming response. Default 30s.
	WriteTimeout Duration

	// SessionIdleTimeout closes a session with no traffic. Default 30m.
	SessionIdleTimeout Duration

	// RequestTimeout is the default upstream call timeout; each upstream may override it.
	// Default 2m.
	RequestTimeout Duration

	// EventBuffer is how many SSE events are kept per stream for Last-Event-ID resumption.
	// Default 256; 0 disables resumption.
	EventBuffer int

	// UpstreamNotificationsPerSecond is how many log and progress notifications one upstream
	// may have forwarded per second, in bursts of up to twice as many; the rest are dropped
	// (counted in a warning at most every 10s). Default 1000; 0 removes the limit.
	UpstreamNotificationsPerSecond int

	// CPUs is how many CPUs may run the gateway's Go code at once (GOMAXPROCS). 0, written
	// "auto" (the default), starts at one and follows the load up to the machine's or
	// container's CPU count (see internal/procs); a number fixes it. A GOMAXPROCS
	// environment variable overrides both. Applied at start.
	CPUs int
}

// Log configures the gateway's log.
type Log struct {
	// Level is debug, info, warn or error. Default info.
	Level string

	// Format is json or text. Default json.
	Format string
}

// SlogLevel converts Level to a slog.Level (info for anything unrecognised).
func (l Log) SlogLevel() slog.Level {
	switch l.Level {
	case "debug":
		return slog.LevelDebug
	case "warn":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	default:
		return slog.LevelInfo
	}
}

// Gateway holds how the gateway names things towards clients.
type Gateway struct {
	// Separator joins server and tool/prompt names: <server><separator><name>. Must not be
	// empty or contain whitespace. Default "__".
	Separator string

	// Name is the serverInfo.name reported to clients. Default gatehouse.
	Name string
}

// Transport is how Gatehouse talks to an upstream server.
type Transport string

// Transports.
const (
	TransportStdio          Transport = "stdio"           // child process, newline-delimited JSON on stdin/stdout
	TransportStreamableHTTP Transport = "streamable_http" // MCP Streamable HTTP
	TransportSSE            Transport = "sse"             // legacy HTTP+SSE
)

// IsHTTP reports whether t is one of the HTTP transports.
func (t Transport) IsHTTP() bool { return t == TransportStreamableHTTP || t == TransportSSE }

// Sharing says whether sessions share one connection to an upstream.
type Sharing string

// Sharing modes.
const (
	SharingShared     Sharing = "shared"      // one connection for all sessions
	SharingPerSession Sharing = "per_session" // one connection per client session
)

// Upstream is one MCP server behind the gateway.
type Upstream struct {
	// Name identifies the server and prefixes its tools and prompts. Required; matches
	// ^[a-z0-9][a-z0-9-]*$, unique, and free of the gateway separator.
	Name string

	// Transport is stdio, streamable_http or sse. When omitted it is stdio if command is
	// set and streamable_http if url is set.
	Transport Transport

	// Command is the program to run (stdio only; required there). It is looked up in the
	// PATH given in Env, else in the gateway's own PATH.
	Command string

	// Args are the command's arguments (stdio only).
	Args []string

	// Cwd is the child's working directory (stdio only). Relative to the config file's
	// folder; default that folder. Stored absolute after loading.
	Cwd string

	// Env is exactly the environment the child gets (stdio only); nothing is inherited.
	Env map[string]Secret

	// URL is the server's endpoint (HTTP transports only; required there): the MCP
	// endpoint for streamable_http, the event-stream endpoint for sse. Absolute http or
	// https URL.
	URL string

	// Headers are sent on every request to the server (HTTP transports only).
	Headers map[string]Secret

	// TLS configures the client side of HTTPS connections (HTTP transports only).
	TLS ClientTLS

	// Sharing is shared (one connection for all sessions) or per_session. Default shared
	// for stdio, per_session for the HTTP transports.
	Sharing Sharing

	// Restart is the backoff between attempts to bring a failed connection back.
	Restart Restart

	// RequestTimeout overrides limits.request_timeout for this server; 0 disables it.
	RequestTimeout Duration

	// AllowMethods lists extra, non-standard methods forwarded to this server.
	AllowMethods []string

	// Namespace prefixes this server's tool, prompt and resource-template names with
	// "<name><separator>" (default true). At most one upstream may set it to false; its
	// names are then offered as they are, which lets a gateway in front of a single server
	// be a drop-in replacement for it.
	Namespace bool

	// Tenant owns this server: only identities of that tenant see or reach it. Empty: the
	// server is shared by every tenant.
	Tenant string

	// Credentials is how the gateway authenticates to this server (HTTP transports only);
	// nil means only the static headers. The client's own token is never forwarded.
	Credentials *Credentials
}

// Credentials types.
const (
	CredentialsClientCredentials = "client_credentials"
	CredentialsTokenExchange     = "token_exchange"
)

// Credentials are the gateway's OAuth credentials towards an upstream.
type Credentials struct {
	// Type is client_credentials (a token for the gateway itself) or token_exchange
	// (RFC 8693: the caller's token exchanged for one meant for this upstream alone;
	// needs sharing: per_session).
	Type         string
	TokenURL     string
	ClientID     string
	ClientSecret Secret
	Scopes       []string
	// Audience of the requested token. Default for token_exchange: the upstream's URL.
	Audience string
	// Resource is the RFC 8707 resource indicator sent with the request; "" to omit.
	Resource string
}

// ClientTLS configures TLS towards an HTTPS upstream. File paths are relative to the config
// file's folder and stored absolute after loading.
type ClientTLS struct {
	// CAFile holds extra PEM roots to trust.
	CAFile string

	// CertFile is the client certificate for mutual TLS; set together with KeyFile.
	CertFile string

	// KeyFile is the client certificate's private key; set together with CertFile.
	KeyFile string

	// ServerName overrides the name checked against the server's certificate.
	ServerName string

	// InsecureSkipVerify turns off certificate verification. Off unless set to true
	// explicitly; logged loudly.
	InsecureSkipVerify bool
}

// Restart is an exponential backoff.
type Restart struct {
	// InitialBackoff is the first wait. Default 500ms.
	InitialBackoff Duration

	// MaxBackoff caps the wait. Default 30s; must not be below InitialBackoff.
	MaxBackoff Duration
}

// File returns the config file path as given to Load or Parse.
func (c *Config) File() string { return c.file }

// Dir returns the absolute folder relative paths in the config are resolved against.
func (c *Config) Dir() string { return c.dir }

// Digest returns the hex SHA-256 of the config file's bytes as loaded.
func (c *Config) Digest() string {
	sum := sha256.Sum256(c.raw)
	return hex.EncodeToString(sum[:])
}

// Upstream returns the upstream called name.
func (c *Config) Upstream(name string) (*Upstream, bool) {
	for i := range c.Upstreams {
		if c.Upstreams[i].Name == name {
			return &c.Upstreams[i], true
		}
	}
	return nil, false
}
