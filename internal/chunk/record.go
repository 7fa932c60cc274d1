package chunk

// Group tells whether an event is a group marker, and which one.
type Group int8

const (
	// NotGroup is an ordinary event with a record to ship.
	NotGroup Group = 0
	// GroupStart marks the start of a group (timestamp seconds -1).
	GroupStart Group = -1
	// GroupEnd marks the end of a group (timestamp seconds -2).
	GroupEnd Group = -2
)

// Record is one event of a chunk. Metadata and Body are views into the
// chunk: they are valid as long as the chunk's buffer is, and must be copied
// to be kept longer.
type Record struct {
	// Seconds and Nanoseconds are the event's timestamp. For the ext
	// encoding, Seconds is the unsigned 32-bit wire value except for the two
	// group-marker values, so dates up to 2106 read correctly. For a float
	// timestamp the fraction is truncated to nanoseconds.
	Seconds     int64
	Nanoseconds int64

	// Group is NotGroup for ordinary events. Group markers are only
	// returned when Reader.ReadGroups is set.
	Group Group

	// Metadata is the raw msgpack map of the event's metadata ([[ts,
	// metadata], record] format), or nil for the older [ts, record] format.
	Metadata []byte

	// Body is the raw msgpack map of the record itself: pass it to
	// LookupString or AppendJSON.
	Body []byte

	// Offset is the byte offset of the event within the chunk.
	Offset int
}

// IsGroupMarker reports whether the event is a group start or group end.
func (r Record) IsGroupMarker() bool { return r.Group != NotGroup }
