// Package confusables maps the Cyrillic and Greek letters that look like Latin ones to those
// Latin letters. The normaliser applies it to every text, so that "іgnore" spelled with a
// Cyrillic і reads as "ignore"; rules written in Cyrillic go through the same mapping
// (Skeleton) so that they match the normalised text.
package confusables

import "strings"

// Latin maps the Cyrillic and Greek letters that look like Latin ones (the usual homoglyph
// substitutions, which NFKC keeps) to the Latin letter.
func Latin(r rune) (byte, bool) {
	switch r {
	case 'а', 'α':
		return 'a', true
	case 'е', 'ε':
		return 'e', true
	case 'о', 'ο':
		return 'o', true
	case 'р', 'ρ':
		return 'p', true
	case 'с':
		return 'c', true
	case 'у', 'ү':
		return 'y', true
	case 'х', 'χ':
		return 'x', true
	case 'і', 'ι':
		return 'i', true
	case 'ј':
		return 'j', true
	case 'ѕ':
		return 's', true
	case 'ԁ':
		return 'd', true
	case 'һ':
		return 'h', true
	case 'ӏ':
		return 'l', true
	case 'ԛ':
		return 'q', true
	case 'ԝ':
		return 'w', true
	case 'ν':
		return 'v', true
	case 'А', 'Α':
		return 'A', true
	case 'В', 'Β':
		return 'B', true
	case 'Е', 'Ε':
		return 'E', true
	case 'К', 'Κ':
		return 'K', true
	case 'М', 'Μ':
		return 'M', true
	case 'Н', 'Η':
		return 'H', true
	case 'О', 'Ο':
		return 'O', true
	case 'Р', 'Ρ':
		return 'P', true
	case 'С':
		return 'C', true
	case 'Т', 'Τ':
		return 'T', true
	case 'Х', 'Χ':
		return 'X', true
	case 'І', 'Ι':
		return 'I', true
	case 'Ѕ':
		return 'S', true
	// Capitals that look like a Latin capital whose small letter has no look-alike of its
	// own in the same case (or a different one): without them "ІGΝОRЕ" with a Greek Ν
	// would not read as IGNORE.
	case 'Ν':
		return 'N', true
	case 'Ζ':
		return 'Z', true
	case 'У', 'Υ', 'Ү':
		return 'Y', true
	case 'Ј':
		return 'J', true
	case 'Һ':
		return 'H', true
	case 'Ԛ':
		return 'Q', true
	case 'Ԝ':
		return 'W', true
	case 'Ӏ':
		return 'I', true
	}
	return 0, false
}

// Skeleton returns s with every confusable letter replaced as the normaliser replaces it.
func Skeleton(s string) string {
	return strings.Map(func(r rune) rune {
		if l, ok := Latin(r); ok {
			return rune(l)
		}
		return r
	}, s)
}
