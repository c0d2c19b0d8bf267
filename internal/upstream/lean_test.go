package upstream

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// countingServer counts the TCP connections it accepts.
func countingServer(t *testing.T, h http.Handler, useTLS bool) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var conns atomic.Int32
	ts := httptest.NewUnstartedServer(h)
	ts.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	if useTLS {
		ts.StartTLS()
	} else {
		ts.Start()
	}
	t.Cleanup(ts.Close)
	return ts, &conns
}

func leanGet(t *testing.T, c *http.Client, method, url, body string) (int, string, http.Header) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequestWithContext(ctx, method, url, rd)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading body: %v", err)
	}
	return resp.StatusCode, string(b), resp.Header
}

func TestLeanTransportReusesConnections(t *testing.T) {
	for _, useTLS := range []bool{false, true} {
		ts, conns := countingServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			switch r.URL.Path {
			case "/sse": // chunked, flushed in pieces, like an MCP response stream
				w.Header().Set("Content-Type", "text/event-stream")
				io.WriteString(w, "data: one\n\n")
				w.(http.Flusher).Flush()
				io.WriteString(w, "data: "+string(b)+"\n\n")
			case "/close":
				w.Header().Set("Connection", "close")
				io.WriteString(w, "bye")
			default:
				w.Header().Set("Content-Type", "application/json")
				io.WriteString(w, `{"echo":"`+string(b)+`"}`)
			}
		}), useTLS)
		lt := &LeanTransport{}
		if useTLS {
			lt.TLSConfig = &tls.Config{RootCAs: ts.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs}
		}
		c := &http.Client{Transport: lt}
		for i := 0; i < 5; i++ {
			if code, body, _ := leanGet(t, c, http.MethodPost, ts.URL+"/json", "x"); code != 200 || body != `{"echo":"x"}` {
				t.Fatalf("tls=%v: %d %q", useTLS, code, body)
			}
			if _, body, _ := leanGet(t, c, http.MethodPost, ts.URL+"/sse", "y"); body != "data: one\n\ndata: y\n\n" {
				t.Fatalf("tls=%v: sse body %q", useTLS, body)
			}
		}
		if n := conns.Load(); n != 1 {
			t.Errorf("tls=%v: %d connections for sequential requests, want 1 (reuse)", useTLS, n)
		}
		// A response that closes the connection is not pooled.
		leanGet(t, c, http.MethodGet, ts.URL+"/close", "")
		leanGet(t, c, http.MethodGet, ts.URL+"/json", "")
		if n := conns.Load(); n != 2 {
			t.Errorf("tls=%v: %d connections after Connection: close, want 2", useTLS, n)
		}
		lt.CloseIdleConnections()
	}
}

// A pooled connection that the server closed while idle is not used again: one idle for a
// while is probed before reuse; an idempotent request found a fresh one anyway; a POST is never
// sent twice.
func TestLeanTransportStaleConnection(t *testing.T) {
	var posts atomic.Int32
	ts, conns := countingServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			posts.Add(1)
		}
		io.WriteString(w, "ok")
	}), false)
	c := &http.Client{Transport: &LeanTransport{}}
	leanGet(t, c, http.MethodPost, ts.URL, "a")
	ts.CloseClientConnections() // the server drops the idle connection
	time.Sleep(probeAfter + 100*time.Millisecond)
	if code, body, _ := leanGet(t, c, http.MethodPost, ts.URL, "b"); code != 200 || body != "ok" {
		t.Fatalf("after a long-idle stale connection: %d %q", code, body)
	}
	if n := conns.Load(); n != 2 {
		t.Errorf("%d connections, want 2 (the probe found the stale one)", n)
	}

	// Closed just now (no probe): a GET goes again on a fresh connection ...
	ts.CloseClientConnections()
	time.Sleep(20 * time.Millisecond)
	if code, body, _ := leanGet(t, c, http.MethodGet, ts.URL, ""); code != 200 || body != "ok" {
		t.Fatalf("GET after a stale connection: %d %q", code, body)
	}
	// ... and a POST gets an error rather than risking a second delivery.
	ts.CloseClientConnections()
	time.Sleep(20 * time.Millisecond)
	req, _ := http.NewRequest(http.MethodPost, ts.URL, strings.NewReader("c"))
	if resp, err := c.Do(req); err == nil {
		resp.Body.Close()
		t.Logf("POST on a just-closed connection succeeded (the close raced the send)")
	}
	if n := posts.Load(); n > 3 {
		t.Errorf("the server saw %d POSTs for 3 sent: a POST was repeated", n)
	}
}

// Cancelling a request ends a response that is still being streamed.
func TestLeanTransportCancel(t *testing.T) {
	release := make(chan struct{})
	ts, _ := countingServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "data: start\n\n")
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}), false)
	defer close(release)
	c := &http.Client{Transport: &LeanTransport{}}
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, ts.URL, strings.NewReader("x"))
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	buf := make([]byte, 64)
	if n, err := resp.Body.Read(buf); err != nil || !strings.Contains(string(buf[:n]), "start") {
		t.Fatalf("first read: %q %v", buf[:n], err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := io.ReadAll(resp.Body)
		done <- err
	}()
	cancel()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("read after cancel ended without an error")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("cancel did not end the read")
	}
}

// A response stream closed once its message arrived leaves its end for the next request on
// the connection to read: the connection is reused when that end is short, and replaced
// (without losing the next request) when the server sends too much after it or never ends
// the body.
func TestLeanTransportCloseUnread(t *testing.T) {
	hang := make(chan struct{})
	defer close(hang)
	gate := make(chan chan struct{}, 1)
	ts, conns := countingServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		switch r.URL.Path {
		case "/sse": // the event, then (after the handler returns) the chunked end
			w.Header().Set("Content-Type", "text/event-stream")
			io.WriteString(w, "data: "+string(b)+"\n\n")
			w.(http.Flusher).Flush()
		case "/gated": // the event; the end only when the test says so
			w.Header().Set("Content-Type", "text/event-stream")
			io.WriteString(w, "data: "+string(b)+"\n\n")
			w.(http.Flusher).Flush()
			<-<-gate
		case "/long": // the event, then more than a connection is worth draining
			w.Header().Set("Content-Type", "text/event-stream")
			io.WriteString(w, "data: "+string(b)+"\n\n")
			w.(http.Flusher).Flush()
			io.WriteString(w, ": "+strings.Repeat("x", 2*maxRest)+"\n\n")
		case "/hang": // the event, and a body that does not end
			w.Header().Set("Content-Type", "text/event-stream")
			io.WriteString(w, "data: "+string(b)+"\n\n")
			w.(http.Flusher).Flush()
			select {
			case <-hang:
			case <-r.Context().Done():
			}
		default:
			io.WriteString(w, "plain:"+string(b))
		}
	}), false)
	lt := &LeanTransport{}
	c := &http.Client{Transport: lt}
	event := func(path, body string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, ts.URL+path, strings.NewReader(body))
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		want := "data: " + body + "\n\n"
		got := make([]byte, len(want))
		if _, err := io.ReadFull(resp.Body, got); err != nil || string(got) != want {
			t.Fatalf("%s: read %q, %v", path, got, err)
		}
		finishBody(resp.Body)
	}
	for i := range 5 {
		event("/sse", strconv.Itoa(i))
		if code, body, _ := leanGet(t, c, http.MethodPost, ts.URL+"/plain", "p"); code != 200 || body != "plain:p" {
			t.Fatalf("after an unread end: %d %q", code, body)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("%d connections after closing stream ends unread, want 1 (reuse)", n)
	}
	// The caller does not wait for the end: it comes after the body is closed, and the
	// connection is still reused.
	g := make(chan struct{})
	gate <- g
	event("/gated", "g")
	close(g)
	if code, body, _ := leanGet(t, c, http.MethodPost, ts.URL+"/plain", "s"); code != 200 || body != "plain:s" {
		t.Fatalf("after an end sent late: %d %q", code, body)
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("%d connections after an end sent late, want 1 (reuse)", n)
	}
	event("/long", "l")
	if code, body, _ := leanGet(t, c, http.MethodPost, ts.URL+"/plain", "q"); code != 200 || body != "plain:q" {
		t.Fatalf("after a long unread end: %d %q", code, body)
	}
	if n := conns.Load(); n != 2 {
		t.Errorf("%d connections after a long unread end, want 2 (not reused)", n)
	}
	event("/hang", "h")
	if code, body, _ := leanGet(t, c, http.MethodPost, ts.URL+"/plain", "r"); code != 200 || body != "plain:r" {
		t.Fatalf("after a body that never ends: %d %q", code, body)
	}
	if n := conns.Load(); n != 3 {
		t.Errorf("%d connections after a body that never ends, want 3 (not reused)", n)
	}
	lt.CloseIdleConnections()
}

// With the lean transport the request goes out without http.Client.Do; a redirect that
// comes is still followed under the client's CheckRedirect, with the body sent again, and a
// redirect to another origin is refused.
func TestLeanTransportRedirects(t *testing.T) {
	other, otherRec := scripted(t, func(w http.ResponseWriter, r *http.Request) {})
	ts, rec := scripted(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/old":
			http.Redirect(w, r, "/mcp", http.StatusTemporaryRedirect)
		case "/away":
			http.Redirect(w, r, other.URL+"/mcp", http.StatusTemporaryRedirect)
		default:
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"jsonrpc":"2.0","id":2,"result":{"tools":[]}}`)
		}
	})
	client := &http.Client{Transport: &LeanTransport{}, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if req.URL.Host != via[0].URL.Host {
			return errors.New("refusing a redirect to another origin")
		}
		return nil
	}}
	c, col := dialHTTP(t, &StreamableHTTP{URL: ts.URL + "/old", Client: client})
	if err := c.Send(testCtx(t), []byte(msgToolsList)); err != nil {
		t.Fatal(err)
	}
	col.wait(t, "the response after the redirect", func(r received) bool { return strings.Contains(string(r.msg), `"tools"`) })
	posts := rec.requests("POST")
	if len(posts) != 2 || posts[1].body != msgToolsList {
		t.Fatalf("POSTs: %+v, want the redirected one with its body again", posts)
	}

	c2, _ := dialHTTP(t, &StreamableHTTP{URL: ts.URL + "/away", Client: client})
	if err := c2.Send(testCtx(t), []byte(msgToolsList)); err == nil || !strings.Contains(err.Error(), "another origin") {
		t.Fatalf("cross-origin redirect: %v", err)
	}
	if len(otherRec.requests("POST")) != 0 {
		t.Fatal("followed the redirect to another origin")
	}
}
