package keywords

import (
	"regexp/syntax"
	"slices"
	"strings"
	"unicode"
)

// The literals a regular expression needs: what a keyword index can look for before the
// expression runs. Every answer errs on the safe side: when the analysis cannot prove a set
// it says so.

// Limits of the analysis; past them it gives up, which costs speed, not correctness.
const (
	maxExactSet   = 1024 // strings in an exact set
	maxExactClass = 64   // runes in a character class expanded into an exact set
)

// Exact returns the finite set of strings, ASCII letters lower-cased, that re can match, if it
// is small. Zero-width assertions match the empty string.
func Exact(re *syntax.Regexp) ([]string, bool) {
	switch re.Op {
	case syntax.OpEmptyMatch, syntax.OpBeginLine, syntax.OpEndLine, syntax.OpBeginText,
		syntax.OpEndText, syntax.OpWordBoundary, syntax.OpNoWordBoundary:
		return []string{""}, true
	case syntax.OpLiteral:
		var b strings.Builder
		for _, r := range re.Rune {
			if re.Flags&syntax.FoldCase != 0 {
				r = unicode.ToLower(r)
			}
			b.WriteRune(lowerASCIIRune(r))
		}
		return []string{b.String()}, true
	case syntax.OpCharClass:
		n := 0
		for i := 0; i < len(re.Rune); i += 2 {
			n += int(re.Rune[i+1]-re.Rune[i]) + 1
			if n > maxExactClass {
				return nil, false
			}
		}
		var set []string
		for i := 0; i < len(re.Rune); i += 2 {
			for r := re.Rune[i]; r <= re.Rune[i+1]; r++ {
				if s := string(lowerASCIIRune(r)); !slices.Contains(set, s) {
					set = append(set, s)
				}
			}
		}
		return set, true
	case syntax.OpCapture:
		return Exact(re.Sub[0])
	case syntax.OpQuest:
		set, ok := Exact(re.Sub[0])
		if !ok {
			return nil, false
		}
		return union([]string{""}, set)
	case syntax.OpRepeat:
		if re.Max < 0 || re.Max > 8 {
			return nil, false
		}
		sub, ok := Exact(re.Sub[0])
		if !ok {
			return nil, false
		}
		var all []string
		cur := []string{""}
		for i := 0; i <= re.Max; i++ {
			if i >= re.Min {
				if all, ok = union(all, cur); !ok {
					return nil, false
				}
			}
			if cur, ok = Cross(cur, sub); !ok {
				return nil, false
			}
		}
		return all, true
	case syntax.OpConcat:
		set := []string{""}
		for _, sub := range re.Sub {
			s, ok := Exact(sub)
			if !ok {
				return nil, false
			}
			if set, ok = Cross(set, s); !ok {
				return nil, false
			}
		}
		return set, true
	case syntax.OpAlternate:
		var set []string
		for _, sub := range re.Sub {
			s, ok := Exact(sub)
			if !ok {
				return nil, false
			}
			if set, ok = union(set, s); !ok {
				return nil, false
			}
		}
		return set, true
	}
	return nil, false
}

func lowerASCIIRune(r rune) rune {
	if 'A' <= r && r <= 'Z' {
		return r + 'a' - 'A'
	}
	return r
}

func Cross(a, b []string) ([]string, bool) {
	if len(a)*len(b) > maxExactSet {
		return nil, false
	}
	out := make([]string, 0, len(a)*len(b))
	for _, x := range a {
		for _, y := range b {
			out = append(out, x+y)
		}
	}
	return out, true
}

func union(a, b []string) ([]string, bool) {
	if len(a)+len(b) > maxExactSet {
		return nil, false
	}
	return append(slices.Clip(a), b...), true
}

// Required returns strings (ASCII letters lower-cased) one of which every match of re
// contains, if it finds them: a cheap test that lets a text that has none of them skip re.
func Required(re *syntax.Regexp) ([]string, bool) {
	if set, ok := Exact(re); ok {
		if slices.Contains(set, "") {
			return nil, false
		}
		return set, true
	}
	switch re.Op {
	case syntax.OpCapture, syntax.OpPlus:
		return Required(re.Sub[0])
	case syntax.OpRepeat:
		if re.Min >= 1 {
			return Required(re.Sub[0])
		}
	case syntax.OpAlternate:
		var all []string
		for _, sub := range re.Sub {
			set, ok := Required(sub)
			if !ok {
				return nil, false
			}
			all = append(all, set...)
		}
		return all, true
	case syntax.OpConcat:
		// Of the parts, and of runs of consecutive parts of finite content, the set whose
		// shortest string is longest.
		var best []string
		consider := func(set []string) {
			if len(set) > 0 && !slices.Contains(set, "") && Shortest(set) > Shortest(best) {
				best = set
			}
		}
		run := []string{""}
		for _, sub := range re.Sub {
			if set, ok := Exact(sub); ok {
				if joined, ok := Cross(run, set); ok {
					run = joined
					consider(run)
					continue
				}
				run = set
				consider(run)
				continue
			}
			run = []string{""}
			if set, ok := Required(sub); ok {
				consider(set)
			}
		}
		return best, best != nil
	}
	return nil, false
}

// Shortest returns the fewest bytes in a string of set, 0 for none.
func Shortest(set []string) int {
	if len(set) == 0 {
		return 0
	}
	n := len(set[0])
	for _, s := range set[1:] {
		n = min(n, len(s))
	}
	return n
}
