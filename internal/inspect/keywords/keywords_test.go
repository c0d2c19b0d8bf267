package keywords

import (
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
