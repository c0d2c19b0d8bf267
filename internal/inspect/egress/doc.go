// Package egress finds the destinations named in tool-call arguments and checks them, so
// that a model tricked into calling fetch, http_request, send_email or a browser cannot
// send data to a host an attacker chose, or reach an internal address through the gateway
// (cloud metadata at 169.254.169.254, an admin port on localhost, 10/8).
//
// Destinations reads URLs, host names, IP literals and e-mail addresses out of text. A
// Checker, compiled once by New from Options, checks them against an allowlist and the
// internal address classes of IsInternal, and, with Options.Resolve, looks names up and
// checks what they resolve to. Matches carry a named rule and the offsets of the
// destination, for policy and redaction.
//
// Reading text is a heuristic: a destination that is encoded (base64, a URL-encoded URL in
// a query string), split, or reached through an open redirect on an allowed host is not
// seen. For tools the gateway itself dials out for, Checker.DialControl is the guard that
// does not depend on reading: it checks the address of every connection as it is made.
//
// IDNA is out of scope: a host name with non-ASCII characters (other than the fullwidth and
// circled look-alikes of ASCII, which are folded) is kept as it is and matches no pattern.
package egress
