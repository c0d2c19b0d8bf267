package audit

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"strings"
	"testing"
)

// FuzzReadExport: an export (or anything claiming to be one) is parsed and verified without
// panicking, and a verified chain's records really do chain.
func FuzzReadExport(f *testing.F) {
	m := NewMemory()
	_, key, _ := generateKey()
	m.Append(context.Background(), "c", []*Record{{Kind: KindRequest, Subject: "a"}, {Kind: KindOutcome, Ref: 1}})
	cp := Checkpoint{Chain: "c", Seq: 2}
	_, cp.Head, _ = m.Head(context.Background(), "c")
	cp.Sign(key)
	m.AddCheckpoint(context.Background(), cp)
	var buf bytes.Buffer
	Export(context.Background(), m, &buf)
	f.Add(buf.Bytes())
	f.Add([]byte(`{"type":"record","chain":"c","seq":1,"record":{},"hash":"x"}` + "\n"))
	f.Add([]byte("{}\n{\n"))
	pub := key.Public().(ed25519.PublicKey)
	f.Fuzz(func(t *testing.T, data []byte) {
		mem, err := ReadExport(bytes.NewReader(data))
		if err != nil {
			return
		}
		reps, err := Verify(context.Background(), mem, pub, nil)
		if err != nil {
			return
		}
		for _, r := range reps {
			if !r.OK {
				continue
			}
			prev := Genesis
			mem.Scan(context.Background(), r.Chain, func(seq int64, body []byte, hash string) error {
				if r.PrunedThrough == 0 && chainHash(prev, body) != hash {
					t.Fatalf("chain %q verified, but record %d does not chain", r.Chain, seq)
				}
				prev = hash
				return nil
			})
		}
	})
}

// FuzzReadCheckpoints: the external checkpoint file parser never panics.
func FuzzReadCheckpoints(f *testing.F) {
	f.Add([]byte(`{"chain":"c","seq":1,"head":"ab","time":"2026-11-25T00:00:00Z","sig":"AA=="}` + "\n"))
	f.Add([]byte("not json\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ReadCheckpoints(bytes.NewReader(data))
	})
}

// FuzzValuerArguments: whatever arguments arrive, a value the rules hash never appears in
// clear, and the output is JSON.
func FuzzValuerArguments(f *testing.F) {
	// No clear rules: whatever the input, no value may come out readable.
	v := NewValuer(make([]byte, 32), []FieldRule{{Path: "drop", Mode: ModeOmit}}, "")
	f.Add([]byte(`{"keep":"a","drop":"b","secret":"s3cr3t-value","n":[1,{"x":"s3cr3t-value"}]}`))
	f.Add([]byte(`"just a string s3cr3t-value"`))
	f.Add([]byte(`{`))
	f.Fuzz(func(t *testing.T, data []byte) {
		out := v.Arguments("s", "t", data)
		if out == nil {
			return
		}
		var doc any
		if err := json.Unmarshal(out, &doc); err != nil {
			t.Fatalf("not JSON: %s -> %s", data, out)
		}
		// Keys (the arguments' structure) stay; every leaf value must be a keyed hash.
		var walk func(any)
		walk = func(x any) {
			switch y := x.(type) {
			case map[string]any:
				for _, e := range y {
					walk(e)
				}
			case []any:
				for _, e := range y {
					walk(e)
				}
			case string:
				if !strings.HasPrefix(y, "hmac-sha256:") {
					t.Fatalf("a value kept in clear: %s -> %s", data, out)
				}
			default:
				t.Fatalf("a non-string leaf kept in clear: %s -> %s", data, out)
			}
		}
		walk(doc)
	})
}

// FuzzValuerFastPath: the one-pass path for the default configuration gives exactly the bytes
// of the general path (decode, walk, encode), or steps aside. A rule that only restates the
// default forces the general path for comparison.
func FuzzValuerFastPath(f *testing.F) {
	key := []byte("0123456789abcdef0123456789abcdef")
	fast := NewValuer(key, nil, "")
	general := NewValuer(key, []FieldRule{{Path: "\x00none", Mode: ModeHash}}, "")
	for _, s := range []string{
		`{"text":"hello","n":42,"ok":true,"x":null}`,
		`{"b":{"z":[1,2,{"y":"é"}],"a":-1.5e3},"a":[]}`,
		`{ "a b":1, "a":2, "a!":3 }`,
		`{"esc":"a\"b","lt":"<"}`,
		`{"a":1,"a":2}`,
		`[1,"two",{"three":3}]`,
		`"top"`,
		`{"n":01}`,
		`{"s":"\u2028"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if bytes.Count(data, []byte("["))+bytes.Count(data, []byte("{")) > 512 {
			return // deeper than a gateway message may be (jsonrpc's limit)
		}
		got, want := fast.Arguments("s", "t", data), general.Arguments("s", "t", data)
		if !bytes.Equal(got, want) {
			t.Fatalf("%q: fast path %s, general path %s", data, got, want)
		}
	})
}

// The fast path takes the common shapes itself.
func TestValuerFastPathTakesCommonArguments(t *testing.T) {
	v := NewValuer([]byte("k"), nil, "")
	for _, s := range []string{
		`{"text":"0123456789","n":1}`,
		`{"path":"/tmp/a.txt","options":{"recursive":true,"depth":3,"exclude":["*.log","node_modules"]}}`,
		`{}`,
	} {
		if _, ok := v.argsFast([]byte(s)); !ok {
			t.Errorf("%s: the fast path stepped aside", s)
		}
	}
}
