package http1

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestWriteRequest(t *testing.T) {
	for _, name := range []string{"reader", "bytes", "bytes partly read"} {
		t.Run(name, func(t *testing.T) { testWriteRequest(t, name) })
	}
}

// testWriteRequest writes a request whose body is a reader, a BytesBody (written as it is),
// or a BytesBody that was partly read (copied through the reader path, its rest only).
func testWriteRequest(t *testing.T, kind string) {
	body := `{"jsonrpc":"2.0","id":1,"method":"ping"}`
	req, _ := http.NewRequest(http.MethodPost, "http://127.0.0.1:9/mcp?x=1", strings.NewReader(body))
	switch kind {
	case "bytes":
		req.Body = NewBytesBody([]byte(body))
	case "bytes partly read":
		bb := NewBytesBody([]byte("xx" + body))
		bb.Read(make([]byte, 2))
		req.Body = bb
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Mcp-Session-Id", "abc")
	req.Close = true
	var buf bytes.Buffer
	bw := bufio.NewWriter(&buf)
	if err := WriteRequest(bw, req); err != nil {
		t.Fatal(err)
	}
	bw.Flush()
	// net/http reads back what was written, field for field.
	got, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(buf.Bytes())))
	if err != nil {
		t.Fatalf("%v:\n%s", err, buf.Bytes())
	}
	b, _ := io.ReadAll(got.Body)
	if got.Method != "POST" || got.RequestURI != "/mcp?x=1" || got.Host != "127.0.0.1:9" || string(b) != body ||
		got.Header.Get("Mcp-Session-Id") != "abc" || got.Header.Get("Content-Type") != "application/json" || !got.Close ||
		got.ContentLength != int64(len(body)) {
		t.Errorf("read back: %s %s host %s close %v length %d %v %q", got.Method, got.RequestURI, got.Host, got.Close, got.ContentLength, got.Header, b)
	}
	if !strings.HasPrefix(buf.String(), "POST /mcp?x=1 HTTP/1.1\r\nHost: 127.0.0.1:9\r\n") {
		t.Errorf("head:\n%s", buf.String())
	}

	// A body-less POST says Content-Length: 0; a GET says nothing.
	for method, want := range map[string]bool{http.MethodPost: true, http.MethodGet: false} {
		req, _ := http.NewRequest(method, "http://h/", nil)
		buf.Reset()
		bw.Reset(&buf)
		if err := WriteRequest(bw, req); err != nil {
			t.Fatal(err)
		}
		bw.Flush()
		if has := strings.Contains(buf.String(), "Content-Length: 0\r\n"); has != want {
			t.Errorf("%s: Content-Length: 0 present %v, want %v", method, has, want)
		}
	}
}

func TestWriteRequestRefuses(t *testing.T) {
	mk := func(f func(*http.Request)) *http.Request {
		req, _ := http.NewRequest(http.MethodPost, "http://h/mcp", strings.NewReader("{}"))
		f(req)
		return req
	}
	tests := []struct {
		name string
		req  *http.Request
		want string
	}{
		{"line break in a value", mk(func(r *http.Request) { r.Header.Set("X-A", "1\r\nX-Injected: 2") }), "invalid header field value"},
		{"bad name", mk(func(r *http.Request) { r.Header["X A"] = []string{"1"} }), "invalid header field name"},
		{"bad host", mk(func(r *http.Request) { r.Host = "h\r\nX: y" }), "invalid host"},
		{"bad method", mk(func(r *http.Request) { r.Method = "PO ST" }), "invalid method"},
		{"unknown length", mk(func(r *http.Request) { r.ContentLength = -1; r.Body = io.NopCloser(strings.NewReader("{}")) }), "unknown length"},
		{"short body", mk(func(r *http.Request) { r.ContentLength = 10 }), "2 of 10 bytes"},
		{"target with a space", mk(func(r *http.Request) { r.URL = &url.URL{Scheme: "http", Host: "h", Opaque: "/a b"} }), "invalid request target"},
	}
	for _, tt := range tests {
		var buf bytes.Buffer
		bw := bufio.NewWriter(&buf)
		err := WriteRequest(bw, tt.req)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want an error saying %q", tt.name, err, tt.want)
		}
		if tt.name != "short body" && bw.Buffered() != 0 {
			t.Errorf("%s: %d bytes written before the refusal", tt.name, bw.Buffered())
		}
	}
	if err := WriteRequest(bufio.NewWriter(io.Discard), mk(func(r *http.Request) { r.ContentLength = -1 })); !errors.Is(err, ErrUnknownLength) {
		t.Errorf("unknown length: %v, want ErrUnknownLength", err)
	}
}

func TestReadResponse(t *testing.T) {
	tests := []struct {
		name, method, in string
		status           int
		body             string
		close            bool
		header           map[string]string
	}{
		{"length", "POST", "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\ncontent-length: 2\r\n\r\n{}", 200, "{}", false, map[string]string{"Content-Type": "application/json"}},
		{"chunked with trailer", "POST", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nevent\r\n3\r\n: x\r\n0\r\nX-T: 1\r\n\r\n", 200, "event: x", false, nil},
		{"until EOF", "GET", "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\ndata: 1\n\n", 200, "data: 1\n\n", true, nil},
		{"HTTP/1.0", "GET", "HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx", 200, "x", true, nil},
		{"HTTP/1.0 keep-alive", "GET", "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\nx", 200, "x", false, nil},
		{"connection close", "GET", "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\nx", 200, "x", true, nil},
		{"HEAD ignores the length", "HEAD", "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n", 200, "", false, nil},
		{"204", "DELETE", "HTTP/1.1 204 No Content\r\n\r\n", 204, "", false, nil},
		{"202 empty", "POST", "HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n", 202, "", false, nil},
		{"100 Continue skipped", "POST", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", 200, "ok", false, nil},
		{"no reason phrase", "GET", "HTTP/1.1 404\r\nContent-Length: 0\r\n\r\n", 404, "", false, nil},
		{"repeated equal lengths", "GET", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx", 200, "x", false, nil},
		{"bare LF", "GET", "HTTP/1.1 200 OK\nContent-Length: 1\n\nx", 200, "x", false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewResponseReader(bufio.NewReader(strings.NewReader(tt.in)))
			req, _ := http.NewRequest(tt.method, "http://h/", nil)
			resp, err := r.Read(req)
			if err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatalf("body: %v", err)
			}
			if resp.StatusCode != tt.status || string(b) != tt.body || resp.Close != tt.close || resp.Request != req {
				t.Errorf("%d %q close=%v, want %d %q close=%v", resp.StatusCode, b, resp.Close, tt.status, tt.body, tt.close)
			}
			for k, v := range tt.header {
				if resp.Header.Get(k) != v {
					t.Errorf("%s = %q, want %q", k, resp.Header.Get(k), v)
				}
			}
		})
	}
}

func TestReadResponseKeepAlive(t *testing.T) {
	in := "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na" +
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nb\r\n0\r\n\r\n" +
		"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nc"
	r := NewResponseReader(bufio.NewReader(strings.NewReader(in)))
	req, _ := http.NewRequest("GET", "http://h/", nil)
	var got string
	for range 3 {
		resp, err := r.Read(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		got += string(b)
	}
	if got != "abc" {
		t.Errorf("bodies %q, want abc", got)
	}
	if _, err := r.Read(req); err != io.EOF {
		t.Errorf("after the last response: %v, want EOF", err)
	}
}

func TestReadResponseRefuses(t *testing.T) {
	for name, in := range map[string]string{
		"CL and TE":        "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
		"differing CLs":    "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nxx",
		"gzip":             "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
		"TE in HTTP/1.0":   "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
		"bad status":       "HTTP/1.1 2x0 OK\r\n\r\n",
		"short status":     "HTTP/1.1 20\r\n\r\n",
		"HTTP/2":           "HTTP/2 200\r\n\r\n",
		"obs-fold":         "HTTP/1.1 200 OK\r\nX: a\r\n b\r\nContent-Length: 0\r\n\r\n",
		"space before ':'": "HTTP/1.1 200 OK\r\nContent-Length : 0\r\n\r\n",
		"truncated head":   "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n",
		"control in value": "HTTP/1.1 200 OK\r\nX: a\x01b\r\n\r\n",
	} {
		r := NewResponseReader(bufio.NewReader(strings.NewReader(in)))
		req, _ := http.NewRequest("GET", "http://h/", nil)
		if resp, err := r.Read(req); err == nil {
			t.Errorf("%s: accepted (%d)", name, resp.StatusCode)
		}
	}
	// A body shorter than its length is an error, not a short success.
	r := NewResponseReader(bufio.NewReader(strings.NewReader("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab")))
	req, _ := http.NewRequest("GET", "http://h/", nil)
	resp, err := r.Read(req)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(resp.Body); err != io.ErrUnexpectedEOF {
		t.Errorf("short body: %v, want io.ErrUnexpectedEOF", err)
	}
}

// FuzzReadResponse: the response reader must not panic, and a response it accepts must
// read the same in net/http (status, framing, fields, body).
func FuzzReadResponse(f *testing.F) {
	for _, s := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\ndata: x\n\n",
		"HTTP/1.0 404 Not Found\r\n\r\n",
		"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
	} {
		f.Add([]byte(s), false)
	}
	f.Fuzz(func(t *testing.T, b []byte, head bool) {
		method := http.MethodGet
		if head {
			method = http.MethodHead
		}
		req, _ := http.NewRequest(method, "http://h/", nil)
		resp, err := NewResponseReader(bufio.NewReader(bytes.NewReader(b))).Read(req)
		if err != nil {
			return
		}
		body, berr := io.ReadAll(resp.Body)
		// net/http's Transport, not ReadResponse, skips informational responses.
		wbr := bufio.NewReader(bytes.NewReader(b))
		want, err := http.ReadResponse(wbr, req)
		for err == nil && want.StatusCode < 200 && want.StatusCode != http.StatusSwitchingProtocols {
			want, err = http.ReadResponse(wbr, req)
		}
		if err != nil {
			t.Fatalf("accepted %q, net/http refuses it: %v", b, err)
		}
		wantBody, werr := io.ReadAll(want.Body)
		if want.StatusCode != resp.StatusCode || want.Close != resp.Close && !resp.Close {
			t.Fatalf("%q: net/http reads %d close=%v, this reader %d close=%v", b, want.StatusCode, want.Close, resp.StatusCode, resp.Close)
		}
		if (berr == nil) != (werr == nil) || berr == nil && !bytes.Equal(body, wantBody) {
			t.Fatalf("%q: net/http reads body %q (%v), this reader %q (%v)", b, wantBody, werr, body, berr)
		}
		for k, vs := range resp.Header {
			if k == "Transfer-Encoding" {
				continue
			}
			if strings.Join(want.Header[k], "\x00") != strings.Join(vs, "\x00") {
				t.Fatalf("%q: field %s: net/http %q, this reader %q", b, k, want.Header[k], vs)
			}
		}
	})
}
