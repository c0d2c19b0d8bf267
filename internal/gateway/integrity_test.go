package gateway

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gatehouse/internal/identity"
	"gatehouse/internal/integrity"
	"gatehouse/internal/jsonrpc"
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

// TestRelistCoalesced: an upstream that sends list_changed in a loop gets one re-check of
// its list at a time, one more queued, at least relistGap apart — not one per notification.
func TestRelistCoalesced(t *testing.T) {
	a := newFake("a", "echo")
	store, err := integrity.Open(integrity.ModeTOFU, filepath.Join(t.TempDir(), "pins.json"), "")
	if err != nil {
		t.Fatal(err)
	}
	g := newGateway(t, []UpstreamSpec{shared(a)}, func(o *Options) { o.Pins = store })
	s := initSession(t, g, "")
	st := newRecStream()
	s.SetStandalone(st)
	c := a.conn(t, 0)
	lists := func() int {
		n := 0
		for _, raw := range c.Received() {
			if m, err := jsonrpc.Parse(raw); err == nil && m.Method == "tools/list" {
				n++
			}
		}
		return n
	}
	before := lists()
	for range 100 {
		c.emit(jsonrpc.Notification("notifications/tools/list_changed", nil), nil)
	}
	st.waitFor(t, "notifications/tools/list_changed") // the clients still hear them
	deadline := time.Now().Add(5 * time.Second)
	for lists() < before+2 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(relistGap / 2)
	if n := lists() - before; n < 1 || n > 2 {
		t.Fatalf("100 list_changed notifications caused %d tools/list re-checks, want 1 or 2", n)
	}
}
