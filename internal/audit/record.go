package audit

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"time"
)

// Kinds of record.
const (
	KindRequest       = "request"        // a client request, and the decision on it
	KindOutcome       = "outcome"        // what came of a forwarded request
	KindServerRequest = "server_request" // an upstream's request to a client (sampling, elicitation, roots)
	KindAdmin         = "admin"          // configuration reloads, key changes, prunes
	KindSecurity      = "security"       // a refused attempt worth keeping (a session presented by another identity)
)

// Record is one audit record. Seq, Chain, Prev and Hash are set by the store.
type Record struct {
	Seq   int64     `json:"seq"`
	Chain string    `json:"chain"`
	Time  time.Time `json:"time"`
	Kind  string    `json:"kind"`
	Ref   int64     `json:"ref,omitempty"` // an outcome's request record

	// Who.
	Subject    string   `json:"subject,omitempty"`
	Tenant     string   `json:"tenant,omitempty"`
	ClientID   string   `json:"client_id,omitempty"`
	Roles      []string `json:"roles,omitempty"`
	AuthMethod string   `json:"auth_method,omitempty"`
	Session    string   `json:"session,omitempty"`
	Remote     string   `json:"remote,omitempty"`

	// What.
	Method    string          `json:"method,omitempty"`
	Server    string          `json:"server,omitempty"`
	Target    string          `json:"target,omitempty"` // tool or prompt name, or resource URI
	Arguments json.RawMessage `json:"arguments,omitempty"`

	// The decision.
	Decision string   `json:"decision,omitempty"` // allow, deny, require_approval
	Rules    []string `json:"rules,omitempty"`
	Reason   string   `json:"reason,omitempty"`
	Findings []string `json:"findings,omitempty"`

	// The outcome.
	Outcome        string  `json:"outcome,omitempty"` // result, error, upstream_error, refused
	ErrorCode      int     `json:"error_code,omitempty"`
	LatencyMs      float64 `json:"latency_ms,omitempty"`
	ResponseBytes  int     `json:"response_bytes,omitempty"`
	ResponseDigest string  `json:"response_digest,omitempty"` // keyed hash of the response bytes (hmac-sha256:…)
	// Result holds the result fields a "result.…" field rule keeps (clear or hashed); by
	// default a result is recorded only as its size and keyed digest.
	Result json.RawMessage `json:"result,omitempty"`

	// Admin events.
	Event  string          `json:"event,omitempty"`
	Detail json.RawMessage `json:"detail,omitempty"`

	Prev string `json:"prev"`
	Hash string `json:"hash,omitempty"`
}

// body is the canonical JSON the hash covers: the record without its hash.
func (r *Record) body() ([]byte, error) {
	return appendBody(make([]byte, 0, 1024), r)
}

// chainHash is SHA-256(prev || body) in hex.
func chainHash(prev string, body []byte) string {
	h := sha256.New()
	h.Write([]byte(prev))
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}

// seal continues chain after (seq, prev): it gives each record its Seq, Chain, Prev and
// Hash, and returns their canonical bodies. Every store appends through it.
func seal(chain string, seq int64, prev string, recs []*Record) ([][]byte, error) {
	bodies := make([][]byte, len(recs))
	for i, r := range recs {
		seq++
		r.Seq, r.Chain, r.Prev, r.Hash = seq, chain, prev, ""
		body, err := r.body()
		if err != nil {
			return nil, err
		}
		r.Hash = chainHash(prev, body)
		bodies[i], prev = body, r.Hash
	}
	return bodies, nil
}

// Genesis is the Prev of a chain's first record.
const Genesis = "0000000000000000000000000000000000000000000000000000000000000000"

// Digest is an unkeyed SHA-256 digest, sha256:HEX (for checking exports and files).
func Digest(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}
