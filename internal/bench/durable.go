package bench

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"syscall"
	"time"
)

// DurableLog is the floor under a durable audit record: the least a proxy can do to make a
// record of each request durable before forwarding it. One goroutine group-commits what
// callers queue: the records are chained by SHA-256 and written with one write(2) into a
// preallocated file (so fdatasync(2) flushes data, not file-system metadata), then one
// fdatasync. It keeps no index, encodes nothing and never reads back: everything a real
// audit store does is on top of this.
//
// Its grouping is the gateway auditor's: when several callers were waiting at recent
// commits, a commit waits (at most as long as the last commit took, never over a
// millisecond) for as many to join it.
type DurableLog struct {
	f     *os.File
	ch    chan logEntry
	done  chan struct{}
	off   int64
	size  int64
	prev  [sha256.Size]byte
	buf   []byte
	sizes [64]int
	next  int
	took  time.Duration
	err   error

	waited, all atomic.Int64 // records appended: waited for, in all
	commits     atomic.Int64
}

type logEntry struct {
	b    []byte
	done chan error // nil: nobody waits
}

// OpenDurableLog creates path, writes size bytes of zeros into it and syncs them (the log
// then wraps around inside them), and starts the committing goroutine; Close ends it.
func OpenDurableLog(path string, size int64) (*DurableLog, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, err
	}
	zero := make([]byte, 1<<20)
	for n := int64(0); n < size; n += int64(len(zero)) {
		if _, err := f.Write(zero); err != nil {
			f.Close()
			return nil, fmt.Errorf("durable log: preallocate: %w", err)
		}
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, fmt.Errorf("durable log: %w", err)
	}
	l := &DurableLog{f: f, ch: make(chan logEntry, 4096), done: make(chan struct{}), size: size, buf: make([]byte, 0, 1<<20)}
	go l.run()
	return l, nil
}

// Append queues a copy of b and, with wait, returns once it is durable.
func (l *DurableLog) Append(b []byte, wait bool) error {
	e := logEntry{b: append([]byte(nil), b...)}
	l.all.Add(1)
	if wait {
		l.waited.Add(1)
		e.done = make(chan error, 1)
	}
	l.ch <- e
	if !wait {
		return nil
	}
	return <-e.done
}

// Records is how many records were appended, and how many of them callers waited for.
func (l *DurableLog) Records() (all, waited int64) { return l.all.Load(), l.waited.Load() }

// Commits is how many group commits (one write and one fdatasync each) were made.
func (l *DurableLog) Commits() int64 { return l.commits.Load() }

// Close commits what is queued and closes the file.
func (l *DurableLog) Close() error {
	close(l.ch)
	<-l.done
	return errors.Join(l.err, l.f.Close())
}

func (l *DurableLog) run() {
	defer close(l.done)
	batch := make([]logEntry, 0, 256)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		batch = batch[:0]
		e, ok := <-l.ch
		if !ok {
			return
		}
		batch = append(batch, e)
	more:
		for len(batch) < cap(batch) {
			select {
			case e, ok := <-l.ch:
				if !ok {
					break more
				}
				batch = append(batch, e)
			default:
				break more
			}
		}
		n := waiters(batch)
		if target := l.target(); n > 0 && n < target {
			timer.Reset(min(time.Millisecond, l.took))
		gather:
			for n < target && len(batch) < cap(batch) {
				select {
				case e, ok := <-l.ch:
					if !ok {
						break gather
					}
					batch = append(batch, e)
					if e.done != nil {
						n++
					}
				case <-timer.C:
					break gather
				}
			}
			timer.Stop()
		}
		l.sizes[l.next] = n + len(l.ch) // callers at this commit and queued behind it
		l.next = (l.next + 1) % len(l.sizes)
		start := time.Now()
		err := l.commit(batch)
		l.took = time.Since(start)
		l.commits.Add(1)
		for _, e := range batch {
			if e.done != nil {
				e.done <- err
			}
		}
	}
}

func waiters(batch []logEntry) int {
	n := 0
	for _, e := range batch {
		if e.done != nil {
			n++
		}
	}
	return n
}

func (l *DurableLog) target() int {
	m := 0
	for _, n := range l.sizes {
		m = max(m, n)
	}
	return m
}

// commit chains, writes and syncs batch.
func (l *DurableLog) commit(batch []logEntry) error {
	l.buf = l.buf[:0]
	for _, e := range batch {
		h := sha256.New()
		h.Write(l.prev[:])
		h.Write(e.b)
		h.Sum(l.prev[:0])
		l.buf = append(l.buf, e.b...)
		l.buf = append(l.buf, l.prev[:]...)
	}
	if l.off+int64(len(l.buf)) > l.size {
		l.off = 0
	}
	if int64(len(l.buf)) > l.size {
		l.buf = l.buf[:l.size]
	}
	if _, err := l.f.WriteAt(l.buf, l.off); err != nil {
		l.err = err
		return err
	}
	l.off += int64(len(l.buf))
	if err := syscall.Fdatasync(int(l.f.Fd())); err != nil {
		l.err = err
		return err
	}
	return nil
}
