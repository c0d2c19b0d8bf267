package sockio

import (
	"io"
	"net"
	"os"
	"syscall"
)

// Conn is a TCP connection whose Read, Write and Writev make their system calls directly.
// Everything else (deadlines, Close, CloseWrite, addresses) is the wrapped *net.TCPConn's.
type Conn struct {
	*net.TCPConn
	d direct
}

// Wrap returns c with direct reads and writes if it is a *net.TCPConn, else c itself.
func Wrap(c net.Conn) net.Conn {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return c
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return c
	}
	sc := &Conn{TCPConn: tc}
	sc.d.init(rc)
	return sc
}

// Read implements net.Conn.
func (c *Conn) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	n, errno, err := c.d.read(p)
	switch {
	case err != nil:
		return 0, c.opError("read", err)
	case errno != 0:
		return 0, c.opError("read", os.NewSyscallError("read", errno))
	case n == 0:
		return 0, io.EOF
	}
	return n, nil
}

// Write implements net.Conn: it returns when all of p is written or on an error.
func (c *Conn) Write(p []byte) (int, error) {
	n, errno, err := c.d.write(p)
	return n, c.writeError(err, errno)
}

// Writev writes the buffers in order, gathered into as few system calls as the socket
// allows. It may reslice the elements of v.
func (c *Conn) Writev(v [][]byte) (int64, error) {
	n, errno, err := c.d.writev(v)
	return int64(n), c.writeError(err, errno)
}

func (c *Conn) writeError(err error, errno syscall.Errno) error {
	switch {
	case err != nil:
		return c.opError("write", err)
	case errno != 0:
		return c.opError("write", os.NewSyscallError("write", errno))
	}
	return nil
}

// opError wraps err as the net package does. A RawConn's own errors (a deadline, a closed
// connection) arrive already wrapped; their inner error is kept, so errors.Is sees
// os.ErrDeadlineExceeded and net.ErrClosed as on a plain connection.
func (c *Conn) opError(op string, err error) error {
	if oe, ok := err.(*net.OpError); ok {
		err = oe.Err
	}
	return &net.OpError{Op: op, Net: "tcp", Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: err}
}

// The embedded TCPConn's ReadFrom and WriteTo (io.Copy's fast paths: splice, sendfile) stay
// as they are: bulk copies gain nothing from the direct path.
var _ net.Conn = (*Conn)(nil)

// Listener wraps every connection ln accepts.
func Listener(ln net.Listener) net.Listener { return listener{ln} }

type listener struct{ net.Listener }

func (l listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return Wrap(c), nil
}
