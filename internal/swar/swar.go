// Package swar tests the bytes of a text eight at a time in a 64-bit word ("SIMD within a
// register"): the JSON-RPC string scanner and the inspection detectors skip long runs this
// way. Each test returns a mask with the high bit of every byte that passes; "any byte" is
// then exact, and so is the lowest set bit (First): a borrow or carry runs only from a byte
// that passes, or, for InRange, from a byte of 0x80 or above, into the bytes after it.
package swar

import (
	"encoding/binary"
	"math/bits"
)

// Ones has 1 in every byte; High has each byte's high bit.
const (
	Ones = 0x0101010101010101
	High = 0x8080808080808080
)

// Load returns s[i:i+8] as a word, s[i] in its lowest byte.
func Load(s string, i int) uint64 { return binary.LittleEndian.Uint64([]byte(s[i : i+8])) }

// Less marks the bytes below n (n at most 0x80).
func Less(x uint64, n byte) uint64 { return (x - uint64(n)*Ones) &^ x & High }

// Eq marks the bytes equal to c.
func Eq(x uint64, c byte) uint64 { return Less(x^uint64(c)*Ones, 1) }

// InRange marks the bytes from lo to hi (lo at least 1), up to the first byte of 0x80 or
// above: callers mark those themselves (x & High).
func InRange(x uint64, lo, hi byte) uint64 {
	return ((x + uint64(0x80-lo)*Ones) ^ (x + uint64(0x80-hi-1)*Ones)) & High
}

// First returns the index of the lowest marked byte of m (m not zero).
func First(m uint64) int { return bits.TrailingZeros64(m) / 8 }
