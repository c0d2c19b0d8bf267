package audit

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Postgres is the store for deployments with several replicas: every replica appends its own
// chain to one database; Verify checks them all. A transaction-scoped advisory lock per chain
// serialises writers of one chain (the gateway and its CLI), and a commit returns once
// PostgreSQL made it durable (synchronous_commit).
type Postgres struct {
	pool *pgxpool.Pool
}

const pgSchema = `
CREATE TABLE IF NOT EXISTS gatehouse_audit_records (
	chain    TEXT        NOT NULL,
	seq      BIGINT      NOT NULL,
	time     TIMESTAMPTZ NOT NULL,
	kind     TEXT        NOT NULL,
	subject  TEXT        NOT NULL DEFAULT '',
	tenant   TEXT        NOT NULL DEFAULT '',
	server   TEXT        NOT NULL DEFAULT '',
	target   TEXT        NOT NULL DEFAULT '',
	decision TEXT        NOT NULL DEFAULT '',
	outcome  TEXT        NOT NULL DEFAULT '',
	body     BYTEA       NOT NULL,
	hash     TEXT        NOT NULL,
	PRIMARY KEY (chain, seq)
);
CREATE INDEX IF NOT EXISTS gatehouse_audit_records_time ON gatehouse_audit_records (time);
CREATE TABLE IF NOT EXISTS gatehouse_audit_checkpoints (
	chain TEXT        NOT NULL,
	seq   BIGINT      NOT NULL,
	head  TEXT        NOT NULL,
	time  TIMESTAMPTZ NOT NULL,
	sig   TEXT        NOT NULL,
	PRIMARY KEY (chain, seq)
);
CREATE TABLE IF NOT EXISTS gatehouse_audit_cursors (
	sink  TEXT   NOT NULL,
	chain TEXT   NOT NULL,
	seq   BIGINT NOT NULL,
	PRIMARY KEY (sink, chain)
);`

// OpenPostgres connects to dsn and creates the tables if needed.
func OpenPostgres(ctx context.Context, dsn string) (*Postgres, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("audit store: postgres dsn: %w", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("audit store: postgres: %w", err)
	}
	if _, err := pool.Exec(ctx, pgSchema); err != nil {
		pool.Close()
		return nil, fmt.Errorf("audit store: postgres schema: %w", err)
	}
	return &Postgres{pool: pool}, nil
}

// Close implements Store.
func (p *Postgres) Close() error { p.pool.Close(); return nil }

// Append implements Store.
func (p *Postgres) Append(ctx context.Context, chain string, recs []*Record) error {
	if len(recs) == 0 {
		return nil
	}
	tx, err := p.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("audit store: begin: %w", err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, chain); err != nil {
		return fmt.Errorf("audit store: lock chain: %w", err)
	}
	seq, prev, err := pgHead(ctx, tx, chain)
	if err != nil {
		return err
	}
	bodies, err := seal(chain, seq, prev, recs)
	if err != nil {
		return err
	}
	batch := &pgx.Batch{}
	for i, r := range recs {
		batch.Queue(`INSERT INTO gatehouse_audit_records (chain, seq, time, kind, subject, tenant, server, target, decision, outcome, body, hash) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12)`,
			chain, r.Seq, r.Time.UTC(), r.Kind, r.Subject, r.Tenant, r.Server, r.Target, r.Decision, r.Outcome, bodies[i], r.Hash)
	}
	if err := tx.SendBatch(ctx, batch).Close(); err != nil {
		return fmt.Errorf("audit store: insert: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("audit store: commit: %w", err)
	}
	return nil
}

type pgQuerier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

func pgHead(ctx context.Context, q pgQuerier, chain string) (int64, string, error) {
	var seq int64
	var hash string
	err := q.QueryRow(ctx, `SELECT seq, hash FROM gatehouse_audit_records WHERE chain = $1 ORDER BY seq DESC LIMIT 1`, chain).Scan(&seq, &hash)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, Genesis, nil
	}
	if err != nil {
		return 0, "", fmt.Errorf("audit store: head: %w", err)
	}
	return seq, hash, nil
}

// Head implements Store.
func (p *Postgres) Head(ctx context.Context, chain string) (int64, string, error) {
	return pgHead(ctx, p.pool, chain)
}

// AddCheckpoint implements Store.
func (p *Postgres) AddCheckpoint(ctx context.Context, cp Checkpoint) error {
	_, err := p.pool.Exec(ctx, `INSERT INTO gatehouse_audit_checkpoints (chain, seq, head, time, sig) VALUES ($1,$2,$3,$4,$5)
		ON CONFLICT (chain, seq) DO UPDATE SET head = excluded.head, time = excluded.time, sig = excluded.sig`,
		cp.Chain, cp.Seq, cp.Head, cp.Time.UTC(), cp.Sig)
	return err
}

// Chains implements Store.
func (p *Postgres) Chains(ctx context.Context) ([]string, error) {
	rows, err := p.pool.Query(ctx, `SELECT chain FROM gatehouse_audit_records UNION SELECT chain FROM gatehouse_audit_checkpoints ORDER BY 1`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// Scan implements Store.
func (p *Postgres) Scan(ctx context.Context, chain string, fn func(seq int64, body []byte, hash string) error) error {
	rows, err := p.pool.Query(ctx, `SELECT seq, body, hash FROM gatehouse_audit_records WHERE chain = $1 ORDER BY seq`, chain)
	if err != nil {
		return err
	}
	defer rows.Close()
	return eachStored(rows, fn)
}

// Checkpoints implements Store.
func (p *Postgres) Checkpoints(ctx context.Context, chain string) ([]Checkpoint, error) {
	rows, err := p.pool.Query(ctx, `SELECT seq, head, time, sig FROM gatehouse_audit_checkpoints WHERE chain = $1 ORDER BY seq`, chain)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Checkpoint
	for rows.Next() {
		cp := Checkpoint{Chain: chain}
		if err := rows.Scan(&cp.Seq, &cp.Head, &cp.Time, &cp.Sig); err != nil {
			return nil, err
		}
		out = append(out, cp)
	}
	return out, rows.Err()
}

// Query implements Store.
func (p *Postgres) Query(ctx context.Context, f Filter, fn func(*Record) error) error {
	where, args := f.where(func(i int) string { return fmt.Sprintf("$%d", i) }, func(t time.Time) any { return t.UTC() })
	q := `SELECT body, hash FROM gatehouse_audit_records` + where + " ORDER BY time, chain, seq"
	if f.Limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", f.Limit)
	}
	rows, err := p.pool.Query(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	return eachRecord(rows, fn)
}

// LastBefore implements Store.
func (p *Postgres) LastBefore(ctx context.Context, chain string, t time.Time) (int64, string, error) {
	var seq int64
	var hash string
	err := p.pool.QueryRow(ctx, `SELECT seq, hash FROM gatehouse_audit_records WHERE chain = $1 AND time < $2 ORDER BY seq DESC LIMIT 1`, chain, t.UTC()).Scan(&seq, &hash)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, "", nil
	}
	return seq, hash, err
}

// Prune implements Store.
func (p *Postgres) Prune(ctx context.Context, chain string, through int64) (int64, error) {
	tx, err := p.pool.Begin(ctx)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback(ctx)
	tag, err := tx.Exec(ctx, `DELETE FROM gatehouse_audit_records WHERE chain = $1 AND seq <= $2`, chain, through)
	if err != nil {
		return 0, err
	}
	if _, err := tx.Exec(ctx, `DELETE FROM gatehouse_audit_checkpoints WHERE chain = $1 AND seq < $2`, chain, through); err != nil {
		return 0, err
	}
	return tag.RowsAffected(), tx.Commit(ctx)
}

// Read implements Store.
func (p *Postgres) Read(ctx context.Context, chain string, after int64, limit int) ([]Stored, error) {
	rows, err := p.pool.Query(ctx, `SELECT seq, body, hash FROM gatehouse_audit_records WHERE chain = $1 AND seq > $2 ORDER BY seq LIMIT $3`, chain, after, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Stored
	err = eachStored(rows, func(seq int64, body []byte, hash string) error {
		out = append(out, Stored{Chain: chain, Seq: seq, Body: body, Hash: hash})
		return nil
	})
	return out, err
}

// Cursor implements Store.
func (p *Postgres) Cursor(ctx context.Context, sink, chain string) (int64, error) {
	var seq int64
	err := p.pool.QueryRow(ctx, `SELECT seq FROM gatehouse_audit_cursors WHERE sink = $1 AND chain = $2`, sink, chain).Scan(&seq)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	return seq, err
}

// SetCursor implements Store.
func (p *Postgres) SetCursor(ctx context.Context, sink, chain string, seq int64) error {
	_, err := p.pool.Exec(ctx, `INSERT INTO gatehouse_audit_cursors (sink, chain, seq) VALUES ($1,$2,$3) ON CONFLICT (sink, chain) DO UPDATE SET seq = excluded.seq`, sink, chain, seq)
	return err
}
