package http1

import (
	"bytes"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// headError is a request head the server refuses: the status it answers with and why.
type headError struct {
	status int
	msg    string
}

func (e *headError) Error() string { return fmt.Sprintf("%d %s", e.status, e.msg) }

func badRequest(format string, args ...any) *headError {
	return &headError{status: http.StatusBadRequest, msg: fmt.Sprintf(format, args...)}
}

// head is a parsed request line and header section.
type head struct {
	method, target string
	minor          int // HTTP/1.minor
	url            *url.URL
	header         http.Header
	host           string
	length         int64 // body length; -1 for chunked
	chunked        bool
	close          bool // the connection ends after this exchange
	expect         bool // Expect: 100-continue
}

// span is a header field's name and value as offsets into the head.
type span struct{ k0, k1, v0, v1 int }

// parser parses request heads, reusing its scratch space from one request to the next.
type parser struct {
	spans []span
}

// parse parses a request head: the request line and header fields, each line ending in CRLF
// (a bare LF is accepted, as RFC 9112 allows), up to and including the empty line. It
// canonicalises field names in b in place; the strings of the result share one copy of b.
func (p *parser) parse(b []byte) (*head, *headError) {
	// Request line: method SP request-target SP HTTP-version.
	line, rest, ok := cutLine(b)
	if !ok {
		return nil, badRequest("malformed request line")
	}
	sp1 := bytes.IndexByte(line, ' ')
	if sp1 <= 0 {
		return nil, badRequest("malformed request line")
	}
	sp2 := bytes.IndexByte(line[sp1+1:], ' ')
	if sp2 <= 0 {
		return nil, badRequest("malformed request line")
	}
	sp2 += sp1 + 1
	method, target, version := line[:sp1], line[sp1+1:sp2], line[sp2+1:]
	if !isToken(method) {
		return nil, badRequest("malformed method")
	}
	for _, c := range target {
		if c <= ' ' || c == 0x7f || c == '#' {
			return nil, badRequest("malformed request target")
		}
	}
	minor := 0
	switch string(version) {
	case "HTTP/1.1":
		minor = 1
	case "HTTP/1.0":
	default:
		if bytes.HasPrefix(version, []byte("HTTP/")) {
			return nil, &headError{status: http.StatusHTTPVersionNotSupported, msg: "only HTTP/1.0 and HTTP/1.1 are supported"}
		}
		return nil, badRequest("malformed HTTP version")
	}

	if err := p.fields(b, len(b)-len(rest)); err != nil {
		return nil, err
	}
	// One copy of the head backs every string of the request.
	s := string(b)
	h := &head{
		method: s[:sp1],
		target: s[sp1+1 : sp2],
		minor:  minor,
		header: p.header(s),
	}
	if err := h.frame(); err != nil {
		return nil, err
	}
	return h, nil
}

// fields parses the header field lines of head b from offset off (after the start line)
// through the empty line that ends them: field-name ":" OWS field-value OWS. It
// canonicalises names in place and records where names and values are.
func (p *parser) fields(b []byte, off int) *headError {
	p.spans = p.spans[:0]
	rest := b[off:]
	for {
		line, next, ok := cutLine(rest)
		if !ok {
			return badRequest("malformed header section")
		}
		if len(line) == 0 {
			rest = next
			break
		}
		if line[0] == ' ' || line[0] == '\t' {
			return badRequest("folded header line (obs-fold) refused")
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			return badRequest("malformed header line")
		}
		name := line[:colon]
		if !isToken(name) {
			// Includes whitespace before the colon, which RFC 9112 says to refuse.
			return badRequest("malformed header name %q", truncate(name))
		}
		canonicalize(name)
		v0, v1 := colon+1, len(line)
		for v0 < v1 && (line[v0] == ' ' || line[v0] == '\t') {
			v0++
		}
		for v1 > v0 && (line[v1-1] == ' ' || line[v1-1] == '\t') {
			v1--
		}
		for _, c := range line[v0:v1] {
			if (c < ' ' && c != '\t') || c == 0x7f {
				return badRequest("control character in header %s", name)
			}
		}
		p.spans = append(p.spans, span{off, off + colon, off + v0, off + v1})
		off += len(rest) - len(next)
		rest = next
	}
	if len(rest) != 0 {
		return badRequest("bytes after the header section")
	}
	return nil
}

// header builds the fields that fields found, as substrings of s (the head as one string).
func (p *parser) header(s string) http.Header {
	h := make(http.Header, len(p.spans))
	vals := make([]string, len(p.spans))
	for i, sp := range p.spans {
		k, v := s[sp.k0:sp.k1], s[sp.v0:sp.v1]
		if prev, ok := h[k]; ok {
			h[k] = append(prev, v)
			continue
		}
		vals[i] = v
		h[k] = vals[i : i+1 : i+1]
	}
	return h
}

// frame settles the request target, host, body framing and connection handling from the
// parsed fields.
func (h *head) frame() *headError {
	var err error
	switch {
	case h.target[0] == '/':
		if strings.IndexByte(h.target, '%') < 0 {
			// The common case, without ParseRequestURI's work: nothing to unescape.
			path, query, _ := strings.Cut(h.target, "?")
			h.url = &url.URL{Path: path, RawQuery: query}
		} else if h.url, err = url.ParseRequestURI(h.target); err != nil {
			return badRequest("malformed request target")
		}
	case h.target == "*" && h.method == http.MethodOptions:
		h.url = &url.URL{Path: "*"}
	case hasHTTPScheme(h.target):
		if h.url, err = url.ParseRequestURI(h.target); err != nil || h.url.Host == "" {
			return badRequest("malformed request target")
		}
	default:
		return badRequest("malformed request target")
	}

	hosts := h.header["Host"]
	switch {
	case len(hosts) > 1:
		return badRequest("more than one Host header")
	case len(hosts) == 0 && h.minor == 1:
		return badRequest("missing Host header")
	case len(hosts) == 1:
		if !validHost(hosts[0]) {
			return badRequest("malformed Host header")
		}
		h.host = hosts[0]
	}
	if h.url.Host != "" {
		// RFC 9112 §3.2.2: the absolute form's authority wins over the Host header.
		h.host = h.url.Host
	}

	te, hasTE := h.header["Transfer-Encoding"]
	cl, hasCL := h.header["Content-Length"]
	switch {
	case hasTE && hasCL:
		return badRequest("both Transfer-Encoding and Content-Length")
	case hasTE:
		if h.minor == 0 {
			return badRequest("Transfer-Encoding in an HTTP/1.0 request")
		}
		if len(te) != 1 || !strings.EqualFold(te[0], "chunked") {
			return &headError{status: http.StatusNotImplemented, msg: "unsupported Transfer-Encoding (only chunked)"}
		}
		h.chunked, h.length = true, -1
	case hasCL:
		if len(cl) != 1 {
			return badRequest("more than one Content-Length")
		}
		n, ok := parseLength(cl[0])
		if !ok {
			return badRequest("malformed Content-Length")
		}
		h.length = n
	}

	conn := h.header["Connection"]
	if h.minor == 0 {
		h.close = !hasToken(conn, "keep-alive")
	} else {
		h.close = hasToken(conn, "close")
	}
	if ex, ok := h.header["Expect"]; ok {
		if len(ex) != 1 || !strings.EqualFold(ex[0], "100-continue") {
			return &headError{status: http.StatusExpectationFailed, msg: "unsupported Expect"}
		}
		h.expect = h.minor == 1
	}
	return nil
}

// cutLine splits b after its first line, which must end in LF (an optional CR before it is
// removed; a CR anywhere else is refused).
func cutLine(b []byte) (line, rest []byte, ok bool) {
	i := bytes.IndexByte(b, '\n')
	if i < 0 {
		return nil, nil, false
	}
	line, rest = b[:i], b[i+1:]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	if bytes.IndexByte(line, '\r') >= 0 {
		return nil, nil, false
	}
	return line, rest, true
}

// tchar is RFC 9110's token character set.
var tchar = func() (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-'a'+'A'] = true, true
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		t[c] = true
	}
	return t
}()

func isToken(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if !tchar[c] {
			return false
		}
	}
	return true
}

// canonicalize rewrites a field name in place the way textproto.CanonicalMIMEHeaderKey
// does: the first letter and every letter after a hyphen upper case, the rest lower case.
func canonicalize(b []byte) {
	upper := true
	for i, c := range b {
		switch {
		case upper && 'a' <= c && c <= 'z':
			b[i] = c - 'a' + 'A'
		case !upper && 'A' <= c && c <= 'Z':
			b[i] = c - 'A' + 'a'
		}
		upper = c == '-'
	}
}

// validHost accepts the characters of an RFC 3986 authority (host, IP literal, port).
func validHost(h string) bool {
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			strings.IndexByte("-._~:[]%!$&'()*+,;=@", c) >= 0) {
			return false
		}
	}
	return true
}

func hasHTTPScheme(t string) bool {
	return len(t) > 8 && (strings.EqualFold(t[:7], "http://") || strings.EqualFold(t[:8], "https://"))
}

// parseLength parses a Content-Length: decimal digits only, no sign, no list.
func parseLength(s string) (int64, bool) {
	if s == "" || len(s) > 18 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// hasToken reports whether a comma-separated header (such as Connection) lists tok.
func hasToken(vals []string, tok string) bool {
	for _, v := range vals {
		for part := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(part), tok) {
				return true
			}
		}
	}
	return false
}

func truncate(b []byte) string {
	if len(b) > 40 {
		return string(b[:40]) + "…"
	}
	return string(b)
}
