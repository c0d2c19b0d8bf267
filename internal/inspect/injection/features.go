package injection

import "math"

// minFeatures is the least count a vector is normalised by: a very short text has too
// little evidence for its few features to speak with full weight.
const minFeatures = 96

// Dims is the number of hashed feature buckets (a power of two).
const Dims = 1 << 18

// walkFeatures calls fn for every feature of s (normalised, lowercased text) with the byte
// offset it ends at: word unigrams and bigrams (a run of symbols such as "<|" or "###"
// counts as a word), and character 4-grams with runs of spaces collapsed, which keep
// misspellings and run-together words visible. A feature that occurs twice counts twice.
//
// Scoring sums the weights of the features that end inside a segment (prefix sums over the
// offsets), so a text is walked once however many segments overlap.
func walkFeatures(s string, fn func(end int, bucket uint32)) {
	var prev uint64
	havePrev := false
	for i := 0; i < len(s); {
		c := s[i]
		if isSpace(c) {
			i++
			continue
		}
		j := i
		var h uint64
		if isWordByte(c) {
			for j < len(s) && isWordByte(s[j]) {
				j++
			}
			h = hashString(offsetWord, s[i:j])
		} else {
			for j < len(s) && !isWordByte(s[j]) && !isSpace(s[j]) && j-i < 8 {
				j++
			}
			h = hashString(offsetSymbol, s[i:j])
		}
		fn(j, uint32(h&(Dims-1)))
		if havePrev {
			fn(j, uint32(mix(prev, h)&(Dims-1)))
		}
		prev, havePrev = h, true
		i = j
	}
	var win uint32 // the last four bytes
	n := 0
	lastSpace := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isSpace(c) {
			if lastSpace {
				continue
			}
			c, lastSpace = ' ', true
		} else {
			lastSpace = false
		}
		win = win<<8 | uint32(c)
		n++
		if n >= 4 {
			h := (uint64(win) ^ offsetChar) * prime64
			h ^= h >> 29
			fn(i+1, uint32(h&(Dims-1)))
		}
	}
}

// features returns the buckets of s (with repeats) and the value each carries, so that
// the vector has unit length (or less, for texts shorter than minFeatures).
func features(dst []uint32, s string) ([]uint32, float32) {
	walkFeatures(s, func(_ int, b uint32) { dst = append(dst, b) })
	return dst, norm(len(dst))
}

func norm(n int) float32 { return float32(1 / math.Sqrt(float64(max(n, minFeatures)))) }

func isSpace(c byte) bool { return c == ' ' || c == '\n' || c == '\t' || c == '\r' }

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
