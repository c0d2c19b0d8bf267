//go:build unix

package bench

import (
	"os"
	"syscall"
)

// pollable returns f's descriptor as a file the runtime polls: put in non-blocking mode, a
// pipe's or terminal's reads and writes wait in the poller instead of in a system call
// (a regular file, which the poller refuses, is read as before). restore puts the
// descriptor back in blocking mode, for whoever shares it after this process.
func pollable(f *os.File) (file *os.File, restore func()) {
	fd := int(f.Fd())
	if err := syscall.SetNonblock(fd, true); err != nil {
		return f, func() {}
	}
	return os.NewFile(uintptr(fd), f.Name()), func() { syscall.SetNonblock(fd, false) }
}
