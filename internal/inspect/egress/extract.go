package egress

import (
	"net/netip"
	"slices"
	"strings"
)

// Destination is a place text names: the host of a URL, a host standing alone, or the
// domain of an e-mail address.
type Destination struct {
	// Host is normalised: lower case, percent-decoded, without trailing dots, port, userinfo
	// or IPv6 brackets; an IP address is in canonical form (http://0x7f.1/ gives 127.0.0.1).
	Host  string
	Email bool // Host is the domain of an e-mail address
	// Start and End are the byte offsets in the text of the URL, of host[:port] or of the
	// e-mail address.
	Start, End int
}

// Destinations extracts the destinations text names, without checking them, sorted by
// Start. It finds:
//
//   - URLs of any scheme that have a host ("gopher://127.0.0.1:6379/_", "http:\\evil.com"
//     for the special schemes). The host is read as a WHATWG parser reads it, and where
//     other parsers read the same URL differently (a backslash before an '@', percent-encoded
//     or JSON-escaped delimiters) each reading's host is a Destination of its own, with the
//     same offsets, so that a check sees every host a client might connect to. A URL's path
//     and query are scanned on, for URLs and hosts nested in them.
//   - IP literals standing alone: dotted IPv4, IPv6 with or without brackets. The numeric
//     IPv4 forms (2130706433, 0x7f.1) count only inside URLs.
//   - host names standing alone whose last label is a public TLD or an internal one
//     (.internal, .local, …), when they look like hosts: followed by a path ("evil.com/x")
//     or a port, starting with "www.", or ending in a TLD that is rarely a file extension
//     or field name (.com, .net, .io, .internal, …): "notes.md" and "logger.info" are not
//     hosts, "evil.md/x" is. localhost is a host wherever it stands.
//   - e-mail addresses, as the domain after the '@' with Email set; "user@10.0.0.1" is
//     taken as a host.
//
// The text is read as it is, with two exceptions. It may be raw JSON: the escapes \n, \t,
// \" and \/ are skipped, "http:\/\/" starts a URL and \u00XX in a URL's authority is
// decoded. And a word with percent escapes ("http%3A%2F%2F10.0.0.1%2F" in a query string)
// is scanned decoded too, up to three times, its destinations given the whole word's
// offsets. Other encodings (base64, HTML entities, \u escapes outside an authority) hide
// destinations from it.
func Destinations(text string) []Destination {
	sc := scanner{s: text}
	sc.scan()
	if !slices.IsSortedFunc(sc.out, byStart) {
		slices.SortStableFunc(sc.out, byStart)
	}
	return sc.out
}

func byStart(a, b Destination) int { return a.Start - b.Start }

type scanner struct {
	s       string
	out     []Destination
	decodes int // how many times s was percent-decoded from the text
}

func (sc *scanner) scan() {
	s := sc.s
	for i := 0; i < len(s); {
		switch c := s[i]; {
		case isWord(c):
			i = sc.word(i)
		case c == ':':
			if strings.HasPrefix(s[i:], "://") {
				i = sc.url(i, i+3)
			} else if j, ok := sc.ipv6(i); ok {
				i = j
			} else {
				i++
			}
		case c == '[':
			i = sc.bracketed(i)
		case c == '\\':
			i = skipEscape(s, i)
		default:
			i++
		}
	}
}

// word scans the run of word characters at i, and whatever it starts: a URL, an IPv6
// literal, an e-mail address or a host standing alone. It returns where scanning goes on.
func (sc *scanner) word(i int) int {
	s := sc.s
	j, dots, pct, plus := i, 0, 0, 0
	for ; j < len(s) && isWord(s[j]); j++ {
		switch s[j] {
		case '.':
			dots++
		case '%':
			pct++
		case '+':
			plus++
		}
	}
	if j < len(s) {
		switch s[j] {
		case ':':
			if k, ok := sc.schemeURL(i, j); ok {
				return k
			}
			if k, ok := sc.ipv6(i); ok {
				return k
			}
		case '@':
			if k, ok := sc.email(i, j); ok {
				return k
			}
		}
	}
	switch {
	case pct > 0:
		sc.encoded(i, j)
	case plus == 0 && (dots > 0 || j-i == len("localhost")):
		sc.bare(i, j)
	}
	return j
}

// maxDecodes bounds how many times a percent-encoded word is decoded: "%253A" is a colon
// encoded twice.
const maxDecodes = 3

// encoded scans the percent-encoded word s[i:j] decoded ("http%3A%2F%2F169.254.169.254%2F",
// a URL in a query string), and adds what it finds with the word's offsets.
func (sc *scanner) encoded(i, j int) {
	if sc.decodes >= maxDecodes {
		return
	}
	sub := scanner{s: percentDecode(sc.s[i:j]), decodes: sc.decodes + 1}
	if len(sub.s) == j-i {
		return // nothing was encoded
	}
	sub.scan()
	first := len(sc.out)
	for _, d := range sub.out {
		if !slices.ContainsFunc(sc.out[first:], func(o Destination) bool { return o.Host == d.Host && o.Email == d.Email }) {
			sc.out = append(sc.out, Destination{Host: d.Host, Email: d.Email, Start: i, End: j})
		}
	}
}

// schemeURL starts a URL if the word s[i:colon] ends in a scheme and "//" follows the
// colon, or a backslash-escaped "\/\/" (JSON), or, for the schemes WHATWG calls special,
// any run of slashes and backslashes.
func (sc *scanner) schemeURL(i, colon int) (int, bool) {
	s := sc.s
	st := colon
	for st > i && isSchemeChar(s[st-1]) {
		st--
	}
	for st < colon && !isLetter(s[st]) {
		st++
	}
	if st == colon {
		return 0, false
	}
	rest := s[colon+1:]
	switch {
	case strings.HasPrefix(rest, "//"):
		return sc.url(st, colon+3), true
	case strings.HasPrefix(rest, `\/\/`):
		return sc.url(st, colon+5), true
	}
	if !specialScheme(s[st:colon]) {
		return 0, false
	}
	k := colon + 1
	for k < len(s) && (s[k] == '/' || s[k] == '\\') {
		k++
	}
	if k == colon+1 {
		return 0, false
	}
	return sc.url(st, k), true
}

// url reads the URL that starts at start and whose authority starts at a, adds its
// hosts, and returns the end of the authority: the path and query are scanned on.
func (sc *scanner) url(start, a int) int {
	s := sc.s
	e := a
	for e < len(s) && !endsAuthority(s[e]) {
		e++
	}
	u := e
	for u < len(s) && !endsURL(s[u]) {
		u++
	}
	// The text's punctuation after a URL is not part of it; after a bare authority, it
	// may be: "http://evil.com," ends before the comma (the host is read without it).
	for u > e && strings.IndexByte(".,;:!?)]}'", s[u-1]) >= 0 {
		u--
	}
	for u == e && u > a && strings.IndexByte(".,;:!?'", s[u-1]) >= 0 {
		u--
	}
	sc.urlHosts(s[a:e], start, u)
	return e
}

// urlHosts adds the hosts of one authority. The first is how a WHATWG parser reads it, a
// backslash ending the authority; then, where they differ and would be looked up, the host
// an RFC 3986 parser reads (the backslash an ordinary character, so that
// "evil.com\@good.com" is good.com), and the ones read after percent- or JSON-decoding
// first ("good.com%40evil.com", "good.com\u0040evil.com").
func (sc *scanner) urlHosts(auth string, start, end int) {
	first := len(sc.out)
	add := func(raw string, decoded, always bool) {
		h := normaliseHost(raw, decoded)
		if h == "" || !always && !validHost(h) {
			return
		}
		for _, d := range sc.out[first:] {
			if d.Host == h {
				return
			}
		}
		sc.out = append(sc.out, Destination{Host: h, Start: start, End: end})
	}
	whatwg := auth
	bs := strings.IndexByte(auth, '\\')
	if bs >= 0 {
		whatwg = auth[:bs]
	}
	add(hostOf(whatwg), false, true)
	if bs >= 0 {
		add(hostOf(auth), false, false)
		if strings.Contains(auth, `\u`) {
			d := jsonUnescape(auth)
			add(hostOf(cutAuthority(d)), false, false)
		}
	}
	if strings.IndexByte(auth, '%') >= 0 {
		d := percentDecode(auth)
		add(hostOf(cutAuthority(d)), true, false)
	}
}

// cutAuthority cuts a decoded authority where a path, query or fragment would begin.
func cutAuthority(d string) string {
	if k := strings.IndexAny(d, "/?#\\ "); k >= 0 {
		return d[:k]
	}
	return d
}

// email reads the address whose local part ends at the '@' at at, or, if what follows the
// '@' is an IPv4 address, that host.
func (sc *scanner) email(i, at int) (int, bool) {
	s := sc.s
	k := at + 1
	if k < len(s) && s[k] == '[' { // domain literal: user@[10.0.0.1], user@[IPv6:::1]
		e := strings.IndexByte(s[k:min(len(s), k+64)], ']')
		if e < 0 {
			return 0, false
		}
		inner := s[k+1 : k+e]
		if len(inner) > 5 && strings.EqualFold(inner[:5], "ipv6:") {
			inner = inner[5:]
		}
		a, err := netip.ParseAddr(inner)
		if err != nil {
			return 0, false
		}
		sc.out = append(sc.out, Destination{Host: a.String(), Email: true, Start: i, End: k + e + 1})
		return k + e + 1, true
	}
	d := k
	for d < len(s) && isWord(s[d]) && s[d] != '%' && s[d] != '+' {
		d++
	}
	dom := strings.TrimRight(s[k:d], ".-")
	if a, ok := dottedIPv4(dom); ok {
		end := sc.portEnd(k + len(dom))
		sc.out = append(sc.out, Destination{Host: a.String(), Start: k, End: end})
		return end, true
	}
	if !emailDomain(dom) {
		return 0, false
	}
	sc.out = append(sc.out, Destination{Host: strings.ToLower(dom), Email: true, Start: i, End: k + len(dom)})
	return k + len(dom), true
}

// bare adds the word s[i:j], which has no '%' or '+', if it is a host standing alone.
func (sc *scanner) bare(i, j int) {
	s := sc.s
	for i < j && (s[i] == '.' || s[i] == '-') {
		i++
	}
	for j > i && (s[j-1] == '.' || s[j-1] == '-') {
		j--
	}
	w := s[i:j]
	if w == "" {
		return
	}
	if a, ok := dottedIPv4(w); ok {
		sc.out = append(sc.out, Destination{Host: a.String(), Start: i, End: sc.portEnd(j)})
		return
	}
	if !sc.looksLikeHost(w, i, j) {
		return
	}
	sc.out = append(sc.out, Destination{Host: strings.ToLower(w), Start: i, End: sc.portEnd(j)})
}

// looksLikeHost decides whether the word w at s[i:j] is a host name.
func (sc *scanner) looksLikeHost(w string, i, j int) bool {
	dot := strings.LastIndexByte(w, '.')
	if dot < 0 {
		return strings.EqualFold(w, "localhost")
	}
	var buf [24]byte
	tld, ok := lowerInto(buf[:0], w[dot+1:])
	if !ok {
		return false
	}
	switch {
	case len(tld) >= 4 && string(tld[:4]) == "xn--":
	case knownTLD(string(tld)), internalTLD(string(tld)):
	default:
		return false
	}
	if !labelsOK(w) {
		return false
	}
	if commonTLD(string(tld)) || string(tld) == "localhost" {
		return true
	}
	s := sc.s
	if j < len(s) && s[j] == '/' || sc.portEnd(j) > j || i >= 2 && s[i-2:i] == "//" {
		return true
	}
	if len(w) > 4 && strings.EqualFold(w[:4], "www.") {
		return true
	}
	switch strings.ToLower(w) {
	case "metadata.google.internal", "instance-data.ec2.internal", "localhost.localdomain":
		return true
	}
	return false
}

// ipv6 reads an IPv6 literal standing alone at i ("::1", "fe80::1%eth0").
func (sc *scanner) ipv6(i int) (int, bool) {
	s := sc.s
	if i > 0 && (isWord(s[i-1]) || s[i-1] == ':') {
		return 0, false
	}
	j, colons := i, 0
	for j < len(s) && (isHex(s[j]) || s[j] == ':' || s[j] == '.') {
		if s[j] == ':' {
			colons++
		}
		j++
	}
	if colons < 2 {
		return 0, false
	}
	lit := s[i:j]
	if j < len(s) && s[j] == '%' { // zone
		z := j + 1
		for z < len(s) && (isLetter(s[z]) || isDigit(s[z]) || s[z] == '_' || s[z] == '-' || s[z] == '.') {
			z++
		}
		if z > j+1 {
			lit, j = s[i:z], z
		}
	}
	if j < len(s) && (isWord(s[j]) || s[j] == ':') {
		return 0, false
	}
	a, err := netip.ParseAddr(lit)
	if err != nil {
		return 0, false
	}
	sc.out = append(sc.out, Destination{Host: a.String(), Start: i, End: j})
	return j, true
}

// bracketed reads "[IPv6]" or "[IPv6]:port" at i.
func (sc *scanner) bracketed(i int) int {
	s := sc.s
	e := strings.IndexByte(s[i+1:min(len(s), i+66)], ']')
	if e < 0 || strings.IndexByte(s[i+1:i+1+e], ':') < 0 {
		return i + 1
	}
	a, err := netip.ParseAddr(percentDecode(s[i+1 : i+1+e]))
	if err != nil || !a.Is6() {
		return i + 1
	}
	end := sc.portEnd(i + e + 2)
	sc.out = append(sc.out, Destination{Host: a.String(), Start: i, End: end})
	return end
}

// portEnd returns the end of ":port" at j, or j if there is none.
func (sc *scanner) portEnd(j int) int {
	s := sc.s
	if j >= len(s) || s[j] != ':' {
		return j
	}
	k := j + 1
	for k < len(s) && k <= j+5 && isDigit(s[k]) {
		k++
	}
	if k == j+1 || k < len(s) && (isLetter(s[k]) || isDigit(s[k]) || s[k] == '_') {
		return j
	}
	return k
}

// skipEscape steps over a JSON escape at the backslash at i, so that "\nevil.com" is read
// as evil.com.
func skipEscape(s string, i int) int {
	if i+1 < len(s) {
		switch s[i+1] {
		case 'n', 'r', 't', 'b', 'f', '"', '\\', '/':
			return i + 2
		case 'u':
			if i+5 < len(s) && isHex(s[i+2]) && isHex(s[i+3]) && isHex(s[i+4]) && isHex(s[i+5]) {
				return i + 6
			}
		}
	}
	return i + 1
}

// dottedIPv4 parses four numeric parts ("10.0.0.1", "0177.0.0.1"): a bare IPv4 address.
// Fewer parts are numbers in text, not addresses.
func dottedIPv4(w string) (netip.Addr, bool) {
	if strings.Count(w, ".") != 3 || !isDigit(w[0]) {
		return netip.Addr{}, false
	}
	return parseIPv4(w)
}

// emailDomain reports whether d can be the domain of an e-mail address: at least two
// labels of letters, digits, '-' and '_', the last of letters only or an xn-- label.
func emailDomain(d string) bool {
	dot := strings.LastIndexByte(d, '.')
	if dot <= 0 || !labelsOK(d) {
		return false
	}
	tld := d[dot+1:]
	if len(tld) > 4 && strings.EqualFold(tld[:4], "xn--") {
		return true
	}
	for i := 0; i < len(tld); i++ {
		if !isLetter(tld[i]) {
			return false
		}
	}
	return len(tld) >= 2
}

// labelsOK reports whether the dotted name w has no empty label, no label longer than 63
// bytes, and at most 253 bytes in all.
func labelsOK(w string) bool {
	if len(w) > 253 {
		return false
	}
	n := 0
	for i := 0; i < len(w); i++ {
		if w[i] != '.' {
			n++
			continue
		}
		if n == 0 || n > 63 {
			return false
		}
		n = 0
	}
	return n > 0 && n <= 63
}

// commonTLD reports TLDs that make a bare word a host by themselves: common ones that are
// rarely a file extension or a field name.
func commonTLD(tld string) bool {
	switch tld {
	case "com", "net", "org", "edu", "gov", "mil", "int", "io", "co", "ai", "dev", "xyz",
		"us", "uk", "eu", "de", "fr", "nl", "ru", "cn", "jp", "kr", "au", "ca", "ch", "br",
		"es", "se", "be", "at", "dk", "fi", "ie", "nz", "za", "sg", "hk", "tw", "ly", "gl",
		"online", "site", "cloud", "tech", "internal", "onion":
		return true
	}
	return false
}

// specialScheme reports the schemes for which WHATWG parsers accept any slashes and
// backslashes before the host ("http:\\evil.com", "https:/evil.com").
func specialScheme(s string) bool {
	return strings.EqualFold(s, "http") || strings.EqualFold(s, "https") || strings.EqualFold(s, "ws") ||
		strings.EqualFold(s, "wss") || strings.EqualFold(s, "ftp")
}

// lowerInto appends the ASCII letters of s in lower case to buf; false if s has anything
// else or is too long to be a TLD.
func lowerInto(buf []byte, s string) ([]byte, bool) {
	if len(s) < 2 || len(s) > cap(buf) {
		return nil, false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z':
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		case c == '-' || isDigit(c): // xn--…
		default:
			return nil, false
		}
		buf = append(buf, c)
	}
	return buf, true
}

// endsAuthority reports the bytes that end a URL's authority: the delimiters of a path,
// query or fragment, and what cannot be inside a URL in text (space, controls, quotes,
// angle brackets). A backslash does not: urlHosts reads the authority both ways.
func endsAuthority(c byte) bool {
	return c <= ' ' || c == 0x7f || strings.IndexByte("/?#\"<>`{}|^", c) >= 0
}

// endsURL reports the bytes that end a URL in text.
func endsURL(c byte) bool {
	return c <= ' ' || c == 0x7f || c == '"' || c == '<' || c == '>' || c == '`'
}

// isWord reports the bytes of a host name or an e-mail local part: letters, digits and
// "._-%+". (The bit sets are wordLo for bytes 0-63 and wordHi for 64-127.)
func isWord(c byte) bool {
	const (
		wordLo = 1<<'%' | 1<<'+' | 1<<'-' | 1<<'.' | (1<<10-1)<<'0'
		wordHi = (1<<26-1)<<('A'-64) | 1<<('_'-64) | (1<<26-1)<<('a'-64)
	)
	switch {
	case c < 64:
		return wordLo>>c&1 != 0
	case c < 128:
		return wordHi>>(c-64)&1 != 0
	}
	return false
}

func isSchemeChar(c byte) bool {
	return isLetter(c) || isDigit(c) || c == '+' || c == '-' || c == '.'
}

func isLetter(c byte) bool { return 'a' <= c|0x20 && c|0x20 <= 'z' }

func isDigit(c byte) bool { return '0' <= c && c <= '9' }
