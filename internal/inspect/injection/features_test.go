package injection

import (
	"strings"
	"testing"
)

// naiveSpaceAt is spaceAt one byte at a time.
func naiveSpaceAt(s string, i int) int {
	for ; i < len(s); i++ {
		if isSpace(s[i]) {
			return i
		}
	}
	return len(s)
}

func TestSpaceAt(t *testing.T) {
	long := strings.Repeat("aB3-_", 40)
	for _, s := range []string{
		"", " ", "abc", "abc def", long, long + " x", long + "\n", "\x01\x02\x03\x04\x05\x06\x07\x08\x09",
		long + "\x00\x1f\x7f\xff\xc3\xa9" + long + "\r", strings.Repeat("é", 30) + "\tx",
		"12345678\x0112345678 ", "1234567\x01 ",
	} {
		for i := 0; i <= len(s); i++ {
			if got, want := spaceAt(s, i), naiveSpaceAt(s, i); got != want {
				t.Errorf("spaceAt(%q, %d) = %d, want %d", s, i, got, want)
			}
		}
	}
}

func FuzzSpaceAt(f *testing.F) {
	f.Add("abcdefghijklmnop qrstuvwxyz\x01\x02\x03 ", 3)
	f.Fuzz(func(t *testing.T, s string, i int) {
		if i < 0 || i > len(s) {
			return
		}
		if got, want := spaceAt(s, i), naiveSpaceAt(s, i); got != want {
			t.Fatalf("spaceAt(%q, %d) = %d, want %d", s, i, got, want)
		}
	})
}
