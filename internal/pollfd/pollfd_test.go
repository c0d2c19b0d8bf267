//go:build unix

package pollfd

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// nonblocking reads fd's flags (not through os.File.Fd, which puts a file in blocking mode).
func nonblocking(t *testing.T, fd int) bool {
	t.Helper()
	fl, _, errno := syscall.Syscall(syscall.SYS_FCNTL, uintptr(fd), syscall.F_GETFL, 0)
	if errno != 0 {
		t.Fatal(errno)
	}
	return fl&syscall.O_NONBLOCK != 0
}

// TestPollablePipe: a blocking pipe becomes non-blocking, a read on it waits in the poller
// (a deadline works, which a blocking file refuses) and gets what is written, and restore
// puts the descriptor back in blocking mode.
func TestPollablePipe(t *testing.T) {
	// Descriptors as a process inherits them (os.Stdin): blocking, unknown to the poller.
	var fds [2]int
	if err := syscall.Pipe(fds[:]); err != nil {
		t.Fatal(err)
	}
	inherited, w := os.NewFile(uintptr(fds[0]), "inherited"), os.NewFile(uintptr(fds[1]), "w")
	defer w.Close()
	if nonblocking(t, fds[0]) {
		t.Fatal("set up: the pipe is non-blocking already")
	}
	p, restore := Pollable(inherited)
	if !nonblocking(t, fds[0]) {
		t.Fatal("Pollable left the pipe blocking")
	}
	if err := p.SetReadDeadline(time.Now().Add(20 * time.Millisecond)); err != nil {
		t.Fatalf("the pipe is not polled: %v", err)
	}
	if _, err := p.Read(make([]byte, 1)); !os.IsTimeout(err) {
		t.Fatalf("read on an empty polled pipe: %v, want a timeout", err)
	}
	p.SetReadDeadline(time.Time{})
	go w.Write([]byte("x"))
	if b := make([]byte, 1); func() error { _, err := p.Read(b); return err }() != nil || b[0] != 'x' {
		t.Fatal("the polled pipe does not read what is written")
	}
	restore()
	if nonblocking(t, fds[0]) {
		t.Fatal("restore left the pipe non-blocking")
	}
}

// TestPollableLeavesFiles: a regular file is returned as it is.
func TestPollableLeavesFiles(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "f"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	p, restore := Pollable(f)
	defer restore()
	if p != f || nonblocking(t, int(f.Fd())) {
		t.Fatal("a regular file was changed")
	}
}
