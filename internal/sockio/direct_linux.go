package sockio

import (
	"sync"
	"syscall"
	"unsafe"
)

// direct makes reads and writes on a pollable descriptor through its RawConn: the system
// call directly, the poller parking the goroutine on EAGAIN. Reads are serialised with
// reads and writes with writes (one call's state lives here), as net.Conn and os.File allow
// concurrent calls.
type direct struct {
	rc syscall.RawConn

	// The read in progress: its buffer, result and errno. The func values are bound once,
	// so that a read or write allocates nothing.
	rmu    sync.Mutex
	rbuf   []byte
	rn     int
	rerr   syscall.Errno
	readFn func(fd uintptr) bool

	// The write in progress, under wmu: a single Write is a writev of one (one).
	wmu   sync.Mutex
	one   [1][]byte
	wvec  [][]byte
	iov   []syscall.Iovec
	wn    int
	werr  syscall.Errno
	vecFn func(fd uintptr) bool
}

func (d *direct) init(rc syscall.RawConn) {
	d.rc = rc
	d.readFn = d.doRead
	d.vecFn = d.doWritev
}

func (d *direct) doRead(fd uintptr) bool {
	for {
		n, _, e := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(unsafe.SliceData(d.rbuf))), uintptr(len(d.rbuf)))
		switch e {
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return false // the poller parks the goroutine until the descriptor is readable
		}
		d.rn, d.rerr = int(n), e
		return true
	}
}

// read reads into p (len(p) > 0): n bytes (0 at the end of the stream), or the RawConn's
// error (a deadline, a closed descriptor), or the system call's errno.
func (d *direct) read(p []byte) (int, syscall.Errno, error) {
	d.rmu.Lock()
	defer d.rmu.Unlock()
	d.rbuf, d.rn, d.rerr = p, 0, 0
	err := d.rc.Read(d.readFn)
	d.rbuf = nil
	return d.rn, d.rerr, err
}

// write writes all of p, or fails: the bytes written and the error or errno. It is writev
// with one buffer, so that one loop handles partial writes and waits.
func (d *direct) write(p []byte) (int, syscall.Errno, error) {
	d.wmu.Lock()
	defer d.wmu.Unlock()
	d.one[0] = p
	n, errno, err := d.writevLocked(d.one[:])
	d.one[0] = nil
	return n, errno, err
}

// maxIov bounds the buffers one writev is given (the kernel's limit is 1024).
const maxIov = 64

func (d *direct) doWritev(fd uintptr) bool {
	for len(d.wvec) > 0 {
		d.iov = d.iov[:0]
		for _, b := range d.wvec {
			if len(d.iov) == maxIov {
				break
			}
			if len(b) > 0 {
				d.iov = append(d.iov, syscall.Iovec{Base: unsafe.SliceData(b), Len: uint64(len(b))})
			}
		}
		if len(d.iov) == 0 {
			d.wvec = nil
			break
		}
		n, _, e := syscall.RawSyscall(syscall.SYS_WRITEV, fd, uintptr(unsafe.Pointer(unsafe.SliceData(d.iov))), uintptr(len(d.iov)))
		switch e {
		case 0:
			d.wn += int(n)
			d.consume(int(n))
		case syscall.EINTR:
		case syscall.EAGAIN:
			return false
		default:
			d.werr = e
			return true
		}
	}
	return true
}

// consume drops n written bytes from the front of d.wvec.
func (d *direct) consume(n int) {
	for len(d.wvec) > 0 {
		if l := len(d.wvec[0]); l <= n {
			n -= l
			d.wvec = d.wvec[1:]
			continue
		}
		d.wvec[0] = d.wvec[0][n:]
		return
	}
}

// writev writes the buffers in order, gathered into as few system calls as the descriptor
// allows. It may reslice the elements of v.
func (d *direct) writev(v [][]byte) (int, syscall.Errno, error) {
	d.wmu.Lock()
	defer d.wmu.Unlock()
	return d.writevLocked(v)
}

func (d *direct) writevLocked(v [][]byte) (int, syscall.Errno, error) {
	d.wvec, d.wn, d.werr = v, 0, 0
	err := d.rc.Write(d.vecFn)
	d.wvec = nil
	clear(d.iov)
	d.iov = d.iov[:0]
	return d.wn, d.werr, err
}
