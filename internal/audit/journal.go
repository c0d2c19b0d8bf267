package audit

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// Journaled is the SQLite store behind a write-ahead journal, for the one process that
// appends a chain (the gateway). An append is durable once its lines are in the journal
// (one write and one fdatasync per group commit); the SQLite tables are an index that a
// goroutine of the store brings up to date every indexEvery, and that is complete again
// after Close. Opening replays whatever a crash left in the journal.
//
// The journal is locked (flock) for the store's life: a second gateway on the same store is
// refused, and the CLI writes its own records directly to SQLite (see OpenSQLite) only
// while no gateway holds the lock.
type Journaled struct {
	*SQLite
	logger *slog.Logger

	lock *os.File
	mu   sync.Mutex // the journal file and the heads
	f    *os.File
	size int64
	head map[string]headState

	wake    chan struct{}
	stop    chan struct{}
	done    chan struct{}
	idxMu   sync.Mutex // one indexing pass at a time
	offset  int64      // journal bytes already in SQLite
	idxErr  error
	closing sync.Once
}

type headState struct {
	seq  int64
	hash string
}

// A journal line is a small JSON header, then, for a record, a tab and the record's body
// exactly as hashed. Neither JSON holds a raw tab or newline (encoding/json escapes them), so
// indexing splits at the first tab and decodes only the header.
type journalLine struct {
	Type       string      `json:"t"` // r: record, c: checkpoint
	Chain      string      `json:"chain"`
	Seq        int64       `json:"seq"`
	Hash       string      `json:"hash,omitempty"`
	Cols       *indexCols  `json:"cols,omitempty"` // the record's indexed columns, so indexing need not decode its body
	Checkpoint *Checkpoint `json:"cp,omitempty"`
}

type indexCols struct {
	Time     string `json:"time"`
	Kind     string `json:"kind"`
	Subject  string `json:"subject,omitempty"`
	Tenant   string `json:"tenant,omitempty"`
	Server   string `json:"server,omitempty"`
	Target   string `json:"target,omitempty"`
	Decision string `json:"decision,omitempty"`
	Outcome  string `json:"outcome,omitempty"`
}

const (
	indexEvery      = 50 * time.Millisecond
	journalRollover = 4 << 20 // truncate the journal once this big and fully indexed
)

// ErrStoreBusy means another process holds the journal.
var ErrStoreBusy = errors.New("another gateway process is writing this audit store")

// OpenJournaled opens the SQLite store at path with its journal (path + ".journal").
func OpenJournaled(path string, logger *slog.Logger) (*Journaled, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	lock, err := lockJournal(path)
	if err != nil {
		return nil, err
	}
	s, err := OpenSQLite(path)
	if err != nil {
		lock.Close()
		return nil, err
	}
	j := &Journaled{SQLite: s, logger: logger, lock: lock, head: map[string]headState{},
		wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	if err := replayJournal(context.Background(), s, path+".journal"); err != nil {
		s.Close()
		lock.Close()
		return nil, err
	}
	if j.f, err = os.OpenFile(path+".journal", os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600); err != nil {
		s.Close()
		lock.Close()
		return nil, err
	}
	go j.indexLoop()
	return j, nil
}

func lockJournal(path string) (*os.File, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	lock, err := os.OpenFile(path+".journal.lock", os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		lock.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w (%s)", ErrStoreBusy, path)
		}
		return nil, err
	}
	return lock, nil
}

// replayJournal indexes every complete line of the journal at jpath into s and empties the
// journal. Lines already indexed are skipped (INSERT OR IGNORE).
func replayJournal(ctx context.Context, s *SQLite, jpath string) error {
	f, err := os.OpenFile(jpath, os.O_RDWR, 0)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	data, err := io.ReadAll(f)
	if err != nil {
		return err
	}
	if _, err := indexLines(ctx, s, data); err != nil {
		return fmt.Errorf("audit journal %s: %w", jpath, err)
	}
	if err := f.Truncate(0); err != nil {
		return err
	}
	return f.Sync()
}

// indexLines inserts the complete lines of data into s in one transaction and returns how
// many bytes they took. A torn last line (a crash mid-write) is left out: it was never
// acknowledged.
func indexLines(ctx context.Context, s *SQLite, data []byte) (int, error) {
	end := bytes.LastIndexByte(data, '\n') + 1
	if end == 0 {
		return 0, nil
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	ins := tx.StmtContext(ctx, s.insertIgnore)
	sc := bufio.NewScanner(bytes.NewReader(data[:end]))
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		head, body, _ := bytes.Cut(sc.Bytes(), []byte{'\t'})
		var l journalLine
		if err := json.Unmarshal(head, &l); err != nil {
			return 0, fmt.Errorf("journal line: %w", err)
		}
		switch l.Type {
		case "r":
			c := l.Cols
			if c == nil {
				var r Record
				if err := json.Unmarshal(body, &r); err != nil {
					return 0, err
				}
				c = colsOf(&r)
			}
			if _, err := ins.ExecContext(ctx, l.Chain, l.Seq, c.Time, c.Kind, c.Subject, c.Tenant, c.Server, c.Target, c.Decision, c.Outcome, body, l.Hash); err != nil {
				return 0, err
			}
		case "c":
			cp := l.Checkpoint
			if cp == nil {
				continue
			}
			if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO checkpoints (chain, seq, head, time, sig) VALUES (?,?,?,?,?)`,
				cp.Chain, cp.Seq, cp.Head, cp.Time.UTC().Format(time.RFC3339Nano), cp.Sig); err != nil {
				return 0, err
			}
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return end, tx.Commit()
}

func colsOf(r *Record) *indexCols {
	return &indexCols{Time: r.Time.UTC().Format(time.RFC3339Nano), Kind: r.Kind, Subject: r.Subject, Tenant: r.Tenant,
		Server: r.Server, Target: r.Target, Decision: r.Decision, Outcome: r.Outcome}
}

// Append implements Store: the records are durable when it returns.
func (j *Journaled) Append(ctx context.Context, chain string, recs []*Record) error {
	if len(recs) == 0 {
		return nil
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	h, ok := j.head[chain]
	if !ok {
		seq, hash, err := j.SQLite.Head(ctx, chain) // the journal was replayed at open
		if err != nil {
			return err
		}
		h = headState{seq, hash}
	}
	bodies, err := seal(chain, h.seq, h.hash, recs)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	for i, r := range recs {
		head, err := json.Marshal(journalLine{Type: "r", Chain: chain, Seq: r.Seq, Hash: r.Hash, Cols: colsOf(r)})
		if err != nil {
			return err
		}
		buf.Write(head)
		buf.WriteByte('\t')
		buf.Write(bodies[i])
		buf.WriteByte('\n')
	}
	last := recs[len(recs)-1]
	next := headState{last.Seq, last.Hash}
	if err := j.write(buf.Bytes(), true); err != nil {
		return err
	}
	j.head[chain] = next
	j.kick()
	return nil
}

// write appends b to the journal (and syncs it if sync). On a failed write the journal is
// cut back to where it was, so that a half-written batch can never be replayed.
func (j *Journaled) write(b []byte, sync bool) error {
	if _, err := j.f.Write(b); err != nil {
		j.f.Truncate(j.size)
		return fmt.Errorf("audit journal: write: %w", err)
	}
	if sync {
		if err := syscall.Fdatasync(int(j.f.Fd())); err != nil {
			j.f.Truncate(j.size)
			return fmt.Errorf("audit journal: sync: %w", err)
		}
	}
	j.size += int64(len(b))
	return nil
}

// Head implements Store: the journal's head, ahead of the index.
func (j *Journaled) Head(ctx context.Context, chain string) (int64, string, error) {
	j.mu.Lock()
	h, ok := j.head[chain]
	j.mu.Unlock()
	if ok {
		return h.seq, h.hash, nil
	}
	return j.SQLite.Head(ctx, chain)
}

// AddCheckpoint implements Store: checkpoints go through the journal too, so that the
// index never holds a checkpoint ahead of its records. It is synced with the next batch.
func (j *Journaled) AddCheckpoint(ctx context.Context, cp Checkpoint) error {
	line, err := json.Marshal(journalLine{Type: "c", Chain: cp.Chain, Seq: cp.Seq, Checkpoint: &cp})
	if err != nil {
		return err
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if err := j.write(append(line, '\n'), false); err != nil {
		return err
	}
	j.kick()
	return nil
}

// LastBefore implements Store (retention): the index is brought up to date first.
func (j *Journaled) LastBefore(ctx context.Context, chain string, t time.Time) (int64, string, error) {
	if err := j.Flush(ctx); err != nil {
		return 0, "", err
	}
	return j.SQLite.LastBefore(ctx, chain, t)
}

// Prune implements Store.
func (j *Journaled) Prune(ctx context.Context, chain string, through int64) (int64, error) {
	if err := j.Flush(ctx); err != nil {
		return 0, err
	}
	return j.SQLite.Prune(ctx, chain, through)
}

func (j *Journaled) kick() {
	select {
	case j.wake <- struct{}{}:
	default:
	}
}

func (j *Journaled) indexLoop() {
	defer close(j.done)
	t := time.NewTicker(indexEvery)
	defer t.Stop()
	for {
		select {
		case <-j.stop:
			return
		case <-t.C:
		case <-j.wake:
			// Let a burst gather: index at most every indexEvery.
			select {
			case <-j.stop:
				return
			case <-t.C:
			}
		}
		if err := j.Flush(context.Background()); err != nil {
			if j.idxErr == nil {
				j.logger.Error("audit index behind its journal (records are safe in the journal)", "err", err)
			}
			j.idxErr = err
		} else {
			j.idxErr = nil
		}
	}
}

// Flush brings the SQLite index up to date with the journal, and empties the journal once
// it is big and wholly indexed.
func (j *Journaled) Flush(ctx context.Context) error {
	j.idxMu.Lock()
	defer j.idxMu.Unlock()
	j.mu.Lock()
	size := j.size
	j.mu.Unlock()
	if size > j.offset {
		data := make([]byte, size-j.offset)
		if _, err := j.f.ReadAt(data, j.offset); err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		n, err := indexLines(ctx, j.SQLite, data)
		if err != nil {
			return err
		}
		j.offset += int64(n)
	}
	if j.offset >= journalRollover {
		j.mu.Lock()
		defer j.mu.Unlock()
		if j.size == j.offset { // nothing appended meanwhile
			if err := j.f.Truncate(0); err != nil {
				return err
			}
			j.size, j.offset = 0, 0
		}
	}
	return nil
}

// Close indexes what is left, empties the journal and closes the store.
func (j *Journaled) Close() error {
	var err error
	j.closing.Do(func() {
		close(j.stop)
		<-j.done
		if err = j.Flush(context.Background()); err == nil {
			j.mu.Lock()
			if j.size == j.offset {
				j.f.Truncate(0)
			}
			j.mu.Unlock()
		}
		j.f.Close()
		j.SQLite.Close()
		j.lock.Close()
	})
	return err
}

var _ Store = (*Journaled)(nil)

// OpenForAdmin opens the SQLite store for a process that is not the gateway (the CLI):
// when no gateway holds the journal, it replays the journal first, so that reads see every
// record; while a gateway runs (busy), reads see its index (at most indexEvery behind).
func OpenForAdmin(path string) (s *SQLite, busy bool, err error) {
	if s, err = OpenSQLite(path); err != nil {
		return nil, false, err
	}
	lock, err := lockJournal(path)
	if errors.Is(err, ErrStoreBusy) {
		return s, true, nil
	}
	if err != nil {
		s.Close()
		return nil, false, err
	}
	defer lock.Close()
	if err := replayJournal(context.Background(), s, path+".journal"); err != nil {
		s.Close()
		return nil, false, err
	}
	return s, false, nil
}
