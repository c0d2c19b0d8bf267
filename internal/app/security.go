package app

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os/user"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"gatehouse/internal/config"
	"gatehouse/internal/credential"
	"gatehouse/internal/identity"
	"gatehouse/internal/inspect/secret"
	"gatehouse/internal/policy"
)

// LoadConfig loads and validates a configuration, policy conditions included: every
// problem is reported at once, with file, line and field.
func LoadConfig(path string) (*config.Config, error) {
	checks, err := configChecks()
	if err != nil {
		return nil, err
	}
	return config.LoadWith(path, checks)
}

// ParseConfig is LoadConfig for bytes already read.
func ParseConfig(data []byte, file string) (*config.Config, error) {
	checks, err := configChecks()
	if err != nil {
		return nil, err
	}
	return config.ParseWith(data, file, checks)
}

// configChecks are the checks configuration loading cannot make on its own: policy
// conditions compile, and secret rule ids exist.
func configChecks() (config.Checks, error) {
	checker, err := policy.NewChecker()
	if err != nil {
		return config.Checks{}, err
	}
	return config.Checks{Expr: checker.Check, SecretRule: secretRuleCheck()}, nil
}

// secretRuleCheck checks inspection.secrets.disable ids against the secret rule set, which
// it reads on first use only: most configurations disable nothing.
func secretRuleCheck() func(id string) error {
	var ids map[string]bool
	var loadErr error
	return func(id string) error {
		if ids == nil && loadErr == nil {
			var list []string
			if list, loadErr = secret.RuleIDs(); loadErr == nil {
				ids = make(map[string]bool, len(list))
				for _, r := range list {
					ids[r] = true
				}
			}
		}
		if loadErr != nil {
			return loadErr
		}
		if !ids[id] {
			return fmt.Errorf("no secret rule %q (the rule ids are gitleaks' default rules, e.g. aws-access-token, and %q)", id, secret.HighEntropyRule)
		}
		return nil
	}
}

// CompilePolicy builds the policy of cfg.
func CompilePolicy(cfg *config.Config) (*policy.Policy, error) {
	tenants := make(map[string]string, len(cfg.Upstreams))
	for _, u := range cfg.Upstreams {
		tenants[u.Name] = u.Tenant
	}
	return policy.Compile(cfg.Policy, tenants)
}

// KeyStore is the API key store in cfg's data directory.
func KeyStore(cfg *config.Config) *identity.KeyStore {
	return identity.NewKeyStore(filepath.Join(cfg.DataDir, "keys.json"))
}

// authenticator builds the HTTP authenticator of cfg (nil: authentication off).
func authenticator(cfg *config.Config) (*identity.Authenticator, error) {
	anon := specIdentity(cfg.Identity.Anonymous, identity.MethodAnonymous)
	a := &identity.Authenticator{Anonymous: anon}
	if cfg.Auth == nil {
		return a, nil
	}
	a.RequiredScopes = cfg.Auth.RequiredScopes
	if cfg.Auth.APIKeys {
		a.Keys = KeyStore(cfg)
	}
	if j := cfg.Auth.JWT; j != nil {
		v, err := identity.NewJWTVerifier(identity.JWTConfig{
			Issuer: j.Issuer, Audiences: j.Audiences, JWKSURL: j.JWKSURL, Algorithms: j.Algorithms,
			ClockSkew: j.ClockSkew.Std(), RoleMap: j.RoleMap,
			Claims:     identity.Claims{Subject: j.Claims.Subject, Tenant: j.Claims.Tenant, Roles: j.Claims.Roles, Scopes: j.Claims.Scopes, ClientID: j.Claims.ClientID},
			HTTPClient: &http.Client{Timeout: 10 * time.Second},
		})
		if err != nil {
			return nil, err
		}
		a.JWT = v
	}
	if in := cfg.Auth.Introspection; in != nil {
		aud := []string{cfg.Auth.Resource}
		if cfg.Auth.JWT != nil {
			aud = cfg.Auth.JWT.Audiences
		}
		v, err := identity.NewIntrospector(identity.IntrospectionConfig{
			URL: in.URL, ClientID: in.ClientID, ClientSecret: func() (string, error) { return in.ClientSecret.Resolve(nil) },
			Audiences: aud, CacheTTL: in.CacheTTL.Std(), RoleMap: in.RoleMap,
			Claims:     identity.Claims{Subject: in.Claims.Subject, Tenant: in.Claims.Tenant, Roles: in.Claims.Roles, Scopes: in.Claims.Scopes, ClientID: in.Claims.ClientID},
			HTTPClient: &http.Client{Timeout: 10 * time.Second},
		})
		if err != nil {
			return nil, err
		}
		a.Introspection = v
	}
	return a, nil
}

func specIdentity(s config.IdentitySpec, m identity.Method) *identity.Identity {
	return &identity.Identity{Method: m, Subject: s.Subject, Tenant: s.Tenant, Roles: s.Roles, Scopes: s.Scopes}
}

// StdioIdentity is who the client of `gatehouse stdio` is: identity.stdio, with the local OS
// user as the default subject.
func StdioIdentity(cfg *config.Config) *identity.Identity {
	id := specIdentity(cfg.Identity.Stdio, identity.MethodLocal)
	if id.Subject == "" {
		if u, err := user.Current(); err == nil {
			id.Subject = u.Username
		} else {
			id.Subject = "local"
		}
	}
	return id
}

// metadataURL is where the RFC 9728 metadata of resource lives (the path-suffixed form).
func metadataURL(resource string) string {
	u, err := url.Parse(resource)
	if err != nil {
		return ""
	}
	return u.Scheme + "://" + u.Host + identity.MetadataPaths(u.Path)[0]
}

// metadata serves the RFC 9728 protected-resource metadata of the auth section in force, at
// the path-suffixed and the bare well-known path.
func (a *App) metadata(w http.ResponseWriter, r *http.Request) {
	au := a.authC.Load()
	if au == nil {
		http.NotFound(w, r)
		return
	}
	u, err := url.Parse(au.Resource)
	if err != nil || !slices.Contains(identity.MetadataPaths(u.Path), r.URL.Path) {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	doc, _ := json.Marshal(identity.ProtectedResourceMetadata(au.Resource, au.AuthorizationServers, au.RequiredScopes))
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "max-age=300")
	w.Write(doc)
}

// describeAuth is a log line of what authentication is on.
func describeAuth(cfg *config.Config) string {
	if cfg.Auth == nil {
		return fmt.Sprintf("off: every HTTP caller is %q with roles %v", cfg.Identity.Anonymous.Subject, cfg.Identity.Anonymous.Roles)
	}
	var parts []string
	if cfg.Auth.JWT != nil {
		parts = append(parts, "jwt from "+cfg.Auth.JWT.Issuer)
	}
	if cfg.Auth.Introspection != nil {
		parts = append(parts, "introspection at "+cfg.Auth.Introspection.URL)
	}
	if cfg.Auth.APIKeys {
		parts = append(parts, "api keys")
	}
	return strings.Join(parts, ", ") + " for " + cfg.Auth.Resource
}

func (a *App) metadataURL() string {
	au := a.authC.Load()
	if au == nil {
		return ""
	}
	return metadataURL(au.Resource)
}

// upstreamHeaders is what the gateway sends an HTTP upstream with every request: its
// static headers and its own credentials. Nothing of the client's request is in it.
func upstreamHeaders(u *config.Upstream) func(context.Context) (http.Header, error) {
	var cred credential.HeaderFunc
	if c := u.Credentials; c != nil {
		cc := credential.Config{
			TokenURL: c.TokenURL, ClientID: c.ClientID, Scopes: c.Scopes, Audience: c.Audience, Resource: c.Resource,
			ClientSecret: func() (string, error) { return c.ClientSecret.Resolve(nil) },
			// The token endpoint is not the upstream: the default client, bounded per request.
			HTTPClient: &http.Client{Timeout: 15 * time.Second},
		}
		switch c.Type {
		case config.CredentialsClientCredentials:
			cred = credential.ClientCredentials(cc)
		case config.CredentialsTokenExchange:
			if cc.Audience == "" {
				cc.Audience = u.URL
			}
			cred = credential.TokenExchange(cc)
		}
	}
	return credential.Merge(headerFunc(u.Headers), cred)
}
