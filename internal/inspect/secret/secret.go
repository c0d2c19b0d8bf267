package secret

import (
	"cmp"
	"errors"
	"fmt"
	"gatehouse/internal/inspect/keywords"
	"math"
	"slices"
	"strings"
	"unicode/utf8"
)

// Match is one secret found: Rule names its type (e.g. "aws-access-token", a gitleaks rule id,
// or "high-entropy-string"); Start and End are byte offsets of the secret itself in the scanned text.
type Match struct {
	Rule       string
	Start, End int
}

// Options configure a Detector. The zero value runs every gitleaks default rule that can fire
// on text alone, without the entropy check.
type Options struct {
	Entropy bool     // also report high-entropy strings that no rule names
	Disable []string // rule ids to switch off
}

// HighEntropyRule is the Rule of a Match found by the entropy check (Options.Entropy).
const HighEntropyRule = "high-entropy-string"

// Detector finds secrets in text. It is safe for concurrent use.
type Detector struct {
	rules    []rule
	keywords *keywords.Index
	kwRules  [][]uint32 // keyword id → the rules it triggers
	entropy  bool
}

// New compiles the rule set once. It fails if Options.Disable names a rule that gitleaks'
// default config does not have.
func New(opts Options) (*Detector, error) {
	cfg, err := defaultConfig()
	if err != nil {
		return nil, fmt.Errorf("secret: %w", err)
	}
	disable := make(map[string]bool, len(opts.Disable))
	var errs []error
	for _, id := range opts.Disable {
		if _, ok := cfg.Rules[id]; !ok && id != HighEntropyRule {
			errs = append(errs, fmt.Errorf("secret: Disable: no rule %q", id))
		}
		disable[id] = true
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	rules, err := loadRules(cfg, disable)
	if err != nil {
		return nil, fmt.Errorf("secret: %w", err)
	}

	d := &Detector{rules: rules, entropy: opts.Entropy && !disable[HighEntropyRule]}
	var words []string
	ids := map[string]int{}
	for i, r := range rules {
		for _, w := range r.keywords {
			id, ok := ids[w]
			if !ok {
				id = len(words)
				ids[w] = id
				words = append(words, w)
				d.kwRules = append(d.kwRules, nil)
			}
			if !slices.Contains(d.kwRules[id], uint32(i)) {
				d.kwRules[id] = append(d.kwRules[id], uint32(i))
			}
		}
	}
	if d.keywords, err = keywords.New(words); err != nil {
		return nil, fmt.Errorf("secret: %w", err)
	}
	return d, nil
}

// Rules returns the ids of the active rules, sorted.
func (d *Detector) Rules() []string {
	ids := make([]string, 0, len(d.rules)+1)
	for _, r := range d.rules {
		ids = append(ids, r.id)
	}
	if d.entropy {
		ids = append(ids, HighEntropyRule)
	}
	slices.Sort(ids)
	return ids
}

// Scan returns the secrets in text, sorted by Start and not overlapping: where matches
// overlap, a specific rule wins over a generic one, a generic one over the entropy check,
// and otherwise the longer secret.
func (d *Detector) Scan(text string) []Match {
	if uint64(len(text)) > math.MaxUint32 {
		return d.scanHuge(text)
	}
	return d.scan(text, d.hits(text))
}

// Keywords is the index of the rules' keywords, for a caller that finds them in one pass
// with other detectors' keywords (ScanHits).
func (d *Detector) Keywords() *keywords.Index { return d.keywords }

// ScanHits is Scan with the occurrences of Keywords in text already found (in any letter
// case: the index ignores ASCII case).
func (d *Detector) ScanHits(text string, found []keywords.Hit) []Match {
	if uint64(len(text)) > math.MaxUint32 {
		return d.scanHuge(text)
	}
	var hits []uint64
	for _, h := range found {
		hits = d.appendHit(hits, h.ID, h.End)
	}
	slices.Sort(hits)
	return d.scan(text, hits)
}

// scan runs the rules whose keywords occur, at the places in hits (rule index<<32 | offset,
// sorted), then the entropy check.
func (d *Detector) scan(text string, hits []uint64) []Match {
	var found []candidate
	for len(hits) > 0 {
		ri := hits[0] >> 32
		n := 1
		for n < len(hits) && hits[n]>>32 == ri {
			n++
		}
		r := &d.rules[ri]
		r.search(text, hits[:n], func(m []int) { found = r.check(text, m, found) })
		hits = hits[n:]
	}
	if d.entropy {
		found = highEntropy(text, found)
	}
	return resolve(text, found)
}

// scanHuge is Scan for a text too long for the offsets in hits: it runs every rule whose
// keywords occur over the whole text.
func (d *Detector) scanHuge(text string) []Match {
	on := make([]bool, len(d.rules))
	d.keywords.Each(text, func(id int32, _ int) {
		for _, r := range d.kwRules[id] {
			on[r] = true
		}
	})
	var found []candidate
	for i, ok := range on {
		if ok {
			r := &d.rules[i]
			r.searchWhole(text, func(m []int) { found = r.check(text, m, found) })
		}
	}
	if d.entropy {
		found = highEntropy(text, found)
	}
	return resolve(text, found)
}

// hits returns where each rule's keywords occur in text, as rule index<<32 | offset, sorted.
func (d *Detector) hits(text string) []uint64 {
	var hits []uint64
	d.keywords.Each(text, func(id int32, end int) { hits = d.appendHit(hits, id, end) })
	slices.Sort(hits)
	return hits
}

// appendHit adds the rules keyword id triggers, at its start, to hits.
func (d *Detector) appendHit(hits []uint64, id int32, end int) []uint64 {
	start := uint64(end - d.keywords.Len(id))
	for _, r := range d.kwRules[id] {
		hits = append(hits, uint64(r)<<32|start)
	}
	return hits
}

type candidate struct {
	Match
	rank   int   // 0 specific rule, 1 generic rule, 2 entropy check
	rule   *rule // nil for the entropy check
	ms, me int   // the rule's match, for its allowlists
}

// search calls yield with the submatch indices of each of the rule's matches in text. hits
// are the offsets of the rule's keywords (in the low 32 bits), sorted. It finds what the
// rule's regex finds in the whole text (FindAll: leftmost-first, not overlapping), given that
// every match contains a keyword at a place that plan proved.
func (r *rule) search(text string, hits []uint64, yield func(m []int)) {
	if r.how == searchWhole {
		r.searchWhole(text, yield)
		return
	}
	from := 0 // no match starts before this: the end of the previous match, or searched
	for _, h := range hits {
		kw := int(uint32(h))
		if kw < from {
			continue
		}
		switch r.how {
		case searchAssignment:
			if !r.assign.maybe(text, kw) {
				continue
			}
			m := r.find(text, kw)
			if m == nil {
				continue // a match that starts before kw may still use a later keyword
			}
			m[0] = r.assign.start(text, kw, from)
			yield(m)
			from = m[1]
		default: // searchAt, searchBefore
			at := max(from, runesBefore(text, kw, r.reach))
			m := r.find(text, at)
			if m == nil {
				from = kw + 1 // every start from at to kw was tried (a keyword is ASCII)
				continue
			}
			m = m[2:] // the rule's regex is group 1
			yield(m)
			from = max(m[1], kw+1)
		}
	}
}

// searchWhole calls yield with the submatch indices of each of the rule's matches in text,
// running its regex over the whole text as gitleaks does.
func (r *rule) searchWhole(text string, yield func(m []int)) {
	if r.need != nil && !r.need(text) {
		return
	}
	for _, m := range r.whole.get().FindAllStringSubmatchIndex(text, -1) {
		yield(m)
	}
}

// check adds the match m (submatch indices of the rule's regex in text) to found unless
// gitleaks would drop it for an empty secret or too little entropy. Its allowlists are left
// to resolve, which need not ask them about a match that loses anyway.
func (r *rule) check(text string, m []int, found []candidate) []candidate {
	ms, me := m[0], m[1]
	for ms < me && text[ms] == '\n' {
		ms++
	}
	for me > ms && text[me-1] == '\n' {
		me--
	}
	ss, se := r.secretOf(m)
	ss, se = max(ss, ms), min(se, me)
	if ss < 0 || se <= ss {
		return found
	}
	if r.entropy != 0 && entropy(text[ss:se]) <= r.entropy {
		return found
	}
	rank := 0
	if r.generic {
		rank = 1
	}
	return append(found, candidate{Match: Match{r.id, ss, se}, rank: rank, rule: r, ms: ms, me: me})
}

// runesBefore returns the offset n runes before p in text, or 0.
func runesBefore(text string, p, n int) int {
	lo := max(0, p-n)
	if isASCII(text[lo:p]) {
		return lo
	}
	lo = p
	for ; n > 0 && lo > 0; n-- {
		_, w := utf8.DecodeLastRuneInString(text[:lo])
		lo -= w
	}
	return lo
}

// lineOf returns the whole lines that text[start:end] touches.
func lineOf(text string, start, end int) string {
	ls := strings.LastIndexByte(text[:start], '\n') + 1
	le := strings.IndexByte(text[end:], '\n')
	if le < 0 {
		le = len(text)
	} else {
		le += end
	}
	return text[ls:le]
}

// resolve keeps the candidates that no allowlist excuses and that do not overlap a
// candidate kept before them, in order of preference: a lower rank, then the longer secret,
// then the earlier one. It returns them sorted by Start.
func resolve(text string, found []candidate) []Match {
	if len(found) == 0 {
		return nil
	}
	slices.SortFunc(found, func(a, b candidate) int {
		return cmp.Or(
			cmp.Compare(a.rank, b.rank),
			cmp.Compare(b.End-b.Start, a.End-a.Start),
			cmp.Compare(a.Start, b.Start),
			strings.Compare(a.Rule, b.Rule),
		)
	})
	kept := make([]Match, 0, len(found))
	for _, c := range found {
		if overlaps(kept, c.Match) {
			continue
		}
		if r := c.rule; r != nil && len(r.allow) > 0 &&
			r.allowed(text[c.Start:c.End], text[c.ms:c.me], lineOf(text, c.ms, c.me)) {
			continue
		}
		kept = append(kept, c.Match)
	}
	slices.SortFunc(kept, func(a, b Match) int { return cmp.Compare(a.Start, b.Start) })
	return kept
}

func overlaps(kept []Match, m Match) bool {
	for _, k := range kept {
		if m.Start < k.End && k.Start < m.End {
			return true
		}
	}
	return false
}
