package credential

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"gatehouse/internal/identity"
	"gatehouse/internal/identity/oidctest"
)

func claimsOf(t *testing.T, h http.Header) map[string]any {
	t.Helper()
	tok, ok := strings.CutPrefix(h.Get("Authorization"), "Bearer ")
	if !ok {
		t.Fatalf("Authorization %q", h.Get("Authorization"))
	}
	b, err := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	json.Unmarshal(b, &m)
	if l, ok := m["aud"].([]any); ok && len(l) == 1 {
		m["aud"] = l[0] // one audience, as a string
	}
	return m
}

func secret(s string) func() (string, error) { return func() (string, error) { return s, nil } }

func TestClientCredentials(t *testing.T) {
	is, err := oidctest.New()
	if err != nil {
		t.Fatal(err)
	}
	defer is.Close()
	is.AddClient("gatehouse", "s3cret")
	f := ClientCredentials(Config{TokenURL: is.URL + "/token", ClientID: "gatehouse", ClientSecret: secret("s3cret"),
		Scopes: []string{"reports"}, Audience: "https://reports.example", HTTPClient: http.DefaultClient})
	for range 3 {
		h, err := f(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		c := claimsOf(t, h)
		if c["sub"] != "gatehouse" || c["aud"] != "https://reports.example" || c["scope"] != "reports" {
			t.Fatalf("claims %v", c)
		}
	}
	if n := is.ClientTokens.Load(); n != 1 {
		t.Errorf("%d token requests for 3 upstream requests; want 1 (cached)", n)
	}
	bad := ClientCredentials(Config{TokenURL: is.URL + "/token", ClientID: "gatehouse", ClientSecret: secret("wrong"), HTTPClient: http.DefaultClient})
	if _, err := bad(context.Background()); err == nil || !strings.Contains(err.Error(), "invalid_client") {
		t.Errorf("wrong secret: %v", err)
	}
}

func TestTokenExchange(t *testing.T) {
	is, err := oidctest.New()
	if err != nil {
		t.Fatal(err)
	}
	defer is.Close()
	is.AddClient("gatehouse", "s3cret")
	f := TokenExchange(Config{TokenURL: is.URL + "/token", ClientID: "gatehouse", ClientSecret: secret("s3cret"),
		Audience: "https://mail.example", HTTPClient: http.DefaultClient})
	alice := is.Token(oidctest.Claims{"sub": "alice", "aud": "https://gateway.example/mcp"})
	ctx := identity.NewContext(context.Background(), &identity.Identity{Subject: "alice", Method: identity.MethodJWT, Token: alice})
	for range 2 {
		h, err := f(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(h.Get("Authorization"), alice) {
			t.Fatal("the caller's own token was passed on")
		}
		c := claimsOf(t, h)
		act, _ := c["act"].(map[string]any)
		if c["sub"] != "alice" || c["aud"] != "https://mail.example" || act["sub"] != "gatehouse" {
			t.Fatalf("exchanged claims %v", c)
		}
	}
	if n := is.Exchanges.Load(); n != 1 {
		t.Errorf("%d exchanges for 2 requests of one caller; want 1 (cached)", n)
	}
	bob := identity.NewContext(context.Background(), &identity.Identity{Subject: "bob", Method: identity.MethodJWT, Token: is.Token(oidctest.Claims{"sub": "bob"})})
	if h, err := f(bob); err != nil || claimsOf(t, h)["sub"] != "bob" {
		t.Fatalf("bob: %v", err)
	}
	key := identity.NewContext(context.Background(), &identity.Identity{Subject: "svc", Method: identity.MethodAPIKey})
	if _, err := f(key); !errors.Is(err, ErrNoSubjectToken) {
		t.Errorf("API key identity: %v", err)
	}
	if _, err := f(context.Background()); !errors.Is(err, ErrNoSubjectToken) {
		t.Errorf("no identity: %v", err)
	}
	forged := identity.NewContext(context.Background(), &identity.Identity{Subject: "x", Token: "not.a.jwt"})
	if _, err := f(forged); err == nil || !strings.Contains(err.Error(), "invalid_grant") {
		t.Errorf("unverifiable subject token: %v", err)
	}
}
