package transport

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"time"

	"gatehouse/internal/sse"
)

// postStream answers one client request on its own POST. The gateway handles the request in
// the HTTP handler's goroutine (whose stack is already grown: a goroutine per request would
// cost a start, stack growth and a hand-off on every call); messages related to the request
// arrive from upstream readers meanwhile and are written here, under a lock, turning the
// response into an SSE stream. Plain JSON is sent when the response is all there is.
//
// Every message also goes into the eventStream, so a client whose connection breaks can
// resume with Last-Event-ID; a resuming GET takes the stream over and this writer stops.
type postStream struct {
	h  *HTTPHandler
	w  http.ResponseWriter
	r  *http.Request
	rc *http.ResponseController
	hs *httpSession
	es *eventStream // created with the first related message

	mu    sync.Mutex
	sse   bool // the response is an event stream (headers sent)
	sw    *sse.Writer
	gen   uint64
	stop  <-chan struct{}
	gone  bool // the connection failed or was taken over: messages are only kept
	done  bool // the handler has returned: w must not be touched
	alive *time.Timer
	watch func() bool // stops watching for the client going away
}

func newPostStream(h *HTTPHandler, w http.ResponseWriter, r *http.Request, hs *httpSession) *postStream {
	return &postStream{h: h, w: w, r: r, hs: hs}
}

// ensureStream creates the event stream on the first related message: most requests get
// only their response, as plain JSON, and need none. Called with p.mu held.
func (p *postStream) ensureStream() {
	if p.es != nil {
		return
	}
	p.es = p.h.newResponseStream(p.hs)
	p.rc = http.NewResponseController(p.w)
	// The request goes on when the client goes away (it may resume); the stream is let go
	// at once, so that a resuming GET finds it free.
	p.watch = context.AfterFunc(p.r.Context(), p.clientGone)
}

func (p *postStream) clientGone() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done || p.gone {
		return
	}
	p.gone = true
	if p.sse {
		p.es.detach(p.gen)
	}
}

// Send is called by the gateway for each related message (progress, logging, requests).
func (p *postStream) Send(msg []byte) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done {
		return errStreamClosed
	}
	p.ensureStream()
	seq, err := p.es.pushSeq(msg, false)
	if err != nil {
		return err
	}
	p.writeLocked(seq, msg)
	return nil
}

func (p *postStream) writeLocked(seq uint64, msg []byte) {
	if p.done || p.gone {
		return
	}
	if !p.sse {
		if !p.es.attach() {
			p.gone = true
			return
		}
		p.gen, p.stop = p.es.current()
		sse.SetHeaders(p.w.Header())
		p.w.WriteHeader(http.StatusOK)
		p.sw = sse.NewWriter(p.w)
		p.sse = true
		if primes(p.hs) {
			// 2025-11-25: an event with an id and no data first, for resumption.
			p.deadline()
			if p.sw.WriteEvent(sse.Event{ID: p.es.eventID(0), HasID: true}) != nil {
				p.gone = true
				return
			}
		}
		p.alive = time.AfterFunc(p.h.opts.KeepAlive, p.keepAlive)
	}
	select {
	case <-p.stop:
		p.gone = true // a resuming connection has taken the stream over
		return
	default:
	}
	p.deadline()
	if err := p.sw.WriteEvent(sse.Event{ID: p.es.eventID(seq), HasID: true, Name: "message", Data: msg}); err != nil {
		p.gone = true
		return
	}
	p.es.markSent(seq)
}

func (p *postStream) deadline() {
	if p.h.opts.WriteTimeout > 0 {
		if p.rc == nil {
			p.rc = http.NewResponseController(p.w)
		}
		p.rc.SetWriteDeadline(time.Now().Add(p.h.opts.WriteTimeout))
	}
}

// keepAlive writes a comment line on a quiet event stream, so that intermediaries keep it open.
func (p *postStream) keepAlive() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done || p.gone {
		return
	}
	p.deadline()
	if p.sw.WriteComment("keep-alive") != nil {
		p.gone = true
		return
	}
	p.alive.Reset(p.h.opts.KeepAlive)
}

// finish writes the request's outcome; resp nil means the client cancelled the request,
// which gets no response. It must be called by the handler before it returns.
func (p *postStream) finish(resp []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.es == nil {
		// Nothing but the response: plain JSON (or nothing, when the client cancelled).
		p.done = true
		if resp == nil {
			p.w.WriteHeader(http.StatusAccepted)
			return
		}
		p.deadline()
		hdr := p.w.Header()
		hdr["Content-Type"] = p.h.jsonType
		hdr["Content-Length"] = []string{strconv.Itoa(len(resp))}
		p.w.Write(resp)
		return
	}
	p.watch()
	defer func() {
		p.done = true
		if p.alive != nil {
			p.alive.Stop()
		}
		if p.sse {
			p.es.detach(p.gen)
		}
	}()
	if resp == nil {
		p.es.close()
		p.h.dropStream(p.hs, p.es)
		if !p.sse {
			p.w.WriteHeader(http.StatusAccepted)
		}
		return
	}
	if !p.sse {
		// No event (so no event id) has reached the client: nothing to resume.
		p.es.close()
		p.h.dropStream(p.hs, p.es)
		if p.gone {
			return
		}
		p.deadline()
		hdr := p.w.Header()
		hdr["Content-Type"] = p.h.jsonType
		hdr["Content-Length"] = []string{strconv.Itoa(len(resp))}
		p.w.Write(resp)
		return
	}
	seq, err := p.es.pushSeq(resp, true)
	if err != nil {
		return
	}
	p.writeLocked(seq, resp)
	if !p.gone {
		p.h.dropStream(p.hs, p.es) // delivered; nothing left to resume
	}
}
