package bench

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestRelayCarriesHTTPBothWaysAndStops(t *testing.T) {
	for _, userCopy := range []bool{false, true} {
		t.Run(map[bool]string{false: "splice", true: "copy"}[userCopy], func(t *testing.T) { testRelay(t, userCopy) })
	}
}

func testRelay(t *testing.T, userCopy bool) {
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
	go func() { done <- Relay(ctx, ln, strings.TrimPrefix(up.URL, "http://"), userCopy) }()

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
}
