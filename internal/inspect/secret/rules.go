package secret

import (
	"fmt"
	"gatehouse/internal/inspect/keywords"
	"math"
	"regexp"
	"regexp/syntax"
	"slices"
	"strings"
	"sync"

	"github.com/spf13/viper"
	"github.com/zricethezav/gitleaks/v8/config"
)

// How Scan searches for a rule's matches, from the cheapest; see loadRules.
type strategy uint8

const (
	// searchWhole runs the regex over the whole text, as gitleaks does.
	searchWhole strategy = iota
	// searchAt: every match starts at a keyword; the regex is tried anchored there.
	searchAt
	// searchBefore: every match starts at most reach runes before a keyword; the regex is
	// tried anchored there, allowed to skip up to reach runes.
	searchBefore
	// searchAssignment: the assignment shape (see assignment); the tail is tried at a keyword.
	searchAssignment
)

// rule is one gitleaks rule in the form the scanner runs it.
type rule struct {
	id          string
	whole       *lazyRegexp // the rule's regex; compiled when first run (see loadRules)
	secretGroup int         // 0: the first non-empty capture group, if the regex has any
	entropy     float64     // the secret's Shannon entropy must exceed this (0: no check)
	keywords    []string
	allow       []*allowlist // the config's global allowlists, then the rule's own
	generic     bool         // a catch-all rule: loses to a specific rule on the same text

	how   strategy
	reach int
	// anchored[0] is the regex searched for at the start of the text, anchored[1] the same
	// after one rune, so that a search that begins one rune early sees that rune as the
	// context of \b. For searchAt and searchBefore the rule's regex is group 1; for
	// searchAssignment they are the tail, whose groups are the rule's.
	anchored *lazyAnchored
	assign   *assignment
	// need, if set, is a cheap test a text must pass for a whole-text search to find
	// anything in it (see wholeNeeds).
	need func(text string) bool
}

// lazyRegexp compiles a rule's own regex on first use. Only a whole-text search runs it;
// the others run the anchored forms, and holding some 200 compiled programs that are never
// run was megabytes of a gateway's resident memory.
type lazyRegexp struct {
	src  string
	once sync.Once
	re   *regexp.Regexp
}

func (l *lazyRegexp) get() *regexp.Regexp {
	l.once.Do(func() {
		// src compiled at load (see loadRules), so it compiles now.
		l.re = regexp.MustCompile(l.src)
	})
	return l.re
}

// lazyAnchored compiles a rule's anchored regexes on first use: most rules never see their
// keyword in a gateway's traffic, and the compiled programs of some 200 rules, three each,
// would otherwise hold tens of MiB for nothing.
type lazyAnchored struct {
	body string
	once sync.Once
	re   [2]*regexp.Regexp
}

func (l *lazyAnchored) get() [2]*regexp.Regexp {
	l.once.Do(func() {
		// The body compiled at load (see plan), so it compiles now.
		l.re, _ = anchored(l.body)
	})
	return l.re
}

// RuleIDs lists the ids Options.Disable may name: gitleaks' default rules and
// HighEntropyRule. It reads the rule set without compiling it, for configuration checks.
func RuleIDs() ([]string, error) {
	vc, err := defaultViperConfig()
	if err != nil {
		return nil, err
	}
	ids := []string{HighEntropyRule}
	for _, r := range vc.Rules {
		ids = append(ids, r.ID)
	}
	return ids, nil
}

// defaultViperConfig reads the rule set that gitleaks embeds, without compiling it. It uses
// a viper instance of its own rather than viper's package-level one, which gitleaks' detect
// package would mutate.
func defaultViperConfig() (config.ViperConfig, error) {
	v := viper.New()
	v.SetConfigType("toml")
	if err := v.ReadConfig(strings.NewReader(config.DefaultConfig)); err != nil {
		return config.ViperConfig{}, fmt.Errorf("read gitleaks default config: %w", err)
	}
	var vc config.ViperConfig
	if err := v.Unmarshal(&vc); err != nil {
		return config.ViperConfig{}, fmt.Errorf("decode gitleaks default config: %w", err)
	}
	return vc, nil
}

// defaultConfig parses and compiles the rule set that gitleaks embeds.
func defaultConfig() (cfg config.Config, err error) {
	vc, err := defaultViperConfig()
	if err != nil {
		return config.Config{}, err
	}
	// Translate compiles the rules' regexes with MustCompile.
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("translate gitleaks default config: %v", p)
		}
	}()
	cfg, err = vc.Translate()
	if err != nil {
		return config.Config{}, fmt.Errorf("translate gitleaks default config: %w", err)
	}
	return cfg, nil
}

// loadRules turns the gitleaks default config into rules, leaving out the disabled ones and
// those that cannot fire on text alone: rules restricted to file paths (a scanned text has no
// file name) and rules that only serve as parts of composite rules.
func loadRules(cfg config.Config, disable map[string]bool) ([]rule, error) {
	var rules []rule
	var global []*allowlist
	for _, a := range cfg.Allowlists {
		al, err := newAllowlist(a)
		if err != nil {
			return nil, fmt.Errorf("global allowlist: %w", err)
		}
		global = append(global, al)
	}
	for _, id := range cfg.OrderedRules {
		r := cfg.Rules[id]
		if disable[id] || r.Regex == nil || r.Path != nil || r.SkipReport {
			continue
		}
		if len(r.Keywords) == 0 {
			// Gitleaks would run such a rule on every text; none of the default rules is one.
			return nil, fmt.Errorf("rule %s: no keywords", id)
		}
		// Compile with the standard library whatever engine gitleaks was built with
		// (its gore2regex build tag swaps in a WebAssembly RE2).
		re, err := regexp.Compile(r.Regex.String())
		if err != nil {
			return nil, fmt.Errorf("rule %s: %w", id, err)
		}
		if r.SecretGroup > re.NumSubexp() {
			return nil, fmt.Errorf("rule %s: secret group %d, regex has %d", id, r.SecretGroup, re.NumSubexp())
		}
		rl := rule{
			id:          id,
			whole:       &lazyRegexp{src: re.String()},
			secretGroup: r.SecretGroup,
			entropy:     r.Entropy,
			keywords:    r.Keywords,
			allow:       slices.Clip(global),
			generic:     strings.Contains(id, "generic"),
		}
		for _, a := range r.Allowlists {
			al, err := newAllowlist(a)
			if err != nil {
				return nil, fmt.Errorf("rule %s: allowlist: %w", id, err)
			}
			rl.allow = append(rl.allow, al)
		}
		if err := rl.plan(); err != nil {
			return nil, fmt.Errorf("rule %s: %w", id, err)
		}
		if rl.how == searchWhole {
			rl.whole.once.Do(func() { rl.whole.re = re }) // runs on every text: keep it
			rl.need = wholeNeeds(rl.whole.src)
		}
		rules = append(rules, rl)
	}
	return rules, nil
}

// plan picks the cheapest search the rule's regex allows.
func (r *rule) plan() error {
	tree, err := syntax.Parse(r.whole.src, syntax.Perl)
	if err != nil {
		return err
	}
	off, ok := keywordOffset(tree, r.keywords)
	if !ok {
		r.how = searchWhole
		return nil
	}
	var body string
	switch a, ok := assignmentShape(tree, r.keywords); {
	case ok:
		r.how, r.assign = searchAssignment, a
		body = `(?:` + a.tail.String() + `)`
	case off == 0:
		r.reach, r.how = off, searchAt
		body = `(` + r.whole.src + `)`
	default:
		r.reach, r.how = off, searchBefore
		body = fmt.Sprintf(`(?s:.){0,%d}?(%s)`, off, r.whole.src)
	}
	// Compiled here once to find errors at load; kept only when first used.
	if _, err := anchored(body); err != nil {
		return err
	}
	r.anchored = &lazyAnchored{body: body}
	return nil
}

// anchored compiles body anchored at the start of the text, and again after one rune.
func anchored(body string) (re [2]*regexp.Regexp, err error) {
	if re[0], err = regexp.Compile(`\A` + body); err != nil {
		return re, err
	}
	re[1], err = regexp.Compile(`\A(?s:.)` + body)
	return re, err
}

// find returns the submatch indices of the anchored regex searched at offset at in text
// (group 0 starting at or after at), shifted to be offsets in text, or nil.
func (r *rule) find(text string, at int) []int {
	re := r.anchored.get()
	if at == 0 {
		return re[0].FindStringSubmatchIndex(text)
	}
	m := re[1].FindStringSubmatchIndex(text[at-1:])
	for i := range m {
		if m[i] >= 0 {
			m[i] += at - 1
		}
	}
	return m
}

// secretOf returns the byte range of the secret within a match given as submatch indices m:
// the rule's secret group, else the first non-empty capture group, else the whole match.
func (r *rule) secretOf(m []int) (start, end int) {
	if r.secretGroup > 0 {
		return m[2*r.secretGroup], m[2*r.secretGroup+1]
	}
	for g := 1; 2*g+1 < len(m); g++ {
		if m[2*g] >= 0 && m[2*g+1] > m[2*g] {
			return m[2*g], m[2*g+1]
		}
	}
	return m[0], m[1]
}

// allowlist is a gitleaks allowlist as it applies to a text without a commit or a path.
type allowlist struct {
	and     bool   // every condition must hold, not one
	target  string // what the regexes test: "" the secret, "match" or "line"
	regexes []guardedRegexp
	stop    *config.Allowlist // for its stop words, if one is not ASCII
	stopIdx *keywords.Index   // its stop words, when all are ASCII
	never   bool              // it has a commit or path condition that must hold
}

// guardedRegexp is a regex with a cheap test that a string must pass to match it: contain
// one of its required words.
type guardedRegexp struct {
	re    *regexp.Regexp
	guard *keywords.Index // nil: none
}

func newAllowlist(a *config.Allowlist) (*allowlist, error) {
	al := &allowlist{
		and:    a.MatchCondition == config.AllowlistMatchAnd,
		target: a.RegexTarget,
		never:  a.MatchCondition == config.AllowlistMatchAnd && (len(a.Commits) > 0 || len(a.Paths) > 0),
	}
	if len(a.StopWords) > 0 {
		// Gitleaks' own stop-word matcher holds an 8 MiB trie; the shared automaton finds
		// the same words (ASCII case folded, as gitleaks lowercases) in a fraction of that.
		words := make([]string, 0, len(a.StopWords))
		for _, w := range a.StopWords {
			if w = strings.ToLower(w); w != "" {
				words = append(words, w)
			}
		}
		if idx, err := keywords.New(words); err == nil {
			al.stopIdx = idx
		} else {
			al.stop = a // a word that is not ASCII: gitleaks' matcher, whatever it costs
		}
	}
	for _, x := range a.Regexes {
		re, err := regexp.Compile(x.String())
		if err != nil {
			return nil, err
		}
		g := guardedRegexp{re: re}
		if tree, err := syntax.Parse(x.String(), syntax.Perl); err == nil {
			if words, ok := keywords.Required(tree); ok {
				g.guard, _ = keywords.New(words) // none if a word is not ASCII
			}
		}
		al.regexes = append(al.regexes, g)
	}
	return al, nil
}

func (a *allowlist) regexAllows(s string) bool {
	for _, g := range a.regexes {
		if (g.guard == nil || g.guard.Any(s)) && g.re.MatchString(s) {
			return true
		}
	}
	return false
}

func (a *allowlist) stopWordIn(secret string) bool {
	if a.stopIdx != nil {
		return a.stopIdx.Any(secret)
	}
	if a.stop == nil {
		return false
	}
	ok, _ := a.stop.ContainsStopWord(secret)
	return ok
}

// allowed reports whether one of the rule's allowlists excuses a finding, as gitleaks
// decides it for a fragment without a commit or a path.
func (r *rule) allowed(secret, match, line string) bool {
	for _, a := range r.allow {
		target := secret
		switch a.target {
		case "match":
			target = match
		case "line":
			target = line
		}
		switch {
		case a.never:
		case a.and:
			if (len(a.regexes) > 0 || a.stop != nil) &&
				(len(a.regexes) == 0 || a.regexAllows(target)) &&
				(a.stop == nil || a.stopWordIn(secret)) {
				return true
			}
		case a.regexAllows(target) || a.stopWordIn(secret):
			return true
		}
	}
	return false
}

// entropy returns the Shannon entropy of s in bits per byte, as gitleaks computes it for
// ASCII text.
func entropy(s string) float64 {
	if s == "" {
		return 0
	}
	var counts [256]int
	for i := 0; i < len(s); i++ {
		counts[s[i]]++
	}
	n := float64(len(s))
	var h float64
	for _, c := range counts {
		if c > 0 {
			p := float64(c) / n
			h -= p * math.Log2(p)
		}
	}
	return h
}

// facebookAccessToken is gitleaks' facebook-access-token regex as wholeNeeds knows it.
const facebookAccessToken = `(?i)\b(\d{15,16}(\||%)[0-9a-z\-_]{27,40})(?:[\x60'"\s;]|\\[nr]|$)`

// wholeNeeds returns a necessary condition for the whole-text regex src to match, for the
// regexes where one is cheap and the search is not: facebook-access-token's keyword is a
// word that a web page names in its links, and its regex, run over all of such a text, was a
// tenth of inspecting the development data. The condition is tied to the regex's exact text:
// a gitleaks release that changes it gets no condition (and TestWholeNeeds says so).
func wholeNeeds(src string) func(text string) bool {
	if src != facebookAccessToken {
		return nil
	}
	// \d{15,16} then | or %: fifteen ASCII digits just before a | or a %.
	return func(text string) bool {
		for i := 0; ; i++ {
			j := strings.IndexAny(text[i:], "|%")
			if j < 0 {
				return false
			}
			if i += j; i >= 15 && allDigits(text[i-15:i]) {
				return true
			}
		}
	}
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
