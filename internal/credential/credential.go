package credential

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"gatehouse/internal/identity"
)

// HeaderFunc returns the headers to add to one upstream request.
type HeaderFunc func(ctx context.Context) (http.Header, error)

// early is how long before its expiry a cached token is replaced.
const early = 30 * time.Second

// Config is a token endpoint and the gateway's client registration at it.
type Config struct {
	TokenURL     string
	ClientID     string
	ClientSecret func() (string, error) // resolved per token request, so it may rotate
	Scopes       []string
	Audience     string // RFC 8693 audience / the audience parameter; "" to omit
	Resource     string // RFC 8707 resource indicator; "" to omit
	HTTPClient   *http.Client
}

// ClientCredentials returns a source of OAuth 2.0 client-credentials tokens (RFC 6749
// §4.4) for the gateway itself, through golang.org/x/oauth2/clientcredentials.
func ClientCredentials(c Config) HeaderFunc {
	var mu sync.Mutex
	var tok *oauth2.Token
	return func(ctx context.Context) (http.Header, error) {
		mu.Lock()
		defer mu.Unlock()
		if tok == nil || !tok.Expiry.IsZero() && time.Until(tok.Expiry) < early {
			secret, err := c.ClientSecret()
			if err != nil {
				return nil, fmt.Errorf("client secret: %w", err)
			}
			cc := clientcredentials.Config{ClientID: c.ClientID, ClientSecret: secret, TokenURL: c.TokenURL, Scopes: c.Scopes,
				EndpointParams: url.Values{}}
			if c.Audience != "" {
				cc.EndpointParams.Set("audience", c.Audience)
			}
			if c.Resource != "" {
				cc.EndpointParams.Set("resource", c.Resource)
			}
			tctx := context.WithValue(context.WithoutCancel(ctx), oauth2.HTTPClient, c.HTTPClient)
			tctx, cancel := context.WithTimeout(tctx, 15*time.Second)
			defer cancel()
			t, err := cc.Token(tctx)
			if err != nil {
				return nil, fmt.Errorf("client credentials from %s: %w", c.TokenURL, err)
			}
			tok = t
		}
		return http.Header{"Authorization": {"Bearer " + tok.AccessToken}}, nil
	}
}

// ErrNoSubjectToken means a token exchange had no user token to exchange.
var ErrNoSubjectToken = errors.New("token exchange needs the caller's bearer token, and this caller has none (API keys and local identities cannot be exchanged)")

// TokenExchange returns a source that exchanges the caller's token (the identity in the
// request's context) for a token meant for this upstream alone (RFC 8693), caching each
// exchanged token per caller token until shortly before it expires.
func TokenExchange(c Config) HeaderFunc {
	type entry struct {
		token string
		until time.Time
	}
	var mu sync.Mutex
	cache := map[[32]byte]entry{}
	return func(ctx context.Context) (http.Header, error) {
		id := identity.FromContext(ctx)
		if id == nil || id.Token == "" {
			return nil, ErrNoSubjectToken
		}
		key := sha256.Sum256([]byte(id.Token))
		mu.Lock()
		e, ok := cache[key]
		mu.Unlock()
		if ok && time.Until(e.until) > 0 {
			return http.Header{"Authorization": {"Bearer " + e.token}}, nil
		}
		tok, ttl, err := exchange(ctx, c, id.Token)
		if err != nil {
			return nil, err
		}
		mu.Lock()
		now := time.Now()
		for k, old := range cache { // drop what expired, so the cache follows the live callers
			if now.After(old.until) {
				delete(cache, k)
			}
		}
		cache[key] = entry{tok, now.Add(ttl - early)}
		mu.Unlock()
		return http.Header{"Authorization": {"Bearer " + tok}}, nil
	}
}

func exchange(ctx context.Context, c Config, subject string) (string, time.Duration, error) {
	form := url.Values{
		"grant_type":           {"urn:ietf:params:oauth:grant-type:token-exchange"},
		"subject_token":        {subject},
		"subject_token_type":   {"urn:ietf:params:oauth:token-type:access_token"},
		"requested_token_type": {"urn:ietf:params:oauth:token-type:access_token"},
	}
	if c.Audience != "" {
		form.Set("audience", c.Audience)
	}
	if c.Resource != "" {
		form.Set("resource", c.Resource)
	}
	if len(c.Scopes) > 0 {
		form.Set("scope", strings.Join(c.Scopes, " "))
	}
	secret, err := c.ClientSecret()
	if err != nil {
		return "", 0, fmt.Errorf("client secret: %w", err)
	}
	tctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(tctx, http.MethodPost, c.TokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return "", 0, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.SetBasicAuth(url.QueryEscape(c.ClientID), url.QueryEscape(secret)) // RFC 6749 §2.3.1
	resp, err := c.HTTPClient.Do(req)
	if err != nil {
		return "", 0, fmt.Errorf("token exchange at %s: %w", c.TokenURL, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	var out struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
		ExpiresIn   int64  `json:"expires_in"`
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	json.Unmarshal(body, &out)
	if resp.StatusCode != http.StatusOK || out.AccessToken == "" {
		msg := out.Error
		if out.Description != "" {
			msg += ": " + out.Description
		}
		if msg == "" {
			msg = fmt.Sprintf("HTTP %d", resp.StatusCode)
		}
		return "", 0, fmt.Errorf("token exchange at %s refused: %s", c.TokenURL, msg)
	}
	if !strings.EqualFold(out.TokenType, "bearer") && !strings.EqualFold(out.TokenType, "N_A") && out.TokenType != "" {
		return "", 0, fmt.Errorf("token exchange at %s: token_type %q is not usable as a bearer token", c.TokenURL, out.TokenType)
	}
	ttl := time.Duration(out.ExpiresIn) * time.Second
	if ttl <= early {
		ttl = early + time.Second // no expiry given (or a very short one): reuse it briefly
	}
	return out.AccessToken, ttl, nil
}

// Merge combines header sources (static headers, then a credential), later ones winning.
func Merge(fs ...HeaderFunc) HeaderFunc {
	var live []HeaderFunc
	for _, f := range fs {
		if f != nil {
			live = append(live, f)
		}
	}
	switch len(live) {
	case 0:
		return nil
	case 1:
		return live[0]
	}
	return func(ctx context.Context) (http.Header, error) {
		out := http.Header{}
		for _, f := range live {
			h, err := f(ctx)
			if err != nil {
				return nil, err
			}
			for k, v := range h {
				out[k] = v
			}
		}
		return out, nil
	}
}
