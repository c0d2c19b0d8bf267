package main

import (
	"slices"
	"strings"
	"testing"
	"time"

	"gatehouse/internal/bench"
)

func TestParseFlags(t *testing.T) {
	s, err := parseFlags([]string{"--concurrency", "1, 8,64", "--payloads", "echo", "--duration", "2s"}, &strings.Builder{})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Concurrency) != 3 || s.Concurrency[1] != 8 || len(s.Payloads) != 1 || s.Duration != 2*time.Second {
		t.Fatalf("%+v", s)
	}
	for _, bad := range [][]string{{"--concurrency", "0"}, {"--payloads", "huge"}, {"--duration", "0s"}, {"extra"}} {
		if _, err := parseFlags(bad, &strings.Builder{}); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestGatewayConfig(t *testing.T) {
	c := gatewayConfig(8788, 1512, httpUpstreamYAML("http://127.0.0.1:9/mcp"), nil)
	for _, want := range []string{"address: 127.0.0.1:8788", "max_sessions_per_client: 1512", "level: warn", "name: up", "transport: streamable_http", `url: "http://127.0.0.1:9/mcp"`} {
		if !strings.Contains(c, want) {
			t.Errorf("config lacks %q:\n%s", want, c)
		}
	}
	if s := stdioUpstreamYAML("/x y/bench"); !strings.Contains(s, `command: "/x y/bench"`) {
		t.Errorf("stdio: %s", s)
	}
}

// TestRoundsMerge: a cell measured in rounds adds up its calls, time and CPU, recomputes its
// rates and latencies over every round, and keeps each round's CPU per call for the spread.
func TestRoundsMerge(t *testing.T) {
	round := func(calls int, cpuMS float64, lat time.Duration) *cellReport {
		samples := make([]time.Duration, calls)
		for i := range samples {
			samples[i] = lat
		}
		c := &cellReport{Result: bench.Result{Calls: calls, Elapsed: time.Second, PerSecond: float64(calls), Samples: samples},
			GatewayCPUms: cpuMS, GatewayCPUmsPerCall: cpuMS / float64(calls), RoundCPU: []float64{cpuMS / float64(calls)},
			AuditRecords: int64(2 * calls), AuditCommits: int64(calls / 2)}
		c.Result.Latency = bench.Summarize(slices.Clone(samples))
		return c
	}
	c := round(100, 20, time.Millisecond)
	c.merge(round(300, 30, 3*time.Millisecond))
	if c.Result.Calls != 400 || c.Result.PerSecond != 200 || c.GatewayCPUmsPerCall != 50.0/400 ||
		c.AuditRecords != 800 || c.AuditCommits != 200 || len(c.RoundCPU) != 2 || c.Result.Latency.P50 != 3*time.Millisecond {
		t.Fatalf("merged: %+v latency %+v", c, c.Result.Latency)
	}

	g := &cellReport{RoundCPU: []float64{0.10, 0.20, 0.30}}
	a := &cellReport{RoundCPU: []float64{0.11, 0.26, 0.33}}
	if got := roundSpread(a, g, 1); !strings.Contains(got, "3 rounds: median +0.030, from +0.010 to +0.060") {
		t.Errorf("spread: %q", got)
	}
	if got := roundSpread(a, &cellReport{RoundCPU: []float64{0.1}}, 1); got != "" {
		t.Errorf("spread of unequal rounds: %q", got)
	}
	if _, err := parseFlags([]string{"--rounds", "0"}, &strings.Builder{}); err == nil {
		t.Error("--rounds 0 accepted")
	}
}

// TestAuditFloor: the audit checks take their floor from the durable relay against the
// copying relay, in the same way as their own figure from the two gateways.
func TestAuditFloor(t *testing.T) {
	cell := func(path string, perSecond, cpu float64) *cellReport {
		return &cellReport{Payload: "echo", Concurrency: targetRatioConc, Path: path,
			Result: bench.Result{Calls: 1000, PerSecond: perSecond}, GatewayCPUmsPerCall: cpu}
	}
	r := &report{Cells: []*cellReport{
		cell("direct", 4000, 0),
		cell("relay-copy", 3000, 0.090),
		cell("relay-durable", 2700, 0.120),
		cell("gateway", 2800, 0.100),
		cell("gateway-audit", 1400, 0.300),
	}}
	var ratio, cpu *targetCheck
	for _, c := range checkTargets(r) {
		switch {
		case strings.HasPrefix(c.What, "throughput with audit on"):
			ratio = &c
		case strings.HasPrefix(c.What, "gateway CPU per audit record"):
			cpu = &c
		}
	}
	if ratio == nil || cpu == nil {
		t.Fatal("no audit checks")
	}
	if ratio.Got != "0.50x" || ratio.Pass || ratio.Floor != "0.90x" || !ratio.FloorPass {
		t.Errorf("throughput: %+v", *ratio)
	}
	if !strings.HasPrefix(cpu.Got, "+0.100 ms") || cpu.Pass || !strings.HasPrefix(cpu.Floor, "+0.015 ms") || !cpu.FloorPass {
		t.Errorf("CPU per record: %+v", *cpu)
	}
}
