package http1

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/http/httputil"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// start serves h on 127.0.0.1 and returns the server and its address; the test closes it.
func start(t *testing.T, h http.Handler, opts ...func(*Server)) (*Server, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{Handler: h, Logger: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		o(s)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln) }()
	t.Cleanup(func() {
		s.Close()
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("Serve returned %v, want http.ErrServerClosed", err)
		}
	})
	return s, ln.Addr().String()
}

// raw sends request bytes on a new connection and returns everything the server sends
// until it closes the connection (or 3 seconds pass).
func raw(t *testing.T, addr, req string) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(3 * time.Second))
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(c)
	return string(b)
}

func echo(w http.ResponseWriter, r *http.Request) {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	w.Header().Set("X-Method", r.Method)
	w.Header().Set("X-Path", r.URL.Path)
	w.Header().Set("X-Host", r.Host)
	w.Write(b)
}

func TestKeepAliveAndBodies(t *testing.T) {
	var conns atomic.Int32
	_, addr := start(t, http.HandlerFunc(echo))
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	trace := &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) {
		if !i.Reused {
			conns.Add(1)
		}
	}}
	for i, body := range []io.Reader{
		strings.NewReader(`{"jsonrpc":"2.0"}`),                              // Content-Length
		io.MultiReader(strings.NewReader(`{"a":`), strings.NewReader(`1}`)), // chunked (length unknown)
		nil,
		bytes.NewReader(bytes.Repeat([]byte("x"), 100<<10)), // larger than the response buffer
	} {
		want := ""
		if body != nil {
			var buf bytes.Buffer
			body = io.TeeReader(body, &buf)
			req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), http.MethodPost, "http://"+addr+"/mcp", body)
			resp, err := client.Do(req)
			if err != nil {
				t.Fatalf("request %d: %v", i, err)
			}
			got, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			want = buf.String()
			if string(got) != want || resp.StatusCode != 200 || resp.Header.Get("X-Method") != "POST" || resp.Header.Get("X-Path") != "/mcp" {
				t.Fatalf("request %d: %d %q (%d bytes), want 200 %d bytes", i, resp.StatusCode, resp.Header, len(got), len(want))
			}
			continue
		}
		req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), http.MethodGet, "http://"+addr+"/x?y", nil)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.Header.Get("X-Method") != "GET" || resp.Header.Get("Date") == "" || resp.ContentLength != 0 {
			t.Fatalf("GET: %v, length %d", resp.Header, resp.ContentLength)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("%d connections for four requests, want 1 (keep-alive)", n)
	}
}

func TestResponseFraming(t *testing.T) {
	_, addr := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/small":
			io.WriteString(w, "hello")
		case "/declared":
			w.Header().Set("Content-Length", "5")
			io.WriteString(w, "hel")
			io.WriteString(w, "lo")
		case "/big":
			w.Write(bytes.Repeat([]byte("b"), pendMax+1))
		case "/none":
			w.WriteHeader(http.StatusNoContent)
			io.WriteString(w, "ignored")
		case "/short":
			w.Header().Set("Content-Length", "10")
			io.WriteString(w, "abc")
		}
	}))
	tests := []struct {
		req   string
		heads []string
		body  string
		open  bool // the connection stays open (the read times out instead of EOF)
	}{
		{"GET /small HTTP/1.1\r\nHost: x\r\n\r\n", []string{"HTTP/1.1 200 OK", "Content-Length: 5"}, "hello", true},
		{"GET /declared HTTP/1.1\r\nHost: x\r\n\r\n", []string{"Content-Length: 5"}, "hello", true},
		{"GET /big HTTP/1.1\r\nHost: x\r\n\r\n", []string{"Transfer-Encoding: chunked"}, "", true},
		{"HEAD /small HTTP/1.1\r\nHost: x\r\n\r\n", []string{"HTTP/1.1 200 OK"}, "", true},
		{"GET /none HTTP/1.1\r\nHost: x\r\n\r\n", []string{"HTTP/1.1 204 No Content"}, "", true},
		{"GET /short HTTP/1.1\r\nHost: x\r\n\r\n", []string{"Content-Length: 10"}, "abc", false},
		{"GET /small HTTP/1.0\r\n\r\n", []string{"HTTP/1.0 200 OK", "Connection: close"}, "hello", false},
		{"GET /big HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", []string{"HTTP/1.0 200 OK", "Connection: close"}, strings.Repeat("b", pendMax+1), false},
		{"GET /small HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", []string{"HTTP/1.0 200 OK", "Connection: keep-alive", "Content-Length: 5"}, "hello", true},
	}
	for _, tt := range tests {
		t.Run(strings.Fields(tt.req)[0]+strings.Fields(tt.req)[1]+strings.Fields(tt.req)[2], func(t *testing.T) {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			io.WriteString(c, tt.req)
			c.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
			got, err := io.ReadAll(c)
			timedOut := isTimeout(err)
			if timedOut != tt.open {
				t.Errorf("connection open after the response: %v, want %v (%v)", timedOut, tt.open, err)
			}
			head, body, _ := strings.Cut(string(got), "\r\n\r\n")
			for _, h := range tt.heads {
				if !strings.Contains(head, h) {
					t.Errorf("head lacks %q:\n%s", h, head)
				}
			}
			if strings.Contains(head, "Transfer-Encoding: chunked") {
				dec, err := io.ReadAll(httputilChunked(body))
				if err != nil || len(dec) != pendMax+1 {
					t.Errorf("chunked body: %d bytes, %v", len(dec), err)
				}
				return
			}
			if body != tt.body {
				t.Errorf("body %q, want %q", body, tt.body)
			}
		})
	}
}

// TestStreamFlush checks that flushed events reach the client while the handler runs.
func TestStreamFlush(t *testing.T) {
	next := make(chan struct{})
	_, addr := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for i := range 3 {
			fmt.Fprintf(w, "data: %d\n\n", i)
			if err := http.NewResponseController(w).Flush(); err != nil {
				t.Errorf("flush: %v", err)
			}
			<-next
		}
	}))
	resp, err := http.Get("http://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.TransferEncoding == nil || resp.TransferEncoding[0] != "chunked" {
		t.Errorf("transfer encoding %v, want chunked", resp.TransferEncoding)
	}
	br := bufio.NewReader(resp.Body)
	for i := range 3 {
		line, err := br.ReadString('\n')
		if err != nil || line != fmt.Sprintf("data: %d\n", i) {
			t.Fatalf("event %d: %q %v", i, line, err)
		}
		br.ReadString('\n')
		next <- struct{}{}
	}
	if rest, err := io.ReadAll(br); err != nil || len(rest) != 0 {
		t.Errorf("after the stream: %q %v", rest, err)
	}
}

func TestPipelined(t *testing.T) {
	_, addr := start(t, http.HandlerFunc(echo))
	got := raw(t, addr, "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\none"+
		"POST /b HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\ntwo\r\n0\r\nX-Trailer: t\r\n\r\n"+
		"GET /c HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	resps := strings.Split(got, "HTTP/1.1 200 OK")
	if len(resps) != 4 {
		t.Fatalf("%d responses:\n%s", len(resps)-1, got)
	}
	for i, want := range []string{"X-Path: /a", "X-Path: /b", "X-Path: /c"} {
		if !strings.Contains(resps[i+1], want) {
			t.Errorf("response %d lacks %q:\n%s", i, want, resps[i+1])
		}
	}
	if !strings.HasSuffix(resps[1], "one") || !strings.HasSuffix(resps[2], "two") {
		t.Errorf("bodies out of order:\n%s", got)
	}
}

func TestExpectContinue(t *testing.T) {
	_, addr := start(t, http.HandlerFunc(echo))
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(3 * time.Second))
	io.WriteString(c, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n")
	br := bufio.NewReader(c)
	line, _ := br.ReadString('\n')
	if line != "HTTP/1.1 100 Continue\r\n" {
		t.Fatalf("first line %q, want 100 Continue", line)
	}
	br.ReadString('\n')
	io.WriteString(c, "body")
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || string(b) != "body" {
		t.Errorf("%d %q", resp.StatusCode, b)
	}
}

// TestRefusals sends malformed requests over the wire: each gets its status, a body
// saying why, and the connection is closed.
func TestRefusals(t *testing.T) {
	var served atomic.Int32
	_, addr := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { served.Add(1) }), func(s *Server) {
		s.MaxHeaderBytes = 1024
		s.ErrorBody = func(status int, reason string) (string, []byte) {
			return "application/json", []byte(`{"reason":` + strconv.Quote(reason) + `}`)
		}
	})
	tests := []struct {
		req    string
		status int
		reason string
	}{
		{"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400, "both Transfer-Encoding and Content-Length"},
		{"GET / HTTP/1.1\r\nHost: x\r\nX: " + strings.Repeat("a", 2000) + "\r\n\r\n", 431, "exceeds 1024 bytes"},
		{strings.Repeat("\r\n", 600) + "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 431, "exceeds 1024 bytes"},
		{"GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505, "only HTTP/1.0 and HTTP/1.1"},
		{"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 501, "unsupported Transfer-Encoding"},
		{"GET / HTTP/1.1\r\nHost: x\r\nX: a\r\n b\r\n\r\n", 400, "obs-fold"},
		{"GET / HTTP/1.1\r\nHost: x\r\n", 400, "connection closed in the request head"},
	}
	for _, tt := range tests {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(3 * time.Second))
		io.WriteString(c, tt.req)
		if strings.HasSuffix(tt.req, "x\r\n") {
			c.(*net.TCPConn).CloseWrite()
		}
		got, _ := io.ReadAll(c)
		c.Close()
		resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(got)), nil)
		if err != nil {
			t.Errorf("%q: no response: %v (%q)", tt.req[:20], err, got)
			continue
		}
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != tt.status || !strings.Contains(string(b), tt.reason) || !resp.Close || resp.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%q: %d %q close=%v, want %d with %q, closed", tt.req[:20], resp.StatusCode, b, resp.Close, tt.status, tt.reason)
		}
	}
	if n := served.Load(); n != 0 {
		t.Errorf("the handler served %d refused requests", n)
	}
}

// TestSmugglingAttempt: a request whose body, read the other way, would be a second
// request. It is refused whole; the hidden request never reaches the handler.
func TestSmugglingAttempt(t *testing.T) {
	var mu sync.Mutex
	var paths []string
	_, addr := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		paths = append(paths, r.URL.Path)
	}))
	got := raw(t, addr, "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /hidden HTTP/1.1\r\nHost: x\r\n\r\n")
	if !strings.HasPrefix(got, "HTTP/1.1 400") || strings.Count(got, "HTTP/1.1") != 1 {
		t.Errorf("response:\n%s", got)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(paths) != 0 {
		t.Errorf("handler saw %v", paths)
	}
}

func TestClientGoneCancels(t *testing.T) {
	for _, stream := range []bool{false, true} {
		t.Run(fmt.Sprintf("stream=%v", stream), func(t *testing.T) {
			started, cancelled := make(chan struct{}), make(chan error, 1)
			_, addr := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.ReadAll(r.Body)
				if stream {
					io.WriteString(w, "data: x\n\n")
					w.(http.Flusher).Flush()
				}
				close(started)
				select {
				case <-r.Context().Done():
					cancelled <- r.Context().Err()
				case <-time.After(5 * time.Second):
					cancelled <- errors.New("not cancelled within 5 s")
				}
			}))
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			io.WriteString(c, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}")
			<-started
			c.Close()
			if err := <-cancelled; !errors.Is(err, context.Canceled) {
				t.Fatal(err)
			}
		})
	}
}

// TestSlowHandlerKeepsPipelinedRequest: the watch reads a byte of the next request while a
// slow handler runs; that request is still served whole.
func TestSlowHandlerKeepsPipelinedRequest(t *testing.T) {
	_, addr := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			time.Sleep(3 * watchDelay)
		}
		w.Header().Set("X-Path", r.URL.Path)
	}))
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(3 * time.Second))
	io.WriteString(c, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
	time.Sleep(2 * watchDelay) // the watch runs now
	io.WriteString(c, "GET /next HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	got, _ := io.ReadAll(c)
	if !strings.Contains(string(got), "X-Path: /slow") || !strings.Contains(string(got), "X-Path: /next") {
		t.Errorf("responses:\n%s", got)
	}
}

func TestUnreadBody(t *testing.T) {
	_, addr := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	// A small unread body is drained: the next request is served on the same connection.
	got := raw(t, addr, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"+
		"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	if n := strings.Count(got, "HTTP/1.1 200 OK"); n != 2 {
		t.Errorf("%d responses, want 2:\n%s", n, got)
	}
	// An unread body never sent (Expect: 100-continue) ends the connection after the response.
	got = raw(t, addr, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
	if !strings.Contains(got, "200 OK") || strings.Contains(got, "100 Continue") || !strings.Contains(got, "Connection: close") {
		t.Errorf("response:\n%s", got)
	}
}

func TestTimeouts(t *testing.T) {
	_, addr := start(t, http.HandlerFunc(echo), func(s *Server) {
		s.ReadHeaderTimeout = 200 * time.Millisecond
		s.IdleTimeout = 300 * time.Millisecond
	})
	for name, req := range map[string]string{
		"partial head": "GET / HTTP/1.1\r\nHost: x\r\n",
		"idle":         "",
	} {
		t.Run(name, func(t *testing.T) {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			io.WriteString(c, req)
			c.SetReadDeadline(time.Now().Add(3 * time.Second))
			t0 := time.Now()
			b, err := io.ReadAll(c)
			if err != nil || time.Since(t0) > 2*time.Second {
				t.Errorf("connection not closed by the server: %v after %v (%q)", err, time.Since(t0), b)
			}
		})
	}
}

func TestPanicClosesConnection(t *testing.T) {
	_, addr := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/panic" {
			panic("boom")
		}
	}))
	got := raw(t, addr, "GET /panic HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n")
	if got != "" {
		t.Errorf("after a panic: %q", got)
	}
	if got := raw(t, addr, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"); !strings.HasPrefix(got, "HTTP/1.1 200") {
		t.Errorf("the next connection: %q", got)
	}
}

func TestShutdown(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{})
	s, addr := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			close(entered)
			<-release
		}
		io.WriteString(w, "done")
	}))
	idle, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	busy, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	io.WriteString(busy, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
	<-entered
	shut := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		shut <- s.Shutdown(ctx)
	}()
	idle.SetReadDeadline(time.Now().Add(3 * time.Second))
	if _, err := idle.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("idle connection: %v, want closed", err)
	}
	select {
	case err := <-shut:
		t.Fatalf("Shutdown returned %v with a request in flight", err)
	case <-time.After(100 * time.Millisecond):
	}
	close(release)
	busy.SetReadDeadline(time.Now().Add(3 * time.Second))
	got, _ := io.ReadAll(busy)
	if !strings.Contains(string(got), "Connection: close") || !strings.HasSuffix(string(got), "done") {
		t.Errorf("in-flight response:\n%s", got)
	}
	if err := <-shut; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	if _, err := net.Dial("tcp", addr); err == nil {
		t.Error("still accepting after Shutdown")
	}
}

func TestTLS(t *testing.T) {
	cert := selfSigned(t)
	_, addr := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS == nil {
			t.Error("request without TLS state")
		}
		io.WriteString(w, r.Proto)
	}), func(s *Server) { s.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}} })
	pool := x509.NewCertPool()
	pool.AddCert(cert.Leaf)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}}
	defer client.CloseIdleConnections()
	resp, err := client.Get("https://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.Proto != "HTTP/1.1" || string(b) != "HTTP/1.1" || resp.TLS.NegotiatedProtocol != "http/1.1" {
		t.Errorf("proto %s, body %q, ALPN %q", resp.Proto, b, resp.TLS.NegotiatedProtocol)
	}
}

func selfSigned(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
}

func httputilChunked(s string) io.Reader {
	return httputil.NewChunkedReader(bufio.NewReader(strings.NewReader(s)))
}

// TestGarbage sends malformed and truncated requests, and random bytes, on many
// connections: each is answered or closed within its deadline, nothing panics, and the
// server goes on serving.
func TestGarbage(t *testing.T) {
	_, addr := start(t, http.HandlerFunc(echo), func(s *Server) {
		s.ReadHeaderTimeout = 500 * time.Millisecond
		s.IdleTimeout = 500 * time.Millisecond
		s.MaxHeaderBytes = 4096
	})
	valid := "POST /mcp HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n"
	rnd := mrand.New(mrand.NewPCG(1, 2))
	for i := range 200 {
		var req []byte
		switch i % 4 {
		case 0: // random bytes
			req = make([]byte, rnd.IntN(600))
			for j := range req {
				req[j] = byte(rnd.IntN(256))
			}
		case 1: // a valid-looking request cut anywhere
			req = []byte(valid[:rnd.IntN(len(valid))])
		case 2: // one byte of a valid-looking request changed
			req = []byte(valid)
			req[rnd.IntN(len(req))] = byte(rnd.IntN(256))
		case 3: // printable junk lines
			for range rnd.IntN(20) {
				line := make([]byte, rnd.IntN(80))
				for j := range line {
					line[j] = byte(32 + rnd.IntN(95))
				}
				req = append(append(req, line...), "\r\n"...)
			}
		}
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(3 * time.Second))
		c.Write(req)
		c.(*net.TCPConn).CloseWrite()
		if _, err := io.ReadAll(c); err != nil {
			t.Errorf("payload %d (%q): %v", i, req, err)
		}
		c.Close()
	}
	if got := raw(t, addr, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"); !strings.HasPrefix(got, "HTTP/1.1 200") {
		t.Errorf("after the garbage: %q", got)
	}
}
