package chunk

import (
	"io"

	"github.com/tinylib/msgp/msgp"
)

// Reader walks the events of one chunk. The zero value is an empty reader;
// call Reset to give it a chunk. A Reader is not safe for concurrent use, but
// it is small: give each FlushCtx call (or each worker) its own.
//
// Reading allocates nothing per event.
type Reader struct {
	// ReadGroups makes Next return group markers (with Record.Group set)
	// instead of skipping them. They are counted either way.
	ReadGroups bool

	data   []byte
	off    int     // start of the next event
	events int     // events consumed, including group markers and skipped events
	groups int     // group markers seen
	err    *Error  // sticky framing error
	ext    extView // scratch for timestamp ext values, kept here so reads do not allocate
}

// Reset makes the reader read data from its start, and clears the counters
// and any error. The reader keeps a reference to data until the next Reset;
// Reset(nil) drops it.
func (r *Reader) Reset(data []byte) {
	*r = Reader{ReadGroups: r.ReadGroups, data: data}
}

// Next returns the next event of the chunk, skipping group markers unless
// ReadGroups is set. It returns io.EOF after the last event.
//
// On a malformed event it returns an *Error. If the error's Skipped field is
// true the reader has moved past the event and Next may be called again;
// otherwise the event's framing is broken, the rest of the chunk is
// unreadable (msgpack has no resynchronisation point), and every later call
// returns the same error.
//
// The record's views are valid as long as the chunk's buffer is.
func (r *Reader) Next() (Record, error) {
	for {
		if r.err != nil {
			return Record{}, r.err
		}
		if r.off >= len(r.data) {
			return Record{}, io.EOF
		}
		rec, err := r.readEvent()
		if err != nil {
			return Record{}, err
		}
		if rec.Group != NotGroup {
			r.groups++
			if !r.ReadGroups {
				continue
			}
		}
		return rec, nil
	}
}

// Offset returns the byte offset of the next event to be read.
func (r *Reader) Offset() int { return r.off }

// EventEnd returns where the event that starts at data[off] ends: the start
// of the next one, or len(data) after the last. It decodes nothing, so it
// finds event boundaries at a fraction of Next's cost; every boundary it
// finds is one Next finds too, for any event well-formed enough to skip.
// An error means the framing breaks before the event's end.
func EventEnd(data []byte, off int) (int, error) {
	rest, err := msgp.Skip(data[off:])
	if err != nil {
		return off, err
	}
	return len(data) - len(rest), nil
}

// Seek makes the next event read the one at off, the start of an event of
// the chunk (as Offset or EventEnd give it), and events the number of
// events before it. Errors keep their offsets and event numbers in the whole
// chunk, which lets several readers each take a part of one chunk.
func (r *Reader) Seek(off, events int) { r.off, r.events = off, events }

// Events returns the number of events consumed so far, including group
// markers and events skipped because of an error.
func (r *Reader) Events() int { return r.events }

// GroupMarkers returns the number of group markers (start and end) seen so
// far, whether or not they were returned by Next.
func (r *Reader) GroupMarkers() int { return r.groups }
