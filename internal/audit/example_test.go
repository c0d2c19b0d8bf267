package audit_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"time"

	"gatehouse/internal/audit"
)

// Records are chained and checkpoints signed; Verify finds the chain intact.
func ExampleVerify() {
	pub, key, _ := ed25519.GenerateKey(rand.Reader)
	st := audit.NewMemory()
	a, _ := audit.New(audit.Config{Store: st, Chain: "gw-1", Key: key, CheckpointEvery: 2})
	for _, tool := range []string{"echo", "search", "send_mail"} {
		a.Write(context.Background(), &audit.Record{Time: time.Now(), Kind: audit.KindRequest, Subject: "alice", Target: tool, Decision: "allow"})
	}
	a.Close() // signs a last checkpoint
	reps, _ := audit.Verify(context.Background(), st, pub, nil)
	for _, r := range reps {
		fmt.Printf("%s: ok=%v records=%d signed up to %d\n", r.Chain, r.OK, r.Records, r.SignedUpTo)
	}
	// Output:
	// gw-1: ok=true records=3 signed up to 3
}
