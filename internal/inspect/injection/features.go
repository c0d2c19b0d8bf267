package injection

import (
	"math"

	"gatehouse/internal/swar"
)

// minFeatures is the least count a vector is normalised by: a very short text has too
// little evidence for its few features to speak with full weight.
const minFeatures = 96

// Dims is the number of hashed feature buckets (a power of two).
const Dims = 1 << 18

// appendFeatures appends the buckets of every feature of s (normalised, lowercased text) to
// dst, in text order: word unigrams and bigrams (a run of symbols such as "<|" or "###"
// counts as a word), and character 4-grams with runs of spaces collapsed to one, which keep
// misspellings and run-together words visible. A feature that occurs twice counts twice.
//
// Every feature ends inside the run of non-space bytes it comes from. If runs is not nil,
// each run's start and the number of features before it are appended to it: segments start
// and end at whitespace, so scoring keeps running sums at the start of each run and a
// segment's sum is a difference of two of them, and a text is walked once however many
// segments overlap. The buckets go to a slice rather than to a callback, so that the hot
// loops (this one and the caller's sum) have no call per feature.
func appendFeatures(dst []uint32, s string, runs *[]run) []uint32 {
	var prev uint64
	havePrev := false
	var win uint32 // the last four bytes of the character pass
	n := 0
	for i := 0; i < len(s); {
		if isSpace(s[i]) {
			i++
			continue
		}
		// A run of non-space bytes: words and symbol runs inside it, then its 4-grams.
		if runs != nil {
			*runs = append(*runs, run{i, int32(len(dst))})
		}
		j := spaceAt(s, i+1)
		if j-i > maxToken {
			// An unbroken run this long is an identifier, a hash or an encoding, not language
			// (encoded runs are decoded and inspected on their own): it adds no features and
			// breaks the word and character context.
			havePrev, n = false, 0
			i = j
			continue
		}
		for k := i; k < j; {
			e := k
			var h uint64
			if isWordByte(s[k]) {
				for e < j && isWordByte(s[e]) {
					e++
				}
				h = hashString(offsetWord, s[k:e])
			} else {
				for e < j && !isWordByte(s[e]) && e-k < 8 {
					e++
				}
				h = hashString(offsetSymbol, s[k:e])
			}
			dst = append(dst, uint32(h&(Dims-1)))
			if havePrev {
				dst = append(dst, uint32(mix(prev, h)&(Dims-1)))
			}
			prev, havePrev = h, true
			k = e
		}
		if n > 0 {
			win = win<<8 | ' '
			n++
			if n >= 4 {
				dst = append(dst, charGram(win))
			}
		}
		for k := i; k < j; k++ {
			win = win<<8 | uint32(s[k])
			n++
			if n >= 4 {
				dst = append(dst, charGram(win))
			}
		}
		i = j
	}
	return dst
}

// run is where a run of non-space bytes starts and how many features come before it.
type run struct {
	pos int
	n   int32
}

// maxToken is the longest unbroken run of non-space bytes that counts as language.
const maxToken = 64

func charGram(win uint32) uint32 {
	h := (uint64(win) ^ offsetChar) * prime64
	h ^= h >> 29
	return uint32(h & (Dims - 1))
}

// features returns the buckets of s (with repeats) and the value each carries, so that
// the vector has unit length (or less, for texts shorter than minFeatures).
func features(dst []uint32, s string) ([]uint32, float32) {
	dst = appendFeatures(dst, s, nil)
	return dst, norm(len(dst))
}

func norm(n int) float32 { return float32(1 / math.Sqrt(float64(max(n, minFeatures)))) }

func isSpace(c byte) bool { return c == ' ' || c == '\n' || c == '\t' || c == '\r' }

// spaceAt returns the offset of the first space (isSpace) in s at or after i, or len(s).
// It reads eight bytes at a time while none of them is below '!': long unbroken runs
// (an identifier, an encoded blob of tens of kilobytes) are common in tool results, and
// every byte of them would otherwise cost four comparisons.
func spaceAt(s string, i int) int {
	for {
		for ; i+8 <= len(s); i += 8 {
			if swar.Less(swar.Load(s, i), '!') != 0 {
				break // some byte is below '!' (a space, or another control byte)
			}
		}
		end := min(i+8, len(s))
		for ; i < end; i++ {
			if isSpace(s[i]) {
				return i
			}
		}
		if i >= len(s) {
			return len(s)
		}
	}
}

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '\'' || c == '_' || c >= 0x80
}

// FNV-1a, with a different offset basis per feature family so that a word and a 4-gram
// with the same bytes do not share a bucket on purpose.
const (
	prime64      = 1099511628211
	offsetWord   = 14695981039346656037
	offsetSymbol = 14695981039346656037 ^ 0x5bd1e995
	offsetChar   = 14695981039346656037 ^ 0x27d4eb2f
)

func hashString(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h = (h ^ uint64(s[i])) * prime64
	}
	return h
}

func mix(a, b uint64) uint64 {
	h := a*31 + b
	h ^= h >> 29
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 32
	return h
}
