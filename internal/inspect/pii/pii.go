package pii

import (
	"fmt"
	"strings"

	"gatehouse/internal/swar"
)

// Type is one kind of personal data.
type Type string

// The types of personal data a Detector finds.
const (
	Email Type = "email"
	Phone Type = "phone"
	Card  Type = "payment-card" // Luhn-checked, 13–19 digits, spaces or dashes allowed between groups, known IIN prefixes (Visa, Mastercard incl. 2-series, Amex, Discover, JCB, Diners, UnionPay, Maestro)
	IBAN  Type = "iban"         // ISO 13616: country code, check digits, mod-97 == 1, country-specific length for the countries the registry lists; printed with or without spaces in groups of four
	SSN   Type = "us-ssn"       // AAA-GG-SSSS with the SSA's invalid ranges excluded (000, 666, 9xx area; 00 group; 0000 serial); also the undashed form ONLY next to a label like "SSN"/"social security"
)

// AllTypes lists every type, in a stable order.
func AllTypes() []Type { return []Type{Email, Phone, Card, IBAN, SSN} }

// ParseType maps a configuration name to a Type (error naming the valid ones otherwise).
func ParseType(s string) (Type, error) {
	all := AllTypes()
	names := make([]string, len(all))
	for i, t := range all {
		if s == string(t) {
			return t, nil
		}
		names[i] = string(t)
	}
	return "", fmt.Errorf("pii: unknown type %q (valid: %s)", s, strings.Join(names, ", "))
}

// Match is one item found; Start and End are byte offsets in the scanned text.
type Match struct {
	Type       Type
	Start, End int
}

// set is a set of types, one bit each.
type set uint8

const (
	bitEmail set = 1 << iota
	bitPhone
	bitCard
	bitIBAN
	bitSSN

	bitsNumeric = bitPhone | bitCard | bitSSN
)

func bitOf(t Type) set {
	switch t {
	case Email:
		return bitEmail
	case Phone:
		return bitPhone
	case Card:
		return bitCard
	case IBAN:
		return bitIBAN
	case SSN:
		return bitSSN
	}
	return 0
}

// Detector finds the enabled types. Safe for concurrent use.
type Detector struct {
	types   set
	trigger [256]bool      // bytes at which Scan starts a recognizer
	ibanLen [26 * 26]uint8 // IBAN length by country code, 0 for a country without IBANs
}

// New returns a Detector for the given types; no types = all types. A Type that is not one
// of AllTypes is a programming error (configuration goes through ParseType) and panics:
// quietly detecting less than asked would fail open.
func New(types ...Type) *Detector {
	if len(types) == 0 {
		types = AllTypes()
	}
	d := &Detector{}
	for _, t := range types {
		b := bitOf(t)
		if b == 0 {
			panic(fmt.Sprintf("pii.New: unknown type %q", t))
		}
		d.types |= b
	}
	if d.types&bitEmail != 0 {
		d.trigger['@'] = true
	}
	if d.types&bitsNumeric != 0 {
		for c := '0'; c <= '9'; c++ {
			d.trigger[c] = true
		}
	}
	if d.types&bitPhone != 0 {
		d.trigger['+'] = true
		d.trigger['('] = true
	}
	if d.types&bitIBAN != 0 {
		for c := 'A'; c <= 'Z'; c++ {
			d.trigger[c] = true
		}
		for i := 0; i+4 <= len(ibanRegistry); i += 4 {
			cc := (int(ibanRegistry[i]-'A'))*26 + int(ibanRegistry[i+1]-'A')
			d.ibanLen[cc] = (ibanRegistry[i+2]-'0')*10 + ibanRegistry[i+3] - '0'
		}
	}
	return d
}

// Scan returns the personal data in text, sorted by Start, non-overlapping; nil if none.
func (d *Detector) Scan(text string) []Match {
	var out []Match
	lo := 0 // end of the last match: an e-mail's local part may not reach back before it
	n := len(text)
	for i := 0; i < n; {
		c := text[i]
		if !d.trigger[c] {
			if isAlnum(c) && !isEscape(text, i) {
				// The rest of this word follows a word byte: nothing starts there either.
				i = alnumEnd(text, i+1)
				continue
			}
			i++
			continue
		}
		var t Type
		start, end := i, -1
		switch {
		case c == '@':
			start, end = scanEmail(text, i, lo)
			t = Email
		case wordBefore(text, i):
			// Inside a word (an identifier, a hash, a hex string): nothing starts here.
		case isUpper(c):
			end, t = d.scanIBAN(text, i), IBAN
		default:
			end, t = d.scanNumber(text, i)
		}
		if end < 0 {
			if isAlnum(c) {
				// Nothing can start inside the rest of this word either.
				i = alnumEnd(text, i+1)
			} else {
				i++
			}
			continue
		}
		out = append(out, Match{Type: t, Start: start, End: end})
		lo, i = end, end
	}
	return out
}

// scanNumber tries the numeric types at i (a digit, '+' or '(' at the start of a word),
// cards first, and returns the end of the match and its type, or -1.
func (d *Detector) scanNumber(text string, i int) (int, Type) {
	if isDigit(text[i]) {
		if d.types&bitCard != 0 {
			if e := scanCard(text, i); e >= 0 {
				return e, Card
			}
		}
		if d.types&bitSSN != 0 {
			if e := scanSSN(text, i); e >= 0 {
				return e, SSN
			}
		}
	}
	if d.types&bitPhone != 0 {
		if e := scanPhone(text, i); e >= 0 {
			return e, Phone
		}
	}
	return -1, ""
}

// alnumEnd returns the end of the run of ASCII letters and digits at text[i:]. It reads
// eight bytes at a time: tool results hold long identifiers and encoded blobs, inside
// which nothing starts.
func alnumEnd(text string, i int) int {
	for ; i+8 <= len(text); i += 8 {
		x := swar.Load(text, i)
		// Each byte that is not a letter or digit (a non-ASCII byte is not).
		alnum := swar.InRange(x, '0', '9') | swar.InRange(x|0x20*swar.Ones, 'a', 'z')
		if stop := swar.High&^alnum | x&swar.High; stop != 0 {
			return i + swar.First(stop)
		}
	}
	for i < len(text) && isAlnum(text[i]) {
		i++
	}
	return i
}

func isDigit(c byte) bool  { return c-'0' < 10 }
func isUpper(c byte) bool  { return c-'A' < 26 }
func isLetter(c byte) bool { return (c|0x20)-'a' < 26 }
func isAlnum(c byte) bool  { return isDigit(c) || isLetter(c) }

// isWord reports whether c continues a word. Bytes of multi-byte UTF-8 sequences do not,
// so that a number after a no-break space or in non-Latin text is still found.
func isWord(c byte) bool { return isAlnum(c) || c == '_' }

// wordBefore reports whether the byte before i continues a word. The letter of a JSON or C
// escape ("\n", "\t") does not: tool results are scanned as raw JSON, where "Tel:\n555…"
// has the number at the start of a line.
func wordBefore(text string, i int) bool {
	if i == 0 || !isWord(text[i-1]) {
		return false
	}
	return !isEscape(text, i-1)
}

// isEscape reports whether the byte at i is the letter of a backslash escape.
func isEscape(text string, i int) bool {
	if i == 0 || text[i-1] != '\\' {
		return false
	}
	switch text[i] {
	case 'n', 'r', 't', 'b', 'f':
		return true
	}
	return false
}

// digitsEnd returns the end of the run of digits starting at i.
func digitsEnd(text string, i int) int {
	for i < len(text) && isDigit(text[i]) {
		i++
	}
	return i
}

// leftOK reports whether a number may start at s: not inside a word, and not the tail of a
// larger numeric structure — after "12." or "x-" or "7/" or "3," or "9:", or, for a number
// written with spaces, after a digit and a space.
func leftOK(text string, s int, spaced bool) bool {
	if s == 0 {
		return true
	}
	p := text[s-1]
	if wordBefore(text, s) || p == '+' {
		return false
	}
	if s < 2 {
		return true
	}
	q := text[s-2]
	switch p {
	case '-', '/':
		return !isAlnum(q)
	case '.', ',', ':':
		return !isDigit(q)
	case ' ':
		return !spaced || !isDigit(q)
	}
	return true
}

// rightOK reports whether a number may end at e: not followed by a word character or '@',
// nor continued by more digits after '.', '-', '/', ',', ':' or its own separator sep.
func rightOK(text string, e int, sep byte) bool {
	if e >= len(text) {
		return true
	}
	c := text[e]
	if isWord(c) || c == '@' {
		return false
	}
	if e+1 < len(text) && isDigit(text[e+1]) {
		switch c {
		case '.', '-', '/', ',', ':', sep:
			return false
		}
	}
	return true
}
