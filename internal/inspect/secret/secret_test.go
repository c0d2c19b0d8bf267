package secret

import (
	"fmt"
	"math/rand/v2"
	"regexp/syntax"
	"slices"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/zricethezav/gitleaks/v8/config"
)

// Fake secrets of the right shapes, put together at run time so that no scanner mistakes
// this file for a leak.
var (
	fakeAWS    = "AKIA" + "QYLPMN5HHHFPZAM2"
	fakeGitHub = "ghp_" + "Xk9Qm2Lp8Rz4Tn6Vb1Wc3Yd5Fg7Hj0Ks2Ml4"
	fakeSlack  = "xoxb-" + "2048512345678-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx"
	fakeStripe = "sk_" + "live_" + "51H8dKzQx2Lm9Pv4Rt7Yw3Nb6Jc"
	fakePEM    = "-----BEGIN RSA " + "PRIVATE KEY-----\n" +
		"MIIEowIBAAKCAQEAx4Kq9fLm2Np8Rt5Vw3Yz6Bc1Df4Gh7Jk0Lm3Np6Qr9St2Uv5\n" +
		"Xy8Za1Bc4De7Fg0Hi3Jk6Lm9No2Pq5Rs8Tu1Vw4Xy7Za0Bc3De6Fg9Hi2Jk5Lm8No\n" +
		"-----END RSA " + "PRIVATE KEY-----"
	fakeJWT = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9." +
		"eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ." +
		"SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
	fakePassword = "Vq8zLm2" + "Xp9Rk4Tn"
	fakeOpaque   = "Zk3Lq9Xv2Mp7" + "Rt4Wn8Yb1Jc6Hd"
	fakeBase64   = "Qm9Lp2Xv8Rk4/Tn7Wz1" + "+Yb6Jc3Hd5Fg0Ks"
)

func newDetector(t testing.TB, opts Options) *Detector {
	t.Helper()
	d, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// found is one expected finding: the rule and the secret, which must occur once in the text.
type found struct{ rule, secret string }

func TestScan(t *testing.T) {
	d := newDetector(t, Options{Entropy: true})
	tests := []struct {
		name string
		text string
		want []found
	}{
		{"aws access key id", "export AWS_ACCESS_KEY_ID=" + fakeAWS + "\n",
			[]found{{"aws-access-token", fakeAWS}}},
		{"github pat in json", `{"name":"deploy","token":"` + fakeGitHub + `","scopes":["repo"]}`,
			[]found{{"github-pat", fakeGitHub}}},
		{"slack bot token", "SLACK_BOT_TOKEN=" + fakeSlack,
			[]found{{"slack-bot-token", fakeSlack}}},
		{"stripe key in code", `stripe.api_key = "` + fakeStripe + `"`,
			[]found{{"stripe-access-token", fakeStripe}}},
		{"pem private key", "Here is the key you asked for:\n\n" + fakePEM + "\n\nKeep it safe.",
			[]found{{"private-key", fakePEM}}},
		{"jwt in authorization header", "GET /v1/me HTTP/1.1\r\nAuthorization: Bearer " + fakeJWT + "\r\n\r\n",
			[]found{{"jwt", fakeJWT}}},
		{"password assignment", `db_password = "` + fakePassword + `"`,
			[]found{{"generic-api-key", fakePassword}}},
		{"two secrets, sorted", "AWS_ACCESS_KEY_ID=" + fakeAWS + " and GH_TOKEN=" + fakeGitHub,
			[]found{{"aws-access-token", fakeAWS}, {"github-pat", fakeGitHub}}},
		{"multi-byte text before", "Grüße, 東京 — export KEY=" + fakeAWS,
			[]found{{"aws-access-token", fakeAWS}}},

		// The entropy check: credentials that no rule names.
		{"opaque bearer token", "Authorization: Bearer " + fakeOpaque,
			[]found{{HighEntropyRule, fakeOpaque}}},
		{"long credential key name", `"secret_access_key_for_the_production_environment": "` + fakeBase64 + `"`,
			[]found{{HighEntropyRule, fakeBase64}}},
		{"yaml passphrase", "tls:\n  passphrase: " + fakeBase64 + "\n",
			[]found{{HighEntropyRule, fakeBase64}}},
		{"camelCase key, generic rule first", `const signingKey = '` + fakeBase64 + `';`,
			[]found{{"generic-api-key", fakeBase64}}},

		// Negatives.
		{"prose", "The API key rotation is scheduled for Friday; the token service and the password " +
			"reset flow are unaffected. Access reviews continue as planned. Secrets belong in the vault.", nil},
		{"uuids", `{"id": "123e4567-e89b-12d3-a456-426614174000", "request_id": "9b2f4c1e-7d3a-4e8b-a1c6-5f0e2d9b8a7c"} ` +
			"f47ac10b-58cc-4372-a567-0e02b2c3d479", nil},
		{"commit shas", "commit 9fceb02d0ae598e95dc970b74767f19372d61af8\nMerge: 1a410ef 3c8f5f2\n" +
			`{"sha": "e83c5163316f89bfbde7d9ab23ca2e25604af290", "parents": ["a9d1b4c37e0f7a3c2b5e8d6f1c4a7b9e0d3f6a2c"]}`, nil},
		{"png data uri", `<img alt="dot" src="data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJ` +
			`AAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==">`, nil},
		{"e-mail addresses", "Contact maria.keller@example.com or j.smith+billing@corp.example.org for access.", nil},
		{"subresource integrity", `<script src="https://cdn.example.com/lib.min.js" integrity="sha384-oqVuAfXRKap7fdgcCY5uykM6+R9GqQ8K/uxy9rx7HNQlGYl1kPzQho1wx4JwY8wC" crossorigin="anonymous"></script>`, nil},
		{"aws documentation key", "AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE", nil},
		{"placeholders", `password = "${DB_PASSWORD}"` + "\napi_key: {{ .Values.apiKey }}\ntoken=%TOKEN%", nil},
		{"key about a credential", `{"api_key_id": "` + fakeBase64 + `", "token_type": "Bearer", "public_key": "` + fakeBase64 + `"}`, nil},
		{"paths and hosts", `{"object_key": "uploads/2024/03/Q1-report-v2.pdf", "api_key_file": "/etc/keys/prod-7f3a9c.json", ` +
			`"auth_host": "auth-7f3a9c2e.eu-west-1.example.com", "secret": "s3://bucket-7f3a/backups/2024-03-14.tar.gz"}`, nil},
		{"oauth redirect", "https://app.example.com/callback?state=af0ifjsldkjXk2&code=SplxlOBeZQQYbYS6WxSbIA&" +
			"session_state=b3f2c1a4-7d8e-4f9a-8b6c-1e2d3f4a5b6c", nil},
		{"calendar entry", "BEGIN:VEVENT\nUID:040000008200E00074C5B7101A82E00800000000\nDTSTART:20250314T100000Z\n" +
			"SUMMARY:Access review\nORGANIZER:mailto:ops@example.org\nEND:VEVENT", nil},
		{"empty", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var want []Match
			for _, f := range tt.want {
				i := strings.Index(tt.text, f.secret)
				if i < 0 || strings.Count(tt.text, f.secret) != 1 {
					t.Fatalf("bad test: %q must occur once in the text", f.secret)
				}
				want = append(want, Match{f.rule, i, i + len(f.secret)})
			}
			got := d.Scan(tt.text)
			if !slices.Equal(got, want) {
				t.Errorf("Scan =\n%s\nwant\n%s", show(tt.text, got), show(tt.text, want))
			}
		})
	}
}

func show(text string, ms []Match) string {
	var b strings.Builder
	for _, m := range ms {
		fmt.Fprintf(&b, "\t%s [%d:%d] %q\n", m.Rule, m.Start, m.End, text[m.Start:m.End])
	}
	if len(ms) == 0 {
		b.WriteString("\tnothing\n")
	}
	return b.String()
}

func TestScanEntropyOff(t *testing.T) {
	d := newDetector(t, Options{})
	text := "Authorization: Bearer " + fakeOpaque + "\nGH_TOKEN=" + fakeGitHub
	i := strings.Index(text, fakeGitHub)
	want := []Match{{"github-pat", i, i + len(fakeGitHub)}}
	if got := d.Scan(text); !slices.Equal(got, want) {
		t.Errorf("Scan =\n%swant\n%s", show(text, got), show(text, want))
	}
}

func TestScanConcurrent(t *testing.T) {
	d := newDetector(t, Options{Entropy: true})
	text := mixedText(8 << 10)
	want := d.Scan(text)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 20 {
				if got := d.Scan(text); !slices.Equal(got, want) {
					t.Errorf("concurrent Scan = %v, want %v", got, want)
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestRules(t *testing.T) {
	d := newDetector(t, Options{})
	ids := d.Rules()
	if !slices.IsSorted(ids) {
		t.Error("Rules not sorted")
	}
	for _, id := range []string{"aws-access-token", "github-pat", "slack-bot-token", "stripe-access-token",
		"private-key", "jwt", "generic-api-key"} {
		if !slices.Contains(ids, id) {
			t.Errorf("Rules lacks %s", id)
		}
	}
	for _, id := range []string{"pkcs12-file", "kubernetes-secret-yaml", HighEntropyRule} {
		if slices.Contains(ids, id) {
			t.Errorf("Rules has %s", id)
		}
	}
	if len(ids) < 150 {
		t.Errorf("only %d rules", len(ids))
	}

	d = newDetector(t, Options{Entropy: true, Disable: []string{"jwt", "pkcs12-file"}})
	if ids := d.Rules(); slices.Contains(ids, "jwt") || !slices.Contains(ids, HighEntropyRule) {
		t.Errorf("Rules with jwt disabled and entropy on: %v", ids)
	}
	if got := d.Scan("token " + fakeJWT + " "); len(got) != 0 {
		t.Errorf("disabled rule fired: %v", got)
	}
	d = newDetector(t, Options{Entropy: true, Disable: []string{HighEntropyRule}})
	if slices.Contains(d.Rules(), HighEntropyRule) {
		t.Error("entropy check not disabled")
	}

	_, err := New(Options{Disable: []string{"jwt", "no-such-rule", "nor-this"}})
	if err == nil || !strings.Contains(err.Error(), `"no-such-rule"`) || !strings.Contains(err.Error(), `"nor-this"`) {
		t.Errorf("New with unknown rules: %v", err)
	}
}

// TestSearchStrategies checks that searching where the keywords are finds what the rule's
// regex finds in the whole text, for every rule, on text made from the regexes themselves.
func TestSearchStrategies(t *testing.T) {
	d := newDetector(t, Options{})
	count := map[strategy]int{}
	for _, r := range d.rules {
		count[r.how]++
	}
	if count[searchWhole] > 15 || count[searchAssignment] < 50 {
		t.Errorf("strategies: %v", count)
	}

	rnd := rand.New(rand.NewPCG(1, 2))
	contexts := []string{"", " ", "x", "\n", "_", "key=", `"token": "`, "Ζ", "é", `\n`, ";", "api_key = '",
		strings.Repeat("a", 48), strings.Repeat("b_", 25), strings.Repeat("c", 51), strings.Repeat("é", 49)}
	for i := range d.rules {
		r := &d.rules[i]
		tree, err := syntax.Parse(r.whole.src, syntax.Perl)
		if err != nil {
			t.Fatal(err)
		}
		for range 12 {
			a, b := generate(tree, rnd), generate(tree, rnd)
			pre, post := contexts[rnd.IntN(len(contexts))], contexts[rnd.IntN(len(contexts))]
			for _, text := range []string{a, pre + a + post, a + b, a + post + pre + b, pre + a + " " + mixedText(300)} {
				compareSearch(t, d, text, []int{i})
			}
		}
	}
	compareSearch(t, d, mixedText(64<<10), []int{})
}

// compareSearch fails t if a rule's search finds other matches in text than its regex does.
// Of the rules whose keywords text lacks, it checks those in also (all if nil) to match
// nothing, as the search takes for granted for all but searchWhole.
func compareSearch(t *testing.T, d *Detector, text string, also []int) {
	t.Helper()
	hits := d.hits(text)
	for i := range d.rules {
		r := &d.rules[i]
		lo, _ := slices.BinarySearch(hits, uint64(i)<<32)
		hi, _ := slices.BinarySearch(hits, uint64(i+1)<<32)
		if lo == hi && (r.how == searchWhole || also != nil && !slices.Contains(also, i)) {
			continue
		}
		var got, want [][]int
		r.searchWhole(text, func(m []int) { want = append(want, m) })
		if lo == hi {
			if len(want) > 0 {
				t.Errorf("%s: regex matches %q without a keyword", r.id, text)
			}
			continue
		}
		r.search(text, hits[lo:hi], func(m []int) { got = append(got, m) })
		if !slices.EqualFunc(got, want, slices.Equal) {
			t.Errorf("%s (strategy %d) in %q:\nsearch %v\nregex  %v", r.id, r.how, text, got, want)
		}
	}
}

// generate returns a random string that re matches, give or take its assertions: ASCII
// where a class allows it, short repetitions.
func generate(re *syntax.Regexp, rnd *rand.Rand) string {
	var b strings.Builder
	var gen func(re *syntax.Regexp)
	gen = func(re *syntax.Regexp) {
		switch re.Op {
		case syntax.OpLiteral:
			for _, r := range re.Rune {
				if re.Flags&syntax.FoldCase != 0 && r < utf8.RuneSelf && rnd.IntN(2) == 0 {
					r = []rune(strings.ToUpper(string(r)))[0]
				}
				b.WriteRune(r)
			}
		case syntax.OpCharClass:
			var ascii []rune
			for i := 0; i < len(re.Rune); i += 2 {
				for r := re.Rune[i]; r <= re.Rune[i+1] && r < utf8.RuneSelf; r++ {
					if r >= ' ' || r == '\n' || r == '\t' {
						ascii = append(ascii, r)
					}
				}
			}
			if len(ascii) > 0 {
				b.WriteRune(ascii[rnd.IntN(len(ascii))])
			} else if len(re.Rune) > 0 {
				b.WriteRune(re.Rune[len(re.Rune)-2])
			}
		case syntax.OpAnyChar, syntax.OpAnyCharNotNL:
			b.WriteByte(byte('!' + rnd.IntN(94)))
		case syntax.OpCapture:
			gen(re.Sub[0])
		case syntax.OpConcat:
			for _, sub := range re.Sub {
				gen(sub)
			}
		case syntax.OpAlternate:
			gen(re.Sub[rnd.IntN(len(re.Sub))])
		case syntax.OpStar, syntax.OpPlus, syntax.OpQuest, syntax.OpRepeat:
			lo, hi := 0, 3
			switch re.Op {
			case syntax.OpPlus:
				lo, hi = 1, 4
			case syntax.OpQuest:
				hi = 1
			case syntax.OpRepeat:
				lo, hi = re.Min, re.Min+3
				if re.Max >= 0 {
					hi = min(hi, re.Max)
				}
			}
			for range lo + rnd.IntN(hi-lo+1) {
				gen(re.Sub[0])
			}
		}
	}
	gen(re)
	return b.String()
}

// TestAllowlists checks that the allowlists, with their required-word guards, decide as
// gitleaks' own do, on strings made from the allowlists' and the rules' regexes.
func TestAllowlists(t *testing.T) {
	cfg, err := defaultConfig()
	if err != nil {
		t.Fatal(err)
	}
	d := newDetector(t, Options{})
	rnd := rand.New(rand.NewPCG(3, 4))
	checked := 0
	for i := range d.rules {
		r := &d.rules[i]
		lists := append(slices.Clone(cfg.Allowlists), cfg.Rules[r.id].Allowlists...)
		var samples []string
		for _, a := range lists {
			for _, x := range a.Regexes {
				tree, err := syntax.Parse(x.String(), syntax.Perl)
				if err != nil {
					t.Fatal(err)
				}
				for range 20 {
					samples = append(samples, generate(tree, rnd))
				}
			}
			for _, w := range a.StopWords[:min(len(a.StopWords), 20)] {
				samples = append(samples, "x9"+w+"Q")
			}
		}
		tree, err := syntax.Parse(r.whole.src, syntax.Perl)
		if err != nil {
			t.Fatal(err)
		}
		for range 20 {
			samples = append(samples, generate(tree, rnd))
		}
		for _, x := range samples {
			for _, smt := range [][3]string{{x, x, x}, {x, "key = " + x, "\tkey = " + x + " // ok"}, {"s3cr3t", x, x}} {
				checked++
				if got, want := r.allowed(smt[0], smt[1], smt[2]), gitleaksAllowed(lists, smt[0], smt[1], smt[2]); got != want {
					t.Errorf("%s: allowed(%q, %q, %q) = %v, gitleaks says %v", r.id, smt[0], smt[1], smt[2], got, want)
				}
			}
		}
	}
	t.Logf("%d checks", checked)
}

// gitleaksAllowed is gitleaks' decision (detect.checkFindingAllowed) for a finding in a
// fragment without a commit or a path.
func gitleaksAllowed(lists []*config.Allowlist, secret, match, line string) bool {
	for _, a := range lists {
		target := secret
		switch a.RegexTarget {
		case "match":
			target = match
		case "line":
			target = line
		}
		regexAllowed := a.RegexAllowed(target)
		stop, _ := a.ContainsStopWord(secret)
		if a.MatchCondition != config.AllowlistMatchAnd {
			if regexAllowed || stop {
				return true
			}
			continue
		}
		all := len(a.Commits) == 0 && len(a.Paths) == 0 // neither can hold without them
		if len(a.Regexes) > 0 {
			all = all && regexAllowed
		}
		if len(a.StopWords) > 0 {
			all = all && stop
		}
		if all {
			return true
		}
	}
	return false
}

func TestEntropyKeys(t *testing.T) {
	for key, want := range map[string]bool{
		"password": true, "DB_PASSWORD": true, "client_secret": true, "apiKey": true, "X-Api-Key": true,
		"Authorization": true, "accessToken": true, "signingKey": true, "key": true, "DB_PASS": true,
		"passphrase": true, "session_id": false, "sessionId": false, "key_id": false, "tokenType": false,
		"secret_name": false, "auth_url": false, "password_policy": false, "public_key": false,
		"author": false, "commit": false, "sha": false, "id": false, "uuid": false, "etag": false,
		"monkey": false, "data": false, "href": false, "oauth_state": false, "csrfToken": false,
		"object_key": false, "primaryKey": false, "license_key": true, "sessionid": true,
	} {
		text := key + "=x"
		if got := credentialKey(text, len(key)); got != want {
			t.Errorf("credentialKey(%q) = %v, want %v", key, got, want)
		}
	}
}

func FuzzScan(f *testing.F) {
	for _, s := range []string{
		"", "AWS_ACCESS_KEY_ID=" + fakeAWS, "token: " + fakeGitHub, fakeSlack, fakePEM,
		"Authorization: Bearer " + fakeJWT, `password = "` + fakePassword + `"`,
		"Authorization: Bearer " + fakeOpaque, `api_key: "` + fakeBase64 + `"`,
		"key=key=key=" + fakeAWS + fakeAWS, "\xff\xfeKEY=\xc3" + fakeBase64, mixedText(1 << 10),
	} {
		f.Add(s)
	}
	d := newDetector(f, Options{Entropy: true})
	rules := d.Rules()
	f.Fuzz(func(t *testing.T, text string) {
		got := d.Scan(text)
		end := 0
		for _, m := range got {
			if m.Start < end || m.End <= m.Start || m.End > len(text) {
				t.Fatalf("bad offsets in %v for %d bytes", got, len(text))
			}
			end = m.End
			if !slices.Contains(rules, m.Rule) {
				t.Fatalf("unknown rule %q", m.Rule)
			}
		}
		compareSearch(t, d, text, nil)
	})
}

// mixedText returns n bytes of the kind of text a gateway inspects: an e-mail, a calendar
// event as JSON, Go code, an HTML fragment, repeated with variations, and one secret.
func mixedText(n int) string {
	blocks := []string{
		"Hi team,\n\nFollowing up on yesterday's meeting about the quarterly roadmap: the API redesign is on " +
			"track, and the authentication service will ship next week. Please review the access policy " +
			"document before Friday and send your comments to maria.keller@example.com. The key risk remains " +
			"the migration of legacy tokens, which we will handle in a separate sprint.\n\nThanks,\nMaria\n\n",
		`{"id":"evt_2b7c1e9a","type":"calendar.event","summary":"Design review: API gateway",` +
			`"start":"2025-03-14T10:00:00Z","end":"2025-03-14T11:00:00Z","organizer":{"email":"ops@example.org",` +
			`"name":"Ops Team"},"attendees":[{"email":"a.lee@example.org","status":"accepted"},` +
			`{"email":"j.smith@example.org","status":"tentative"}],"uid":"4f1c2d3e-5a6b-7c8d-9e0f-112233445566",` +
			`"etag":"\"3181161784712000\"","htmlLink":"https://calendar.example.org/event?eid=NGYxYzJkM2U1YTZi",` +
			`"api_version":"v3","access_role":"owner"}` + "\n",
		"func (s *Server) handle(w http.ResponseWriter, r *http.Request) {\n\ttoken := r.Header.Get(\"Authorization\")\n" +
			"\tif token == \"\" {\n\t\thttp.Error(w, \"missing token\", http.StatusUnauthorized)\n\t\treturn\n\t}\n" +
			"\tkey := s.keyFor(r.Context(), token)\n\tlog.Printf(\"commit %s key id %d\", " +
			"\"9fceb02d0ae598e95dc970b74767f19372d61af8\", key.ID)\n}\n",
		`<div class="card"><a href="https://docs.example.com/guide/authentication#tokens">Read the ` +
			`authentication guide</a><p>Secrets should never be pasted into chat. Rotate credentials every 90 ` +
			`days.</p><img src="data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42m` +
			`NkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="></div>` + "\n",
	}
	secret := "AWS_SECRET_ACCESS_KEY=" + fakeAWS + "\n"
	var b strings.Builder
	for i := 0; b.Len() < n-len(secret); i++ {
		fmt.Fprintf(&b, "[%d] ", i)
		b.WriteString(blocks[i%len(blocks)])
	}
	text := b.String()[:n-len(secret)]
	mid := strings.IndexByte(text[len(text)/2:], '\n') + 1 + len(text)/2
	return text[:mid] + secret + text[mid:]
}

func BenchmarkScan(b *testing.B) {
	d := newDetector(b, Options{Entropy: true})
	for _, size := range []int{1 << 10, 64 << 10} {
		text := mixedText(size)
		if len(d.Scan(text)) != 1 {
			b.Fatalf("%d bytes: want one secret, got %v", size, d.Scan(text))
		}
		b.Run(fmt.Sprintf("%dKiB", size>>10), func(b *testing.B) {
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				d.Scan(text)
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/float64(size>>10), "µs/KiB")
		})
	}
}
