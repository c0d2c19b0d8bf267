// Package secret finds secrets in text: API keys, tokens, private keys, passwords in
// assignments. The gateway runs it over every tool-call argument and every tool result, so
// it is built to be fast on text that holds no secret at all, which is nearly all of it.
//
// # Rules
//
// The rules are gitleaks' default rule set (github.com/zricethezav/gitleaks/v8, its config
// package): about two hundred maintained regexes with their keywords, entropy minimums and
// allowlists, so that we do not write and keep up our own. A Match's Rule is the gitleaks
// rule id ("aws-access-token", "github-pat", "private-key", "jwt", "generic-api-key", …).
// Rules that only look at file paths cannot fire on a text and are left out, as are inline
// "gitleaks:allow" comments: in a gateway the text is the attacker's to write.
//
// # Why not gitleaks' detect package
//
// detect.Detector.DetectString is the obvious way to use gitleaks, and it was measured first:
// about 300 µs per KiB on 1 KiB of mixed prose, JSON and code, and about 730 µs per KiB on
// 64 KiB, where the budget is 50 µs per KiB. It lowercases a copy of the text, runs every
// rule whose keyword occurs over the whole text, and the generic rule alone, whose keywords
// (key, token, auth, …) occur in most JSON, costs about 300 ns per byte in Go's regexp. It
// also reports lines and columns rather than byte offsets, logs through a global logger and
// brings archive and git dependencies with it. So this package loads the rules from gitleaks'
// config package and runs them itself:
//
//   - One pass of an Aho–Corasick automaton over the text finds every rule keyword, ignoring
//     ASCII case, without a lower-cased copy.
//   - A rule's regex runs only where its matches can be. New reads each regex
//     (analyze.go) to prove where, relative to one of its keywords, every match must start:
//     for most rules at the keyword itself, so the regex is tried anchored there and stops as
//     soon as it cannot match; for the generic and semi-generic rules (an identifier, a
//     keyword, an assignment operator, a value) a skeleton of the regex is checked at the
//     keyword by hand first and the regex runs only if it passes. Rules whose keywords may
//     lie outside their matches (a handful) run over the whole text, as in gitleaks.
//   - Allowlist regexes are guarded by words one of which every match must contain.
//
// The result is the same as running each rule's regex over the whole text (the tests check
// this against the regexes and allowlists themselves), at about 10 µs per KiB.
//
// Two gitleaks behaviours differ on purpose: the keyword prefilter folds ASCII case only
// (gitleaks lower-cases Unicode, so a keyword spelt with, say, the Kelvin sign K triggers its
// rule there and not here), and overlapping findings are reduced to the best one (see
// Detector.Scan) where gitleaks only drops generic findings inside specific ones.
//
// # Entropy
//
// With Options.Entropy, a token that no rule names is reported as "high-entropy-string" when
// it is assigned to a key that names a credential (`client_secret: …`, `passphrase=…`,
// `Authorization: Bearer …`), is at least 20 characters of the base64 or hex alphabets, and
// is random enough (see entropy.go). Entropy alone would flag every commit hash, UUID and
// inline image in e-mails, calendars, code and web pages; the key is what makes it a secret.
package secret
