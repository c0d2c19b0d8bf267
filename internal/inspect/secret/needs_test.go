package secret

import (
	"regexp"
	"strings"
	"testing"
)

var needSeeds = []string{
	"facebook token 123456789012345|abcdefghijklmnopqrstuvwxyz0123 end",
	"facebook 1234567890123456%ABCDEFGHIJKLMNOPQRSTUVWXYZ_-0123456789\n",
	"facebook 12345678901234|abcdefghijklmnopqrstuvwxyz0123 (fourteen digits)",
	"facebook | % and 123456789012345 apart | x",
	"https://facebook.com/share?u=a%20b|c",
	"",
	"|",
	"123456789012345|",
}

// TestWholeNeeds: facebook-access-token's whole-text search has its condition (a gitleaks
// release that changes the regex must be looked at again), and the condition holds wherever
// the regex matches.
func TestWholeNeeds(t *testing.T) {
	d := newDetector(t, Options{})
	var r *rule
	for i := range d.rules {
		if d.rules[i].id == "facebook-access-token" {
			r = &d.rules[i]
		}
	}
	if r == nil || r.need == nil {
		t.Fatal("facebook-access-token has no whole-text condition: has its regex changed?")
	}
	matched := 0
	for _, s := range needSeeds {
		if checkNeed(t, r.need, r.whole.get(), s) {
			matched++
		}
	}
	if matched < 2 {
		t.Fatalf("the regex matched %d seeds, want at least 2", matched)
	}
	if d.Scan(needSeeds[0]) == nil {
		t.Error("a Facebook token was not found")
	}
}

func FuzzWholeNeeds(f *testing.F) {
	for _, s := range needSeeds {
		f.Add(s)
	}
	need := wholeNeeds(facebookAccessToken)
	re := regexp.MustCompile(facebookAccessToken)
	f.Fuzz(func(t *testing.T, s string) { checkNeed(t, need, re, s) })
}

// checkNeed fails if re matches s where need says it cannot, and reports whether it matched.
func checkNeed(t *testing.T, need func(string) bool, re *regexp.Regexp, s string) bool {
	t.Helper()
	m := re.FindStringIndex(s)
	if m != nil && !need(s) {
		t.Fatalf("the regex matches %q at %v, but the condition says it cannot", s, m)
	}
	if strings.IndexAny(s, "|%") < 0 && need(s) {
		t.Fatalf("the condition holds for %q, which has no | or %%", s)
	}
	return m != nil
}
