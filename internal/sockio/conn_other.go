//go:build !linux

package sockio

import (
	"net"
	"os"
)

// Wrap returns c unchanged: the direct path is Linux only.
func Wrap(c net.Conn) net.Conn { return c }

// Listener returns ln unchanged.
func Listener(ln net.Listener) net.Listener { return ln }

// WrapFile returns f unchanged.
func WrapFile(f *os.File) PipeFile { return f }
