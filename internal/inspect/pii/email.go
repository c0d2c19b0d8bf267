package pii

// scanEmail returns the start and end of the e-mail address around the '@' at a, or -1 as
// the end; the local part does not reach back before lo.
//
// The local part is a dot-atom (no leading, trailing or doubled dot) of letters, digits and
// . _ % + - ' — the other atext symbols end it, since in practice they are URL and markup
// delimiters ("?email=ann@example.com") — at most 64 bytes, starting with a letter, digit or
// '_'. The domain is two or more labels of letters, digits and inner hyphens (at most 63
// bytes each, 253 in all) whose last, the TLD, is two or more letters. A trailing '.' or
// other punctuation is not part of the match.
func scanEmail(text string, a, lo int) (int, int) {
	const maxLocal, maxLabel, maxDomain = 64, 63, 253
	s := a
	for s > lo && isLocalChar(text[s-1]) {
		if text[s-1] == '.' && text[s] == '.' {
			break // a doubled dot ends the dot-atom: "see...ann@example.com"
		}
		if isEscape(text, s-1) {
			break // "\nann@example.com" in JSON
		}
		if s--; a-s > maxLocal {
			return 0, -1
		}
	}
	for s < a && !isWord(text[s]) {
		s++
	}
	if s == a || text[a-1] == '.' {
		return 0, -1
	}

	n := len(text)
	j, end, labels := a+1, -1, 0
	tld := ""
	retina := false
	for {
		k := j
		for k < n && k-j <= maxLabel && (isAlnum(text[k]) || text[k] == '-') {
			k++
		}
		if k == j || k-j > maxLabel || k-a-1 > maxDomain || text[j] == '-' || text[k-1] == '-' {
			break
		}
		label := text[j:k]
		retina = retina || isScaleSuffix(label)
		labels++
		end, tld = k, label
		if k+1 < n && text[k] == '.' && isAlnum(text[k+1]) {
			j = k + 1
			continue
		}
		break
	}
	if labels < 2 || len(tld) < 2 || retina {
		return 0, -1
	}
	for k := 0; k < len(tld); k++ {
		if !isLetter(tld[k]) {
			return 0, -1
		}
	}
	if end < n {
		if c := text[end]; isWord(c) || c == '-' || c == '@' || (c == '.' && end+1 < n && isAlnum(text[end+1])) {
			return 0, -1 // the domain goes on in a way no host name does
		}
	}
	return s, end
}

func isLocalChar(c byte) bool {
	return isAlnum(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-' || c == '\''
}

// isScaleSuffix reports whether a domain label is a scale suffix of an image file name, as
// in "icon@2x.png", which looks like an address but is not one.
func isScaleSuffix(label string) bool {
	k := len(label) - 1
	if k < 1 || label[k] != 'x' {
		return false
	}
	for _, c := range []byte(label[:k]) {
		if !isDigit(c) {
			return false
		}
	}
	return true
}
