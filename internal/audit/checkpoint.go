package audit

import (
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"time"
)

// Checkpoint is a signed statement that a chain had Head as its hash at Seq.
type Checkpoint struct {
	Chain string    `json:"chain"`
	Seq   int64     `json:"seq"`
	Head  string    `json:"head"`
	Time  time.Time `json:"time"`
	Sig   string    `json:"sig"` // base64 Ed25519 signature over signed()
}

func (c *Checkpoint) signed() []byte {
	return fmt.Appendf(nil, "gatehouse-audit-checkpoint-v1\n%s\n%d\n%s\n%s\n", c.Chain, c.Seq, c.Head, c.Time.UTC().Format(time.RFC3339Nano))
}

// Sign fills Sig.
func (c *Checkpoint) Sign(key ed25519.PrivateKey) {
	// Microseconds: what every store keeps of a time (PostgreSQL's timestamptz).
	c.Time = c.Time.UTC().Truncate(time.Microsecond)
	c.Sig = base64.StdEncoding.EncodeToString(ed25519.Sign(key, c.signed()))
}

// Valid reports whether Sig is pub's signature of the checkpoint.
func (c *Checkpoint) Valid(pub ed25519.PublicKey) bool {
	sig, err := base64.StdEncoding.DecodeString(c.Sig)
	return err == nil && ed25519.Verify(pub, c.signed(), sig)
}
