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

// splitAt is the text length from which Each runs several automata at once.
const splitAt = 2048

// lanes is how many automata eachSplit runs side by side.
const lanes = 4

// eachSplit runs four automata in one loop, each over a quarter of the text: each step of
// one waits on a table load that depends on its previous step, so independent ones keep the
// processor busy where one leaves it waiting (two lanes read a 64 KiB token at 1.15 ns a
// byte, four at about half that). Every lane but the first starts maxLen-1 bytes before its
// quarter, which is enough for it to see whole every keyword that ends inside the quarter;
// it reports only those, after the lanes before it have reported theirs, so the calls come
// in text order as from one automaton.
func (k *Index) eachSplit(text string, fn func(id int32, end int)) {
	next, class, nclass := k.next, &k.class, k.nclass
	n := len(text)
	var bound [lanes + 1]int // lane j reports the keywords that end in (bound[j], bound[j+1]]
	for j := range bound {
		bound[j] = n * j / lanes
	}
	var from [lanes]int // where lane j starts reading
	for j := 1; j < lanes; j++ {
		from[j] = max(0, bound[j]-(k.maxLen-1))
	}
	common := n
	for j := range lanes {
		common = min(common, bound[j+1]-from[j])
	}
	t0, t1, t2, t3 := text[from[0]:bound[1]], text[from[1]:bound[2]], text[from[2]:bound[3]], text[from[3]:bound[4]]
	var later [lanes][]Hit
	// report hands on lane j's state s after reading the byte before end.
	report := func(j int, s int32, end int) {
		if j == 0 {
			for _, id := range k.out[s/nclass] {
				fn(id, end)
			}
			return
		}
		if end > bound[j] {
			for _, id := range k.out[s/nclass] {
				later[j] = append(later[j], Hit{id, end})
			}
		}
	}
	var s0, s1, s2, s3 int32
	c0, c1, c2, c3 := t0[:common], t1[:common], t2[:common], t3[:common] // (no bounds checks)
	for i := 0; i < len(c0); i++ {
		s0 = next[s0+int32(class[c0[i]])]
		s1 = next[s1+int32(class[c1[i]])]
		s2 = next[s2+int32(class[c2[i]])]
		s3 = next[s3+int32(class[c3[i]])]
		if (s0|s1|s2|s3)&1 == 0 {
			continue
		}
		// Rare: some lane ends a keyword. (The states stay in registers above, not in an
		// array, which the loop would read from memory.)
		st := [lanes]int32{s0, s1, s2, s3}
		for j := range st {
			if st[j]&1 != 0 {
				st[j] &^= 1
				report(j, st[j], from[j]+i+1)
			}
		}
		s0, s1, s2, s3 = st[0], st[1], st[2], st[3]
	}
	// Each lane's remaining bytes, in lane order.
	for j, s := range [lanes]int32{s0, s1, s2, s3} {
		t := text[from[j]:bound[j+1]]
		for i := common; i < len(t); i++ {
			s = next[s+int32(class[t[i]])]
			if s&1 != 0 {
				s &^= 1
				report(j, s, from[j]+i+1)
			}
		}
		if j > 0 {
			for _, h := range later[j] {
				fn(h.ID, h.End)
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
