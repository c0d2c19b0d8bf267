package identity

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"
	"github.com/lestrrat-go/jwx/v3/jwt"
)

// Claims names the token claims an Identity is read from. A name may be a dotted path into
// nested objects ("realm_access.roles").
type Claims struct {
	Subject  string // default "sub"
	Tenant   string // default none: identities have no tenant
	Roles    string // default "roles"; a list, or a space- or comma-separated string
	Scopes   string // default "scope" (space-separated), with "scp" (list) as fallback
	ClientID string // default "azp", with "client_id" as fallback
}

// JWTConfig configures a JWTVerifier.
type JWTConfig struct {
	Issuer     string        // required: the exact iss
	Audiences  []string      // accepted aud values; at least one (the gateway's resource URI)
	JWKSURL    string        // default: the issuer's discovery document's jwks_uri
	Algorithms []string      // allowlist; asymmetric only; default RS256 and ES256
	ClockSkew  time.Duration // tolerance on exp and nbf
	Claims     Claims
	RoleMap    map[string][]string // claim value → roles; when set, unmapped values are dropped
	HTTPClient *http.Client
	Now        func() time.Time // default time.Now
}

// asymmetric are the algorithms a verifier may allow: with a public JWKS, a symmetric
// algorithm would let anyone holding the public key forge tokens.
var asymmetric = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}

// AllowedAlgorithm reports whether alg may appear in an algorithm allowlist.
func AllowedAlgorithm(alg string) bool { return slices.Contains(asymmetric, alg) }

// JWTVerifier verifies bearer JWTs from one issuer.
type JWTVerifier struct {
	cfg  JWTConfig
	keys *keySet
	algs map[string]jwa.SignatureAlgorithm

	// Verified tokens are remembered until they expire (at most cacheTTL).
	cache tokenCache
}

// NewJWTVerifier checks cfg and returns a verifier. Keys are fetched on first use.
func NewJWTVerifier(cfg JWTConfig) (*JWTVerifier, error) {
	if cfg.Issuer == "" {
		return nil, errors.New("jwt: issuer required")
	}
	if len(cfg.Audiences) == 0 {
		return nil, errors.New("jwt: at least one audience required")
	}
	if len(cfg.Algorithms) == 0 {
		cfg.Algorithms = []string{"RS256", "ES256"}
	}
	v := &JWTVerifier{cfg: cfg, algs: make(map[string]jwa.SignatureAlgorithm)}
	for _, a := range cfg.Algorithms {
		if !AllowedAlgorithm(a) {
			return nil, fmt.Errorf("jwt: algorithm %q is not allowed (asymmetric algorithms only: %s)", a, strings.Join(asymmetric, ", "))
		}
		sa, ok := jwa.LookupSignatureAlgorithm(a)
		if !ok {
			return nil, fmt.Errorf("jwt: unknown algorithm %q", a)
		}
		v.algs[a] = sa
	}
	if v.cfg.Now == nil {
		v.cfg.Now = time.Now
	}
	if v.cfg.HTTPClient == nil {
		v.cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	c := &v.cfg.Claims
	if c.Subject == "" {
		c.Subject = "sub"
	}
	if c.Roles == "" {
		c.Roles = "roles"
	}
	v.keys = &keySet{client: v.cfg.HTTPClient, issuer: cfg.Issuer, jwksURL: cfg.JWKSURL,
		maxAge: time.Hour, minRefresh: 10 * time.Second, now: v.cfg.Now}
	return v, nil
}

// ErrInvalidToken wraps every reason a token is refused.
var ErrInvalidToken = errors.New("invalid token")

// LooksLikeJWT reports whether tok has the three-part compact form.
func LooksLikeJWT(tok string) bool { return strings.Count(tok, ".") == 2 }

// Verify checks the token's signature, algorithm, issuer, audience, expiry and not-before
// and returns the identity it carries. Every failure wraps ErrInvalidToken.
func (v *JWTVerifier) Verify(ctx context.Context, token string) (*Identity, error) {
	key, now := tokenKey(token), v.cfg.Now()
	if id, ok := v.cache.get(key, now); ok {
		return id, nil
	}
	id, exp, err := v.verify(ctx, token)
	if err != nil {
		return nil, err
	}
	until := exp.Add(v.cfg.ClockSkew)
	if m := now.Add(cacheTTL); m.Before(until) {
		until = m
	}
	v.cache.put(key, id, until, now)
	return id, nil
}

func (v *JWTVerifier) verify(ctx context.Context, token string) (*Identity, time.Time, error) {
	var exp time.Time
	fail := func(err error) (*Identity, time.Time, error) {
		return nil, exp, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	kp := jws.KeyProviderFunc(func(ctx context.Context, sink jws.KeySink, sig *jws.Signature, _ *jws.Message) error {
		h := sig.ProtectedHeaders()
		alg, ok := h.Algorithm()
		if !ok {
			return errors.New("no alg in header")
		}
		sa, allowed := v.algs[alg.String()]
		if !allowed {
			return fmt.Errorf("algorithm %q not allowed", alg.String())
		}
		kid, ok := h.KeyID()
		if !ok || kid == "" {
			return errors.New("no kid in header")
		}
		key, err := v.keys.lookup(ctx, kid)
		if err != nil {
			return err
		}
		if err := keyFits(key, alg.String()); err != nil {
			return err
		}
		sink.Key(sa, key)
		return nil
	})
	opts := []jwt.ParseOption{
		jwt.WithKeyProvider(kp),
		jwt.WithContext(ctx),
		jwt.WithValidate(true),
		jwt.WithIssuer(v.cfg.Issuer),
		jwt.WithAcceptableSkew(v.cfg.ClockSkew),
		jwt.WithClock(jwt.ClockFunc(v.cfg.Now)),
		jwt.WithRequiredClaim(jwt.ExpirationKey),
		jwt.WithValidator(jwt.ValidatorFunc(func(_ context.Context, t jwt.Token) error {
			aud, _ := t.Audience()
			for _, a := range aud {
				if slices.Contains(v.cfg.Audiences, a) {
					return nil
				}
			}
			return fmt.Errorf("audience %q is not this resource (%s)", aud, strings.Join(v.cfg.Audiences, ", "))
		})),
	}
	tok, err := jwt.Parse([]byte(token), opts...)
	if err != nil {
		return fail(err)
	}
	exp, _ = tok.Expiration()
	// Verified: read the claims from the payload as JSON, for the mapping.
	parts := strings.Split(token, ".")
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return fail(err)
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		return fail(err)
	}
	id, err := v.cfg.Claims.identity(claims, v.cfg.RoleMap)
	if err != nil {
		return fail(err)
	}
	id.Issuer, id.Token = v.cfg.Issuer, token
	return id, exp, nil
}

// identity reads an Identity (method jwt) from verified claims, a JWT's or an
// introspection answer's.
func (c Claims) identity(claims map[string]any, roleMap map[string][]string) (*Identity, error) {
	id := &Identity{Method: MethodJWT}
	if id.Subject = claimString(claims, c.Subject); id.Subject == "" {
		return nil, fmt.Errorf("no %q claim", c.Subject)
	}
	if c.Tenant != "" {
		id.Tenant = claimString(claims, c.Tenant)
	}
	id.Roles = mapRoles(roleMap, claimList(claims, c.Roles))
	if c.Scopes != "" {
		id.Scopes = claimList(claims, c.Scopes)
	} else if id.Scopes = claimList(claims, "scope"); id.Scopes == nil {
		id.Scopes = claimList(claims, "scp")
	}
	if c.ClientID != "" {
		id.ClientID = claimString(claims, c.ClientID)
	} else if id.ClientID = claimString(claims, "azp"); id.ClientID == "" {
		id.ClientID = claimString(claims, "client_id")
	}
	return id, nil
}

// mapRoles maps claim values to roles; without a role map the values are the roles.
func mapRoles(roleMap map[string][]string, vals []string) []string {
	if len(roleMap) == 0 {
		return vals
	}
	var out []string
	for _, val := range vals {
		for _, r := range roleMap[val] {
			if !slices.Contains(out, r) {
				out = append(out, r)
			}
		}
	}
	return out
}

// keyFits refuses a key whose type cannot make alg, or whose own alg says otherwise: the
// defence against algorithm confusion (an HS256 token "signed" with an RSA public key).
func keyFits(key jwk.Key, alg string) error {
	if ka, ok := key.Algorithm(); ok && ka.String() != "" && ka.String() != alg {
		return fmt.Errorf("key is for %s, token says %s", ka.String(), alg)
	}
	kty := key.KeyType().String()
	want := map[byte]string{'R': "RSA", 'P': "RSA", 'E': "EC"}[alg[0]]
	if alg == "EdDSA" {
		want = "OKP"
	}
	if kty != want {
		return fmt.Errorf("key type %s cannot verify %s", kty, alg)
	}
	return nil
}

// claim walks a dotted path.
func claim(claims map[string]any, path string) (any, bool) {
	var cur any = claims
	for _, p := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[p]; !ok {
			return nil, false
		}
	}
	return cur, true
}

func claimString(claims map[string]any, path string) string {
	v, _ := claim(claims, path)
	s, _ := v.(string)
	return s
}

// claimList reads a list claim, or a string of space- or comma-separated values.
func claimList(claims map[string]any, path string) []string {
	v, ok := claim(claims, path)
	if !ok {
		return nil
	}
	switch x := v.(type) {
	case string:
		return strings.FieldsFunc(x, func(r rune) bool { return r == ' ' || r == ',' })
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}
