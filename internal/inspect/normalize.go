package inspect

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"strings"
	"unicode"
	"unicode/utf8"
	"unsafe"

	"golang.org/x/text/unicode/norm"

	"gatehouse/internal/inspect/confusables"
	"gatehouse/internal/swar"
)

// Normalized is a text as the detectors see it: escapes decoded, NFKC applied, invisible
// characters removed. Every byte of Text maps back to the byte of the original it came from,
// so that findings point into what the client would have seen.
type Normalized struct {
	Text string
	// Lower is Text lowercased byte for byte (same length and offsets).
	Lower string
	off   []int32 // off[i]: original offset of Text[i]; off[len(Text)] = len(original)
	// Hidden are the invisible characters and escape sequences that were removed, each run
	// once, as findings on the original text.
	Hidden []Finding
	// Decoded are encoded runs (base64, Unicode tag characters) decoded, and obfuscated ones
	// (letter-spaced, leetspeak) rewritten, for a second look.
	Decoded []Decoded
}

// Decoded is the decoded content of an encoded run of the original text.
type Decoded struct {
	Encoding string // "base64", "hex", "unicode-tags", "spaced", "leet"
	Text     string
	// Respelled says Text is the visible text spelled plainly (letter-spaced, leetspeak),
	// for the injection detector alone: its letters and digits are not data of their own.
	Respelled  bool
	Start, End int // the run in the original text
}

// Orig maps a span of Text back to the original.
func (n *Normalized) Orig(start, end int) (int, int) {
	if start < 0 {
		start = 0
	}
	if end > len(n.Text) {
		end = len(n.Text)
	}
	if n.off == nil {
		return start, end
	}
	s := int(n.off[start])
	e := int(n.off[end])
	if end > start && end > 0 {
		// The end is just past the last byte's source character, not the next one's start:
		// a removed character after the span must not be counted in.
		last := int(n.off[end-1])
		if e < last+1 {
			e = last + 1
		}
	}
	return s, e
}

// Limits of decoding: encoded runs are decoded once (no recursion beyond one level of
// base64 inside the text) and only up to a budget, so that a hostile text cannot make
// inspection expensive.
const (
	minBase64Run   = 24
	maxDecodedSize = 64 << 10
)

// normalizer carries the output while a text is normalised.
type normalizer struct {
	src    string
	buf    []byte
	off    []int32
	hidden []Finding
	run    *Finding // the hidden run being extended
	tags   []byte   // ASCII smuggled in Unicode tag characters
	tagAt  int
}

// Normalize prepares text for the detectors.
func Normalize(text string) *Normalized { return normalize(text, nil) }

// buffers are the reusable memory of one normalisation: the normalised text, its offsets and
// its lower-cased copy. A 64 KiB tool result would otherwise allocate them on every call.
type buffers struct {
	text  []byte
	off   []int32
	lower []byte
}

// normalize is Normalize writing into bufs (when not nil) rather than new memory: the result
// is valid until bufs is used again.
func normalize(text string, bufs *buffers) *Normalized {
	if allPlain(text) {
		// Nothing to decode, fold or remove: the text stands for itself (off stays nil, the
		// identity mapping), which is the common case and costs one pass.
		n := &Normalized{Text: text, Lower: lowerSameLength(text, bufs)}
		n.Decoded = append(decodeRuns(text, n), obfuscated(n.Lower, n)...)
		return n
	}
	nz := normalizer{src: text}
	if bufs != nil {
		nz.buf, nz.off = bufs.text[:0], bufs.off[:0]
	} else {
		nz.buf, nz.off = make([]byte, 0, len(text)), make([]int32, 0, len(text)+1)
	}
	nz.walk()
	nz.off = append(nz.off, int32(len(text)))
	if bufs != nil {
		bufs.text, bufs.off = nz.buf, nz.off
	}
	// nz.buf is not written again (until bufs is reused): the text can be its bytes.
	n := &Normalized{Text: unsafe.String(unsafe.SliceData(nz.buf), len(nz.buf)), off: nz.off, Hidden: nz.hidden}
	n.Lower = lowerSameLength(n.Text, bufs)
	n.Decoded = append(decodeRuns(text, n), obfuscated(n.Lower, n)...)
	if len(nz.tags) > 0 {
		n.Decoded = append(n.Decoded, Decoded{Encoding: "unicode-tags", Text: string(nz.tags), Start: nz.tagAt, End: nz.tagAt + 1})
	}
	return n
}

func (nz *normalizer) emit(b []byte, at int) {
	for range b {
		nz.off = append(nz.off, int32(at))
	}
	nz.buf = append(nz.buf, b...)
	nz.run = nil
}

func (nz *normalizer) emitByte(c byte, at int) {
	nz.off = append(nz.off, int32(at))
	nz.buf = append(nz.buf, c)
	nz.run = nil
}

// hide records a removed character (or sequence) at [start, end) of the original.
func (nz *normalizer) hide(rule string, start, end int) {
	if r := nz.run; r != nil && r.Rule == rule && r.End == start {
		r.End = end
		return
	}
	nz.hidden = append(nz.hidden, Finding{Type: TypeHidden, Rule: rule, Start: start, End: end})
	nz.run = &nz.hidden[len(nz.hidden)-1]
}

// plain says whether c is a byte the normaliser passes through unchanged.
func plain(c byte) bool {
	return c >= 0x20 && c < 0x7f && c != '\\' && c != '&' && c != '%' || c == '\n' || c == '\r' || c == '\t'
}

// allPlain reports whether every byte of s is plain, eight bytes at a time where none of them
// is a control character, DEL, a non-ASCII byte, '\\', '&' or '%' (a word that may hold one
// is checked byte by byte: tabs and line ends are plain). It runs on every inspected text.
func allPlain(s string) bool {
	i := 0
	for ; i+8 <= len(s); i += 8 {
		x := swar.Load(s, i)
		// 0x7f and above (x+1 sets the high bit of 0x7f, x that of the rest), below 0x20,
		// '\\', '%' or '&'.
		maybe := (x|(x+swar.Ones))&swar.High | swar.Less(x, 0x20) | swar.Eq(x, '\\') | swar.InRange(x, '%', '&')
		if maybe == 0 {
			continue
		}
		for k := i; k < i+8; k++ {
			if !plain(s[k]) {
				return false
			}
		}
	}
	for ; i < len(s); i++ {
		if !plain(s[i]) {
			return false
		}
	}
	return true
}

func (nz *normalizer) walk() {
	s := nz.src
	for i := 0; i < len(s); {
		c := s[i]
		if plain(c) {
			j := i + 1
			for j < len(s) && plain(s[j]) {
				j++
			}
			for k := i; k < j; k++ {
				nz.off = append(nz.off, int32(k))
			}
			nz.buf = append(nz.buf, s[i:j]...)
			nz.run = nil
			i = j
			continue
		}
		if c < utf8.RuneSelf {
			switch {
			case c == 0x1b:
				i = nz.terminalEscape(i)
				continue
			case c == '\\' && i+1 < len(s):
				if r, n := jsonEscape(s[i:]); n > 0 {
					nz.rune(r, i, i+n)
					i += n
					continue
				}
			case c == '&':
				if r, n := htmlEntity(s[i:]); n > 0 {
					nz.rune(r, i, i+n)
					i += n
					continue
				}
			case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
				if b := unhex(s[i+1])<<4 | unhex(s[i+2]); b >= 0x20 && b < 0x7f {
					nz.emitByte(b, i)
					i += 3
					continue
				}
			case c < 0x20 && c != '\n' && c != '\r' && c != '\t':
				nz.hide("control-character", i, i+1)
				i++
				continue
			}
			nz.emitByte(c, i)
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		nz.rune(r, i, i+n)
		i += n
	}
}

// rune emits one decoded character that came from src[start:end].
func (nz *normalizer) rune(r rune, start, end int) {
	if rule := invisible(r); rule != "" {
		if rule == "zero-width-joiner" {
			// A joiner inside an emoji sequence is ordinary text; elsewhere it hides.
			if prev, _ := utf8.DecodeLastRune(nz.buf); unicode.Is(unicode.So, prev) || prev == 0xFE0F {
				return
			}
			rule = "zero-width"
		}
		if rule == "unicode-tag" && r >= 0xE0020 && r <= 0xE007E {
			if len(nz.tags) == 0 {
				nz.tagAt = start
			}
			if len(nz.tags) < maxDecodedSize {
				nz.tags = append(nz.tags, byte(r-0xE0000))
			}
		}
		if rule == "byte-order-mark" {
			if start == 0 {
				return
			}
			rule = "zero-width"
		}
		nz.hide(rule, start, end)
		return
	}
	if r < utf8.RuneSelf {
		nz.emitByte(byte(r), start)
		return
	}
	if l, ok := confusables.Latin(r); ok {
		nz.emitByte(l, start)
		return
	}
	var tmp [utf8.UTFMax]byte
	b := tmp[:utf8.EncodeRune(tmp[:], r)]
	if !norm.NFKC.IsNormal(b) {
		b = norm.NFKC.Bytes(b)
	}
	nz.emit(b, start)
}

// invisible names the class of a character that renders as nothing (or reorders what
// surrounds it), "" for visible ones.
func invisible(r rune) string {
	switch {
	case r == 0x200B || r == 0x200C || r == 0x2060 || r == 0x180E || r == 0x00AD || r == 0x2061 || r == 0x2062 || r == 0x2063 || r == 0x2064 || r == 0x034F:
		return "zero-width"
	case r == 0x200D:
		return "zero-width-joiner"
	case r == 0xFEFF:
		return "byte-order-mark"
	case r == 0x200E || r == 0x200F || r == 0x061C || (r >= 0x202A && r <= 0x202E) || (r >= 0x2066 && r <= 0x2069):
		return "bidi-control"
	case r >= 0xE0000 && r <= 0xE007F:
		return "unicode-tag"
	case r >= 0xE0100 && r <= 0xE01EF:
		// Supplementary variation selectors carry no glyph; they are used to smuggle bytes.
		return "variation-selector"
	case r >= 0xE000 && r <= 0xF8FF, r >= 0xF0000:
		return "private-use"
	}
	return ""
}

// terminalEscape skips an ANSI escape sequence at s[i] (ESC) and reports it.
func (nz *normalizer) terminalEscape(i int) int {
	s := nz.src
	j := i + 1
	if j < len(s) {
		switch s[j] {
		case '[': // CSI: parameters, then a final byte in 0x40–0x7E
			j++
			for j < len(s) && (s[j] < 0x40 || s[j] > 0x7e) && j-i < 64 {
				j++
			}
			if j < len(s) {
				j++
			}
		case ']', 'P', '_', '^': // OSC, DCS, APC, PM: up to BEL or ESC \
			j++
			for j < len(s) && j-i < 4096 {
				if s[j] == 0x07 {
					j++
					break
				}
				if s[j] == 0x1b && j+1 < len(s) && s[j+1] == '\\' {
					j += 2
					break
				}
				j++
			}
		default:
			j++
		}
	}
	nz.hide("terminal-escape", i, j)
	return j
}

// jsonEscape decodes a JSON-style backslash escape at the start of s (text that was encoded
// twice, e.g. a JSON document inside a string, keeps its escapes).
func jsonEscape(s string) (rune, int) {
	switch s[1] {
	case 'n':
		return '\n', 2
	case 't':
		return '\t', 2
	case 'r':
		return '\r', 2
	case '"', '\\', '/':
		return rune(s[1]), 2
	case 'u':
		if len(s) >= 6 && isHex(s[2]) && isHex(s[3]) && isHex(s[4]) && isHex(s[5]) {
			r := rune(unhex(s[2]))<<12 | rune(unhex(s[3]))<<8 | rune(unhex(s[4]))<<4 | rune(unhex(s[5]))
			if r >= 0xD800 && r < 0xDC00 && len(s) >= 12 && s[6] == '\\' && s[7] == 'u' {
				if lo, n := jsonEscape(s[6:]); n == 6 && lo >= 0xDC00 && lo < 0xE000 {
					return (r-0xD800)<<10 | (lo - 0xDC00) + 0x10000, 12
				}
			}
			if r >= 0xD800 && r < 0xE000 {
				return 0, 0
			}
			return r, 6
		}
	case 'x':
		if len(s) >= 4 && isHex(s[2]) && isHex(s[3]) {
			return rune(unhex(s[2])<<4 | unhex(s[3])), 4
		}
	}
	return 0, 0
}

// htmlEntity decodes a character reference (&lt; &#105; &#x69;) at the start of s.
func htmlEntity(s string) (rune, int) {
	end := strings.IndexByte(s[:min(len(s), 12)], ';')
	if end < 3 {
		return 0, 0
	}
	body := s[1:end]
	if body[0] == '#' {
		var r rune
		if body[1] == 'x' || body[1] == 'X' {
			for _, c := range []byte(body[2:]) {
				if !isHex(c) {
					return 0, 0
				}
				r = r<<4 | rune(unhex(c))
			}
		} else {
			for _, c := range []byte(body[1:]) {
				if c < '0' || c > '9' {
					return 0, 0
				}
				r = r*10 + rune(c-'0')
			}
		}
		if r <= 0 || r > unicode.MaxRune {
			return 0, 0
		}
		return r, end + 1
	}
	switch body {
	case "lt":
		return '<', end + 1
	case "gt":
		return '>', end + 1
	case "amp":
		return '&', end + 1
	case "quot":
		return '"', end + 1
	case "apos":
		return '\'', end + 1
	case "nbsp":
		return ' ', end + 1
	case "sol":
		return '/', end + 1
	case "colon":
		return ':', end + 1
	}
	return 0, 0
}

// decodeRuns finds base64 and hex runs in the original text and decodes those that hold
// text.
func decodeRuns(text string, n *Normalized) []Decoded {
	var out []Decoded
	budget := maxDecodedSize
	for i := 0; i < len(text) && budget > 0; {
		if !isB64(text[i]) {
			i++
			continue
		}
		j := b64End(text, i+1)
		if j-i >= minBase64Run {
			enc := "base64"
			d, ok := decodeHex(text[i:j])
			if ok {
				enc = "hex"
			} else {
				d, ok = decodeBase64(text[i:j])
			}
			if ok {
				if len(d) > budget {
					d = d[:budget]
				}
				budget -= len(d)
				out = append(out, Decoded{Encoding: enc, Text: d, Start: i, End: j})
			}
		}
		i = j
	}
	return out
}

// decodeHex decodes a run of hex digit pairs that holds text ("49676e6f7265..."): a hash or
// a key decodes to bytes that are not.
func decodeHex(run string) (string, bool) {
	if len(run)%2 != 0 {
		return "", false
	}
	if len(run) > 256 {
		// Look at the head first, as decodeBase64 does.
		if _, ok := decodeHex(run[:256]); !ok {
			return "", false
		}
	}
	b, err := hex.DecodeString(run)
	if err != nil || !utf8.Valid(b) || !wordText(b) {
		return "", false
	}
	return string(b), true
}

func decodeBase64(run string) (string, bool) {
	run = strings.TrimRight(run, "=")
	if len(run) > 256 {
		// Look at the head first: most long runs are binary data, not hidden text.
		if _, ok := decodeBase64(run[:256]); !ok {
			return "", false
		}
	}
	enc := base64.RawStdEncoding
	if strings.ContainsAny(run, "-_") {
		enc = base64.RawURLEncoding
	}
	if strings.ContainsAny(run, "+/") && enc == base64.RawURLEncoding {
		return "", false
	}
	if len(run)%4 == 1 {
		run = run[:len(run)-1]
	}
	b, err := enc.DecodeString(run)
	if err != nil || !utf8.Valid(b) {
		return "", false
	}
	if !wordText(b) {
		return "", false
	}
	return string(b), true
}

// wordText says whether decoded bytes are text worth a second look: mostly printable, with
// some spaces (a run of words).
func wordText(b []byte) bool {
	printable, spaces := 0, 0
	for _, c := range b {
		if c >= 0x20 && c < 0x7f || c == '\n' || c == '\t' || c >= 0x80 {
			printable++
		}
		if c == ' ' {
			spaces++
		}
	}
	return printable*100 >= len(b)*95 && spaces > 0
}

func isB64(c byte) bool { return b64Bits[c] != 0 }

// b64End returns the end of the run of base64 bytes at text[i:]. It tests eight bytes a
// step, with one branch for them: such runs are often kilobytes long (images, keys,
// encoded payloads).
func b64End(text string, i int) int {
	for ; i+8 <= len(text); i += 8 {
		w := text[i : i+8]
		if b64Bits[w[0]]&b64Bits[w[1]]&b64Bits[w[2]]&b64Bits[w[3]]&b64Bits[w[4]]&b64Bits[w[5]]&b64Bits[w[6]]&b64Bits[w[7]] == 0 {
			break
		}
	}
	for i < len(text) && isB64(text[i]) {
		i++
	}
	return i
}

// b64Bits marks (1) the bytes of the base64 alphabets (standard and URL-safe, with padding): a
// table, as the run scan tests every byte of a text.
var b64Bits = func() (t [256]uint8) {
	for c := range 256 {
		if b := byte(c); b >= 'A' && b <= 'Z' || b >= 'a' && b <= 'z' || b >= '0' && b <= '9' || b == '+' || b == '/' || b == '=' || b == '-' || b == '_' {
			t[c] = 1
		}
	}
	return t
}()

func isHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

// lowerSameLength lowercases s without changing any byte offset: ASCII always, other
// letters only where the lowercase form has the same encoded length. The copy, if one is
// needed, goes to bufs.lower when bufs is not nil.
func lowerSameLength(s string, bufs *buffers) string {
	if out, ok := lowerASCII(s, bufs); ok {
		return out
	}
	b := append(scratch(bufs, len(s))[:0], s...)
	for i := 0; i < len(b); {
		c := b[i]
		if c < utf8.RuneSelf {
			if c >= 'A' && c <= 'Z' {
				b[i] = c + 32
			}
			i++
			continue
		}
		r, n := utf8.DecodeRune(b[i:])
		if l := unicode.ToLower(r); l != r && utf8.RuneLen(l) == n {
			utf8.EncodeRune(b[i:], l)
		}
		i += n
	}
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// scratch returns n bytes for a lower-cased copy: bufs.lower grown to n, or new memory.
func scratch(bufs *buffers, n int) []byte {
	if bufs == nil {
		return make([]byte, n)
	}
	if cap(bufs.lower) < n {
		bufs.lower = make([]byte, n)
	}
	bufs.lower = bufs.lower[:n]
	return bufs.lower
}

// lowerASCII lower-cases an all-ASCII s eight bytes at a time (s itself when nothing is upper
// case); ok is false if s is not all ASCII. Inspected texts are mostly ASCII and tens of
// kilobytes long, and this runs on every one of them.
func lowerASCII(s string, bufs *buffers) (out string, ok bool) {
	var b []byte // taken at the first upper-case letter
	i := 0
	for ; i+8 <= len(s); i += 8 {
		x := swar.Load(s, i)
		if x&swar.High != 0 {
			return "", false
		}
		upper := swar.InRange(x, 'A', 'Z')
		if upper != 0 && b == nil {
			b = scratch(bufs, len(s))
			copy(b, s[:i])
		}
		if b != nil {
			binary.LittleEndian.PutUint64(b[i:], x|upper>>2)
		}
	}
	for ; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf {
			return "", false
		}
		if c >= 'A' && c <= 'Z' && b == nil {
			b = scratch(bufs, len(s))
			copy(b, s[:i])
		}
		if b != nil {
			if c >= 'A' && c <= 'Z' {
				c += 'a' - 'A'
			}
			b[i] = c
		}
	}
	if b == nil {
		return s, true
	}
	return unsafe.String(unsafe.SliceData(b), len(b)), true
}
