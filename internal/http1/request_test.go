package http1

import (
	"bufio"
	"net/http"
	"reflect"
	"strings"
	"testing"
)

func TestParseGood(t *testing.T) {
	tests := []struct {
		name, in string
		method   string
		path     string
		query    string
		host     string
		header   http.Header
		length   int64
		chunked  bool
		close    bool
		expect   bool
	}{
		{
			name:   "post with length, lower-case names canonicalised",
			in:     "POST /mcp HTTP/1.1\r\nhost: 127.0.0.1:8787\r\ncontent-type: application/json\r\nmcp-session-id: abc\r\ncontent-length: 12\r\n\r\n",
			method: "POST", path: "/mcp", host: "127.0.0.1:8787", length: 12,
			header: http.Header{"Host": {"127.0.0.1:8787"}, "Content-Type": {"application/json"}, "Mcp-Session-Id": {"abc"}, "Content-Length": {"12"}},
		},
		{
			name:   "values trimmed, repeated fields kept in order, query split",
			in:     "GET /mcp?a=1&b=2 HTTP/1.1\r\nHost: x\r\nAccept:  text/event-stream \t\r\nX-A: 1\r\nx-a: 2\r\n\r\n",
			method: "GET", path: "/mcp", query: "a=1&b=2", host: "x",
			header: http.Header{"Host": {"x"}, "Accept": {"text/event-stream"}, "X-A": {"1", "2"}},
		},
		{
			name:   "bare LF line ends",
			in:     "DELETE /mcp HTTP/1.1\nHost: x\nConnection: close\n\n",
			method: "DELETE", path: "/mcp", host: "x", close: true,
			header: http.Header{"Host": {"x"}, "Connection": {"close"}},
		},
		{
			name:   "chunked with expect",
			in:     "POST /mcp HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: Chunked\r\nExpect: 100-continue\r\n\r\n",
			method: "POST", path: "/mcp", host: "x", length: -1, chunked: true, expect: true,
			header: http.Header{"Host": {"x"}, "Transfer-Encoding": {"Chunked"}, "Expect": {"100-continue"}},
		},
		{
			name:   "HTTP/1.0 closes unless kept alive; no Host needed",
			in:     "GET / HTTP/1.0\r\n\r\n",
			method: "GET", path: "/", close: true, header: http.Header{},
		},
		{
			name:   "HTTP/1.0 keep-alive",
			in:     "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n",
			method: "GET", path: "/", header: http.Header{"Connection": {"Keep-Alive"}},
		},
		{
			name:   "escaped path",
			in:     "GET /a%20b?x=%41 HTTP/1.1\r\nHost: x\r\n\r\n",
			method: "GET", path: "/a b", query: "x=%41", host: "x", header: http.Header{"Host": {"x"}},
		},
		{
			name:   "absolute form: its authority is the host",
			in:     "GET http://example.test:80/mcp HTTP/1.1\r\nHost: other\r\n\r\n",
			method: "GET", path: "/mcp", host: "example.test:80", header: http.Header{"Host": {"other"}},
		},
		{
			name:   "asterisk for OPTIONS",
			in:     "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n",
			method: "OPTIONS", path: "*", host: "x", header: http.Header{"Host": {"x"}},
		},
		{
			name:   "empty value",
			in:     "GET / HTTP/1.1\r\nHost: x\r\nX-Empty:\r\n\r\n",
			method: "GET", path: "/", host: "x", header: http.Header{"Host": {"x"}, "X-Empty": {""}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p parser
			h, err := p.parse([]byte(tt.in))
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			if h.method != tt.method || h.url.Path != tt.path || h.url.RawQuery != tt.query || h.host != tt.host {
				t.Errorf("got %s %q ?%q host %q, want %s %q ?%q host %q", h.method, h.url.Path, h.url.RawQuery, h.host, tt.method, tt.path, tt.query, tt.host)
			}
			if !reflect.DeepEqual(h.header, tt.header) {
				t.Errorf("header = %v, want %v", h.header, tt.header)
			}
			if h.length != tt.length || h.chunked != tt.chunked || h.close != tt.close || h.expect != tt.expect {
				t.Errorf("length %d chunked %v close %v expect %v, want %d %v %v %v", h.length, h.chunked, h.close, h.expect, tt.length, tt.chunked, tt.close, tt.expect)
			}
		})
	}
}

// TestParseBad covers the requests HTTP parsers disagree on (the material of request
// smuggling) and plain garbage: each is refused with its status.
func TestParseBad(t *testing.T) {
	tests := []struct {
		name, in string
		status   int
	}{
		{"CL and TE", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
		{"two CLs, same value", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n", 400},
		{"CL list", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5, 5\r\n\r\n", 400},
		{"CL signed", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +5\r\n\r\n", 400},
		{"CL hex", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0x5\r\n\r\n", 400},
		{"CL huge", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n", 400},
		{"TE gzip", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501},
		{"TE twice", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", 501},
		{"TE with junk", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n", 501},
		{"TE in HTTP/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
		{"space before colon", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length : 5\r\n\r\n", 400},
		{"obs-fold", "GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n  2\r\n\r\n", 400},
		{"bare CR in value", "GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r2\r\n\r\n", 400},
		{"NUL in value", "GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\x002\r\n\r\n", 400},
		{"no colon", "GET / HTTP/1.1\r\nHost: x\r\nX-A\r\n\r\n", 400},
		{"empty name", "GET / HTTP/1.1\r\nHost: x\r\n: v\r\n\r\n", 400},
		{"missing Host", "GET / HTTP/1.1\r\n\r\n", 400},
		{"two Hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400},
		{"bad Host", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400},
		{"Host with slash", "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400},
		{"HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\n", 505},
		{"HTTP/1.2", "GET / HTTP/1.2\r\nHost: x\r\n\r\n", 505},
		{"lower-case version", "GET / http/1.1\r\nHost: x\r\n\r\n", 400},
		{"bad method", "G(T / HTTP/1.1\r\nHost: x\r\n\r\n", 400},
		{"two spaces", "GET  / HTTP/1.1\r\nHost: x\r\n\r\n", 400},
		{"no target", "GET HTTP/1.1\r\nHost: x\r\n\r\n", 400},
		{"relative target", "GET mcp HTTP/1.1\r\nHost: x\r\n\r\n", 400},
		{"fragment", "GET /mcp#x HTTP/1.1\r\nHost: x\r\n\r\n", 400},
		{"asterisk for GET", "GET * HTTP/1.1\r\nHost: x\r\n\r\n", 400},
		{"authority form", "CONNECT example.test:443 HTTP/1.1\r\nHost: example.test:443\r\n\r\n", 400},
		{"bad escape", "GET /%zz HTTP/1.1\r\nHost: x\r\n\r\n", 400},
		{"Expect other", "POST / HTTP/1.1\r\nHost: x\r\nExpect: 200-ok\r\n\r\n", 417},
		{"unterminated", "GET / HTTP/1.1\r\nHost: x\r\n", 400},
		{"trailing bytes", "GET / HTTP/1.1\r\nHost: x\r\n\r\nX", 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p parser
			h, err := p.parse([]byte(tt.in))
			if err == nil {
				t.Fatalf("accepted: %+v", h)
			}
			if err.status != tt.status {
				t.Errorf("status %d (%s), want %d", err.status, err.msg, tt.status)
			}
		})
	}
}

// TestParseAgreesWithNetHTTP checks that what this parser accepts, net/http reads the same
// way: method, target, host, body framing and fields.
func TestParseAgreesWithNetHTTP(t *testing.T) {
	for _, in := range []string{
		"POST /mcp HTTP/1.1\r\nhost: h:1\r\ncontent-length: 3\r\nx-Y-z: a b\r\n\r\n",
		"GET /a%20b?c HTTP/1.1\r\nHost: h\r\nAccept: */*\r\nAccept: text/event-stream\r\n\r\n",
		"POST /mcp HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n",
		"GET http://a.test/x HTTP/1.1\r\nHost: b\r\n\r\n",
	} {
		agree(t, []byte(in))
	}
}

// agree fails t if net/http reads head b differently from this parser, which accepted it.
func agree(t *testing.T, b []byte) {
	t.Helper()
	var p parser
	h, herr := p.parse(append([]byte(nil), b...))
	if herr != nil {
		return
	}
	r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(string(b))))
	if err != nil {
		t.Fatalf("accepted %q, net/http refuses it: %v", b, err)
	}
	if r.Method != h.method || r.RequestURI != h.target || r.Host != h.host || r.URL.Path != h.url.Path || r.URL.RawQuery != h.url.RawQuery {
		t.Fatalf("%q: net/http reads %s %s host %q path %q query %q; this parser %s %s host %q path %q query %q",
			b, r.Method, r.RequestURI, r.Host, r.URL.Path, r.URL.RawQuery, h.method, h.target, h.host, h.url.Path, h.url.RawQuery)
	}
	if r.ContentLength != h.length && !(h.length == 0 && r.ContentLength <= 0) {
		t.Fatalf("%q: net/http reads length %d, this parser %d", b, r.ContentLength, h.length)
	}
	if (len(r.TransferEncoding) > 0) != h.chunked {
		t.Fatalf("%q: net/http reads transfer encoding %v, this parser chunked=%v", b, r.TransferEncoding, h.chunked)
	}
	// net/http moves Host out of the fields and drops the framing fields it consumed.
	for k, vs := range h.header {
		if k == "Host" || k == "Transfer-Encoding" {
			continue
		}
		if !reflect.DeepEqual(r.Header[k], vs) {
			t.Fatalf("%q: field %s: net/http reads %q, this parser %q", b, k, r.Header[k], vs)
		}
	}
}
