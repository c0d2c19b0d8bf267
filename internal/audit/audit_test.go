package audit

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func newStore(t *testing.T) (*SQLite, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "audit.db")
	st, err := OpenSQLite(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st, path
}

func newKey(t *testing.T) ed25519.PrivateKey {
	t.Helper()
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// fill writes n records through an Auditor with checkpoints every `every` records.
func fill(t *testing.T, st Store, key ed25519.PrivateKey, n, every int, file string) {
	t.Helper()
	a, err := New(Config{Store: st, Chain: "gw-1", Key: key, CheckpointEvery: every, CheckpointFile: file})
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if err := a.Write(context.Background(), &Record{Time: time.Now(), Kind: KindRequest, Subject: "alice", Method: "tools/call", Server: "s", Target: fmt.Sprintf("tool-%d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	a.Close()
}

func verifyOne(t *testing.T, st Store, pub ed25519.PublicKey, extra []Checkpoint) ChainReport {
	t.Helper()
	reps, err := Verify(context.Background(), st, pub, extra)
	if err != nil {
		t.Fatal(err)
	}
	if len(reps) != 1 {
		t.Fatalf("%d chains", len(reps))
	}
	return reps[0]
}

func TestVerifyFindsTampering(t *testing.T) {
	tests := []struct {
		name    string
		tamper  func(db *sql.DB)
		badSeq  int64
		problem string
	}{
		{"untouched", func(*sql.DB) {}, 0, ""},
		{"changed field", func(db *sql.DB) {
			db.Exec(`UPDATE records SET body = replace(body, '"subject":"alice"', '"subject":"bob"') WHERE seq = 7`)
		}, 7, "was changed"},
		{"changed and rehashed, chain recomputed after it", func(db *sql.DB) { rewriteFrom(t, db, 7) }, 10, "does not match the checkpoint"},
		{"deleted record", func(db *sql.DB) { db.Exec(`DELETE FROM records WHERE seq = 12`) }, 12, "missing (deleted)"},
		{"inserted record", func(db *sql.DB) {
			db.Exec(`UPDATE records SET seq = seq + 1000 WHERE seq >= 15`)
			db.Exec(`UPDATE records SET seq = seq - 999 WHERE seq >= 1015`)
			db.Exec(`INSERT INTO records (chain, seq, time, kind, body, hash) SELECT chain, 15, time, kind, body, hash FROM records WHERE seq = 3`)
		}, 15, ""},
		{"reordered", func(db *sql.DB) {
			db.Exec(`UPDATE records SET seq = -1 WHERE seq = 4`)
			db.Exec(`UPDATE records SET seq = 4 WHERE seq = 5`)
			db.Exec(`UPDATE records SET seq = 5 WHERE seq = -1`)
		}, 4, ""},
		{"truncated behind the last checkpoint", func(db *sql.DB) { db.Exec(`DELETE FROM records WHERE seq > 17`) }, 18, "truncated"},
		{"forged checkpoint", func(db *sql.DB) { db.Exec(`UPDATE checkpoints SET head = 'ff' WHERE seq = 10`) }, 10, "signature is not valid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, path := newStore(t)
			key := newKey(t)
			fill(t, st, key, 25, 10, "")
			db, err := sql.Open("sqlite", "file:"+path)
			if err != nil {
				t.Fatal(err)
			}
			tt.tamper(db)
			db.Close()
			rep := verifyOne(t, st, key.Public().(ed25519.PublicKey), nil)
			if tt.badSeq == 0 {
				if !rep.OK || rep.Records != 25 || rep.SignedUpTo != 25 {
					t.Fatalf("clean chain: %+v", rep)
				}
				return
			}
			if rep.OK || rep.BadSeq != tt.badSeq || !strings.Contains(rep.Problem, tt.problem) {
				t.Fatalf("got %+v, want first bad record %d (%q)", rep, tt.badSeq, tt.problem)
			}
		})
	}
}

// rewriteFrom changes record seq and recomputes every hash after it, as an attacker without
// the signing key could: only the signed checkpoints catch it.
func rewriteFrom(t *testing.T, db *sql.DB, from int64) {
	var prev string
	db.QueryRow(`SELECT hash FROM records WHERE seq = ?`, from-1).Scan(&prev)
	rows, _ := db.Query(`SELECT seq, body FROM records WHERE seq >= ? ORDER BY seq`, from)
	type row struct {
		seq  int64
		body []byte
	}
	var all []row
	for rows.Next() {
		var r row
		rows.Scan(&r.seq, &r.body)
		all = append(all, r)
	}
	rows.Close()
	for _, r := range all {
		var rec Record
		json.Unmarshal(r.body, &rec)
		if r.seq == from {
			rec.Subject = "bob"
		}
		rec.Prev = prev
		body, _ := rec.body()
		h := chainHash(prev, body)
		db.Exec(`UPDATE records SET body = ?, hash = ? WHERE seq = ?`, body, h, r.seq)
		prev = h
	}
}

func TestExternalCheckpointsCatchTailTruncation(t *testing.T) {
	st, path := newStore(t)
	key := newKey(t)
	file := filepath.Join(t.TempDir(), "checkpoints.jsonl")
	fill(t, st, key, 30, 10, file)
	db, _ := sql.Open("sqlite", "file:"+path)
	// Delete the tail and the store's own checkpoints for it: the store alone looks fine.
	db.Exec(`DELETE FROM records WHERE seq > 20`)
	db.Exec(`DELETE FROM checkpoints WHERE seq > 20`)
	db.Close()
	pub := key.Public().(ed25519.PublicKey)
	if rep := verifyOne(t, st, pub, nil); !rep.OK {
		t.Fatalf("store alone: %+v", rep)
	}
	f, _ := os.Open(file)
	cps, err := ReadCheckpoints(f)
	f.Close()
	if err != nil || len(cps) < 3 {
		t.Fatalf("checkpoint file: %d, %v", len(cps), err)
	}
	if rep := verifyOne(t, st, pub, cps); rep.OK || !strings.Contains(rep.Problem, "truncated") {
		t.Fatalf("with the external checkpoints: %+v", rep)
	}
	// And another key's signature is not accepted.
	if rep := verifyOne(t, st, newKey(t).Public().(ed25519.PublicKey), nil); rep.OK {
		t.Fatal("verified with the wrong public key")
	}
}

func TestGroupCommitKeepsOneChain(t *testing.T) {
	st, _ := newStore(t)
	key := newKey(t)
	a, err := New(Config{Store: st, Chain: "gw-1", Key: key, CheckpointEvery: 100})
	if err != nil {
		t.Fatal(err)
	}
	// A second writer on the same chain (as the CLI is, next to a running gateway).
	b, _ := New(Config{Store: st, Chain: "gw-1", Key: key})
	var wg sync.WaitGroup
	for w := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			wr := a
			if w%4 == 0 {
				wr = b
			}
			for i := range 25 {
				if err := wr.Write(context.Background(), &Record{Time: time.Now(), Kind: KindRequest, Subject: fmt.Sprint("w", w), Target: fmt.Sprint(i)}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	a.Close()
	b.Close()
	rep := verifyOne(t, st, key.Public().(ed25519.PublicKey), nil)
	if !rep.OK || rep.Records != 1000 || rep.LastSeq != 1000 {
		t.Fatalf("%+v", rep)
	}
	var n int
	st.Query(context.Background(), Filter{Subject: "w3"}, func(*Record) error { n++; return nil })
	if n != 25 {
		t.Errorf("query by subject: %d records, want 25", n)
	}
}

// Two processes on one store and one chain (a gateway and the CLI recording an
// administrative action): each store remembers the head it last wrote, so each must notice
// when the other has moved it, and seal from the real head. No write may fail.
func TestAppendAfterAnotherWriter(t *testing.T) {
	st, key, auditors := twoWriters(t)
	for i := range 30 {
		wr := auditors[0]
		if i%3 == 2 {
			wr = auditors[1]
		}
		if err := wr.Write(context.Background(), &Record{Time: time.Now(), Kind: KindRequest, Subject: "s", Target: fmt.Sprint(i)}); err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
	}
	rep := verifyOne(t, st, key.Public().(ed25519.PublicKey), nil)
	if !rep.OK || rep.Records != 30 || rep.LastSeq != 30 {
		t.Fatalf("%+v", rep)
	}
}

// The same with both writers busy at once: the loser of each race on the head re-seals from
// the winner's, waiting on the lock where it must, and no write fails or forks the chain.
func TestConcurrentWritersOnOneChain(t *testing.T) {
	st, key, auditors := twoWriters(t)
	const perWriter, writers = 40, 8
	var wg sync.WaitGroup
	errs := make(chan error, perWriter*writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a := auditors[w%2]
			for i := range perWriter {
				if err := a.Write(context.Background(), &Record{Time: time.Now(), Kind: KindRequest, Subject: fmt.Sprint(w), Target: fmt.Sprint(i)}); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	rep := verifyOne(t, st, key.Public().(ed25519.PublicKey), nil)
	if !rep.OK || rep.Records != perWriter*writers || rep.LastSeq != perWriter*writers {
		t.Fatalf("%+v", rep)
	}
}

// twoWriters opens one SQLite file as two stores, each with an auditor on chain gw-1 (as a
// gateway and the CLI do), and returns the first store, the key and the two auditors.
func twoWriters(t *testing.T) (*SQLite, ed25519.PrivateKey, [2]*Auditor) {
	t.Helper()
	st, path := newStore(t)
	other, err := OpenSQLite(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Close() })
	key := newKey(t)
	var auditors [2]*Auditor
	for i, s := range []Store{st, other} {
		a, err := New(Config{Store: s, Chain: "gw-1", Key: key})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(a.Close)
		auditors[i] = a
	}
	return st, key, auditors
}

func TestWriteFailsClosed(t *testing.T) {
	st, _ := newStore(t)
	a, _ := New(Config{Store: st, Chain: "c", Key: newKey(t)})
	defer a.Close()
	if err := a.Write(context.Background(), &Record{Time: time.Now(), Kind: KindRequest}); err != nil {
		t.Fatal(err)
	}
	st.Close() // the store goes away
	err := a.Write(context.Background(), &Record{Time: time.Now(), Kind: KindRequest})
	if err == nil || !strings.Contains(err.Error(), "audit trail unavailable") {
		t.Fatalf("write to a closed store: %v", err)
	}
	if ok, why := a.Healthy(); ok || why == "" {
		t.Fatalf("health after a failed write: %v %q", ok, why)
	}
}

func TestValuer(t *testing.T) {
	v := NewValuer([]byte("0123456789abcdef0123456789abcdef"), []FieldRule{
		{Server: "mail", Tool: "send", Path: "to", Mode: ModeClear},
		{Tool: "*", Path: "password", Mode: ModeOmit},
		{Server: "mail", Tool: "send", Path: "attachments.*.name", Mode: ModeClear},
	}, "")
	got := v.Arguments("mail", "send", []byte(`{"to":"a@example.com","body":"secret words","password":"p","attachments":[{"name":"x.pdf","data":"AAAA"}],"n":12345678901234567890}`))
	var m map[string]any
	json.Unmarshal(got, &m)
	if m["to"] != "a@example.com" {
		t.Errorf("clear field: %v", m["to"])
	}
	if _, ok := m["password"]; ok {
		t.Error("omitted field kept")
	}
	if s, _ := m["body"].(string); !strings.HasPrefix(s, "hmac-sha256:") || strings.Contains(string(got), "secret words") {
		t.Errorf("hashed field: %v", m["body"])
	}
	att := m["attachments"].([]any)[0].(map[string]any)
	if att["name"] != "x.pdf" || att["data"] == "AAAA" {
		t.Errorf("attachment: %v", att)
	}
	// Equal values correlate; another server's same field is hashed.
	again := v.Arguments("other", "send", []byte(`{"body":"secret words","to":"a@example.com"}`))
	var m2 map[string]any
	json.Unmarshal(again, &m2)
	if m2["body"] != m["body"] || m2["to"] == "a@example.com" {
		t.Errorf("correlation / scope: %s", again)
	}
	if !bytes.Equal(v.Arguments("s", "t", nil), nil) {
		t.Error("no arguments should record nothing")
	}
}

func TestExportVerifiesOnItsOwn(t *testing.T) {
	st, _ := newStore(t)
	key := newKey(t)
	fill(t, st, key, 12, 5, "")
	var buf bytes.Buffer
	if err := Export(context.Background(), st, &buf); err != nil {
		t.Fatal(err)
	}
	pub := key.Public().(ed25519.PublicKey)
	mem, err := ReadExport(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if rep := verifyOne(t, mem, pub, nil); !rep.OK || rep.Records != 12 {
		t.Fatalf("export: %+v", rep)
	}
	// An edited line in the export is found.
	edited := strings.Replace(buf.String(), `\"target\":\"tool-4\"`, `\"target\":\"tool-X\"`, 1)
	edited = strings.Replace(edited, `"target":"tool-4"`, `"target":"tool-X"`, 1)
	if edited == buf.String() {
		t.Fatal("the edit did not apply")
	}
	mem, _ = ReadExport(strings.NewReader(edited))
	if rep := verifyOne(t, mem, pub, nil); rep.OK || rep.BadSeq != 5 {
		t.Fatalf("edited export: %+v", rep)
	}
	// Dropping the last lines (records and checkpoints) of the export is truncation that
	// only an external checkpoint reveals; dropping a middle record is found directly.
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	mem, _ = ReadExport(strings.NewReader(strings.Join(append(append([]string{}, lines[:6]...), lines[7:]...), "\n")))
	if rep := verifyOne(t, mem, pub, nil); rep.OK || rep.BadSeq != 7 {
		t.Fatalf("export without record 7: %+v", rep)
	}
}

func TestPruneKeepsWhatRemainsVerifiable(t *testing.T) {
	st, path := newStore(t)
	key := newKey(t)
	a, _ := New(Config{Store: st, Chain: "gw-1", Key: key, CheckpointEvery: 7})
	old := time.Now().Add(-48 * time.Hour)
	for i := range 20 {
		ts := time.Now()
		if i < 12 {
			ts = old.Add(time.Duration(i) * time.Second)
		}
		if err := a.Write(context.Background(), &Record{Time: ts, Kind: KindRequest, Target: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	n, err := a.Prune(context.Background(), time.Now().Add(-24*time.Hour))
	if err != nil || n != 12 {
		t.Fatalf("pruned %d, %v; want 12", n, err)
	}
	a.Close()
	pub := key.Public().(ed25519.PublicKey)
	rep := verifyOne(t, st, pub, nil)
	if !rep.OK || rep.PrunedThrough != 12 || rep.Records != 9 { // 8 left + the prune record
		t.Fatalf("after prune: %+v", rep)
	}
	var events []string
	st.Query(context.Background(), Filter{Kind: KindAdmin}, func(r *Record) error { events = append(events, r.Event); return nil })
	if len(events) != 1 || events[0] != "prune" {
		t.Fatalf("admin records %v", events)
	}
	// Deleting more without a signed anchor is found.
	db, _ := sql.Open("sqlite", "file:"+path)
	db.Exec(`DELETE FROM records WHERE seq <= 14`)
	db.Close()
	if rep := verifyOne(t, st, pub, nil); rep.OK {
		t.Fatalf("unanchored deletion passed: %+v", rep)
	}
}

func TestValuerResult(t *testing.T) {
	v := NewValuer([]byte("0123456789abcdef0123456789abcdef"), []FieldRule{
		{Server: "crm", Tool: "lookup", Path: "result.structuredContent.id", Mode: ModeClear},
		{Server: "crm", Tool: "lookup", Path: "result.structuredContent.email", Mode: ModeHash},
	}, "")
	res := []byte(`{"content":[{"type":"text","text":"long text"}],"structuredContent":{"id":42,"email":"a@example.com","notes":"private"}}`)
	got := string(v.Result("crm", "lookup", res))
	if !strings.Contains(got, `"id":42`) || strings.Contains(got, "a@example.com") || !strings.Contains(got, `"email":"hmac-sha256:`) ||
		strings.Contains(got, "private") || strings.Contains(got, "long text") || strings.Contains(got, "content\":[") {
		t.Errorf("result kept: %s", got)
	}
	if r := v.Result("crm", "other", res); r != nil {
		t.Errorf("a tool without result rules keeps %s", r)
	}
	if a := v.Arguments("crm", "lookup", []byte(`{"result":{"structuredContent":{"id":1}}}`)); strings.Contains(string(a), `"id":1`) {
		t.Errorf("a result rule applied to arguments: %s", a)
	}
	if d1, d2 := v.Digest([]byte("yes")), NewValuer([]byte("another key, another digest....."), nil, "").Digest([]byte("yes")); d1 == d2 || !strings.HasPrefix(d1, "hmac-sha256:") {
		t.Errorf("digests %s %s", d1, d2)
	}
}

// A store made before records became a rowid table (WITHOUT ROWID, keyed by chain and seq)
// opens, appends and verifies as it did: the schema is only created where absent.
func TestOlderSchemaStillWorks(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.db")
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`CREATE TABLE records (chain TEXT NOT NULL, seq INTEGER NOT NULL, time TEXT NOT NULL, kind TEXT NOT NULL,
		subject TEXT NOT NULL DEFAULT '', tenant TEXT NOT NULL DEFAULT '', server TEXT NOT NULL DEFAULT '', target TEXT NOT NULL DEFAULT '',
		decision TEXT NOT NULL DEFAULT '', outcome TEXT NOT NULL DEFAULT '', body BLOB NOT NULL, hash TEXT NOT NULL,
		PRIMARY KEY (chain, seq)) WITHOUT ROWID`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	st, err := OpenSQLite(path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	key := newKey(t)
	fill(t, st, key, 40, 10, "")
	if rep := verifyOne(t, st, key.Public().(ed25519.PublicKey), nil); !rep.OK || rep.Records != 40 {
		t.Fatalf("%+v", rep)
	}
	var ddl string
	st.db.QueryRow(`SELECT sql FROM sqlite_master WHERE name = 'records'`).Scan(&ddl)
	if !strings.Contains(ddl, "WITHOUT ROWID") {
		t.Fatalf("the older table was replaced: %s", ddl)
	}
}
