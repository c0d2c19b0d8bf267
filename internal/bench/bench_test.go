package bench

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"
)

func TestParseStat(t *testing.T) {
	// comm may contain spaces and parentheses: fields are counted after the last ')'.
	line := "4242 (gate (house) x) S 1 4242 4242 0 -1 4194560 1234 0 5 0 731 219 0 0 20 0 9 0 12345 1234567 890 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n"
	st, err := ParseStat([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	if st.UTime != 731 || st.STime != 219 || st.Ticks() != 950 {
		t.Fatalf("got %+v, want utime 731 stime 219", st)
	}
	if pp, err := ParsePPID([]byte(line)); err != nil || pp != 1 {
		t.Fatalf("ppid = %d, %v; want 1", pp, err)
	}
	for _, bad := range []string{"", "1 (x S 1 2", "1 (x) S 1 2 3", "1 (x) S 1 2 3 4 5 6 7 8 9 10 11 u s"} {
		if _, err := ParseStat([]byte(bad)); err == nil {
			t.Errorf("ParseStat(%q): no error", bad)
		}
	}
	// The live file parses too.
	if _, err := ReadStat(os.Getpid()); err != nil {
		t.Fatalf("ReadStat(self): %v", err)
	}
}

func TestParseVmRSS(t *testing.T) {
	status := "Name:\tgatehouse\nVmPeak:\t  999 kB\nVmRSS:\t   15320 kB\nRssAnon:\t 9000 kB\n"
	n, err := ParseVmRSS([]byte(status))
	if err != nil || n != 15320*1024 {
		t.Fatalf("got %d, %v; want %d", n, err, 15320*1024)
	}
	if _, err := ParseVmRSS([]byte("Name:\tkthreadd\n")); err == nil {
		t.Fatal("no VmRSS line: want an error")
	}
	if _, err := ParseVmRSS([]byte("VmRSS:\t12 parsecs\n")); err == nil {
		t.Fatal("unknown unit: want an error")
	}
	if n, err := ReadRSS(os.Getpid()); err != nil || n <= 0 {
		t.Fatalf("ReadRSS(self) = %d, %v", n, err)
	}
}

func TestParseCPUModel(t *testing.T) {
	in := "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 7B13 64-Core Processor\n"
	if got := ParseCPUModel([]byte(in)); got != "AMD EPYC 7B13 64-Core Processor" {
		t.Fatalf("got %q", got)
	}
	if got := ParseCPUModel(nil); got != "unknown" {
		t.Fatalf("got %q", got)
	}
}

func TestTicksToDuration(t *testing.T) {
	if d := TicksToDuration(250, 100); d != 2500*time.Millisecond {
		t.Fatalf("got %v", d)
	}
	if d := TicksToDuration(3, 0); d != 30*time.Millisecond {
		t.Fatalf("hz 0 means 100: got %v", d)
	}
}

func ms(n ...int) []time.Duration {
	out := make([]time.Duration, len(n))
	for i, v := range n {
		out[i] = time.Duration(v) * time.Millisecond
	}
	return out
}

func TestPercentile(t *testing.T) {
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = time.Duration(i+1) * time.Millisecond // 1..100 ms
	}
	cases := []struct {
		in   []time.Duration
		p    float64
		want time.Duration
	}{
		{nil, 50, 0},
		{ms(7), 50, 7 * time.Millisecond},
		{ms(7), 99, 7 * time.Millisecond},
		{ms(1, 2), 50, 1 * time.Millisecond}, // nearest rank: ceil(0.5*2) = 1st
		{ms(1, 2, 3, 4), 50, 2 * time.Millisecond},
		{ms(1, 2, 3, 4, 5), 50, 3 * time.Millisecond},
		{ms(1, 2, 3, 4, 5), 99, 5 * time.Millisecond},
		{ms(1, 2, 3, 4, 5), 0, 1 * time.Millisecond},
		{ms(1, 2, 3, 4, 5), 100, 5 * time.Millisecond},
		{hundred, 50, 50 * time.Millisecond},
		{hundred, 90, 90 * time.Millisecond},
		{hundred, 99, 99 * time.Millisecond},
		{hundred, 99.5, 100 * time.Millisecond},
		{hundred, 1, 1 * time.Millisecond},
	}
	for _, c := range cases {
		if got := Percentile(c.in, c.p); got != c.want {
			t.Errorf("Percentile(%d values, %v) = %v, want %v", len(c.in), c.p, got, c.want)
		}
	}
	s := Summarize(ms(5, 1, 4, 2, 3)) // unsorted in, sorted by Summarize
	if s.N != 5 || s.Min != time.Millisecond || s.Max != 5*time.Millisecond || s.P50 != 3*time.Millisecond || s.Mean != 3*time.Millisecond {
		t.Fatalf("Summarize: %+v", s)
	}
	if (Summarize(nil) != Latency{}) {
		t.Fatal("Summarize(nil) is not zero")
	}
}

// TestClientAgainstUpstream runs a few calls of both payloads against the reference upstream,
// with SSE (SDK default) and JSON responses. Counts only, no timing.
func TestClientAgainstUpstream(t *testing.T) {
	for _, jsonResp := range []bool{false, true} {
		t.Run(fmt.Sprintf("json=%v", jsonResp), func(t *testing.T) {
			stats := new(UpstreamStats)
			srv := httptest.NewServer(NewUpstreamHandler("/mcp", stats, jsonResp))
			defer srv.Close()
			cl := &Client{URL: srv.URL + "/mcp", HTTP: NewHTTPClient(4, 10*time.Second)}
			ctx := context.Background()
			for _, call := range []*CallSpec{EchoCall(""), BlobCall("")} {
				res, err := Cell{Concurrency: 2, Duration: time.Minute, Count: 10, Call: call}.Run(ctx, cl)
				if err != nil {
					t.Fatal(err)
				}
				if res.Calls != 10 || res.Errors != 0 {
					t.Fatalf("%s: %d calls, %d errors (%s)", call.Tool, res.Calls, res.Errors, res.FirstError)
				}
				if res.Bytes < int64(10*call.MinBytes) {
					t.Fatalf("%s: %d response bytes", call.Tool, res.Bytes)
				}
			}
			if got := stats.Initialized.Load(); got != 4 {
				t.Errorf("upstream saw %d initialized sessions, want 4", got)
			}
			if got := stats.Deletes.Load(); got != 4 {
				t.Errorf("upstream saw %d DELETEs, want 4", got)
			}
			// An unknown tool is an error the client reports.
			s, err := cl.Open(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close(ctx)
			if _, err := s.Call(ctx, NewCallSpec("nope", []byte(`{}`), 0)); err == nil {
				t.Error("unknown tool: no error")
			}
		})
	}
}

func TestClientHTTPError(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no", http.StatusForbidden)
	}))
	defer srv.Close()
	cl := &Client{URL: srv.URL, HTTP: NewHTTPClient(1, 5*time.Second)}
	if _, err := cl.Open(context.Background()); err == nil {
		t.Fatal("want an error")
	}
}
