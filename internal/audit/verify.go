package audit

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"io"
)

// ChainReport is what Verify found in one chain.
type ChainReport struct {
	Chain       string `json:"chain"`
	Records     int64  `json:"records"`
	LastSeq     int64  `json:"last_seq"`
	Checkpoints int    `json:"checkpoints"`
	SignedUpTo  int64  `json:"signed_up_to"` // the last checkpoint's seq: records after it are chained, not yet signed
	// PrunedThrough is the last record removed by retention (anchored by a signed checkpoint).
	PrunedThrough int64  `json:"pruned_through,omitempty"`
	OK            bool   `json:"ok"`
	BadSeq        int64  `json:"bad_seq,omitempty"` // the first bad record
	Problem       string `json:"problem,omitempty"`
}

// Verify checks every chain in st against pub, and against extra checkpoints kept outside
// the store (nil if none). It reports the first bad record of each chain: a changed
// record, a deleted, inserted or reordered one, a checkpoint whose head does not match,
// or a chain shorter than a checkpoint says it was.
func Verify(ctx context.Context, st Store, pub ed25519.PublicKey, extra []Checkpoint) ([]ChainReport, error) {
	chains, err := st.Chains(ctx)
	if err != nil {
		return nil, err
	}
	for _, cp := range extra {
		found := false
		for _, c := range chains {
			found = found || c == cp.Chain
		}
		if !found {
			chains = append(chains, cp.Chain)
		}
	}
	var out []ChainReport
	for _, chain := range chains {
		cps, err := st.Checkpoints(ctx, chain)
		if err != nil {
			return nil, err
		}
		for _, cp := range extra {
			if cp.Chain == chain {
				cps = append(cps, cp)
			}
		}
		rep, err := verifyChain(ctx, st, chain, pub, cps)
		if err != nil {
			return nil, err
		}
		out = append(out, rep)
	}
	return out, nil
}

func verifyChain(ctx context.Context, st Store, chain string, pub ed25519.PublicKey, cps []Checkpoint) (ChainReport, error) {
	rep := ChainReport{Chain: chain, Checkpoints: len(cps), OK: true}
	bad := func(seq int64, format string, args ...any) {
		if rep.OK {
			rep.OK, rep.BadSeq, rep.Problem = false, seq, fmt.Sprintf(format, args...)
		}
	}
	want := map[int64][]Checkpoint{}
	for _, cp := range cps {
		if !cp.Valid(pub) {
			bad(cp.Seq, "checkpoint at seq %d: the signature is not valid for this key", cp.Seq)
			continue
		}
		want[cp.Seq] = append(want[cp.Seq], cp)
		rep.SignedUpTo = max(rep.SignedUpTo, cp.Seq)
	}
	prev, next := Genesis, int64(1)
	first := true
	prunes := map[int64]bool{} // through_seq of the prune records in the chain
	err := st.Scan(ctx, chain, func(seq int64, body []byte, hash string) error {
		if first && seq > 1 {
			// Pruned: what remains must start right after a signed checkpoint, which gives
			// the hash it continues from.
			if cs := want[seq-1]; len(cs) > 0 {
				prev, next = cs[0].Head, seq
				rep.PrunedThrough = seq - 1
			}
		}
		first = false
		rep.Records++
		rep.LastSeq = seq
		if seq != next {
			if seq > next && next == 1 {
				bad(1, "records 1 to %d are missing, and no signed checkpoint at %d anchors a prune", seq-1, seq-1)
			} else if seq > next {
				bad(next, "record %d is missing (deleted): the chain jumps from %d to %d", next, next-1, seq)
			} else {
				bad(seq, "record %d appears twice or out of order", seq)
			}
		}
		var r Record
		if err := json.Unmarshal(body, &r); err != nil {
			bad(seq, "record %d is not valid JSON: %v", seq, err)
		} else {
			if r.Kind == KindAdmin && r.Event == "prune" {
				var d struct {
					Through int64 `json:"through_seq"`
				}
				json.Unmarshal(r.Detail, &d)
				prunes[d.Through] = true
			}
			switch {
			case r.Seq != seq || r.Chain != chain:
				bad(seq, "record %d says it is record %d of chain %q", seq, r.Seq, r.Chain)
			case r.Prev != prev:
				bad(seq, "record %d does not follow record %d (inserted, deleted or reordered)", seq, seq-1)
			}
		}
		if chainHash(prev, body) != hash {
			bad(seq, "record %d was changed: its hash does not match its content", seq)
		}
		for _, cp := range want[seq] {
			if cp.Head != hash {
				bad(seq, "record %d does not match the checkpoint signed at %s", seq, cp.Time.Format("2006-01-02T15:04:05Z"))
			}
		}
		prev, next = hash, seq+1
		return nil
	})
	if err != nil {
		return rep, err
	}
	if rep.PrunedThrough > 0 && !prunes[rep.PrunedThrough] {
		bad(1, "records 1 to %d are missing: no prune record in the chain accounts for their removal", rep.PrunedThrough)
	}
	if rep.SignedUpTo > rep.LastSeq {
		bad(rep.LastSeq+1, "the chain ends at record %d, but a checkpoint was signed at record %d: records were truncated", rep.LastSeq, rep.SignedUpTo)
	}
	return rep, nil
}

// ReadCheckpoints reads checkpoints written as JSON lines (the external checkpoint file).
func ReadCheckpoints(r io.Reader) ([]Checkpoint, error) {
	var out []Checkpoint
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		if len(sc.Bytes()) == 0 {
			continue
		}
		var cp Checkpoint
		if err := json.Unmarshal(sc.Bytes(), &cp); err != nil {
			return nil, fmt.Errorf("checkpoint line %d: %w", n, err)
		}
		out = append(out, cp)
	}
	return out, sc.Err()
}
