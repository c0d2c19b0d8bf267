package swar

import (
	"encoding/binary"
	"testing"
)

// TestEveryByte: for every byte value at every position of a word, after bytes that pass and
// bytes that do not, each test's "any" and First agree with a byte-by-byte check.
func TestEveryByte(t *testing.T) {
	tests := []struct {
		name  string
		mask  func(x uint64) uint64
		pass  func(c byte) bool
		ascii bool // exact only up to the first byte of 0x80 or above
	}{
		{"Less 0x21", func(x uint64) uint64 { return Less(x, 0x21) }, func(c byte) bool { return c < 0x21 }, false},
		{"Less 1", func(x uint64) uint64 { return Less(x, 1) }, func(c byte) bool { return c == 0 }, false},
		{"Eq '_'", func(x uint64) uint64 { return Eq(x, '_') }, func(c byte) bool { return c == '_' }, false},
		{"InRange A-Z", func(x uint64) uint64 { return InRange(x, 'A', 'Z') }, func(c byte) bool { return c >= 'A' && c <= 'Z' }, true},
		{"InRange *-.", func(x uint64) uint64 { return InRange(x, '*', '.') }, func(c byte) bool { return c >= '*' && c <= '.' }, true},
	}
	for _, tc := range tests {
		for _, fill := range []byte{'a', 0, '_', 'B', 0x20, 0xff, '+'} {
			for pos := range 8 {
				for c := range 256 {
					var w [8]byte
					for k := range w {
						w[k] = fill
					}
					w[pos] = byte(c)
					x := binary.LittleEndian.Uint64(w[:])
					first := -1
					for k, b := range w {
						if tc.ascii && b >= 0x80 {
							break
						}
						if tc.pass(b) {
							first = k
							break
						}
					}
					m := tc.mask(x)
					if tc.ascii {
						m |= x & High // as callers do
						if first < 0 {
							for k, b := range w {
								if b >= 0x80 {
									first = k
									break
								}
							}
						} else {
							for k := 0; k < first; k++ {
								if w[k] >= 0x80 {
									first = k
									break
								}
							}
						}
					}
					if (m != 0) != (first >= 0) || first >= 0 && First(m) != first {
						t.Fatalf("%s on % x: mask %016x, want first %d", tc.name, w, m, first)
					}
				}
			}
		}
	}
}

func TestLoad(t *testing.T) {
	if got := Load("xabcdefgh", 1); got != binary.LittleEndian.Uint64([]byte("abcdefgh")) || byte(got) != 'a' {
		t.Fatalf("Load = %x", got)
	}
}
