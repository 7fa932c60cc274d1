package filter

import (
	"errors"
	"strconv"
)

// This file holds the JSON primitives of the event scanner: validating skips
// of values, and walks over objects and arrays (strings are in jsonstring.go).
// They work on byte offsets into the event and never allocate: errors are the
// only values they create.

// maxBodyDepth is the deepest nesting of a top-level member's value that
// the scanner accepts, and maxDepth that of a whole event. kube-apiserver
// logs requestObject and responseObject as runtime.Unknown, whose
// MarshalJSON returns the raw body (k8s.io/apimachinery
// pkg/runtime/embedded.go); encoding/json compacts a marshaler's output with
// a fresh scanner, which refuses nesting beyond its maxNestingDepth of 10000
// (encoding/json scanner.go; sigs.k8s.io/json, which decodes request bodies,
// has the same limit). A patch body is logged as sent, so a body may nest
// exactly 10000 levels, inside the event object: 10001 in all.
const (
	maxBodyDepth = 10000
	maxDepth     = 1 + maxBodyDepth
)

// shallowDepth is the nesting that skipNested handles with its stack in
// one machine word per 64 levels on its own frame; deeper values, which only
// a hostile event has, are walked again with room for maxDepth levels.
const shallowDepth = 512

// SyntaxError is a JSON syntax error at a byte offset of the event.
type SyntaxError struct {
	Offset int
	Msg    string
}

func (e *SyntaxError) Error() string {
	return "invalid JSON at offset " + strconv.Itoa(e.Offset) + ": " + e.Msg
}

// msgTooDeep is the message of a SyntaxError for a value nested deeper than
// maxDepth; scanMember names the member that holds it (tooDeep).
const msgTooDeep = "nesting too deep"

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

// skipNested is skipValue for any value. The common shallow value costs a
// small stack; one that nests deeper than shallowDepth is walked again from
// its start by skipDeep, so the hot path never clears a stack for maxDepth.
func skipNested(b []byte, i, depth int) (int, error) {
	var bits [shallowDepth / 64]uint64
	open := containerStack{bits: bits[:]}
	end, err := walkNested(b, i, depth, &open)
	if errors.Is(err, errNeedDeeperStack) {
		return skipDeep(b, i, depth)
	}
	return end, err
}

// skipDeep is skipNested with room for every level up to maxDepth: 1.25 KB
// of goroutine stack, taken only by a value deeper than shallowDepth.
//
//go:noinline
func skipDeep(b []byte, i, depth int) (int, error) {
	var bits [(maxDepth + 63) / 64]uint64
	open := containerStack{bits: bits[:]}
	return walkNested(b, i, depth, &open)
}

// errNeedDeeperStack tells skipNested that a value nests deeper than its
// small stack holds. It never leaves this file.
var errNeedDeeperStack = errors.New("filter: nesting beyond the shallow stack")

// walkNested validates the value at b[i] with open, empty, for its stack.
// Bodies are most of an event's bytes, so this is the scanner's hot loop:
// one iterative pass with the open containers kept as bits, rather than a
// call per member and per nesting level. It refuses a value that would nest
// beyond maxDepth with depth containers around it, and returns
// errNeedDeeperStack when open is full before that.
func walkNested(b []byte, i, depth int, open *containerStack) (int, error) {
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
				return i, &SyntaxError{Offset: i, Msg: msgTooDeep}
			}
			if open.full() {
				return i, errNeedDeeperStack
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
		case c == '-' || c >= '0' && c <= '9' || c == 't' || c == 'f' || c == 'n':
			end, err := scanScalar(b, i)
			if err != nil {
				return end, err
			}
			i = end
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
// whether it is an object (1) or an array (0). bits is storage of the
// caller's frame.
type containerStack struct {
	bits []uint64
	n    int
}

func (s *containerStack) full() bool { return s.n == len(s.bits)*64 }

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

// scanScalar validates the number or literal that starts at b[i], whose
// first byte says which it is.
func scanScalar(b []byte, i int) (int, error) {
	switch b[i] {
	case 't':
		return scanLiteral(b, i, "true")
	case 'f':
		return scanLiteral(b, i, "false")
	case 'n':
		return scanLiteral(b, i, "null")
	}
	return scanNumber(b, i)
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
	return keyEquals(it.b[m.keyStart:m.keyEnd], m.keyEscaped, name)
}

// keyEquals compares a key's raw content with name, decoding escapes on the
// fly when it has any.
func keyEquals(raw []byte, escaped bool, name string) bool {
	if !escaped {
		return string(raw) == name
	}
	return unescapedEquals(raw, name)
}

// keyHasPrefix tells whether a key's raw content, decoded, starts with
// prefix.
func keyHasPrefix(raw []byte, escaped bool, prefix string) bool {
	if !escaped {
		return len(raw) >= len(prefix) && string(raw[:len(prefix)]) == prefix
	}
	return unescapedHasPrefix(raw, prefix)
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

func quoteByte(c byte) string {
	if c >= 0x20 && c < 0x7f {
		return "'" + string(rune(c)) + "'"
	}
	return "0x" + string("0123456789abcdef"[c>>4]) + string("0123456789abcdef"[c&15])
}

func scanLiteral(b []byte, i int, lit string) (int, error) {
	if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
		return i, syntaxErr(i, "invalid literal")
	}
	return i + len(lit), nil
}
