package keywords

import (
	"errors"
	"fmt"
)

// Index finds keywords in a text regardless of ASCII case, in one pass: an Aho–Corasick
// automaton compiled to a DFA over byte classes. Every byte that occurs in no keyword shares
// class 0 and an upper-case letter shares its lower-case letter's class, so the text needs no
// lower-cased copy and offsets stay those of the text.
//
// UTF-8 continuation bytes (0x80–0xBF) are told apart by their low four bits only: keywords
// in many scripts would otherwise give the table a column for each of some sixty such bytes,
// and its size is columns times states. A keyword with letters outside ASCII may so be
// reported where a letter of the same script and byte length differs from it in a
// continuation byte's high bits: callers use the automaton to find where to look, and confirm
// with their expressions. ASCII bytes and UTF-8 lead bytes match exactly.
type Index struct {
	words  []string
	maxLen int // the longest keyword
	class  [256]uint8
	nclass int32
	// next[state+class] is the next state, a multiple of nclass; the lowest bit set says
	// that the state ends a keyword (out[state/nclass] lists which).
	next []int32
	out  [][]int32
}

// New compiles the keywords (none empty, ASCII letters in lower case) into an automaton.
// ASCII letters match in either case; other bytes, such as those of UTF-8 letters of other
// scripts, match exactly.
func New(words []string) (*Index, error) {
	k := &Index{words: words, nclass: 1}
	for _, w := range words {
		if w == "" {
			return nil, errors.New("empty keyword")
		}
		k.maxLen = max(k.maxLen, len(w))
		for i := 0; i < len(w); i++ {
			c := w[i]
			if 'A' <= c && c <= 'Z' {
				return nil, fmt.Errorf("keyword %q has upper-case ASCII letters", w)
			}
			if k.class[c] != 0 {
				continue
			}
			if isContinuation(c) {
				// The sixteen continuation bytes with c's low bits share its class.
				for b := 0x80 | int(c&0x0f); b <= 0xbf; b += 0x10 {
					k.class[b] = uint8(k.nclass)
				}
				k.nclass++
				continue
			}
			k.class[c] = uint8(k.nclass)
			if 'a' <= c && c <= 'z' {
				k.class[c-'a'+'A'] = uint8(k.nclass)
			}
			k.nclass++
		}
	}
	if k.nclass%2 != 0 {
		k.nclass++ // an unused class keeps state offsets even, leaving the flag bit free
	}
	nc := k.nclass

	// The trie: goto[s*nc+c], -1 for no edge.
	trie := make([]int32, nc)
	for i := range trie {
		trie[i] = -1
	}
	out := [][]int32{nil}
	for id, w := range words {
		s := int32(0)
		for i := 0; i < len(w); i++ {
			e := s*nc + int32(k.class[w[i]])
			if trie[e] < 0 {
				trie[e] = int32(len(out))
				out = append(out, nil)
				for range nc {
					trie = append(trie, -1)
				}
			}
			s = trie[e]
		}
		out[s] = append(out[s], int32(id))
	}

	// Breadth first, turn missing edges into the failure state's edges, and inherit the
	// failure state's outputs.
	fail := make([]int32, len(out))
	queue := make([]int32, 0, len(out))
	for c := range nc {
		if t := trie[c]; t < 0 {
			trie[c] = 0
		} else {
			queue = append(queue, t)
		}
	}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		for c := range nc {
			t, f := trie[s*nc+c], trie[fail[s]*nc+c]
			if t < 0 {
				trie[s*nc+c] = f
				continue
			}
			fail[t] = f
			out[t] = append(out[t], out[f]...)
			queue = append(queue, t)
		}
	}

	k.out = out
	k.next = make([]int32, len(trie))
	for e, t := range trie {
		k.next[e] = t * nc
		if len(out[t]) > 0 {
			k.next[e] |= 1
		}
	}
	return k, nil
}

func isContinuation(c byte) bool { return c&0xc0 == 0x80 }

// Words returns the keywords, by id.
func (k *Index) Words() []string { return k.words }

// Hit is one keyword occurrence: the keyword's id and the offset just past it.
type Hit struct {
	ID  int32
	End int
}

// Len returns the length of keyword id.
func (k *Index) Len(id int32) int { return len(k.words[id]) }

// Each calls fn with the keyword id and end offset of every keyword occurrence in text.
func (k *Index) Each(text string, fn func(id int32, end int)) {
	if len(text) < splitAt {
		k.each(text, 0, fn)
		return
	}
	k.eachSplit(text, fn)
}

// each runs the automaton over text from the root, reporting ends offset by base.
func (k *Index) each(text string, base int, fn func(id int32, end int)) {
	next, class := k.next, &k.class
	s := int32(0)
	for i := 0; i < len(text); i++ {
		s = next[s+int32(class[text[i]])]
		if s&1 != 0 {
			s &^= 1
			for _, id := range k.out[s/k.nclass] {
				fn(id, base+i+1)
			}
		}
	}
}

// splitAt is the text length from which Each runs two automata at once.
const splitAt = 2048

// eachSplit runs two automata in one loop, over the text's first half and over its second
// half: each step of one waits on a table load that depends on its previous step, so two
// independent ones keep the processor busy where one leaves it waiting. The second starts
// maxLen-1 bytes before the half, which is enough for it to see whole every keyword that
// ends after the half; it reports only those, after the first has reported the rest, so the
// calls come in text order as from one automaton.
func (k *Index) eachSplit(text string, fn func(id int32, end int)) {
	next, class, nclass := k.next, &k.class, k.nclass
	mid := len(text) / 2
	b0 := max(0, mid-(k.maxLen-1))
	a, b := text[:mid], text[b0:]
	var later []Hit
	sa, sb := int32(0), int32(0)
	for i := 0; i < len(a); i++ {
		sa = next[sa+int32(class[a[i]])]
		sb = next[sb+int32(class[b[i]])]
		if sa&1 != 0 {
			sa &^= 1
			for _, id := range k.out[sa/nclass] {
				fn(id, i+1)
			}
		}
		if sb&1 != 0 {
			sb &^= 1
			if end := b0 + i + 1; end > mid {
				for _, id := range k.out[sb/nclass] {
					later = append(later, Hit{id, end})
				}
			}
		}
	}
	for _, h := range later {
		fn(h.ID, h.End)
	}
	for i := len(a); i < len(b); i++ {
		sb = next[sb+int32(class[b[i]])]
		if sb&1 != 0 {
			sb &^= 1
			if end := b0 + i + 1; end > mid {
				for _, id := range k.out[sb/nclass] {
					fn(id, end)
				}
			}
		}
	}
}

// Any reports whether a keyword occurs in text.
func (k *Index) Any(text string) bool {
	next, class := k.next, &k.class
	s := int32(0)
	for i := 0; i < len(text); i++ {
		if s = next[s+int32(class[text[i]])]; s&1 != 0 {
			return true
		}
	}
	return false
}
