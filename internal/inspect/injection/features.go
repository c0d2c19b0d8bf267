package injection

import "math"

// minFeatures is the least count a vector is normalised by.
const minFeatures = 96

// Dims is the number of hashed feature buckets (a power of two).
const Dims = 1 << 18

// features appends the hashed features of a segment (already normalised and lowercased) to
// dst, each bucket once, and returns them with the weight every feature carries (the
// vector is L2-normalised, so long and short segments are on one scale).
//
// Features: word unigrams and bigrams, and character 4-grams inside a window of the text,
// which keeps misspellings, run-together words and symbols ("<|", "###") visible.
func features(dst []uint32, seen map[uint32]struct{}, s string) ([]uint32, float32) {
	clear(seen)
	add := func(h uint64) {
		b := uint32(h & (Dims - 1))
		if _, ok := seen[b]; !ok {
			seen[b] = struct{}{}
			dst = append(dst, b)
		}
	}
	var prev uint64
	havePrev := false
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case isWordByte(c):
			j := i
			for j < len(s) && isWordByte(s[j]) {
				j++
			}
			h := hashString(offsetWord, s[i:j])
			add(h)
			if havePrev {
				add(mix(prev, h))
			}
			prev, havePrev = h, true
			i = j
		case c == ' ' || c == '\n' || c == '\t' || c == '\r':
			i++
		default:
			// A run of symbols is a token too: markup and chat-template tokens live here.
			j := i
			for j < len(s) && !isWordByte(s[j]) && s[j] != ' ' && s[j] != '\n' && s[j] != '\t' && s[j] != '\r' && j-i < 8 {
				j++
			}
			h := hashString(offsetSymbol, s[i:j])
			add(h)
			if havePrev {
				add(mix(prev, h))
			}
			prev, havePrev = h, true
			i = j
		}
	}
	// Character 4-grams over the text with runs of spaces collapsed.
	var win [4]byte
	n := 0
	lastSpace := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == ' ' || c == '\n' || c == '\t' || c == '\r' {
			if lastSpace {
				continue
			}
			c, lastSpace = ' ', true
		} else {
			lastSpace = false
		}
		win[0], win[1], win[2], win[3] = win[1], win[2], win[3], c
		n++
		if n >= 4 {
			h := uint64(offsetChar)
			for _, b := range win {
				h = (h ^ uint64(b)) * prime64
			}
			add(h)
		}
	}
	if len(dst) == 0 {
		return dst, 0
	}
	// Normalised as if it had at least minFeatures features: a very short text has too
	// little evidence for its few features to speak with full weight.
	return dst, float32(1 / math.Sqrt(float64(max(len(dst), minFeatures))))
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
