package pii

// scanCard returns the end of a payment card number starting at the digit i, or -1.
//
// The number is 13–19 digits, either contiguous or in groups separated by one kind of
// separator (space or dash): a first group of four, inner groups of four to six, a last
// group of one to six — which covers 4-4-4-4, 4-4-4-4-3, 4-6-5 (Amex) and 4-6-4 (Diners).
func scanCard(text string, i int) int {
	var digits [19]byte
	n := 0
	var sep byte
	k := digitsEnd(text, i)
	switch g := k - i; {
	case g >= 13 && g <= 19:
		n = copy(digits[:], text[i:k])
	case g == 4:
		n = copy(digits[:], text[i:k])
		if k+1 >= len(text) || (text[k] != ' ' && text[k] != '-') || !isDigit(text[k+1]) {
			return -1
		}
		sep = text[k]
		prev := g
		for k+1 < len(text) && text[k] == sep && isDigit(text[k+1]) {
			if prev < 4 {
				return -1 // only the last group may be short
			}
			e := digitsEnd(text, k+1)
			g := e - (k + 1)
			if g > 6 || n+g > len(digits) {
				return -1
			}
			n += copy(digits[n:], text[k+1:e])
			prev, k = g, e
		}
		if n < 13 {
			return -1
		}
	default:
		return -1
	}
	if !leftOK(text, i, sep == ' ') || !rightOK(text, k, sep) {
		return -1
	}
	d := digits[:n]
	if !knownIssuer(d) || !luhn(d) {
		return -1
	}
	return k
}

// knownIssuer reports whether the prefix and length of d are those of a card scheme.
func knownIssuer(d []byte) bool {
	n := len(d)
	p2 := int(d[0]-'0')*10 + int(d[1]-'0')
	p3 := p2*10 + int(d[2]-'0')
	p4 := p3*10 + int(d[3]-'0')
	switch {
	case d[0] == '4': // Visa
		return n == 13 || n == 16 || n == 19
	case p2 >= 51 && p2 <= 55, p4 >= 2221 && p4 <= 2720: // Mastercard
		return n == 16
	case p2 == 34, p2 == 37: // American Express
		return n == 15
	case p4 == 6011, p3 >= 644 && p3 <= 649, p2 == 65: // Discover
		return n >= 16
	case p4 >= 3528 && p4 <= 3589: // JCB
		return n >= 16
	case p3 >= 300 && p3 <= 305, p4 == 3095, p2 == 36, p2 == 38, p2 == 39: // Diners Club
		return n >= 14
	case p2 == 62: // UnionPay (and Discover's 622126–622925)
		return n >= 16
	case p4 == 5018, p4 == 5020, p4 == 5038, p4 == 5893,
		p4 == 6304, p4 == 6759, p4 == 6761, p4 == 6762, p4 == 6763: // Maestro
		return true
	}
	return false
}

// luhn reports whether the digits d pass the Luhn check.
func luhn(d []byte) bool {
	sum := 0
	double := false
	for k := len(d) - 1; k >= 0; k-- {
		v := int(d[k] - '0')
		if double {
			if v *= 2; v > 9 {
				v -= 9
			}
		}
		sum += v
		double = !double
	}
	return sum%10 == 0
}
