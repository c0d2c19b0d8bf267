package audit

import (
	"bytes"
	"encoding/json"
	"math"
	"testing"
	"time"
)

// TestBodyMatchesEncodingJSON: the hand-written body is json.Marshal's, byte for byte, for
// records of every kind and for the values that need escaping, compacting or refusing.
func TestBodyMatchesEncodingJSON(t *testing.T) {
	at := time.Date(2026, 12, 6, 7, 8, 9, 123456789, time.FixedZone("CET", 3600))
	full := Record{Seq: 42, Chain: "gw-1", Time: at, Kind: KindOutcome, Ref: 41, Subject: "alice", Tenant: "acme",
		ClientID: "cli", Roles: []string{"dev", "ops"}, AuthMethod: "jwt", Session: "0123abcd", Remote: "127.0.0.1:5000",
		Method: "tools/call", Server: "fs", Target: "read_file", Arguments: json.RawMessage(`{"path":"hmac-sha256:00ff"}`),
		Decision: "allow", Rules: []string{"role:dev"}, Reason: "ok", Findings: []string{"secret:aws-access-key"},
		Outcome: "result", ErrorCode: -32603, LatencyMs: 1.25, ResponseBytes: 2048, ResponseDigest: "hmac-sha256:ab",
		Result: json.RawMessage(`{"n":1}`), Event: "reload", Detail: json.RawMessage(`[1,2]`), Prev: Genesis, Hash: "ignored"}
	cases := map[string]Record{
		"full":              full,
		"empty":             {},
		"request":           {Seq: 1, Chain: "c", Time: at, Kind: KindRequest, Subject: "s", Prev: Genesis},
		"escapes":           {Kind: "a\"b\\c", Subject: "<script>&</script>", Reason: "line\nbreak\ttab\x00\x1f\x7f", Target: "é ü 日本 \u2028\u2029", Remote: "bad\xffutf8"},
		"roles escaped":     {Roles: []string{"a<b", "", "c"}, Findings: []string{}},
		"raw not compact":   {Arguments: json.RawMessage("{ \"a\" : [1, 2],\n\"b\":\"x y\" }")},
		"raw with html":     {Result: json.RawMessage(`{"h":"<b>&amp;</b>","l":"\u2028"}`), Detail: json.RawMessage("\"\xe2\x80\xa8\"")},
		"raw scalar":        {Detail: json.RawMessage(`null`), Arguments: json.RawMessage(`"s"`)},
		"small float":       {LatencyMs: 0.0000001},
		"tiny float":        {LatencyMs: 1e-9},
		"large float":       {LatencyMs: 1e21},
		"negative":          {LatencyMs: -3.5, ErrorCode: -1, Ref: -7, ResponseBytes: -2, Seq: -9},
		"whole float":       {LatencyMs: 3},
		"zero time":         {Time: time.Time{}},
		"monotonic":         {Time: time.Now()},
		"year 10000":        {Time: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)},
		"nanoseconds trail": {Time: time.Date(2026, 1, 1, 0, 0, 0, 100, time.UTC)},
	}
	for name, r := range cases {
		t.Run(name, func(t *testing.T) { sameBody(t, &r) })
	}
	for name, raw := range map[string]string{"invalid": `{"a":`, "trailing": `{} x`} {
		t.Run("refuses "+name, func(t *testing.T) {
			r := Record{Arguments: json.RawMessage(raw)}
			if _, err := appendBody(nil, &r); err == nil {
				t.Fatal("invalid JSON was accepted")
			}
		})
	}
	for _, f := range []float64{math.NaN(), math.Inf(1)} {
		if _, err := appendBody(nil, &Record{LatencyMs: f}); err == nil {
			t.Errorf("latency %v was accepted", f)
		}
	}
}

// FuzzBody: for any field values, the hand-written body and encoding/json agree (both
// refuse, or both write the same bytes).
func FuzzBody(f *testing.F) {
	f.Add("alice", "<b>", []byte(`{"a":1}`), []byte(`[ 1 ]`), 1.5, int64(3), "x\xff")
	f.Add("", "\u2028", []byte(`nul`), []byte(nil), 1e-7, int64(-1), "")
	f.Fuzz(func(t *testing.T, subject, reason string, args, result []byte, latency float64, ref int64, role string) {
		r := Record{Seq: ref, Chain: subject, Time: time.Unix(ref, ref).UTC(), Kind: KindRequest, Ref: ref, Subject: subject,
			Reason: reason, Roles: []string{role, subject}, Arguments: args, Result: result, LatencyMs: latency, Prev: role}
		sameBody(t, &r)
	})
}

// sameBody fails unless the hand-written body of r is encoding/json's: both refuse, or both
// write the same bytes.
func sameBody(t *testing.T, r *Record) {
	t.Helper()
	want, werr := marshalBody(nil, r)
	got, gerr := appendBody(nil, r)
	if (werr != nil) != (gerr != nil) {
		t.Fatalf("error %v, encoding/json's %v", gerr, werr)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("body differs from encoding/json's:\n got %s\nwant %s", got, want)
	}
}

func BenchmarkBody(b *testing.B) {
	v := NewValuer(make([]byte, 32), nil, "")
	r := &Record{Seq: 1, Chain: "bench", Time: time.Now(), Kind: KindRequest, Subject: "bench", Session: "0123456789abcdef0123456789abcdef",
		Remote: "127.0.0.1", Method: "tools/call", Server: "up", Target: "echo", Decision: "allow", Rules: []string{"role:bench"},
		Arguments: v.Arguments("up", "echo", []byte(`{"text":"0123456789"}`)), Prev: Genesis}
	b.Run("encoding-json", func(b *testing.B) {
		for b.Loop() {
			marshalBody(nil, r)
		}
	})
	b.Run("appendBody", func(b *testing.B) {
		for b.Loop() {
			r.body()
		}
	})
}
