package audit

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Config configures an Auditor.
type Config struct {
	Store              Store
	Chain              string             // this gateway's chain (one per replica)
	Key                ed25519.PrivateKey // signs checkpoints
	Valuer             *Valuer
	CheckpointEvery    int           // records between checkpoints; default 1000
	CheckpointInterval time.Duration // at most this long between checkpoints while records arrive; default 10s
	CheckpointFile     string        // also append each checkpoint here (JSON lines), outside the store
	// CheckpointPost, if set, also sends each checkpoint elsewhere (a URL: a witness the
	// store's writer cannot reach); its failures are logged, not fatal.
	CheckpointPost func(ctx context.Context, cp Checkpoint) error
	// Retention prunes records older than this, checked at start and hourly; 0 keeps all.
	Retention time.Duration
	Logger    *slog.Logger
}

// ErrUnavailable wraps every failure to make a record durable.
var ErrUnavailable = errors.New("audit trail unavailable")

// Auditor group-commits records to a Store and signs checkpoints. Its goroutine is started
// by New and ended by Close.
type Auditor struct {
	cfg     Config
	logger  *slog.Logger
	ch      chan *pending
	stop    chan struct{}
	done    chan struct{}
	retain  sync.WaitGroup
	once    sync.Once
	healthy atomic.Bool
	lastErr atomic.Value // string
	written atomic.Int64
	commits atomic.Int64
	waiting atomic.Int64 // callers in Write
}

type pending struct {
	rec  *Record
	done chan error // nil: nobody waits
}

// New starts an Auditor.
func New(cfg Config) (*Auditor, error) {
	if cfg.Store == nil || cfg.Chain == "" || cfg.Key == nil {
		return nil, errors.New("audit: store, chain and key are required")
	}
	if cfg.CheckpointEvery <= 0 {
		cfg.CheckpointEvery = 1000
	}
	if cfg.CheckpointInterval <= 0 {
		cfg.CheckpointInterval = 10 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	a := &Auditor{cfg: cfg, logger: cfg.Logger, ch: make(chan *pending, 4096), stop: make(chan struct{}), done: make(chan struct{})}
	a.healthy.Store(true)
	go a.run()
	if cfg.Retention > 0 {
		a.retain.Add(1)
		go a.retainLoop()
	}
	return a, nil
}

// Chain is the auditor's chain name.
func (a *Auditor) Chain() string { return a.cfg.Chain }

// Valuer is how arguments are recorded.
func (a *Auditor) Valuer() *Valuer { return a.cfg.Valuer }

// Write appends rec and returns once it is durable. It is detached from ctx's
// cancellation: a client that goes away cannot drop its own record.
func (a *Auditor) Write(ctx context.Context, rec *Record) error {
	p := &pending{rec: rec, done: make(chan error, 1)}
	a.waiting.Add(1)
	defer a.waiting.Add(-1)
	select {
	case a.ch <- p:
	case <-a.stop:
		return fmt.Errorf("%w: the gateway is shutting down", ErrUnavailable)
	}
	return <-p.done
}

// Enqueue appends rec without waiting for it (outcome records: the request they belong to is
// already durable).
func (a *Auditor) Enqueue(rec *Record) {
	select {
	case a.ch <- &pending{rec: rec}:
	case <-a.stop:
	}
}

// Healthy reports whether the last write succeeded, and why not.
func (a *Auditor) Healthy() (bool, string) {
	if a.healthy.Load() {
		return true, ""
	}
	s, _ := a.lastErr.Load().(string)
	return false, s
}

// Written is the number of records made durable by this Auditor.
func (a *Auditor) Written() int64 { return a.written.Load() }

// Commits is the number of group commits that made them durable.
func (a *Auditor) Commits() int64 { return a.commits.Load() }

// Close writes what is queued, signs a last checkpoint and stops. It does not close the
// store.
func (a *Auditor) Close() {
	a.once.Do(func() {
		close(a.stop)
		a.retain.Wait()
		<-a.done
	})
}

func (a *Auditor) run() {
	defer close(a.done)
	tick := time.NewTicker(a.cfg.CheckpointInterval)
	defer tick.Stop()
	since := 0 // records since the last checkpoint
	batch := make([]*pending, 0, 256)
	var grp grouping
	company := time.NewTimer(time.Hour)
	company.Stop()
	for {
		batch = batch[:0]
		select {
		case p := <-a.ch:
			batch = append(batch, p)
		case <-tick.C:
			if since > 0 {
				a.checkpoint()
				since = 0
			}
			continue
		case <-a.stop:
			// Drain what is queued, then a last checkpoint.
			for {
				select {
				case p := <-a.ch:
					batch = append(batch, p)
					continue
				default:
				}
				break
			}
			if len(batch) > 0 {
				a.commit(batch)
			}
			a.checkpoint()
			return
		}
	more: // group commit: everything queued meanwhile goes into the same transaction
		for len(batch) < cap(batch) {
			select {
			case p := <-a.ch:
				batch = append(batch, p)
			default:
				break more
			}
		}
		// Concurrent callers: wait a little for as many as recent commits carried.
		if n := countWaited(batch); n > 0 {
			batch = grp.gather(a, batch, n, company)
		}
		// A batch nobody waits for (outcome records) rides with the next durable write, or
		// goes on its own after outcomeLinger: one sync per call instead of two.
		if !waited(batch) {
			linger := time.NewTimer(outcomeLinger)
		wait:
			for len(batch) < cap(batch) {
				select {
				case p := <-a.ch:
					batch = append(batch, p)
					if p.done != nil {
						break wait
					}
				case <-linger.C:
					break wait
				case <-a.stop:
					break wait
				}
			}
			linger.Stop()
		}
		// Callers waiting now: those in this batch and those queued behind it.
		grp.seen(int(a.waiting.Load()))
		start := time.Now()
		ok := a.commit(batch)
		grp.took = time.Since(start)
		if ok {
			since += len(batch)
			if since >= a.cfg.CheckpointEvery {
				a.checkpoint()
				since = 0
			}
		}
	}
}

// grouping sizes group commits to the callers' concurrency. A sync costs the same for one
// record as for sixteen, and on a small machine it is most of a record's cost; so when
// several callers were waiting at recent commits, a commit waits (at most as long as a
// commit takes, and never more than maxCommitDelay) for as many to join it. With one caller
// at a time, no commit waits. Concurrent callers then wait on the same commit and come back
// together, so the groups stay large.
type grouping struct {
	sizes [groupWindow]int // callers waiting at recent commits
	next  int
	took  time.Duration // the last commit's duration
}

const (
	groupWindow    = 64 // commits the target looks back over
	maxCommitDelay = time.Millisecond
)

// target is the most callers waiting at a recent commit.
func (g *grouping) target() int {
	m := 0
	for _, n := range g.sizes {
		m = max(m, n)
	}
	return m
}

func (g *grouping) seen(waiting int) {
	g.sizes[g.next] = waiting
	g.next = (g.next + 1) % groupWindow
}

// gather adds records to batch (which holds n that callers wait for) until it holds as many
// as the target, or the delay is over.
func (g *grouping) gather(a *Auditor, batch []*pending, n int, t *time.Timer) []*pending {
	target := g.target()
	if n >= target || target < 2 {
		return batch
	}
	t.Reset(min(maxCommitDelay, g.took))
	defer t.Stop()
	for n < target && len(batch) < cap(batch) {
		select {
		case p := <-a.ch:
			batch = append(batch, p)
			if p.done != nil {
				n++
			}
		case <-t.C:
			return batch
		case <-a.stop:
			return batch
		}
	}
	return batch
}

func countWaited(batch []*pending) int {
	n := 0
	for _, p := range batch {
		if p.done != nil {
			n++
		}
	}
	return n
}

// outcomeLinger is how long records nobody waits for may wait for company.
const outcomeLinger = 20 * time.Millisecond

func waited(batch []*pending) bool {
	for _, p := range batch {
		if p.done != nil {
			return true
		}
	}
	return false
}

func (a *Auditor) commit(batch []*pending) bool {
	recs := make([]*Record, len(batch))
	for i, p := range batch {
		recs[i] = p.rec
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	err := a.cfg.Store.Append(ctx, a.cfg.Chain, recs)
	cancel()
	if err != nil {
		err = fmt.Errorf("%w: %w", ErrUnavailable, err)
		if a.healthy.Swap(false) {
			a.logger.Error("AUDIT STORE FAILING: requests are refused until records can be written", "err", err)
		}
		a.lastErr.Store(err.Error())
	} else {
		if !a.healthy.Swap(true) {
			a.logger.Warn("audit store writing again")
		}
		a.written.Add(int64(len(batch)))
		a.commits.Add(1)
	}
	for _, p := range batch {
		if p.done != nil {
			p.done <- err
		}
	}
	return err == nil
}

func (a *Auditor) checkpoint() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	seq, head, err := a.cfg.Store.Head(ctx, a.cfg.Chain)
	if err != nil || seq == 0 {
		return
	}
	cp := Checkpoint{Chain: a.cfg.Chain, Seq: seq, Head: head, Time: time.Now()}
	cp.Sign(a.cfg.Key)
	if err := a.cfg.Store.AddCheckpoint(ctx, cp); err != nil {
		a.logger.Error("audit checkpoint not stored", "err", err)
		return
	}
	if a.cfg.CheckpointFile != "" {
		if err := appendLine(a.cfg.CheckpointFile, cp); err != nil {
			a.logger.Error("audit checkpoint not written to the checkpoint file", "file", a.cfg.CheckpointFile, "err", err)
		}
	}
	if a.cfg.CheckpointPost != nil {
		if err := a.cfg.CheckpointPost(ctx, cp); err != nil {
			a.logger.Error("audit checkpoint not sent to the checkpoint URL", "err", err)
		}
	}
}

// PostCheckpoint returns a CheckpointPost that POSTs each checkpoint as JSON to url.
func PostCheckpoint(url string, headers func(ctx context.Context) (http.Header, error), client *http.Client) func(context.Context, Checkpoint) error {
	return func(ctx context.Context, cp Checkpoint) error {
		b, err := json.Marshal(cp)
		if err != nil {
			return err
		}
		return post(ctx, client, url, headers, http.Header{"Content-Type": {"application/json"}}, b)
	}
}

func appendLine(path string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Prune removes the records of this chain older than cutoff. Before deleting, it signs a
// checkpoint at the last record to go (what remains is verified from it) and writes a
// durable "prune" admin record, so that the prune itself is recorded and signed by the next
// checkpoint. It returns the number of records removed.
func (a *Auditor) Prune(ctx context.Context, cutoff time.Time) (int64, error) {
	seq, hash, err := a.cfg.Store.LastBefore(ctx, a.cfg.Chain, cutoff)
	if err != nil || seq == 0 {
		return 0, err
	}
	cp := Checkpoint{Chain: a.cfg.Chain, Seq: seq, Head: hash, Time: time.Now()}
	cp.Sign(a.cfg.Key)
	if err := a.cfg.Store.AddCheckpoint(ctx, cp); err != nil {
		return 0, err
	}
	if a.cfg.CheckpointFile != "" {
		appendLine(a.cfg.CheckpointFile, cp)
	}
	detail, _ := json.Marshal(map[string]any{"chain": a.cfg.Chain, "through_seq": seq, "anchor_head": hash, "cutoff": cutoff.UTC()})
	if err := a.Write(ctx, &Record{Time: time.Now(), Kind: KindAdmin, Subject: "gatehouse", Event: "prune", Detail: detail}); err != nil {
		return 0, err
	}
	n, err := a.cfg.Store.Prune(ctx, a.cfg.Chain, seq)
	if err == nil {
		a.logger.Info("audit records pruned", "chain", a.cfg.Chain, "through_seq", seq, "records", n, "cutoff", cutoff.UTC())
	}
	return n, err
}

func (a *Auditor) retainLoop() {
	defer a.retain.Done()
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		if _, err := a.Prune(ctx, time.Now().Add(-a.cfg.Retention)); err != nil {
			a.logger.Error("audit retention: prune failed", "err", err)
		}
		cancel()
		select {
		case <-a.stop:
			return
		case <-t.C:
		}
	}
}
