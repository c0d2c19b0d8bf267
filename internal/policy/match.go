package policy

import "strings"

// pattern matches names: "*" stands for any run of characters (including none); every
// other character is itself.
type pattern struct {
	raw   string
	parts []string // raw split at '*'
}

func compilePattern(s string) pattern { return pattern{raw: s, parts: strings.Split(s, "*")} }

func (p pattern) match(s string) bool {
	if len(p.parts) == 1 {
		return s == p.raw
	}
	first, last := p.parts[0], p.parts[len(p.parts)-1]
	if len(s) < len(first)+len(last) || !strings.HasPrefix(s, first) || !strings.HasSuffix(s, last) {
		return false
	}
	s = s[len(first) : len(s)-len(last)]
	for _, mid := range p.parts[1 : len(p.parts)-1] {
		i := strings.Index(s, mid)
		if i < 0 {
			return false
		}
		s = s[i+len(mid):]
	}
	return true
}

// patterns is a list of alternatives; nil matches nothing.
type patterns []pattern

func compilePatterns(list []string) patterns {
	if list == nil {
		return nil
	}
	out := make(patterns, len(list))
	for i, s := range list {
		out[i] = compilePattern(s)
	}
	return out
}

func (ps patterns) match(s string) bool {
	for _, p := range ps {
		if p.match(s) {
			return true
		}
	}
	return false
}
