package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	os.WriteFile(good, []byte("upstreams:\n  - name: a\n    command: /bin/true\n"), 0o644)
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("listen: {adress: x}\nupstreams:\n  - name: A\n    transport: carrier-pigeon\n"), 0o644)
	tests := []struct {
		args        []string
		code        int
		out, errOut string
	}{
		{args: nil, code: 2, errOut: "Usage:"},
		{args: []string{"frobnicate"}, code: 2, errOut: `unknown command "frobnicate"`},
		{args: []string{"version"}, code: 0, out: "gatehouse "},
		{args: []string{"validate"}, code: 2, errOut: "--config FILE is required"},
		{args: []string{"validate", "--config", good}, code: 0, out: "ok (1 upstreams"},
		{args: []string{"validate", "--config", bad}, code: 1, errOut: "listen.adress"},
		{args: []string{"validate", "--config", bad}, code: 1, errOut: "upstreams[0].transport"},
		{args: []string{"serve", "--config", filepath.Join(dir, "missing.yaml")}, code: 1, errOut: "missing.yaml"},
	}
	for _, tt := range tests {
		var stdout, stderr bytes.Buffer
		code := run(tt.args, strings.NewReader(""), &stdout, &stderr)
		if code != tt.code || !strings.Contains(stdout.String(), tt.out) || !strings.Contains(stderr.String(), tt.errOut) {
			t.Errorf("run(%q) = %d\nstdout: %s\nstderr: %s", tt.args, code, stdout.String(), stderr.String())
		}
	}
}

func runCmd(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(args, strings.NewReader(""), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestPolicyTestCommand(t *testing.T) {
	// The shipped example passes.
	code, out, _ := runCmd(t, "policy", "test", "../../examples/oidc.policy-tests.yaml")
	if code != 0 || !strings.Contains(out, "ok: 8 cases passed") {
		t.Fatalf("example: exit %d\n%s", code, out)
	}
	// A wrong expectation fails like a test runner, naming the case, its line and why.
	dir := t.TempDir()
	cfg, _ := filepath.Abs("../../examples/oidc.yaml")
	cases := filepath.Join(dir, "cases.yaml")
	os.WriteFile(cases, []byte("config: "+cfg+`
cases:
  - name: right
    identity: {subject: a, roles: [developer]}
    request: {server: everything, tool: echo}
    expect: {effect: allow}
  - name: wrong
    identity: {subject: a, roles: [support]}
    request: {server: files, tool: read_text_file}
    expect: {effect: allow}
`), 0o644)
	code, out, _ = runCmd(t, "policy", "test", cases)
	for _, want := range []string{"--- FAIL: wrong (" + cases + ":7)", `effect: want allow, got deny by default-deny`, "FAIL: 1 of 2 cases failed"} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
	if code != 1 || strings.Contains(out, "--- FAIL: right") {
		t.Errorf("exit %d:\n%s", code, out)
	}
	// A malformed case file is reported, not run.
	os.WriteFile(cases, []byte("config: "+cfg+"\ncases:\n  - name: x\n    request: {server: s, tool: a, prompt: b}\n    expect: {effect: maybe}\n"), 0o644)
	code, out, _ = runCmd(t, "policy", "test", cases)
	if code != 1 || !strings.Contains(out, "exactly one of tool, prompt or resource") {
		t.Errorf("malformed: exit %d\n%s", code, out)
	}
}

func TestKeysCommand(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "gatehouse.yaml")
	os.WriteFile(cfg, []byte("upstreams:\n  - name: a\n    command: /bin/true\n"), 0o644)
	code, secret, errOut := runCmd(t, "keys", "create", "--config", cfg, "--subject", "svc-ci", "--name", "ci", "--roles", "ci,reader", "--expires", "24h")
	if code != 0 || !strings.HasPrefix(secret, "ghk_") || !strings.Contains(errOut, "shown only once") {
		t.Fatalf("create: %d %q %q", code, secret, errOut)
	}
	stored, _ := os.ReadFile(filepath.Join(dir, "data", "keys.json"))
	if strings.Contains(string(stored), strings.TrimSpace(secret)[len("ghk_")+17:]) {
		t.Fatal("the key's secret is in the key file")
	}
	id := strings.TrimSpace(secret)[len("ghk_") : len("ghk_")+16]
	code, out, _ := runCmd(t, "keys", "list", "--config", cfg)
	if code != 0 || !strings.Contains(out, id) || !strings.Contains(out, "ci,reader") || !strings.Contains(out, "active") {
		t.Fatalf("list: %d\n%s", code, out)
	}
	if code, out, _ = runCmd(t, "keys", "revoke", "--config", cfg, id); code != 0 || !strings.Contains(out, "revoked key "+id) {
		t.Fatalf("revoke: %d %s", code, out)
	}
	if _, out, _ = runCmd(t, "keys", "list", "--config", cfg); !strings.Contains(out, "revoked") {
		t.Fatalf("list after revoke:\n%s", out)
	}
	if code, _, errOut = runCmd(t, "keys", "revoke", "--config", cfg, "nope"); code != 1 || !strings.Contains(errOut, `no key with id "nope"`) {
		t.Fatalf("revoke unknown: %d %s", code, errOut)
	}
}
