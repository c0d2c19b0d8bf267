// Package keywords finds many keywords in a text in one pass (an Aho–Corasick automaton
// compiled to a DFA over byte classes), regardless of ASCII case; bytes outside ASCII, as in
// keywords of other scripts, match exactly.
// The secret and injection detectors use it to decide which of their rules a text can
// trigger before any regular expression runs, and read from a rule's expression which
// literals its matches must contain (Exact, Required).
package keywords
