package config

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Auth configures how HTTP clients authenticate. Without an auth section, HTTP requests
// are not authenticated and every caller is identity.anonymous: fit only for a loopback
// listener.
type Auth struct {
	// Resource is this endpoint's canonical URI (https://gw.example.com/mcp): the audience
	// tokens must carry, and the resource of the RFC 9728 metadata. Required.
	Resource string

	// AuthorizationServers are advertised in the metadata. Default [jwt.issuer].
	AuthorizationServers []string

	// RequiredScopes must all be held by every request's token (403 insufficient_scope).
	RequiredScopes []string

	// APIKeys accepts keys made with `gatehouse keys create` (stored in data_dir).
	APIKeys bool

	// JWT verifies bearer JWTs from one issuer; nil if not configured.
	JWT *JWT

	// Introspection asks the authorization server about opaque tokens (RFC 7662); nil if
	// not configured.
	Introspection *Introspection
}

// Introspection configures RFC 7662 token introspection.
type Introspection struct {
	URL          string
	ClientID     string
	ClientSecret Secret
	CacheTTL     Duration            // how long an active answer is reused; default 60s
	Claims       JWTClaims           // where identity fields come from in the answer
	RoleMap      map[string][]string // as for jwt
}

// JWT configures bearer JWT verification.
type JWT struct {
	Issuer     string              // exact iss; required
	Audiences  []string            // accepted aud values; default [auth.resource]
	JWKSURL    string              // default: discovery from the issuer
	Algorithms []string            // allowlist, asymmetric only; default [RS256, ES256]
	ClockSkew  Duration            // tolerance on exp/nbf; default 60s
	Claims     JWTClaims           // where identity fields come from
	RoleMap    map[string][]string // claim value → roles; when set, unmapped values are dropped
}

// JWTClaims names the claims (dotted paths allowed) identities are read from.
type JWTClaims struct {
	Subject  string // default sub
	Tenant   string // default none
	Roles    string // default roles
	Scopes   string // default scope, then scp
	ClientID string // default azp, then client_id
}

// Identities configures who callers are when they do not authenticate.
type Identities struct {
	// Anonymous is every HTTP caller when there is no auth section. Default subject
	// "anonymous" with no roles: denied everything unless the policy grants it.
	Anonymous IdentitySpec

	// Stdio is the client of `gatehouse stdio`. Default: the local OS user, no roles.
	Stdio IdentitySpec
}

// IdentitySpec is a configured identity.
type IdentitySpec struct {
	Subject string
	Tenant  string
	Roles   []string
	Scopes  []string
}

// Policy decides who may use what. Default deny: what no role grants is refused.
type Policy struct {
	// Tags name groups of tools for conditions ("sensitive"): tag → patterns of
	// "<server>/<tool>".
	Tags map[string][]string

	// Roles grant servers, tools, prompts and resources by name patterns ("*" matches any
	// run of characters).
	Roles map[string][]Grant

	// Rules refine the grants, in order: deny, require_approval and redact apply whenever
	// they match; allow grants beyond the roles. A matching deny always wins.
	Rules []Rule
}

// Grant is one entry of a role.
type Grant struct {
	Servers   []string // default ["*"]
	Tools     []string
	Prompts   []string
	Resources []string // resource URI patterns
}

// Rule is one policy rule.
type Rule struct {
	Name      string
	Effect    string // allow | deny | require_approval | redact
	Reason    string // shown to the client on deny and require_approval
	Servers   []string
	Tools     []string
	Prompts   []string
	Resources []string
	When      string // CEL condition; "" means always
	WhenPos   Pos
	Redact    Redact
	Pos       Pos
}

// Redact lists JSON paths to redact ("a.b", "content.*.text").
type Redact struct {
	Arguments []string
	Result    []string
}

// Pos is a position in the config file.
type Pos struct{ Line, Column int }

// Effects of a rule.
const (
	EffectAllow           = "allow"
	EffectDeny            = "deny"
	EffectRequireApproval = "require_approval"
	EffectRedact          = "redact"
)

func authKeys() []string {
	return []string{"resource", "authorization_servers", "required_scopes", "api_keys", "jwt", "introspection"}
}
func introspectionKeys() []string {
	return []string{"url", "client_id", "client_secret", "cache_ttl", "claims", "role_map"}
}
func jwtKeys() []string {
	return []string{"issuer", "audiences", "jwks_url", "algorithms", "clock_skew", "claims", "role_map"}
}
func jwtClaimKeys() []string     { return []string{"subject", "tenant", "roles", "scopes", "client_id"} }
func identitiesKeys() []string   { return []string{"anonymous", "stdio"} }
func identitySpecKeys() []string { return []string{"subject", "tenant", "roles", "scopes"} }
func policyKeys() []string       { return []string{"tags", "roles", "rules"} }
func grantKeys() []string        { return []string{"servers", "tools", "prompts", "resources"} }
func redactKeys() []string       { return []string{"arguments", "result"} }
func asymmetricAlgs() []string {
	return []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
}
func ruleKeys() []string {
	return []string{"name", "effect", "reason", "servers", "tools", "prompts", "resources", "when", "redact"}
}

var ruleNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)

func (d *decoder) auth(n *yaml.Node, path string, a *Auth) {
	f := d.fields(n, path, authKeys()...)
	if f == nil {
		return
	}
	if e, ok := f["resource"]; ok {
		p := join(path, "resource")
		if s, ok := d.str(e.val, p); ok {
			u, err := url.Parse(s)
			switch {
			case err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
				d.add(e.val, p, "%q must be an absolute http(s) URI", s)
			case u.Fragment != "" || u.RawQuery != "":
				d.add(e.val, p, "%q must not have a query or fragment (RFC 8707)", s)
			default:
				a.Resource = s
			}
		}
	} else {
		d.add(n, join(path, "resource"), "required: this endpoint's canonical URI, e.g. https://gateway.example.com/mcp")
	}
	if e, ok := f["authorization_servers"]; ok {
		a.AuthorizationServers, _ = d.strList(e.val, join(path, "authorization_servers"))
	}
	if e, ok := f["required_scopes"]; ok {
		a.RequiredScopes, _ = d.strList(e.val, join(path, "required_scopes"))
	}
	if e, ok := f["api_keys"]; ok {
		a.APIKeys, _ = d.boolean(e.val, join(path, "api_keys"))
	}
	if e, ok := f["jwt"]; ok {
		a.JWT = &JWT{}
		d.jwt(e.val, join(path, "jwt"), a.JWT)
	}
	if e, ok := f["introspection"]; ok {
		a.Introspection = &Introspection{}
		d.introspection(e.val, join(path, "introspection"), a.Introspection)
	}
	if a.JWT == nil && a.Introspection == nil && !a.APIKeys {
		d.add(n, path, "configures no way to authenticate: add jwt, introspection, or api_keys: true")
	}
}

func (d *decoder) jwt(n *yaml.Node, path string, j *JWT) {
	f := d.fields(n, path, jwtKeys()...)
	if f == nil {
		return
	}
	j.Issuer = d.httpURL(f, n, path, "issuer", "required")
	if e, ok := f["audiences"]; ok {
		j.Audiences, _ = d.strList(e.val, join(path, "audiences"))
	}
	j.JWKSURL = d.httpURL(f, n, path, "jwks_url", "")
	if e, ok := f["algorithms"]; ok {
		p := join(path, "algorithms")
		if list, ok := d.strList(e.val, p); ok {
			for i, a := range list {
				if !slices.Contains(asymmetricAlgs(), a) {
					d.add(deref(e.val).Content[i], index(p, i), "%q is not allowed: asymmetric algorithms only (%s)%s", a,
						strings.Join(asymmetricAlgs(), ", "), suggestion(a, asymmetricAlgs(), false))
				}
			}
			if len(list) == 0 {
				d.add(e.val, p, "must not be empty")
			}
			j.Algorithms = list
		}
	}
	if e, ok := f["clock_skew"]; ok {
		j.ClockSkew, _ = d.nonNegDuration(e.val, join(path, "clock_skew"))
	}
	if e, ok := f["claims"]; ok {
		d.claims(e.val, join(path, "claims"), &j.Claims)
	}
	if e, ok := f["role_map"]; ok {
		j.RoleMap = d.roleMap(e.val, join(path, "role_map"))
	}
}

func (d *decoder) claims(n *yaml.Node, p string, c *JWTClaims) {
	if cf := d.fields(n, p, jwtClaimKeys()...); cf != nil {
		for key, dst := range map[string]*string{"subject": &c.Subject, "tenant": &c.Tenant,
			"roles": &c.Roles, "scopes": &c.Scopes, "client_id": &c.ClientID} {
			if ce, ok := cf[key]; ok {
				*dst, _ = d.str(ce.val, join(p, key))
			}
		}
	}
}

func (d *decoder) roleMap(n *yaml.Node, p string) map[string][]string {
	v := deref(n)
	if v == nil || v.Kind != yaml.MappingNode {
		d.add(n, p, "must be a mapping of claim value to a list of roles, not %s", describe(n))
		return nil
	}
	m := make(map[string][]string)
	for i := 0; i+1 < len(v.Content); i += 2 {
		k := v.Content[i].Value
		roles, _ := d.strList(v.Content[i+1], join(p, k))
		m[k] = roles
	}
	return m
}

func (d *decoder) introspection(n *yaml.Node, path string, in *Introspection) {
	f := d.fields(n, path, introspectionKeys()...)
	if f == nil {
		return
	}
	in.URL = d.httpURL(f, n, path, "url", "required: the authorization server's introspection endpoint")
	in.ClientID, in.ClientSecret = d.oauthClient(f, n, path)
	if e, ok := f["cache_ttl"]; ok {
		in.CacheTTL, _ = d.nonNegDuration(e.val, join(path, "cache_ttl"))
	}
	if e, ok := f["claims"]; ok {
		d.claims(e.val, join(path, "claims"), &in.Claims)
	}
	if e, ok := f["role_map"]; ok {
		in.RoleMap = d.roleMap(e.val, join(path, "role_map"))
	}
}

func (d *decoder) identities(n *yaml.Node, path string, ids *Identities) {
	f := d.fields(n, path, identitiesKeys()...)
	if f == nil {
		return
	}
	if e, ok := f["anonymous"]; ok {
		d.identitySpec(e.val, join(path, "anonymous"), &ids.Anonymous)
	}
	if e, ok := f["stdio"]; ok {
		d.identitySpec(e.val, join(path, "stdio"), &ids.Stdio)
	}
}

func (d *decoder) identitySpec(n *yaml.Node, path string, s *IdentitySpec) {
	f := d.fields(n, path, identitySpecKeys()...)
	if f == nil {
		return
	}
	if e, ok := f["subject"]; ok {
		s.Subject, _ = d.str(e.val, join(path, "subject"))
	}
	if e, ok := f["tenant"]; ok {
		s.Tenant, _ = d.str(e.val, join(path, "tenant"))
	}
	if e, ok := f["roles"]; ok {
		s.Roles, _ = d.strList(e.val, join(path, "roles"))
	}
	if e, ok := f["scopes"]; ok {
		s.Scopes, _ = d.strList(e.val, join(path, "scopes"))
	}
}

func (d *decoder) policy(n *yaml.Node, path string, p *Policy) {
	f := d.fields(n, path, policyKeys()...)
	if f == nil {
		return
	}
	if e, ok := f["tags"]; ok {
		tp := join(path, "tags")
		v := deref(e.val)
		if v == nil || v.Kind != yaml.MappingNode {
			d.add(e.val, tp, "must be a mapping of tag to a list of <server>/<tool> patterns, not %s", describe(e.val))
		} else {
			p.Tags = make(map[string][]string)
			for i := 0; i+1 < len(v.Content); i += 2 {
				k := v.Content[i].Value
				kp := join(tp, k)
				list, ok := d.strList(v.Content[i+1], kp)
				if ok {
					for j, pat := range list {
						if !strings.Contains(pat, "/") {
							d.add(deref(v.Content[i+1]).Content[j], index(kp, j), "%q must have the form <server>/<tool> (patterns allowed, e.g. \"files/read_*\")", pat)
						}
					}
				}
				p.Tags[k] = list
			}
		}
	}
	if e, ok := f["roles"]; ok {
		rp := join(path, "roles")
		v := deref(e.val)
		if v == nil || v.Kind != yaml.MappingNode {
			d.add(e.val, rp, "must be a mapping of role name to a list of grants, not %s", describe(e.val))
		} else {
			p.Roles = make(map[string][]Grant)
			for i := 0; i+1 < len(v.Content); i += 2 {
				k := v.Content[i].Value
				kp := join(rp, k)
				lv := deref(v.Content[i+1])
				if lv == nil || lv.Kind != yaml.SequenceNode {
					d.add(v.Content[i+1], kp, "must be a list of grants ({servers, tools, prompts, resources}), not %s", describe(v.Content[i+1]))
					continue
				}
				grants := make([]Grant, len(lv.Content))
				for j, item := range lv.Content {
					d.grant(item, index(kp, j), &grants[j])
				}
				p.Roles[k] = grants
			}
		}
	}
	if e, ok := f["rules"]; ok {
		rp := join(path, "rules")
		v := deref(e.val)
		if v == nil || v.Kind != yaml.SequenceNode {
			d.add(e.val, rp, "must be a list of rules, not %s", describe(e.val))
			return
		}
		p.Rules = make([]Rule, len(v.Content))
		seen := make(map[string]int)
		for i, item := range v.Content {
			r := &p.Rules[i]
			d.rule(item, index(rp, i), r)
			if r.Name != "" {
				if line, dup := seen[r.Name]; dup {
					d.add(item, join(index(rp, i), "name"), "duplicate rule name %q (first used at line %d)", r.Name, line)
				}
				seen[r.Name] = item.Line
			}
		}
	}
}

func (d *decoder) patterns(f map[string]entry, path, key string) []string {
	e, ok := f[key]
	if !ok {
		return nil
	}
	p := join(path, key)
	list, ok := d.strList(e.val, p)
	if ok {
		for i, s := range list {
			if s == "" {
				d.add(deref(e.val).Content[i], index(p, i), "must not be empty")
			}
		}
	}
	return list
}

func (d *decoder) grant(n *yaml.Node, path string, g *Grant) {
	f := d.fields(n, path, grantKeys()...)
	if f == nil {
		return
	}
	g.Servers = d.patterns(f, path, "servers")
	g.Tools = d.patterns(f, path, "tools")
	g.Prompts = d.patterns(f, path, "prompts")
	g.Resources = d.patterns(f, path, "resources")
	if g.Tools == nil && g.Prompts == nil && g.Resources == nil {
		d.add(n, path, "grants nothing: list tools, prompts or resources (\"*\" for all)")
	}
}

func (d *decoder) rule(n *yaml.Node, path string, r *Rule) {
	f := d.fields(n, path, ruleKeys()...)
	if f == nil {
		return
	}
	r.Pos = Pos{n.Line, n.Column}
	if e, ok := f["name"]; ok {
		p := join(path, "name")
		if s, ok := d.str(e.val, p); ok {
			if !ruleNameRE.MatchString(s) {
				d.add(e.val, p, "%q must match %s", s, ruleNameRE)
			}
			r.Name = s
		}
	} else {
		d.add(n, join(path, "name"), "required: denials name the rule that made them")
	}
	if e, ok := f["effect"]; ok {
		r.Effect, _ = d.oneOf(e.val, join(path, "effect"), EffectAllow, EffectDeny, EffectRequireApproval, EffectRedact)
	} else {
		d.add(n, join(path, "effect"), "required (allow, deny, require_approval or redact)")
	}
	if e, ok := f["reason"]; ok {
		r.Reason, _ = d.str(e.val, join(path, "reason"))
	}
	r.Servers = d.patterns(f, path, "servers")
	r.Tools = d.patterns(f, path, "tools")
	r.Prompts = d.patterns(f, path, "prompts")
	r.Resources = d.patterns(f, path, "resources")
	if e, ok := f["when"]; ok {
		p := join(path, "when")
		if s, ok := d.str(e.val, p); ok {
			r.When = s
			r.WhenPos = Pos{e.val.Line, e.val.Column}
			if d.checks.Expr != nil {
				if err := d.checks.Expr(s); err != nil {
					d.add(e.val, p, "%v", err)
				}
			}
		}
	}
	if e, ok := f["redact"]; ok {
		p := join(path, "redact")
		if rf := d.fields(e.val, p, redactKeys()...); rf != nil {
			if a, ok := rf["arguments"]; ok {
				r.Redact.Arguments, _ = d.strList(a.val, join(p, "arguments"))
			}
			if a, ok := rf["result"]; ok {
				r.Redact.Result, _ = d.strList(a.val, join(p, "result"))
			}
		}
	}
	switch {
	case r.Effect == EffectRedact && len(r.Redact.Arguments)+len(r.Redact.Result) == 0:
		d.add(n, join(path, "redact"), "effect redact needs redact.arguments or redact.result")
	case r.Effect != EffectRedact && r.Effect != "" && (len(r.Redact.Arguments)+len(r.Redact.Result) > 0):
		d.add(n, join(path, "redact"), "only for effect: redact")
	}
	if r.Effect == EffectAllow && r.Tools == nil && r.Prompts == nil && r.Resources == nil {
		d.add(n, path, "an allow rule must name tools, prompts or resources (\"*\" for all)")
	}
}

// Checks are validations a caller adds to Load: the config package does not compile policy
// conditions itself.
type Checks struct {
	// Expr compiles a policy condition and returns why it is invalid.
	Expr func(expr string) error
	// SecretRule returns why id is not a secret rule that inspection.secrets.disable may name.
	SecretRule func(id string) error
}

// LoadWith is Load with extra checks.
func LoadWith(path string, checks Checks) (*Config, error) {
	data, err := readFile(path)
	if err != nil {
		return nil, err
	}
	return parse(data, path, checks)
}

// ParseWith is Parse with extra checks.
func ParseWith(data []byte, file string, checks Checks) (*Config, error) {
	return parse(data, file, checks)
}

// describeTenants checks that upstream tenants are well-formed names.
func checkTenant(s string) string {
	if s != "" && !validName(s) {
		return fmt.Sprintf("%q must match ^[a-z0-9][a-z0-9-]*$", s)
	}
	return ""
}

func credentialKeys() []string {
	return []string{"type", "token_url", "client_id", "client_secret", "scopes", "audience", "resource"}
}

func (d *decoder) credentials(n *yaml.Node, path string, u *Upstream) {
	c := u.Credentials
	f := d.fields(n, path, credentialKeys()...)
	if f == nil {
		return
	}
	if e, ok := f["type"]; ok {
		c.Type, _ = d.oneOf(e.val, join(path, "type"), CredentialsClientCredentials, CredentialsTokenExchange)
	} else {
		d.add(n, join(path, "type"), "required (client_credentials or token_exchange)")
	}
	c.TokenURL = d.httpURL(f, n, path, "token_url", "required: the authorization server's token endpoint")
	c.ClientID, c.ClientSecret = d.oauthClient(f, n, path)
	if e, ok := f["scopes"]; ok {
		c.Scopes, _ = d.strList(e.val, join(path, "scopes"))
	}
	if e, ok := f["audience"]; ok {
		c.Audience, _ = d.str(e.val, join(path, "audience"))
	}
	if e, ok := f["resource"]; ok {
		c.Resource, _ = d.str(e.val, join(path, "resource"))
	}
	if _, both := u.Headers["Authorization"]; both {
		d.add(n, path, "headers.Authorization is set too: the credentials provide the Authorization header")
	}
	if c.Type == CredentialsTokenExchange && u.Sharing == SharingShared {
		d.add(n, path, "token_exchange acts for each caller, so it needs sharing: per_session")
	}
}

// Audit configures the audit trail.
type Audit struct {
	// Enabled records every decision (default true). Turning it off is logged.
	Enabled bool
	// Store is sqlite (default, embedded) or postgres (several replicas, one database).
	Store string
	// Path is the SQLite store. Default DATA_DIR/audit.db; stored absolute.
	Path string
	// DSN is the PostgreSQL connection string (store: postgres), usually {env: NAME}.
	DSN Secret
	// Chain names this gateway's chain; default the host name. Replicas sharing a store
	// need distinct chains.
	Chain              string
	CheckpointEvery    int      // default 1000
	CheckpointInterval Duration // default 10s
	// CheckpointFile also receives every signed checkpoint (JSON lines): keep it somewhere
	// the store's writer cannot rewrite, and a truncation of the whole tail is found.
	CheckpointFile string
	// CheckpointURL also receives every signed checkpoint (POSTed as JSON), with
	// CheckpointHeaders.
	CheckpointURL     string
	CheckpointHeaders map[string]Secret
	// FailOpen forwards requests whose record could not be written. Off by default: a
	// request that cannot be recorded is refused.
	FailOpen bool
	// Values is how argument values are recorded unless a field rule says otherwise:
	// hash (default; keyed HMAC), clear or omit.
	Values string
	// Fields are per server/tool/path exceptions, first match wins.
	Fields []AuditField
	// Retention prunes records older than this (hourly); 0 keeps everything.
	Retention Duration
	// Forward delivers every record at least once to these sinks.
	Forward []AuditSink
}

// AuditSink is a destination for audit records (a SIEM's HTTP collector).
type AuditSink struct {
	Name    string // unique; its delivery cursor is kept under this name
	Type    string // webhook (default) or syslog
	URL     string // webhook
	Address string // syslog: host:port of an RFC 5424 receiver over TCP
	Headers map[string]Secret
	Batch   int // records per request; default 100
}

// AuditField is one value rule.
type AuditField struct {
	Server, Tool, Path, Mode string
}

func auditKeys() []string {
	return []string{"enabled", "store", "path", "dsn", "chain", "checkpoint_every", "checkpoint_interval", "checkpoint_file", "checkpoint_url", "checkpoint_headers", "fail_open", "values", "fields", "retention", "forward"}
}

func (d *decoder) audit(n *yaml.Node, path string, a *Audit) {
	f := d.fields(n, path, auditKeys()...)
	if f == nil {
		return
	}
	if e, ok := f["enabled"]; ok {
		a.Enabled, _ = d.boolean(e.val, join(path, "enabled"))
	}
	if e, ok := f["store"]; ok {
		a.Store, _ = d.oneOf(e.val, join(path, "store"), "sqlite", "postgres")
	}
	if e, ok := f["path"]; ok {
		if s, ok := d.str(e.val, join(path, "path")); ok && s != "" {
			a.Path = d.abs(s)
		}
	}
	if e, ok := f["dsn"]; ok {
		a.DSN, _ = d.secret(e.val, join(path, "dsn"))
	}
	if a.Store == "postgres" {
		if _, ok := f["dsn"]; !ok {
			d.add(n, join(path, "dsn"), "required for store: postgres (e.g. {env: GATEHOUSE_AUDIT_DSN})")
		}
	}
	if e, ok := f["chain"]; ok {
		p := join(path, "chain")
		if s, ok := d.str(e.val, p); ok && s != "" {
			if !ruleNameRE.MatchString(s) {
				d.add(e.val, p, "%q must match %s", s, ruleNameRE)
			}
			a.Chain = s
		}
	}
	if e, ok := f["checkpoint_every"]; ok {
		if v, ok := d.integer(e.val, join(path, "checkpoint_every")); ok && d.positive(e.val, join(path, "checkpoint_every"), int64(v)) {
			a.CheckpointEvery = v
		}
	}
	if e, ok := f["checkpoint_interval"]; ok {
		a.CheckpointInterval, _ = d.nonNegDuration(e.val, join(path, "checkpoint_interval"))
	}
	if e, ok := f["checkpoint_file"]; ok {
		if s, ok := d.str(e.val, join(path, "checkpoint_file")); ok && s != "" {
			a.CheckpointFile = d.abs(s)
		}
	}
	a.CheckpointURL = d.httpURL(f, n, path, "checkpoint_url", "")
	if e, ok := f["checkpoint_headers"]; ok {
		a.CheckpointHeaders = d.secretMap(e.val, join(path, "checkpoint_headers"), checkHeaderName, true)
	}
	if e, ok := f["fail_open"]; ok {
		a.FailOpen, _ = d.boolean(e.val, join(path, "fail_open"))
	}
	if e, ok := f["retention"]; ok {
		a.Retention, _ = d.nonNegDuration(e.val, join(path, "retention"))
	}
	if e, ok := f["forward"]; ok {
		p := join(path, "forward")
		v := deref(e.val)
		if v == nil || v.Kind != yaml.SequenceNode {
			d.add(e.val, p, "must be a list of sinks ({name, type: webhook, url, headers}), not %s", describe(e.val))
		} else {
			seen := map[string]bool{}
			for i, item := range v.Content {
				ip := index(p, i)
				ff := d.fields(item, ip, "name", "type", "url", "address", "headers", "batch")
				if ff == nil {
					continue
				}
				var s AuditSink
				if fe, ok := ff["name"]; ok {
					if s.Name, _ = d.str(fe.val, join(ip, "name")); seen[s.Name] {
						d.add(fe.val, join(ip, "name"), "duplicate sink name %q", s.Name)
					}
					seen[s.Name] = true
				} else {
					d.add(item, join(ip, "name"), "required")
				}
				if fe, ok := ff["type"]; ok {
					s.Type, _ = d.oneOf(fe.val, join(ip, "type"), "webhook", "syslog")
				} else {
					s.Type = "webhook"
				}
				if fe, ok := ff["address"]; ok {
					if a, ok := d.str(fe.val, join(ip, "address")); ok {
						if msg := checkAddress(a); msg != "" {
							d.add(fe.val, join(ip, "address"), "%s", msg)
						}
						s.Address = a
					}
				}
				if s.Type == "syslog" {
					if s.Address == "" {
						d.add(item, join(ip, "address"), "required for a syslog sink (host:port)")
					}
					a.Forward = append(a.Forward, s)
					continue
				}
				if fe, ok := ff["url"]; ok {
					if u, ok := d.str(fe.val, join(ip, "url")); ok {
						if pu, err := url.Parse(u); err != nil || pu.Host == "" || (pu.Scheme != "http" && pu.Scheme != "https") {
							d.add(fe.val, join(ip, "url"), "%q must be an absolute http(s) URL", u)
						}
						s.URL = u
					}
				} else {
					d.add(item, join(ip, "url"), "required")
				}
				if fe, ok := ff["headers"]; ok {
					s.Headers = d.secretMap(fe.val, join(ip, "headers"), checkHeaderName, true)
				}
				if fe, ok := ff["batch"]; ok {
					if n, ok := d.integer(fe.val, join(ip, "batch")); ok && d.positive(fe.val, join(ip, "batch"), int64(n)) {
						s.Batch = n
					}
				}
				a.Forward = append(a.Forward, s)
			}
		}
	}
	if e, ok := f["values"]; ok {
		a.Values, _ = d.oneOf(e.val, join(path, "values"), "hash", "clear", "omit")
	}
	if e, ok := f["fields"]; ok {
		p := join(path, "fields")
		v := deref(e.val)
		if v == nil || v.Kind != yaml.SequenceNode {
			d.add(e.val, p, "must be a list of {server, tool, path, mode}, not %s", describe(e.val))
			return
		}
		for i, item := range v.Content {
			ip := index(p, i)
			ff := d.fields(item, ip, "server", "tool", "path", "mode")
			if ff == nil {
				continue
			}
			var af AuditField
			for key, dst := range map[string]*string{"server": &af.Server, "tool": &af.Tool, "path": &af.Path} {
				if fe, ok := ff[key]; ok {
					*dst, _ = d.str(fe.val, join(ip, key))
				}
			}
			if fe, ok := ff["mode"]; ok {
				af.Mode, _ = d.oneOf(fe.val, join(ip, "mode"), "hash", "clear", "omit")
			} else {
				d.add(item, join(ip, "mode"), "required (hash, clear or omit)")
			}
			a.Fields = append(a.Fields, af)
		}
	}
}

// httpURL decodes f[key] as an absolute http(s) URL. required, if not empty, is the
// message for a missing key; an optional key may also be "".
func (d *decoder) httpURL(f map[string]entry, n *yaml.Node, path, key, required string) string {
	p := join(path, key)
	e, ok := f[key]
	if !ok {
		if required != "" {
			d.add(n, p, "%s", required)
		}
		return ""
	}
	s, ok := d.str(e.val, p)
	if !ok || (s == "" && required == "") {
		return ""
	}
	if u, err := url.Parse(s); err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		d.add(e.val, p, "%q must be an absolute http(s) URL", s)
		return ""
	}
	return s
}

// oauthClient decodes the client_id and client_secret of a registration at an
// authorization server; both are required.
func (d *decoder) oauthClient(f map[string]entry, n *yaml.Node, path string) (string, Secret) {
	var id string
	var secret Secret
	if e, ok := f["client_id"]; ok {
		id, _ = d.str(e.val, join(path, "client_id"))
	} else {
		d.add(n, join(path, "client_id"), "required")
	}
	if e, ok := f["client_secret"]; ok {
		secret, _ = d.secret(e.val, join(path, "client_secret"))
	} else {
		d.add(n, join(path, "client_secret"), "required ({env: NAME} or {file: PATH})")
	}
	return id, secret
}
