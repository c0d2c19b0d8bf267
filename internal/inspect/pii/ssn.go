package pii

import "strings"

// scanSSN returns the end of a US social security number starting at the digit i, or -1:
// AAA-GG-SSSS anywhere, AAAGGSSSS or AAA GG SSSS only right after a label (see ssnLabel).
func scanSSN(text string, i int) int {
	k := digitsEnd(text, i)
	var sep byte
	var area, group, serial string
	switch k - i {
	case 3:
		// AAA-GG-SSSS, or AAA GG SSSS after a label.
		if k+8 > len(text) || (text[k] != '-' && text[k] != ' ') || digitsEnd(text, k+1) != k+3 ||
			text[k+3] != text[k] || digitsEnd(text, k+4) != k+8 {
			return -1
		}
		sep = text[k]
		area, group, serial = text[i:k], text[k+1:k+3], text[k+4:k+8]
		k += 8
	case 9:
		area, group, serial = text[i:i+3], text[i+3:i+5], text[i+5:k]
	default:
		return -1
	}
	if area == "000" || area == "666" || area[0] == '9' || group == "00" || serial == "0000" {
		return -1
	}
	if !leftOK(text, i, sep == ' ') || !rightOK(text, k, sep) {
		return -1
	}
	if sep != '-' && !ssnLabel(text, i) {
		return -1
	}
	return k
}

// ssnLabel reports whether the text before i ends in a label for a social security
// number, with at most a few bytes of punctuation between: "SSN: ", "ssn #", `"ssn": "`,
// "Social Security Number ", "social_security_no=", "socialSecurityNumber", "userSSN".
func ssnLabel(text string, i int) bool {
	w, i := labelWord(text, i)
	switch {
	case strings.EqualFold(w, "ssn"), len(w) > 3 && strings.HasSuffix(w, "SSN"):
		return true
	case strings.EqualFold(w, "number"), strings.EqualFold(w, "no"), strings.EqualFold(w, "num"), strings.EqualFold(w, "nr"):
		w, i = labelWord(text, i)
		if strings.EqualFold(w, "ssn") {
			return true
		}
	}
	// "social security", the same as one camel-case or run-together word, with a suffix.
	lw := len(w)
	for _, suffix := range [...]string{"number", "num", "no", "nr"} {
		if len(w) > len(suffix) && strings.EqualFold(w[len(w)-len(suffix):], suffix) {
			lw = len(w) - len(suffix)
			break
		}
	}
	switch {
	case strings.EqualFold(w[:lw], "socialsecurity"):
		return true
	case strings.EqualFold(w, "security"):
		w, _ = labelWord(text, i)
		return strings.EqualFold(w, "social")
	}
	return false
}

// labelWord returns the word of letters that ends before i, skipping at most a few bytes of
// spaces and punctuation, and the offset where that word starts.
func labelWord(text string, i int) (string, int) {
	const maxGap, maxWord = 6, 24
	j := i
	for j > 0 && i-j < maxGap && isLabelGap(text[j-1]) {
		j--
	}
	e := j
	for j > 0 && e-j < maxWord && isLetter(text[j-1]) {
		j--
	}
	if j > 0 && isAlnum(text[j-1]) {
		return "", j // a longer word, or letters glued to digits
	}
	return text[j:e], j
}

func isLabelGap(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\r', ':', '=', '#', '"', '\'', '.', '-', '_', '(', ')', '[', ']':
		return true
	}
	return false
}
