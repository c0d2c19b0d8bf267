package upstream

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The test binary doubles as the child process: with helperEnv set, TestMain runs a tiny
// helper instead of the tests, so no external program is needed.
const helperEnv = "GATEHOUSE_STDIO_HELPER"

func TestMain(m *testing.M) {
	if mode := os.Getenv(helperEnv); mode != "" {
		runHelper(mode)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func runHelper(mode string) {
	out := bufio.NewWriter(os.Stdout)
	writeLine := func(s string) {
		out.WriteString(s)
		out.WriteByte('\n')
		out.Flush()
	}
	switch mode {
	case "echo":
		// Every stdin line comes back on stdout; "env" answers with the environment.
		fmt.Fprintln(os.Stderr, "helper started")
		fmt.Fprintln(os.Stderr, "second stderr line")
		sc := bufio.NewScanner(os.Stdin)
		sc.Buffer(make([]byte, 0, 64<<10), 8<<20)
		for sc.Scan() {
			line := sc.Text()
			if strings.Contains(line, `"method":"env"`) {
				b, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "result": map[string]any{"env": os.Environ()}})
				writeLine(string(b))
				continue
			}
			writeLine(line)
		}
	case "long":
		n, _ := strconv.Atoi(os.Getenv("LONG_N"))
		writeLine(`{"jsonrpc":"2.0","method":"first"}`)
		pad := n - len(`{"jsonrpc":"2.0","method":"x","params":{"p":""}}`)
		writeLine(`{"jsonrpc":"2.0","method":"x","params":{"p":"` + strings.Repeat("a", max(pad, 0)) + `"}}`)
		time.Sleep(time.Minute)
	case "gated":
		// Reads nothing until SIGUSR1 (so that its stdin pipe fills), then answers every
		// line with its length.
		go1 := make(chan os.Signal, 1)
		signal.Notify(go1, syscall.SIGUSR1)
		writeLine(`{"jsonrpc":"2.0","method":"ready"}`)
		<-go1
		sc := bufio.NewScanner(os.Stdin)
		sc.Buffer(make([]byte, 0, 64<<10), 8<<20)
		for sc.Scan() {
			writeLine(fmt.Sprintf(`{"jsonrpc":"2.0","method":"line","params":{"len":%d}}`, len(sc.Bytes())))
		}
	case "exit":
		fmt.Fprintln(os.Stderr, "exiting with 3")
		os.Exit(3)
	case "stubborn":
		// Ignores stdin close and SIGTERM; starts a grandchild that does the same.
		signal.Ignore(syscall.SIGTERM)
		exe, _ := os.Executable()
		cmd := exec.Command(exe)
		cmd.Env = []string{helperEnv + "=sleeper"}
		if err := cmd.Start(); err != nil {
			fmt.Fprintln(os.Stderr, "start grandchild:", err)
			os.Exit(1)
		}
		writeLine(fmt.Sprintf(`{"jsonrpc":"2.0","method":"pids","params":{"child":%d,"grandchild":%d}}`, os.Getpid(), cmd.Process.Pid))
		time.Sleep(time.Hour)
	case "sleeper":
		signal.Ignore(syscall.SIGTERM)
		time.Sleep(time.Hour)
	}
}

// recordHandler is a slog.Handler that keeps every record.
type recordHandler struct {
	mu    *sync.Mutex
	recs  *[]slog.Record
	attrs []slog.Attr
}

func newRecordHandler() *recordHandler {
	return &recordHandler{mu: &sync.Mutex{}, recs: &[]slog.Record{}}
}

func (h *recordHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *recordHandler) Handle(_ context.Context, r slog.Record) error {
	r = r.Clone()
	r.AddAttrs(h.attrs...)
	h.mu.Lock()
	*h.recs = append(*h.recs, r)
	h.mu.Unlock()
	return nil
}
func (h *recordHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &recordHandler{mu: h.mu, recs: h.recs, attrs: append(append([]slog.Attr{}, h.attrs...), as...)}
}
func (h *recordHandler) WithGroup(string) slog.Handler { return h }

// find returns the attributes of the first record with msg whose attr key has value val.
func (h *recordHandler) find(msg, key, val string) (map[string]string, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, r := range *h.recs {
		if r.Message != msg {
			continue
		}
		attrs := map[string]string{}
		r.Attrs(func(a slog.Attr) bool {
			attrs[a.Key] = a.Value.String()
			return true
		})
		if attrs[key] == val {
			return attrs, true
		}
	}
	return nil, false
}

func helperStdio(t *testing.T, mode string, extraEnv ...string) *Stdio {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return &Stdio{
		Name:      "helper",
		Command:   exe,
		Env:       append([]string{helperEnv + "=" + mode}, extraEnv...),
		StopGrace: 200 * time.Millisecond,
	}
}

type stdioCollector struct {
	mu   sync.Mutex
	msgs []string
	ch   chan struct{}
}

func (c *stdioCollector) handle(msg, related []byte) {
	c.mu.Lock()
	c.msgs = append(c.msgs, string(msg))
	c.mu.Unlock()
	if related != nil {
		panic("stdio delivered a related id")
	}
	select {
	case c.ch <- struct{}{}:
	default:
	}
}

// next waits for the i-th message.
func (c *stdioCollector) next(t *testing.T, i int) string {
	t.Helper()
	deadline := time.NewTimer(10 * time.Second)
	defer deadline.Stop()
	for {
		c.mu.Lock()
		if i < len(c.msgs) {
			m := c.msgs[i]
			c.mu.Unlock()
			return m
		}
		c.mu.Unlock()
		select {
		case <-c.ch:
		case <-deadline.C:
			t.Fatalf("message %d never arrived", i)
		}
	}
}

func dialStdio(t *testing.T, s *Stdio) (Conn, *stdioCollector) {
	t.Helper()
	col := &stdioCollector{ch: make(chan struct{}, 1)}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := s.Dial(ctx, col.handle)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeBounded(t, c) })
	return c, col
}

func closeBounded(t *testing.T, c Conn) {
	t.Helper()
	done := make(chan struct{})
	go func() { c.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		t.Error("Close did not return")
	}
}

func waitConnDone(t *testing.T, c Conn) error {
	t.Helper()
	select {
	case <-c.Done():
		return c.Err()
	case <-time.After(10 * time.Second):
		t.Fatal("Done never closed")
		return nil
	}
}

func sendCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestStdioEnvIsolation(t *testing.T) {
	t.Setenv("GATEHOUSE_PARENT_SECRET", "must-not-leak")
	s := helperStdio(t, "echo", "ONLY_THIS=1")
	c, col := dialStdio(t, s)
	if err := c.Send(sendCtx(t), []byte(`{"jsonrpc":"2.0","id":1,"method":"env"}`)); err != nil {
		t.Fatal(err)
	}
	var resp struct {
		Result struct{ Env []string } `json:"result"`
	}
	if err := json.Unmarshal([]byte(col.next(t, 0)), &resp); err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, kv := range resp.Result.Env {
		got[kv] = true
		if strings.HasPrefix(kv, "GATEHOUSE_PARENT_SECRET=") {
			t.Errorf("the parent's variable reached the child: %s", kv)
		}
	}
	if !got["ONLY_THIS=1"] || !got[helperEnv+"=echo"] || len(resp.Result.Env) != 2 {
		t.Errorf("child environment %q, want exactly %q", resp.Result.Env, s.Env)
	}
}

func TestStdioRoundTripAndStderr(t *testing.T) {
	logs := newRecordHandler()
	s := helperStdio(t, "echo")
	s.Logger = slog.New(logs)
	c, col := dialStdio(t, s)
	c.SetProtocolVersion("2025-11-25") // no-op for stdio
	msgs := []string{
		`{"jsonrpc":"2.0","id":1,"method":"ping"}`,
		`{"jsonrpc":"2.0","method":"notifications/x","params":{"unicode":"é ☃","unknown":{"k":[1,2]}}}`,
		`{"jsonrpc":"2.0","id":"s","result":{}}`,
	}
	for _, m := range msgs {
		if err := c.Send(sendCtx(t), []byte(m)); err != nil {
			t.Fatal(err)
		}
	}
	for i, m := range msgs {
		if got := col.next(t, i); got != m {
			t.Errorf("message %d: got %s, want %s", i, got, m)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		attrs, ok := logs.find("upstream stderr", "line", "helper started")
		if ok {
			if attrs["upstream"] != "helper" || attrs["pid"] == "" {
				t.Errorf("stderr record attrs %v", attrs)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("stderr line never logged")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := c.Err(); err != nil {
		t.Fatalf("Err while alive: %v", err)
	}
}

func TestStdioMessageLimit(t *testing.T) {
	for _, tc := range []struct {
		name   string
		max, n int
	}{
		{"short line over limit", 100, 1000},
		{"line over reader buffer", 70000, 100000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := helperStdio(t, "long", "LONG_N="+strconv.Itoa(tc.n))
			s.MaxMessage = tc.max
			c, col := dialStdio(t, s)
			if got := col.next(t, 0); !strings.Contains(got, `"first"`) {
				t.Fatalf("first message %s", got)
			}
			err := waitConnDone(t, c)
			if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("exceeds %d bytes", tc.max)) {
				t.Fatalf("Err = %v", err)
			}
			if err := c.Send(sendCtx(t), []byte(`{"jsonrpc":"2.0","method":"x"}`)); err == nil {
				t.Fatal("Send after failure succeeded")
			}
		})
	}
	// A line of exactly MaxMessage bytes is accepted.
	s := helperStdio(t, "long", "LONG_N=100")
	s.MaxMessage = 100
	_, col := dialStdio(t, s)
	if got := col.next(t, 1); len(got) != 100 {
		t.Fatalf("message at the limit: %d bytes", len(got))
	}
}

func TestStdioProcessExit(t *testing.T) {
	c, _ := dialStdio(t, helperStdio(t, "exit"))
	err := waitConnDone(t, c)
	if err == nil || !strings.Contains(err.Error(), "exited") || !strings.Contains(err.Error(), "exit status 3") || !strings.Contains(err.Error(), `"helper"`) {
		t.Fatalf("Err = %v", err)
	}
	if err := c.Send(sendCtx(t), []byte(`{"jsonrpc":"2.0","method":"x"}`)); err == nil {
		t.Fatal("Send to an exited process succeeded")
	}
}

func TestStdioCloseIdempotent(t *testing.T) {
	c, _ := dialStdio(t, helperStdio(t, "echo"))
	var wg sync.WaitGroup
	for i := 0; i < 3; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			closeBounded(t, c)
		}()
	}
	wg.Wait()
	closeBounded(t, c)
	select {
	case <-c.Done():
	default:
		t.Fatal("Done open after Close")
	}
	if c.Err() == nil {
		t.Fatal("Err nil after Close")
	}
}

// processGone reports whether pid no longer runs (absent, or a zombie nobody reaped yet).
func processGone(pid int) bool {
	if err := syscall.Kill(pid, 0); err != nil {
		return true
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		return s[i+2] == 'Z'
	}
	return false
}

func TestStdioCloseKillsStubbornGroup(t *testing.T) {
	c, col := dialStdio(t, helperStdio(t, "stubborn"))
	var msg struct {
		Params struct{ Child, Grandchild int } `json:"params"`
	}
	if err := json.Unmarshal([]byte(col.next(t, 0)), &msg); err != nil {
		t.Fatal(err)
	}
	if msg.Params.Child == 0 || msg.Params.Grandchild == 0 {
		t.Fatalf("pids %+v", msg.Params)
	}
	t.Cleanup(func() { syscall.Kill(msg.Params.Grandchild, syscall.SIGKILL) })
	closeBounded(t, c)
	if !processGone(msg.Params.Child) {
		t.Error("child survived Close")
	}
	deadline := time.Now().Add(5 * time.Second)
	for !processGone(msg.Params.Grandchild) {
		if time.Now().After(deadline) {
			t.Fatal("grandchild survived Close")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestStdioDialErrors(t *testing.T) {
	ctx := sendCtx(t)
	s := &Stdio{Name: "nope", Command: "no-such-program-gatehouse", Env: []string{"PATH=/nonexistent"}}
	if _, err := s.Dial(ctx, func([]byte, []byte) {}); err == nil || !strings.Contains(err.Error(), "not found") || !strings.Contains(err.Error(), `"nope"`) {
		t.Fatalf("err %v", err)
	}
	s = &Stdio{Name: "nope", Command: "/nonexistent/prog"}
	if _, err := s.Dial(ctx, func([]byte, []byte) {}); err == nil {
		t.Fatal("started a missing program")
	}
	cctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := helperStdio(t, "echo").Dial(cctx, func([]byte, []byte) {}); err == nil {
		t.Fatal("Dial with a cancelled ctx succeeded")
	}
}

func TestStdioLookPathUsesEnvPATH(t *testing.T) {
	dir := t.TempDir()
	prog := dir + "/gh-fake-prog"
	if err := os.WriteFile(prog, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	s := &Stdio{Command: "gh-fake-prog", Env: []string{"PATH=/nonexistent:" + dir}}
	p, err := s.lookPath()
	if err != nil || p != prog {
		t.Fatalf("lookPath = %q, %v", p, err)
	}
	// A declared PATH is the only one searched, even when empty.
	s = &Stdio{Command: "sh", Env: []string{"PATH="}}
	if _, err := s.lookPath(); err == nil {
		t.Fatal("found sh with an empty declared PATH")
	}
	// A relative command with a slash is relative to Dir.
	s = &Stdio{Command: "./gh-fake-prog", Dir: dir}
	if p, err := s.lookPath(); err != nil || p != prog {
		t.Fatalf("relative: %q %v", p, err)
	}
}

// TestStdioCancelledSendSparesTheNext: a Send whose ctx ends just as its write completes
// must not leave its write deadline behind for the next Send, whose caller cancelled
// nothing (that write failed, and with it the connection every session shares).
func TestStdioCancelledSendSparesTheNext(t *testing.T) {
	c, _ := dialStdio(t, helperStdio(t, "echo"))
	msg := []byte(`{"jsonrpc":"2.0","method":"x"}`)
	for i := range 5000 {
		ctx, cancel := context.WithCancel(context.Background())
		go cancel()
		c.Send(ctx, msg) // cancelled before, during or after the write: any outcome will do
		if err := c.Send(sendCtx(t), msg); err != nil {
			t.Fatalf("send %d, after a cancelled one: %v", i, err)
		}
	}
	select {
	case <-c.Done():
		t.Fatalf("connection ended: %v", c.Err())
	default:
	}
}

// pipeSize is the capacity of the pipe behind the connection's stdin.
func pipeSize(t *testing.T, c Conn) int {
	t.Helper()
	sc, ok := c.(*stdioConn).stdin.(interface {
		SyscallConn() (syscall.RawConn, error)
	})
	if !ok {
		t.Skip("stdin has no SyscallConn")
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var n int
	var errno syscall.Errno
	if err := rc.Control(func(fd uintptr) {
		r, _, e := syscall.Syscall(syscall.SYS_FCNTL, fd, 1032 /* F_GETPIPE_SZ */, 0)
		n, errno = int(r), e
	}); err != nil || errno != 0 {
		t.Skipf("F_GETPIPE_SZ: %v %v", err, errno)
	}
	return n
}

// TestStdioSendCutShort: a Send whose ctx ends while the child is not reading. When none of
// the message was written the stream is intact and the connection goes on; when part of it
// was, what follows would be read as the rest of it, so the connection ends and the child
// is stopped.
func TestStdioSendCutShort(t *testing.T) {
	line := func(n int) []byte { // a message of n bytes, newline included
		pre, post := `{"jsonrpc":"2.0","method":"x","params":{"p":"`, `"}}`
		return []byte(pre + strings.Repeat("a", n-1-len(pre)-len(post)) + post)
	}
	small := line(64)
	for _, tc := range []struct {
		name   string
		before int // bytes written (and fitting) before the cut-short Send; -1: the pipe's size
		cut    int // size of the message whose Send ends while the pipe is full
		broken bool
	}{
		{name: "nothing written", before: -1, cut: len(small) + 1},
		{name: "part written", before: 0, cut: 256 << 10, broken: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, col := dialStdio(t, helperStdio(t, "gated"))
			if got := col.next(t, 0); !strings.Contains(got, "ready") {
				t.Fatalf("first message %s", got)
			}
			pid := c.(*stdioConn).cmd.Process.Pid
			before := tc.before
			if before < 0 {
				before = pipeSize(t, c)
			}
			if before > 0 {
				if err := c.Send(sendCtx(t), line(before)); err != nil {
					t.Fatal(err)
				}
			}
			ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
			err := c.Send(ctx, line(tc.cut))
			cancel()
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("cut-short Send: %v, want the deadline", err)
			}
			if tc.broken {
				if err := waitConnDone(t, c); err == nil || !strings.Contains(err.Error(), "cut short") {
					t.Fatalf("connection error %v, want it cut short", err)
				}
				deadline := time.Now().Add(5 * time.Second)
				for !processGone(pid) {
					if time.Now().After(deadline) {
						t.Fatal("the child of a broken stream still runs")
					}
					time.Sleep(10 * time.Millisecond)
				}
				return
			}
			syscall.Kill(pid, syscall.SIGUSR1)
			if err := c.Send(sendCtx(t), small); err != nil {
				t.Fatalf("Send after one that wrote nothing: %v", err)
			}
			for i, want := range []int{before - 1, len(small)} {
				if got, w := col.next(t, 1+i), fmt.Sprintf(`"len":%d}`, want); !strings.Contains(got, w) {
					t.Fatalf("child read line %d as %s, want %s", i, got, w)
				}
			}
			select {
			case <-c.Done():
				t.Fatalf("connection ended: %v", c.Err())
			default:
			}
		})
	}
}
