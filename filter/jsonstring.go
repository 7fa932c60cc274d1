package filter

import (
	"bytes"
	"encoding/binary"
	"math/bits"
	"unicode/utf16"
	"unicode/utf8"
)

// This file holds the JSON string primitives of the event scanner: finding a
// string's end while validating it, and decoding its escapes. Like the rest
// of the scanner they work on byte offsets and never allocate.

// plainRun returns the offset of the first byte at or after b[j] that a
// JSON string cannot hold as it is (a quote, a backslash or a control
// character), or len(b). Strings are most of an event's bytes, so it looks
// at eight bytes per step (specialBytes).
func plainRun(b []byte, j int) int {
	for ; j+8 <= len(b); j += 8 {
		if special := specialBytes(binary.LittleEndian.Uint64(b[j:])); special != 0 {
			return j + bits.TrailingZeros64(special)>>3
		}
	}
	for ; j < len(b); j++ {
		if c := b[j]; c == '"' || c == '\\' || c < 0x20 {
			return j
		}
	}
	return j
}

// specialBytes sets the high bit of each byte of v, eight bytes of string
// content in little-endian order, that is a quote, a backslash or a control
// character. Flipping bit 1 turns a quote (0x22) into 0x20 and keeps every
// control character below 0x20, and no other byte below 0x21, so one test
// for bytes below 0x21 finds both, and a second finds backslashes. Each
// test sets the high bit of a byte that matches, and a false match can only
// come from the borrow of a true one below it, so the lowest set bit is
// exact and the ones above it may not be.
func specialBytes(v uint64) uint64 {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	quoteOrControl := v ^ (ones * 0x02)
	backslash := v ^ (ones * '\\')
	return ((quoteOrControl-ones*0x21)&^quoteOrControl | (backslash-ones)&^backslash) & highs
}

// scanString validates the string whose opening quote is b[i] and returns the
// offset after its closing quote, and whether it contains escapes.
func scanString(b []byte, i int) (end int, escaped bool, err error) {
	// The first run of plain bytes is looked for here rather than through
	// plainRun: an event has dozens of strings, most of them a word or two
	// long and without escapes, and the call was a measurable part of each.
	j := i + 1
	for ; j+8 <= len(b); j += 8 {
		v := binary.LittleEndian.Uint64(b[j:])
		if special := specialBytes(v); special != 0 {
			// The special byte is taken from v rather than loaded again.
			shift := bits.TrailingZeros64(special) &^ 7
			j += shift >> 3
			if byte(v>>shift) == '"' {
				return j + 1, false, nil
			}
			return scanStringRest(b, j)
		}
	}
	return scanStringRest(b, j)
}

// scanStringRest goes on with scanString from b[j], a byte of the string's
// content.
func scanStringRest(b []byte, j int) (end int, escaped bool, err error) {
	for {
		j = plainRun(b, j)
		if j >= len(b) {
			return len(b), escaped, syntaxErr(len(b), "unexpected end of input in string")
		}
		switch b[j] {
		case '"':
			return j + 1, escaped, nil
		case '\\':
			escaped = true
			j++
			if j >= len(b) {
				return j, escaped, syntaxErr(j, "unexpected end of input in string")
			}
			switch b[j] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if j+4 >= len(b) || !isHex4(b[j+1:j+5]) {
					return j, escaped, syntaxErr(j, `invalid \u escape`)
				}
				j += 4
			default:
				return j, escaped, syntaxErr(j, "invalid escape "+quoteByte(b[j]))
			}
			j++
		default:
			return j, escaped, syntaxErr(j, "control character in string")
		}
	}
}

func isHex4(b []byte) bool {
	for _, c := range b[:4] {
		if hexVal(c) < 0 {
			return false
		}
	}
	return true
}

func hexVal(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// decodeEscape decodes the escape sequence at raw[i] == '\\' of a string that
// scanString accepted. It returns the rune and the offset after the sequence.
// Lone or mismatched surrogates become U+FFFD, as encoding/json decodes them.
func decodeEscape(raw []byte, i int) (rune, int) {
	switch c := raw[i+1]; c {
	case 'b':
		return '\b', i + 2
	case 'f':
		return '\f', i + 2
	case 'n':
		return '\n', i + 2
	case 'r':
		return '\r', i + 2
	case 't':
		return '\t', i + 2
	case 'u':
		r := hex4(raw[i+2:])
		if utf16.IsSurrogate(r) {
			if i+12 <= len(raw) && raw[i+6] == '\\' && raw[i+7] == 'u' {
				if r2 := utf16.DecodeRune(r, hex4(raw[i+8:])); r2 != utf8.RuneError {
					return r2, i + 12
				}
			}
			return utf8.RuneError, i + 6
		}
		return r, i + 6
	default: // '"', '\\', '/'
		return rune(c), i + 2
	}
}

func hex4(b []byte) rune {
	return rune(hexVal(b[0])<<12 | hexVal(b[1])<<8 | hexVal(b[2])<<4 | hexVal(b[3]))
}

// appendUnescaped appends the decoded content of a valid JSON string (raw is
// what lies between the quotes) to dst.
func appendUnescaped(dst, raw []byte) []byte {
	for {
		j := bytes.IndexByte(raw, '\\')
		if j < 0 {
			return append(dst, raw...)
		}
		dst = append(dst, raw[:j]...)
		r, next := decodeEscape(raw, j)
		dst = utf8.AppendRune(dst, r)
		raw = raw[next:]
	}
}

// unescapedEquals reports whether the valid JSON string content raw decodes to s.
func unescapedEquals(raw []byte, s string) bool {
	n, ok := unescapedPrefixLen(raw, s)
	return ok && n == len(s)
}

// unescapedHasPrefix reports whether the valid JSON string content raw
// decodes to a string that starts with prefix, which must end on a rune
// boundary.
func unescapedHasPrefix(raw []byte, prefix string) bool {
	n, _ := unescapedPrefixLen(raw, prefix)
	return n == len(prefix)
}

// unescapedPrefixLen decodes raw, a valid JSON string's content, against s:
// n is how many bytes of s the decoded string matches from its start, and
// ok whether raw decodes to a prefix of s.
func unescapedPrefixLen(raw []byte, s string) (n int, ok bool) {
	k := 0
	for i := 0; i < len(raw); {
		if raw[i] != '\\' {
			if k >= len(s) || s[k] != raw[i] {
				return k, false
			}
			i++
			k++
			continue
		}
		var r rune
		r, i = decodeEscape(raw, i)
		var buf [utf8.UTFMax]byte
		w := utf8.EncodeRune(buf[:], r)
		if len(s)-k < w || s[k:k+w] != string(buf[:w]) {
			return k, false
		}
		k += w
	}
	return k, true
}
