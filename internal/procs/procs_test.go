package procs

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// rep returns n copies of v.
func rep[T any](v T, n int) []T {
	s := make([]T, n)
	for i := range s {
		s[i] = v
	}
	return s
}

// TestStep drives the controller with sequences of CPU use and checks the Ps it asks for.
func TestStep(t *testing.T) {
	cases := []struct {
		name  string
		max   int
		start int
		used  []float64
		want  []int // Ps after each sample
	}{
		{"light load stays at one", 8, 1, []float64{0.1, 0.5, 0.84}, []int{1, 1, 1}},
		{"a busy P gets a second", 8, 1, []float64{0.9}, []int{2}},
		{"growth follows the load", 8, 2, []float64{1.8, 3.5}, []int{3, 6}},
		{"never beyond max", 4, 2, []float64{1.75, 3.9}, []int{3, 4}},
		// A burst that keeps every P busy: the README's 1, 2, 4, 7, 12, 20, 32.
		{"saturated growth", 32, 1, []float64{1, 2, 4, 7, 12, 20}, []int{2, 4, 7, 12, 20, 32}},
		{"max one never grows", 1, 1, []float64{1.0}, []int{1}},
		{"removal waits for the hold", 8, 2, rep(0.3, hold), append(rep(2, hold-1), 1)},
		{"a busy interval restarts the hold", 8, 2,
			append(append(rep(0.3, hold-1), 1.2), rep(0.3, hold)...),
			append(append(rep(2, hold-1), 2), append(rep(2, hold-1), 1)...)},
		{"the gap between thresholds holds still", 8, 2, rep(0.75, hold+2), rep(2, hold+2)},
		{"removal one step at a time", 8, 3, rep(0.1, 2*hold), append(append(rep(3, hold-1), rep(2, hold)...), 1)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var set []int
			c := New(Options{Max: tc.max, Set: func(n int) { set = append(set, n) }})
			c.apply(tc.start, 0)
			for i, u := range tc.used {
				if n := c.Step(u); n != c.Procs() {
					c.apply(n, u)
				}
				if got := c.Procs(); got != tc.want[i] {
					t.Fatalf("after sample %d (%.2f CPUs used): %d Ps, want %d", i, u, got, tc.want[i])
				}
			}
			if set[len(set)-1] != c.Procs() {
				t.Errorf("runtime set to %d, controller says %d", set[len(set)-1], c.Procs())
			}
		})
	}
}

// fakeLoad is a process whose CPU use per wall second is load: its CPU time grows with the
// (bubble's fake) clock.
type fakeLoad struct {
	mu    sync.Mutex
	load  float64
	cpu   time.Duration
	since time.Time
}

func (f *fakeLoad) set(load float64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.advance()
	f.load = load
}

func (f *fakeLoad) advance() {
	now := time.Now()
	f.cpu += time.Duration(float64(now.Sub(f.since)) * f.load)
	f.since = now
}

func (f *fakeLoad) cpuTime() (time.Duration, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.advance()
	return f.cpu, nil
}

// TestRun runs the controller on a fake clock: it starts at one P, grows under load, and
// gives the Ps back once the load has been low for the hold.
func TestRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeLoad{since: time.Now()}
		var mu sync.Mutex
		procs := 0
		c := New(Options{Max: 4, Interval: 100 * time.Millisecond, CPUTime: f.cpuTime, Set: func(n int) {
			mu.Lock()
			procs = n
			mu.Unlock()
		}})
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() { defer close(done); c.Run(ctx) }()
		get := func() int { mu.Lock(); defer mu.Unlock(); return procs }

		synctest.Wait()
		if get() != 1 || c.Procs() != 1 {
			t.Fatalf("at start: %d Ps, want 1", get())
		}
		f.set(0.95)
		time.Sleep(150 * time.Millisecond)
		synctest.Wait()
		if get() != 2 {
			t.Fatalf("after a busy interval: %d Ps, want 2", get())
		}
		f.set(1.9) // the second P is busy too: a whole interval of it
		time.Sleep(200 * time.Millisecond)
		synctest.Wait()
		if get() != 4 {
			t.Fatalf("after two busy Ps: %d Ps, want 4", get())
		}
		f.set(0.2)
		time.Sleep(time.Duration(hold-1) * 100 * time.Millisecond)
		synctest.Wait()
		if get() != 4 {
			t.Fatalf("before the hold ended: %d Ps, want 4", get())
		}
		time.Sleep(time.Duration(2*hold+1) * 100 * time.Millisecond)
		synctest.Wait()
		if get() != 1 {
			t.Fatalf("after the load fell: %d Ps, want 1", get())
		}
		cancel()
		<-done
	})
}

// TestRunWithoutCPUTime gives the process every P when its CPU time cannot be read.
func TestRunWithoutCPUTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var got []int
		c := New(Options{Max: 3, CPUTime: func() (time.Duration, error) { return 0, errors.New("no rusage") }, Set: func(n int) { got = append(got, n) }})
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() { defer close(done); c.Run(ctx) }()
		synctest.Wait()
		cancel()
		<-done
		if len(got) != 2 || got[0] != 1 || got[1] != 3 || c.Procs() != 3 {
			t.Errorf("set %v, Procs %d; want [1 3], 3", got, c.Procs())
		}
	})
}

// TestProcessCPUTime reads this process's CPU time, which grows while it works.
func TestProcessCPUTime(t *testing.T) {
	a, err := ProcessCPUTime()
	if err != nil {
		t.Fatal(err)
	}
	x := 0
	for b := a; b == a; b, _ = ProcessCPUTime() {
		for i := range 1_000_000 {
			x += i
		}
	}
	_ = x
}
