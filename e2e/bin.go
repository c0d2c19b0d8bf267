package e2e

// Helpers that build and run the gatehouse binary itself, and speak raw Streamable HTTP to it.
// Test-support code only; nothing in the gateway imports it.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// GatehouseBin builds ./cmd/gatehouse and returns the binary's path. The binary is cached in
// the system temp directory under a key of every Go source file of the module (outside e2e),
// go.mod, go.sum, the Go version and the platform; a file lock serializes concurrent builds
// (goroutines or test binaries), so a source change means exactly one rebuild.
func GatehouseBin(t testing.TB) string {
	t.Helper()
	root := RepoRoot(t)
	h := sha256.New()
	// GATEHOUSE_E2E_RACE=1 builds the gateway with the race detector (run with
	// GORACE=halt_on_error=1 so that a race fails the test that hits it).
	race := os.Getenv("GATEHOUSE_E2E_RACE") == "1"
	fmt.Fprintf(h, "%s\x00%s/%s\x00race=%v\x00", runtime.Version(), runtime.GOOS, runtime.GOARCH, race)
	var files []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if d.IsDir() {
			switch {
			case rel == "e2e", strings.HasPrefix(d.Name(), "."), d.Name() == "node_modules", d.Name() == "testdata":
				if rel != "." {
					return filepath.SkipDir
				}
			}
			return nil
		}
		if (strings.HasSuffix(rel, ".go") && !strings.HasSuffix(rel, "_test.go")) || rel == "go.mod" || rel == "go.sum" {
			files = append(files, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("e2e: hashing sources: %v", err)
	}
	sort.Strings(files)
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			t.Fatalf("e2e: %v", err)
		}
		fmt.Fprintf(h, "%s\x00%d\x00", f, len(b))
		h.Write(b)
	}
	var flags []string
	if race {
		flags = []string{"-race"}
	}
	return buildCached(t, "gatehouse-"+hex.EncodeToString(h.Sum(nil))[:16], "./cmd/gatehouse", flags...)
}

// lockFile takes an exclusive lock on path (created if needed), shared by goroutines and by
// other test binaries, and returns its release.
func lockFile(t testing.TB, path string) func() {
	t.Helper()
	lf, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		t.Fatalf("e2e: opening lock %s: %v", path, err)
	}
	if err := syscall.Flock(int(lf.Fd()), syscall.LOCK_EX); err != nil {
		lf.Close()
		t.Fatalf("e2e: locking %s: %v", path, err)
	}
	return func() {
		syscall.Flock(int(lf.Fd()), syscall.LOCK_UN)
		lf.Close()
	}
}

// buildCached builds the Go package pkg (with build flags) into the system temp directory as
// name, once: later calls and later test binaries find it there, and a file lock makes
// concurrent builders wait for one build. name must change whenever the inputs do.
func buildCached(t testing.TB, name, pkg string, flags ...string) string {
	t.Helper()
	dir := filepath.Join(os.TempDir(), "gatehouse-e2e-bin")
	bin := filepath.Join(dir, name)
	if fi, err := os.Stat(bin); err == nil && fi.Mode().IsRegular() {
		return bin
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("e2e: %v", err)
	}
	defer lockFile(t, filepath.Join(dir, ".build.lock"))()
	if fi, err := os.Stat(bin); err == nil && fi.Mode().IsRegular() {
		return bin // built while we waited
	}
	tmp := bin + ".tmp"
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	args := append([]string{"build", "-o", tmp}, flags...)
	cmd := exec.CommandContext(ctx, "go", append(args, pkg)...)
	cmd.Dir = RepoRoot(t)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("e2e: go build %s: %v\n%s", pkg, err, out)
	}
	if err := os.Rename(tmp, bin); err != nil {
		t.Fatalf("e2e: %v", err)
	}
	return bin
}

// Gatehouse is a running `gatehouse serve`.
type Gatehouse struct {
	URL     string // the MCP endpoint, http://127.0.0.1:PORT/mcp
	Base    string // http://127.0.0.1:PORT
	Logs    *lockedBuffer
	Process *os.Process
	Config  string // path of the configuration file
	exited  <-chan struct{}
}

// Stop ends the gateway gracefully (SIGTERM) and waits until it has exited, so that what it
// does on shutdown (the audit index completed, a last checkpoint) is done.
func (g *Gatehouse) Stop(t testing.TB) {
	t.Helper()
	g.Process.Signal(syscall.SIGTERM)
	select {
	case <-g.exited:
	case <-time.After(10 * time.Second):
		t.Fatalf("e2e: gatehouse did not exit within 10s of SIGTERM")
	}
}

// StartGatehouse writes yaml (with "{{PORT}}" replaced by a free port; a yaml without it gets
// a listen address appended) to a temp dir, runs `gatehouse serve --config` with the extra
// environment env ("K=V", on top of this process's), waits for /healthz and stops the gateway
// when the test ends. Its logs are printed when the test failed.
//
// A configuration without a policy section runs under OpenPolicyYAML: the tests of the core
// are about protocol fidelity, not access control. Tests of identity and policy bring their
// own.
func StartGatehouse(t testing.TB, yaml string, env ...string) *Gatehouse {
	t.Helper()
	return StartGatehouseArgs(t, yaml, nil, env...)
}

// StartGatehouseArgs is StartGatehouse with extra arguments to `gatehouse serve`.
func StartGatehouseArgs(t testing.TB, yaml string, args []string, env ...string) *Gatehouse {
	t.Helper()
	yaml = withOpenPolicy(yaml)
	port := FreePort(t)
	if strings.Contains(yaml, "{{PORT}}") {
		yaml = strings.ReplaceAll(yaml, "{{PORT}}", strconv.Itoa(port))
	} else {
		yaml = "listen: {address: 127.0.0.1:" + strconv.Itoa(port) + "}\n" + yaml
	}
	path := filepath.Join(t.TempDir(), "gatehouse.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o644); err != nil {
		t.Fatalf("e2e: %v", err)
	}
	cmd, logs, exited := startGatehouseProcessArgs(t, path, args, env...)
	base := "http://127.0.0.1:" + strconv.Itoa(port)
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case <-exited:
			t.Fatalf("e2e: gatehouse exited before serving:\n%s", logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("e2e: gatehouse /healthz not ready after 15s (%v):\n%s", err, logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	return &Gatehouse{URL: base + "/mcp", Base: base, Logs: logs, Process: cmd.Process, Config: path, exited: exited}
}

// startGatehouseProcess runs `gatehouse serve --config path` with the extra environment env
// and stops it (SIGTERM, then the whole process group) when the test ends; its logs are
// printed when the test failed.
func startGatehouseProcess(t testing.TB, path string, env ...string) (*exec.Cmd, *lockedBuffer, <-chan struct{}) {
	t.Helper()
	return startGatehouseProcessArgs(t, path, nil, env...)
}

func startGatehouseProcessArgs(t testing.TB, path string, args []string, env ...string) (*exec.Cmd, *lockedBuffer, <-chan struct{}) {
	t.Helper()
	bin := GatehouseBin(t)
	cmd := exec.Command(bin, append([]string{"serve", "--config", path}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	logs := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("e2e: starting gatehouse: %v", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(8 * time.Second):
			t.Errorf("gatehouse did not stop within 8s of SIGTERM")
		}
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // the gateway and any child left over
		<-exited
		if t.Failed() {
			t.Logf("gatehouse logs:\n%s", logs.String())
		}
	})
	return cmd, logs, exited
}

// StdioGatehouse writes yaml to a temp dir and returns the argv of `gatehouse stdio --config`.
// Without a policy section it runs under OpenPolicyYAML, like StartGatehouse.
func StdioGatehouse(t testing.TB, yaml string) []string {
	t.Helper()
	yaml = withOpenPolicy(yaml)
	bin := GatehouseBin(t)
	path := filepath.Join(t.TempDir(), "gatehouse-stdio.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o644); err != nil {
		t.Fatalf("e2e: %v", err)
	}
	return []string{bin, "stdio", "--config", path}
}

// Health is the decoded /healthz document.
type Health struct {
	Status   string `json:"status"`
	Sessions int    `json:"sessions"`
	CPUs     struct {
		Mode  string `json:"mode"`
		Procs int    `json:"procs"`
		Max   int    `json:"max"`
	} `json:"cpus"`
	Upstreams []struct {
		Name  string `json:"name"`
		Up    bool   `json:"up"`
		Error string `json:"error"`
	} `json:"upstreams"`
}

// Health fetches /healthz.
func (g *Gatehouse) Health(t testing.TB) Health {
	t.Helper()
	resp, err := http.Get(g.Base + "/healthz")
	if err != nil {
		t.Fatalf("healthz: %v", err)
	}
	defer resp.Body.Close()
	var h Health
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
		t.Fatalf("healthz: %v", err)
	}
	return h
}

// UpstreamUp reports whether /healthz says upstream name is up (and its error).
func (h Health) UpstreamUp(name string) (bool, string) {
	for _, u := range h.Upstreams {
		if u.Name == name {
			return u.Up, u.Error
		}
	}
	return false, "not listed"
}

// WaitUpstreamsUp polls /healthz until every named upstream is up.
func (g *Gatehouse) WaitUpstreamsUp(t testing.TB, timeout time.Duration, names ...string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		h := g.Health(t)
		var down []string
		for _, n := range names {
			if up, e := h.UpstreamUp(n); !up {
				down = append(down, n+" ("+e+")")
			}
		}
		if len(down) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("upstreams still down after %v: %v", timeout, down)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// ---- YAML building ----

// UpstreamStdioYAML is one stdio upstream entry (argv[0] is the command).
func UpstreamStdioYAML(name string, argv []string, extra string) string {
	q := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	args := make([]string, 0, len(argv)-1)
	for _, a := range argv[1:] {
		args = append(args, q(a))
	}
	s := fmt.Sprintf("  - name: %s\n    transport: stdio\n    command: %s\n    args: [%s]\n", name, q(argv[0]), strings.Join(args, ", "))
	if extra != "" {
		s += indent(extra, "    ")
	}
	return s
}

// UpstreamHTTPYAML is one streamable_http upstream entry.
func UpstreamHTTPYAML(name, url, extra string) string {
	s := fmt.Sprintf("  - name: %s\n    transport: streamable_http\n    url: %q\n", name, url)
	if extra != "" {
		s += indent(extra, "    ")
	}
	return s
}

func indent(s, prefix string) string {
	var b strings.Builder
	for _, l := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		b.WriteString(prefix + l + "\n")
	}
	return b.String()
}

// ---- raw Streamable HTTP ----

// RawSession speaks Streamable HTTP to the gateway by hand.
type RawSession struct {
	URL       string
	SessionID string
	Version   string
	Client    *http.Client
}

// RawResponse is one HTTP exchange: status, headers, and the JSON-RPC messages of the body
// (one for application/json, every event's data for text/event-stream) with their event ids.
type RawResponse struct {
	Status   int
	Header   http.Header
	Body     []byte
	Messages []json.RawMessage
	EventIDs []string
}

// Final returns the last message of the response (the response to the request).
func (r *RawResponse) Final() map[string]any {
	if len(r.Messages) == 0 {
		return nil
	}
	var m map[string]any
	json.Unmarshal(r.Messages[len(r.Messages)-1], &m)
	return m
}

// Post sends body (a JSON-RPC message) on the session and reads the whole response.
func (s *RawSession) Post(ctx context.Context, body string, hdr ...string) (*RawResponse, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL, strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	if s.SessionID != "" {
		req.Header.Set("Mcp-Session-Id", s.SessionID)
	}
	if s.Version != "" {
		req.Header.Set("Mcp-Protocol-Version", s.Version)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i+1] == "" {
			req.Header.Del(hdr[i])
		} else {
			req.Header.Set(hdr[i], hdr[i+1])
		}
	}
	c := s.Client
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return readRaw(resp)
}

func readRaw(resp *http.Response) (*RawResponse, error) {
	b, err := io.ReadAll(resp.Body)
	out := &RawResponse{Status: resp.StatusCode, Header: resp.Header, Body: b}
	if err != nil {
		return out, err
	}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		evs := ParseSSE(b)
		for _, e := range evs {
			if e.Data != "" {
				out.Messages = append(out.Messages, json.RawMessage(e.Data))
				out.EventIDs = append(out.EventIDs, e.ID)
			}
		}
	} else if len(bytes.TrimSpace(b)) > 0 {
		out.Messages = []json.RawMessage{b}
		out.EventIDs = []string{""}
	}
	return out, nil
}

// SSEEvent is one parsed server-sent event.
type SSEEvent struct {
	ID, Event, Data string
}

// ParseSSE parses a complete SSE body.
func ParseSSE(b []byte) []SSEEvent {
	var out []SSEEvent
	var cur SSEEvent
	var data []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	flush := func() {
		if data != nil || cur.ID != "" {
			cur.Data = strings.Join(data, "\n")
			out = append(out, cur)
		}
		cur, data = SSEEvent{}, nil
	}
	for sc.Scan() {
		l := sc.Text()
		switch {
		case l == "":
			flush()
		case strings.HasPrefix(l, ":"):
		default:
			k, v, _ := strings.Cut(l, ":")
			v = strings.TrimPrefix(v, " ")
			switch k {
			case "id":
				cur.ID = v
			case "event":
				cur.Event = v
			case "data":
				data = append(data, v)
			}
		}
	}
	flush()
	return out
}

// ReadSSEEvent reads the next event from an SSE stream reader (blocking).
func ReadSSEEvent(br *bufio.Reader) (SSEEvent, error) {
	var ev SSEEvent
	var data []string
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return ev, err
		}
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			if data != nil || ev.ID != "" {
				ev.Data = strings.Join(data, "\n")
				return ev, nil
			}
			continue
		}
		if strings.HasPrefix(line, ":") {
			continue
		}
		k, v, _ := strings.Cut(line, ":")
		v = strings.TrimPrefix(v, " ")
		switch k {
		case "id":
			ev.ID = v
		case "event":
			ev.Event = v
		case "data":
			data = append(data, v)
		}
	}
}

// RawInitialize opens a raw session: initialize (with the given capabilities JSON) and
// notifications/initialized.
func RawInitialize(t testing.TB, ctx context.Context, url, caps string) *RawSession {
	t.Helper()
	s, resp, err := TryRawInitialize(ctx, url, caps)
	if err != nil {
		t.Fatalf("raw initialize: %v", err)
	}
	if s == nil {
		t.Fatalf("raw initialize: HTTP %d: %s", resp.Status, resp.Body)
	}
	return s
}

// TryRawInitialize is RawInitialize returning the failure instead (s nil unless it worked).
func TryRawInitialize(ctx context.Context, url, caps string) (*RawSession, *RawResponse, error) {
	if caps == "" {
		caps = "{}"
	}
	s := &RawSession{URL: url}
	resp, err := s.Post(ctx, `{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":`+caps+`,"clientInfo":{"name":"raw","version":"1"}}}`)
	if err != nil {
		return nil, resp, err
	}
	if resp.Status != http.StatusOK || resp.Header.Get("Mcp-Session-Id") == "" {
		return nil, resp, nil
	}
	s.SessionID = resp.Header.Get("Mcp-Session-Id")
	s.Version = "2025-11-25"
	r2, err := s.Post(ctx, `{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	if err != nil {
		return nil, r2, err
	}
	if r2.Status != http.StatusAccepted {
		return nil, r2, fmt.Errorf("notifications/initialized: HTTP %d: %s", r2.Status, r2.Body)
	}
	return s, resp, nil
}

// ---- processes ----

// ChildPIDs returns the pids of the direct children of pid whose command line contains
// every one of subs (from /proc).
func ChildPIDs(pid int, subs ...string) []int {
	var out []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		n, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		st, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces, so cut after the last ')'.
		i := bytes.LastIndexByte(st, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(st[i+1:]))
		if len(f) < 2 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		if ppid != pid {
			continue
		}
		cl, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		cmdline := string(bytes.ReplaceAll(cl, []byte{0}, []byte{' '}))
		ok := true
		for _, s := range subs {
			if !strings.Contains(cmdline, s) {
				ok = false
			}
		}
		if ok {
			out = append(out, n)
		}
	}
	return out
}

// TestdataBin builds the Go program e2e/testdata/NAME and returns the binary's path, cached
// in the temp directory under a key of its source, go.sum and the Go version.
func TestdataBin(t testing.TB, name string) string {
	t.Helper()
	root := RepoRoot(t)
	h := sha256.New()
	// GATEHOUSE_E2E_RACE=1 builds the gateway with the race detector (run with
	// GORACE=halt_on_error=1 so that a race fails the test that hits it).
	race := os.Getenv("GATEHOUSE_E2E_RACE") == "1"
	fmt.Fprintf(h, "%s\x00%s/%s\x00race=%v\x00", runtime.Version(), runtime.GOOS, runtime.GOARCH, race)
	for _, f := range []string{filepath.Join("e2e", "testdata", name, "main.go"), "go.sum", "go.mod"} {
		b, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			t.Fatalf("e2e: %v", err)
		}
		h.Write(b)
	}
	dir := filepath.Join(os.TempDir(), "gatehouse-e2e-bin")
	bin := filepath.Join(dir, name+"-"+hex.EncodeToString(h.Sum(nil))[:16])
	if fi, err := os.Stat(bin); err == nil && fi.Mode().IsRegular() {
		return bin
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("e2e: %v", err)
	}
	tmp, err := os.CreateTemp(dir, name+"-*.tmp")
	if err != nil {
		t.Fatalf("e2e: %v", err)
	}
	tmp.Close()
	defer os.Remove(tmp.Name())
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", tmp.Name(), "./e2e/testdata/"+name)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("e2e: go build ./e2e/testdata/%s: %v\n%s", name, err, out)
	}
	if err := os.Rename(tmp.Name(), bin); err != nil {
		t.Fatalf("e2e: %v", err)
	}
	return bin
}

// OpenPolicyYAML grants every caller (the anonymous HTTP caller and the stdio user) every
// tool, prompt and resource.
const OpenPolicyYAML = `identity:
  anonymous: {roles: [e2e]}
  stdio: {roles: [e2e]}
policy:
  roles:
    e2e:
      - tools: ["*"]
        prompts: ["*"]
        resources: ["*"]
`

func withOpenPolicy(yaml string) string {
	if strings.Contains(yaml, "\npolicy:") || strings.HasPrefix(yaml, "policy:") {
		return yaml
	}
	return OpenPolicyYAML + yaml
}
