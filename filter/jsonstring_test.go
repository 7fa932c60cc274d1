package filter

import (
	"bytes"
	"testing"
)

// TestPlainRun puts every byte value at every position of runs of every
// length up to three words, behind some plain bytes, and checks plainRun
// against the byte-at-a-time definition.
func TestPlainRun(t *testing.T) {
	want := func(b []byte, j int) int {
		for ; j < len(b); j++ {
			if c := b[j]; c == '"' || c == '\\' || c < 0x20 {
				return j
			}
		}
		return j
	}
	for n := range 25 {
		for pos := range n {
			for c := range 256 {
				b := bytes.Repeat([]byte{'a'}, n)
				b[pos] = byte(c)
				// A second special byte after the first must not hide it,
				// whatever borrow the first one causes.
				if pos+1 < n {
					b[pos+1] = 0x1f
				}
				for start := 0; start <= pos; start += max(pos, 1) {
					if got, w := plainRun(b, start), want(b, start); got != w {
						t.Fatalf("plainRun(%q, %d) = %d; want %d", b, start, got, w)
					}
				}
			}
		}
	}
}
