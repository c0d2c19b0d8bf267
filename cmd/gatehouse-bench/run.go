package main

import (
	"context"
	"debug/buildinfo"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"gatehouse/internal/bench"
	"gatehouse/internal/identity/oidctest"
)

// settings are the benchmark's flags.
type settings struct {
	Gatehouse    string        `json:"gatehouse"`
	Duration     time.Duration `json:"duration_ns"`
	Warmup       time.Duration `json:"warmup_ns"`
	Count        int           `json:"count"`
	Rounds       int           `json:"rounds"`
	Concurrency  []int         `json:"concurrency"`
	Payloads     []string      `json:"payloads"`
	Sessions     int           `json:"idle_sessions"`
	Stdio        bool          `json:"stdio"`
	Relay        bool          `json:"relay"`
	RelayCopy    bool          `json:"relay_copy"`
	RelayDurable bool          `json:"relay_durable"`
	Policy       bool          `json:"policy"`
	Audit        bool          `json:"audit"`
	Inspect      bool          `json:"inspect"`
	PolicyRoles  int           `json:"policy_roles"`
	PolicyRules  int           `json:"policy_rules"`
	UpstreamJSON bool          `json:"upstream_json_response"`
	Timeout      time.Duration `json:"timeout_ns"`
	JSON         string        `json:"-"`
	ProfileDir   string        `json:"-"`
	KeepTemp     bool          `json:"-"`
}

// Targets the gateway is held to (reported, not asserted).
const (
	targetRatio            = 0.85 // gateway/direct throughput at concurrency 8
	targetRatioConc        = 8
	targetEchoCPUms        = 0.08
	targetBlobCPUms        = 0.3
	targetIdleRSSMiB       = 50.0
	targetIdleSession      = 1000
	targetAuthCPUms        = 0.02 // identity + policy, added to the gateway's CPU per call
	targetAuditRatio       = 0.9  // throughput with audit on / off at concurrency 8
	targetAuditRecordCPUms = 0.02
)

func parseFlags(args []string, stderr io.Writer) (*settings, error) {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	s := &settings{}
	fs.StringVar(&s.Gatehouse, "gatehouse", "", "gatehouse binary (default: go build ./cmd/gatehouse into a temp dir)")
	fs.DurationVar(&s.Duration, "duration", 5*time.Second, "measuring time per cell (an upper bound with --count)")
	fs.DurationVar(&s.Warmup, "warmup", time.Second, "warm-up per cell, on the cell's sessions, not measured")
	fs.IntVar(&s.Count, "count", 0, "measured calls per cell (0: run for --duration)")
	fs.IntVar(&s.Rounds, "rounds", 1, "measure each cell in this many interleaved rounds (every path once per round), splitting --duration and --count between them")
	conc := fs.String("concurrency", "1,8,64", "concurrency levels (one session per worker), comma-separated")
	payloads := fs.String("payloads", "echo,blob", "payloads: echo (100 B argument and result), blob (64 KiB result)")
	fs.IntVar(&s.Sessions, "sessions", 1000, "idle sessions to open through the gateway for the memory test (0: skip)")
	fs.BoolVar(&s.Stdio, "stdio", true, "also measure a stdio upstream (shared) through the gateway")
	fs.BoolVar(&s.Relay, "relay", true, "also measure a raw TCP relay in front of the upstream: the floor cost of one extra hop on this machine")
	fs.BoolVar(&s.RelayCopy, "relay-copy", true, "also measure the relay copying every byte through its own memory: the floor for a proxy that reads what it forwards")
	fs.BoolVar(&s.RelayDurable, "relay-durable", true, "with --audit and --relay-copy, also measure the copying relay making each request chunk durable (group-committed fdatasync) before forwarding it: the floor under the audit targets")
	fs.BoolVar(&s.Policy, "policy", true, "also measure the gateway with JWT authentication and a large policy (gateway-auth rows)")
	fs.BoolVar(&s.Audit, "audit", true, "also measure the gateway with the audit trail on (gateway-audit rows: SQLite, durable)")
	fs.BoolVar(&s.Inspect, "inspect", true, "also measure the gateway with content inspection on (gateway-inspect rows: every detector, default actions)")
	fs.IntVar(&s.PolicyRoles, "policy-roles", 50, "roles in the gateway-auth policy")
	fs.IntVar(&s.PolicyRules, "policy-rules", 500, "rules in the gateway-auth policy")
	fs.BoolVar(&s.UpstreamJSON, "upstream-json", false, "upstream answers with application/json instead of SSE")
	fs.DurationVar(&s.Timeout, "timeout", 20*time.Minute, "bound on the whole run")
	fs.StringVar(&s.ProfileDir, "profile", "", "write each gateway's CPU profile to this folder (gatehouse serve --cpuprofile)")
	fs.StringVar(&s.JSON, "json", "", "also write the results as JSON to this file (- for stdout)")
	fs.BoolVar(&s.KeepTemp, "keep", false, "keep the temp dir (configs, logs, built binary)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	for _, f := range strings.Split(*conc, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > 4096 {
			return nil, fmt.Errorf("--concurrency: %q is not a number from 1 to 4096", f)
		}
		s.Concurrency = append(s.Concurrency, n)
	}
	for _, p := range strings.Split(*payloads, ",") {
		p = strings.TrimSpace(p)
		if p != "echo" && p != "blob" {
			return nil, fmt.Errorf("--payloads: unknown payload %q (echo, blob)", p)
		}
		s.Payloads = append(s.Payloads, p)
	}
	if s.Duration <= 0 || s.Duration > time.Hour {
		return nil, errors.New("--duration must be in (0, 1h]")
	}
	if s.Rounds < 1 || s.Rounds > 100 {
		return nil, errors.New("--rounds must be from 1 to 100")
	}
	if s.Warmup < 0 || s.Count < 0 || s.Sessions < 0 || s.Sessions > 100000 {
		return nil, errors.New("--warmup, --count and --sessions must not be negative (--sessions at most 100000)")
	}
	return s, nil
}

// cellReport is one row of the table.
type cellReport struct {
	Payload     string       `json:"payload"`
	Concurrency int          `json:"concurrency"`
	Path        string       `json:"path"` // direct, gateway, gateway-stdio
	Result      bench.Result `json:"result"`
	Error       string       `json:"error,omitempty"` // the cell could not run
	// Gateway process (gateway paths only).
	GatewayCPUms        float64 `json:"gateway_cpu_ms,omitempty"`
	GatewayCPUmsPerCall float64 `json:"gateway_cpu_ms_per_call,omitempty"`
	GatewayRSSBefore    int64   `json:"gateway_rss_before,omitempty"`
	GatewayRSSAfter     int64   `json:"gateway_rss_after,omitempty"`
	// Audit records and group commits over the cell (and warm-ups), from /healthz.
	AuditRecords int64 `json:"audit_records,omitempty"`
	AuditCommits int64 `json:"audit_commits,omitempty"`
	// RoundCPU is GatewayCPUmsPerCall of each round (--rounds).
	RoundCPU []float64 `json:"round_gateway_cpu_ms_per_call,omitempty"`
	// Upstream process (both paths).
	UpstreamCPUms        float64 `json:"upstream_cpu_ms,omitempty"`
	UpstreamCPUmsPerCall float64 `json:"upstream_cpu_ms_per_call,omitempty"`
	// Against the direct cell of the same payload and concurrency.
	Ratio       float64       `json:"throughput_ratio,omitempty"`
	AddedP50    time.Duration `json:"added_p50_ns,omitempty"`
	AddedP99    time.Duration `json:"added_p99_ns,omitempty"`
	Flagged     bool          `json:"flagged"`
	FlagReasons []string      `json:"flag_reasons,omitempty"`
}

// idleReport is the idle-session memory test of one gateway.
type idleReport struct {
	Upstream          string           `json:"upstream"` // what the gateway's upstream was
	Sessions          int              `json:"sessions"`
	Opened            int              `json:"opened"`
	OpenError         string           `json:"open_error,omitempty"`
	OpenTime          time.Duration    `json:"open_time_ns"`
	RSSFresh          int64            `json:"gateway_rss_fresh"`
	RSSIdle           int64            `json:"gateway_rss_idle"`
	RSSAfterClose     int64            `json:"gateway_rss_after_close"`
	FDsFresh          int              `json:"gateway_fds_fresh"`
	FDsIdle           int              `json:"gateway_fds_idle"`
	ThreadsIdle       int              `json:"gateway_threads_idle"`
	HealthSessions    int              `json:"gateway_reported_sessions"`
	CPUmsOpen         float64          `json:"gateway_cpu_ms_opening"`
	UpstreamRSSFresh  int64            `json:"upstream_rss_fresh,omitempty"`
	UpstreamRSSIdle   int64            `json:"upstream_rss_idle,omitempty"`
	UpstreamStatsIdle map[string]int64 `json:"upstream_stats_idle,omitempty"`
	UpstreamStatsPre  map[string]int64 `json:"upstream_stats_before,omitempty"`
	UpstreamProcs     int              `json:"upstream_processes,omitempty"`
}

type report struct {
	Machine     bench.Machine `json:"machine"`
	CommandLine []string      `json:"command_line"`
	Gatehouse   string        `json:"gatehouse_binary"`
	GatehouseGo string        `json:"gatehouse_go_version"`
	Settings    *settings     `json:"settings"`
	Started     time.Time     `json:"started"`
	Cells       []*cellReport `json:"cells"`
	Idle        []*idleReport `json:"idle"`
	Targets     []targetCheck `json:"targets"`
	Notes       []string      `json:"notes"`
	GatewayLogs []string      `json:"gateway_logs,omitempty"`
}

type targetCheck struct {
	What   string `json:"what"`
	Target string `json:"target"`
	Got    string `json:"got"`
	Pass   bool   `json:"pass"`
	// Floor is the raw TCP relay's value for the same check, and whether it would pass: what
	// the machine allows any proxy, before proxy logic. Empty without --relay.
	Floor     string `json:"floor,omitempty"`
	FloorPass bool   `json:"floor_pass,omitempty"`
	// CopyFloor is the same for the copying relay: the floor for a proxy that reads the bytes
	// it forwards. Empty without --relay-copy.
	CopyFloor     string `json:"copy_floor,omitempty"`
	CopyFloorPass bool   `json:"copy_floor_pass,omitempty"`
}

func benchCmd(args []string, stdout, stderr io.Writer) int {
	s, err := parseFlags(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(stderr, "gatehouse-bench:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, s.Timeout)
	defer cancel()
	r, err := runBench(ctx, s, stderr)
	if r != nil {
		printMarkdown(stdout, r)
		if s.JSON != "" {
			b, _ := json.MarshalIndent(r, "", "  ")
			if s.JSON == "-" {
				stdout.Write(append(b, '\n'))
			} else if werr := os.WriteFile(s.JSON, append(b, '\n'), 0o644); werr != nil {
				fmt.Fprintln(stderr, "gatehouse-bench:", werr)
			}
		}
	}
	if err != nil {
		fmt.Fprintln(stderr, "gatehouse-bench:", err)
		return 1
	}
	return 0
}

func progress(w io.Writer, format string, args ...any) {
	fmt.Fprintf(w, "[%s] %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

func runBench(ctx context.Context, s *settings, log io.Writer) (*report, error) {
	r := &report{Machine: bench.ThisMachine(), CommandLine: os.Args, Settings: s, Started: time.Now()}
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "gatehouse-bench-")
	if err != nil {
		return nil, err
	}
	if s.KeepTemp {
		progress(log, "temp dir %s (kept)", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	bin := s.Gatehouse
	if bin == "" {
		progress(log, "building ./cmd/gatehouse")
		if bin, err = buildGatehouse(ctx, dir); err != nil {
			return nil, err
		}
	}
	r.Gatehouse = bin
	if bi, err := buildinfo.ReadFile(bin); err == nil {
		r.GatehouseGo = bi.GoVersion
	}
	hz, _ := bench.ClockTicks()

	up, upURL, err := startUpstream(ctx, self, dir, s.UpstreamJSON)
	if err != nil {
		return nil, err
	}
	defer up.stop()
	progress(log, "upstream pid %d at %s", up.pid(), upURL)

	maxSess := max(s.Sessions, 64) + 512
	directClient := &bench.Client{URL: upURL, HTTP: bench.NewHTTPClient(maxConc(s)+8, 30*time.Second)}

	// Idle sessions first, on a fresh gateway process, so that its RSS is not the residue of
	// the load phases.
	if s.Sessions > 0 {
		// Memory is measured with content inspection on, as the gateway runs by default.
		gw, err := startGateway(ctx, bin, dir, "gateway-idle-http", httpUpstreamYAML(upURL), maxSess, inspectOn, s.ProfileDir)
		if err != nil {
			return r, err
		}
		progress(log, "idle sessions: %d through gateway pid %d (HTTP upstream, per_session)", s.Sessions, gw.pid())
		ir := idleTest(ctx, gw, s.Sessions, "streamable_http (per_session)", up.pid(), upURL)
		r.Idle = append(r.Idle, ir)
		collectLog(r, gw)
		gw.stop()
	}
	if s.Stdio && s.Sessions > 0 {
		gw, err := startGateway(ctx, bin, dir, "gateway-idle-stdio", stdioUpstreamYAML(self), maxSess, inspectOn, s.ProfileDir)
		if err != nil {
			return r, err
		}
		progress(log, "idle sessions: %d through gateway pid %d (stdio upstream, shared)", s.Sessions, gw.pid())
		ir := idleTest(ctx, gw, s.Sessions, "stdio (shared)", 0, "")
		r.Idle = append(r.Idle, ir)
		collectLog(r, gw)
		gw.stop()
	}
	if err := ctx.Err(); err != nil {
		return r, err
	}

	// The matrix, HTTP upstream.
	gw, err := startGateway(ctx, bin, dir, "gateway-http", httpUpstreamYAML(upURL), maxSess, nil, s.ProfileDir)
	if err != nil {
		return r, err
	}
	progress(log, "gateway pid %d at %s", gw.pid(), gw.url)
	gwClient := &bench.Client{URL: gw.url, HTTP: bench.NewHTTPClient(maxConc(s)+8, 30*time.Second)}
	var relay *child
	var relayClient *bench.Client
	if s.Relay {
		var relayURL string
		if relay, relayURL, err = startRelay(ctx, self, dir, upURL, false); err != nil {
			gw.stop()
			return r, err
		}
		progress(log, "relay pid %d at %s", relay.pid(), relayURL)
		relayClient = &bench.Client{URL: relayURL, HTTP: bench.NewHTTPClient(maxConc(s)+8, 30*time.Second)}
	}
	var copyRelay *child
	var copyRelayClient *bench.Client
	if s.RelayCopy {
		var relayURL string
		if copyRelay, relayURL, err = startRelay(ctx, self, dir, upURL, true); err != nil {
			gw.stop()
			relay.stop()
			return r, err
		}
		progress(log, "copying relay pid %d at %s", copyRelay.pid(), relayURL)
		copyRelayClient = &bench.Client{URL: relayURL, HTTP: bench.NewHTTPClient(maxConc(s)+8, 30*time.Second)}
	}
	var durableRelay *child
	var durableRelayClient *bench.Client
	if s.RelayDurable && s.RelayCopy && s.Audit {
		var relayURL string
		if durableRelay, relayURL, err = startDurableRelay(ctx, self, dir, upURL); err != nil {
			gw.stop()
			relay.stop()
			copyRelay.stop()
			return r, err
		}
		progress(log, "durable relay pid %d at %s", durableRelay.pid(), relayURL)
		durableRelayClient = &bench.Client{URL: relayURL, HTTP: bench.NewHTTPClient(maxConc(s)+8, 30*time.Second)}
	}
	var authGW *gateway
	var authClient *bench.Client
	if s.Policy {
		is, err := oidctest.New()
		if err != nil {
			return r, err
		}
		defer is.Close()
		var resource string
		authGW, err = startGateway(ctx, bin, dir, "gateway-auth", httpUpstreamYAML(upURL), maxSess, func(url string) string {
			resource = url
			return bench.PolicyYAML(url, is.URL, s.PolicyRoles, s.PolicyRules) + "audit:\n  enabled: false\ninspection:\n  enabled: false\n"
		}, s.ProfileDir)
		if err != nil {
			gw.stop()
			return r, err
		}
		defer authGW.stop()
		tok := is.Token(oidctest.Claims{"sub": "bench", "aud": resource, "scope": "mcp", "groups": []string{"role-7", "bench"},
			"exp": time.Now().Add(24 * time.Hour).Unix()})
		authClient = &bench.Client{URL: authGW.url, HTTP: bench.NewHTTPClient(maxConc(s)+8, 30*time.Second), Authorization: "Bearer " + tok}
		progress(log, "gateway-auth pid %d at %s (JWT from %s; %d roles, %d rules)", authGW.pid(), authGW.url, is.URL, s.PolicyRoles, s.PolicyRules)
	}
	var auditGW *gateway
	var auditClient *bench.Client
	if s.Audit {
		if auditGW, err = startGateway(ctx, bin, dir, "gateway-audit", httpUpstreamYAML(upURL), maxSess, auditOn, s.ProfileDir); err != nil {
			gw.stop()
			return r, err
		}
		defer auditGW.stop()
		auditClient = &bench.Client{URL: auditGW.url, HTTP: bench.NewHTTPClient(maxConc(s)+8, 30*time.Second)}
		progress(log, "gateway-audit pid %d at %s", auditGW.pid(), auditGW.url)
	}
	var inspGW *gateway
	var inspClient *bench.Client
	if s.Inspect {
		if inspGW, err = startGateway(ctx, bin, dir, "gateway-inspect", httpUpstreamYAML(upURL), maxSess, inspectOn, s.ProfileDir); err != nil {
			gw.stop()
			return r, err
		}
		defer inspGW.stop()
		inspClient = &bench.Client{URL: inspGW.url, HTTP: bench.NewHTTPClient(maxConc(s)+8, 30*time.Second)}
		progress(log, "gateway-inspect pid %d at %s", inspGW.pid(), inspGW.url)
	}
	// The paths measured side by side. With --rounds N each cell is measured in N interleaved
	// rounds (every path once per round, the order reversed every other round), so that the
	// machine's drift over the run falls on all paths alike.
	paths := []benchPath{{"direct", directClient, "", 0, nil}}
	if relay != nil {
		paths = append(paths, benchPath{"relay", relayClient, "", relay.pid(), nil})
	}
	if copyRelay != nil {
		paths = append(paths, benchPath{"relay-copy", copyRelayClient, "", copyRelay.pid(), nil})
	}
	if durableRelay != nil {
		paths = append(paths, benchPath{"relay-durable", durableRelayClient, "", durableRelay.pid(), nil})
	}
	paths = append(paths, benchPath{"gateway", gwClient, "up__", gw.pid(), nil})
	if authGW != nil {
		paths = append(paths, benchPath{"gateway-auth", authClient, "up__", authGW.pid(), nil})
	}
	if auditGW != nil {
		paths = append(paths, benchPath{"gateway-audit", auditClient, "up__", auditGW.pid(), auditGW})
	}
	if inspGW != nil {
		paths = append(paths, benchPath{"gateway-inspect", inspClient, "up__", inspGW.pid(), nil})
	}
	direct := map[string]*cellReport{}
	for _, p := range s.Payloads {
		for _, c := range s.Concurrency {
			cells := measureRounds(ctx, s, paths, p, c, up.pid(), hz, log)
			for _, cr := range cells[1:] {
				compare(cr, cells[0])
			}
			r.Cells = append(r.Cells, cells...)
			direct[fmt.Sprint(p, c)] = cells[0]
			if err := ctx.Err(); err != nil {
				break
			}
		}
	}
	relay.stop()
	copyRelay.stop()
	durableRelay.stop()
	collectLog(r, gw)
	gw.stop()
	if err := ctx.Err(); err != nil {
		return r, err
	}

	// The same through a stdio upstream (shared by all sessions), against the HTTP direct cells.
	if s.Stdio {
		gw, err := startGateway(ctx, bin, dir, "gateway-stdio", stdioUpstreamYAML(self), maxSess, nil, s.ProfileDir)
		if err != nil {
			return r, err
		}
		upPID := 0
		if kids := bench.ChildPIDs(gw.pid()); len(kids) == 1 {
			upPID = kids[0]
		}
		progress(log, "gateway pid %d with stdio upstream pid %d", gw.pid(), upPID)
		cl := &bench.Client{URL: gw.url, HTTP: bench.NewHTTPClient(maxConc(s)+8, 30*time.Second)}
		for _, p := range s.Payloads {
			for _, c := range s.Concurrency {
				g := measure(ctx, s, cl, p, "up__", c, "gateway-stdio", gw.pid(), upPID, hz, log)
				compare(g, direct[fmt.Sprint(p, c)])
				r.Cells = append(r.Cells, g)
				if err := ctx.Err(); err != nil {
					collectLog(r, gw)
					gw.stop()
					return r, err
				}
			}
		}
		collectLog(r, gw)
		gw.stop()
	}
	r.Targets = checkTargets(r)
	r.Notes = notes(r)
	return r, nil
}

func maxConc(s *settings) int {
	m := 1
	for _, c := range s.Concurrency {
		m = max(m, c)
	}
	return m
}

func collectLog(r *report, gw *gateway) {
	n, lines := gw.logSummary(5)
	if n == 0 {
		return
	}
	r.GatewayLogs = append(r.GatewayLogs, fmt.Sprintf("%s: %d log lines at warn+, first:", gw.name, n))
	for _, l := range lines {
		if len(l) > 300 {
			l = l[:300] + "…"
		}
		r.GatewayLogs = append(r.GatewayLogs, "  "+l)
	}
}

// roundSpread describes the per-round differences (c minus g, divided by per) when the
// cells were measured in interleaved rounds: the median and the range, so that a reader sees
// how much of a difference is the machine's noise.
func roundSpread(c, g *cellReport, per float64) string {
	if len(c.RoundCPU) < 2 || len(c.RoundCPU) != len(g.RoundCPU) {
		return ""
	}
	d := make([]float64, len(c.RoundCPU))
	for i := range d {
		d[i] = (c.RoundCPU[i] - g.RoundCPU[i]) / per
	}
	slices.Sort(d)
	med := d[len(d)/2]
	if len(d)%2 == 0 {
		med = (d[len(d)/2-1] + d[len(d)/2]) / 2
	}
	return fmt.Sprintf(" (%d rounds: median %+.3f, from %+.3f to %+.3f)", len(d), med, d[0], d[len(d)-1])
}

// benchPath is one way from the load client to the upstream.
type benchPath struct {
	name   string
	cl     *bench.Client
	prefix string // tool-name prefix: the gateway namespaces tools
	pid    int    // the process between client and upstream; 0 for direct
	gw     *gateway
}

// measureRounds measures one payload and concurrency on every path, in s.Rounds interleaved
// rounds of s.Duration/s.Rounds each, and merges each path's rounds into one cell.
func measureRounds(ctx context.Context, s *settings, paths []benchPath, payload string, conc, upPID int, hz int64, log io.Writer) []*cellReport {
	rounds := max(s.Rounds, 1)
	rs := *s
	rs.Duration = s.Duration / time.Duration(rounds)
	rs.Count = (s.Count + rounds - 1) / rounds
	out := make([]*cellReport, len(paths))
	for round := 0; round < rounds && ctx.Err() == nil; round++ {
		for k := range paths {
			i := k
			if round%2 == 1 {
				i = len(paths) - 1 - k
			}
			bp := paths[i]
			before := auditCounts(bp.gw)
			cr := measure(ctx, &rs, bp.cl, payload, bp.prefix, conc, bp.name, bp.pid, upPID, hz, log)
			if after := auditCounts(bp.gw); before != nil && after != nil {
				cr.AuditRecords, cr.AuditCommits = after[0]-before[0], after[1]-before[1]
			}
			if out[i] == nil {
				out[i] = cr
			} else {
				out[i].merge(cr)
			}
		}
	}
	return out
}

// auditCounts reads a gateway's audit records and group commits so far (nil without audit).
func auditCounts(g *gateway) *[2]int64 {
	if g == nil {
		return nil
	}
	h, err := g.healthz()
	if err != nil || h.Audit == nil {
		return nil
	}
	return &[2]int64{h.Audit.Records, h.Audit.Commits}
}

// merge adds a later round of the same cell.
func (c *cellReport) merge(o *cellReport) {
	c.AuditRecords += o.AuditRecords
	c.AuditCommits += o.AuditCommits
	c.Result.Merge(o.Result)
	c.GatewayCPUms += o.GatewayCPUms
	c.UpstreamCPUms += o.UpstreamCPUms
	c.RoundCPU = append(c.RoundCPU, o.RoundCPU...)
	if c.Result.Calls > 0 {
		c.GatewayCPUmsPerCall = c.GatewayCPUms / float64(c.Result.Calls)
		c.UpstreamCPUmsPerCall = c.UpstreamCPUms / float64(c.Result.Calls)
	}
	c.GatewayRSSAfter = o.GatewayRSSAfter
	if o.Error != "" && c.Error == "" {
		c.Error = o.Error
	}
	if o.Flagged {
		c.Flagged = true
		c.FlagReasons = append(c.FlagReasons, o.FlagReasons...)
	}
}

// measure runs one cell; proxyPID is the process between client and upstream (gateway or
// relay; 0 for direct), whose CPU and RSS are read.
func measure(ctx context.Context, s *settings, cl *bench.Client, payload, prefix string, conc int, path string, proxyPID, upPID int, hz int64, log io.Writer) *cellReport {
	cr := &cellReport{Payload: payload, Concurrency: conc, Path: path}
	call := bench.EchoCall(prefix)
	if payload == "blob" {
		call = bench.BlobCall(prefix)
	}
	var gwBefore, gwAfter, upBefore, upAfter snapshot
	cell := bench.Cell{
		Concurrency: conc, Warmup: s.Warmup, Duration: s.Duration, Count: s.Count, Call: call,
		BeforeMeasure: func() {
			if proxyPID > 0 {
				gwBefore = snap(proxyPID)
			}
			if upPID > 0 {
				upBefore = snap(upPID)
			}
		},
		AfterMeasure: func() {
			if proxyPID > 0 {
				gwAfter = snap(proxyPID)
			}
			if upPID > 0 {
				upAfter = snap(upPID)
			}
		},
	}
	if s.Count > 0 && s.Duration < time.Minute {
		cell.Duration = time.Minute // --count: the duration is only a bound
	}
	res, err := cell.Run(ctx, cl)
	cr.Result = res
	if err != nil {
		cr.Error = err.Error()
		cr.flag("did not run: " + err.Error())
	}
	if res.Errors > 0 {
		cr.flag(fmt.Sprintf("%d errors (first: %s)", res.Errors, res.FirstError))
	}
	if res.WarmErrors > 0 {
		cr.flag(fmt.Sprintf("%d errors during warm-up", res.WarmErrors))
	}
	if res.Calls > 0 {
		if proxyPID > 0 {
			cr.GatewayCPUms = ms(bench.TicksToDuration(gwAfter.ticks-gwBefore.ticks, hz))
			cr.GatewayCPUmsPerCall = cr.GatewayCPUms / float64(res.Calls)
			cr.RoundCPU = []float64{cr.GatewayCPUmsPerCall}
			cr.GatewayRSSBefore, cr.GatewayRSSAfter = gwBefore.rss, gwAfter.rss
		}
		if upPID > 0 {
			cr.UpstreamCPUms = ms(bench.TicksToDuration(upAfter.ticks-upBefore.ticks, hz))
			cr.UpstreamCPUmsPerCall = cr.UpstreamCPUms / float64(res.Calls)
		}
	}
	progress(log, "%-5s c=%-3d %-13s %8.0f calls/s  p50 %s  p99 %s  errors %d", payload, conc, path, res.PerSecond,
		fmtDur(res.Latency.P50), fmtDur(res.Latency.P99), res.Errors)
	return cr
}

func (c *cellReport) flag(why string) {
	c.Flagged = true
	c.FlagReasons = append(c.FlagReasons, why)
}

func compare(g, d *cellReport) {
	if d == nil || d.Result.PerSecond == 0 || g.Result.Calls == 0 {
		return
	}
	g.Ratio = g.Result.PerSecond / d.Result.PerSecond
	g.AddedP50 = g.Result.Latency.P50 - d.Result.Latency.P50
	g.AddedP99 = g.Result.Latency.P99 - d.Result.Latency.P99
}

// idleTest opens n sessions (initialize + initialized only) and reads the gateway's memory.
func idleTest(ctx context.Context, gw *gateway, n int, what string, upPID int, upURL string) *idleReport {
	ir := &idleReport{Upstream: what, Sessions: n}
	time.Sleep(300 * time.Millisecond) // let the fresh process settle
	fresh := snap(gw.pid())
	ir.RSSFresh = fresh.rss
	ir.FDsFresh, _ = bench.CountFDs(gw.pid())
	if upPID > 0 {
		ir.UpstreamRSSFresh = snap(upPID).rss
	}
	if upURL != "" {
		ir.UpstreamStatsPre = upstreamStats(upURL)
	}
	cl := &bench.Client{URL: gw.url, HTTP: bench.NewHTTPClient(32, 30*time.Second)}
	t0 := time.Now()
	sessions, err := bench.OpenSessions(ctx, cl, n, 16)
	ir.OpenTime = time.Since(t0)
	if err != nil {
		ir.OpenError = err.Error()
	}
	ir.Opened = len(sessions)
	time.Sleep(time.Second) // idle
	idle := snap(gw.pid())
	ir.RSSIdle = idle.rss
	ir.CPUmsOpen = ms(bench.TicksToDuration(idle.ticks-fresh.ticks, hzOf()))
	ir.FDsIdle, _ = bench.CountFDs(gw.pid())
	ir.ThreadsIdle, _ = bench.CountThreads(gw.pid())
	if h, err := gw.healthz(); err == nil {
		ir.HealthSessions = h.Sessions
	}
	if upPID > 0 {
		ir.UpstreamRSSIdle = snap(upPID).rss
	}
	if upURL != "" {
		ir.UpstreamStatsIdle = upstreamStats(upURL)
	}
	ir.UpstreamProcs = len(bench.ChildPIDs(gw.pid()))
	bench.CloseSessions(context.WithoutCancel(ctx), sessions, 16)
	time.Sleep(time.Second)
	ir.RSSAfterClose = snap(gw.pid()).rss
	return ir
}

func hzOf() int64 { hz, _ := bench.ClockTicks(); return hz }

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func mib(b int64) float64 { return float64(b) / (1 << 20) }

func fmtDur(d time.Duration) string {
	return strconv.FormatFloat(ms(d), 'f', 3, 64) + "ms"
}

func checkTargets(r *report) []targetCheck {
	var out []targetCheck
	relay, copyRelay, durableRelay := map[string]*cellReport{}, map[string]*cellReport{}, map[string]*cellReport{}
	for _, c := range r.Cells {
		switch c.Path {
		case "relay":
			relay[fmt.Sprint(c.Payload, c.Concurrency)] = c
		case "relay-copy":
			copyRelay[fmt.Sprint(c.Payload, c.Concurrency)] = c
		case "relay-durable":
			durableRelay[fmt.Sprint(c.Payload, c.Concurrency)] = c
		}
	}
	for _, c := range r.Cells {
		if c.Path != "gateway" || c.Concurrency != targetRatioConc {
			continue
		}
		t := targetCheck{
			What:   fmt.Sprintf("throughput gateway/direct, %s c=%d", c.Payload, c.Concurrency),
			Target: fmt.Sprintf(">= %.2fx", targetRatio),
			Got:    fmt.Sprintf("%.2fx", c.Ratio),
			Pass:   c.Ratio >= targetRatio && !c.Flagged,
		}
		if f := relay[fmt.Sprint(c.Payload, c.Concurrency)]; f != nil {
			t.Floor, t.FloorPass = fmt.Sprintf("%.2fx", f.Ratio), f.Ratio >= targetRatio && !f.Flagged
		}
		if f := copyRelay[fmt.Sprint(c.Payload, c.Concurrency)]; f != nil {
			t.CopyFloor, t.CopyFloorPass = fmt.Sprintf("%.2fx", f.Ratio), f.Ratio >= targetRatio && !f.Flagged
		}
		out = append(out, t)
	}
	for _, p := range []string{"echo", "blob"} {
		limit := targetEchoCPUms
		if p == "blob" {
			limit = targetBlobCPUms
		}
		for _, c := range r.Cells {
			if c.Path != "gateway" || c.Payload != p || c.Result.Calls == 0 {
				continue
			}
			t := targetCheck{
				What:   fmt.Sprintf("gateway CPU per %s call, c=%d", p, c.Concurrency),
				Target: fmt.Sprintf("<= %.2f ms", limit),
				Got:    fmt.Sprintf("%.3f ms", c.GatewayCPUmsPerCall),
				Pass:   c.GatewayCPUmsPerCall <= limit,
			}
			if f := relay[fmt.Sprint(c.Payload, c.Concurrency)]; f != nil && f.Result.Calls > 0 {
				t.Floor, t.FloorPass = fmt.Sprintf("%.3f ms", f.GatewayCPUmsPerCall), f.GatewayCPUmsPerCall <= limit
			}
			if f := copyRelay[fmt.Sprint(c.Payload, c.Concurrency)]; f != nil && f.Result.Calls > 0 {
				t.CopyFloor, t.CopyFloorPass = fmt.Sprintf("%.3f ms", f.GatewayCPUmsPerCall), f.GatewayCPUmsPerCall <= limit
			}
			out = append(out, t)
		}
	}
	plain := map[string]*cellReport{}
	for _, c := range r.Cells {
		if c.Path == "gateway" {
			plain[fmt.Sprint(c.Payload, c.Concurrency)] = c
		}
	}
	for _, c := range r.Cells {
		g := plain[fmt.Sprint(c.Payload, c.Concurrency)]
		if c.Path != "gateway-auth" || g == nil || c.Result.Calls == 0 || g.Result.Calls == 0 {
			continue
		}
		added := c.GatewayCPUmsPerCall - g.GatewayCPUmsPerCall
		out = append(out, targetCheck{
			What:   fmt.Sprintf("identity + policy added gateway CPU per %s call, c=%d (gateway-auth minus gateway)", c.Payload, c.Concurrency),
			Target: fmt.Sprintf("<= %.2f ms", targetAuthCPUms),
			Got:    fmt.Sprintf("%+.3f ms", added) + roundSpread(c, g, 1),
			Pass:   added <= targetAuthCPUms,
		})
	}
	for _, c := range r.Cells {
		g := plain[fmt.Sprint(c.Payload, c.Concurrency)]
		if c.Path != "gateway-audit" || g == nil || c.Result.Calls == 0 || g.Result.Calls == 0 {
			continue
		}
		// The floor: the copying relay with a durable log against the copying relay.
		key := fmt.Sprint(c.Payload, c.Concurrency)
		df, cf := durableRelay[key], copyRelay[key]
		floor := df != nil && cf != nil && df.Result.Calls > 0 && cf.Result.Calls > 0
		if c.Concurrency == targetRatioConc {
			ratio := c.Result.PerSecond / g.Result.PerSecond
			t := targetCheck{
				What:   fmt.Sprintf("throughput with audit on / audit off, %s c=%d (gateway-audit / gateway; floor: relay-durable / relay-copy)", c.Payload, c.Concurrency),
				Target: fmt.Sprintf(">= %.2fx", targetAuditRatio),
				Got:    fmt.Sprintf("%.2fx", ratio),
				Pass:   ratio >= targetAuditRatio && !c.Flagged,
			}
			if floor {
				fr := df.Result.PerSecond / cf.Result.PerSecond
				t.Floor, t.FloorPass = fmt.Sprintf("%.2fx", fr), fr >= targetAuditRatio && !df.Flagged
			}
			out = append(out, t)
		}
		// Two records per call: the request (durable before forwarding) and its outcome.
		perRecord := (c.GatewayCPUmsPerCall - g.GatewayCPUmsPerCall) / 2
		spread := roundSpread(c, g, 2)
		if c.AuditCommits > 0 {
			spread += fmt.Sprintf("; %.1f records per commit", float64(c.AuditRecords)/float64(c.AuditCommits))
		}
		t := targetCheck{
			What:   fmt.Sprintf("gateway CPU per audit record, %s c=%d ((gateway-audit minus gateway) / 2 records per call; floor: (relay-durable minus relay-copy) / 2)", c.Payload, c.Concurrency),
			Target: fmt.Sprintf("<= %.2f ms", targetAuditRecordCPUms),
			Got:    fmt.Sprintf("%+.3f ms", perRecord) + spread,
			Pass:   perRecord <= targetAuditRecordCPUms,
		}
		if floor {
			fr := (df.GatewayCPUmsPerCall - cf.GatewayCPUmsPerCall) / 2
			t.Floor, t.FloorPass = fmt.Sprintf("%+.3f ms", fr)+roundSpread(df, cf, 2), fr <= targetAuditRecordCPUms
		}
		out = append(out, t)
	}
	for _, c := range r.Cells {
		g := plain[fmt.Sprint(c.Payload, c.Concurrency)]
		if c.Path != "gateway-inspect" || g == nil || c.Result.Calls == 0 || g.Result.Calls == 0 {
			continue
		}
		// Inspection on is held to the gateway's own targets.
		limit := targetEchoCPUms
		if c.Payload == "blob" {
			limit = targetBlobCPUms
		}
		// The floors are the core's: a relay inspects nothing, so what inspection may cost
		// on this machine is the room between them and the target.
		key := fmt.Sprint(c.Payload, c.Concurrency)
		t := targetCheck{
			What:   fmt.Sprintf("gateway CPU per %s call with inspection on, c=%d (added: %+.3f ms%s)", c.Payload, c.Concurrency, c.GatewayCPUmsPerCall-g.GatewayCPUmsPerCall, strings.TrimSuffix(strings.Replace(roundSpread(c, g, 1), " (", ", ", 1), ")")),
			Target: fmt.Sprintf("<= %.2f ms", limit),
			Got:    fmt.Sprintf("%.3f ms", c.GatewayCPUmsPerCall),
			Pass:   c.GatewayCPUmsPerCall <= limit,
		}
		if f := relay[key]; f != nil && f.Result.Calls > 0 {
			t.Floor, t.FloorPass = fmt.Sprintf("%.3f ms", f.GatewayCPUmsPerCall), f.GatewayCPUmsPerCall <= limit
		}
		if f := copyRelay[key]; f != nil && f.Result.Calls > 0 {
			t.CopyFloor, t.CopyFloorPass = fmt.Sprintf("%.3f ms", f.GatewayCPUmsPerCall), f.GatewayCPUmsPerCall <= limit
		}
		out = append(out, t)
		if c.Concurrency == targetRatioConc {
			t := targetCheck{
				What:   fmt.Sprintf("gateway/direct throughput with inspection on, %s c=%d", c.Payload, c.Concurrency),
				Target: fmt.Sprintf(">= %.2fx", targetRatio),
				Got:    fmt.Sprintf("%.2fx", c.Ratio),
				Pass:   c.Ratio >= targetRatio && !c.Flagged,
			}
			if f := relay[key]; f != nil {
				t.Floor, t.FloorPass = fmt.Sprintf("%.2fx", f.Ratio), f.Ratio >= targetRatio && !f.Flagged
			}
			if f := copyRelay[key]; f != nil {
				t.CopyFloor, t.CopyFloorPass = fmt.Sprintf("%.2fx", f.Ratio), f.Ratio >= targetRatio && !f.Flagged
			}
			out = append(out, t)
		}
	}
	for _, ir := range r.Idle {
		if ir.Sessions != targetIdleSession {
			continue
		}
		out = append(out, targetCheck{
			What:   fmt.Sprintf("gateway RSS with %d idle sessions, upstream %s", ir.Sessions, ir.Upstream),
			Target: fmt.Sprintf("<= %.0f MiB", targetIdleRSSMiB),
			Got:    fmt.Sprintf("%.1f MiB", mib(ir.RSSIdle)),
			Pass:   mib(ir.RSSIdle) <= targetIdleRSSMiB && ir.Opened == ir.Sessions,
		})
	}
	return out
}

func notes(r *report) []string {
	var n []string
	if r.Machine.NumCPU <= 4 {
		n = append(n, fmt.Sprintf("Only %d CPUs: the load client, the upstream and the gateway share them, so the gateway's share of CPU lowers the upstream's and the client's; ratios at high concurrency are CPU-bound and understate what the gateway does on a larger machine.", r.Machine.NumCPU))
	}
	n = append(n,
		"proxy CPU ms/call = (utime+stime of the process between client and upstream, the gateway or the relay, over the measured window) / successful calls; clock-tick resolution is "+fmt.Sprintf("%d", r.Machine.ClockTicks)+" Hz.",
		"up CPU ms/call = the same for the upstream process (direct rows: work per direct call, gateway rows: per call through the gateway).",
		"Each worker is one MCP session (initialize + notifications/initialized); sessions are DELETEd after each cell. Through the gateway every session gets its own upstream session (per_session, the HTTP default).",
		"relay rows: a raw TCP relay (`gatehouse-bench relay`, io.Copy both ways, no HTTP or JSON-RPC parsing) between client and upstream, its CPU in the proxy CPU column: the cost of one extra loopback hop on this machine, below which no proxy can go. Between two TCP sockets Go's io.Copy uses splice(2): the bytes never enter the relay's memory.",
		"relay-copy rows: the same relay reading every byte into its own 64 KiB buffer and writing it out (`gatehouse-bench relay --copy`): the floor for any proxy that must read what it forwards (to parse it, remap ids, inspect it). The targets table shows both floors beside the gateway's value.",
		"relay-durable rows (with --audit): the copying relay appending every chunk it reads to a durable log (`gatehouse-bench relay --copy --durable FILE`): SHA-256-chained, one write(2) into a preallocated file and one fdatasync(2) per group commit, grouped as the gateway's auditor groups; a chunk from a client is forwarded only once it is durable, a chunk from the upstream (the outcome) is appended as its SHA-256 digest (the gateway records a response by size and keyed digest) without waiting. No encoding, no index, no database: the floor under any durable audit record on this machine's disk. The audit checks show it against relay-copy as their floor.",
		fmt.Sprintf("gateway-auth rows: a second gateway on the same upstream with JWT authentication (RS256, a real issuer in the load tool, the token verified and cached) and a policy of %d roles and %d rules (a few with CEL conditions evaluated on every call); the plain gateway rows run an open one-role policy. Their difference is what identity and policy add; runs of the same build differ by more than that target, so the in-process Go benchmarks (BenchmarkDecide, BenchmarkVerifyCached) give the steadier figure.", r.Settings.PolicyRoles, r.Settings.PolicyRules),
		"gateway-audit rows: a third gateway with the audit trail on (SQLite in its data directory, WAL, synchronous=FULL; the request record durable before each call is forwarded, group-committed across concurrent calls; the outcome record after). Compared with the plain gateway rows, which run with audit off.",
		"gateway-stdio rows: the same upstream over stdio (shared by all sessions) through the gateway; ratio and added latency are against the direct HTTP rows.",
		"The generated gateway config raises limits.max_sessions and limits.max_sessions_per_client (default 64, and every load session comes from 127.0.0.1).",
	)
	return n
}

func printMarkdown(w io.Writer, r *report) {
	m := r.Machine
	fmt.Fprintf(w, "# gatehouse-bench\n\n")
	fmt.Fprintf(w, "- command: `%s`\n", strings.Join(r.CommandLine, " "))
	fmt.Fprintf(w, "- machine: %d CPUs (GOMAXPROCS %d), %s, %s, kernel %s\n", m.NumCPU, m.GOMAXPROCS, m.CPUModel, m.OS, m.Kernel)
	fmt.Fprintf(w, "- Go: bench %s, gatehouse binary %s (%s)\n", m.GoVersion, r.GatehouseGo, r.Gatehouse)
	fmt.Fprintf(w, "- clock ticks: %d/s (%s)\n", m.ClockTicks, m.ClockSrc)
	s := r.Settings
	fmt.Fprintf(w, "- per cell: warm-up %s, measure %s", s.Warmup, s.Duration)
	if s.Count > 0 {
		fmt.Fprintf(w, " or %d calls", s.Count)
	}
	fmt.Fprintf(w, "; upstream responses: %s\n", map[bool]string{false: "text/event-stream (SDK default)", true: "application/json"}[s.UpstreamJSON])
	fmt.Fprintf(w, "- started %s\n\n", r.Started.Format(time.RFC3339))

	fmt.Fprintf(w, "## Throughput and latency\n\n")
	fmt.Fprintf(w, "| payload | c | path | calls | calls/s | p50 ms | p99 ms | errors | /direct | +p50 ms | +p99 ms | proxy CPU ms/call | up CPU ms/call | proxy RSS MiB before→after |\n")
	fmt.Fprintf(w, "|---|--:|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n")
	for _, c := range r.Cells {
		res := c.Result
		flag := ""
		if c.Flagged {
			flag = " ⚠"
		}
		ratio, added, added99, cpu, rss := "", "", "", "", ""
		if c.Path != "direct" {
			ratio = fmt.Sprintf("%.2fx", c.Ratio)
			added = fmt.Sprintf("%+.3f", ms(c.AddedP50))
			added99 = fmt.Sprintf("%+.3f", ms(c.AddedP99))
			cpu = fmt.Sprintf("%.3f", c.GatewayCPUmsPerCall)
			rss = fmt.Sprintf("%.1f→%.1f", mib(c.GatewayRSSBefore), mib(c.GatewayRSSAfter))
		}
		up := ""
		if c.UpstreamCPUmsPerCall > 0 {
			up = fmt.Sprintf("%.3f", c.UpstreamCPUmsPerCall)
		}
		fmt.Fprintf(w, "| %s | %d | %s%s | %d | %.0f | %.3f | %.3f | %d | %s | %s | %s | %s | %s | %s |\n",
			c.Payload, c.Concurrency, c.Path, flag, res.Calls, res.PerSecond, ms(res.Latency.P50), ms(res.Latency.P99),
			res.Errors, ratio, added, added99, cpu, up, rss)
	}
	var flagged []string
	for _, c := range r.Cells {
		if c.Flagged {
			flagged = append(flagged, fmt.Sprintf("- ⚠ %s c=%d %s: %s", c.Payload, c.Concurrency, c.Path, strings.Join(c.FlagReasons, "; ")))
		}
	}
	if len(flagged) > 0 {
		fmt.Fprintf(w, "\nFlagged cells:\n%s\n", strings.Join(flagged, "\n"))
	}

	if len(r.Idle) > 0 {
		fmt.Fprintf(w, "\n## Idle sessions (initialize + initialized, no calls), fresh gateway process\n\n")
		fmt.Fprintf(w, "| upstream | sessions opened | open time | gw RSS fresh MiB | gw RSS idle MiB | KiB/session | gw RSS after DELETE MiB | gw fds fresh→idle | gw threads | gw CPU ms opening | upstream |\n")
		fmt.Fprintf(w, "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|\n")
		for _, ir := range r.Idle {
			per := 0.0
			if ir.Opened > 0 {
				per = float64(ir.RSSIdle-ir.RSSFresh) / 1024 / float64(ir.Opened)
			}
			upDesc := ""
			if ir.UpstreamStatsIdle != nil {
				pre := ir.UpstreamStatsPre
				upDesc = fmt.Sprintf("%d upstream sessions initialized, %d standalone GET streams open; upstream RSS %.1f→%.1f MiB",
					ir.UpstreamStatsIdle["initialized"]-pre["initialized"], ir.UpstreamStatsIdle["open_gets"],
					mib(ir.UpstreamRSSFresh), mib(ir.UpstreamRSSIdle))
			} else {
				upDesc = fmt.Sprintf("%d upstream process(es) under the gateway", ir.UpstreamProcs)
			}
			opened := fmt.Sprintf("%d/%d", ir.Opened, ir.Sessions)
			if ir.OpenError != "" {
				opened += " ⚠ " + ir.OpenError
			}
			fmt.Fprintf(w, "| %s | %s (gw reports %d) | %s | %.1f | %.1f | %.1f | %.1f | %d→%d | %d | %.0f | %s |\n",
				ir.Upstream, opened, ir.HealthSessions, ir.OpenTime.Round(time.Millisecond), mib(ir.RSSFresh), mib(ir.RSSIdle), per,
				mib(ir.RSSAfterClose), ir.FDsFresh, ir.FDsIdle, ir.ThreadsIdle, ir.CPUmsOpen, upDesc)
		}
	}
	if len(r.Targets) > 0 {
		fmt.Fprintf(w, "\n## Targets\n\n| check | target | gateway | | floor: raw TCP relay (audit rows: durable relay) | | floor: copying relay | |\n|---|---|---|---|---|---|---|---|\n")
		mark := func(pass bool) string {
			if pass {
				return "PASS"
			}
			return "**FAIL**"
		}
		for _, t := range r.Targets {
			floor, floorMark, cfloor, cfloorMark := "", "", "", ""
			if t.Floor != "" {
				floor, floorMark = t.Floor, mark(t.FloorPass)
			}
			if t.CopyFloor != "" {
				cfloor, cfloorMark = t.CopyFloor, mark(t.CopyFloorPass)
			}
			fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s | %s |\n", t.What, t.Target, t.Got, mark(t.Pass), floor, floorMark, cfloor, cfloorMark)
		}
	}
	if len(r.GatewayLogs) > 0 {
		fmt.Fprintf(w, "\n## Gateway logs (warn and above)\n\n```\n%s\n```\n", strings.Join(r.GatewayLogs, "\n"))
	}
	if len(r.Notes) > 0 {
		fmt.Fprintf(w, "\n## Notes\n\n")
		for _, n := range r.Notes {
			fmt.Fprintf(w, "- %s\n", n)
		}
	}
}
