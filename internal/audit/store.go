package audit

import (
	"context"
	"encoding/json"
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
