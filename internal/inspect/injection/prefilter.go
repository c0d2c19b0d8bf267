package injection

import (
	"regexp/syntax"
	"slices"
	"strings"
	"unicode/utf8"

	"gatehouse/internal/inspect/keywords"
)

// A rule's keyword only says where its expression might match. Around common words
// ("confirmed", "without") that is most of an ordinary text, and Go's backtracking matcher
// then costs tens of microseconds per keyword. needs lists what every match must also
// contain — sets of literals, one of each set — worked out from the expression itself, so
// that a window lacking one of them is skipped without running the expression. Skipping
// changes no result: a window without a required literal has no match.

// minNeed is the shortest literal worth testing for: shorter ones are everywhere.
const minNeed = 3

// requiredSets returns, for an expression, sets of literals such that every match contains at
// least one literal of each set: keywords.Required of each part of the top-level sequence.
// It may return none; it never returns a set a match can avoid. expr must be lower-case
// where it matches letters (the text it runs on is).
func requiredSets(expr string) [][]string {
	re, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return nil
	}
	re = re.Simplify()
	for re.Op == syntax.OpCapture {
		re = re.Sub[0]
	}
	var parts []*syntax.Regexp
	if re.Op == syntax.OpConcat {
		parts = re.Sub
	} else {
		parts = []*syntax.Regexp{re}
	}
	var sets [][]string
	for _, p := range parts {
		set, ok := keywords.Required(p)
		// The text's lower-casing and Required's agree on ASCII only.
		if ok && keywords.Shortest(set) >= minNeed && !slices.ContainsFunc(set, func(s string) bool { return !isASCIIString(s) }) {
			sets = append(sets, set)
		}
	}
	return sets
}

func isASCIIString(s string) bool {
	return strings.IndexFunc(s, func(r rune) bool { return r >= utf8.RuneSelf }) < 0
}

// hasAll reports whether window contains a literal of every set.
func hasAll(window string, sets [][]string) bool {
	for _, set := range sets {
		if !slices.ContainsFunc(set, func(lit string) bool { return strings.Contains(window, lit) }) {
			return false
		}
	}
	return true
}
