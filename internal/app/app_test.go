package app

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gatehouse/internal/config"
	"gatehouse/internal/identity"
	"gatehouse/internal/upstream"
)

// The stdio dialer resolves the declared environment when it dials, and gives the child
// exactly that: here a shell prints its environment to stderr, which reaches the log.
func TestStdioDialerEnvironment(t *testing.T) {
	t.Setenv("GATEHOUSE_APP_TEST_SECRET", "s3cret")
	t.Setenv("GATEHOUSE_APP_TEST_PASSED", "passed-on")
	var logs bytes.Buffer
	d := &stdioDialer{
		base: upstream.Stdio{Name: "envcheck", Command: "/bin/sh", Args: []string{"-c", "env >&2"}, Logger: newTextLogger(&logs)},
		env: map[string]config.Secret{
			"FOO":  config.LiteralSecret("bar"),
			"FROM": config.EnvSecret("GATEHOUSE_APP_TEST_PASSED"),
		},
	}
	c, err := d.Dial(context.Background(), func([]byte, []byte) {})
	if err != nil {
		t.Fatal(err)
	}
	<-c.Done()
	c.Close()
	out := logs.String()
	for _, want := range []string{"FOO=bar", "FROM=passed-on"} {
		if !strings.Contains(out, want) {
			t.Errorf("child environment lacks %s:\n%s", want, out)
		}
	}
	if strings.Contains(out, "s3cret") || strings.Contains(out, "GATEHOUSE_APP_TEST_SECRET") {
		t.Errorf("the gateway's own environment reached the child:\n%s", out)
	}

	// An unset reference fails the dial with the variable's name, not its value.
	d.env["MISSING"] = config.EnvSecret("GATEHOUSE_APP_TEST_UNSET")
	if _, err := d.Dial(context.Background(), func([]byte, []byte) {}); err == nil || !strings.Contains(err.Error(), "GATEHOUSE_APP_TEST_UNSET") {
		t.Errorf("dial with an unset variable: %v", err)
	}
}

func TestHeaderFunc(t *testing.T) {
	t.Setenv("GATEHOUSE_APP_TEST_TOKEN", "Bearer abc")
	f := headerFunc(map[string]config.Secret{"Authorization": config.EnvSecret("GATEHOUSE_APP_TEST_TOKEN"), "X-Team": config.LiteralSecret("blue")})
	h, err := f(context.Background())
	if err != nil || h.Get("Authorization") != "Bearer abc" || h.Get("X-Team") != "blue" {
		t.Fatalf("headers = %v, %v", h, err)
	}
	if headerFunc(nil) != nil {
		t.Error("no headers should give a nil func")
	}
}

func newTextLogger(w *bytes.Buffer) *slog.Logger { return slog.New(slog.NewTextHandler(w, nil)) }

func TestSameOriginRedirects(t *testing.T) {
	mk := func(u string) *http.Request { r, _ := http.NewRequest("POST", u, nil); return r }
	first := []*http.Request{mk("https://up.example/mcp")}
	if err := sameOriginRedirects(mk("https://up.example/other"), first); err != nil {
		t.Errorf("same origin refused: %v", err)
	}
	for _, u := range []string{"https://evil.example/mcp", "http://up.example/mcp", "https://up.example:8443/mcp"} {
		if err := sameOriginRedirects(mk(u), first); err == nil {
			t.Errorf("redirect to %s allowed", u)
		}
	}
}

// A {file: …} header is re-read at most once a second, and a rotated value is picked up.
func TestHeaderFuncRotation(t *testing.T) {
	path := filepath.Join(t.TempDir(), "token")
	os.WriteFile(path, []byte("one\n"), 0o600)
	f := headerFunc(map[string]config.Secret{"Authorization": config.FileSecret(path)})
	h, _ := f(context.Background())
	if h.Get("Authorization") != "one" {
		t.Fatalf("got %q", h.Get("Authorization"))
	}
	os.WriteFile(path, []byte("two\n"), 0o600)
	if h, _ := f(context.Background()); h.Get("Authorization") != "one" {
		t.Fatalf("re-read within the TTL: %q", h.Get("Authorization"))
	}
	time.Sleep(headerTTL + 50*time.Millisecond)
	if h, _ := f(context.Background()); h.Get("Authorization") != "two" {
		t.Fatalf("rotation not picked up: %q", h.Get("Authorization"))
	}
}

func TestStdioIdentity(t *testing.T) {
	cfg, err := ParseConfig([]byte("upstreams: [{name: a, command: x}]\n"), "c.yaml")
	if err != nil {
		t.Fatal(err)
	}
	me, err := user.Current()
	if err != nil {
		t.Skip("no current user:", err)
	}
	if id := StdioIdentity(cfg); id.Subject != me.Username || id.Method != identity.MethodLocal || len(id.Roles) != 0 {
		t.Errorf("default stdio identity %+v, want the local user %q without roles", id, me.Username)
	}
	cfg, err = ParseConfig([]byte("identity: {stdio: {subject: ci-bot, tenant: acme, roles: [ci]}}\nupstreams: [{name: a, command: x}]\n"), "c.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if id := StdioIdentity(cfg); id.Subject != "ci-bot" || id.Tenant != "acme" || id.Roles[0] != "ci" {
		t.Errorf("configured stdio identity %+v", id)
	}
}

// TestSecretRuleIDsChecked: inspection.secrets.disable names rules that exist; a typo is a
// configuration problem with its line and field, reported with the others.
func TestSecretRuleIDsChecked(t *testing.T) {
	good := "inspection:\n  secrets:\n    disable: [generic-api-key, high-entropy-string]\nupstreams: [{name: a, command: x}]\n"
	if _, err := ParseConfig([]byte(good), "c.yaml"); err != nil {
		t.Fatalf("known rule ids: %v", err)
	}
	bad := "inspection:\n  threshold: 7\n  secrets:\n    disable: [generic-api-key, aws-acess-token]\nupstreams: [{name: a, command: x}]\n"
	_, err := ParseConfig([]byte(bad), "c.yaml")
	if err == nil {
		t.Fatal("an unknown rule id was accepted")
	}
	for _, want := range []string{`c.yaml:4:`, `inspection.secrets.disable[1]`, `no secret rule "aws-acess-token"`, `inspection.threshold`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}
