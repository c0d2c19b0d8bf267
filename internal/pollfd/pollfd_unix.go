//go:build unix

package pollfd

import (
	"os"
	"runtime"
	"syscall"
)

// Pollable returns f as a file the runtime polls, and a func that puts f's descriptor back in
// blocking mode for whoever shares it after this process. Only a pipe or a socket is
// changed: a terminal is shared with a shell that expects blocking reads (and would be left
// non-blocking if this process were killed), and the poller refuses regular files.
func Pollable(f *os.File) (*os.File, func()) {
	fi, err := f.Stat()
	if err != nil || fi.Mode()&(os.ModeNamedPipe|os.ModeSocket) == 0 {
		return f, func() {}
	}
	fd := int(f.Fd())
	if err := syscall.SetNonblock(fd, true); err != nil {
		return f, func() {}
	}
	nf := os.NewFile(uintptr(fd), f.Name())
	return nf, func() {
		syscall.SetNonblock(fd, false)
		runtime.KeepAlive(nf) // its finalizer would close fd
	}
}
