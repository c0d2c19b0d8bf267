package identity

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwk"
)

// maxDocBytes bounds a discovery document or JWKS the gateway will read.
const maxDocBytes = 1 << 20

// keySet is an issuer's signing keys, fetched from its JWKS URL (found by discovery when not
// configured), cached, and fetched again when a token names a kid it does not hold, at most
// once per minRefresh so that tokens with random kids cannot make the gateway hammer the
// issuer.
type keySet struct {
	client     *http.Client
	issuer     string // for discovery
	jwksURL    string // configured, or found by discovery
	maxAge     time.Duration
	minRefresh time.Duration
	now        func() time.Time

	mu      sync.Mutex
	set     jwk.Set
	fetched time.Time // last successful fetch
	tried   time.Time // last attempt
	fetch   chan struct{}
	lastErr error
}

// lookup returns the key with kid, fetching the set when it is missing, stale, or lacks kid.
func (k *keySet) lookup(ctx context.Context, kid string) (jwk.Key, error) {
	k.mu.Lock()
	set, fresh := k.set, k.set != nil && k.now().Sub(k.fetched) < k.maxAge
	k.mu.Unlock()
	if set != nil && fresh {
		if key, ok := set.LookupKeyID(kid); ok {
			return key, nil
		}
	}
	set, err := k.refresh(ctx)
	if set == nil {
		return nil, err
	}
	if key, ok := set.LookupKeyID(kid); ok {
		return key, nil
	}
	if err != nil {
		return nil, fmt.Errorf("unknown key id %q (keys could not be refreshed: %w)", kid, err)
	}
	return nil, fmt.Errorf("unknown key id %q", kid)
}

// refresh fetches the set unless an attempt was made within minRefresh; concurrent callers
// share one fetch. It returns the newest set it has, and the fetch error, if any.
func (k *keySet) refresh(ctx context.Context) (jwk.Set, error) {
	k.mu.Lock()
	if ch := k.fetch; ch != nil {
		k.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		k.mu.Lock()
		defer k.mu.Unlock()
		return k.set, k.lastErr
	}
	if !k.tried.IsZero() && k.now().Sub(k.tried) < k.minRefresh {
		defer k.mu.Unlock()
		return k.set, k.lastErr
	}
	ch := make(chan struct{})
	k.fetch, k.tried = ch, k.now()
	k.mu.Unlock()

	// Detached from the caller: one client giving up must not fail the fetch for others.
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	set, err := k.load(fctx)
	cancel()

	k.mu.Lock()
	defer k.mu.Unlock()
	if err == nil {
		k.set, k.fetched = set, k.now()
	}
	k.lastErr, k.fetch = err, nil
	close(ch)
	return k.set, err
}

func (k *keySet) load(ctx context.Context) (jwk.Set, error) {
	u := k.jwksURL
	if u == "" {
		var err error
		if u, err = Discover(ctx, k.client, k.issuer); err != nil {
			return nil, err
		}
	}
	body, err := getJSON(ctx, k.client, u)
	if err != nil {
		return nil, fmt.Errorf("jwks: %w", err)
	}
	set, err := jwk.Parse(body)
	if err != nil {
		return nil, fmt.Errorf("jwks %s: %w", u, err)
	}
	return set, nil
}

// Discover finds an issuer's jwks_uri from its OpenID Connect discovery document, or else
// its RFC 8414 authorization server metadata; the document's issuer must equal issuer.
func Discover(ctx context.Context, client *http.Client, issuer string) (string, error) {
	base := strings.TrimSuffix(issuer, "/")
	var errs []error
	for _, u := range []string{base + "/.well-known/openid-configuration", wellKnownAS(issuer)} {
		body, err := getJSON(ctx, client, u)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		var doc struct {
			Issuer  string `json:"issuer"`
			JWKSURI string `json:"jwks_uri"`
		}
		if err := json.Unmarshal(body, &doc); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", u, err))
			continue
		}
		if doc.Issuer != issuer {
			errs = append(errs, fmt.Errorf("%s: issuer %q does not match %q", u, doc.Issuer, issuer))
			continue
		}
		if doc.JWKSURI == "" {
			errs = append(errs, fmt.Errorf("%s: no jwks_uri", u))
			continue
		}
		return doc.JWKSURI, nil
	}
	return "", fmt.Errorf("discovery for %s: %w", issuer, errors.Join(errs...))
}

// wellKnownAS is the RFC 8414 metadata URL: the well-known segment goes before the path.
func wellKnownAS(issuer string) string {
	scheme, rest, ok := strings.Cut(issuer, "://")
	if !ok {
		return issuer + "/.well-known/oauth-authorization-server"
	}
	host, path, _ := strings.Cut(rest, "/")
	path = strings.TrimSuffix(path, "/")
	if path != "" {
		path = "/" + path
	}
	return scheme + "://" + host + "/.well-known/oauth-authorization-server" + path
}

func getJSON(ctx context.Context, client *http.Client, u string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: HTTP %d", u, resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxDocBytes+1))
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", u, err)
	}
	if len(body) > maxDocBytes {
		return nil, fmt.Errorf("GET %s: document larger than %d bytes", u, maxDocBytes)
	}
	return body, nil
}
