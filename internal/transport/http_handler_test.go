package transport

import (
	"bytes"
	"context"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"gatehouse/internal/jsonrpc"
	"gatehouse/internal/sse"
)

const initBody = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`

type httpEnv struct {
	t   *testing.T
	srv *httptest.Server
	h   *HTTPHandler
	f   *fakeUpstream
}

func newHTTPEnv(t *testing.T, opts HTTPOptions) *httpEnv {
	t.Helper()
	g, f := newTestGateway(t)
	h := NewHTTPHandler(g, opts)
	srv := httptest.NewServer(h) // 127.0.0.1
	t.Cleanup(func() {
		srv.CloseClientConnections()
		srv.Close()
		h.Close()
	})
	return &httpEnv{t: t, srv: srv, h: h, f: f}
}

func reqCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// do sends a request; hdr are "Key: value" pairs.
func (e *httpEnv) do(ctx context.Context, method, sid, body string, hdr ...string) *http.Response {
	e.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	r, err := http.NewRequestWithContext(ctx, method, e.srv.URL+"/mcp", rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if method == http.MethodPost {
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Accept", "application/json, text/event-stream")
	} else if method == http.MethodGet {
		r.Header.Set("Accept", "text/event-stream")
	}
	if sid != "" {
		r.Header.Set("Mcp-Session-Id", sid)
	}
	for _, kv := range hdr {
		k, v, _ := strings.Cut(kv, ": ")
		if strings.EqualFold(k, "Host") {
			r.Host = v
			continue
		}
		if v == "" {
			r.Header.Del(k)
			continue
		}
		r.Header.Set(k, v)
	}
	resp, err := e.srv.Client().Do(r)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp
}

func (e *httpEnv) post(sid, body string, hdr ...string) *http.Response {
	return e.do(reqCtx(e.t), http.MethodPost, sid, body, hdr...)
}

func readBody(t *testing.T, r *http.Response) []byte {
	t.Helper()
	defer r.Body.Close()
	b, err := io.ReadAll(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (e *httpEnv) initialize() string {
	e.t.Helper()
	r := e.post("", initBody)
	b := readBody(e.t, r)
	if r.StatusCode != http.StatusOK {
		e.t.Fatalf("initialize: %d %s", r.StatusCode, b)
	}
	sid := r.Header.Get("Mcp-Session-Id")
	if sid == "" {
		e.t.Fatalf("no Mcp-Session-Id: %s", b)
	}
	e.post(sid, `{"jsonrpc":"2.0","method":"notifications/initialized"}`).Body.Close()
	return sid
}

func wantStatus(t *testing.T, r *http.Response, status int, contains string) {
	t.Helper()
	b := readBody(t, r)
	if r.StatusCode != status || !strings.Contains(string(b), contains) {
		t.Fatalf("got %d %s; want %d containing %q", r.StatusCode, b, status, contains)
	}
}

func TestHTTPInitializeSessionID(t *testing.T) {
	e := newHTTPEnv(t, HTTPOptions{})
	seen := map[string]bool{}
	for i := 0; i < 3; i++ {
		sid := e.initialize()
		if len(sid) != 32 {
			t.Fatalf("session id %q: %d chars", sid, len(sid))
		}
		if _, err := hex.DecodeString(sid); err != nil || strings.ToLower(sid) != sid {
			t.Fatalf("session id %q is not lower-case hex", sid)
		}
		if seen[sid] {
			t.Fatalf("session id %q repeated", sid)
		}
		seen[sid] = true
	}
	// initialize carrying a session id is refused.
	wantStatus(t, e.post("0123", initBody), http.StatusBadRequest, "must not carry")
	// A failed initialize creates no session.
	r := e.post("", `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}`)
	if r.Header.Get("Mcp-Session-Id") != "" {
		t.Fatal("failed initialize got a session id")
	}
	wantStatus(t, r, http.StatusOK, `"code":-32602`)
}

func TestHTTPStatusErrors(t *testing.T) {
	e := newHTTPEnv(t, HTTPOptions{MaxMessage: 300, AllowedOrigins: []string{"http://localhost:*"}})
	sid := e.initialize()
	call := `{"jsonrpc":"2.0","id":2,"method":"tools/list"}`
	for _, tc := range []struct {
		name     string
		method   string
		sid      string
		body     string
		hdr      []string
		status   int
		contains string
	}{
		{"no session id", "POST", "", call, nil, 400, "Mcp-Session-Id"},
		{"unknown session", "POST", strings.Repeat("0", 32), call, nil, 404, "session not found"},
		{"bad accept", "POST", sid, call, []string{"Accept: application/json"}, 406, "Accept"},
		{"no accept", "POST", sid, call, []string{"Accept: "}, 406, "Accept"},
		{"bad content type", "POST", sid, call, []string{"Content-Type: text/plain"}, 415, "Content-Type"},
		{"oversized", "POST", sid, `{"jsonrpc":"2.0","id":2,"method":"tools/list","params":{"pad":"` + strings.Repeat("x", 400) + `"}}`, nil, 413, "300"},
		{"bad origin", "POST", sid, call, []string{"Origin: http://evil.example"}, 403, "origin"},
		{"rebinding origin", "POST", sid, call, []string{"Origin: http://localhost.evil.example"}, 403, "origin"},
		{"bad json", "POST", sid, `{"jsonrpc":`, nil, 400, `"code":-32700`},
		{"batch", "POST", sid, `[` + call + `]`, nil, 400, `"code":-32600`},
		{"bad protocol version", "POST", sid, call, []string{"Mcp-Protocol-Version: 1999-01-01"}, 400, "1999-01-01"},
		{"token in query", "POST", sid, call, nil, 0, ""},
		{"method not allowed", "PUT", sid, call, nil, 405, "method not allowed"},
		{"get bad accept", "GET", sid, "", []string{"Accept: application/json"}, 406, "text/event-stream"},
		{"get unknown session", "GET", "ffff", "", nil, 404, "session not found"},
		{"get malformed last-event-id", "GET", sid, "", []string{"Last-Event-ID: nounderscore"}, 400, "Last-Event-ID"},
		{"get unknown stream", "GET", sid, "", []string{"Last-Event-ID: abc_1"}, 404, "unknown stream"},
		{"delete unknown session", "DELETE", "ffff", "", nil, 404, "session not found"},
		{"delete no session", "DELETE", "", "", nil, 400, "Mcp-Session-Id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "token in query" {
				r, _ := http.NewRequestWithContext(reqCtx(t), "POST", e.srv.URL+"/mcp?access_token=x", strings.NewReader(call))
				r.Header.Set("Content-Type", "application/json")
				r.Header.Set("Accept", "application/json, text/event-stream")
				r.Header.Set("Mcp-Session-Id", sid)
				resp, err := e.srv.Client().Do(r)
				if err != nil {
					t.Fatal(err)
				}
				wantStatus(t, resp, 400, "query string")
				return
			}
			wantStatus(t, e.do(reqCtx(t), tc.method, tc.sid, tc.body, tc.hdr...), tc.status, tc.contains)
		})
	}
	// An allowed origin passes.
	r := e.post(sid, call, "Origin: http://localhost:5173")
	wantStatus(t, r, 200, `"tools"`)
}

func TestHTTPLoopbackOnly(t *testing.T) {
	e := newHTTPEnv(t, HTTPOptions{LoopbackOnly: true})
	for _, host := range []string{"evil.example", "evil.example:80", "localhost.evil.example", "10.0.0.1"} {
		wantStatus(t, e.post("", initBody, "Host: "+host), http.StatusForbidden, "loopback")
	}
	for _, host := range []string{"localhost", "localhost:8080", "127.0.0.1:1", "[::1]:9", "app.localhost"} {
		r := e.post("", initBody, "Host: "+host)
		wantStatus(t, r, http.StatusOK, `"protocolVersion"`)
	}
}

func TestHTTPSessionLimits(t *testing.T) {
	e := newHTTPEnv(t, HTTPOptions{MaxSessionsPerClient: 1})
	sid := e.initialize()
	wantStatus(t, e.post("", initBody), http.StatusTooManyRequests, "max_sessions_per_client")
	// Ending the session frees the slot.
	r := e.do(reqCtx(t), http.MethodDelete, sid, "")
	wantStatus(t, r, http.StatusNoContent, "")
	e.initialize()

	e2 := newHTTPEnv(t, HTTPOptions{MaxSessions: 1})
	e2.initialize()
	wantStatus(t, e2.post("", initBody), http.StatusServiceUnavailable, "max_sessions")
}

func TestHTTPJSONResponse(t *testing.T) {
	e := newHTTPEnv(t, HTTPOptions{})
	sid := e.initialize()
	r := e.post(sid, `{"jsonrpc":"2.0","id":"q","method":"tools/call","params":{"name":"f__echo","arguments":{"a":1}}}`)
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("content type %q", ct)
	}
	b := readBody(t, r)
	m, err := jsonrpc.Parse(b)
	if err != nil || string(m.ID) != `"q"` || !bytes.Contains(m.Result, []byte(`"arguments":{"a":1}`)) {
		t.Fatalf("response %s", b)
	}
	// Notifications and responses get 202 and no body.
	r = e.post(sid, `{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"zz"}}`)
	wantStatus(t, r, http.StatusAccepted, "")
	r = e.post(sid, `{"jsonrpc":"2.0","id":5,"result":{}}`)
	wantStatus(t, r, http.StatusAccepted, "")
}

// readEvents reads SSE events with data until n have arrived.
func readEvents(t *testing.T, rd *sse.Reader, n int) []sse.Event {
	t.Helper()
	var out []sse.Event
	for len(out) < n {
		ev, err := rd.Next()
		if err != nil {
			t.Fatalf("after %d events: %v", len(out), err)
		}
		if len(ev.Data) > 0 {
			out = append(out, ev)
		}
	}
	return out
}

func TestHTTPSSEWhenProgressPrecedes(t *testing.T) {
	e := newHTTPEnv(t, HTTPOptions{})
	sid := e.initialize()
	r := e.post(sid, `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"f__progress","_meta":{"progressToken":"pt"}}}`)
	defer r.Body.Close()
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		t.Fatalf("content type %q", ct)
	}
	rd := sse.NewReader(r.Body, 0)
	// 2025-11-25: a priming event with an id and no data comes first.
	first, err := rd.Next()
	if err != nil || !first.HasID || len(first.Data) != 0 {
		t.Fatalf("priming event %+v %v", first, err)
	}
	ev := readEvents(t, rd, 1)[0]
	m, err := jsonrpc.Parse(ev.Data)
	if err != nil || m.Method != "notifications/progress" || !bytes.Contains(m.Params, []byte(`"progressToken":"pt"`)) {
		t.Fatalf("first event %s", ev.Data)
	}
	if !ev.HasID || !strings.Contains(ev.ID, "_") {
		t.Fatalf("event id %q", ev.ID)
	}
	close(e.f.release)
	ev = readEvents(t, rd, 1)[0]
	m, err = jsonrpc.Parse(ev.Data)
	if err != nil || m.Kind != jsonrpc.KindResponse || string(m.ID) != "7" {
		t.Fatalf("last event %s", ev.Data)
	}
	if _, err := rd.Next(); err != io.EOF {
		t.Fatalf("stream did not end after the response: %v", err)
	}
}

func TestHTTPStandaloneStream(t *testing.T) {
	e := newHTTPEnv(t, HTTPOptions{KeepAlive: time.Hour})
	sid := e.initialize()
	ctx, cancel := context.WithCancel(reqCtx(t))
	defer cancel()
	r := e.do(ctx, http.MethodGet, sid, "")
	defer r.Body.Close()
	if r.StatusCode != 200 || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("GET: %d %s", r.StatusCode, r.Header.Get("Content-Type"))
	}
	// A second GET while the first is open: 409.
	wantStatus(t, e.do(reqCtx(t), http.MethodGet, sid, ""), http.StatusConflict, "already open")

	e.f.conn(t).emit(jsonrpc.Notification("notifications/tools/list_changed", nil))
	ev := readEvents(t, sse.NewReader(r.Body, 0), 1)[0]
	if m, err := jsonrpc.Parse(ev.Data); err != nil || m.Method != "notifications/tools/list_changed" {
		t.Fatalf("event %s", ev.Data)
	}

	// DELETE ends the session: the stream ends, and the id is gone.
	wantStatus(t, e.do(reqCtx(t), http.MethodDelete, sid, ""), http.StatusNoContent, "")
	if _, err := io.Copy(io.Discard, r.Body); err != nil {
		t.Fatalf("stream after DELETE: %v", err)
	}
	wantStatus(t, e.post(sid, `{"jsonrpc":"2.0","id":2,"method":"tools/list"}`), http.StatusNotFound, "session not found")
	wantStatus(t, e.do(reqCtx(t), http.MethodDelete, sid, ""), http.StatusNotFound, "")
}

func TestHTTPResumePOSTStream(t *testing.T) {
	e := newHTTPEnv(t, HTTPOptions{KeepAlive: time.Hour})
	sid := e.initialize()
	ctx, cancel := context.WithCancel(reqCtx(t))
	r := e.do(ctx, http.MethodPost, sid, `{"jsonrpc":"2.0","id":"r","method":"tools/call","params":{"name":"f__progress","_meta":{"progressToken":1}}}`)
	rd := sse.NewReader(r.Body, 0)
	ev := readEvents(t, rd, 1)[0]
	if m, err := jsonrpc.Parse(ev.Data); err != nil || m.Method != "notifications/progress" {
		t.Fatalf("event %s", ev.Data)
	}
	last := ev.ID
	// The connection breaks before the response. Wait until the server has noticed (its
	// writer let go of the stream): a response written into a dying TCP connection would
	// count as delivered.
	cancel()
	r.Body.Close()
	e.h.mu.Lock()
	hs := e.h.sessions[sid]
	e.h.mu.Unlock()
	sidOfStream, _, _ := parseEventID(last)
	hs.mu.Lock()
	es := hs.streams[sidOfStream]
	hs.mu.Unlock()
	if es == nil {
		t.Fatalf("stream %q not kept", sidOfStream)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		es.mu.Lock()
		attached := es.attached
		es.mu.Unlock()
		if !attached {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("server never noticed the broken connection")
		}
		time.Sleep(5 * time.Millisecond)
	}
	close(e.f.release)

	// Resume with Last-Event-ID: the response is replayed.
	resp := e.do(reqCtx(t), http.MethodGet, sid, "", "Last-Event-ID: "+last)
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("resume: %d %s", resp.StatusCode, readBody(t, resp))
	}
	rd = sse.NewReader(resp.Body, 0)
	ev = readEvents(t, rd, 1)[0]
	m, err := jsonrpc.Parse(ev.Data)
	if err != nil || m.Kind != jsonrpc.KindResponse || string(m.ID) != `"r"` {
		t.Fatalf("replayed %s", ev.Data)
	}
	if _, err := rd.Next(); err != io.EOF {
		t.Fatalf("resumed stream did not end: %v", err)
	}
	// The completed stream is gone.
	wantStatus(t, e.do(reqCtx(t), http.MethodGet, sid, "", "Last-Event-ID: "+last), http.StatusNotFound, "unknown stream")
}

func TestHTTPIdleTimeout(t *testing.T) {
	e := newHTTPEnv(t, HTTPOptions{SessionIdleTimeout: 50 * time.Millisecond})
	sid := e.initialize()
	deadline := time.Now().Add(5 * time.Second)
	for {
		r := e.post(sid, `{"jsonrpc":"2.0","method":"notifications/initialized"}`)
		r.Body.Close()
		if r.StatusCode == http.StatusNotFound {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("idle session never closed")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if n := e.h.g.SessionCount(); n != 0 {
		t.Fatalf("%d sessions left in the gateway", n)
	}
}

func TestHTTPCloseEndsSessions(t *testing.T) {
	e := newHTTPEnv(t, HTTPOptions{})
	e.initialize()
	e.initialize()
	if n := e.h.g.SessionCount(); n != 2 {
		t.Fatalf("sessions %d", n)
	}
	e.h.Close()
	e.h.Close()
	if n := e.h.g.SessionCount(); n != 0 {
		t.Fatalf("sessions after Close %d", n)
	}
}
