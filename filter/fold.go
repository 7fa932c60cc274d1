package filter

import "unicode/utf8"

// This file matches object keys the way encoding/json matches them to
// struct fields: exactly first, else case-insensitively. A consumer decoding
// an event into a Go struct reads "Stage" or "ſtage" as the stage, so the
// scanner must see such keys too. It compares bytes and never allocates.

// keyFolds reports whether a key's raw content, decoded, matches name (an
// ASCII field name such as "requestURI") as encoding/json's folding does:
// ASCII letters in either case, and the two non-ASCII runes whose fold is
// an ASCII letter, U+017F (ſ) for s and U+212A (Kelvin sign) for k.
func keyFolds(raw []byte, escaped bool, name string) bool {
	// A variant spells each letter of name in one byte (ASCII), two (ſ),
	// three (K) or six (an escape): most keys fail these first tests.
	if len(raw) < len(name) || len(raw) > 6*len(name) {
		return false
	}
	if c := raw[0]; c < utf8.RuneSelf && c != '\\' && lowerASCII(c) != lowerASCII(name[0]) {
		return false
	}
	if !escaped && len(raw) == len(name) {
		// The common case: a plain ASCII key of the right length.
		for i := 0; i < len(raw); i++ {
			c := raw[i]
			if c >= utf8.RuneSelf {
				return false // a longer spelling of a letter makes the key longer
			}
			if lowerASCII(c) != lowerASCII(name[i]) {
				return false
			}
		}
		return true
	}
	return keyFoldsSlow(raw, escaped, name)
}

// keyFoldsSlow is keyFolds rune by rune, for keys with escapes or
// non-ASCII bytes.
func keyFoldsSlow(raw []byte, escaped bool, name string) bool {
	k := 0
	for i := 0; i < len(raw); {
		var r rune
		switch c := raw[i]; {
		case c == '\\' && escaped:
			r, i = decodeEscape(raw, i)
		case c < utf8.RuneSelf:
			r = rune(c)
			i++
		default:
			var n int
			r, n = utf8.DecodeRune(raw[i:])
			i += n
		}
		if k >= len(name) || foldToASCII(r) != rune(lowerASCII(name[k])) {
			return false
		}
		k++
	}
	return k == len(name)
}

// foldToASCII returns the lower-case ASCII letter r folds to in
// encoding/json's matching, or r itself.
func foldToASCII(r rune) rune {
	switch {
	case r >= 'A' && r <= 'Z':
		return r + ('a' - 'A')
	case r == '\u017f': // LATIN SMALL LETTER LONG S
		return 's'
	case r == '\u212a': // KELVIN SIGN
		return 'k'
	}
	return r
}

func lowerASCII(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + ('a' - 'A')
	}
	return c
}

// isASCII reports whether b has only ASCII bytes.
func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
