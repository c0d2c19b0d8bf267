package identity

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestKeyStoreLifecycle(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "keys.json")
	clock := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	admin := NewKeyStore(path)
	admin.now = func() time.Time { return clock }
	gw := NewKeyStore(path) // a second store on the same file: the serving gateway
	gw.now = admin.now

	exp := clock.Add(time.Hour)
	secret, k, err := admin.Create(APIKey{Name: "ci", Subject: "svc-ci", Tenant: "acme", Roles: []string{"ci"}, Scopes: []string{"mcp"}, Expires: &exp})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(secret, APIKeyPrefix+k.ID+"_") {
		t.Fatalf("secret %q does not carry the id %q", secret, k.ID)
	}
	raw, _ := os.ReadFile(path)
	if strings.Contains(string(raw), strings.TrimPrefix(secret, APIKeyPrefix+k.ID+"_")) {
		t.Fatal("the secret is stored in the key file")
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, want 0600", fi.Mode().Perm())
	}
	id, err := gw.Authenticate(secret)
	if err != nil {
		t.Fatal(err)
	}
	if id.Subject != "svc-ci" || id.Tenant != "acme" || id.Roles[0] != "ci" || id.Method != MethodAPIKey || id.KeyID != k.ID {
		t.Errorf("identity %+v", id)
	}
	for _, bad := range []string{secret + "x", APIKeyPrefix + k.ID + "_wrong", APIKeyPrefix + "nope_x", "ghk_", "Bearer"} {
		if _, err := gw.Authenticate(bad); !errors.Is(err, ErrBadAPIKey) {
			t.Errorf("%q: %v", bad, err)
		}
	}
	if _, err := admin.Revoke(k.ID); err != nil {
		t.Fatal(err)
	}
	clock = clock.Add(2 * time.Second) // the gateway re-checks the file at most once a second
	if _, err := gw.Authenticate(secret); err == nil || !strings.Contains(err.Error(), "revoked") {
		t.Fatalf("revoked key: %v", err)
	}
	secret2, _, _ := admin.Create(APIKey{Subject: "svc-2", Expires: &exp})
	clock = clock.Add(2 * time.Hour)
	if _, err := gw.Authenticate(secret2); err == nil || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("expired key: %v", err)
	}
	list, err := admin.List()
	if err != nil || len(list) != 2 || list[0].RevokedAt == nil {
		t.Fatalf("list %+v, %v", list, err)
	}
}
