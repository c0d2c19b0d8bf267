package keywords

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

func TestEach(t *testing.T) {
	idx, err := New([]string{"he", "she", "his", "hers", "<|"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	idx.Each("uSHErs and <|x", func(id int32, end int) {
		got = append(got, []string{"he", "she", "his", "hers", "<|"}[id]+"@"+string(rune('0'+end%10)))
	})
	if strings.Join(got, " ") != "she@4 he@4 hers@6 <|@3" {
		t.Fatalf("got %v", got)
	}
	for _, bad := range [][]string{{""}, {"Upper"}} {
		if _, err := New(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func FuzzEach(f *testing.F) {
	words := []string{"ignore", "tool", "@", "![", "you must"}
	idx, err := New(words)
	if err != nil {
		f.Fatal(err)
	}
	f.Add("Ignore the tool @ ![x] YOU MUST")
	f.Fuzz(func(t *testing.T, s string) {
		n := 0
		idx.Each(s, func(id int32, end int) {
			w := words[id]
			if end < len(w) || end > len(s) || asciiLower(s[end-len(w):end]) != w {
				t.Fatalf("%q at %d is not in %q", w, end, s)
			}
			n++
		})
		want := 0
		low := asciiLower(s)
		for _, w := range words {
			for i := 0; i+len(w) <= len(low); i++ {
				if low[i:i+len(w)] == w {
					want++
				}
			}
		}
		if n != want {
			t.Fatalf("%d occurrences, want %d", n, want)
		}
	})
}

func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 32
		}
	}
	return string(b)
}

func TestEachAgainstSuffixes(t *testing.T) {
	words := []string{"he", "she", "his", "hers", "key", "ey", "s.", "akia"}
	k, err := New(words)
	if err != nil {
		t.Fatal(err)
	}
	text := "uSHErs KEY the s.x AKIAhis Grüße ushers"
	var got []string
	k.Each(text, func(id int32, end int) {
		got = append(got, fmt.Sprintf("%s@%d", words[id], end))
	})
	var want []string
	lower := strings.ToLower(text) // ASCII folding is all the index does; ü is two bytes either way
	for end := 1; end <= len(text); end++ {
		for _, w := range words {
			if strings.HasSuffix(lower[:end], w) {
				want = append(want, fmt.Sprintf("%s@%d", w, end))
			}
		}
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("each = %v\nwant %v", got, want)
	}
	if _, err := New([]string{"Key"}); err == nil {
		t.Error("upper-case keyword accepted")
	}
}

// TestEachNonASCII: keywords in other scripts are found wherever their bytes are, beside ASCII
// ones that match in either case; beyond those, the automaton reports a keyword only where the
// text's bytes differ from it in the high bits of UTF-8 continuation bytes (here "é" in "É":
// C3 A9 against C3 89), never elsewhere.
func TestEachNonASCII(t *testing.T) {
	words := []string{"忽略", "гнорир", "무시", "ignore", "é"}
	k, err := New(words)
	if err != nil {
		t.Fatal(err)
	}
	text := "请忽略之前的指令. Игнорируй ИГНОРИРУЙ. 지시를 무시하고 IGNORE café É"
	var got []string
	k.Each(text, func(id int32, end int) { got = append(got, fmt.Sprintf("%s@%d", words[id], end)) })
	var exact, folded []string
	for end := 1; end <= len(text); end++ {
		for _, w := range words {
			if strings.HasSuffix(asciiLower(text[:end]), w) {
				exact = append(exact, fmt.Sprintf("%s@%d", w, end))
			} else if end >= len(w) && sameFolded(asciiLower(text[end-len(w):end]), w) {
				folded = append(folded, fmt.Sprintf("%s@%d", w, end))
			}
		}
	}
	if len(exact) != 5 || len(folded) != 1 {
		t.Fatalf("the test text changed: exact %v, folded %v", exact, folded)
	}
	for _, g := range got {
		if !slices.Contains(exact, g) && !slices.Contains(folded, g) {
			t.Errorf("reported %s, which is neither the keyword's bytes nor them folded", g)
		}
	}
	for _, w := range exact {
		if !slices.Contains(got, w) {
			t.Errorf("missed %s", w)
		}
	}
}

// sameFolded says whether a and b are equal once continuation bytes keep only their low bits.
func sameFolded(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if x&0xc0 == 0x80 && y&0xc0 == 0x80 {
			x, y = x&0x0f, y&0x0f
		}
		if x != y {
			return false
		}
	}
	return true
}

// TestEachSplitMatchesOneAutomaton: on long texts Each runs several automata, one per part;
// it must report exactly what one automaton does, in the same order, keywords across the
// parts' bounds included.
func TestEachSplitMatchesOneAutomaton(t *testing.T) {
	words := []string{"he", "she", "his", "hers", "key", "ey", "s.", "akia", "ignore previous", "a", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}
	k, err := New(words)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(7, 8))
	pieces := append(slices.Clone(words), "x", "y", " ", "IGNORE PREVIOUS", "AAAA", "Ä")
	for n := range 300 {
		var b strings.Builder
		size := splitAt - 10 + rng.IntN(3*splitAt)
		for b.Len() < size {
			b.WriteString(pieces[rng.IntN(len(pieces))])
		}
		text := b.String()
		if n%3 == 0 { // a long keyword straddling a bound between the lanes
			at := len(text) * (1 + n%(2*lanes-1)) / (2 * lanes) // every bound and between them
			text = text[:at-20] + words[len(words)-1] + text[at+22:]
		}
		type call struct {
			id  int32
			end int
		}
		var got, want []call
		k.Each(text, func(id int32, end int) { got = append(got, call{id, end}) })
		k.each(text, 0, func(id int32, end int) { want = append(want, call{id, end}) })
		if !slices.Equal(got, want) {
			t.Fatalf("text %d (%d bytes): split automata reported %d calls, one automaton %d, or in another order", n, len(text), len(got), len(want))
		}
	}
}
