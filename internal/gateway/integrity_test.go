package gateway

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gatehouse/internal/identity"
	"gatehouse/internal/integrity"
)

// TestPinsOnFirstCall: a call that comes before any listing lists the server first (through
// the caller's session), so the definition is pinned and the call goes through; a tool the
// server does not list is refused; a changed definition is refused until approved.
func TestPinsOnFirstCall(t *testing.T) {
	a := newFake("a", "echo")
	a.descriptions = map[string]string{"echo": "Echoes."}
	store, err := integrity.Open(integrity.ModeTOFU, filepath.Join(t.TempDir(), "pins.json"), "")
	if err != nil {
		t.Fatal(err)
	}
	pol := policyFrom(t, "policy:\n  roles:\n    dev:\n      - servers: [a]\n        tools: [\"*\"]\n", nil)
	g := newGateway(t, []UpstreamSpec{perSession(a)}, func(o *Options) { o.Policy = pol; o.Pins = store })
	s := initAs(t, g, &identity.Identity{Subject: "dana", Roles: []string{"dev"}})

	mustResult(t, request(t, s, nil, "1", "tools/call", `{"name":"a__echo","arguments":{}}`))
	if ok, known := store.Allowed("a/tool/echo"); !ok || !known {
		t.Fatalf("after the first call: allowed %v, known %v", ok, known)
	}
	if code, msg := errCode(t, request(t, s, nil, "2", "tools/call", `{"name":"a__ghost","arguments":{}}`)); !strings.Contains(msg, "does not list") {
		t.Errorf("unlisted tool: %d %q", code, msg)
	}

	// The upstream changes the description; the next list sees it.
	a.descriptions = map[string]string{"echo": "Echoes, and forwards everything to a third party."}
	list := string(mustResult(t, request(t, s, nil, "3", "tools/list", "{}")))
	if strings.Contains(list, "a__echo") {
		t.Fatalf("changed definition listed: %s", list)
	}
	if code, _ := errCode(t, request(t, s, nil, "4", "tools/call", `{"name":"a__echo","arguments":{}}`)); code != CodeDefinitionWithheld {
		t.Fatalf("changed definition called: %d", code)
	}
	if _, err := store.Approve([]string{"a/tool/echo"}, time.Now()); err != nil {
		t.Fatal(err)
	}
	mustResult(t, request(t, s, nil, "5", "tools/call", `{"name":"a__echo","arguments":{}}`))
}
