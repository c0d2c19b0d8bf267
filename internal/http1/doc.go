// Package http1 is the gateway's client-facing HTTP/1.1 server: a strict, lean replacement
// for net/http's Server that serves any http.Handler.
//
// Why not net/http's Server: for a proxy whose every call is one short POST, its
// per-request machinery costs as much as the gateway's own work. It starts a goroutine per
// request to watch for the client going away (a read that finds nothing, then a wake-up to
// stop it), reads ahead for the next request, and writes a response's head and body in
// separate system calls. This server handles a request in the connection's goroutine,
// writes each response (head and body) with one system call, and watches for the client
// going away only when a handler has run for a while or streams (see conn.watch).
//
// It is strict where HTTP parsers disagree, because a gateway that reads a request
// differently from the server behind it can be smuggled past: a request with both
// Content-Length and Transfer-Encoding, with more than one Content-Length, with a
// transfer coding other than chunked, with folded or malformed header lines, a bare CR, a
// control character in a value, or a missing Host is refused with a 4xx/5xx status and the
// connection is closed. Only HTTP/1.0 and HTTP/1.1 are spoken (over TLS too: ALPN offers
// http/1.1 alone), which also leaves out HTTP/2's own attack surface.
package http1
