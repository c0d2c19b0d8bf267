// Package procs sizes the Go scheduler (GOMAXPROCS) to the gateway's load.
//
// Each call through the gateway is a few hundred microseconds of work spread over several
// goroutines that wake one another. With more than one P, the runtime hands such wake-ups to
// another OS thread (futex wake, a context switch, often a cross-CPU interrupt), and on a
// virtual machine that hand-off can cost as much as the work itself: measured with the load
// tool on a 2-CPU VM, one P spent 8–25% less CPU per call than two, at the same or higher
// throughput, as long as the load fit one CPU (the README's limits.cpus has the runs). More Ps only pay when the gateway needs
// more than one CPU. The Controller therefore starts at one P and adds Ps when the process
// keeps its Ps nearly busy, and gives them back when the load has fallen for a while.
package procs

import (
	"context"
	"log/slog"
	"math"
	"runtime"
	"sync/atomic"
	"syscall"
	"time"
)

// Tuning of the controller. A P is added when the process used more than upAt of its Ps
// during one interval; one is removed when it used less than downAt of one P fewer, for
// hold intervals in a row. The gap between the two keeps it from flapping, and adding is
// quick while removing is slow, because a saturated P queues calls and a spare one only
// costs some efficiency.
const (
	upAt            = 0.85
	downAt          = 0.70
	target          = 0.60 // Ps to add for: used/target, so that after adding each runs at about this
	hold            = 10
	DefaultInterval = 500 * time.Millisecond
)

// Options configure a Controller.
type Options struct {
	// Max is the most Ps the controller will set: the machine's or container's CPUs, as the
	// runtime sized GOMAXPROCS before anything changed it. Default runtime.GOMAXPROCS(0).
	Max int
	// Interval is how often the process's CPU use is sampled. Default DefaultInterval.
	Interval time.Duration
	Logger   *slog.Logger

	// CPUTime returns the CPU time (user and system) the process has used so far. Default
	// getrusage(RUSAGE_SELF).
	CPUTime func() (time.Duration, error)
	// Set applies a number of Ps. Default runtime.GOMAXPROCS.
	Set func(n int)
}

// Controller adjusts GOMAXPROCS to the process's CPU use. Run it in a goroutine it owns.
type Controller struct {
	opts Options
	cur  atomic.Int32
	low  int // intervals in a row below the removal threshold
}

// New returns a Controller; nothing changes until Run.
func New(opts Options) *Controller {
	if opts.Max <= 0 {
		opts.Max = runtime.GOMAXPROCS(0)
	}
	if opts.Interval <= 0 {
		opts.Interval = DefaultInterval
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.CPUTime == nil {
		opts.CPUTime = ProcessCPUTime
	}
	if opts.Set == nil {
		opts.Set = func(n int) { runtime.GOMAXPROCS(n) }
	}
	c := &Controller{opts: opts}
	c.cur.Store(int32(opts.Max))
	return c
}

// Procs returns the number of Ps in force.
func (c *Controller) Procs() int { return int(c.cur.Load()) }

// Max returns the most Ps the controller may set.
func (c *Controller) Max() int { return c.opts.Max }

// Run sets one P, then follows the load until ctx ends. It leaves the last setting in place.
func (c *Controller) Run(ctx context.Context) {
	c.apply(1, 0)
	if c.opts.Max == 1 {
		<-ctx.Done()
		return
	}
	t := time.NewTicker(c.opts.Interval)
	defer t.Stop()
	last := time.Now()
	lastCPU, err := c.opts.CPUTime()
	if err != nil {
		// Without a CPU reading there is nothing to follow: give the process every P.
		c.opts.Logger.Warn("cannot read the process's CPU time; using every CPU", "err", err)
		c.apply(c.opts.Max, 0)
		<-ctx.Done()
		return
	}
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			cpu, err := c.opts.CPUTime()
			if err != nil {
				continue
			}
			wall := now.Sub(last)
			if wall <= 0 {
				continue
			}
			used := float64(cpu-lastCPU) / float64(wall)
			last, lastCPU = now, cpu
			if n := c.Step(used); n != c.Procs() {
				c.apply(n, used)
			}
		}
	}
}

// Step takes the CPUs the process used during one interval and returns the number of Ps
// to run with next. It keeps the state of the removal hold; it is not safe for concurrent
// use, and Run is its only caller outside tests.
func (c *Controller) Step(used float64) int {
	cur := c.Procs()
	switch {
	case used > upAt*float64(cur) && cur < c.opts.Max:
		c.low = 0
		return min(c.opts.Max, max(cur+1, int(math.Ceil(used/target))))
	case cur > 1 && used < downAt*float64(cur-1):
		c.low++
		if c.low >= hold {
			c.low = 0
			return cur - 1
		}
	default:
		c.low = 0
	}
	return cur
}

func (c *Controller) apply(n int, used float64) {
	prev := c.cur.Swap(int32(n))
	c.opts.Set(n)
	if int(prev) != n {
		c.opts.Logger.Debug("scheduler resized", "procs", n, "previous", prev, "cpus_used", math.Round(used*100)/100)
	}
}

// ProcessCPUTime returns the user and system CPU time the process has used.
func ProcessCPUTime() (time.Duration, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, err
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), nil
}
