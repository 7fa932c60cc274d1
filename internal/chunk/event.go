package chunk

import (
	"fmt"

	"github.com/tinylib/msgp/msgp"
)

// readEvent decodes the event at r.off and moves r.off past it.
func (r *Reader) readEvent() (Record, error) {
	start := r.off
	b := r.data[start:]

	n, p, err := msgp.ReadArrayHeaderBytes(b)
	if err != nil {
		return Record{}, r.fail(start, start, "event", cause(err, b, "array [header or timestamp, record]"))
	}
	if n != 2 {
		return Record{}, r.fail(start, start, "event", fmt.Errorf("array of %d elements, want 2", n))
	}

	rec := Record{Offset: start}
	if msgp.NextType(p) == msgp.ArrayType {
		// [[timestamp, metadata], record]
		at := r.pos(p)
		hn, q, err := msgp.ReadArrayHeaderBytes(p)
		if err != nil {
			return Record{}, r.fail(start, at, "header", cause(err, p, "array"))
		}
		if hn != 2 {
			return Record{}, r.fail(start, at, "header", fmt.Errorf("array of %d elements, want 2 [timestamp, metadata]", hn))
		}
		if p, err = r.readTimestamp(q, &rec); err != nil {
			return Record{}, r.fail(start, r.pos(q), "timestamp", err)
		}
		if rec.Metadata, p, err = readMap(p); err != nil {
			return Record{}, r.fail(start, r.pos(p), "metadata", err)
		}
	} else {
		// [timestamp, record]
		q := p
		if p, err = r.readTimestamp(q, &rec); err != nil {
			return Record{}, r.fail(start, r.pos(q), "timestamp", err)
		}
	}

	if rec.Body, p, err = readMap(p); err != nil {
		return Record{}, r.fail(start, r.pos(p), "record", err)
	}
	r.off = r.pos(p)
	r.events++
	return rec, nil
}

// readMap returns the msgpack map at the start of b as a view, and the rest
// of b. On error, rest starts at the faulty element.
func readMap(b []byte) (m, rest []byte, err error) {
	if msgp.NextType(b) != msgp.MapType {
		return nil, b, wrongType(b, "map")
	}
	rest, err = msgp.Skip(b)
	if err != nil {
		return nil, rest, cause(err, rest, "map")
	}
	n := len(b) - len(rest)
	return b[:n:n], rest, nil // capped: appending to a view must not overwrite the chunk
}

// pos returns the offset within the chunk of rest, a suffix of it.
func (r *Reader) pos(rest []byte) int { return offset(r.data, rest) }

// fail builds the error for the event that starts at start, with the fault
// at offset at. If the event is well-formed msgpack the reader moves past it
// and the error is Skipped; otherwise the error becomes sticky.
func (r *Reader) fail(start, at int, part string, err error) *Error {
	e := &Error{Event: r.events, Offset: at, Part: part, Err: err}
	rest, serr := msgp.Skip(r.data[start:])
	if serr == nil {
		e.Skipped = true
		r.off = r.pos(rest)
		r.events++
	} else {
		r.err = e
	}
	return e
}
