package identity

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"gatehouse/internal/identity/oidctest"
)

func TestIntrospection(t *testing.T) {
	is, err := oidctest.New()
	if err != nil {
		t.Fatal(err)
	}
	defer is.Close()
	is.AddClient("gatehouse", "s3cret")
	clock := time.Now()
	in, err := NewIntrospector(IntrospectionConfig{URL: is.URL + "/introspect", ClientID: "gatehouse",
		ClientSecret: func() (string, error) { return "s3cret", nil }, Audiences: []string{testAudience},
		Claims: Claims{Roles: "groups", Tenant: "org"}, RoleMap: map[string][]string{"eng": {"developer"}},
		CacheTTL: time.Minute, Now: func() time.Time { return clock }})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	tok := is.Opaque(oidctest.Claims{"sub": "alice", "aud": testAudience, "groups": []string{"eng", "other"}, "org": "acme", "scope": "mcp read", "client_id": "cli"})
	id, err := in.Verify(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	if id.Subject != "alice" || id.Tenant != "acme" || strings.Join(id.Roles, ",") != "developer" || strings.Join(id.Scopes, ",") != "mcp,read" || id.ClientID != "cli" {
		t.Errorf("identity %+v", id)
	}
	in.Verify(ctx, tok)
	if n := is.Introspections.Load(); n != 1 {
		t.Errorf("%d introspections for two uses within the cache time", n)
	}
	// Revoked at the authorization server: refused once the cached answer is older than
	// the cache time.
	is.Revoke(tok)
	clock = clock.Add(61 * time.Second)
	if _, err := in.Verify(ctx, tok); !errors.Is(err, ErrInvalidToken) || !strings.Contains(err.Error(), "not active") {
		t.Errorf("revoked: %v", err)
	}
	for name, c := range map[string]oidctest.Claims{
		"wrong audience": {"sub": "a", "aud": "https://other.example"},
		"no subject":     {"aud": testAudience},
	} {
		if _, err := in.Verify(ctx, is.Opaque(c)); !errors.Is(err, ErrInvalidToken) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := in.Verify(ctx, "opaque-unknown"); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("unknown token: %v", err)
	}
	bad, _ := NewIntrospector(IntrospectionConfig{URL: is.URL + "/introspect", ClientID: "gatehouse", ClientSecret: func() (string, error) { return "wrong", nil }})
	if _, err := bad.Verify(ctx, is.Opaque(oidctest.Claims{"sub": "a"})); !errors.Is(err, ErrInvalidToken) || !strings.Contains(err.Error(), "HTTP 401") {
		t.Errorf("wrong client secret: %v", err)
	}
}
