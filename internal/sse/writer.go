package sse

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// ErrInvalidEvent is returned (wrapped) by Writer methods for an event that cannot be
// written faithfully: an id, name or comment containing CR or LF (or an id containing NUL,
// which readers ignore), or a negative retry.
var ErrInvalidEvent = errors.New("sse: invalid event")

// SetHeaders sets the response headers of an event stream: Content-Type text/event-stream,
// Cache-Control no-cache, and X-Accel-Buffering no (so that proxies such as nginx pass events
// on at once). Call it before the first write.
func SetHeaders(h http.Header) {
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
}

// Writer writes events to an event stream and flushes after each one. It writes straight
// into the underlying writer and allocates nothing per event once warmed up (given an
// underlying writer that does not allocate). It is not safe for concurrent use.
type Writer struct {
	w       io.Writer
	sw      io.StringWriter // w, when it has WriteString
	flush   func() error    // nil when w cannot be flushed
	scratch []byte
}

// NewWriter returns a Writer to w. If w is an http.ResponseWriter, events are flushed with
// http.ResponseController (so wrapped writers that implement Unwrap work); otherwise w is
// flushed if it has a Flush() error method (bufio.Writer) or is an http.Flusher.
func NewWriter(w io.Writer) *Writer {
	sw := &Writer{w: w}
	sw.sw, _ = w.(io.StringWriter)
	switch f := w.(type) {
	case http.ResponseWriter:
		rc := http.NewResponseController(f)
		sw.flush = func() error {
			if err := rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
				return err
			}
			return nil
		}
	case interface{ Flush() error }:
		sw.flush = f.Flush
	case http.Flusher:
		sw.flush = func() error { f.Flush(); return nil }
	}
	return sw
}

// WriteEvent writes ev and flushes. The id field is written when ev.HasID, the event field
// when ev.Name is not empty, the retry field (in whole milliseconds) when ev.HasRetry, and
// then ev.Data as data fields: one per line of Data, where CRLF, CR and LF all end a line
// (so a reader gives back Data with every line break as LF). At least one data field is
// always written, so even an event with empty Data is dispatched by browsers (and is an MCP
// priming event when it has an id).
func (w *Writer) WriteEvent(ev Event) error {
	if err := validate(ev); err != nil {
		return err
	}
	var err error
	if ev.HasID {
		err = w.field("id: ", ev.ID)
	}
	if ev.Name != "" && err == nil {
		err = w.field("event: ", ev.Name)
	}
	if ev.HasRetry && err == nil {
		w.scratch = append(w.scratch[:0], "retry: "...)
		w.scratch = strconv.AppendInt(w.scratch, int64(ev.Retry.Milliseconds()), 10)
		w.scratch = append(w.scratch, '\n')
		_, err = w.w.Write(w.scratch)
	}
	data := ev.Data
	for err == nil {
		i := indexLineBreak(data)
		line := data
		if i >= 0 {
			line = data[:i]
		}
		if err = w.str("data: "); err != nil {
			break
		}
		if len(line) > 0 {
			if _, err = w.w.Write(line); err != nil {
				break
			}
		}
		if i < 0 {
			err = w.str("\n\n")
			break
		}
		if err = w.str("\n"); err != nil {
			break
		}
		if data[i] == '\r' && i+1 < len(data) && data[i+1] == '\n' {
			i++
		}
		data = data[i+1:]
	}
	if err != nil {
		return err
	}
	return w.Flush()
}

// WriteComment writes a comment line followed by a blank line (a keep-alive that no reader
// dispatches) and flushes.
func (w *Writer) WriteComment(text string) error {
	if strings.ContainsAny(text, "\r\n") {
		return fmt.Errorf("%w: comment contains a line break", ErrInvalidEvent)
	}
	if err := w.field(": ", text); err != nil {
		return err
	}
	if err := w.str("\n"); err != nil {
		return err
	}
	return w.Flush()
}

// Flush flushes the underlying writer, if it can be flushed.
func (w *Writer) Flush() error {
	if w.flush == nil {
		return nil
	}
	return w.flush()
}

func (w *Writer) field(prefix, value string) error {
	if err := w.str(prefix); err != nil {
		return err
	}
	if err := w.str(value); err != nil {
		return err
	}
	return w.str("\n")
}

func (w *Writer) str(s string) error {
	if w.sw != nil {
		_, err := w.sw.WriteString(s)
		return err
	}
	w.scratch = append(w.scratch[:0], s...)
	_, err := w.w.Write(w.scratch)
	return err
}

func validate(ev Event) error {
	switch {
	case strings.ContainsAny(ev.ID, "\r\n\x00"):
		return fmt.Errorf("%w: id contains CR, LF or NUL", ErrInvalidEvent)
	case strings.ContainsAny(ev.Name, "\r\n"):
		return fmt.Errorf("%w: event name contains CR or LF", ErrInvalidEvent)
	case ev.HasRetry && ev.Retry < 0:
		return fmt.Errorf("%w: negative retry", ErrInvalidEvent)
	}
	return nil
}

// indexLineBreak returns the index of the first CR or LF in b, or -1.
func indexLineBreak(b []byte) int {
	i := bytes.IndexByte(b, '\n')
	search := b
	if i >= 0 {
		search = b[:i]
	}
	if j := bytes.IndexByte(search, '\r'); j >= 0 {
		return j
	}
	return i
}
