package chunk

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/tinylib/msgp/msgp"
)

var (
	// ErrTruncated means that the buffer ends inside a msgpack object: a
	// chunk cut in the middle of an event, or a record view that is too
	// short for the headers it contains.
	ErrTruncated = errors.New("truncated: the data ends inside a msgpack object")

	// ErrNotString means that LookupString found the key but its value is
	// neither a msgpack str nor a bin.
	ErrNotString = errors.New("value is not a string")
)

// Error describes a malformed event or record. Use errors.Is with
// [ErrTruncated] or [ErrNotString] to test for those causes.
type Error struct {
	// Event is the index of the event in the chunk, counting from 0 and
	// including group markers. It is -1 for errors of LookupString and
	// AppendJSON, which do not know about events.
	Event int

	// Offset is the byte offset of the faulty element: from the start of
	// the chunk for Reader errors, from the start of the record for
	// LookupString and AppendJSON errors.
	Offset int

	// Part names the part of the event or record that is wrong: "event",
	// "header", "timestamp", "metadata", "record", or `key "log"`.
	Part string

	// Err is the cause.
	Err error

	// Skipped reports that the event itself was well-formed msgpack, so
	// the Reader moved past it and the next call to Next continues with
	// the following event. When it is false the rest of the chunk is
	// unreadable and Next keeps returning this error.
	Skipped bool
}

func (e *Error) Error() string {
	var b []byte
	b = append(b, "chunk: "...)
	if e.Event >= 0 {
		b = append(b, "event "...)
		b = strconv.AppendInt(b, int64(e.Event), 10)
		b = append(b, ' ')
	}
	b = append(b, "at offset "...)
	b = strconv.AppendInt(b, int64(e.Offset), 10)
	b = append(b, ": "...)
	b = append(b, e.Part...)
	b = append(b, ": "...)
	b = append(b, e.Err.Error()...)
	return string(b)
}

func (e *Error) Unwrap() error { return e.Err }

// typeError reports a msgpack value of the wrong type.
type typeError struct {
	lead byte   // the value's first byte
	want string // what was expected
}

func (e typeError) Error() string {
	t := msgp.NextType([]byte{e.lead})
	if t == msgp.InvalidType {
		return fmt.Sprintf("invalid msgpack byte 0x%02x, want %s", e.lead, e.want)
	}
	return fmt.Sprintf("unexpected msgpack type 0x%02x (%s), want %s", e.lead, t, e.want)
}

// wrongType returns the error for the value at the start of b, which is not
// of type want. An empty b means the data ended where a value was expected.
func wrongType(b []byte, want string) error {
	if len(b) == 0 {
		return ErrTruncated
	}
	return typeError{lead: b[0], want: want}
}

// cause translates an error of the msgp package into this package's terms.
// b is the input of the msgp call that failed; want names the expected type.
func cause(err error, b []byte, want string) error {
	if errors.Is(err, msgp.ErrShortBytes) {
		return ErrTruncated
	}
	var te msgp.TypeError
	if errors.As(err, &te) {
		return wrongType(b, want)
	}
	var ip msgp.InvalidPrefixError
	if errors.As(err, &ip) {
		return fmt.Errorf("invalid msgpack byte 0x%02x", byte(ip))
	}
	return err
}

// offset returns the position of rest within base, where rest is a suffix of
// base (as every slice returned by msgp's byte readers is).
func offset(base, rest []byte) int { return len(base) - len(rest) }
