package filter

import (
	"encoding/binary"
	"math/bits"
	"math/rand/v2"
	"testing"
)

// firstSpecial is specialBytes' contract, byte by byte: the index of the
// first quote, backslash or control character of w, or 8.
func firstSpecial(w [8]byte) int {
	for i, c := range w {
		if c == '"' || c == '\\' || c < 0x20 {
			return i
		}
	}
	return 8
}

// specialIndex is what the scanner reads from specialBytes: the lowest
// flagged byte, or 8.
func specialIndex(w [8]byte) int {
	if s := specialBytes(binary.LittleEndian.Uint64(w[:])); s != 0 {
		return bits.TrailingZeros64(s) >> 3
	}
	return 8
}

// The lowest byte specialBytes flags is the first special byte: for every
// byte value at every position among plain bytes, for every pair of byte
// values at every pair of positions, and for random words.
func TestSpecialBytes(t *testing.T) {
	for pos := range 8 {
		for c := range 256 {
			w := [8]byte{'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a'}
			w[pos] = byte(c)
			if got, want := specialIndex(w), firstSpecial(w); got != want {
				t.Fatalf("%q: index %d; want %d", w, got, want)
			}
		}
	}
	for i := range 8 {
		for j := i + 1; j < 8; j++ {
			for c := range 256 {
				for d := range 256 {
					w := [8]byte{'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a'}
					w[i], w[j] = byte(c), byte(d)
					if got, want := specialIndex(w), firstSpecial(w); got != want {
						t.Fatalf("%q: index %d; want %d", w, got, want)
					}
				}
			}
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 1_000_000 {
		var w [8]byte
		binary.LittleEndian.PutUint64(w[:], r.Uint64())
		if got, want := specialIndex(w), firstSpecial(w); got != want {
			t.Fatalf("%q: index %d; want %d", w, got, want)
		}
	}
}
