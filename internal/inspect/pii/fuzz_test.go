package pii

import "testing"

// FuzzScan: Scan never panics; its matches are within the text, sorted and non-overlapping;
// each is found again whole when scanned on its own (an undashed SSN after a label); and a
// detector for one type finds nothing of another.
func FuzzScan(f *testing.F) {
	for _, s := range []string{
		"",
		"ann@example.com (555) 123-4567 +44 (0)20 7946 0958 4111 1111 1111 1111",
		"DE89 3704 0044 0532 0130 00 GB82WEST12345698765432 SSN: 123456789 123-45-6789",
		`{"ssn" : "123 45 6789","socialSecurityNumber":"219099999"}`,
		"see...o'brien@mail.example.co.uk. icon@2x.png 1-800-555-0199 +1 2 3",
		"2024-05-13T10:30:00+02:00 192.168.1.1 v1.2.3 $2,099.00 3782 822463 10005",
		"@@..@a.bc 4111111111111111@x.io +(1) (555) LC55HEMM000100010012001200023015",
	} {
		f.Add(s)
	}
	all := New()
	email := New(Email)
	f.Fuzz(func(t *testing.T, text string) {
		ms := all.Scan(text)
		checkWellFormed(t, text, ms)
		checkRescan(t, all, text)
		for _, m := range email.Scan(text) {
			if m.Type != Email {
				t.Fatalf("New(Email) found %s in %q", m.Type, text)
			}
		}
	})
}

// FuzzAlnumEnd: reading eight bytes at a time ends the run where a byte-by-byte loop does.
func FuzzAlnumEnd(f *testing.F) {
	f.Add("abcdefghIJKLMNOP0123456789-x", 0)
	f.Add("abcdefgh\x80ijklmnop", 2)
	f.Fuzz(func(t *testing.T, s string, i int) {
		if i < 0 || i > len(s) {
			return
		}
		want := i
		for want < len(s) && isAlnum(s[want]) {
			want++
		}
		if got := alnumEnd(s, i); got != want {
			t.Fatalf("alnumEnd(%q, %d) = %d, want %d", s, i, got, want)
		}
	})
}
