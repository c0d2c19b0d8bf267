package audit

import (
	"context"
	"encoding/json"
	"strings"
	"time"
)

// Store keeps chains of records and their checkpoints. Implementations: SQLite (embedded
// default) and, for deployments with several replicas, PostgreSQL.
type Store interface {
	// Append assigns each record its Seq, Prev and Hash, continuing the chain's head as
	// stored (read inside the write transaction), and returns once all are durable.
	Append(ctx context.Context, chain string, recs []*Record) error
	// AddCheckpoint stores a signed checkpoint.
	AddCheckpoint(ctx context.Context, cp Checkpoint) error
	// Head is the chain's last sequence number and hash (0 and Genesis when empty).
	Head(ctx context.Context, chain string) (int64, string, error)
	// Chains lists the chains in the store.
	Chains(ctx context.Context) ([]string, error)
	// Scan calls fn for every record of chain in sequence order, with its stored body and
	// hash.
	Scan(ctx context.Context, chain string, fn func(seq int64, body []byte, hash string) error) error
	// Checkpoints lists chain's checkpoints in sequence order.
	Checkpoints(ctx context.Context, chain string) ([]Checkpoint, error)
	// Query calls fn for the records matching f, oldest first.
	Query(ctx context.Context, f Filter, fn func(*Record) error) error
	// LastBefore is the last sequence number of chain recorded before t, and its hash
	// (0 if none).
	LastBefore(ctx context.Context, chain string, t time.Time) (int64, string, error)
	// Prune deletes chain's records up to and including through, and the checkpoints
	// before it (the one at through stays: it anchors what remains).
	Prune(ctx context.Context, chain string, through int64) (int64, error)
	// Read returns up to limit records of chain after seq after, in order (body and hash as
	// stored): the forwarding outbox reads the store itself.
	Read(ctx context.Context, chain string, after int64, limit int) ([]Stored, error)
	// Cursor is the last seq of chain delivered to sink (0 if none); SetCursor moves it,
	// durably.
	Cursor(ctx context.Context, sink, chain string) (int64, error)
	SetCursor(ctx context.Context, sink, chain string, seq int64) error
	// Close releases the store.
	Close() error
}

// Stored is a record as stored: its exact body and hash.
type Stored struct {
	Chain string          `json:"chain"`
	Seq   int64           `json:"seq"`
	Hash  string          `json:"hash"`
	Body  json.RawMessage `json:"record"`
}

// Filter selects records; zero fields match everything.
type Filter struct {
	Since, Until time.Time
	Subject      string
	Tenant       string
	Server       string
	Target       string
	Decision     string
	Outcome      string
	Kind         string
	Limit        int
}

// where renders f as a SQL condition ("" for none) with its arguments; param(i) writes the
// i-th placeholder (1-based) in the dialect at hand.
func (f *Filter) where(param func(i int) string, timeArg func(time.Time) any) (string, []any) {
	var conds []string
	var args []any
	add := func(col, op string, v any) {
		args = append(args, v)
		conds = append(conds, col+" "+op+" "+param(len(args)))
	}
	if !f.Since.IsZero() {
		add("time", ">=", timeArg(f.Since))
	}
	if !f.Until.IsZero() {
		add("time", "<", timeArg(f.Until))
	}
	for _, c := range []struct{ col, v string }{{"subject", f.Subject}, {"tenant", f.Tenant}, {"server", f.Server},
		{"target", f.Target}, {"decision", f.Decision}, {"outcome", f.Outcome}, {"kind", f.Kind}} {
		if c.v != "" {
			add(c.col, "=", c.v)
		}
	}
	if len(conds) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}

// rowScanner is what both SQL drivers' row sets offer.
type rowScanner interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
}

// eachRecord decodes (body, hash) rows and calls fn for each.
func eachRecord(rows rowScanner, fn func(*Record) error) error {
	for rows.Next() {
		var body []byte
		var hash string
		if err := rows.Scan(&body, &hash); err != nil {
			return err
		}
		var r Record
		if err := json.Unmarshal(body, &r); err != nil {
			return err
		}
		r.Hash = hash
		if err := fn(&r); err != nil {
			return err
		}
	}
	return rows.Err()
}

// eachStored calls fn for each (seq, body, hash) row.
func eachStored(rows rowScanner, fn func(seq int64, body []byte, hash string) error) error {
	for rows.Next() {
		var seq int64
		var body []byte
		var hash string
		if err := rows.Scan(&seq, &body, &hash); err != nil {
			return err
		}
		if err := fn(seq, body, hash); err != nil {
			return err
		}
	}
	return rows.Err()
}
