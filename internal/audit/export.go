package audit

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"sync"
	"time"
)

// exportLine is one line of an export: a record (its stored body and hash) or a checkpoint.
type exportLine struct {
	Type       string          `json:"type"` // record | checkpoint
	Chain      string          `json:"chain"`
	Seq        int64           `json:"seq"`
	Body       json.RawMessage `json:"body,omitempty"`
	Hash       string          `json:"hash,omitempty"`
	Checkpoint *Checkpoint     `json:"checkpoint,omitempty"`
}

// Export writes every chain of st as JSON Lines: each record's exact stored body with its
// hash, then the chain's checkpoints. The export verifies on its own (ReadExport + Verify).
func Export(ctx context.Context, st Store, w io.Writer) error {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	chains, err := st.Chains(ctx)
	if err != nil {
		return err
	}
	for _, c := range chains {
		err := st.Scan(ctx, c, func(seq int64, body []byte, hash string) error {
			return enc.Encode(exportLine{Type: "record", Chain: c, Seq: seq, Body: body, Hash: hash})
		})
		if err != nil {
			return err
		}
		cps, err := st.Checkpoints(ctx, c)
		if err != nil {
			return err
		}
		for i := range cps {
			if err := enc.Encode(exportLine{Type: "checkpoint", Chain: c, Seq: cps[i].Seq, Checkpoint: &cps[i]}); err != nil {
				return err
			}
		}
	}
	return bw.Flush()
}

// Memory is a Store held in memory: an export read back for verification, and tests.
type Memory struct {
	mu      sync.Mutex
	chains  map[string]*memChain
	cursors map[string]int64
}

type memChain struct {
	seqs   []int64
	bodies map[int64][]byte
	hashes map[int64]string
	cps    []Checkpoint
}

// NewMemory returns an empty Memory store.
func NewMemory() *Memory { return &Memory{chains: map[string]*memChain{}, cursors: map[string]int64{}} }

func (m *Memory) chain(c string) *memChain {
	ch := m.chains[c]
	if ch == nil {
		ch = &memChain{bodies: map[int64][]byte{}, hashes: map[int64]string{}}
		m.chains[c] = ch
	}
	return ch
}

// ReadExport loads an export into a Memory store, keeping bodies and hashes exactly as
// exported (so that Verify judges them).
func ReadExport(r io.Reader) (*Memory, error) {
	m := NewMemory()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 64<<20)
	for n := 1; sc.Scan(); n++ {
		if len(sc.Bytes()) == 0 {
			continue
		}
		var l exportLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			return nil, fmt.Errorf("export line %d: %w", n, err)
		}
		ch := m.chain(l.Chain)
		switch l.Type {
		case "record":
			if _, dup := ch.bodies[l.Seq]; !dup {
				ch.seqs = append(ch.seqs, l.Seq)
			}
			ch.bodies[l.Seq], ch.hashes[l.Seq] = l.Body, l.Hash
		case "checkpoint":
			if l.Checkpoint != nil {
				ch.cps = append(ch.cps, *l.Checkpoint)
			}
		default:
			return nil, fmt.Errorf("export line %d: unknown type %q", n, l.Type)
		}
	}
	return m, sc.Err()
}

// Append implements Store.
func (m *Memory) Append(_ context.Context, chain string, recs []*Record) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	ch := m.chain(chain)
	seq, prev := int64(0), Genesis
	if n := len(ch.seqs); n > 0 {
		seq = ch.seqs[n-1]
		prev = ch.hashes[seq]
	}
	bodies, err := seal(chain, seq, prev, recs)
	if err != nil {
		return err
	}
	for i, r := range recs {
		ch.seqs = append(ch.seqs, r.Seq)
		ch.bodies[r.Seq], ch.hashes[r.Seq] = bodies[i], r.Hash
	}
	return nil
}

// AddCheckpoint implements Store.
func (m *Memory) AddCheckpoint(_ context.Context, cp Checkpoint) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	ch := m.chain(cp.Chain)
	ch.cps = append(ch.cps, cp)
	return nil
}

// Head implements Store.
func (m *Memory) Head(_ context.Context, chain string) (int64, string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	ch := m.chains[chain]
	if ch == nil || len(ch.seqs) == 0 {
		return 0, Genesis, nil
	}
	s := ch.seqs[len(ch.seqs)-1]
	return s, ch.hashes[s], nil
}

// Chains implements Store.
func (m *Memory) Chains(context.Context) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for c := range m.chains {
		out = append(out, c)
	}
	sort.Strings(out)
	return out, nil
}

// Scan implements Store: records in the order they were given (an export's order is part of
// what Verify judges).
func (m *Memory) Scan(_ context.Context, chain string, fn func(int64, []byte, string) error) error {
	m.mu.Lock()
	ch := m.chains[chain]
	var seqs []int64
	if ch != nil {
		seqs = append(seqs, ch.seqs...)
	}
	m.mu.Unlock()
	for _, s := range seqs {
		if err := fn(s, ch.bodies[s], ch.hashes[s]); err != nil {
			return err
		}
	}
	return nil
}

// Checkpoints implements Store.
func (m *Memory) Checkpoints(_ context.Context, chain string) ([]Checkpoint, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if ch := m.chains[chain]; ch != nil {
		return append([]Checkpoint(nil), ch.cps...), nil
	}
	return nil, nil
}

// Query implements Store (a linear scan).
func (m *Memory) Query(ctx context.Context, f Filter, fn func(*Record) error) error {
	chains, _ := m.Chains(ctx)
	n := 0
	for _, c := range chains {
		err := m.Scan(ctx, c, func(_ int64, body []byte, hash string) error {
			var r Record
			if json.Unmarshal(body, &r) != nil || !f.match(&r) || (f.Limit > 0 && n >= f.Limit) {
				return nil
			}
			n++
			r.Hash = hash
			return fn(&r)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func (f *Filter) match(r *Record) bool {
	switch {
	case !f.Since.IsZero() && r.Time.Before(f.Since), !f.Until.IsZero() && !r.Time.Before(f.Until),
		f.Subject != "" && r.Subject != f.Subject, f.Tenant != "" && r.Tenant != f.Tenant,
		f.Server != "" && r.Server != f.Server, f.Target != "" && r.Target != f.Target,
		f.Decision != "" && r.Decision != f.Decision, f.Outcome != "" && r.Outcome != f.Outcome,
		f.Kind != "" && r.Kind != f.Kind:
		return false
	}
	return true
}

// LastBefore implements Store.
func (m *Memory) LastBefore(ctx context.Context, chain string, t time.Time) (int64, string, error) {
	var seq int64
	var hash string
	err := m.Scan(ctx, chain, func(s int64, body []byte, h string) error {
		var r Record
		if json.Unmarshal(body, &r) == nil && r.Time.Before(t) {
			seq, hash = s, h
		}
		return nil
	})
	return seq, hash, err
}

// Prune implements Store.
func (m *Memory) Prune(_ context.Context, chain string, through int64) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	ch := m.chains[chain]
	if ch == nil {
		return 0, nil
	}
	var keep []int64
	var n int64
	for _, s := range ch.seqs {
		if s <= through {
			delete(ch.bodies, s)
			delete(ch.hashes, s)
			n++
		} else {
			keep = append(keep, s)
		}
	}
	ch.seqs = keep
	var cps []Checkpoint
	for _, cp := range ch.cps {
		if cp.Seq >= through {
			cps = append(cps, cp)
		}
	}
	ch.cps = cps
	return n, nil
}

// Read implements Store.
func (m *Memory) Read(ctx context.Context, chain string, after int64, limit int) ([]Stored, error) {
	var out []Stored
	err := m.Scan(ctx, chain, func(seq int64, body []byte, hash string) error {
		if seq > after && len(out) < limit {
			out = append(out, Stored{Chain: chain, Seq: seq, Hash: hash, Body: body})
		}
		return nil
	})
	return out, err
}

// Cursor implements Store.
func (m *Memory) Cursor(_ context.Context, sink, chain string) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.cursors[sink+"\x00"+chain], nil
}

// SetCursor implements Store.
func (m *Memory) SetCursor(_ context.Context, sink, chain string, seq int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.cursors[sink+"\x00"+chain] = seq
	return nil
}

// Close implements Store.
func (m *Memory) Close() error { return nil }
