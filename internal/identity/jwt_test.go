package identity

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"

	"gatehouse/internal/identity/oidctest"
)

const testAudience = "http://127.0.0.1:8787/mcp"

func newVerifier(t *testing.T, is *oidctest.Issuer, mod func(*JWTConfig)) *JWTVerifier {
	t.Helper()
	cfg := JWTConfig{
		Issuer:    is.URL,
		Audiences: []string{testAudience},
		ClockSkew: 30 * time.Second,
		Claims:    Claims{Tenant: "tenant", Roles: "groups"},
	}
	if mod != nil {
		mod(&cfg)
	}
	v, err := NewJWTVerifier(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestJWTVerifyAttacks(t *testing.T) {
	is, err := oidctest.New()
	if err != nil {
		t.Fatal(err)
	}
	defer is.Close()
	good := oidctest.Claims{"sub": "alice", "aud": testAudience, "tenant": "acme", "groups": []string{"dev", "ops"}, "scope": "mcp tools", "azp": "cli"}
	with := func(kv ...any) oidctest.Claims {
		c := oidctest.Claims{}
		for k, v := range good {
			c[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			c[kv[i].(string)] = kv[i+1]
		}
		return c
	}
	now := time.Now()
	pubDER, err := x509.MarshalPKIXPublicKey(mustRaw(t, is))
	if err != nil {
		t.Fatal(err)
	}
	valid := is.Token(good)
	parts := strings.Split(valid, ".")
	b64 := base64.RawURLEncoding.EncodeToString
	tampered := parts[0] + "." + b64([]byte(`{"sub":"mallory","aud":"`+testAudience+`","iss":"`+is.URL+`","exp":9999999999}`)) + "." + parts[2]
	none := b64([]byte(`{"alg":"none","kid":"rsa-1","typ":"JWT"}`)) + "." + parts[1] + "."

	tests := []struct {
		name    string
		token   string
		wantErr string // "" means valid
	}{
		{"valid RS256", valid, ""},
		{"alg none", none, "invalid token"},
		{"HS256 signed with the RSA public key", is.TokenWith(good, jwa.HS256(), pubDER, "rsa-1"), "not allowed"},
		{"wrong issuer", is.Token(with("iss", "https://evil.example")), "iss"},
		{"wrong audience", is.Token(with("aud", "https://other.example/mcp")), "audience"},
		{"no audience", is.Token(with("aud", []string{})), "audience"},
		{"expired beyond skew", is.Token(with("exp", now.Add(-2*time.Minute).Unix())), "exp"},
		{"expired within skew", is.Token(with("exp", now.Add(-10*time.Second).Unix())), ""},
		{"not yet valid", is.Token(with("nbf", now.Add(5*time.Minute).Unix())), "nbf"},
		{"no exp", is.Token(with("exp", nil)), "exp"},
		{"unknown kid", is.TokenWith(good, jwa.RS256(), mustOtherKey(t), "nobody"), "unknown key id"},
		{"tampered payload", tampered, "invalid token"},
		{"no subject", is.Token(with("sub", nil)), "sub"},
	}
	v := newVerifier(t, is, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := v.Verify(context.Background(), tt.token)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("refused a valid token: %v", err)
				}
				if id.Subject != "alice" || id.Tenant != "acme" || strings.Join(id.Roles, ",") != "dev,ops" ||
					strings.Join(id.Scopes, ",") != "mcp,tools" || id.ClientID != "cli" || id.Method != MethodJWT {
					t.Errorf("identity %+v", id)
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted: %+v", id)
			}
			if !errors.Is(err, ErrInvalidToken) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %q, want ErrInvalidToken mentioning %q", err, tt.wantErr)
			}
		})
	}
}

func TestJWTAlgorithmAllowlist(t *testing.T) {
	is, err := oidctest.New()
	if err != nil {
		t.Fatal(err)
	}
	defer is.Close()
	is.Use("ec-1")
	tok := is.Token(oidctest.Claims{"sub": "bob", "aud": testAudience})
	if _, err := newVerifier(t, is, nil).Verify(context.Background(), tok); err != nil {
		t.Fatalf("ES256 with the default allowlist: %v", err)
	}
	onlyRS := newVerifier(t, is, func(c *JWTConfig) { c.Algorithms = []string{"RS256"} })
	if _, err := onlyRS.Verify(context.Background(), tok); err == nil || !strings.Contains(err.Error(), "not allowed") {
		t.Fatalf("ES256 token with an RS256-only allowlist: %v", err)
	}
	if _, err := NewJWTVerifier(JWTConfig{Issuer: is.URL, Audiences: []string{"a"}, Algorithms: []string{"HS256"}}); err == nil {
		t.Fatal("HS256 accepted into an allowlist")
	}
}

func TestJWKSRefreshOnUnknownKidIsRateLimited(t *testing.T) {
	is, err := oidctest.New()
	if err != nil {
		t.Fatal(err)
	}
	defer is.Close()
	clock := time.Now()
	v := newVerifier(t, is, func(c *JWTConfig) { c.Now = func() time.Time { return clock } })
	ctx := context.Background()
	if _, err := v.Verify(ctx, is.Token(oidctest.Claims{"sub": "a", "aud": testAudience, "exp": clock.Add(time.Hour).Unix(), "iat": clock.Unix()})); err != nil {
		t.Fatal(err)
	}
	if n := is.JWKSFetches.Load(); n != 1 {
		t.Fatalf("JWKS fetched %d times, want 1", n)
	}
	// Rotation: a new key appears after the first fetch; the first token with its kid
	// triggers one refetch.
	if err := is.AddKey("rsa-2", "RS256"); err != nil {
		t.Fatal(err)
	}
	is.Use("rsa-2")
	clock = clock.Add(11 * time.Second)
	claims := oidctest.Claims{"sub": "a", "aud": testAudience, "exp": clock.Add(time.Hour).Unix(), "iat": clock.Unix()}
	if _, err := v.Verify(ctx, is.Token(claims)); err != nil {
		t.Fatalf("token with the rotated key: %v", err)
	}
	if n := is.JWKSFetches.Load(); n != 2 {
		t.Fatalf("JWKS fetched %d times after rotation, want 2", n)
	}
	// A flood of random kids costs at most one fetch per interval.
	for i := range 20 {
		v.Verify(ctx, is.TokenWith(claims, jwa.RS256(), mustOtherKey(t), "random-"+string(rune('a'+i))))
	}
	if n := is.JWKSFetches.Load(); n > 3 {
		t.Fatalf("JWKS fetched %d times for 20 unknown kids within the interval", n)
	}
}

func mustRaw(t *testing.T, is *oidctest.Issuer) any {
	t.Helper()
	var raw rsa.PublicKey
	if err := jwk.Export(is.PublicKey("rsa-1"), &raw); err != nil {
		t.Fatal(err)
	}
	return &raw
}

func mustOtherKey(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestJWTCacheEndsAtExpiry(t *testing.T) {
	is, err := oidctest.New()
	if err != nil {
		t.Fatal(err)
	}
	defer is.Close()
	clock := time.Now()
	v := newVerifier(t, is, func(c *JWTConfig) { c.Now = func() time.Time { return clock } })
	tok := is.Token(oidctest.Claims{"sub": "a", "aud": testAudience, "iat": clock.Unix(), "exp": clock.Add(2 * time.Minute).Unix()})
	for range 3 {
		if _, err := v.Verify(context.Background(), tok); err != nil {
			t.Fatal(err)
		}
	}
	if n := v.cache.len(); n != 1 {
		t.Fatalf("cache holds %d tokens", n)
	}
	clock = clock.Add(2*time.Minute + 31*time.Second) // past exp and the 30s skew
	if _, err := v.Verify(context.Background(), tok); err == nil {
		t.Fatal("a cached token was accepted after it expired")
	}
}

// BenchmarkVerifyCached is the per-request cost of a bearer JWT already verified once:
// the Authorization header parsed, the token hashed and found in the cache.
func BenchmarkVerifyCached(b *testing.B) {
	is, err := oidctest.New()
	if err != nil {
		b.Fatal(err)
	}
	defer is.Close()
	v, err := NewJWTVerifier(JWTConfig{Issuer: is.URL, Audiences: []string{testAudience}})
	if err != nil {
		b.Fatal(err)
	}
	a := &Authenticator{JWT: v, RequiredScopes: []string{"mcp"}}
	tok := is.Token(oidctest.Claims{"sub": "bench", "aud": testAudience, "scope": "mcp", "roles": []string{"role-7", "bench"}})
	req := httptest.NewRequest("POST", "/mcp", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	if _, aerr := a.Authenticate(context.Background(), req); aerr != nil {
		b.Fatal(aerr)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, aerr := a.Authenticate(context.Background(), req); aerr != nil {
			b.Fatal(aerr)
		}
	}
}

// BenchmarkVerifyUncached is a full RS256 verification, for comparison.
func BenchmarkVerifyUncached(b *testing.B) {
	is, err := oidctest.New()
	if err != nil {
		b.Fatal(err)
	}
	defer is.Close()
	v, err := NewJWTVerifier(JWTConfig{Issuer: is.URL, Audiences: []string{testAudience}})
	if err != nil {
		b.Fatal(err)
	}
	tok := is.Token(oidctest.Claims{"sub": "bench", "aud": testAudience})
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := v.verify(context.Background(), tok); err != nil {
			b.Fatal(err)
		}
	}
}
