package bench

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Cell is one measurement: a payload at a concurrency against one endpoint.
type Cell struct {
	Concurrency int
	Warmup      time.Duration // calls before measuring, on the same sessions
	Duration    time.Duration // measuring time (an upper bound when Count is set)
	Count       int           // if > 0, stop after this many measured calls in all
	Call        *CallSpec
	// BeforeMeasure and AfterMeasure run right before the measured window opens and right after
	// it closes (every worker stopped), to read process counters. May be nil.
	BeforeMeasure func()
	AfterMeasure  func()
}

// Result is what a cell measured.
type Result struct {
	Calls      int           `json:"calls"`
	Errors     int           `json:"errors"`
	FirstError string        `json:"first_error,omitempty"`
	Elapsed    time.Duration `json:"elapsed_ns"`
	PerSecond  float64       `json:"calls_per_second"`
	Latency    Latency       `json:"latency"`
	Bytes      int64         `json:"response_bytes"`
	WarmCalls  int           `json:"warmup_calls"`
	WarmErrors int           `json:"warmup_errors"`
	// Samples are the measured latencies, so that results of several rounds can be merged.
	Samples []time.Duration `json:"-"`
}

// Merge adds o's calls to r: counts and times add up, the latency summary is recomputed over
// both rounds' samples.
func (r *Result) Merge(o Result) {
	r.Calls += o.Calls
	r.Errors += o.Errors
	if r.FirstError == "" {
		r.FirstError = o.FirstError
	}
	r.Elapsed += o.Elapsed
	r.Bytes += o.Bytes
	r.WarmCalls += o.WarmCalls
	r.WarmErrors += o.WarmErrors
	r.Samples = append(r.Samples, o.Samples...)
	r.PerSecond = 0
	if r.Elapsed > 0 {
		r.PerSecond = float64(r.Calls) / r.Elapsed.Seconds()
	}
	r.Latency = Summarize(slices.Clone(r.Samples))
}

type worker struct {
	sess   *Session
	lat    []time.Duration
	errs   int
	first  error
	bytes  int64
	wcalls int
	werrs  int
}

// OpenSessions opens n sessions with at most par initializes at once.
func OpenSessions(ctx context.Context, c *Client, n, par int) ([]*Session, error) {
	out := make([]*Session, n)
	sem := make(chan struct{}, max(par, 1))
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			s, err := c.Open(ctx)
			if err != nil {
				mu.Lock()
				if firstErr == nil {
					firstErr = fmt.Errorf("session %d: %w", i, err)
				}
				mu.Unlock()
				return
			}
			out[i] = s
		}()
	}
	wg.Wait()
	if firstErr != nil {
		CloseSessions(context.WithoutCancel(ctx), out, par)
		return nil, firstErr
	}
	return out, nil
}

// CloseSessions DELETEs the sessions (nil entries are skipped).
func CloseSessions(ctx context.Context, ss []*Session, par int) {
	sem := make(chan struct{}, max(par, 1))
	var wg sync.WaitGroup
	for _, s := range ss {
		if s == nil {
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			s.Close(cctx)
		}()
	}
	wg.Wait()
}

// Run opens one session per worker, warms up, measures, and closes the sessions.
func (cell Cell) Run(ctx context.Context, c *Client) (Result, error) {
	if cell.Concurrency < 1 {
		return Result{}, errors.New("concurrency must be at least 1")
	}
	sessions, err := OpenSessions(ctx, c, cell.Concurrency, 16)
	if err != nil {
		return Result{}, err
	}
	defer CloseSessions(context.WithoutCancel(ctx), sessions, 16)

	ws := make([]*worker, cell.Concurrency)
	for i := range ws {
		ws[i] = &worker{sess: sessions[i]}
	}
	// Warm-up.
	var wg sync.WaitGroup
	warmEnd := time.Now().Add(cell.Warmup)
	for _, w := range ws {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(warmEnd) && ctx.Err() == nil {
				if _, err := w.sess.Call(ctx, cell.Call); err != nil {
					w.werrs++
					pause(ctx)
				}
				w.wcalls++
			}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}

	// Measured window.
	perWorker := 0
	if cell.Count > 0 {
		perWorker = cell.Count/cell.Concurrency + 1
	}
	for _, w := range ws {
		w.lat = make([]time.Duration, 0, max(perWorker, 1024))
	}
	var budget atomic.Int64
	budget.Store(int64(cell.Count))
	if cell.BeforeMeasure != nil {
		cell.BeforeMeasure()
	}
	start := time.Now()
	end := start.Add(cell.Duration)
	for _, w := range ws {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				if cell.Count > 0 && budget.Add(-1) < 0 {
					return
				}
				t0 := time.Now()
				if !t0.Before(end) {
					return
				}
				n, err := w.sess.Call(ctx, cell.Call)
				d := time.Since(t0)
				if err != nil {
					w.errs++
					if w.first == nil {
						w.first = err
					}
					pause(ctx)
					continue
				}
				w.lat = append(w.lat, d)
				w.bytes += int64(n)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if cell.AfterMeasure != nil {
		cell.AfterMeasure()
	}
	var res Result
	all := make([]time.Duration, 0, 1024)
	for _, w := range ws {
		all = append(all, w.lat...)
		res.Errors += w.errs
		res.Bytes += w.bytes
		res.WarmCalls += w.wcalls
		res.WarmErrors += w.werrs
		if w.first != nil && res.FirstError == "" {
			res.FirstError = w.first.Error()
		}
	}
	res.Calls = len(all)
	res.Elapsed = elapsed
	if elapsed > 0 {
		res.PerSecond = float64(res.Calls) / elapsed.Seconds()
	}
	res.Latency = Summarize(all)
	res.Samples = all
	return res, ctx.Err()
}

// pause slows a worker down after an error, so that a failing endpoint is not spun on.
func pause(ctx context.Context) {
	t := time.NewTimer(10 * time.Millisecond)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
