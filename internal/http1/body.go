package http1

import (
	"bufio"
	"errors"
	"io"
	"net/http"
	"net/http/httputil"
)

// errTrailerTooLarge ends a chunked body whose trailer section exceeds the header limit.
var errTrailerTooLarge = errors.New("http1: trailer section too large")

// body is a message body: Content-Length bytes, a chunked body with its trailer section
// (read and dropped), or (a response only) everything until the connection ends. It reads
// from the connection's buffered reader; what is left unread is its owner's to drain or
// abandon.
type body struct {
	c         *conn // the server's connection, for a request body; nil for a response's
	br        *bufio.Reader
	remaining int64     // Content-Length bytes still unread
	chunks    io.Reader // the chunked decoder, or nil
	untilEOF  bool      // the body ends with the connection
	continued bool      // a 100 Continue is owed before the first read (Expect: 100-continue)
	maxTrail  int
	eof       bool
	closed    bool
	err       error // sticky
}

func (b *body) Read(p []byte) (int, error) {
	if b.closed {
		return 0, http.ErrBodyReadAfterClose
	}
	if b.err != nil {
		return 0, b.err
	}
	if b.eof {
		return 0, io.EOF
	}
	if b.continued {
		b.continued = false
		if err := b.c.writeContinue(); err != nil {
			b.err = err
			return 0, err
		}
	}
	if len(p) == 0 {
		return 0, nil
	}
	var n int
	var err error
	if b.untilEOF {
		n, err = b.br.Read(p)
	} else if b.chunks != nil {
		n, err = b.chunks.Read(p)
		if err == io.EOF {
			if terr := b.readTrailer(); terr != nil {
				err = terr
			}
		}
	} else {
		if int64(len(p)) > b.remaining {
			p = p[:b.remaining]
		}
		n, err = b.br.Read(p)
		b.remaining -= int64(n)
		switch {
		case b.remaining == 0:
			err = io.EOF
		case err == io.EOF:
			err = io.ErrUnexpectedEOF
		}
	}
	switch {
	case err == io.EOF:
		b.eof = true
		if b.c != nil {
			b.c.bodyDone()
		}
	case err != nil:
		b.err = err
	}
	return n, err
}

// readTrailer reads the trailer section after the last chunk, up to its empty line (the
// fields themselves are dropped).
func (b *body) readTrailer() error {
	size := 0
	for {
		line, err := b.br.ReadSlice('\n')
		size += len(line)
		if err != nil || size > b.maxTrail {
			if err == nil || err == bufio.ErrBufferFull {
				return errTrailerTooLarge
			}
			return io.ErrUnexpectedEOF
		}
		if len(line) < 2 || line[len(line)-2] != '\r' {
			// As in chunk lines, no bare LF (RFC 9112 erratum 7633).
			return errors.New("http1: trailer line ends with bare LF")
		}
		if len(line) == 2 {
			return nil
		}
	}
}

// Close marks the body closed; what is left unread is the server's to drain.
func (b *body) Close() error {
	b.closed = true
	return nil
}

// done reports whether the body was read to its end without error.
func (b *body) done() bool { return b.eof }

func newBody(c *conn, h *head, maxTrail int) io.ReadCloser {
	if !h.chunked && h.length == 0 {
		return http.NoBody
	}
	b := &body{c: c, br: c.br, remaining: h.length, continued: h.expect, maxTrail: maxTrail}
	if h.chunked {
		b.chunks = httputil.NewChunkedReader(c.br)
	}
	return b
}
