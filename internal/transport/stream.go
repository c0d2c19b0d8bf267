package transport

import (
	"errors"
	"strconv"
	"strings"
	"sync"
)

// eventStream is one SSE stream of a session: a POST's response stream or the standalone GET
// stream. Events get ids "<stream>_<seq>" and the last few are kept, so that a client whose
// connection broke can resume with Last-Event-ID (MCP 2025-03-26 and later). Send never blocks:
// the gateway's upstream readers call it.
type eventStream struct {
	id  string
	max int // events kept for replay

	mu       sync.Mutex
	events   []event // the last max events, oldest first
	next     uint64  // seq of the next event
	wake     chan struct{}
	final    bool // the stream's last event (a POST's response) has been queued
	closed   bool
	attached bool   // a connection is writing this stream now
	sent     uint64 // highest seq written to a connection
	gen      uint64 // writer generation
	stop     chan struct{}
	noIDs    bool // events carry no id (the stateless revision has no resumption)
}

func (s *eventStream) markSent(seq uint64) {
	s.mu.Lock()
	s.sent = max(s.sent, seq)
	s.mu.Unlock()
}

// delivered returns the highest seq written to any connection.
func (s *eventStream) delivered() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sent
}

type event struct {
	seq  uint64
	data []byte
}

var errStreamClosed = errors.New("stream closed")

func newEventStream(id string, max int) *eventStream {
	if max <= 0 {
		max = 256
	}
	return &eventStream{id: id, max: max, next: 1, wake: make(chan struct{}, 1)}
}

// Send queues one message.
func (s *eventStream) Send(msg []byte) error { return s.push(msg, false) }

func (s *eventStream) push(msg []byte, final bool) error {
	_, err := s.pushSeq(msg, final)
	return err
}

// pushSeq queues one message and returns its seq.
func (s *eventStream) pushSeq(msg []byte, final bool) (uint64, error) {
	s.mu.Lock()
	if s.closed || s.final {
		s.mu.Unlock()
		return 0, errStreamClosed
	}
	seq := s.next
	s.events = append(s.events, event{seq: s.next, data: msg})
	s.next++
	if len(s.events) > s.max {
		// Drop the oldest; a client that falls this far behind loses them on resumption only.
		copy(s.events, s.events[len(s.events)-s.max:])
		s.events = s.events[:s.max]
	}
	s.final = s.final || final
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
	return seq, nil
}

// close ends the stream; a writer stops after the events already queued.
func (s *eventStream) close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// after returns the events with seq > last, and whether the stream is complete after them.
func (s *eventStream) after(last uint64) ([]event, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []event
	for _, e := range s.events {
		if e.seq > last {
			out = append(out, e)
		}
	}
	return out, s.closed || s.final
}

func (s *eventStream) eventID(seq uint64) string {
	return s.id + "_" + strconv.FormatUint(seq, 10)
}

// parseEventID splits a Last-Event-ID into stream id and seq.
func parseEventID(v string) (string, uint64, bool) {
	i := strings.LastIndexByte(v, '_')
	if i <= 0 {
		return "", 0, false
	}
	n, err := strconv.ParseUint(v[i+1:], 10, 64)
	if err != nil {
		return "", 0, false
	}
	return v[:i], n, true
}

// attach marks the stream as being written by a connection; false if one already is.
func (s *eventStream) attach() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.attached {
		return false
	}
	s.attached = true
	s.gen++
	s.stop = make(chan struct{})
	return true
}

// takeover attaches a resuming connection: a writer still attached (whose client has gone
// but whose connection the server has not noticed yet) is told to stop. It returns the
// writer's generation and stop channel.
func (s *eventStream) takeover() (uint64, <-chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.attached && s.stop != nil {
		close(s.stop)
	}
	s.attached = true
	s.gen++
	s.stop = make(chan struct{})
	return s.gen, s.stop
}

// current returns the attached writer's generation and stop channel.
func (s *eventStream) current() (uint64, <-chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.gen, s.stop
}

// detach ends writer generation gen (a writer that was taken over detaches nothing).
func (s *eventStream) detach(gen uint64) {
	s.mu.Lock()
	if s.gen == gen {
		s.attached = false
	}
	s.mu.Unlock()
}
