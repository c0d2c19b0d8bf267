package gateway

import (
	"context"
	"time"
)

// relistGap is the least time between two re-checks of one upstream's list of one kind that
// its list_changed notifications ask for.
const relistGap = time.Second

// relistQueue coalesces those re-checks: one runs at a time; however many notifications
// arrive meanwhile, one more run is queued, with the latest session to run it through; and
// runs start at least relistGap apart. An upstream that sends list_changed in a loop thus
// costs the gateway one list a second, not a goroutine and a list per notification.
type relistQueue struct {
	running bool
	next    func() // the queued run, nil if none
}

// scheduleRelist asks for run (a re-check of the list named key) to happen; ctx bounds the
// wait between runs.
func (s *server) scheduleRelist(ctx context.Context, key string, run func()) {
	s.relistMu.Lock()
	defer s.relistMu.Unlock()
	if s.relists == nil {
		s.relists = make(map[string]*relistQueue)
	}
	q := s.relists[key]
	if q == nil {
		q = &relistQueue{}
		s.relists[key] = q
	}
	if q.running {
		q.next = run
		return
	}
	q.running = true
	go s.relistLoop(ctx, q, run)
}

func (s *server) relistLoop(ctx context.Context, q *relistQueue, run func()) {
	for {
		start := time.Now()
		run()
		s.relistMu.Lock()
		run, q.next = q.next, nil
		if run == nil {
			q.running = false
			s.relistMu.Unlock()
			return
		}
		s.relistMu.Unlock()
		t := time.NewTimer(relistGap - time.Since(start))
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			s.relistMu.Lock()
			q.running, q.next = false, nil
			s.relistMu.Unlock()
			return
		}
	}
}
