package chunk

import (
	"fmt"

	"github.com/tinylib/msgp/msgp"
)

// LookupString finds the top-level key in record, a msgpack map such as
// Record.Body, and returns its value when that value is a msgpack str or bin.
// This is the fast path for the tail input without a parser, whose records
// are {"log": "<raw line>"}: LookupString(rec.Body, "log") returns the line.
//
// Keys are compared byte for byte (case-sensitively) and may be str or bin;
// keys of other types never match. If the key occurs more than once the
// first occurrence wins. Only the bytes up to the matching key's value are
// examined.
//
// val is a view into record, valid as long as record is; nothing is copied
// or retained. found reports whether the key is present. err is non-nil when
// record is not a well-formed map up to the key, or when the key's value is
// not a string (then found is true and errors.Is(err, ErrNotString)).
func LookupString(record []byte, key string) (val []byte, found bool, err error) {
	n, b, err := msgp.ReadMapHeaderBytes(record)
	if err != nil {
		return nil, false, recordError(record, record, "record", cause(err, record, "map"))
	}
	for ; n > 0; n-- {
		k, rest, isStr, err := readKey(b)
		if err != nil {
			return nil, false, recordError(record, b, "record", err)
		}
		if isStr && string(k) == key {
			return readStringValue(record, rest, key)
		}
		if b, err = msgp.Skip(rest); err != nil {
			return nil, false, recordError(record, b, "record", cause(err, b, "value"))
		}
	}
	return nil, false, nil
}

// readKey reads the map key at the start of b. isStr reports a str or bin
// key, returned as a view; keys of other types are skipped.
func readKey(b []byte) (k, rest []byte, isStr bool, err error) {
	switch msgp.NextType(b) {
	case msgp.StrType:
		k, rest, err = msgp.ReadStringZC(b)
	case msgp.BinType:
		k, rest, err = msgp.ReadBytesZC(b)
	default:
		rest, err = msgp.Skip(b)
		if err != nil {
			return nil, rest, false, cause(err, rest, "key")
		}
		return nil, rest, false, nil
	}
	if err != nil {
		return nil, b, false, cause(err, b, "key")
	}
	return k, rest, true, nil
}

// readStringValue returns the str or bin value at the start of b, the value
// of key in record.
func readStringValue(record, b []byte, key string) ([]byte, bool, error) {
	var (
		v   []byte
		err error
	)
	switch msgp.NextType(b) {
	case msgp.StrType:
		v, _, err = msgp.ReadStringZC(b)
	case msgp.BinType:
		v, _, err = msgp.ReadBytesZC(b)
	default:
		if len(b) == 0 {
			err = ErrTruncated
		} else {
			err = fmt.Errorf("%w: msgpack type 0x%02x (%s)", ErrNotString, b[0], msgp.NextType(b[:1]))
		}
		return nil, true, recordError(record, b, fmt.Sprintf("key %q", key), err)
	}
	if err != nil {
		return nil, true, recordError(record, b, fmt.Sprintf("key %q", key), cause(err, b, "str or bin"))
	}
	return v[:len(v):len(v)], true, nil // capped: appending must not overwrite record
}

// recordError builds the error for a fault at rest, a suffix of record.
func recordError(record, rest []byte, part string, err error) *Error {
	return &Error{Event: -1, Offset: offset(record, rest), Part: part, Err: err}
}
