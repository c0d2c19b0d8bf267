package sockio

import (
	"errors"
	"io"
	"os"
	"syscall"
	"time"
)

// File is a pipe (from os.Pipe, which the runtime polls) whose Read and Write make their
// system calls directly. Everything else (deadlines, Close, Name) is the wrapped *os.File's.
type File struct {
	*os.File
	d direct
}

// WrapFile returns f with direct reads and writes if the runtime polls it (a pipe from
// os.Pipe, a socket); anything else is returned as it is.
func WrapFile(f *os.File) PipeFile {
	rc, err := f.SyscallConn()
	if err != nil {
		return f
	}
	// A descriptor the runtime does not poll cannot wait for readiness, and refuses
	// deadlines: that tells it apart.
	if err := f.SetDeadline(time.Time{}); err != nil {
		return f
	}
	df := &File{File: f}
	df.d.init(rc)
	return df
}

// Read implements io.Reader.
func (f *File) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	n, errno, err := f.d.read(p)
	if err != nil || errno != 0 {
		return 0, f.pathError("read", err, errno)
	}
	if n == 0 {
		return 0, io.EOF
	}
	return n, nil
}

// Write implements io.Writer: it returns when all of p is written or on an error.
func (f *File) Write(p []byte) (int, error) {
	n, errno, err := f.d.write(p)
	if err != nil || errno != 0 {
		return n, f.pathError("write", err, errno)
	}
	return n, nil
}

// pathError wraps a failure as the os package does. A File's RawConn fails only for a
// deadline or for a file closed meanwhile (the poller's "use of closed file", which os.File
// reports as os.ErrClosed, and so does this).
func (f *File) pathError(op string, err error, errno syscall.Errno) error {
	switch {
	case errno != 0:
		err = errno
	case errors.Is(err, os.ErrDeadlineExceeded):
		err = os.ErrDeadlineExceeded
	default:
		err = os.ErrClosed
	}
	return &os.PathError{Op: op, Path: f.Name(), Err: err}
}
