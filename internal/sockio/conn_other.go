//go:build !linux

package sockio

import "net"

// Wrap returns c unchanged: the direct path is Linux only.
func Wrap(c net.Conn) net.Conn { return c }

// Listener returns ln unchanged.
func Listener(ln net.Listener) net.Listener { return ln }
