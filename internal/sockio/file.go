package sockio

import (
	"io"
	"time"
)

// PipeFile is what WrapFile returns: the *os.File itself or a File.
type PipeFile interface {
	io.ReadWriteCloser
	SetDeadline(t time.Time) error
	SetReadDeadline(t time.Time) error
	SetWriteDeadline(t time.Time) error
	Name() string
}
