package audit

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver (pure Go, no cgo)
)

// SQLite is the embedded store: one file in the data directory, WAL journal, every commit
// synced (synchronous=FULL).
type SQLite struct {
	db   *sql.DB
	path string
	// Prepared once: parsing SQL on every group commit was a fifth of the store's CPU.
	headQ *sql.Stmt
	// insertN[n-1] inserts n records, prepared on first use.
	insertMu sync.Mutex
	insertN  [insertRows]*sql.Stmt

	// The chain heads this store last wrote, so that a group commit need not read its head
	// back. Another process may append to the same chain (the CLI's administrative
	// records): its records take the next sequence numbers, so an insert made from a stale
	// head fails on the primary key, and Append reads the head and seals again.
	headMu sync.Mutex
	heads  map[string]chainHead
}

type chainHead struct {
	seq  int64
	hash string
}

const (
	insertRows = 32 // records per INSERT statement at most
	insertCols = 12
)

// insertStmt returns the statement that inserts n records (1 <= n <= insertRows).
func (s *SQLite) insertStmt(n int) (*sql.Stmt, error) {
	s.insertMu.Lock()
	defer s.insertMu.Unlock()
	if st := s.insertN[n-1]; st != nil {
		return st, nil
	}
	var b strings.Builder
	b.WriteString(`INSERT INTO records (chain, seq, time, kind, subject, tenant, server, target, decision, outcome, body, hash) VALUES `)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("(?,?,?,?,?,?,?,?,?,?,?,?)")
	}
	st, err := s.db.Prepare(b.String())
	if err != nil {
		return nil, err
	}
	s.insertN[n-1] = st
	return st, nil
}

// records is a rowid table: a record's row (its body is most of a page's tenth or more) is
// appended at the table's end, and only the small (chain, seq) key goes into an index. Keyed
// by (chain, seq) itself, WITHOUT ROWID, every row went into a B-tree of large cells, which
// SQLite advises against; stores made that way keep their table and work as before.
const sqliteSchema = `
CREATE TABLE IF NOT EXISTS records (
	chain    TEXT    NOT NULL,
	seq      INTEGER NOT NULL,
	time     TEXT    NOT NULL,
	kind     TEXT    NOT NULL,
	subject  TEXT    NOT NULL DEFAULT '',
	tenant   TEXT    NOT NULL DEFAULT '',
	server   TEXT    NOT NULL DEFAULT '',
	target   TEXT    NOT NULL DEFAULT '',
	decision TEXT    NOT NULL DEFAULT '',
	outcome  TEXT    NOT NULL DEFAULT '',
	body     BLOB    NOT NULL,
	hash     TEXT    NOT NULL,
	UNIQUE (chain, seq)
);
CREATE TABLE IF NOT EXISTS cursors (
	sink  TEXT    NOT NULL,
	chain TEXT    NOT NULL,
	seq   INTEGER NOT NULL,
	PRIMARY KEY (sink, chain)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS checkpoints (
	chain TEXT    NOT NULL,
	seq   INTEGER NOT NULL,
	head  TEXT    NOT NULL,
	time  TEXT    NOT NULL,
	sig   TEXT    NOT NULL,
	PRIMARY KEY (chain, seq)
);`

// OpenSQLite opens (creating if needed) the store at path.
func OpenSQLite(path string) (*SQLite, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	q := url.Values{}
	for _, p := range []string{"journal_mode(WAL)", "synchronous(FULL)", "busy_timeout(5000)", "foreign_keys(ON)"} {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate") // writers serialise at BEGIN, so the head read is current
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, err
	}
	if _, err := db.Exec(sqliteSchema); err != nil {
		db.Close()
		return nil, fmt.Errorf("audit store %s: %w", path, err)
	}
	os.Chmod(path, 0o600)
	s := &SQLite{db: db, path: path}
	if s.headQ, err = db.Prepare(`SELECT seq, hash FROM records WHERE chain = ? ORDER BY seq DESC LIMIT 1`); err != nil {
		db.Close()
		return nil, fmt.Errorf("audit store %s: %w", path, err)
	}
	return s, nil
}

// Close implements Store.
func (s *SQLite) Close() error {
	s.insertMu.Lock()
	for _, st := range s.insertN {
		if st != nil {
			st.Close()
		}
	}
	s.insertMu.Unlock()
	s.headQ.Close()
	return s.db.Close()
}

// Append implements Store.
func (s *SQLite) Append(ctx context.Context, chain string, recs []*Record) error {
	if len(recs) == 0 {
		return nil
	}
	// The driver watches a cancellable context from a goroutine of its own on every
	// statement (to interrupt SQLite); an insert has nothing to interrupt, and those
	// goroutines were a tenth of the store's CPU. Lock waits are bounded by busy_timeout.
	ctx = context.WithoutCancel(ctx)
	s.headMu.Lock()
	h, known := s.heads[chain]
	s.headMu.Unlock()
	err := s.append(ctx, chain, recs, h, known)
	if known && isConstraint(err) {
		// Another writer moved the head: nothing was written; seal from the real head.
		err = s.append(ctx, chain, recs, chainHead{}, false)
	}
	s.headMu.Lock()
	defer s.headMu.Unlock()
	if err != nil {
		delete(s.heads, chain)
		return err
	}
	if s.heads == nil {
		s.heads = map[string]chainHead{}
	}
	last := recs[len(recs)-1]
	s.heads[chain] = chainHead{last.Seq, last.Hash}
	return nil
}

// append writes recs after head h in one transaction; h is read in the transaction unless
// known.
func (s *SQLite) append(ctx context.Context, chain string, recs []*Record, h chainHead, known bool) error {
	if known && len(recs) <= insertRows {
		// One statement is its own transaction: no BEGIN and COMMIT statements around it.
		// Another writer that moved the head makes it fail on (chain, seq), writing nothing.
		bodies, err := seal(chain, h.seq, h.hash, recs)
		if err != nil {
			return err
		}
		stmt, err := s.insertStmt(len(recs))
		if err != nil {
			return fmt.Errorf("audit store: prepare: %w", err)
		}
		if _, err := stmt.ExecContext(ctx, insertArgs(make([]any, 0, insertCols*len(recs)), chain, recs, bodies)...); err != nil {
			return fmt.Errorf("audit store: insert: %w", err)
		}
		return nil
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("audit store: begin: %w", err)
	}
	defer tx.Rollback()
	if !known {
		if h.seq, h.hash, err = head(ctx, tx.StmtContext(ctx, s.headQ), chain); err != nil {
			return err
		}
	}
	bodies, err := seal(chain, h.seq, h.hash, recs)
	if err != nil {
		return err
	}
	// One multi-row INSERT per insertRows records rather than one statement per record.
	args := make([]any, 0, insertCols*min(len(recs), insertRows))
	for start := 0; start < len(recs); start += insertRows {
		end := min(start+insertRows, len(recs))
		stmt, err := s.insertStmt(end - start)
		if err != nil {
			return fmt.Errorf("audit store: prepare: %w", err)
		}
		args = insertArgs(args[:0], chain, recs[start:end], bodies[start:end])
		if _, err := tx.StmtContext(ctx, stmt).ExecContext(ctx, args...); err != nil {
			return fmt.Errorf("audit store: insert: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("audit store: commit: %w", err)
	}
	return nil
}

// insertArgs appends the insert statement's arguments for recs to args.
func insertArgs(args []any, chain string, recs []*Record, bodies [][]byte) []any {
	for i, r := range recs {
		args = append(args, chain, r.Seq, r.Time.UTC().Format(time.RFC3339Nano), r.Kind, r.Subject, r.Tenant, r.Server, r.Target, r.Decision, r.Outcome, bodies[i], r.Hash)
	}
	return args
}

// isConstraint reports whether err is SQLite's constraint violation (a sequence number
// already taken).
func isConstraint(err error) bool {
	var se interface{ Code() int }
	return errors.As(err, &se) && se.Code()&0xff == 19 // SQLITE_CONSTRAINT
}

func head(ctx context.Context, q *sql.Stmt, chain string) (int64, string, error) {
	var seq int64
	var hash string
	err := q.QueryRowContext(ctx, chain).Scan(&seq, &hash)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, Genesis, nil
	}
	if err != nil {
		return 0, "", fmt.Errorf("audit store: head: %w", err)
	}
	return seq, hash, nil
}

// Head implements Store.
func (s *SQLite) Head(ctx context.Context, chain string) (int64, string, error) {
	return head(ctx, s.headQ, chain)
}

// AddCheckpoint implements Store.
func (s *SQLite) AddCheckpoint(ctx context.Context, cp Checkpoint) error {
	_, err := s.db.ExecContext(ctx, `INSERT OR REPLACE INTO checkpoints (chain, seq, head, time, sig) VALUES (?,?,?,?,?)`,
		cp.Chain, cp.Seq, cp.Head, cp.Time.UTC().Format(time.RFC3339Nano), cp.Sig)
	if err != nil {
		return fmt.Errorf("audit store: checkpoint: %w", err)
	}
	return nil
}

// LastBefore implements Store.
func (s *SQLite) LastBefore(ctx context.Context, chain string, t time.Time) (int64, string, error) {
	var seq int64
	var hash string
	err := s.db.QueryRowContext(ctx, `SELECT seq, hash FROM records WHERE chain = ? AND time < ? ORDER BY seq DESC LIMIT 1`,
		chain, t.UTC().Format(time.RFC3339Nano)).Scan(&seq, &hash)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, "", nil
	}
	return seq, hash, err
}

// Prune implements Store.
func (s *SQLite) Prune(ctx context.Context, chain string, through int64) (int64, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `DELETE FROM records WHERE chain = ? AND seq <= ?`, chain, through)
	if err != nil {
		return 0, err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM checkpoints WHERE chain = ? AND seq < ?`, chain, through); err != nil {
		return 0, err
	}
	n, _ := res.RowsAffected()
	return n, tx.Commit()
}

// Read implements Store.
func (s *SQLite) Read(ctx context.Context, chain string, after int64, limit int) ([]Stored, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT seq, body, hash FROM records WHERE chain = ? AND seq > ? ORDER BY seq LIMIT ?`, chain, after, limit)
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
func (s *SQLite) Cursor(ctx context.Context, sink, chain string) (int64, error) {
	var seq int64
	err := s.db.QueryRowContext(ctx, `SELECT seq FROM cursors WHERE sink = ? AND chain = ?`, sink, chain).Scan(&seq)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return seq, err
}

// SetCursor implements Store.
func (s *SQLite) SetCursor(ctx context.Context, sink, chain string, seq int64) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO cursors (sink, chain, seq) VALUES (?,?,?) ON CONFLICT (sink, chain) DO UPDATE SET seq = excluded.seq`, sink, chain, seq)
	return err
}

// Chains implements Store.
func (s *SQLite) Chains(ctx context.Context) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT DISTINCT chain FROM records UNION SELECT DISTINCT chain FROM checkpoints ORDER BY 1`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// Scan implements Store.
func (s *SQLite) Scan(ctx context.Context, chain string, fn func(seq int64, body []byte, hash string) error) error {
	rows, err := s.db.QueryContext(ctx, `SELECT seq, body, hash FROM records WHERE chain = ? ORDER BY seq`, chain)
	if err != nil {
		return err
	}
	defer rows.Close()
	return eachStored(rows, fn)
}

// Checkpoints implements Store.
func (s *SQLite) Checkpoints(ctx context.Context, chain string) ([]Checkpoint, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT seq, head, time, sig FROM checkpoints WHERE chain = ? ORDER BY seq`, chain)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Checkpoint
	for rows.Next() {
		cp := Checkpoint{Chain: chain}
		var ts string
		if err := rows.Scan(&cp.Seq, &cp.Head, &ts, &cp.Sig); err != nil {
			return nil, err
		}
		cp.Time, _ = time.Parse(time.RFC3339Nano, ts)
		out = append(out, cp)
	}
	return out, rows.Err()
}

// Query implements Store.
func (s *SQLite) Query(ctx context.Context, f Filter, fn func(*Record) error) error {
	where, args := f.where(func(int) string { return "?" }, func(t time.Time) any { return t.UTC().Format(time.RFC3339Nano) })
	q := `SELECT body, hash FROM records` + where + " ORDER BY time, chain, seq"
	if f.Limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", f.Limit)
	}
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	return eachRecord(rows, fn)
}
