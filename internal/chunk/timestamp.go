package chunk

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/tinylib/msgp/msgp"
)

// eventTimeExt is the msgpack ext type of Fluent Bit's EventTime: 4 bytes
// big-endian seconds then 4 bytes big-endian nanoseconds.
const eventTimeExt = 0

// Wire values of the seconds of group markers in the ext encoding: -1 and
// -2 as 32-bit two's complement.
const (
	extGroupStart = 0xffffffff
	extGroupEnd   = 0xfffffffe
)

// readTimestamp reads the timestamp at the start of b into rec.Seconds,
// rec.Nanoseconds and rec.Group, and returns the rest of b.
//
// The ext case goes through msgp.ReadExtensionBytes and the msgp.Extension
// interface. A hand-written fixext8 check in front of it was measured with
// BenchmarkReaderLookupLog (interleaved runs on a shared, loaded 2-core
// machine): about 25-30% less time per record at best (roughly 30 ns of a
// 120-150 ns record). That is not needed at several million records per
// second per core, so there is a single decoding path, msgp's.
func (r *Reader) readTimestamp(b []byte, rec *Record) ([]byte, error) {
	t := msgp.NextType(b)
	switch {
	case isExt(t):
		r.ext = extView{typ: eventTimeExt}
		rest, err := msgp.ReadExtensionBytes(b, &r.ext)
		if err != nil {
			var et msgp.ExtensionTypeError
			if errors.As(err, &et) {
				return b, fmt.Errorf("msgpack ext type %d, want %d (Fluent Bit event time)", et.Got, eventTimeExt)
			}
			return b, cause(err, b, "timestamp (ext 0, integer or float)")
		}
		d := r.ext.data
		r.ext.data = nil
		if len(d) != 8 {
			return b, fmt.Errorf("ext %d of %d bytes, want 8", eventTimeExt, len(d))
		}
		sec := binary.BigEndian.Uint32(d)
		rec.Nanoseconds = int64(binary.BigEndian.Uint32(d[4:]))
		switch sec {
		case extGroupStart, extGroupEnd:
			rec.Seconds = int64(int32(sec))
		default:
			rec.Seconds = int64(sec)
		}
		return rest, setGroup(rec)

	case t == msgp.IntType || t == msgp.UintType:
		i, rest, err := msgp.ReadInt64Bytes(b)
		if err != nil {
			var uo msgp.UintOverflow
			if errors.As(err, &uo) {
				return b, fmt.Errorf("integer %d out of range", uo.Value)
			}
			return b, cause(err, b, "timestamp (ext 0, integer or float)")
		}
		rec.Seconds, rec.Nanoseconds = i, 0
		return rest, setGroup(rec)

	case t == msgp.Float64Type || t == msgp.Float32Type:
		f, rest, err := msgp.ReadFloat64Bytes(b)
		if err != nil {
			return b, cause(err, b, "timestamp (ext 0, integer or float)")
		}
		if math.IsNaN(f) || math.IsInf(f, 0) || f >= math.MaxInt64 {
			return b, fmt.Errorf("float %g out of range", f)
		}
		// Fluent Bit truncates towards zero: -1.5 is a group start.
		sec := math.Trunc(f)
		if f < 0 {
			if sec != -1 && sec != -2 {
				return b, fmt.Errorf("negative timestamp %g (only -1 and -2, the group markers, are negative)", f)
			}
			rec.Seconds, rec.Nanoseconds = int64(sec), 0
		} else {
			rec.Seconds, rec.Nanoseconds = int64(sec), int64((f-sec)*1e9)
		}
		return rest, setGroup(rec)
	}
	return b, wrongType(b, "timestamp (ext 0, integer or float)")
}

// setGroup sets rec.Group from rec.Seconds. Fluent Bit reserves negative
// seconds for group markers and rejects negative values other than -1 and -2.
func setGroup(rec *Record) error {
	switch {
	case rec.Seconds >= 0:
		rec.Group = NotGroup
	case rec.Seconds == -1:
		rec.Group = GroupStart
	case rec.Seconds == -2:
		rec.Group = GroupEnd
	default:
		return fmt.Errorf("negative timestamp %d (only -1 and -2, the group markers, are negative)", rec.Seconds)
	}
	return nil
}
