package http1

import (
	"net/http"
	"strconv"
	"sync/atomic"
	"time"
)

// pendMax is how much body a response buffers before it must decide on its framing: a
// handler that writes no more than this and returns gets a Content-Length; one that writes
// more, or flushes, gets a chunked body.
const pendMax = 16 << 10

// directMax is the size from which a body write goes to the socket from the handler's own
// buffer (after what is pending, in one writev) instead of being copied.
const directMax = 8 << 10

// response is the http.ResponseWriter of one request. It is used by the connection's
// goroutine only: the handler and then the server.
type response struct {
	c        *conn
	header   http.Header
	status   int
	minor    int  // the request's HTTP/1.minor
	isHead   bool // HEAD: headers only
	headSent bool // the status line and headers are in c.out or on the wire
	chunked  bool
	declared int64 // Content-Length the handler set; -1 if none
	written  int64 // body bytes the handler wrote
	closing  bool  // the connection ends after this response
	deadline bool  // the handler set a write deadline
	err      error // sticky write error
}

var (
	_ http.ResponseWriter = (*response)(nil)
	_ http.Flusher        = (*response)(nil)
)

func (w *response) Header() http.Header { return w.header }

func (w *response) WriteHeader(code int) {
	if w.status != 0 || w.headSent {
		return // as net/http: a second WriteHeader is ignored
	}
	if code < 200 || code > 999 {
		// Informational responses are not offered (a handler of this module sends none);
		// anything else out of range is a handler bug.
		code = http.StatusInternalServerError
	}
	w.status = code
	w.declared = -1
	if cl := w.header.Get("Content-Length"); cl != "" {
		if n, ok := parseLength(cl); ok {
			w.declared = n
		} else {
			w.header.Del("Content-Length")
		}
	}
}

// bodyAllowed reports whether the status and method let the response carry a body.
func (w *response) bodyAllowed() bool {
	return !w.isHead && w.status != http.StatusNoContent && w.status != http.StatusNotModified
}

func (w *response) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if w.err != nil {
		return 0, w.err
	}
	if !w.bodyAllowed() {
		if w.isHead {
			w.written += int64(len(p))
			return len(p), nil
		}
		return 0, http.ErrBodyNotAllowed
	}
	if w.declared >= 0 && w.written+int64(len(p)) > w.declared {
		return 0, http.ErrContentLength
	}
	w.written += int64(len(p))
	c := w.c
	if !w.headSent {
		if w.declared < 0 && len(c.pend)+len(p) <= pendMax {
			c.pend = append(c.pend, p...)
			return len(p), nil
		}
		w.sendHead(false)
	}
	return len(p), w.body(p)
}

// sendHead puts the status line and header fields into c.out, followed by any body the
// response held back. final says the handler has returned, so that a held-back body's
// length is known.
func (w *response) sendHead(final bool) {
	c := w.c
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	w.headSent = true
	if w.bodyAllowed() && w.declared < 0 {
		switch {
		case final:
			w.declared = int64(len(c.pend))
			w.header.Set("Content-Length", strconv.Itoa(len(c.pend)))
		case w.minor >= 1:
			w.chunked = true
		default:
			w.closing = true // HTTP/1.0 without a length: the body ends with the connection
		}
	}
	if w.c.srv.shuttingDown() {
		w.closing = true
	}
	b := c.out
	if w.minor >= 1 {
		b = append(b, "HTTP/1.1 "...)
	} else {
		b = append(b, "HTTP/1.0 "...)
	}
	b = strconv.AppendInt(b, int64(w.status), 10)
	b = append(b, ' ')
	b = append(b, http.StatusText(w.status)...)
	b = append(b, "\r\n"...)
	for k, vs := range w.header {
		if !validFieldName(k) || k == "Transfer-Encoding" || k == "Connection" ||
			(k == "Content-Length" && !w.bodyAllowed() && !w.isHead) {
			continue
		}
		for _, v := range vs {
			if !validFieldValue(v) {
				c.srv.logger().Warn("response header dropped: its value has a line break or control character", "header", k)
				continue
			}
			b = append(b, k...)
			b = append(b, ": "...)
			b = append(b, v...)
			b = append(b, "\r\n"...)
		}
	}
	if _, ok := w.header["Date"]; !ok {
		b = append(b, "Date: "...)
		b = append(b, c.srv.date()...)
		b = append(b, "\r\n"...)
	}
	if w.chunked {
		b = append(b, "Transfer-Encoding: chunked\r\n"...)
	}
	switch {
	case w.closing:
		b = append(b, "Connection: close\r\n"...)
	case w.minor == 0:
		b = append(b, "Connection: keep-alive\r\n"...)
	}
	c.out = append(b, "\r\n"...)
	if len(c.pend) > 0 {
		pend := c.pend
		c.pend = c.pend[:0]
		w.body(pend)
	}
}

// body frames p (as a chunk, when chunked) after what c.out holds; a large p is written
// from where it is, together with c.out, in one system call.
func (w *response) body(p []byte) error {
	if len(p) == 0 {
		return nil
	}
	c := w.c
	if w.chunked {
		c.out = strconv.AppendInt(c.out, int64(len(p)), 16)
		c.out = append(c.out, "\r\n"...)
	}
	if len(p) >= directMax {
		if err := c.writev(p); err != nil {
			w.err = err
			return err
		}
	} else {
		c.out = append(c.out, p...)
	}
	if w.chunked {
		c.out = append(c.out, "\r\n"...)
	}
	if len(c.out) >= directMax {
		return w.flushOut()
	}
	return nil
}

// flushOut writes c.out to the socket.
func (w *response) flushOut() error {
	if w.err != nil {
		return w.err
	}
	if err := w.c.writev(nil); err != nil {
		w.err = err
	}
	return w.err
}

// Flush sends the head, if not yet sent, and everything written so far. A response flushed
// before the handler returns is streamed (chunked), and the server starts watching for the
// client going away.
func (w *response) Flush() { w.FlushError() }

// FlushError is Flush with its error, for http.ResponseController.
func (w *response) FlushError() error {
	if w.err != nil {
		return w.err
	}
	if !w.headSent {
		w.sendHead(false)
	}
	w.c.watchNow()
	return w.flushOut()
}

// SetReadDeadline and SetWriteDeadline serve http.ResponseController.
func (w *response) SetReadDeadline(t time.Time) error { return w.c.rwc.SetReadDeadline(t) }

func (w *response) SetWriteDeadline(t time.Time) error {
	w.deadline = true
	return w.c.rwc.SetWriteDeadline(t)
}

// finish completes the response after the handler returned: the head if it was never sent
// (with the length of what was held back), the last chunk, and the write. It reports
// whether the connection may carry another request.
func (w *response) finish() bool {
	if !w.headSent {
		w.sendHead(true)
	}
	if w.chunked && w.err == nil {
		w.c.out = append(w.c.out, "0\r\n\r\n"...)
	}
	if w.declared >= 0 && w.written < w.declared && w.bodyAllowed() {
		// The handler wrote less than it declared: the client would wait for the rest.
		w.closing = true
	}
	w.flushOut()
	if w.deadline {
		w.c.rwc.SetWriteDeadline(time.Time{})
	}
	return w.err == nil && !w.closing
}

func validFieldName(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		if !tchar[k[i]] {
			return false
		}
	}
	return true
}

// validFieldValue refuses what would end a header line early or split the response.
func validFieldValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; (c < ' ' && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

// dateCache keeps the Date header's value for the current second.
type dateCache struct {
	v atomic.Pointer[dateValue]
}

type dateValue struct {
	sec int64
	s   string
}

func (d *dateCache) get(now time.Time) string {
	sec := now.Unix()
	if v := d.v.Load(); v != nil && v.sec == sec {
		return v.s
	}
	s := now.UTC().Format(http.TimeFormat)
	d.v.Store(&dateValue{sec: sec, s: s})
	return s
}
