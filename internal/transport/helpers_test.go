package transport

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestOriginMatches(t *testing.T) {
	for _, tc := range []struct {
		pattern, origin string
		want            bool
	}{
		{"*", "https://anything.example", true},
		{"http://localhost:*", "http://localhost:3000", true},
		{"http://localhost:*", "http://localhost", true},
		{"http://localhost:*", "http://LOCALHOST:1", true},
		{"http://localhost:*", "http://localhost:80.evil.com", false},
		{"http://localhost:*", "http://localhost.evil.com", false},
		{"http://localhost:*", "http://localhost.evil.com:80", false},
		{"http://localhost:*", "http://evil.com/localhost:80", false},
		{"http://localhost:*", "http://localhost@evil.com", false},
		{"http://localhost:*", "https://localhost:3000", false},
		{"http://localhost:*", "null", false},
		{"http://localhost:*", "", false},
		{"http://localhost:*", "localhost:3000", false},
		{"http://localhost:3000", "http://localhost:3000", true},
		{"http://localhost:3000", "http://localhost:3001", false},
		{"http://localhost:3000", "http://localhost", false},
		{"https://app.example.com", "https://app.example.com", true},
		{"https://app.example.com", "https://APP.example.com", true},
		{"https://app.example.com", "HTTPS://app.example.com", true},
		{"https://app.example.com", "http://app.example.com", false},
		{"https://app.example.com", "https://app.example.com:8443", false},
		{"https://app.example.com", "https://app.example.com.evil.com", false},
		{"https://*.example.com", "https://a.example.com", true},
		{"https://*.example.com", "https://a.b.example.com", true},
		{"https://*.example.com", "https://example.com", false},
		{"https://*.example.com", "https://evilexample.com", false},
		{"https://*.example.com", "https://a.example.com.evil.com", false},
		{"https://*.example.com", "http://a.example.com", false},
		{"https://*.example.com", "https://a.example.com:444", false},
		{"https://*.example.com:*", "https://a.example.com:444", true},
		{"https://*.example.com:*", "https://example.com:444", false},
		{"https://a*.example.com", "https://ab.example.com", false},
	} {
		if got := originMatches(tc.pattern, tc.origin); got != tc.want {
			t.Errorf("originMatches(%q, %q) = %v, want %v", tc.pattern, tc.origin, got, tc.want)
		}
	}
}

func TestIsLoopbackName(t *testing.T) {
	for host, want := range map[string]bool{
		"localhost":            true,
		"LocalHost":            true,
		"app.localhost":        true,
		"127.0.0.1":            true,
		"127.9.9.9":            true,
		"::1":                  true,
		"::ffff:127.0.0.1":     true,
		"0.0.0.0":              false,
		"10.0.0.1":             false,
		"example.com":          false,
		"localhost.evil.com":   false,
		"127.0.0.1.evil.com":   false,
		"evil-localhost":       false,
		"":                     false,
		"[::1]":                false, // brackets are stripped by the caller
		"localhost:80":         false, // the port too
		"2130706433":           false, // 127.0.0.1 as a number is not a name we accept
		"xn--localhost-123.io": false,
	} {
		if got := isLoopbackName(host); got != want {
			t.Errorf("isLoopbackName(%q) = %v, want %v", host, got, want)
		}
	}
}

func TestAcceptsAll(t *testing.T) {
	both := []string{"application/json", "text/event-stream"}
	for _, tc := range []struct {
		accept []string
		types  []string
		want   bool
	}{
		{[]string{"application/json, text/event-stream"}, both, true},
		{[]string{"text/event-stream,application/json"}, both, true},
		{[]string{"application/json", "text/event-stream"}, both, true},
		{[]string{"application/json;q=0.9, text/event-stream;q=0.8"}, both, true},
		{[]string{" application/json ; charset=utf-8 , text/event-stream "}, both, true},
		{[]string{"*/*"}, both, true},
		{[]string{"application/*, text/*"}, both, true},
		{[]string{"application/json"}, both, false},
		{[]string{"text/event-stream"}, both, false},
		{[]string{"application/*"}, both, false},
		{nil, both, false},
		{[]string{""}, both, false},
		{[]string{"application/jsonx, text/event-stream"}, both, false},
		{[]string{"text/event-stream"}, []string{"text/event-stream"}, true},
		{[]string{"text/*"}, []string{"text/event-stream"}, true},
		{[]string{"texts/*"}, []string{"text/event-stream"}, false},
	} {
		r, _ := http.NewRequest("POST", "http://127.0.0.1/", nil)
		for _, a := range tc.accept {
			r.Header.Add("Accept", a)
		}
		if got := acceptsAll(r, tc.types...); got != tc.want {
			t.Errorf("acceptsAll(%q, %v) = %v, want %v", tc.accept, tc.types, got, tc.want)
		}
	}
}

// Media types are case-insensitive (RFC 9110 §8.3.1), and q=0 means "not acceptable"
// (§12.4.2). acceptsAll (http.go) compares case-sensitively and ignores q.
func TestAcceptsAllRFC9110(t *testing.T) {
	both := []string{"application/json", "text/event-stream"}
	for _, tc := range []struct {
		accept string
		want   bool
	}{
		{"Application/JSON, Text/Event-Stream", true},
		{"application/json, text/event-stream;q=0", false},
	} {
		r, _ := http.NewRequest("POST", "http://127.0.0.1/", nil)
		r.Header.Set("Accept", tc.accept)
		if got := acceptsAll(r, both...); got != tc.want {
			t.Errorf("BUG (minor): acceptsAll(%q) = %v, want %v", tc.accept, got, tc.want)
		}
	}
}

func TestParseEventID(t *testing.T) {
	for _, tc := range []struct {
		in     string
		stream string
		seq    uint64
		ok     bool
	}{
		{"abc_12", "abc", 12, true},
		{"a_b_3", "a_b", 3, true},
		{"abc_0", "abc", 0, true},
		{"_5", "", 0, false},
		{"abc", "", 0, false},
		{"abc_", "", 0, false},
		{"abc_x", "", 0, false},
		{"abc_-1", "", 0, false},
		{"abc_+1", "", 0, false},
		{"abc_18446744073709551616", "", 0, false},
		{"", "", 0, false},
	} {
		s, n, ok := parseEventID(tc.in)
		if s != tc.stream || n != tc.seq || ok != tc.ok {
			t.Errorf("parseEventID(%q) = %q, %d, %v", tc.in, s, n, ok)
		}
	}
	es := newEventStream("0123abcd", 4)
	s, n, ok := parseEventID(es.eventID(77))
	if !ok || s != "0123abcd" || n != 77 {
		t.Errorf("round trip: %q %d %v", s, n, ok)
	}
}

func seqs(evs []event) []uint64 {
	var out []uint64
	for _, e := range evs {
		out = append(out, e.seq)
	}
	return out
}

func TestEventStreamRing(t *testing.T) {
	es := newEventStream("s", 3)
	for i := 1; i <= 5; i++ {
		if err := es.Send(fmt.Appendf(nil, "m%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	evs, done := es.after(0)
	if done || !slices.Equal(seqs(evs), []uint64{3, 4, 5}) {
		t.Fatalf("after(0) = %v, %v; want the last 3", seqs(evs), done)
	}
	if string(evs[0].data) != "m3" || string(evs[2].data) != "m5" {
		t.Fatalf("data %q %q", evs[0].data, evs[2].data)
	}
	if evs, _ := es.after(4); !slices.Equal(seqs(evs), []uint64{5}) {
		t.Fatalf("after(4) = %v", seqs(evs))
	}
	if evs, _ := es.after(5); len(evs) != 0 {
		t.Fatalf("after(5) = %v", seqs(evs))
	}
	if err := es.push([]byte("final"), true); err != nil {
		t.Fatal(err)
	}
	evs, done = es.after(5)
	if !done || len(evs) != 1 || string(evs[0].data) != "final" {
		t.Fatalf("after final: %v %v", seqs(evs), done)
	}
	if err := es.Send([]byte("late")); !errors.Is(err, errStreamClosed) {
		t.Fatalf("Send after final: %v", err)
	}
	if evs, _ := es.after(0); len(evs) != 3 {
		t.Fatalf("ring grew to %d", len(evs))
	}
}

func TestEventStreamClose(t *testing.T) {
	es := newEventStream("s", 0)
	if es.max != 256 {
		t.Fatalf("default max %d", es.max)
	}
	es.Send([]byte("a"))
	es.close()
	if err := es.Send([]byte("b")); !errors.Is(err, errStreamClosed) {
		t.Fatalf("Send after close: %v", err)
	}
	evs, done := es.after(0)
	if !done || len(evs) != 1 {
		t.Fatalf("after close: %v %v", seqs(evs), done)
	}
	select {
	case <-es.wake:
	default:
		t.Fatal("close did not wake a writer")
	}
}

func TestEventStreamSendNeverBlocks(t *testing.T) {
	es := newEventStream("s", 8)
	done := make(chan struct{})
	go func() {
		defer close(done)
		var wg sync.WaitGroup
		for w := 0; w < 4; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < 1000; i++ {
					es.Send([]byte("x"))
				}
			}()
		}
		wg.Wait()
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Send blocked with nobody reading")
	}
	evs, _ := es.after(0)
	if len(evs) != 8 || evs[7].seq != 4000 {
		t.Fatalf("kept %d events, last seq %d", len(evs), evs[len(evs)-1].seq)
	}
	for i := 1; i < len(evs); i++ {
		if evs[i].seq != evs[i-1].seq+1 {
			t.Fatalf("seqs not contiguous: %v", seqs(evs))
		}
	}
}

func TestEventStreamAttachAndDelivered(t *testing.T) {
	es := newEventStream("s", 4)
	if !es.attach() {
		t.Fatal("first attach refused")
	}
	if es.attach() {
		t.Fatal("second attach accepted")
	}
	gen, _ := es.current()
	es.detach(gen)
	if !es.attach() {
		t.Fatal("attach after detach refused")
	}
	// A resuming connection takes the stream over: the old writer is told to stop, and its
	// late detach does not release the new one.
	old, oldStop := es.current()
	newGen, _ := es.takeover()
	select {
	case <-oldStop:
	default:
		t.Fatal("takeover did not stop the old writer")
	}
	es.detach(old)
	if es.attach() {
		t.Fatal("the old writer's detach released the new writer's stream")
	}
	es.detach(newGen)
	es.markSent(3)
	es.markSent(2)
	if es.delivered() != 3 {
		t.Fatalf("delivered %d", es.delivered())
	}
	if !strings.HasPrefix(es.eventID(3), "s_") {
		t.Fatalf("event id %q", es.eventID(3))
	}
}
