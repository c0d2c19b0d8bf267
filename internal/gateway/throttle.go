package gateway

import (
	"sync"
	"time"
)

// listChangedGap is the least time between two list_changed notifications of one kind that
// a session is sent. Those that arrive meanwhile become one, sent when the gap is over: a
// client re-lists on each, so an upstream that sends them in a loop would otherwise have
// every client list it in a loop too, through the gateway.
const listChangedGap = 250 * time.Millisecond

// listChanges throttles one session's list_changed notifications, per method.
type listChanges struct {
	mu     sync.Mutex
	byKind map[string]*listChange
}

type listChange struct {
	last  time.Time   // when one was last sent
	timer *time.Timer // the trailing send, while one is scheduled
	send  func()      // what the trailing send sends
}

// notify sends now (send is called here, outside any lock) if the gap since the last one of
// this method is over; otherwise it schedules one trailing send, which the latest call's
// send replaces. stopped reports whether the session has ended, for a timer that fires late.
func (lc *listChanges) notify(method string, send func(), stopped func() bool) {
	lc.mu.Lock()
	if lc.byKind == nil {
		lc.byKind = make(map[string]*listChange)
	}
	c := lc.byKind[method]
	if c == nil {
		c = &listChange{}
		lc.byKind[method] = c
	}
	if c.timer != nil {
		c.send = send
		lc.mu.Unlock()
		return
	}
	wait := listChangedGap - time.Since(c.last)
	if wait <= 0 {
		c.last = time.Now()
		lc.mu.Unlock()
		send()
		return
	}
	c.send = send
	c.timer = time.AfterFunc(wait, func() {
		lc.mu.Lock()
		f := c.send
		c.send, c.timer, c.last = nil, nil, time.Now()
		lc.mu.Unlock()
		if f != nil && !stopped() {
			f()
		}
	})
	lc.mu.Unlock()
}

// stop cancels the trailing sends (the session has ended).
func (lc *listChanges) stop() {
	lc.mu.Lock()
	defer lc.mu.Unlock()
	for _, c := range lc.byKind {
		if c.timer != nil {
			c.timer.Stop()
			c.timer, c.send = nil, nil
		}
	}
}
