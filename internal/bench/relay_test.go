package bench

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestRelayCarriesHTTPBothWaysAndStops(t *testing.T) {
	for _, mode := range []string{"splice", "copy", "durable"} {
		t.Run(mode, func(t *testing.T) { testRelay(t, mode) })
	}
}

func testRelay(t *testing.T, mode string) {
	var log *DurableLog
	logPath := filepath.Join(t.TempDir(), "log")
	if mode == "durable" {
		var err error
		if log, err = OpenDurableLog(logPath, 4<<20); err != nil {
			t.Fatal(err)
		}
	}
	big := strings.Repeat("0123456789abcdef", 16<<10) // 256 KiB: several buffers' worth
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Write([]byte("got " + string(b)))
	}))
	defer up.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Relay(ctx, ln, strings.TrimPrefix(up.URL, "http://"), mode != "splice", log) }()

	cl := &http.Client{Transport: &http.Transport{}}
	for i, body := range []string{"ping", big, "pong"} { // keep-alive: several requests on one relayed connection
		resp, err := cl.Post("http://"+ln.Addr().String()+"/x", "text/plain", strings.NewReader(body))
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(b) != "got "+body {
			t.Fatalf("request %d: body of %d bytes, want %d", i, len(b), len(body)+4)
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Relay: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Relay did not return after its context ended (an idle keep-alive connection kept it)")
	}
	if log != nil {
		if err := log.Close(); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(logPath)
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"POST /x", "ping", "pong", big[:1000]} {
			if !bytes.Contains(b, []byte(want)) {
				t.Errorf("the durable log lacks the request's %.40q", want)
			}
		}
		for _, resp := range []string{"got ping", "got pong", "HTTP/1.1 200"} {
			if bytes.Contains(b, []byte(resp)) {
				t.Errorf("the durable log holds the response's %q, not only its digest", resp)
			}
		}
	}
}

// TestDurableLogChainsWhatItWrites: every appended record is in the file, followed by the
// SHA-256 of the previous hash and itself, in append order, and a waited append returns
// only after its batch was written.
func TestDurableLogChainsWhatItWrites(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log")
	l, err := OpenDurableLog(path, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	var recs [][]byte
	for i := range 50 {
		r := []byte(fmt.Sprintf("record %02d", i))
		recs = append(recs, r)
		if err := l.Append(r, i%2 == 0); err != nil {
			t.Fatal(err)
		}
		if i%2 == 0 {
			b, _ := os.ReadFile(path)
			if !bytes.Contains(b, r) {
				t.Fatalf("append %d returned before its record was written", i)
			}
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	var prev [sha256.Size]byte
	for i, r := range recs {
		if !bytes.HasPrefix(b, r) {
			t.Fatalf("record %d: file has %.20q", i, b)
		}
		prev = sha256.Sum256(append(prev[:], r...))
		if !bytes.HasPrefix(b[len(r):], prev[:]) {
			t.Fatalf("record %d: chain hash differs", i)
		}
		b = b[len(r)+sha256.Size:]
	}
}

// TestDurableRelayRecordsEachMCPCall: through the durable relay, each MCP call from the load
// client is one record made durable before it is forwarded (the request arrives in one
// chunk), and its response is recorded without waiting; the benchmark's audit floor counts
// on this shape.
func TestDurableRelayRecordsEachMCPCall(t *testing.T) {
	up := httptest.NewServer(NewUpstreamHandler("/mcp", nil, false))
	defer up.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	log, err := OpenDurableLog(filepath.Join(t.TempDir(), "log"), 4<<20)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Relay(ctx, ln, strings.TrimPrefix(up.URL, "http://"), true, log) }()
	c := &Client{URL: "http://" + ln.Addr().String() + "/mcp", HTTP: NewHTTPClient(8, 10*time.Second)}
	s, err := c.Open(ctx)
	if err != nil {
		t.Fatal(err)
	}
	all0, waited0 := log.Records()
	const calls = 50
	for range calls {
		if _, err := s.Call(ctx, EchoCall("")); err != nil {
			t.Fatal(err)
		}
	}
	all, waited := log.Records()
	if w := waited - waited0; w != calls {
		t.Errorf("%d calls made %d durable records before forwarding, want one each", calls, w)
	}
	if n := all - all0 - (waited - waited0); n < calls {
		t.Errorf("%d calls left %d response records, want at least one each", calls, n)
	}
	t.Logf("%d calls: %d records (%d waited for)", calls, all-all0, waited-waited0)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := log.Close(); err != nil {
		t.Fatal(err)
	}
}
