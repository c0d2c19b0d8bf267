package egress

import (
	"net/netip"
	"strings"
	"unicode/utf8"
)

// hostOf returns the raw host of a URL authority: what follows the last '@' (userinfo is
// dropped), without the port, brackets kept around an IPv6 literal.
func hostOf(auth string) string {
	if k := strings.LastIndexByte(auth, '@'); k >= 0 {
		auth = auth[k+1:]
	}
	if strings.HasPrefix(auth, "[") {
		if k := strings.IndexByte(auth, ']'); k > 0 {
			return auth[:k+1]
		}
		return auth
	}
	if k := strings.IndexByte(auth, ':'); k >= 0 {
		auth = auth[:k]
	}
	// Sub-delimiters are not host characters; at the end of a host they are the text's
	// punctuation ("see http://evil.com, then…").
	return strings.TrimRight(auth, "!$&'()*+,;=")
}

// normaliseHost turns a raw host into the form allowlists are matched against: IPv6
// brackets removed, percent-decoded (unless decoded is set: it was already), fullwidth and
// circled look-alikes folded to ASCII, lower case, trailing dots removed, and an IP address
// in canonical form, including IPv4 written as in 2130706433, 0x7f.1 or 0177.0.0.1. It
// returns "" for an empty host.
//
// IDNA is out of scope: a host with other non-ASCII characters is kept as it is, and so
// matches no allowlist pattern.
func normaliseHost(raw string, decoded bool) string {
	if !decoded {
		raw = percentDecode(raw)
	}
	if strings.HasPrefix(raw, "[") {
		inner := strings.TrimSuffix(raw[1:], "]")
		if a, err := netip.ParseAddr(inner); err == nil {
			return a.String()
		}
		return strings.ToLower(inner) // IPvFuture or junk: matches nothing
	}
	h := foldLookalikes(raw)
	h = strings.ToLower(h)
	h = strings.TrimRight(h, ".")
	if a, ok := parseIPv4(h); ok {
		return a.String()
	}
	if strings.IndexByte(h, ':') >= 0 {
		if a, err := netip.ParseAddr(h); err == nil { // an IPv6 literal that was percent-encoded
			return a.String()
		}
	}
	return h
}

// validHost reports whether a normalised host is an IP address or a name a resolver
// would look up: labels of letters, digits, '-' and '_', none empty.
func validHost(h string) bool {
	if h == "" {
		return false
	}
	if _, ok := hostIP(h); ok {
		return true
	}
	label := 0
	for i := 0; i < len(h); i++ {
		switch c := h[i]; {
		case c == '.':
			if label == 0 {
				return false
			}
			label = 0
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-', c == '_':
			label++
		default:
			return false
		}
	}
	return label > 0 && len(h) <= 253
}

// hostIP parses a normalised host that is an IP address in canonical form. It spares names
// the cost of a failed netip.ParseAddr.
func hostIP(h string) (netip.Addr, bool) {
	if strings.IndexByte(h, ':') < 0 {
		for i := 0; i < len(h); i++ {
			if h[i] != '.' && !isDigit(h[i]) {
				return netip.Addr{}, false
			}
		}
	}
	a, err := netip.ParseAddr(h)
	return a, err == nil
}

// percentDecode decodes %XX escapes once; a malformed escape is kept as it is.
func percentDecode(s string) string {
	i := strings.IndexByte(s, '%')
	if i < 0 {
		return s
	}
	b := make([]byte, 0, len(s))
	b = append(b, s[:i]...)
	for ; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			b = append(b, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
			continue
		}
		b = append(b, s[i])
	}
	return string(b)
}

// jsonUnescape decodes the escapes of a JSON string (\uXXXX for ASCII, \/, \\ and the
// rest) once; others are kept as they are.
func jsonUnescape(s string) string {
	i := strings.IndexByte(s, '\\')
	if i < 0 {
		return s
	}
	b := make([]byte, 0, len(s))
	b = append(b, s[:i]...)
	for ; i < len(s); i++ {
		if s[i] != '\\' || i+1 == len(s) {
			b = append(b, s[i])
			continue
		}
		switch c := s[i+1]; c {
		case '"', '\\', '/':
			b = append(b, c)
			i++
		case 'b', 'f', 'n', 'r', 't':
			b = append(b, ' ') // whitespace of some kind: it ends a host either way
			i++
		case 'u':
			if i+5 < len(s) && s[i+2] == '0' && s[i+3] == '0' && isHex(s[i+4]) && isHex(s[i+5]) {
				b = append(b, unhex(s[i+4])<<4|unhex(s[i+5]))
				i += 5
				continue
			}
			b = append(b, s[i])
		default:
			b = append(b, s[i])
		}
	}
	return string(b)
}

// foldLookalikes maps the characters that IDNA's UTS #46 mapping turns into ASCII host
// characters and that SSRF payloads use: ideographic and fullwidth full stops, fullwidth
// ASCII, circled letters and digits. It is not IDNA; everything else is left alone.
func foldLookalikes(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		switch {
		case r == '\u3002' || r == '\uff0e' || r == '\uff61':
			r = '.'
		case '\uff01' <= r && r <= '\uff5e':
			r -= 0xfee0
		case '\u24b6' <= r && r <= '\u24cf':
			r = 'a' + r - '\u24b6'
		case '\u24d0' <= r && r <= '\u24e9':
			r = 'a' + r - '\u24d0'
		case '\u2460' <= r && r <= '\u2468':
			r = '1' + r - '\u2460'
		case r == '\u24ea':
			r = '0'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// parseIPv4 parses a host that ends in a number the way WHATWG URL parsing and inet_aton
// do: one to four parts, each decimal, octal with a leading 0 or hex with 0x, the last part
// filling the bytes that remain ("127.1" is 127.0.0.1, "2130706433" is 127.0.0.1).
func parseIPv4(h string) (netip.Addr, bool) {
	if h == "" || !numericPart(h[strings.LastIndexByte(h, '.')+1:]) {
		return netip.Addr{}, false
	}
	var parts [4]uint64
	n := 0
	for {
		dot := strings.IndexByte(h, '.')
		part := h
		if dot >= 0 {
			part = h[:dot]
		}
		if n == 4 {
			return netip.Addr{}, false
		}
		v, ok := parseIPv4Part(part)
		if !ok {
			return netip.Addr{}, false
		}
		parts[n] = v
		n++
		if dot < 0 {
			break
		}
		h = h[dot+1:]
	}
	var ip uint64
	for i := 0; i < n-1; i++ {
		if parts[i] > 255 {
			return netip.Addr{}, false
		}
		ip |= parts[i] << (8 * (3 - i))
	}
	if parts[n-1] >= 1<<(8*(5-n)) {
		return netip.Addr{}, false
	}
	ip |= parts[n-1]
	return netip.AddrFrom4([4]byte{byte(ip >> 24), byte(ip >> 16), byte(ip >> 8), byte(ip)}), true
}

// numericPart reports whether s is all digits, or 0x followed by hex digits.
func numericPart(s string) bool {
	if len(s) >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
		s = s[2:]
		for i := 0; i < len(s); i++ {
			if !isHex(s[i]) {
				return false
			}
		}
		return true
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// parseIPv4Part parses one part of parseIPv4's forms; values past 32 bits fail.
func parseIPv4Part(s string) (uint64, bool) {
	base := uint64(10)
	switch {
	case len(s) >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'):
		base, s = 16, s[2:]
	case len(s) >= 2 && s[0] == '0':
		base, s = 8, s[1:]
	case s == "":
		return 0, false
	}
	var v uint64
	for i := 0; i < len(s); i++ {
		var d uint64
		switch c := s[i]; {
		case '0' <= c && c <= '9':
			d = uint64(c - '0')
		case 'a' <= c && c <= 'f', 'A' <= c && c <= 'F':
			d = uint64(unhex(c))
		default:
			return 0, false
		}
		if d >= base {
			return 0, false
		}
		v = v*base + d
		if v > 0xffffffff {
			return 0, false
		}
	}
	return v, true
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}
