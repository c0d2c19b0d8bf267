package secret

import (
	"slices"
	"testing"
)

// FuzzHighEntropy: finding the operators with IndexByte visits them all, in order, as a
// byte-by-byte loop does.
func FuzzHighEntropy(f *testing.F) {
	for _, s := range []string{"api_key=Zx8Qm2Lr9Tv4Wn6Kp3Hs7Jd5", `{"client_secret": "Zx8Qm2Lr9Tv4Wn6Kp3Hs7Jd5", "a": 1}`, "a:=b==c:d", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		var want []candidate
		for i := 0; i < len(text); i++ {
			if c := text[i]; c != '=' && c != ':' {
				continue
			}
			if start, end, ok := assignedToken(text, i); ok && credentialKey(text, i) && looksRandom(text[start:end]) {
				want = append(want, candidate{Match: Match{HighEntropyRule, start, end}, rank: 2})
			}
		}
		if got := highEntropy(text, nil); !slices.Equal(got, want) {
			t.Fatalf("highEntropy(%q) = %v, want %v", text, got, want)
		}
	})
}
