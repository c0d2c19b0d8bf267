package inspect

import "gatehouse/internal/swar"

// Obfuscated spellings that keep a text readable to a model but not to a rule:
// letter-spaced words ("i g n o r e  p r e v i o u s") and digits for letters ("1gn0r3
// pr3v10us 1nstruct10ns"). Each run found is rewritten into plain words and given to the
// injection detector for a second look, like a decoded base64 run; it is reported only when
// that look finds something.

// Encodings of the rewritten runs, as Decoded.Encoding.
const (
	encSpaced = "spaced"
	encLeet   = "leet"
)

// Limits: a spaced run must spell at least minSpaced letters; leetspeak needs at least
// minLeet such words within leetGap bytes of each other, so that one version string or
// identifier is not enough.
const (
	minSpaced = 6
	minLeet   = 2
	leetGap   = 200
)

// obfuscated finds the letter-spaced and leetspeak runs of lower (a normalised, lowercased
// text) and returns them rewritten, with their spans mapped to the original text by n.
func obfuscated(lower string, n *Normalized) []Decoded {
	var out []Decoded
	budget := maxDecodedSize
	add := func(enc string, text []byte, start, end int) {
		if budget <= 0 {
			return
		}
		if len(text) > budget {
			text = text[:budget]
		}
		budget -= len(text)
		s, e := n.Orig(start, end)
		out = append(out, Decoded{Encoding: enc, Text: string(text), Start: s, End: e, Respelled: true})
	}
	scanObfuscated(lower,
		func(text []byte, start, end int) { add(encSpaced, text, start, end) },
		func(text []byte, start, end int) { add(encLeet, text, start, end) })
	return out
}

// Byte classes for the one pass over a text.
const (
	clOther = iota
	clLetter
	clLeet  // a digit that stands for a letter
	clDigit // a digit that stands for none
	clBlank
	clSep   // a separator of letter-spaced words other than a blank
	clPunct // punctuation that may stand around a word
)

var obfClass = func() (t [256]uint8) {
	for c := 'a'; c <= 'z'; c++ {
		t[c] = clLetter
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = clDigit
	}
	for _, c := range "013457" {
		t[c] = clLeet
	}
	for _, c := range " \n\t\r" {
		t[c] = clBlank
	}
	for _, c := range ".-_*" {
		t[c] = clSep
	}
	for _, c := range ",;:!?'\"()[]" {
		t[c] = clPunct
	}
	return t
}()

// scanObfuscated reads s once, calling spaced for each letter-spaced run and leet for each
// stretch of leetspeak words.
func scanObfuscated(s string, spaced, leet func(text []byte, start, end int)) {
	var spans [][2]int // the leet words of the current stretch
	flush := func() {
		if len(spans) >= minLeet {
			start, end := spans[0][0], spans[len(spans)-1][1]
			b := []byte(s[start:end])
			deleet(b)
			leet(b, start, end)
		}
		spans = spans[:0]
	}
	tok, letters, subs, bad := 0, 0, 0, false // the word being read
	word := func(end int) {
		if subs > 0 && letters >= 2 && !bad && end-tok >= 3 {
			a, b := tok, end
			for a < b && obfClass[s[a]] == clPunct {
				a++
			}
			for b > a && (obfClass[s[b-1]] == clPunct || s[b-1] == '.') {
				b--
			}
			if b-a <= 24 && leetWord(s[a:b]) {
				if len(spans) > 0 && a-spans[len(spans)-1][1] > leetGap {
					flush()
				}
				spans = append(spans, [2]int{a, b})
			}
		}
	}
	for i := 0; i < len(s); i++ {
		if bad {
			// This word can no longer be leetspeak: until its end only a blank or a
			// separator (where a letter-spaced run may start) matters.
			if i = sepAt(s, i); i == len(s) {
				break
			}
		}
		switch obfClass[s[i]] {
		case clLetter:
			letters++
			continue
		case clLeet:
			subs++
			continue
		case clDigit, clOther:
			bad = true
			continue
		case clPunct:
			continue
		case clSep:
			if s[i] != '.' {
				bad = true
			}
		}
		// A blank or a separator: a letter-spaced run may start just before it.
		if i >= 1 && i+1 < len(s) && obfClass[s[i-1]] == clLetter && obfClass[s[i+1]] == clLetter &&
			(i < 2 || obfClass[s[i-2]] != clLetter) && (i+2 >= len(s) || obfClass[s[i+2]] != clLetter) {
			if end := spacedRun(s, i-1, s[i], spaced); end > i+1 {
				i = end - 1
				tok, letters, subs, bad = end, 0, 0, false
				continue
			}
		}
		if obfClass[s[i]] == clBlank {
			word(i)
			tok, letters, subs, bad = i+1, 0, 0, false
		}
	}
	word(len(s))
	flush()
}

// sepAt returns the offset of the first blank or separator in s at or after i, or len(s).
// It reads eight bytes at a time, stopping at each byte that may be one (a byte below '!',
// one of "*+,-.", '_', or a non-ASCII byte) to look at it: a long unbroken run of letters,
// digits and symbols (an identifier, an encoded blob) is otherwise a switch per byte.
func sepAt(s string, i int) int {
	stop := func(c byte) bool { k := obfClass[c]; return k == clBlank || k == clSep }
	for i+8 <= len(s) {
		x := swar.Load(s, i)
		m := swar.Less(x, '!') | swar.InRange(x, '*', '.') | swar.Eq(x, '_') | x&swar.High
		if m == 0 {
			i += 8
			continue
		}
		j := i + swar.First(m)
		if stop(s[j]) {
			return j
		}
		i = j + 1
	}
	for ; i < len(s); i++ {
		if stop(s[i]) {
			return i
		}
	}
	return len(s)
}

func isLowerLetter(c byte) bool { return 'a' <= c && c <= 'z' }

// spacedRun reads the run that starts with the letter at i, calls fn if it is long enough,
// and returns where it ends.
func spacedRun(s string, i int, sep byte, fn func(text []byte, start, end int)) int {
	var b []byte
	letters, j, end := 0, i, i
	for j < len(s) && isLowerLetter(s[j]) && (j+1 >= len(s) || !isLowerLetter(s[j+1])) {
		b = append(b, s[j])
		letters++
		end = j + 1
		k := j + 1
		if k >= len(s) || s[k] != sep {
			break
		}
		k++
		gap := k
		for k < len(s) && (s[k] == sep || s[k] == ' ') {
			k++
		}
		if k > gap {
			b = append(b, ' ')
		}
		j = k
	}
	if letters >= minSpaced {
		fn(b, i, end)
	}
	return end
}

// leetDigit maps the digits that stand for letters.
func leetDigit(c byte) byte {
	switch c {
	case '0':
		return 'o'
	case '1':
		return 'i'
	case '3':
		return 'e'
	case '4':
		return 'a'
	case '5':
		return 's'
	case '7':
		return 't'
	}
	return 0
}

// leetWord reports whether w reads as a word with digits for letters: at least two
// letters and a stand-in (one or two digits) between two letters ("h4ck", "pr3v10us",
// "1nstruct10ns"; not "mp3" or "ipv4"), no other digit (2, 6, 8 and 9 stand for nothing,
// and a hash or an id soon has one), and not a hexadecimal string.
func leetWord(w string) bool {
	if len(w) < 3 || len(w) > 24 {
		return false
	}
	letters, inner, hex := 0, false, true
	run := 0 // stand-ins since the last letter
	for i := 0; i < len(w); i++ {
		c := w[i]
		switch {
		case isLowerLetter(c):
			if run > 0 && run <= 2 && i > run && isLowerLetter(w[i-run-1]) {
				inner = true
			}
			letters++
			run = 0
			if c > 'f' {
				hex = false
			}
		case leetDigit(c) != 0:
			run++
		default:
			return false
		}
	}
	return letters >= 2 && inner && !hex
}

// deleet rewrites, in b (a copy of a stretch of text), the stand-ins of every word made of
// letters and stand-ins only: once a stretch reads as leetspeak, "4ll" is "all" too.
func deleet(b []byte) {
	for i := 0; i < len(b); {
		j, letters, ok := i, 0, true
		for j < len(b) && (isLowerLetter(b[j]) || b[j] >= '0' && b[j] <= '9') {
			if isLowerLetter(b[j]) {
				letters++
			} else if leetDigit(b[j]) == 0 {
				ok = false
			}
			j++
		}
		if ok && letters > 0 {
			for k := i; k < j; k++ {
				if c := leetDigit(b[k]); c != 0 {
					b[k] = c
				}
			}
		}
		i = max(j, i+1)
	}
}
