package filter

import (
	"encoding/binary"
	"math/bits"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// This file holds the JSON primitives of the event scanner: validating skips,
// string scanning and unescaping. They work on byte offsets into the event and
// never allocate: errors are the only values they create.

// maxDepth bounds the nesting of skipped values. Audit events nest a few dozen
// levels at most; the bound keeps a hostile line from exhausting the stack.
const maxDepth = 512

// SyntaxError is a JSON syntax error at a byte offset of the event.
type SyntaxError struct {
	Offset int
	Msg    string
}

func (e *SyntaxError) Error() string {
	return "invalid JSON at offset " + strconv.Itoa(e.Offset) + ": " + e.Msg
}

func syntaxErr(off int, msg string) error { return &SyntaxError{Offset: off, Msg: msg} }

// isSpace tells JSON white space. Audit logs are compact, so the first test
// settles almost every call.
func isSpace(c byte) bool { return c <= ' ' && (c == ' ' || c == '\t' || c == '\n' || c == '\r') }

func skipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

// skipValue validates the JSON value starting at b[i] and returns the offset
// just after it; depth is the nesting of the value's container.
func skipValue(b []byte, i, depth int) (int, error) {
	if i < len(b) && b[i] == '"' {
		// Most values the scanner skips are strings: they need no stack.
		end, _, err := scanString(b, i)
		return end, err
	}
	return skipNested(b, i, depth)
}

// skipNested is skipValue for any value. Bodies are most of an event's
// bytes, so this is the scanner's hot loop: one iterative pass with the open
// containers kept as bits, rather than a call per member and per nesting
// level.
func skipNested(b []byte, i, depth int) (int, error) {
	var open containerStack
	for {
		// A value starts at b[i].
		if i >= len(b) {
			return i, syntaxErr(i, "unexpected end of input")
		}
		switch c := b[i]; {
		case c == '"':
			end, _, err := scanString(b, i)
			if err != nil {
				return end, err
			}
			i = end
		case c == '{' || c == '[':
			if depth+open.n >= maxDepth {
				return i, syntaxErr(i, "nesting too deep")
			}
			isObject := c == '{'
			i = skipSpace(b, i+1)
			if i < len(b) && b[i] == c+2 { // '{'+2 is '}', '['+2 is ']'
				i++
				break // an empty container is a whole value
			}
			open.push(isObject)
			if isObject {
				var err error
				if i, err = skipKey(b, i); err != nil {
					return i, err
				}
			}
			continue
		case c == '-' || c >= '0' && c <= '9':
			end, err := scanNumber(b, i)
			if err != nil {
				return end, err
			}
			i = end
		case c == 't':
			if !hasLiteral(b, i, "true") {
				return i, syntaxErr(i, "invalid literal")
			}
			i += len("true")
		case c == 'f':
			if !hasLiteral(b, i, "false") {
				return i, syntaxErr(i, "invalid literal")
			}
			i += len("false")
		case c == 'n':
			if !hasLiteral(b, i, "null") {
				return i, syntaxErr(i, "invalid literal")
			}
			i += len("null")
		default:
			return i, syntaxErr(i, "unexpected character "+quoteByte(c))
		}

		// A value ended at i: close the containers it ends, then go on to
		// the next member or element, or return when nothing is open.
		for open.n > 0 {
			i = skipSpace(b, i)
			inObject := open.top()
			if i >= len(b) {
				if inObject {
					return i, syntaxErr(i, "unexpected end of input in object")
				}
				return i, syntaxErr(i, "unexpected end of input in array")
			}
			c := b[i]
			if c == ',' {
				i = skipSpace(b, i+1)
				if inObject {
					var err error
					if i, err = skipKey(b, i); err != nil {
						return i, err
					}
				}
				break
			}
			if inObject && c == '}' || !inObject && c == ']' {
				i++
				open.pop()
				continue
			}
			if inObject {
				return i, syntaxErr(i, "expected ',' or '}' in object")
			}
			return i, syntaxErr(i, "expected ',' or ']' in array")
		}
		if open.n == 0 {
			return i, nil
		}
	}
}

// skipKey validates an object key and its colon at b[i] and returns the
// offset of the member's value.
func skipKey(b []byte, i int) (int, error) {
	if i >= len(b) || b[i] != '"' {
		return i, syntaxErr(i, "expected object key")
	}
	end, _, err := scanString(b, i)
	if err != nil {
		return end, err
	}
	i = skipSpace(b, end)
	if i >= len(b) || b[i] != ':' {
		return i, syntaxErr(i, "expected ':' after object key")
	}
	return skipSpace(b, i+1), nil
}

// containerStack records, for each open container of a skipped value,
// whether it is an object (1) or an array (0).
type containerStack struct {
	bits [maxDepth / 64]uint64
	n    int
}

func (s *containerStack) push(isObject bool) {
	w, bit := s.n>>6, uint64(1)<<(s.n&63)
	if isObject {
		s.bits[w] |= bit
	} else {
		s.bits[w] &^= bit
	}
	s.n++
}

func (s *containerStack) pop() { s.n-- }

func (s *containerStack) top() bool {
	k := s.n - 1
	return s.bits[k>>6]&(1<<(k&63)) != 0
}

func hasLiteral(b []byte, i int, lit string) bool {
	return len(b)-i >= len(lit) && string(b[i:i+len(lit)]) == lit
}

// member is one "key": value pair of an object, by offsets into the event.
type member struct {
	start      int // the key's opening quote
	keyStart   int // the key's raw content, between the quotes
	keyEnd     int
	keyEscaped bool
	valStart   int
}

// objectIter walks the members of an object. After next finds a member (in
// m, valid until the next call), the caller must scan its value and report
// its end with valueEnd.
type objectIter struct {
	b     []byte
	pos   int
	count int
	m     member
}

// begin starts at the '{' at b[i]; a non-object is reported by next.
func (it *objectIter) begin(b []byte, i int) {
	it.b, it.pos, it.count = b, i, -1
}

func (it *objectIter) next() (ok bool, err error) {
	b := it.b
	if it.count < 0 {
		if it.pos >= len(b) || b[it.pos] != '{' {
			return false, syntaxErr(it.pos, "expected object")
		}
		it.pos = skipSpace(b, it.pos+1)
		if it.pos < len(b) && b[it.pos] == '}' {
			it.pos++
			return false, nil
		}
	} else {
		it.pos = skipSpace(b, it.pos)
		if it.pos >= len(b) {
			return false, syntaxErr(it.pos, "unexpected end of input in object")
		}
		switch b[it.pos] {
		case '}':
			it.pos++
			return false, nil
		case ',':
			it.pos = skipSpace(b, it.pos+1)
		default:
			return false, syntaxErr(it.pos, "expected ',' or '}' in object")
		}
	}
	it.count++
	if it.pos >= len(b) || b[it.pos] != '"' {
		return false, syntaxErr(it.pos, "expected object key")
	}
	end, escaped, err := scanString(b, it.pos)
	if err != nil {
		return false, err
	}
	it.m = member{start: it.pos, keyStart: it.pos + 1, keyEnd: end - 1, keyEscaped: escaped}
	i := skipSpace(b, end)
	if i >= len(b) || b[i] != ':' {
		return false, syntaxErr(i, "expected ':' after object key")
	}
	it.m.valStart = skipSpace(b, i+1)
	return true, nil
}

func (it *objectIter) valueEnd(end int) { it.pos = end }

// keyIs compares a member's key with name, decoding escapes on the fly.
func (it *objectIter) keyIs(m *member, name string) bool {
	raw := it.b[m.keyStart:m.keyEnd]
	if !m.keyEscaped {
		return string(raw) == name
	}
	return unescapedEquals(raw, name)
}

// arrayIter walks the elements of an array; after next, the caller scans the
// element and sets pos to its end.
type arrayIter struct {
	b     []byte
	pos   int
	count int
}

func (it *arrayIter) begin(b []byte, i int) { it.b, it.pos, it.count = b, i, -1 }

func (it *arrayIter) next() (start int, ok bool, err error) {
	b := it.b
	if it.count < 0 {
		if it.pos >= len(b) || b[it.pos] != '[' {
			return 0, false, syntaxErr(it.pos, "expected array")
		}
		it.pos = skipSpace(b, it.pos+1)
		if it.pos < len(b) && b[it.pos] == ']' {
			it.pos++
			return 0, false, nil
		}
	} else {
		it.pos = skipSpace(b, it.pos)
		if it.pos >= len(b) {
			return 0, false, syntaxErr(it.pos, "unexpected end of input in array")
		}
		switch b[it.pos] {
		case ']':
			it.pos++
			return 0, false, nil
		case ',':
			it.pos = skipSpace(b, it.pos+1)
		default:
			return 0, false, syntaxErr(it.pos, "expected ',' or ']' in array")
		}
	}
	it.count++
	return it.pos, true, nil
}

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
// character: each of the three tests sets the high bit of a byte that
// matches, and a false match can only come from the borrow of a true one
// below it, so the lowest set bit is exact and the ones above it may not be.
func specialBytes(v uint64) uint64 {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	quote := v ^ (ones * '"')
	backslash := v ^ (ones * '\\')
	return ((quote-ones)&^quote | (backslash-ones)&^backslash | (v-ones*0x20)&^v) & highs
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

func scanNumber(b []byte, i int) (int, error) {
	start := i
	if b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		i = skipDigits(b, i)
	default:
		return i, syntaxErr(start, "invalid number")
	}
	if i < len(b) && b[i] == '.' {
		j := skipDigits(b, i+1)
		if j == i+1 {
			return j, syntaxErr(start, "invalid number")
		}
		i = j
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j := skipDigits(b, i)
		if j == i {
			return j, syntaxErr(start, "invalid number")
		}
		i = j
	}
	return i, nil
}

func skipDigits(b []byte, i int) int {
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
	}
	return i
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
	for i := 0; i < len(raw); {
		if raw[i] != '\\' {
			j := i + 1
			for j < len(raw) && raw[j] != '\\' {
				j++
			}
			dst = append(dst, raw[i:j]...)
			i = j
			continue
		}
		var r rune
		r, i = decodeEscape(raw, i)
		dst = utf8.AppendRune(dst, r)
	}
	return dst
}

// unescapedEquals reports whether the valid JSON string content raw decodes to s.
func unescapedEquals(raw []byte, s string) bool {
	k := 0
	for i := 0; i < len(raw); {
		if raw[i] != '\\' {
			if k >= len(s) || s[k] != raw[i] {
				return false
			}
			i++
			k++
			continue
		}
		var r rune
		r, i = decodeEscape(raw, i)
		var buf [utf8.UTFMax]byte
		n := utf8.EncodeRune(buf[:], r)
		if len(s)-k < n || s[k:k+n] != string(buf[:n]) {
			return false
		}
		k += n
	}
	return k == len(s)
}

func quoteByte(c byte) string {
	if c >= 0x20 && c < 0x7f {
		return "'" + string(rune(c)) + "'"
	}
	return "0x" + string("0123456789abcdef"[c>>4]) + string("0123456789abcdef"[c&15])
}

func decodeRune(b []byte) (rune, int) { return utf8.DecodeRune(b) }

func appendRune(dst []byte, r rune) []byte { return utf8.AppendRune(dst, r) }

func scanLiteral(b []byte, i int, lit string) (int, error) {
	if !hasLiteral(b, i, lit) {
		return i, syntaxErr(i, "invalid literal")
	}
	return i + len(lit), nil
}
