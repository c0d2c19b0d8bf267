// Package sse reads and writes Server-Sent Events (text/event-stream), as specified by the
// WHATWG HTML standard, section "Server-sent events".
//
// The Reader is bounded: one event (and one line) may not exceed a size given by the caller,
// so a hostile or broken peer costs at most that much memory. The Writer writes straight into
// the underlying writer (typically an http.ResponseWriter) and flushes after every event.
package sse

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"
)

// DefaultMaxEvent is the event size limit used when NewReader is given a non-positive one.
const DefaultMaxEvent = 4 << 20

// fieldSlack is how much longer than the event limit a single line may be: the longest field
// name the reader keeps ("retry") plus the colon and the optional space.
const fieldSlack = len("retry: ")

// ErrEventTooLarge is returned (wrapped) by Reader.Next when an event or a line exceeds the
// reader's limit. The stream cannot be resynchronised after it.
var ErrEventTooLarge = errors.New("sse: event too large")

// Event is one dispatched server-sent event.
type Event struct {
	// ID is the value of this event's id field; HasID says whether the event had one (an id
	// field with an empty value resets the last event id, so "" and absent differ). An id
	// field whose value contains NUL is ignored, as the standard says.
	ID    string
	HasID bool
	// Name is the event type (the "event" field); "" means the default type, "message".
	Name string
	// Data is the event's data: the values of its data fields joined with "\n". It is a
	// fresh slice that the caller owns. It is nil when the event had no data field.
	Data []byte
	// Retry is the reconnection time from a valid (all ASCII digits) retry field; HasRetry
	// says whether the event had one.
	Retry    time.Duration
	HasRetry bool
}

// Reader reads events from a text/event-stream. It is not safe for concurrent use.
type Reader struct {
	br       *bufio.Reader
	max      int
	line     []byte // the current line, reused
	data     []byte // the data buffer of the event being read, reused
	hasData  bool   // the current event had a data field
	started  bool   // the first line (and so a leading BOM) has been seen
	skipLF   bool   // the previous line ended in CR: a directly following LF belongs to it
	lastID   string
	err      error // sticky
	partial  bool  // some field of the current event has been seen
	cur      Event // the event being read (without Data)
	curBytes int   // bytes the current event keeps: data + id + name
}

// NewReader returns a Reader of r. maxEvent bounds the bytes one event keeps (its data, with
// the "\n" joining data lines, plus its id and name); a single line may be at most maxEvent
// plus a few bytes for the field name. A non-positive maxEvent means DefaultMaxEvent.
func NewReader(r io.Reader, maxEvent int) *Reader {
	return NewReaderSize(r, maxEvent, 16<<10)
}

// NewReaderSize is NewReader with a read buffer of bufSize bytes. A line that fits in the
// buffer is read without a copy: large buffers suit streams of large messages, small ones
// long-lived streams that are mostly idle.
func NewReaderSize(r io.Reader, maxEvent, bufSize int) *Reader {
	if maxEvent <= 0 {
		maxEvent = DefaultMaxEvent
	}
	return &Reader{br: bufio.NewReaderSize(r, bufSize), max: maxEvent}
}

// Reset makes r read a new stream from src with the same limit, keeping its buffers, so
// that readers can be pooled across many short streams.
func (r *Reader) Reset(src io.Reader) {
	br, line := r.br, r.line[:0]
	br.Reset(src)
	*r = Reader{br: br, max: r.max, line: line}
}

// LastEventID returns the stream's last event id as the standard defines it: the value of
// the most recent id field (of this or an earlier event). It is what a client sends as
// Last-Event-ID when it reconnects.
func (r *Reader) LastEventID() string { return r.lastID }

// Next returns the next event. Unlike a browser, which drops events whose data buffer is
// empty, Next returns every event that had at least one data, event, id or retry field, so
// that callers see id-only events (MCP "priming" events) and retry changes; blocks of only
// comments or unknown fields are skipped.
//
// At the end of the stream Next returns io.EOF if the stream ended between events, or
// io.ErrUnexpectedEOF if it ended inside an event (which, as the standard says, is
// discarded). An event or line over the limit yields an error wrapping ErrEventTooLarge.
// Errors are sticky.
func (r *Reader) Next() (Event, error) {
	if r.err != nil {
		return Event{}, r.err
	}
	for {
		line, err := r.readLine()
		if err != nil {
			if err == io.EOF && (r.partial || len(line) > 0) {
				err = io.ErrUnexpectedEOF
			}
			r.err = err
			return Event{}, err
		}
		if len(line) == 0 {
			if !r.partial {
				continue
			}
			ev := r.cur
			if ev.HasID {
				r.lastID = ev.ID
			}
			if r.hasData {
				// The caller owns Data: hand the buffer over rather than copy it.
				ev.Data = r.data
				if ev.Data == nil {
					ev.Data = []byte{}
				}
			}
			r.cur, r.partial, r.curBytes = Event{}, false, 0
			r.data, r.hasData = nil, false
			return ev, nil
		}
		if err := r.field(line); err != nil {
			r.err = err
			return Event{}, err
		}
	}
}

// field interprets one non-empty line.
func (r *Reader) field(line []byte) error {
	if line[0] == ':' {
		return nil // comment
	}
	name, value := line, []byte(nil)
	if i := bytes.IndexByte(line, ':'); i >= 0 {
		name, value = line[:i], line[i+1:]
		if len(value) > 0 && value[0] == ' ' {
			value = value[1:]
		}
	}
	switch string(name) {
	case "event":
		if err := r.grow(len(value) - len(r.cur.Name)); err != nil {
			return err
		}
		r.cur.Name = string(value)
		r.partial = true
	case "data":
		n := len(value)
		if r.hasData {
			n++ // the joining "\n"
		}
		if err := r.grow(n); err != nil {
			return err
		}
		if r.hasData {
			r.data = append(r.data, '\n')
			r.data = append(r.data, value...)
		} else {
			// The usual case, one data line: one allocation of its size. bytes.Clone (an
			// append to nil) leaves the new memory unzeroed where the copy overwrites it;
			// make then append zeroes it first, a tenth of a 64 KiB message's cost.
			r.data = bytes.Clone(value)
		}
		r.hasData, r.partial = true, true
	case "id":
		if bytes.IndexByte(value, 0) >= 0 {
			return nil
		}
		if err := r.grow(len(value) - len(r.cur.ID)); err != nil {
			return err
		}
		r.cur.ID, r.cur.HasID = string(value), true
		r.partial = true
	case "retry":
		if d, ok := parseRetry(value); ok {
			r.cur.Retry, r.cur.HasRetry = d, true
			r.partial = true
		}
	}
	return nil
}

func (r *Reader) grow(n int) error {
	r.curBytes += n
	if r.curBytes > r.max {
		return fmt.Errorf("%w: more than %d bytes", ErrEventTooLarge, r.max)
	}
	return nil
}

func parseRetry(v []byte) (time.Duration, bool) {
	if len(v) == 0 {
		return 0, false
	}
	for _, c := range v {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	ms, err := strconv.ParseInt(string(v), 10, 64)
	if err != nil || ms > int64(time.Duration(1<<63-1)/time.Millisecond) {
		return 0, false // too large to represent: ignore, like any invalid value
	}
	return time.Duration(ms) * time.Millisecond, true
}

// readLine returns the next line without its terminator (CRLF, LF or CR). The result is
// valid until the next call. At the end of input it returns io.EOF with whatever incomplete
// line was left.
func (r *Reader) readLine() ([]byte, error) {
	r.line = r.line[:0]
	limit := r.max + fieldSlack
	for {
		if r.br.Buffered() == 0 {
			if _, err := r.br.Peek(1); err != nil {
				return r.line, err
			}
		}
		buf, _ := r.br.Peek(r.br.Buffered())
		if r.skipLF {
			r.skipLF = false
			if buf[0] == '\n' {
				r.br.Discard(1)
				continue
			}
		}
		i := bytes.IndexByte(buf, '\n')
		search := buf
		if i >= 0 {
			search = buf[:i]
		}
		if j := bytes.IndexByte(search, '\r'); j >= 0 {
			i = j
		}
		if i < 0 {
			if len(r.line)+len(buf) > limit {
				return nil, fmt.Errorf("%w: line longer than %d bytes", ErrEventTooLarge, limit)
			}
			r.line = append(r.line, buf...)
			r.br.Discard(len(buf))
			continue
		}
		if len(r.line)+i > limit {
			return nil, fmt.Errorf("%w: line longer than %d bytes", ErrEventTooLarge, limit)
		}
		if len(r.line) == 0 && r.started {
			// The whole line is buffered: return it in place, valid until the next read.
			line := buf[:i:i]
			r.skipLF = buf[i] == '\r'
			r.br.Discard(i + 1)
			return line, nil
		}
		r.line = append(r.line, buf[:i]...)
		r.skipLF = buf[i] == '\r'
		r.br.Discard(i + 1)
		if !r.started {
			r.started = true
			r.line = bytes.TrimPrefix(r.line, []byte("\xEF\xBB\xBF"))
		}
		return r.line, nil
	}
}
