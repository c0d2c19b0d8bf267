package gateway

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestMetaVersion(t *testing.T) {
	for _, tc := range []struct {
		params string
		want   string
		ok     bool
	}{
		{`{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}`, "2026-07-28", true},
		{`{"_meta":{"io.modelcontextprotocol/protocolVersion":"2025-11-25","x":1},"name":"t"}`, "2025-11-25", true},
		{`{"_meta":{}}`, "", false},
		{`{}`, "", false},
		{`{"_meta":"nope"}`, "", false},
		{`{"_meta":{"io.modelcontextprotocol/protocolVersion":7}}`, "", false},
		{``, "", false},
	} {
		got, ok := MetaVersion([]byte(tc.params))
		if got != tc.want || ok != tc.ok {
			t.Errorf("MetaVersion(%s) = %q, %v; want %q, %v", tc.params, got, ok, tc.want, tc.ok)
		}
	}
	if !IsModernVersion("2026-07-28") || !IsModernVersion("2027-01-01") || IsModernVersion("2025-11-25") {
		t.Error("IsModernVersion")
	}
}

func TestNameHeader(t *testing.T) {
	for _, tc := range []struct {
		method, params, want string
		needs                bool
	}{
		{"tools/call", `{"name":"a__x","arguments":{}}`, "a__x", true},
		{"prompts/get", `{"name":"p"}`, "p", true},
		{"resources/read", `{"uri":"file:///a b"}`, "file:///a b", true},
		{"tools/call", `{}`, "", true},
		{"tools/list", `{"name":"x"}`, "", false},
		{"ping", ``, "", false},
	} {
		got, needs := NameHeader(tc.method, []byte(tc.params))
		if got != tc.want || needs != tc.needs {
			t.Errorf("NameHeader(%s, %s) = %q, %v", tc.method, tc.params, got, needs)
		}
	}
}

func TestHeaderValue(t *testing.T) {
	for _, tc := range []struct {
		in    string
		plain bool
	}{
		{"a__x", true},
		{"file:///tmp/x?y=1", true},
		{"", true},
		{"with space inside", true},
		{" leading", false},
		{"trailing ", false},
		{"café", false},
		{"line\nbreak", false},
		{"tab\there", false},
		{"=?base64?abc?=", false},
		{"=?base64?", false},
		{"\x7f", false},
		{"日本語", false},
	} {
		enc := EncodeHeaderValue(tc.in)
		if (enc == tc.in) != tc.plain {
			t.Errorf("EncodeHeaderValue(%q) = %q; plain=%v", tc.in, enc, tc.plain)
		}
		if !tc.plain && (!strings.HasPrefix(enc, "=?base64?") || !strings.HasSuffix(enc, "?=")) {
			t.Errorf("EncodeHeaderValue(%q) = %q: not the base64 form", tc.in, enc)
		}
		dec, ok := DecodeHeaderValue(enc)
		if !ok || dec != tc.in {
			t.Errorf("round trip %q → %q → %q, %v", tc.in, enc, dec, ok)
		}
	}
	for _, bad := range []string{"=?base64?abc", "=?base64?!!!?=", "=?base64?YQ?="} {
		if _, ok := DecodeHeaderValue(bad); ok {
			t.Errorf("DecodeHeaderValue(%q) accepted", bad)
		}
	}
	if v, ok := DecodeHeaderValue("=?base64?Y2Fmw6k=?="); !ok || v != "café" {
		t.Errorf("decode café: %q %v", v, ok)
	}
}

func FuzzHeaderValue(f *testing.F) {
	for _, s := range []string{"", "a__x", " x", "x ", "café", "=?base64?", "=?base64?YQ==?=", "\x00", "a\r\nb", "\xff\xfe", "?="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		enc := EncodeHeaderValue(s)
		dec, ok := DecodeHeaderValue(enc)
		if !ok || dec != s {
			t.Fatalf("round trip %q → %q → %q, %v", s, enc, dec, ok)
		}
		// What goes into a header is visible ASCII (or space) only.
		for i := 0; i < len(enc); i++ {
			if c := enc[i]; c < 0x20 || c > 0x7e {
				t.Fatalf("EncodeHeaderValue(%q) = %q has byte %#x", s, enc, c)
			}
		}
		if enc != s && !utf8.ValidString(enc) {
			t.Fatalf("invalid encoding %q", enc)
		}
		// Decoding arbitrary input never panics.
		DecodeHeaderValue(s)
	})
}

func TestStripModernMeta(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`{"name":"x","_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{},"io.modelcontextprotocol/clientInfo":{"name":"c"},"io.modelcontextprotocol/logLevel":"info"}}`, `{"name":"x"}`},
		{`{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","progressToken":5},"name":"x"}`, `{"_meta":{"progressToken":5},"name":"x"}`},
		{`{"name":"x"}`, `{"name":"x"}`},
		{`{"_meta":{}}`, `{}`},
		{`{"_meta":null,"a":1}`, `{"_meta":null,"a":1}`},
		{`{"a":1,"_meta":{"progressToken":"t"}}`, `{"a":1,"_meta":{"progressToken":"t"}}`},
	} {
		if got := stripModernMeta([]byte(tc.in)); string(got) != tc.want {
			t.Errorf("stripModernMeta(%s)\n got %s\nwant %s", tc.in, got, tc.want)
		}
	}
	if got := stripModernMeta(nil); got != nil {
		t.Errorf("nil params → %s", got)
	}
}

func TestModernize(t *testing.T) {
	g := &Gateway{name: "gh", version: "9"}
	const info = `"_meta":{"io.modelcontextprotocol/serverInfo":{"name":"gh","version":"9"}}`
	for _, tc := range []struct{ method, in, want string }{
		{"tools/call", `{"jsonrpc":"2.0","id":1,"result":{"content":[]}}`,
			`{"jsonrpc":"2.0","id":1,"result":{"content":[],"resultType":"complete",` + info + `}}`},
		{"tools/list", `{"jsonrpc":"2.0","id":"a","result":{"tools":[]}}`,
			`{"jsonrpc":"2.0","id":"a","result":{"tools":[],"resultType":"complete","ttlMs":0,"cacheScope":"private",` + info + `}}`},
		{"resources/read", `{"jsonrpc":"2.0","id":1,"result":{"contents":[],"ttlMs":500,"cacheScope":"public","resultType":"complete"}}`,
			`{"jsonrpc":"2.0","id":1,"result":{"contents":[],"ttlMs":500,"cacheScope":"public","resultType":"complete",` + info + `}}`},
		{"tools/call", `{"jsonrpc":"2.0","id":1,"error":{"code":-32002,"message":"resource not found"}}`,
			`{"jsonrpc":"2.0","id":1,"error":{"code":-32602,"message":"resource not found"}}`},
		{"tools/call", `{"jsonrpc":"2.0","id":1,"error":{"code":-32601,"message":"nope"}}`,
			`{"jsonrpc":"2.0","id":1,"error":{"code":-32601,"message":"nope"}}`},
		{"tools/call", `{"jsonrpc":"2.0","id":1,"result":{"resultType":"input_required","_meta":{"io.modelcontextprotocol/serverInfo":{"name":"up"}}}}`,
			`{"jsonrpc":"2.0","id":1,"result":{"resultType":"input_required","_meta":{"io.modelcontextprotocol/serverInfo":{"name":"up"}}}}`},
		{"tools/call", `not json`, `not json`},
		{"ping", `{"jsonrpc":"2.0","id":1,"result":[]}`, `{"jsonrpc":"2.0","id":1,"result":[]}`},
	} {
		if got := g.modernize(tc.method, []byte(tc.in)); string(got) != tc.want {
			t.Errorf("modernize(%s, %s)\n got %s\nwant %s", tc.method, tc.in, got, tc.want)
		}
	}
	// Unknown members of _meta survive.
	got := g.modernize("tools/call", []byte(`{"jsonrpc":"2.0","id":1,"result":{"_meta":{"x":1}}}`))
	if !bytes.Contains(got, []byte(`"x":1`)) || !bytes.Contains(got, []byte("serverInfo")) {
		t.Errorf("modernize lost _meta: %s", got)
	}
}
