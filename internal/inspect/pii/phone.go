package pii

// scanPhone returns the end of a phone number starting at i (a digit, '+' or '('), or -1.
func scanPhone(text string, i int) int {
	if text[i] == '+' {
		return scanInternational(text, i)
	}
	return scanNANP(text, i)
}

func isPhoneSep(c byte) bool { return c == ' ' || c == '-' || c == '.' }

// scanInternational returns the end of a number in international form starting at the '+'
// at i, or -1: a country code that does not start with 0, then digit groups separated by
// one of ' ', '-', '.', with at most one parenthesized group ("+44 (0)20 7946 0958"), 8–15
// digits in all. A +1 number is North American: exactly 11 digits, area code 2xx–9xx.
func scanInternational(text string, i int) int {
	const maxGroups, maxOneDigit = 7, 2
	n := len(text)
	j := i + 1
	if j >= n || text[j] < '1' || text[j] > '9' {
		return -1
	}
	var digits [16]byte
	nd, groups, ones, parens := 0, 0, 0, 0
	maxDigits := 15
	if text[j] == '1' {
		maxDigits = 11
	}
	var sep byte // ' ' if any group is separated by a space, else the last separator
	for {
		paren := text[j] == '('
		if paren {
			if parens > 0 || groups == 0 {
				return -1
			}
			parens++
			j++
		}
		e := digitsEnd(text, j)
		g := e - j
		if g == 0 || nd+g > maxDigits {
			return -1
		}
		nd += copy(digits[nd:], text[j:e])
		if g == 1 {
			ones++
		}
		groups++
		j = e
		if paren {
			if j >= n || text[j] != ')' {
				return -1
			}
			j++
		}
		if groups > maxGroups || ones > maxOneDigit {
			return -1
		}
		if j >= n {
			break
		}
		if c := text[j]; isPhoneSep(c) && j+1 < n && (isDigit(text[j+1]) || text[j+1] == '(') {
			if sep != ' ' {
				sep = c
			}
			j++
			continue
		}
		if text[j] == '(' || (paren && isDigit(text[j])) {
			continue // "+44(0)20…", "+44 (0)20…"
		}
		break
	}
	if nd < 8 {
		return -1
	}
	if digits[0] == '1' && (nd != 11 || digits[1] < '2') {
		return -1
	}
	if !leftOK(text, i, false) || !rightOK(text, j, sep) {
		return -1
	}
	return j
}

// scanNANP returns the end of a North American number in national form starting at i, or
// -1: "(NXX) XXX-XXXX" (the space and the second separator may vary), or "NXX-XXX-XXXX"
// with one separator ('-', '.' or ' ') throughout; either optionally after "1" and a
// separator. The area code NXX starts with 2–9 and is not N11. Ten plain digits are not
// accepted: they are as likely an order number or a timestamp.
func scanNANP(text string, i int) int {
	n := len(text)
	j := i
	var lead byte // the separator after a leading "1", if any
	if text[j] == '1' && j+2 < n && isPhoneSep(text[j+1]) && (isDigit(text[j+2]) || text[j+2] == '(') {
		lead = text[j+1]
		j += 2
	}
	spaced := lead == ' '
	var area, sep byte
	if text[j] == '(' {
		if j+5 > n || digitsEnd(text, j+1) != j+4 || text[j+4] != ')' {
			return -1
		}
		area = text[j+1]
		if text[j+2] == '1' && text[j+3] == '1' {
			area = 0
		}
		j += 5
		if j < n && text[j] == ' ' {
			spaced = true
			j++
		}
		if j+4 > n || digitsEnd(text, j) != j+3 || !isPhoneSep(text[j+3]) {
			return -1
		}
		sep = text[j+3]
		j += 4
	} else {
		if j+8 > n || digitsEnd(text, j) != j+3 || !isPhoneSep(text[j+3]) {
			return -1
		}
		sep = text[j+3]
		if lead != 0 && lead != sep {
			return -1
		}
		area = text[j]
		if text[j+1] == '1' && text[j+2] == '1' {
			area = 0
		}
		j += 4
		if digitsEnd(text, j) != j+3 || text[j+3] != sep {
			return -1
		}
		j += 4
	}
	if digitsEnd(text, j) != j+4 {
		return -1
	}
	j += 4
	if area < '2' {
		return -1
	}
	if sep == ' ' {
		spaced = true
	}
	if !leftOK(text, i, spaced) || !rightOK(text, j, sep) {
		return -1
	}
	return j
}
