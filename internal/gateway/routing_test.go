package gateway

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"gatehouse/internal/jsonrpc"
)

// twoServers builds a gateway over a (tools x, echo) and b (tools y, echo).
func twoServers(t *testing.T, spec func(*fakeServer) UpstreamSpec) (*Gateway, *fakeServer, *fakeServer) {
	a := newFake("a", "x", "echo")
	b := newFake("b", "y", "echo")
	g := newGateway(t, []UpstreamSpec{spec(a), spec(b)})
	return g, a, b
}

func TestInitializeResult(t *testing.T) {
	g, _, _ := twoServers(t, shared)
	waitFor(t, "shared legs up", func() bool {
		for _, h := range g.Health() {
			if !h.Up {
				return false
			}
		}
		return true
	})
	s := g.NewSession("test", nil)
	defer s.Close()
	if s.Initialized() {
		t.Fatal("initialized before initialize")
	}
	// Before initialize, anything but ping is refused.
	if code, _ := errCode(t, request(t, s, nil, "1", "tools/list", "{}")); code != jsonrpc.CodeInvalidRequest {
		t.Fatalf("tools/list before initialize: code %d", code)
	}
	mustOK(t, request(t, s, nil, "2", "ping", ""))
	r := request(t, s, nil, "3", "initialize", clientInitParams)
	mustOK(t, r)
	var res struct {
		ProtocolVersion string                     `json:"protocolVersion"`
		Capabilities    map[string]json.RawMessage `json:"capabilities"`
		ServerInfo      struct{ Name string }      `json:"serverInfo"`
	}
	if err := json.Unmarshal(r.Result, &res); err != nil {
		t.Fatal(err)
	}
	if res.ProtocolVersion != "2025-11-25" || res.ServerInfo.Name != "gh-test" {
		t.Fatalf("result %s", r.Result)
	}
	for _, k := range []string{"tools", "prompts", "resources"} {
		if _, ok := res.Capabilities[k]; !ok {
			t.Errorf("capability %s missing: %s", k, r.Result)
		}
	}
	if code, _ := errCode(t, request(t, s, nil, "4", "initialize", clientInitParams)); code != jsonrpc.CodeInvalidRequest {
		t.Fatalf("second initialize: code %d", code)
	}
	// An unknown version is answered with the gateway's newest.
	s2 := g.NewSession("test", nil)
	defer s2.Close()
	r = request(t, s2, nil, "1", "initialize", `{"protocolVersion":"1999-01-01","capabilities":{},"clientInfo":{"name":"x","version":"1"}}`)
	mustOK(t, r)
	if v, _ := jsonrpc.StringMember(r.Result, "protocolVersion"); v != sessionVersions()[0] {
		t.Fatalf("version %q", v)
	}
	// initialize without params is invalid.
	s3 := g.NewSession("test", nil)
	defer s3.Close()
	if code, _ := errCode(t, request(t, s3, nil, "1", "initialize", "")); code != jsonrpc.CodeInvalidParams {
		t.Fatalf("initialize without params: code %d", code)
	}
}

// BUG: initialize does not wait for the shared upstreams' first connection attempt, so a
// client that initializes right after the gateway starts (the usual case in stdio mode, where
// the client spawns the gateway and sends initialize at once) is told the gateway has no
// prompts and no resources, and never asks for them. Session.initialize (dispatch.go) should
// wait, bounded by ctx, for srv.ready of every shared server before aggregating capabilities.
func TestInitializeWaitsForSharedUpstreams(t *testing.T) {
	a := newFake("a", "x")
	a.caps = `{"tools":{},"prompts":{},"resources":{}}`
	a.dialGate = make(chan struct{})
	g := newGateway(t, []UpstreamSpec{shared(a)})
	s := g.NewSession("test", nil)
	defer s.Close()
	release := time.AfterFunc(100*time.Millisecond, func() { close(a.dialGate) })
	defer release.Stop()
	r := request(t, s, nil, "1", "initialize", clientInitParams)
	mustOK(t, r)
	for _, k := range []string{"prompts", "resources"} {
		if _, ok := jsonrpc.Path(r.Result, "capabilities", k); !ok {
			t.Errorf("capability %s missing although upstream a offers it: %s", k, r.Result)
		}
	}
}

func TestUpstreamUnsupportedVersionIsDown(t *testing.T) {
	a := newFake("a", "x")
	a.protocolVersion = "1999-01-01"
	g := newGateway(t, []UpstreamSpec{perSession(a)})
	s := initSession(t, g, "")
	r := request(t, s, nil, "1", "tools/call", `{"name":"a__x"}`)
	code, msg := errCode(t, r)
	if code != jsonrpc.CodeUpstreamUnavailable || !strings.Contains(msg, `"a"`) {
		t.Fatalf("got %s", r.Raw)
	}
	// The reason must survive: health names the version the upstream chose.
	// Watch for a while: the leg's end is reported by a goroutine.
	deadline := time.Now().Add(300 * time.Millisecond)
	for time.Now().Before(deadline) {
		if h := g.Health()[0]; h.Up || !strings.Contains(h.Error, "1999-01-01") {
			t.Fatalf("BUG: health %+v lost why the upstream is down (server.legDown overwrites lastErr with the Close error of a leg that never came up)", h)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// BUG: server.legDown (server.go) sets s.lastErr for every per-session leg that ends,
// including the normal end of a session (Session.Close closes its legs; the Conn's Err is then
// "connection closed"). From then on Health reports the per-session server as down, with the
// close as its error, although nothing failed. legDown should record an error only when the
// leg ended on its own (not through l.close()/Session.Close), and a leg that never finished
// dialling should not overwrite the dial's own, more precise, error.
func TestPerSessionHealthAfterSessionClose(t *testing.T) {
	a := newFake("a", "x")
	g := newGateway(t, []UpstreamSpec{perSession(a)})
	s := initSession(t, g, "")
	mustOK(t, request(t, s, nil, "1", "tools/call", `{"name":"a__x"}`))
	if h := g.Health()[0]; !h.Up {
		t.Fatalf("health before close %+v", h)
	}
	s.Close()
	<-a.conn(t, 0).Done()
	settle(t, func() bool { return g.Health()[0].Up })
	if h := g.Health()[0]; !h.Up || h.Error != "" {
		t.Errorf("after a normal session close, health says %+v", h)
	}
}

// settle polls cond for up to half a second, for state that background goroutines change
// right after an event the test can observe; it returns as soon as cond turns false.
func settle(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(500 * time.Millisecond)
	for cond() && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
}

func TestNamespacing(t *testing.T) {
	for _, mode := range []struct {
		name string
		spec func(*fakeServer) UpstreamSpec
	}{{"shared", shared}, {"per-session", perSession}} {
		t.Run(mode.name, func(t *testing.T) {
			g, a, b := twoServers(t, mode.spec)
			s := initSession(t, g, "")

			r := request(t, s, nil, "1", "tools/list", "{}")
			mustOK(t, r)
			if got, want := names(t, r.Result, "tools"), []string{"a__x", "a__echo", "b__y", "b__echo"}; !slices.Equal(got, want) {
				t.Fatalf("tools %v, want %v", got, want)
			}
			// Item members the gateway does not know are kept.
			if !bytes.Contains(r.Result, []byte(`"x-extra":{"k":1}`)) {
				t.Errorf("unknown item member lost: %s", r.Result)
			}

			params := `{"name":"b__y", "arguments":{"z":1,"k":[1, 2.50],"s":"\u00e9"},"_meta":{"x-unknown":true},"zzz":{"nested":"v"}}`
			r = request(t, s, nil, `"c1"`, "tools/call", params)
			mustOK(t, r)
			if string(r.ID) != `"c1"` {
				t.Fatalf("id %s", r.ID)
			}
			up := b.lastConn(t).waitFor(t, "tools/call y", isCall("y"))
			want := strings.Replace(params, `"b__y"`, `"y"`, 1)
			if string(up.Params) != want {
				t.Fatalf("upstream params\n got %s\nwant %s", up.Params, want)
			}
			for _, raw := range a.lastConn(t).Received() {
				if bytes.Contains(raw, []byte("tools/call")) {
					t.Fatalf("server a got the call: %s", raw)
				}
			}

			for _, tc := range []struct{ method, name, want string }{
				{"tools/call", "c__x", `unknown tool "c__x": names have the form <server>__<name>`},
				{"tools/call", "x", `unknown tool "x"`},
				{"tools/call", "a__", `unknown tool "a__"`},
				{"tools/call", "", `unknown tool ""`},
				{"tools/call", "__x", `unknown tool "__x"`},
				{"prompts/get", "zz__p", `unknown prompt "zz__p"`},
			} {
				r := request(t, s, nil, "9", tc.method, fmt.Sprintf(`{"name":%q}`, tc.name))
				code, msg := errCode(t, r)
				if code != jsonrpc.CodeInvalidParams || !strings.Contains(msg, tc.want) {
					t.Errorf("%s %q: got %d %q, want -32602 containing %q", tc.method, tc.name, code, msg, tc.want)
				}
			}
			if code, _ := errCode(t, request(t, s, nil, "9", "tools/call", `{"arguments":{}}`)); code != jsonrpc.CodeInvalidParams {
				t.Errorf("tools/call without name: code %d", code)
			}
		})
	}
}

func TestPlainServer(t *testing.T) {
	a := newFake("a", "x")
	b := newFake("b", "y", "a__x")
	sb := shared(b)
	sb.Plain = true
	g := newGateway(t, []UpstreamSpec{shared(a), sb})
	s := initSession(t, g, "")
	r := request(t, s, nil, "1", "tools/list", "{}")
	mustOK(t, r)
	if got, want := names(t, r.Result, "tools"), []string{"a__x", "y", "a__x"}; !slices.Equal(got, want) {
		t.Fatalf("tools %v, want %v", got, want)
	}
	mustOK(t, request(t, s, nil, "2", "tools/call", `{"name":"y"}`))
	b.lastConn(t).waitFor(t, "y", isCall("y"))
	mustOK(t, request(t, s, nil, "3", "tools/call", `{"name":"a__x"}`))
	a.lastConn(t).waitFor(t, "x", isCall("x"))
	// "b__y" is not a prefix of a plain server: it goes to b as is, and b does not know it.
	r = request(t, s, nil, "4", "tools/call", `{"name":"b__y"}`)
	b.lastConn(t).waitFor(t, "b__y", isCall("b__y"))
	if code, _ := errCode(t, r); code != jsonrpc.CodeInvalidParams {
		t.Fatalf("got %s", r.Raw)
	}

	// Two plain servers are a configuration error.
	sa := shared(newFake("c"))
	sa.Plain = true
	sd := shared(newFake("d"))
	sd.Plain = true
	if _, err := New(Options{Separator: "__", Upstreams: []UpstreamSpec{sa, sd}}); err == nil {
		t.Fatal("two plain servers accepted")
	}
}

func TestNewValidates(t *testing.T) {
	f := newFake("a")
	for name, o := range map[string]Options{
		"empty separator": {Upstreams: []UpstreamSpec{shared(f)}},
		"duplicate":       {Separator: "__", Upstreams: []UpstreamSpec{shared(f), shared(f)}},
		"name has sep":    {Separator: "_", Upstreams: []UpstreamSpec{{Name: "a_b", Dialer: f}}},
	} {
		if _, err := New(o); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestIDRemapping(t *testing.T) {
	g, a, _ := twoServers(t, shared)
	s := initSession(t, g, "")
	for _, id := range []string{`"abc"`, `42`, `0`, `-7`, `"with \"quotes\" and \\"`, `"1"`, `1e3`} {
		r := request(t, s, nil, id, "tools/call", `{"name":"a__echo","arguments":{"id":`+id+`}}`)
		mustOK(t, r)
		if string(r.ID) != id {
			t.Errorf("client id %s came back as %s", id, r.ID)
		}
	}
	// Upstream saw integer ids only, all distinct.
	seen := map[string]bool{}
	for _, raw := range a.lastConn(t).Received() {
		m := parse(t, raw)
		if m.Kind != jsonrpc.KindRequest {
			continue
		}
		if _, ok := parseLegID(m.ID); !ok {
			t.Errorf("upstream saw a non-integer id %s", m.ID)
		}
		if seen[string(m.ID)] {
			t.Errorf("upstream saw id %s twice", m.ID)
		}
		seen[string(m.ID)] = true
	}
}

func TestIDCollisionAcrossSessions(t *testing.T) {
	for _, related := range []bool{false, true} {
		t.Run(fmt.Sprintf("related=%v", related), func(t *testing.T) {
			a := newFake("a", "gate")
			a.related = related
			g := newGateway(t, []UpstreamSpec{shared(a)})
			const n = 4
			sessions := make([]*Session, n)
			for i := range sessions {
				sessions[i] = initSession(t, g, "")
			}
			var wg sync.WaitGroup
			results := make([]*jsonrpc.Message, n)
			for i, s := range sessions {
				wg.Add(1)
				go func() {
					defer wg.Done()
					raw := jsonrpc.Request([]byte(`"same"`), "tools/call", fmt.Appendf(nil, `{"name":"a__gate","arguments":{"who":%d}}`, i))
					m, _ := jsonrpc.Parse(raw)
					results[i], _ = jsonrpc.Parse(s.Handle(testCtx(t), m, nil))
				}()
			}
			c := a.conn(t, 0)
			// All calls in flight on the one shared leg at the same time.
			c.waitFor(t, "n calls", func(*jsonrpc.Message) bool {
				k := 0
				for _, raw := range c.Received() {
					if m, _ := jsonrpc.Parse(raw); m != nil && isCall("gate")(m) {
						k++
					}
				}
				return k == n
			})
			close(a.gate)
			wg.Wait()
			for i, r := range results {
				if r == nil {
					t.Fatalf("session %d: no response", i)
				}
				mustOK(t, r)
				if string(r.ID) != `"same"` {
					t.Errorf("session %d: id %s", i, r.ID)
				}
				if want := fmt.Sprintf(`"arguments":{"who":%d}`, i); !bytes.Contains(r.Result, []byte(want)) {
					t.Errorf("session %d got another session's result: %s", i, r.Result)
				}
			}
			ids := map[string]bool{}
			for _, raw := range c.Received() {
				if m := parse(t, raw); isCall("gate")(m) {
					ids[string(m.ID)] = true
				}
			}
			if len(ids) != n {
				t.Fatalf("upstream saw %d distinct ids for %d calls", len(ids), n)
			}
		})
	}
}

func TestProgressTokenRoundTrip(t *testing.T) {
	for _, related := range []bool{false, true} {
		for _, tok := range []string{`"tok-A"`, `17`} {
			t.Run(fmt.Sprintf("related=%v/token=%s", related, tok), func(t *testing.T) {
				a := newFake("a", "progress")
				a.related = related
				close(a.gate)
				g := newGateway(t, []UpstreamSpec{shared(a)})
				s := initSession(t, g, "")
				st := newRecStream()
				r := request(t, s, st, "5", "tools/call", `{"name":"a__progress","_meta":{"progressToken":`+tok+`,"other":1}}`)
				mustOK(t, r)
				up := a.conn(t, 0).waitFor(t, "progress call", isCall("progress"))
				upTok, _ := jsonrpc.Path(up.Params, "_meta", "progressToken")
				if string(upTok) != string(up.ID) {
					t.Errorf("upstream token %s, want the leg-local id %s", upTok, up.ID)
				}
				if other, _ := jsonrpc.Path(up.Params, "_meta", "other"); string(other) != "1" {
					t.Errorf("other _meta lost: %s", up.Params)
				}
				p := st.waitFor(t, "notifications/progress")
				got, _ := jsonrpc.Member(p.Params, "progressToken")
				if string(got) != tok {
					t.Fatalf("client got token %s, want %s (%s)", got, tok, p.Raw)
				}
				if msg, _ := jsonrpc.StringMember(p.Params, "message"); msg != "half" {
					t.Errorf("progress params changed: %s", p.Params)
				}
			})
		}
	}
}

func TestProgressWithoutTokenNotForwarded(t *testing.T) {
	a := newFake("a", "x")
	g := newGateway(t, []UpstreamSpec{shared(a)})
	s := initSession(t, g, "")
	st := newRecStream()
	mustOK(t, request(t, s, st, "1", "tools/call", `{"name":"a__x"}`))
	c := a.conn(t, 0)
	// The upstream invents progress for a token nobody asked for: dropped.
	c.emit(jsonrpc.Notification("notifications/progress", []byte(`{"progressToken":1,"progress":1}`)), nil)
	c.emit(jsonrpc.Notification("notifications/progress", []byte(`{"progressToken":"zz","progress":1}`)), nil)
	if got := st.all(); len(got) != 0 {
		t.Fatalf("stray progress delivered: %s", got)
	}
}

func TestCancellation(t *testing.T) {
	a := newFake("a", "slow")
	g := newGateway(t, []UpstreamSpec{shared(a)})
	s := initSession(t, g, "")
	st := newRecStream()
	done := make(chan []byte, 1)
	go func() {
		m, _ := jsonrpc.Parse(jsonrpc.Request([]byte(`"c-1"`), "tools/call", []byte(`{"name":"a__slow"}`)))
		done <- s.Handle(testCtx(t), m, st)
	}()
	c := a.conn(t, 0)
	up := c.waitFor(t, "slow call", isCall("slow"))
	s.Handle(testCtx(t), parse(t, jsonrpc.Notification("notifications/cancelled", []byte(`{"requestId":"c-1","reason":"user"}`))), nil)
	cn := c.waitFor(t, "notifications/cancelled", func(m *jsonrpc.Message) bool { return m.Method == "notifications/cancelled" })
	if id, _ := jsonrpc.Member(cn.Params, "requestId"); string(id) != string(up.ID) {
		t.Fatalf("upstream cancelled %s, want leg-local id %s", id, up.ID)
	}
	select {
	case r := <-done:
		// MCP: the receiver of a cancellation does not answer the cancelled request.
		if r != nil {
			t.Fatalf("cancelled request was answered: %s", r)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("cancelled call did not return")
	}
	// Cancelling an unknown id is harmless.
	s.Handle(testCtx(t), parse(t, jsonrpc.Notification("notifications/cancelled", []byte(`{"requestId":"nope"}`))), nil)
}

// Closing a session cancels its calls upstream.
func TestSessionCloseCancelsCalls(t *testing.T) {
	a := newFake("a", "slow")
	g := newGateway(t, []UpstreamSpec{shared(a)})
	s := initSession(t, g, "")
	done := make(chan struct{})
	go func() {
		defer close(done)
		m, _ := jsonrpc.Parse(jsonrpc.Request([]byte(`1`), "tools/call", []byte(`{"name":"a__slow"}`)))
		s.Handle(testCtx(t), m, nil)
	}()
	c := a.conn(t, 0)
	up := c.waitFor(t, "slow call", isCall("slow"))
	s.Close()
	cn := c.waitFor(t, "notifications/cancelled", func(m *jsonrpc.Message) bool { return m.Method == "notifications/cancelled" })
	if id, _ := jsonrpc.Member(cn.Params, "requestId"); string(id) != string(up.ID) {
		t.Fatalf("cancelled %s, want %s", id, up.ID)
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("call did not end with the session")
	}
	if g.SessionCount() != 0 {
		t.Fatalf("session count %d", g.SessionCount())
	}
}

func TestRequestTimeout(t *testing.T) {
	a := newFake("a", "slow")
	spec := shared(a)
	spec.RequestTimeout = 300 * time.Millisecond
	g := newGateway(t, []UpstreamSpec{spec})
	s := initSession(t, g, "")
	r := request(t, s, nil, "1", "tools/call", `{"name":"a__slow"}`)
	code, msg := errCode(t, r)
	if code != jsonrpc.CodeRequestTimeout || !strings.Contains(msg, `"a"`) {
		t.Fatalf("got %s", r.Raw)
	}
	a.conn(t, 0).waitFor(t, "cancelled", func(m *jsonrpc.Message) bool { return m.Method == "notifications/cancelled" })
}

func TestSamplingRouting(t *testing.T) {
	for _, related := range []bool{false, true} {
		t.Run(fmt.Sprintf("related=%v", related), func(t *testing.T) {
			a := newFake("a", "sample", "gate")
			a.related = related
			g := newGateway(t, []UpstreamSpec{shared(a)})
			idle := initSession(t, g, "")
			idleSt := newRecStream()
			idle.SetStandalone(idleSt)
			s := initSession(t, g, "")
			st := newRecStream()
			done := make(chan *jsonrpc.Message, 1)
			go func() {
				m, _ := jsonrpc.Parse(jsonrpc.Request([]byte(`"call-1"`), "tools/call", []byte(`{"name":"a__sample"}`)))
				r, _ := jsonrpc.Parse(s.Handle(testCtx(t), m, st))
				done <- r
			}()
			req := st.waitFor(t, "sampling/createMessage")
			if req.Kind != jsonrpc.KindRequest {
				t.Fatalf("not a request: %s", req.Raw)
			}
			if bytes.Contains(req.ID, []byte("srv-")) {
				t.Fatalf("client saw the upstream's id %s", req.ID)
			}
			if !bytes.Contains(req.Params, []byte(`"maxTokens":5`)) {
				t.Fatalf("params changed: %s", req.Params)
			}
			// The client answers with the session-local id.
			s.Handle(testCtx(t), parse(t, jsonrpc.Response(req.ID, []byte(`{"role":"assistant","content":{"type":"text","text":"ok"},"model":"m"}`))), nil)
			var r *jsonrpc.Message
			select {
			case r = <-done:
			case <-time.After(5 * time.Second):
				t.Fatal("call did not finish")
			}
			mustOK(t, r)
			if !bytes.Contains(r.Result, []byte(`"sampled":{"role":"assistant"`)) {
				t.Fatalf("result %s", r.Result)
			}
			resp := a.conn(t, 0).waitFor(t, "sampling response", func(m *jsonrpc.Message) bool { return m.Kind == jsonrpc.KindResponse })
			if string(resp.ID) != `"srv-a-1"` {
				t.Fatalf("upstream got its answer under id %s", resp.ID)
			}
			if got := idleSt.all(); len(got) != 0 {
				t.Fatalf("another session got the request: %s", got)
			}
			// A second answer to the same id goes nowhere.
			s.Handle(testCtx(t), parse(t, jsonrpc.Response(req.ID, []byte(`{}`))), nil)
			// So does an answer to an id the gateway never used, or a non-integer one.
			s.Handle(testCtx(t), parse(t, jsonrpc.Response([]byte("999"), []byte(`{}`))), nil)
			s.Handle(testCtx(t), parse(t, jsonrpc.Response([]byte(`"x"`), []byte(`{}`))), nil)
			n := 0
			for _, raw := range a.conn(t, 0).Received() {
				if parse(t, raw).Kind == jsonrpc.KindResponse {
					n++
				}
			}
			if n != 1 {
				t.Fatalf("upstream got %d responses, want 1", n)
			}
		})
	}
}

// BUG (security): on a shared leg whose transport does not say which call a server-to-client
// request belongs to (stdio: related is nil), Gateway.target (upstream_messages.go) guesses the
// most recent call in flight on the leg (leg.latestCall). When another session has a call in
// flight that started later, session A's sampling request — with A's tool data in it — is sent
// to session B, and B's answer is fed into A's tool call. A security gateway should fail
// closed: when calls of more than one session are in flight on the leg and nothing ties the
// request to one of them, answer the upstream with an error instead of guessing.
func TestSamplingNotLeakedToAnotherSession(t *testing.T) {
	a := newFake("a", "sample_gated", "slow")
	g := newGateway(t, []UpstreamSpec{shared(a)})
	sa, sb := initSession(t, g, ""), initSession(t, g, "")
	stA, stB := newRecStream(), newRecStream()
	sb.SetStandalone(stB)
	go func() {
		m, _ := jsonrpc.Parse(jsonrpc.Request([]byte(`"A"`), "tools/call", []byte(`{"name":"a__sample_gated"}`)))
		sa.Handle(testCtx(t), m, stA)
	}()
	c := a.conn(t, 0)
	c.waitFor(t, "A's call", isCall("sample_gated"))
	go func() {
		m, _ := jsonrpc.Parse(jsonrpc.Request([]byte(`"B"`), "tools/call", []byte(`{"name":"a__slow"}`)))
		sb.Handle(testCtx(t), m, stB)
	}()
	c.waitFor(t, "B's call", isCall("slow"))
	close(a.gate)
	// The request goes somewhere: to A, or back to the upstream as an error.
	deadline := time.Now().Add(5 * time.Second)
	for {
		if len(stA.all()) > 0 || len(stB.all()) > 0 {
			break
		}
		answered := false
		for _, raw := range c.Received() {
			if parse(t, raw).Kind == jsonrpc.KindResponse {
				answered = true
			}
		}
		if answered || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if got := stB.all(); len(got) > 0 {
		t.Fatalf("session B received session A's server-to-client request: %s", got)
	}
}

func TestSamplingClientError(t *testing.T) {
	a := newFake("a", "sample")
	g := newGateway(t, []UpstreamSpec{shared(a)})
	s := initSession(t, g, "")
	r := sampleRoundTrip(t, s, func(req *jsonrpc.Message) []byte {
		return jsonrpc.ErrorResponse(req.ID, -1, "user rejected", nil)
	})
	mustOK(t, r)
	if !bytes.Contains(r.Result, []byte(`"clientError":{"code":-1,"message":"user rejected"}`)) {
		t.Fatalf("result %s", r.Result)
	}
}

func TestSamplingWithoutCapability(t *testing.T) {
	a := newFake("a", "sample")
	g := newGateway(t, []UpstreamSpec{shared(a)})
	s := initSession(t, g, `{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}`)
	st := newRecStream()
	r := request(t, s, st, "1", "tools/call", `{"name":"a__sample"}`)
	mustOK(t, r)
	if !bytes.Contains(r.Result, []byte(`"clientError":{"code":-32601`)) {
		t.Fatalf("result %s", r.Result)
	}
	resp := a.conn(t, 0).waitFor(t, "error response", func(m *jsonrpc.Message) bool { return m.Kind == jsonrpc.KindResponse })
	if string(resp.ID) != `"srv-a-1"` || resp.Error == nil {
		t.Fatalf("upstream got %s", resp.Raw)
	}
	if got := st.all(); len(got) != 0 {
		t.Fatalf("client without sampling was sent %s", got)
	}
}

// A server-to-client request outside any call, on a shared leg, has no session to go to.
func TestServerRequestWithoutCall(t *testing.T) {
	a := newFake("a", "x")
	g := newGateway(t, []UpstreamSpec{shared(a)})
	s := initSession(t, g, "")
	st := newRecStream()
	s.SetStandalone(st)
	c := a.conn(t, 0)
	c.emit(jsonrpc.Request([]byte("77"), "roots/list", nil), nil)
	c.emit(jsonrpc.Request([]byte("78"), "sampling/createMessage", []byte(`{}`)), nil)
	c.emit(jsonrpc.Request([]byte("79"), "ping", nil), nil)
	r77 := c.waitFor(t, "roots answer", func(m *jsonrpc.Message) bool { return m.Kind == jsonrpc.KindResponse && string(m.ID) == "77" })
	if string(r77.Result) != `{"roots":[]}` {
		t.Errorf("roots/list: %s", r77.Raw)
	}
	r78 := c.waitFor(t, "sampling answer", func(m *jsonrpc.Message) bool { return m.Kind == jsonrpc.KindResponse && string(m.ID) == "78" })
	if r78.Error == nil {
		t.Errorf("sampling/createMessage without a call: %s", r78.Raw)
	}
	r79 := c.waitFor(t, "ping answer", func(m *jsonrpc.Message) bool { return m.Kind == jsonrpc.KindResponse && string(m.ID) == "79" })
	if string(r79.Result) != `{}` {
		t.Errorf("ping: %s", r79.Raw)
	}
	if got := st.all(); len(got) != 0 {
		t.Errorf("client was sent %s", got)
	}
}

// On a per-session leg, a server-to-client request outside a call goes to the owner's
// standalone stream.
func TestServerRequestOwnerStandalone(t *testing.T) {
	a := newFake("a", "x")
	g := newGateway(t, []UpstreamSpec{perSession(a)})
	s := initSession(t, g, "")
	st := newRecStream()
	s.SetStandalone(st)
	c := a.conn(t, 0)
	c.emit(jsonrpc.Request([]byte(`"r1"`), "roots/list", nil), nil)
	req := st.waitFor(t, "roots/list")
	s.Handle(testCtx(t), parse(t, jsonrpc.Response(req.ID, []byte(`{"roots":[{"uri":"file:///x"}]}`))), nil)
	resp := c.waitFor(t, "roots answer", func(m *jsonrpc.Message) bool { return m.Kind == jsonrpc.KindResponse })
	if string(resp.ID) != `"r1"` || !bytes.Contains(resp.Result, []byte("file:///x")) {
		t.Fatalf("upstream got %s", resp.Raw)
	}
	// The client's own initialize params went upstream (a per-session leg is the client's).
	init := c.waitFor(t, "initialize", func(m *jsonrpc.Message) bool { return m.Method == "initialize" })
	if !bytes.Contains(init.Params, []byte(`"clientInfo":{"name":"test"`)) {
		t.Fatalf("initialize params %s", init.Params)
	}
}

func TestNotificationsFanOut(t *testing.T) {
	a := newFake("a", "x")
	g := newGateway(t, []UpstreamSpec{shared(a)})
	s1, s2 := initSession(t, g, ""), initSession(t, g, "")
	st1, st2 := newRecStream(), newRecStream()
	s1.SetStandalone(st1)
	s2.SetStandalone(st2)
	uninit := g.NewSession("x", nil)
	defer uninit.Close()
	st3 := newRecStream()
	uninit.SetStandalone(st3)
	c := a.conn(t, 0)
	c.emit(jsonrpc.Notification("notifications/tools/list_changed", nil), nil)
	st1.waitFor(t, "notifications/tools/list_changed")
	st2.waitFor(t, "notifications/tools/list_changed")
	// Unknown notifications are not forwarded.
	c.emit(jsonrpc.Notification("notifications/custom", []byte(`{}`)), nil)
	// Logging respects the session's level.
	mustOK(t, request(t, s1, nil, "1", "logging/setLevel", `{"level":"error"}`))
	c.emit(jsonrpc.Notification("notifications/message", []byte(`{"level":"info","data":"low"}`)), nil)
	c.emit(jsonrpc.Notification("notifications/message", []byte(`{"level":"error","data":"high"}`)), nil)
	st2.waitFor(t, "notifications/message")
	st1.waitFor(t, "notifications/message")
	for _, raw := range st1.all() {
		if bytes.Contains(raw, []byte(`"low"`)) {
			t.Errorf("session at level error got an info message")
		}
		if bytes.Contains(raw, []byte("custom")) {
			t.Errorf("unknown notification forwarded")
		}
	}
	if got := st3.all(); len(got) != 0 {
		t.Errorf("uninitialized session got %s", got)
	}
	if code, _ := errCode(t, request(t, s1, nil, "2", "logging/setLevel", `{"level":"loud"}`)); code != jsonrpc.CodeInvalidParams {
		t.Errorf("bad level accepted")
	}
}

func TestPagination(t *testing.T) {
	a := newFake("a", "a1", "a2", "a3", "a4", "a5")
	b := newFake("b", "b1", "b2", "b3")
	a.pageSize, b.pageSize = 2, 2
	a.prompts = []string{"p1", "p2", "p3"}
	a.related = true
	g := newGateway(t, []UpstreamSpec{shared(a), perSession(b)})
	s := initSession(t, g, "")

	var all []string
	cursor := ""
	pages := 0
	for {
		params := "{}"
		if cursor != "" {
			params = fmt.Sprintf(`{"cursor":%q}`, cursor)
		}
		r := request(t, s, nil, "1", "tools/list", params)
		mustOK(t, r)
		all = append(all, names(t, r.Result, "tools")...)
		pages++
		next, ok := jsonrpc.StringMember(r.Result, "nextCursor")
		if !ok {
			break
		}
		if strings.Contains(next, "a:") || strings.Contains(next, "b:") {
			t.Errorf("cursor is not opaque: %s", next)
		}
		cursor = next
		if pages > 10 {
			t.Fatal("pagination does not end")
		}
	}
	want := []string{"a__a1", "a__a2", "b__b1", "b__b2", "a__a3", "a__a4", "b__b3", "a__a5"}
	if !slices.Equal(all, want) {
		t.Fatalf("items %v, want %v", all, want)
	}

	// Get a cursor to tamper with.
	r := request(t, s, nil, "1", "tools/list", "{}")
	cur, _ := jsonrpc.StringMember(r.Result, "nextCursor")
	payload, mac, _ := strings.Cut(cur, ".")
	forged := mustB64(t, `{"m":"tools/list","s":{"a":"a:0"}}`)
	other := initSession(t, g, "")
	bad := map[string]struct {
		s      *Session
		method string
		cursor string
	}{
		"garbage":         {s, "tools/list", "garbage"},
		"empty":           {s, "tools/list", ""},
		"tampered mac":    {s, "tools/list", payload + "." + flip(mac)},
		"tampered body":   {s, "tools/list", flip(payload) + "." + mac},
		"forged body":     {s, "tools/list", forged + "." + mac},
		"other session":   {other, "tools/list", cur},
		"other method":    {s, "prompts/list", cur},
		"no mac":          {s, "tools/list", payload},
		"bad base64 body": {s, "tools/list", "!!!." + mac},
	}
	for name, tc := range bad {
		r := request(t, tc.s, nil, "1", tc.method, fmt.Sprintf(`{"cursor":%q}`, tc.cursor))
		if code, _ := errCode(t, r); code != jsonrpc.CodeInvalidParams {
			t.Errorf("%s: got %s, want -32602", name, r.Raw)
		}
	}
	// The good cursor still works for its own session.
	mustOK(t, request(t, s, nil, "1", "tools/list", fmt.Sprintf(`{"cursor":%q}`, cur)))

	// Prompts: only a has prompts; b has no prompts and is not asked to page.
	r = request(t, s, nil, "1", "prompts/list", "{}")
	mustOK(t, r)
	if got := names(t, r.Result, "prompts"); !slices.Equal(got, []string{"a__p1", "a__p2"}) {
		t.Fatalf("prompts %v", got)
	}
}

func mustB64(t *testing.T, s string) string {
	t.Helper()
	return base64.RawURLEncoding.EncodeToString([]byte(s))
}

func flip(s string) string {
	if s == "" {
		return "A"
	}
	b := []byte(s)
	if b[0] == 'A' {
		b[0] = 'B'
	} else {
		b[0] = 'A'
	}
	return string(b)
}

func TestDeadUpstream(t *testing.T) {
	a := newFake("a", "x")
	b := newFake("b", "y", "slow")
	g := newGateway(t, []UpstreamSpec{shared(a), shared(b)})
	s := initSession(t, g, "")
	mustOK(t, request(t, s, nil, "1", "tools/call", `{"name":"b__y"}`))

	// A call in flight when the server dies fails with the server's name.
	done := make(chan *jsonrpc.Message, 1)
	go func() {
		m, _ := jsonrpc.Parse(jsonrpc.Request([]byte(`"inflight"`), "tools/call", []byte(`{"name":"b__slow"}`)))
		r, _ := jsonrpc.Parse(s.Handle(testCtx(t), m, nil))
		done <- r
	}()
	bc := b.conn(t, 0)
	bc.waitFor(t, "slow", isCall("slow"))
	b.setDialErr(errors.New("spawn failed: no such file"))
	bc.kill(errors.New("process exited: exit status 1"))
	r := <-done
	code, msg := errCode(t, r)
	if code != jsonrpc.CodeUpstreamUnavailable || !strings.Contains(msg, `"b"`) {
		t.Fatalf("in-flight call: %s", r.Raw)
	}

	waitFor(t, "b down", func() bool {
		for _, h := range g.Health() {
			if h.Name == "b" && !h.Up {
				return true
			}
		}
		return false
	})
	r = request(t, s, nil, "2", "tools/call", `{"name":"b__y"}`)
	code, msg = errCode(t, r)
	if code != jsonrpc.CodeUpstreamUnavailable || !strings.Contains(msg, `upstream "b"`) {
		t.Fatalf("call to dead server: %s", r.Raw)
	}
	if !bytes.Contains(r.Error, []byte(`"data":{"server":"b"}`)) {
		t.Errorf("error data does not name the server: %s", r.Error)
	}
	mustOK(t, request(t, s, nil, "3", "tools/call", `{"name":"a__x"}`))
	r = request(t, s, nil, "4", "tools/list", "{}")
	mustOK(t, r)
	if got := names(t, r.Result, "tools"); !slices.Equal(got, []string{"a__x"}) {
		t.Fatalf("tools with b dead: %v", got)
	}

	// b comes back: it is dialled again, and clients hear list_changed.
	st := newRecStream()
	s.SetStandalone(st)
	b.setDialErr(nil)
	st.waitFor(t, "notifications/tools/list_changed")
	waitFor(t, "b up", func() bool {
		return request(t, s, nil, "5", "tools/call", `{"name":"b__y"}`).Error == nil
	})
}

func TestDeadPerSessionUpstream(t *testing.T) {
	a := newFake("a", "x")
	b := newFake("b", "y")
	b.setDialErr(errors.New("connection refused"))
	g := newGateway(t, []UpstreamSpec{perSession(a), perSession(b)})
	s := initSession(t, g, "")
	r := request(t, s, nil, "1", "tools/call", `{"name":"b__y"}`)
	code, msg := errCode(t, r)
	if code != jsonrpc.CodeUpstreamUnavailable || !strings.Contains(msg, `upstream "b"`) || !strings.Contains(msg, "connection refused") {
		t.Fatalf("got %s", r.Raw)
	}
	mustOK(t, request(t, s, nil, "2", "tools/call", `{"name":"a__x"}`))
	r = request(t, s, nil, "3", "tools/list", "{}")
	mustOK(t, r)
	if got := names(t, r.Result, "tools"); !slices.Equal(got, []string{"a__x"}) {
		t.Fatalf("tools %v", got)
	}
	// A per-session leg that dies is redialled on next use.
	b.setDialErr(nil)
	a.conn(t, 0).kill(errors.New("gone"))
	waitFor(t, "a redialled", func() bool {
		return request(t, s, nil, "4", "tools/call", `{"name":"a__x"}`).Error == nil
	})
	if a.dials.Load() < 2 {
		t.Fatalf("a dialled %d times", a.dials.Load())
	}
}

func TestUnknownAndAllowedMethods(t *testing.T) {
	a := newFake("a", "x")
	b := newFake("b", "y")
	sb := shared(b)
	sb.AllowMethods = []string{"custom/do"}
	sa := shared(a)
	sa.AllowMethods = []string{"custom/both"}
	sb.AllowMethods = append(sb.AllowMethods, "custom/both")
	g := newGateway(t, []UpstreamSpec{sa, sb})
	s := initSession(t, g, "")
	r := request(t, s, nil, "1", "custom/unknown", `{}`)
	if code, msg := errCode(t, r); code != jsonrpc.CodeMethodNotFound || !strings.Contains(msg, "custom/unknown") {
		t.Fatalf("unknown: %s", r.Raw)
	}
	r = request(t, s, nil, `"d"`, "custom/do", `{"k":"v", "x":[1]}`)
	mustOK(t, r)
	if string(r.ID) != `"d"` || !bytes.Contains(r.Result, []byte(`"server":"b"`)) {
		t.Fatalf("allowed: %s", r.Raw)
	}
	up := b.conn(t, 0).waitFor(t, "custom/do", func(m *jsonrpc.Message) bool { return m.Method == "custom/do" })
	if string(up.Params) != `{"k":"v", "x":[1]}` {
		t.Fatalf("params %s", up.Params)
	}
	r = request(t, s, nil, "1", "custom/both", `{}`)
	if code, _ := errCode(t, r); code != jsonrpc.CodeMethodNotFound {
		t.Fatalf("ambiguous: %s", r.Raw)
	}
	r = request(t, s, nil, "1", "server/discover", `{}`)
	if code, _ := errCode(t, r); code != jsonrpc.CodeMethodNotFound {
		t.Fatalf("server/discover: %s", r.Raw)
	}
}

func TestMaxPendingAndSize(t *testing.T) {
	a := newFake("a", "slow", "x")
	g := newGateway(t, []UpstreamSpec{shared(a)}, func(o *Options) { o.Limits = Limits{MaxPending: 1, MaxMessage: 200} })
	s := initSession(t, g, "")
	big := fmt.Sprintf(`{"name":"a__x","arguments":{"pad":%q}}`, strings.Repeat("p", 300))
	r := request(t, s, nil, "1", "tools/call", big)
	if code, msg := errCode(t, r); code != jsonrpc.CodeLimitExceeded || !strings.Contains(msg, "200") {
		t.Fatalf("oversized: %s", r.Raw)
	}
	go func() {
		m, _ := jsonrpc.Parse(jsonrpc.Request([]byte(`1`), "tools/call", []byte(`{"name":"a__slow"}`)))
		s.Handle(testCtx(t), m, nil)
	}()
	a.conn(t, 0).waitFor(t, "slow", isCall("slow"))
	r = request(t, s, nil, "2", "tools/call", `{"name":"a__x"}`)
	if code, _ := errCode(t, r); code != jsonrpc.CodeLimitExceeded {
		t.Fatalf("over max pending: %s", r.Raw)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestListChangedThrottled: an upstream that sends list_changed in a loop reaches each
// session with the first at once and the rest as one, a gap later (clients re-list on each).
func TestListChangedThrottled(t *testing.T) {
	a := newFake("a", "x")
	g := newGateway(t, []UpstreamSpec{shared(a)})
	s := initSession(t, g, "")
	st := newRecStream()
	s.SetStandalone(st)
	c := a.conn(t, 0)
	count := func() int {
		n := 0
		for _, raw := range st.all() {
			if bytes.Contains(raw, []byte("notifications/tools/list_changed")) {
				n++
			}
		}
		return n
	}
	start := time.Now()
	for range 50 {
		c.emit(jsonrpc.Notification("notifications/tools/list_changed", nil), nil)
	}
	most := 2 + int(time.Since(start)/listChangedGap) // a slow machine may spread the burst
	st.waitFor(t, "notifications/tools/list_changed")
	time.Sleep(3 * listChangedGap)
	if n := count(); n < 2 || n > most {
		t.Fatalf("50 list_changed in a burst reached the session %d times, want 2 (the first, then one for the rest; %d on this machine)", n, most)
	}
	// Another kind is not held back by this one, and a later one is not lost.
	c.emit(jsonrpc.Notification("notifications/prompts/list_changed", nil), nil)
	st.waitFor(t, "notifications/prompts/list_changed")
	prev := count()
	c.emit(jsonrpc.Notification("notifications/tools/list_changed", nil), nil)
	waitFor(t, "a list_changed after the gap", func() bool { return count() > prev })
	if n := count(); n != prev+1 {
		t.Fatalf("a list_changed after the gap: %d in all, want %d", n, prev+1)
	}
}

// An upstream that floods log notifications has at most limits.upstream_notifications_per_second
// of them forwarded (bursts of twice as many); another upstream's are not held back, and an
// upstream's own later ones go on once the flood is over.
func TestUpstreamNotificationsLimited(t *testing.T) {
	a, b := newFake("a", "x"), newFake("b", "y")
	const perSecond = 5
	g := newGateway(t, []UpstreamSpec{shared(a), shared(b)}, func(o *Options) { o.Limits.UpstreamNotes = perSecond })
	s := initSession(t, g, "")
	st := newRecStream()
	s.SetStandalone(st)
	count := func(prefix string) int {
		n := 0
		for _, raw := range st.all() {
			if bytes.Contains(raw, []byte(`"data":"`+prefix)) {
				n++
			}
		}
		return n
	}
	log := func(c *fakeConn, data string) {
		c.emit(jsonrpc.Notification("notifications/message", []byte(`{"level":"info","data":"`+data+`"}`)), nil)
	}
	ca, cb := a.conn(t, 0), b.conn(t, 0)
	start := time.Now()
	for i := range 200 {
		log(ca, fmt.Sprint("flood-", i))
	}
	most := 2*perSecond + int(time.Since(start).Seconds()*perSecond) + 1 // the limiter refills as the flood goes on
	for i := range 3 {
		log(cb, fmt.Sprint("other-", i))
	}
	waitFor(t, "the other upstream's three log notifications", func() bool { return count("other-") == 3 })
	if n := count("flood-"); n < 2*perSecond || n > most {
		t.Fatalf("%d of 200 flooded log notifications forwarded, want %d to %d", n, 2*perSecond, most)
	}
	// Once the limiter has refilled, the flooding upstream is heard again.
	time.Sleep(time.Second / perSecond * 2)
	log(ca, "later")
	waitFor(t, "a log notification after the flood", func() bool { return count("later") == 1 })
}
