package sockio

import (
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"unsafe"
)

// Conn is a TCP connection whose Read, Write and Writev make their system calls directly.
// Everything else (deadlines, Close, CloseWrite, addresses) is the wrapped *net.TCPConn's.
// Like a net.Conn it allows one reader and one writer at a time, concurrently.
type Conn struct {
	*net.TCPConn
	rc syscall.RawConn

	// The read in progress: its buffer, result and errno, under rmu (net.Conn allows
	// concurrent calls). The func values are bound once, so that a read or write allocates
	// nothing.
	rmu    sync.Mutex
	rbuf   []byte
	rn     int
	rerr   syscall.Errno
	readFn func(fd uintptr) bool

	wmu     sync.Mutex
	wbuf    []byte
	wvec    [][]byte
	iov     []syscall.Iovec
	wn      int
	werr    syscall.Errno
	writeFn func(fd uintptr) bool
	vecFn   func(fd uintptr) bool
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
	sc := &Conn{TCPConn: tc, rc: rc}
	sc.readFn = sc.doRead
	sc.writeFn = sc.doWrite
	sc.vecFn = sc.doWritev
	return sc
}

func (c *Conn) doRead(fd uintptr) bool {
	for {
		n, _, e := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(unsafe.SliceData(c.rbuf))), uintptr(len(c.rbuf)))
		switch e {
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return false // the poller parks the goroutine until the socket is readable
		}
		c.rn, c.rerr = int(n), e
		return true
	}
}

// Read implements net.Conn.
func (c *Conn) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	c.rmu.Lock()
	c.rbuf, c.rn, c.rerr = p, 0, 0
	err := c.rc.Read(c.readFn)
	n, errno := c.rn, c.rerr
	c.rbuf = nil
	c.rmu.Unlock()
	if err != nil {
		return 0, c.opError("read", err)
	}
	if errno != 0 {
		return 0, c.opError("read", os.NewSyscallError("read", errno))
	}
	if n == 0 {
		return 0, io.EOF
	}
	return n, nil
}

func (c *Conn) doWrite(fd uintptr) bool {
	for len(c.wbuf) > 0 {
		n, _, e := syscall.RawSyscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(unsafe.SliceData(c.wbuf))), uintptr(len(c.wbuf)))
		switch e {
		case 0:
			c.wn += int(n)
			c.wbuf = c.wbuf[n:]
		case syscall.EINTR:
		case syscall.EAGAIN:
			return false // the poller parks the goroutine until there is room
		default:
			c.werr = e
			return true
		}
	}
	return true
}

// Write implements net.Conn: it returns when all of p is written or on an error.
func (c *Conn) Write(p []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.wbuf, c.wn, c.werr = p, 0, 0
	err := c.rc.Write(c.writeFn)
	c.wbuf = nil
	return c.wn, c.writeError(err)
}

// maxIov bounds the buffers one writev is given (the kernel's limit is 1024).
const maxIov = 64

func (c *Conn) doWritev(fd uintptr) bool {
	for len(c.wvec) > 0 {
		c.iov = c.iov[:0]
		for _, b := range c.wvec {
			if len(c.iov) == maxIov {
				break
			}
			if len(b) > 0 {
				c.iov = append(c.iov, syscall.Iovec{Base: unsafe.SliceData(b), Len: uint64(len(b))})
			}
		}
		if len(c.iov) == 0 {
			c.wvec = nil
			break
		}
		n, _, e := syscall.RawSyscall(syscall.SYS_WRITEV, fd, uintptr(unsafe.Pointer(unsafe.SliceData(c.iov))), uintptr(len(c.iov)))
		switch e {
		case 0:
			c.wn += int(n)
			c.consume(int(n))
		case syscall.EINTR:
		case syscall.EAGAIN:
			return false
		default:
			c.werr = e
			return true
		}
	}
	return true
}

// consume drops n written bytes from the front of c.wvec.
func (c *Conn) consume(n int) {
	for len(c.wvec) > 0 {
		if l := len(c.wvec[0]); l <= n {
			n -= l
			c.wvec = c.wvec[1:]
			continue
		}
		c.wvec[0] = c.wvec[0][n:]
		return
	}
}

// Writev writes the buffers in order, gathered into as few system calls as the socket
// allows. It may reslice the elements of v.
func (c *Conn) Writev(v [][]byte) (int64, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.wvec, c.wn, c.werr = v, 0, 0
	err := c.rc.Write(c.vecFn)
	c.wvec = nil
	clear(c.iov)
	c.iov = c.iov[:0]
	return int64(c.wn), c.writeError(err)
}

func (c *Conn) writeError(err error) error {
	if err != nil {
		return c.opError("write", err)
	}
	if c.werr != 0 {
		return c.opError("write", os.NewSyscallError("write", c.werr))
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
