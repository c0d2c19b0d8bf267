package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gatehouse/internal/app"
	"gatehouse/internal/bench"
	"gatehouse/internal/config"
)

// In-process benchmarks: the reference upstream on httptest (127.0.0.1), the gateway built by
// internal/app from a generated configuration and served by app.ServeHTTP on 127.0.0.1:0, and
// the raw load client; direct and through the gateway, side by side.
//
//	go test -run '^$' -bench . ./cmd/gatehouse-bench/
//	go test -run '^$' -bench 'Call/echo/gateway' -benchtime 10s -cpuprofile cpu.out ./cmd/gatehouse-bench/
//	go tool pprof -top -tagfocus role=gateway cmd/gatehouse-bench/gatehouse-bench.test cpu.out
//
// Goroutines carry a pprof label role=upstream|gateway|client (labels are inherited by the
// goroutines they start: the gateway's HTTP server, its connections, its upstream client), so a
// CPU profile can be split by role. GC background work is not labelled.

var benchConc = flag.Int("bench.conc", 8, "concurrency (sessions) of the in-process benchmarks")

var benchInspect = flag.Bool("bench.inspect", false, "turn content inspection on in the in-process gateway")

type env struct {
	upstreamURL string
	gatewayURL  string
	direct      *bench.Client
	gateway     *bench.Client
}

var (
	envOnce sync.Once
	theEnv  *env
	envErr  error
)

func setup(b *testing.B) *env {
	b.Helper()
	envOnce.Do(func() { theEnv, envErr = newEnv() })
	if envErr != nil {
		b.Fatal(envErr)
	}
	return theEnv
}

func newEnv() (*env, error) {
	e := &env{}
	var up *httptest.Server
	pprof.Do(context.Background(), pprof.Labels("role", "upstream"), func(context.Context) {
		up = httptest.NewServer(bench.NewUpstreamHandler("/mcp", nil, false))
	})
	e.upstreamURL = up.URL + "/mcp"

	dir, err := os.MkdirTemp("", "gatehouse-bench-test-")
	if err != nil {
		return nil, err
	}
	cfgPath := filepath.Join(dir, "gatehouse.yaml")
	cfgText := fmt.Sprintf(`listen:
  address: 127.0.0.1:0
  path: /mcp
limits:
  max_sessions: 4096
  max_sessions_per_client: 4096
log:
  level: warn
audit:
  enabled: false
inspection:
  enabled: %t
identity:
  anonymous: {roles: [bench]}
policy:
  roles:
    bench:
      - tools: ["*"]
upstreams:
  - name: up
    transport: streamable_http
    url: %q
`, *benchInspect, e.upstreamURL)
	if err := os.WriteFile(cfgPath, []byte(cfgText), 0o600); err != nil {
		return nil, err
	}
	cfg, err := config.Load(cfgPath)
	if err != nil {
		return nil, err
	}
	a, err := app.New(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		return nil, err
	}
	a.Start()
	ready := make(chan net.Addr, 1)
	failed := make(chan error, 1)
	go pprof.Do(context.Background(), pprof.Labels("role", "gateway"), func(ctx context.Context) {
		if err := a.ServeHTTP(ctx, func(addr net.Addr) { ready <- addr }); err != nil {
			failed <- err
		}
	})
	select {
	case addr := <-ready:
		e.gatewayURL = "http://" + addr.String() + "/mcp"
	case err := <-failed:
		return nil, err
	case <-time.After(10 * time.Second):
		return nil, fmt.Errorf("gateway did not start")
	}
	// The listener is bound before ready is called; Serve may start a moment later, which the
	// client's dial tolerates (the kernel queues the connection).
	e.direct = &bench.Client{URL: e.upstreamURL, HTTP: bench.NewHTTPClient(*benchConc+8, 30*time.Second)}
	e.gateway = &bench.Client{URL: e.gatewayURL, HTTP: bench.NewHTTPClient(*benchConc+8, 30*time.Second)}
	return e, nil
}

// BenchmarkCall: ns/op is wall time per call at the given concurrency (1e9/ns-op = calls/s);
// p50-µs and p99-µs are per-call latencies.
func BenchmarkCall(b *testing.B) {
	for _, payload := range []string{"echo", "blob"} {
		for _, path := range []string{"direct", "gateway"} {
			b.Run(payload+"/"+path, func(b *testing.B) {
				e := setup(b)
				cl, prefix := e.direct, ""
				if path == "gateway" {
					cl, prefix = e.gateway, "up__"
				}
				call := bench.EchoCall(prefix)
				if payload == "blob" {
					call = bench.BlobCall(prefix)
				}
				runCalls(b, cl, call, *benchConc)
			})
		}
	}
}

func runCalls(b *testing.B, cl *bench.Client, call *bench.CallSpec, conc int) {
	ctx := context.Background()
	var sessions []*bench.Session
	var err error
	pprof.Do(ctx, pprof.Labels("role", "client"), func(ctx context.Context) {
		sessions, err = bench.OpenSessions(ctx, cl, conc, conc)
	})
	if err != nil {
		b.Fatal(err)
	}
	defer bench.CloseSessions(ctx, sessions, conc)
	// A short warm-up so that connections exist on both hops.
	for _, s := range sessions {
		if _, err := s.Call(ctx, call); err != nil {
			b.Fatal(err)
		}
	}
	lat := make([][]time.Duration, conc)
	var left atomic.Int64
	left.Store(int64(b.N))
	var errs atomic.Int64
	var firstErr atomic.Value
	b.SetBytes(int64(call.MinBytes))
	b.ReportAllocs()
	b.ResetTimer()
	var wg sync.WaitGroup
	for i, s := range sessions {
		wg.Add(1)
		go pprof.Do(ctx, pprof.Labels("role", "client"), func(ctx context.Context) {
			defer wg.Done()
			for left.Add(-1) >= 0 {
				t0 := time.Now()
				if _, err := s.Call(ctx, call); err != nil {
					errs.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				lat[i] = append(lat[i], time.Since(t0))
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	if n := errs.Load(); n > 0 {
		b.Fatalf("%d errors, first: %v", n, firstErr.Load())
	}
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	s := bench.Summarize(all)
	b.ReportMetric(float64(s.P50.Microseconds()), "p50-µs")
	b.ReportMetric(float64(s.P99.Microseconds()), "p99-µs")
}

var (
	idleSessions = flag.Int("bench.idle", 0, "BenchmarkIdleSessions: sessions to open through the in-process gateway (0: skip)")
	idleHeap     = flag.String("bench.idleheap", "", "BenchmarkIdleSessions: write a heap profile (inuse) with the sessions open to this file")
)

// BenchmarkIdleSessions opens -bench.idle sessions through the in-process gateway and reports
// the heap (whole process: upstream, gateway and client) per session; with -bench.idleheap it
// writes a heap profile to split it by function. Skipped unless -bench.idle is set.
func BenchmarkIdleSessions(b *testing.B) {
	n := *idleSessions
	if n <= 0 {
		b.Skip("set -bench.idle=N")
	}
	e := setup(b)
	ctx := context.Background()
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	cl := &bench.Client{URL: e.gatewayURL, HTTP: bench.NewHTTPClient(32, 30*time.Second)}
	sessions, err := bench.OpenSessions(ctx, cl, n, 16)
	if err != nil {
		b.Fatal(err)
	}
	defer bench.CloseSessions(ctx, sessions, 16)
	time.Sleep(500 * time.Millisecond)
	runtime.GC()
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(after.HeapInuse-before.HeapInuse)/float64(n), "heap-B/session")
	b.ReportMetric(float64(after.StackInuse-before.StackInuse)/float64(n), "stack-B/session")
	b.ReportMetric(float64(runtime.NumGoroutine())/float64(n), "goroutines/session")
	if *idleHeap != "" {
		f, err := os.Create(*idleHeap)
		if err != nil {
			b.Fatal(err)
		}
		pprof.Lookup("heap").WriteTo(f, 0)
		f.Close()
	}
}
