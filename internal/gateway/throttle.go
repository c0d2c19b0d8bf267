package gateway

import (
	"sync"
	"time"
)

// An upstream sends list_changed as often as it likes. Each one would cost the gateway a
// re-check of that list (with pinned definitions) and every client a re-list through the
// gateway, so both go through a throttle: a server's re-checks at most one a relistGap, a
// session's notifications one a listChangedGap.
const (
	relistGap      = time.Second
	listChangedGap = 250 * time.Millisecond
)

// throttle lets the first event of a kind through at once; of those that follow within the
// gap, one goes through when the gap is over — the latest, so that none is lost. The zero
// throttle is ready to use.
type throttle struct {
	mu     sync.Mutex
	byKind map[string]*throttled
}

type throttled struct {
	last  time.Time   // when one last went through
	timer *time.Timer // the trailing one, while it is scheduled
	run   func()      // what the trailing one runs
}

// do runs run now (here, outside any lock) if the gap since the last event of kind is over;
// otherwise it schedules one trailing run, which a later call's run replaces. stopped
// reports whether the owner has ended, for a timer that fires late.
func (th *throttle) do(kind string, gap time.Duration, run func(), stopped func() bool) {
	th.mu.Lock()
	if th.byKind == nil {
		th.byKind = make(map[string]*throttled)
	}
	t := th.byKind[kind]
	if t == nil {
		t = &throttled{}
		th.byKind[kind] = t
	}
	if t.timer != nil {
		t.run = run
		th.mu.Unlock()
		return
	}
	wait := gap - time.Since(t.last)
	if wait <= 0 {
		t.last = time.Now()
		th.mu.Unlock()
		run()
		return
	}
	t.run = run
	t.timer = time.AfterFunc(wait, func() {
		th.mu.Lock()
		f := t.run
		t.run, t.timer, t.last = nil, nil, time.Now()
		th.mu.Unlock()
		if f != nil && !stopped() {
			f()
		}
	})
	th.mu.Unlock()
}

// stop cancels the trailing runs (the owner has ended).
func (th *throttle) stop() {
	th.mu.Lock()
	defer th.mu.Unlock()
	for _, t := range th.byKind {
		if t.timer != nil {
			t.timer.Stop()
			t.timer, t.run = nil, nil
		}
	}
}
