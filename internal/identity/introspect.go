package identity

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// IntrospectionConfig configures RFC 7662 token introspection, for opaque access tokens.
type IntrospectionConfig struct {
	URL          string
	ClientID     string
	ClientSecret func() (string, error)
	Audiences    []string // when the answer names an audience, one of these must be in it
	Claims       Claims   // where identity fields come from in the answer
	RoleMap      map[string][]string
	CacheTTL     time.Duration // how long an active answer is reused; default 60s
	HTTPClient   *http.Client
	Now          func() time.Time
}

// Introspector asks the authorization server about opaque tokens.
type Introspector struct {
	cfg   IntrospectionConfig
	cache tokenCache
}

// NewIntrospector checks cfg.
func NewIntrospector(cfg IntrospectionConfig) (*Introspector, error) {
	if cfg.URL == "" || cfg.ClientID == "" || cfg.ClientSecret == nil {
		return nil, fmt.Errorf("introspection: url, client_id and client_secret are required")
	}
	if cfg.CacheTTL <= 0 {
		cfg.CacheTTL = time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.Claims.Subject == "" {
		cfg.Claims.Subject = "sub"
	}
	if cfg.Claims.Roles == "" {
		cfg.Claims.Roles = "roles"
	}
	return &Introspector{cfg: cfg}, nil
}

// Verify asks whether token is active and returns its identity. Every refusal wraps
// ErrInvalidToken; an authorization server that cannot be asked refuses too (fail closed).
func (in *Introspector) Verify(ctx context.Context, token string) (*Identity, error) {
	key, now := tokenKey(token), in.cfg.Now()
	if id, ok := in.cache.get(key, now); ok {
		return id, nil
	}
	fail := func(err error) (*Identity, error) { return nil, fmt.Errorf("%w: %w", ErrInvalidToken, err) }
	secret, err := in.cfg.ClientSecret()
	if err != nil {
		return fail(fmt.Errorf("introspection client secret: %w", err))
	}
	form := url.Values{"token": {token}, "token_type_hint": {"access_token"}}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, in.cfg.URL, strings.NewReader(form.Encode()))
	if err != nil {
		return fail(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.SetBasicAuth(url.QueryEscape(in.cfg.ClientID), url.QueryEscape(secret))
	resp, err := in.cfg.HTTPClient.Do(req)
	if err != nil {
		return fail(fmt.Errorf("introspection at %s: %w", in.cfg.URL, err))
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxDocBytes))
	if resp.StatusCode != http.StatusOK {
		return fail(fmt.Errorf("introspection at %s: HTTP %d", in.cfg.URL, resp.StatusCode))
	}
	var claims map[string]any
	if err := json.Unmarshal(body, &claims); err != nil {
		return fail(fmt.Errorf("introspection answer: %w", err))
	}
	if active, _ := claims["active"].(bool); !active {
		return fail(fmt.Errorf("the token is not active"))
	}
	var exp time.Time
	if e, ok := claims["exp"].(float64); ok {
		exp = time.Unix(int64(e), 0)
		if !now.Before(exp) {
			return fail(fmt.Errorf("the token expired at %s", exp.UTC().Format(time.RFC3339)))
		}
	}
	if aud := claimList(claims, "aud"); len(aud) > 0 && len(in.cfg.Audiences) > 0 {
		if !slices.ContainsFunc(aud, func(a string) bool { return slices.Contains(in.cfg.Audiences, a) }) {
			return fail(fmt.Errorf("audience %q is not this resource", aud))
		}
	}
	id, err := in.cfg.Claims.identity(claims, in.cfg.RoleMap)
	if err != nil {
		return fail(fmt.Errorf("introspection answer: %w", err))
	}
	id.Issuer, _ = claims["iss"].(string)
	id.Token = token
	until := now.Add(in.cfg.CacheTTL)
	if !exp.IsZero() && exp.Before(until) {
		until = exp
	}
	in.cache.put(key, id, until, now)
	return id, nil
}
