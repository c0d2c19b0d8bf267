package audit

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"sync"
	"testing"
	"time"

	"gatehouse/internal/audit/pgtest"
)

// Two replicas append their own chains to one PostgreSQL database, concurrently, with a
// second writer on one chain; Verify checks both; a change is found.
func TestPostgresChains(t *testing.T) {
	dsn := pgtest.Start(t)
	ctx := context.Background()
	st, err := OpenPostgres(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	key := newKey(t)
	var wg sync.WaitGroup
	var auditors []*Auditor
	for _, chain := range []string{"replica-a", "replica-b", "replica-a"} {
		a, err := New(Config{Store: st, Chain: chain, Key: key, CheckpointEvery: 10})
		if err != nil {
			t.Fatal(err)
		}
		auditors = append(auditors, a)
		for w := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 10 {
					if err := a.Write(ctx, &Record{Time: time.Now(), Kind: KindRequest, Subject: fmt.Sprint(chain, w), Target: fmt.Sprint(i)}); err != nil {
						t.Error(err)
						return
					}
				}
			}()
		}
	}
	wg.Wait()
	for _, a := range auditors {
		a.Close()
	}
	pub := key.Public().(ed25519.PublicKey)
	reps, err := Verify(ctx, st, pub, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(reps) != 2 || !reps[0].OK || !reps[1].OK || reps[0].Records != 80 || reps[1].Records != 40 {
		t.Fatalf("reports %+v", reps)
	}
	var n int
	st.Query(ctx, Filter{Subject: "replica-b2"}, func(*Record) error { n++; return nil })
	if n != 10 {
		t.Errorf("query: %d", n)
	}
	if _, err := st.pool.Exec(ctx, `UPDATE gatehouse_audit_records SET body = convert_to(replace(convert_from(body, 'UTF8'), '"kind":"request"', '"kind":"admin"'), 'UTF8') WHERE chain = 'replica-b' AND seq = 17`); err != nil {
		t.Fatal(err)
	}
	reps, _ = Verify(ctx, st, pub, nil)
	if reps[1].OK || reps[1].BadSeq != 17 {
		t.Fatalf("after tampering: %+v", reps[1])
	}
	// Forwarding cursors and reads, as the outbox uses them.
	if err := st.SetCursor(ctx, "siem", "replica-a", 5); err != nil {
		t.Fatal(err)
	}
	if c, _ := st.Cursor(ctx, "siem", "replica-a"); c != 5 {
		t.Errorf("cursor %d", c)
	}
	if recs, _ := st.Read(ctx, "replica-a", 5, 3); len(recs) != 3 || recs[0].Seq != 6 {
		t.Errorf("read %+v", recs)
	}
}
