package secret

import (
	"regexp/syntax"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	// Named lits here: several functions of this file take a keywords parameter.
	lits "gatehouse/internal/inspect/keywords"
)

// This file reads a rule's regex to learn where its matches can be relative to its keywords,
// so that Scan can search only there. Every answer errs on the safe side: when the analysis
// cannot prove a bound it says so, and the rule's regex runs over the whole text.

// Limits of the analysis; past them it gives up, which costs speed, not correctness.
const (
	unbounded = 1 << 30
)

// keywordOffset returns an upper bound, in runes, on where an occurrence of one of keywords
// (lower-case ASCII, matched regardless of ASCII case) begins in any match of re, counted from
// the match's start, such that every match contains such an occurrence. ok is false if the
// analysis finds no bound: the keyword may lie outside the match (gitleaks allows that: a
// rule's keywords need only occur somewhere in the text), or after a part of unbounded length.
func keywordOffset(re *syntax.Regexp, keywords []string) (off int, ok bool) {
	return offsetAfter(re, []string{""}, keywords)
}

// offsetAfter is keywordOffset for re preceded by one of the strings in prefix, counted from
// the prefix's start.
func offsetAfter(re *syntax.Regexp, prefix, keywords []string) (off int, ok bool) {
	if set, ok := lits.Exact(re); ok {
		if joined, ok := lits.Cross(prefix, set); ok {
			return firstKeyword(joined, keywords)
		}
	}
	switch re.Op {
	case syntax.OpCapture, syntax.OpPlus:
		return offsetAfter(re.Sub[0], prefix, keywords)
	case syntax.OpRepeat:
		if re.Min >= 1 {
			return offsetAfter(re.Sub[0], prefix, keywords)
		}
	case syntax.OpAlternate:
		for _, sub := range re.Sub {
			o, ok := offsetAfter(sub, prefix, keywords)
			if !ok {
				return 0, false
			}
			off = max(off, o)
		}
		return off, true
	case syntax.OpConcat:
		// Walk the parts, joining consecutive parts of finite content into one run.
		before := 0 // the most runes the parts before the run can match
		run := prefix
		for _, sub := range re.Sub {
			if set, ok := lits.Exact(sub); ok {
				if joined, ok := lits.Cross(run, set); ok {
					run = joined
					if o, ok := firstKeyword(run, keywords); ok {
						return before + o, true
					}
					continue
				}
			}
			if o, ok := offsetAfter(sub, run, keywords); ok {
				return before + o, true
			}
			before += longest(run) + maxLen(sub)
			if before >= unbounded {
				return 0, false
			}
			run = []string{""}
		}
	}
	return 0, false
}

// firstKeyword returns the largest offset in runes, over the strings in set, of the first
// keyword in each; ok is false if some string contains none.
func firstKeyword(set, keywords []string) (off int, ok bool) {
	for _, s := range set {
		first := -1
		for _, k := range keywords {
			if i := strings.Index(s, k); i >= 0 {
				if i = utf8.RuneCountInString(s[:i]); first < 0 || i < first {
					first = i
				}
			}
		}
		if first < 0 {
			return 0, false
		}
		off = max(off, first)
	}
	return off, true
}

// longest returns the most runes in a string of set.
func longest(set []string) int {
	n := 0
	for _, s := range set {
		n = max(n, utf8.RuneCountInString(s))
	}
	return n
}

// maxLen returns the most runes re can match, or unbounded.
func maxLen(re *syntax.Regexp) int {
	switch re.Op {
	case syntax.OpLiteral:
		return len(re.Rune)
	case syntax.OpCharClass, syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		return 1
	case syntax.OpStar, syntax.OpPlus:
		return unbounded
	case syntax.OpRepeat:
		if re.Max < 0 {
			return unbounded
		}
		return min(unbounded, re.Max*maxLen(re.Sub[0]))
	case syntax.OpQuest, syntax.OpCapture:
		return maxLen(re.Sub[0])
	case syntax.OpConcat:
		n := 0
		for _, sub := range re.Sub {
			n = min(unbounded, n+maxLen(sub))
		}
		return n
	case syntax.OpAlternate:
		n := 0
		for _, sub := range re.Sub {
			n = max(n, maxLen(sub))
		}
		return n
	}
	return 0
}

func hasCapture(re *syntax.Regexp) bool {
	return re.Op == syntax.OpCapture || slices.ContainsFunc(re.Sub, hasCapture)
}

// runeSet is a set of runes: a table for ASCII, ranges for the rest.
type runeSet struct {
	ascii [utf8.RuneSelf]bool
	other []rune // pairs of inclusive bounds
}

func (s *runeSet) has(r rune) bool {
	if 0 <= r && r < utf8.RuneSelf {
		return s.ascii[r]
	}
	for i := 0; i < len(s.other); i += 2 {
		if s.other[i] <= r && r <= s.other[i+1] {
			return true
		}
	}
	return false
}

func (s *runeSet) addClass(ranges []rune) {
	for i := 0; i < len(ranges); i += 2 {
		lo, hi := ranges[i], ranges[i+1]
		for r := lo; r <= hi && r < utf8.RuneSelf; r++ {
			s.ascii[r] = true
		}
		if hi >= utf8.RuneSelf {
			s.other = append(s.other, max(lo, utf8.RuneSelf), hi)
		}
	}
}

// assignment is the shape of gitleaks' generic and semi-generic rules, such as
//
//	(?i)[\w.-]{0,50}?(?:access|auth|key|secret|token)(?:[ \t\w.-]{0,20})[\s'"]{0,3}(?:=|:|=>)...
//
// a short lazy run of identifier characters, a keyword, then the rest (tail). Such a match
// starts at the beginning of the identifier run before the first keyword at which the tail
// matches, so Scan tries the tail at each keyword and finds the start by stepping back over
// the run, rather than running the whole regex where the keywords are (which Go's regexp
// does slowly: the bounded repetitions multiply its threads). Before the tail's regex runs,
// steps, a cheap necessary condition, must match at the keyword.
type assignment struct {
	prefix    runeSet // the identifier run's characters
	prefixMax int     // the most runes in it
	tail      *syntax.Regexp
	steps     []step
}

// step is one element of a tail's skeleton: one of words (ASCII, regardless of case) if
// words is set, else from min to max runes of class (max < 0: no limit).
type step struct {
	words    []string
	orEnd    bool      // the end of the text does as well as a word
	first    [256]bool // the first bytes of words, both cases
	class    runeSet
	min, max int
}

func wordsStep(words []string) step {
	st := step{words: words}
	for b := utf8.RuneSelf; b < len(st.first); b++ {
		st.first[b] = true // see matchSteps
	}
	for _, w := range words {
		c := w[0]
		st.first[c] = true
		if 'a' <= c && c <= 'z' {
			st.first[c-'a'+'A'] = true
		}
	}
	return st
}

// assignmentShape recognises the assignment shape in re, whose keywords are keywords.
func assignmentShape(re *syntax.Regexp, keywords []string) (*assignment, bool) {
	if re.Op != syntax.OpConcat || len(re.Sub) < 3 {
		return nil, false
	}
	run, kw := re.Sub[0], re.Sub[1]
	if run.Op != syntax.OpRepeat || run.Min != 0 || run.Max < 0 || run.Flags&syntax.NonGreedy == 0 ||
		run.Sub[0].Op != syntax.OpCharClass || hasCapture(run) {
		return nil, false
	}
	words, ok := lits.Exact(kw)
	if !ok || len(words) == 0 {
		return nil, false
	}
	for _, w := range words {
		if w == "" || !isASCII(w) ||
			!slices.ContainsFunc(keywords, func(k string) bool { return strings.HasPrefix(w, k) }) {
			return nil, false
		}
	}
	a := &assignment{
		prefixMax: run.Max,
		tail:      &syntax.Regexp{Op: syntax.OpConcat, Flags: re.Flags, Sub: re.Sub[1:]},
		steps:     []step{wordsStep(words)},
	}
	a.prefix.addClass(run.Sub[0].Rune)
	a.steps = appendSteps(a.steps, re.Sub[2:])
	return a, true
}

// appendSteps appends to steps a skeleton of the concatenation parts: what every match of
// them must look like, as far as it can be told cheaply.
func appendSteps(steps []step, parts []*syntax.Regexp) []step {
	for _, p := range parts {
		for p.Op == syntax.OpCapture {
			p = p.Sub[0]
		}
		if p.Op == syntax.OpEmptyMatch || p.Op == syntax.OpWordBoundary || p.Op == syntax.OpNoWordBoundary {
			continue // zero width; passing over it only lets more through
		}
		if st, ok := wordsOf(p); ok {
			steps = append(steps, st)
			continue
		}
		// A run of characters; of the classes and literals it is made of, if any.
		var st step
		n, ok := st.class.addRun(p)
		if !ok {
			break
		}
		st.min, st.max = n, maxLen(p)
		if st.max >= unbounded {
			st.max = -1
		}
		steps = append(steps, st)
	}
	return steps
}

// wordsOf returns a step for p if p matches one of a few non-empty ASCII strings, or,
// as an alternative, the end of the text.
func wordsOf(p *syntax.Regexp) (step, bool) {
	alts := []*syntax.Regexp{p}
	if p.Op == syntax.OpAlternate {
		alts = p.Sub
	}
	var words []string
	orEnd := false
	for _, a := range alts {
		if a.Op == syntax.OpEndText {
			orEnd = true
			continue
		}
		set, ok := lits.Exact(a)
		if !ok || len(words)+len(set) > 64 || slices.Contains(set, "") ||
			slices.ContainsFunc(set, func(s string) bool { return !isASCII(s) }) {
			return step{}, false
		}
		words = append(words, set...)
	}
	if len(words) == 0 {
		return step{}, false
	}
	st := wordsStep(words)
	st.orEnd = orEnd
	return st, true
}

// addRun adds to s the runes that re's matches are made of, if re is made of character
// classes and literals only, and returns the fewest runes a match has.
func (s *runeSet) addRun(re *syntax.Regexp) (fewest int, ok bool) {
	switch re.Op {
	case syntax.OpCharClass:
		s.addClass(re.Rune)
		return 1, true
	case syntax.OpLiteral:
		for _, r := range re.Rune {
			s.addClass([]rune{r, r})
			if re.Flags&syntax.FoldCase != 0 {
				for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
					s.addClass([]rune{f, f})
				}
			}
		}
		return len(re.Rune), true
	case syntax.OpCapture:
		return s.addRun(re.Sub[0])
	case syntax.OpEmptyMatch, syntax.OpWordBoundary, syntax.OpNoWordBoundary:
		return 0, true
	case syntax.OpQuest, syntax.OpStar:
		_, ok := s.addRun(re.Sub[0])
		return 0, ok
	case syntax.OpPlus:
		return s.addRun(re.Sub[0])
	case syntax.OpRepeat:
		n, ok := s.addRun(re.Sub[0])
		return n * re.Min, ok
	case syntax.OpConcat:
		for _, sub := range re.Sub {
			n, ok := s.addRun(sub)
			if !ok {
				return 0, false
			}
			fewest += n
		}
		return fewest, true
	case syntax.OpAlternate:
		fewest = unbounded
		for _, sub := range re.Sub {
			n, ok := s.addRun(sub)
			if !ok {
				return 0, false
			}
			fewest = min(fewest, n)
		}
		return fewest, true
	}
	return 0, false
}

// maybe reports whether the tail can match at kw, a keyword's offset in text, as far as its
// skeleton tells: a quick necessary condition for running the tail's regex.
func (a *assignment) maybe(text string, kw int) bool {
	return matchSteps(text, kw, a.steps)
}

func matchSteps(text string, i int, steps []step) bool {
	if len(steps) == 0 {
		return true
	}
	st := &steps[0]
	if st.words != nil {
		if i >= len(text) {
			return st.orEnd
		}
		if !st.first[text[i]] {
			return false
		}
		for _, w := range st.words {
			if len(text)-i < len(w) {
				continue
			}
			switch equalASCIIFold(text[i:i+len(w)], w) {
			case foldUnknown:
				// Under (?i) the regex matches ſ (U+017F) for s and K (U+212A) for k:
				// leave non-ASCII text to it.
				return true
			case foldEqual:
				if matchSteps(text, i+len(w), steps[1:]) {
					return true
				}
			}
		}
		return false
	}
	// The longest run of the class from i, up to max runes; then try the rest after it,
	// backing off one rune at a time down to min.
	j, n := i, 0
	for (st.max < 0 || n < st.max) && j < len(text) {
		r, size := rune(text[j]), 1
		if r >= utf8.RuneSelf {
			r, size = utf8.DecodeRuneInString(text[j:])
		}
		if !st.class.has(r) {
			break
		}
		j += size
		n++
	}
	for ; n >= st.min; n-- {
		if matchSteps(text, j, steps[1:]) {
			return true
		}
		if j == i {
			break
		}
		_, size := utf8.DecodeLastRuneInString(text[i:j])
		j -= size
	}
	return false
}

// start returns where a match whose keyword part begins at kw starts: as far back as the
// identifier run allows, but not before from.
func (a *assignment) start(text string, kw, from int) int {
	s := kw
	for n := 0; n < a.prefixMax && s > from; n++ {
		r, size := rune(text[s-1]), 1
		if r >= utf8.RuneSelf {
			r, size = utf8.DecodeLastRuneInString(text[:s])
		}
		if !a.prefix.has(r) || s-size < from {
			break
		}
		s -= size
	}
	return s
}

const (
	foldDiffer = iota
	foldEqual
	foldUnknown // s has a non-ASCII byte
)

// equalASCIIFold tells whether s equals the lower-case ASCII w regardless of ASCII case.
func equalASCIIFold(s, w string) int {
	for i := 0; i < len(w); i++ {
		c := s[i]
		if c >= utf8.RuneSelf {
			return foldUnknown
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != w[i] {
			return foldDiffer
		}
	}
	return foldEqual
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
