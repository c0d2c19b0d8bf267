package bench

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// stdioHelperEnv makes the test binary serve the reference upstream on stdin/stdout, as
// `gatehouse-bench upstream --stdio` does.
const stdioHelperEnv = "GATEHOUSE_BENCH_STDIO_UPSTREAM"

func TestMain(m *testing.M) {
	if os.Getenv(stdioHelperEnv) != "" {
		if err := ServeStdioUpstream(context.Background()); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// fdNonblocking reports whether descriptor fd of process pid is in non-blocking mode.
func fdNonblocking(t *testing.T, pid, fd int) bool {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/fdinfo/%d", pid, fd))
	if err != nil {
		t.Skipf("no fdinfo: %v", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "flags:"); ok {
			flags, err := strconv.ParseUint(strings.TrimSpace(v), 8, 64)
			if err != nil {
				t.Fatalf("fdinfo flags %q", v)
			}
			return flags&syscall.O_NONBLOCK != 0
		}
	}
	t.Fatalf("no flags in fdinfo %d of %d", fd, pid)
	return false
}

// TestStdioUpstreamPolled runs the stdio upstream as the gateway does (a child on blocking
// pipes) and checks that it reads stdin and writes stdout through the poller: a goroutine
// parked in a blocking read(2) on stdin can hold up a stop-the-world of Go 1.26's runtime
// until the next message arrives, and at concurrency 1 none arrives before the response (the
// hang itself is a race too rare to reproduce here). Blob results, larger than the pipe,
// make the writes wait for room.
func TestStdioUpstreamPolled(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), stdioHelperEnv+"=1")
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})
	lines := make(chan string)
	go func() {
		br := bufio.NewReaderSize(stdout, 256<<10)
		for {
			l, err := br.ReadString('\n')
			if err != nil {
				close(lines)
				return
			}
			lines <- l
		}
	}()
	call := func(req string) string {
		t.Helper()
		if _, err := io.WriteString(stdin, req+"\n"); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(req, `"method":"notifications/`) {
			return ""
		}
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("the upstream closed stdout")
			}
			return l
		case <-time.After(10 * time.Second):
			t.Fatalf("no response to %.80s", req)
			return ""
		}
	}
	if got := call(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"0"}}}`); !strings.Contains(got, `"protocolVersion"`) {
		t.Fatalf("initialize: %.200s", got)
	}
	call(`{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	for fd, name := range []string{"stdin", "stdout"} {
		if !fdNonblocking(t, cmd.Process.Pid, fd) {
			t.Errorf("the upstream's %s is in blocking mode: its reads and writes do not go through the poller", name)
		}
	}
	for i := range 20 {
		got := call(fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"blob","arguments":{}}}`, 10+i))
		if !strings.Contains(got, `"result"`) || len(got) < BlobSize {
			t.Fatalf("blob call %d: %d bytes: %.200s", i, len(got), got)
		}
	}
	stdin.Close()
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("the upstream ended with %v after stdin closed", err)
		}
		exited <- nil // for the cleanup
	case <-time.After(10 * time.Second):
		t.Fatal("the upstream did not end when stdin closed")
	}
}
