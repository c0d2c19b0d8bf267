package policy

import (
	"bytes"
	"encoding/binary"
	"reflect"
	"sync"

	"gatehouse/internal/identity"
	"gatehouse/internal/jsonrpc"
)

// Memo keeps, for one session, the values of conditions that read neither args nor now, per
// target. A condition such as `"admin" in identity.roles` then runs once per session and
// tool, not on every call; one that reads session runs again when the session's history has
// grown. It starts over when the policy is reloaded, the identity differs, or the tool's
// annotations were relisted. The zero Memo is ready to use; it is safe for concurrent use.
type Memo struct {
	mu      sync.Mutex
	pol     *Policy
	id      *identity.Identity
	targets map[*target]*targetMemo
}

// maxMemoTargets bounds one session's memo; beyond it, it starts over.
const maxMemoTargets = 1024

// targetMemo is one target's static condition values, by the rule's index in target.rules.
type targetMemo struct {
	mu  sync.Mutex
	ann uintptr // the annotations map the values were computed with
	res []memoResult
}

type memoResult struct {
	known   bool // hit and err are the condition's value
	dynamic bool // tried with args and now unknown, and it depends on them
	perHist bool // valid only while the history has the lengths in hist
	hist    [3]int
	hit     bool
	err     error
	// byArgs: for a dynamic condition that reads args only by member and not now, hit and
	// err are its value for arguments whose members had the raw JSON argsKey.
	byArgs  bool
	argsKey []byte
}

// maxArgsKey bounds the argument bytes a Memo keeps for one condition; larger members are
// evaluated every time.
const maxArgsKey = 1 << 10

// appendArgsKey appends to dst the raw JSON of each of members in args (a JSON object or
// nil), each marked present or absent and length-prefixed, so that equal keys mean equal
// values of every member a condition reads.
func appendArgsKey(dst, args []byte, members []string) []byte {
	for _, m := range members {
		v, ok := jsonrpc.Member(args, m)
		if !ok {
			dst = append(dst, 0)
			continue
		}
		dst = append(dst, 1)
		dst = binary.AppendUvarint(dst, uint64(len(v)))
		dst = append(dst, v...)
	}
	return dst
}

// getArgs returns the value kept for a dynamic condition and these argument members.
func (tm *targetMemo) getArgs(i int, h History, key []byte) (hit bool, err error, ok bool) {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	r := &tm.res[i]
	if !r.byArgs || (r.perHist && r.hist != histLens(h)) || !bytes.Equal(r.argsKey, key) {
		return false, nil, false
	}
	return r.hit, r.err, true
}

// setArgs keeps a dynamic condition's value for these argument members.
func (tm *targetMemo) setArgs(i int, readsSession bool, h History, key []byte, hit bool, err error) {
	if len(key) > maxArgsKey {
		return
	}
	tm.mu.Lock()
	defer tm.mu.Unlock()
	tm.res[i] = memoResult{dynamic: true, perHist: readsSession, hist: histLens(h), byArgs: true,
		argsKey: bytes.Clone(key), hit: hit, err: err}
}

// memoKind is what a Memo may keep of a condition.
type memoKind uint8

const (
	memoNever      memoKind = iota // reads args or now: evaluated on every call
	memoPerSession                 // reads neither args, now nor session
	memoPerHistory                 // reads session: kept while the history has not grown
)

func histLens(h History) [3]int { return [3]int{len(h.Tools), len(h.Tags), len(h.Findings)} }

func (m *Memo) target(p *Policy, req *Request, t *target) *targetMemo {
	ann := uintptr(0)
	if req.Annotations != nil {
		ann = uintptr(reflect.ValueOf(req.Annotations).UnsafePointer())
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.pol != p || m.id != req.Identity || len(m.targets) >= maxMemoTargets {
		m.pol, m.id, m.targets = p, req.Identity, nil
	}
	if m.targets == nil {
		m.targets = make(map[*target]*targetMemo)
	}
	tm := m.targets[t]
	if tm == nil || tm.ann != ann {
		tm = &targetMemo{ann: ann, res: make([]memoResult, len(t.rules))}
		m.targets[t] = tm
	}
	return tm
}

// get returns a kept value (known), or whether the condition was found to depend on args or
// now (tried).
func (tm *targetMemo) get(i int, h History) (hit, known, tried bool, err error) {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	r := tm.res[i]
	if r.perHist && r.hist != histLens(h) {
		return false, false, false, nil
	}
	return r.hit, r.known, r.dynamic, r.err
}

func (tm *targetMemo) set(i int, k memoKind, h History, hit bool, err error) {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	tm.res[i] = memoResult{known: true, perHist: k == memoPerHistory, hist: histLens(h), hit: hit, err: err}
}

// setPartial keeps what an evaluation with args and now unknown gave: a value (known), or
// that the condition must be evaluated on every call.
func (tm *targetMemo) setPartial(i int, readsSession bool, h History, hit, known bool) {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	tm.res[i] = memoResult{known: known, dynamic: !known, perHist: readsSession, hist: histLens(h), hit: hit}
}
