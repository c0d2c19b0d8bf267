package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"gatehouse/internal/bench"
)

// child is a process the tool started: the upstream or a gateway.
type child struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	log     *os.File
	exited  chan struct{}
	waitErr error
}

func (c *child) pid() int { return c.cmd.Process.Pid }

// start runs cmd with its stderr to logPath; the child dies with the tool (Pdeathsig).
func start(name string, cmd *exec.Cmd, logPath string) (*child, error) {
	f, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd.Stderr = f
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	c := &child{name: name, cmd: cmd, logPath: logPath, log: f, exited: make(chan struct{})}
	go func() {
		c.waitErr = cmd.Wait()
		close(c.exited)
	}()
	return c, nil
}

// stop ends the child: SIGTERM, then SIGKILL after 5s. Its process group goes too (a stdio
// upstream started by the gateway).
func (c *child) stop() {
	if c == nil {
		return
	}
	select {
	case <-c.exited:
	default:
		c.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-c.exited:
		case <-time.After(5 * time.Second):
			c.cmd.Process.Kill()
			<-c.exited
		}
	}
	// Anything left in the child's own process group (a stdio upstream).
	syscall.Kill(-c.cmd.Process.Pid, syscall.SIGKILL)
	c.log.Close()
}

// logSummary returns the number of lines the child logged and the first few.
func (c *child) logSummary(maxLines int) (int, []string) {
	b, err := os.ReadFile(c.logPath)
	if err != nil || len(b) == 0 {
		return 0, nil
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	first := lines
	if len(first) > maxLines {
		first = first[:maxLines]
	}
	return len(lines), first
}

// snapshot is a process's counters at one moment.
type snapshot struct {
	ticks uint64
	rss   int64
}

func snap(pid int) snapshot {
	var s snapshot
	if st, err := bench.ReadStat(pid); err == nil {
		s.ticks = st.Ticks()
	}
	if r, err := bench.ReadRSS(pid); err == nil {
		s.rss = r
	}
	return s
}

// startUpstream runs `<self> upstream --addr 127.0.0.1:0` and returns its endpoint URL.
func startUpstream(ctx context.Context, self, dir string, jsonResponse bool) (*child, string, error) {
	args := []string{"upstream", "--addr", "127.0.0.1:0"}
	if jsonResponse {
		args = append(args, "--json-response")
	}
	c, l, err := startListening(ctx, "upstream", exec.Command(self, args...), dir)
	return c, l, err
}

// startRelay runs `<self> relay --to HOST:PORT [--copy]` in front of the upstream and returns
// the URL of the upstream's MCP endpoint through it.
func startRelay(ctx context.Context, self, dir, upURL string, userCopy bool) (*child, string, error) {
	u, err := url.Parse(upURL)
	if err != nil {
		return nil, "", err
	}
	name, args := "relay", []string{"relay", "--to", u.Host}
	if userCopy {
		name, args = "relay-copy", append(args, "--copy")
	}
	c, addr, err := startListening(ctx, name, exec.Command(self, args...), dir)
	if err != nil {
		return nil, "", err
	}
	u.Host = addr
	return c, u.String(), nil
}

// startDurableRelay starts the copying relay with a durable log in dir: the audit floor.
func startDurableRelay(ctx context.Context, self, dir, upURL string) (*child, string, error) {
	u, err := url.Parse(upURL)
	if err != nil {
		return nil, "", err
	}
	args := []string{"relay", "--to", u.Host, "--copy", "--durable", filepath.Join(dir, "relay-durable.log")}
	c, addr, err := startListening(ctx, "relay-durable", exec.Command(self, args...), dir)
	if err != nil {
		return nil, "", err
	}
	u.Host = addr
	return c, u.String(), nil
}

// startListening starts cmd and waits for its first stdout line, "listening X", returning X.
func startListening(ctx context.Context, name string, cmd *exec.Cmd, dir string) (*child, string, error) {
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, "", err
	}
	c, err := start(name, cmd, filepath.Join(dir, name+".log"))
	if err != nil {
		return nil, "", err
	}
	line := make(chan string, 1)
	go func() {
		r := bufio.NewReader(out)
		l, _ := r.ReadString('\n')
		line <- strings.TrimSpace(l)
		io.Copy(io.Discard, r)
	}()
	select {
	case l := <-line:
		u, ok := strings.CutPrefix(l, "listening ")
		if !ok {
			c.stop()
			return nil, "", fmt.Errorf("%s did not start: %q", name, l)
		}
		return c, u, nil
	case <-time.After(10 * time.Second):
		c.stop()
		return nil, "", fmt.Errorf("%s did not start within 10s", name)
	case <-ctx.Done():
		c.stop()
		return nil, "", ctx.Err()
	}
}

// freePort asks the kernel for an unused loopback port. (The gateway logs its address only at
// info level, and the benchmark runs it at warn.)
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// openPolicy lets the anonymous caller use every tool: the plain gateway rows measure the
// core with the policy stage in place but trivial, and content inspection off.
func openPolicy(string) string {
	return `identity:
  anonymous: {roles: [bench]}
policy:
  roles:
    bench:
      - tools: ["*"]
audit:
  enabled: false
inspection:
  enabled: false
`
}

// inspectOn is openPolicy with content inspection on, at its defaults (every detector).
func inspectOn(string) string {
	return strings.Replace(openPolicy(""), "inspection:\n  enabled: false\n", "", 1)
}

// auditOn is openPolicy with the audit trail on: SQLite in the gateway's data directory,
// every request record durable before the call is forwarded.
func auditOn(string) string {
	return strings.Replace(openPolicy(""), "audit:\n  enabled: false\n", "audit:\n  enabled: true\n", 1)
}

// gatewayConfig is the YAML configuration of a benchmark gateway: one upstream named "up",
// and security (auth, identity, policy) given the endpoint's URL.
func gatewayConfig(port, maxSessions int, upstreamYAML string, security func(url string) string) string {
	if security == nil {
		security = openPolicy
	}
	return fmt.Sprintf(`# generated by gatehouse-bench
listen:
  address: 127.0.0.1:%d
  path: /mcp
limits:
  max_sessions: %d
  max_sessions_per_client: %d
log:
  level: warn
%supstreams:
  - name: up
%s`, port, maxSessions, maxSessions, security(fmt.Sprintf("http://127.0.0.1:%d/mcp", port)), upstreamYAML)
}

func httpUpstreamYAML(url string) string {
	q, _ := json.Marshal(url)
	return fmt.Sprintf("    transport: streamable_http\n    url: %s\n", q)
}

func stdioUpstreamYAML(self string) string {
	q, _ := json.Marshal(self)
	return fmt.Sprintf("    transport: stdio\n    command: %s\n    args: [\"upstream\", \"--stdio\"]\n", q)
}

// gateway is a running `gatehouse serve`.
type gateway struct {
	*child
	url    string // the MCP endpoint
	health string
	config string
}

// startGateway writes the configuration and runs `gatehouse serve`, waiting until /healthz
// answers and every upstream is up (or 15s).
// With profileDir set, the gateway writes a CPU profile there (name.pprof) until it stops.
func startGateway(ctx context.Context, bin, dir, name, upstreamYAML string, maxSessions int, security func(url string) string, profileDir string) (*gateway, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	cfgPath := filepath.Join(dir, name+".yaml")
	cfg := gatewayConfig(port, maxSessions, upstreamYAML, security)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		return nil, err
	}
	args := []string{"serve", "--config", cfgPath}
	if profileDir != "" {
		args = append(args, "--cpuprofile", filepath.Join(profileDir, name+".pprof"))
	}
	c, err := start(name, exec.Command(bin, args...), filepath.Join(dir, name+".log"))
	if err != nil {
		return nil, err
	}
	g := &gateway{child: c, url: fmt.Sprintf("http://127.0.0.1:%d/mcp", port), health: fmt.Sprintf("http://127.0.0.1:%d/healthz", port), config: cfg}
	deadline := time.Now().Add(15 * time.Second)
	for {
		h, err := g.healthz()
		if err == nil {
			allUp := true
			for _, u := range h.Upstreams {
				// A per-session upstream is "up" only once a session dialled it.
				if u.Shared && !u.Up {
					allUp = false
				}
			}
			if allUp {
				return g, nil
			}
		}
		select {
		case <-c.exited:
			n, lines := c.logSummary(20)
			return nil, fmt.Errorf("gateway exited (%v); log (%d lines):\n%s", c.waitErr, n, strings.Join(lines, "\n"))
		case <-ctx.Done():
			c.stop()
			return nil, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			c.stop()
			return nil, fmt.Errorf("gateway not healthy within 15s (last: %v)", err)
		}
	}
}

type healthDoc struct {
	Status    string `json:"status"`
	Sessions  int    `json:"sessions"`
	Upstreams []struct {
		Name   string `json:"name"`
		Shared bool   `json:"shared"`
		Up     bool   `json:"up"`
		Error  string `json:"error"`
	} `json:"upstreams"`
	Audit *struct {
		Records int64 `json:"records_written"`
		Commits int64 `json:"commits"`
	} `json:"audit"`
}

// probe returns a client for the occasional health and stats reads.
func probe() *http.Client {
	return &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}
}

func (g *gateway) healthz() (*healthDoc, error) {
	resp, err := probe().Get(g.health)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("healthz: HTTP %d", resp.StatusCode)
	}
	var h healthDoc
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
		return nil, err
	}
	return &h, nil
}

// upstreamStats reads the HTTP upstream's /stats.
func upstreamStats(mcpURL string) map[string]int64 {
	u := strings.TrimSuffix(mcpURL, "/mcp") + "/stats"
	resp, err := probe().Get(u)
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	var m map[string]int64
	json.NewDecoder(resp.Body).Decode(&m)
	return m
}

// moduleRoot finds the directory holding go.mod at or above the working directory.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && strings.HasPrefix(strings.TrimSpace(string(b)), "module gatehouse") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("not inside the gatehouse module: pass --gatehouse PATH")
		}
		dir = parent
	}
}

// buildGatehouse runs `go build ./cmd/gatehouse` into dir.
func buildGatehouse(ctx context.Context, dir string) (string, error) {
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	out := filepath.Join(dir, "gatehouse")
	cctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(cctx, "go", "build", "-o", out, "./cmd/gatehouse")
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/gatehouse: %v\n%s", err, b)
	}
	return out, nil
}
