// Package inspect looks at what passes through the gateway: results, resource contents,
// prompt messages and definitions on their way to a model, and arguments on their way to
// an upstream. It normalises each text (escapes decoded, NFKC, invisible characters and
// terminal escapes removed and reported, encoded runs decoded for a second look), runs the
// detectors (prompt injection in subpackage injection, secrets in secret, personal data in
// pii, destinations in egress) and maps every finding back to the original text, so that
// actions (block, redact, quarantine, flag, require approval) act on what the client would
// have seen.
//
// Subpackage devdata reads the shared development data, builds the training and evaluation
// sets and reproduces the embedded injection weights.
package inspect
