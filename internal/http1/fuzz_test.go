package http1

import (
	"strings"
	"testing"
)

// FuzzParseHead feeds arbitrary heads to the parser: it must not panic, what it accepts
// must be well formed (canonical names, no line breaks or control characters in values,
// one framing), and net/http must read an accepted head the same way.
func FuzzParseHead(f *testing.F) {
	for _, s := range []string{
		"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:8787\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n",
		"GET /mcp HTTP/1.1\r\nhost: x\r\naccept: text/event-stream\r\nlast-event-id: 1-2\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
		"GET http://a.test/x?y HTTP/1.1\r\nHost: b\r\n\r\n",
		"GET / HTTP/1.0\nConnection: keep-alive\n\n",
		"OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /%41 HTTP/1.1\r\nHost: x\r\nX: \t v \t\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var p parser
		h, err := p.parse(append([]byte(nil), b...))
		if err != nil {
			if err.status < 400 || err.status > 599 || err.msg == "" {
				t.Fatalf("refusal without a status and reason: %+v", err)
			}
			return
		}
		for k, vs := range h.header {
			if !validFieldName(k) {
				t.Fatalf("accepted field name %q", k)
			}
			canon := []byte(k)
			canonicalize(canon)
			if string(canon) != k {
				t.Fatalf("field name %q not canonical", k)
			}
			for _, v := range vs {
				if !validFieldValue(v) || strings.Trim(v, " \t") != v {
					t.Fatalf("accepted field value %q", v)
				}
			}
		}
		if h.chunked && h.length != -1 || !h.chunked && h.length < 0 {
			t.Fatalf("framing: chunked %v length %d", h.chunked, h.length)
		}
		agree(t, b)
	})
}
