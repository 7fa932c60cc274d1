package chunk

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/tinylib/msgp/msgp"
)

// maxJSONDepth is the deepest nesting of maps and arrays that AppendJSON
// writes: that of an audit event as kube-apiserver logs it, the event's
// object around a body nested as deeply as encoding/json writes one (10000
// levels; the filter package's maxDepth says why). Fluent Bit's JSON parser
// makes the event the record, so the record nests one level more than the
// body. encoding/json cannot read back the deepest of these, which the
// apiserver nevertheless writes, but the filter can.
const maxJSONDepth = 10001

// AppendJSON appends record, one msgpack value (normally a map such as
// Record.Body), to dst as compact JSON, and returns the extended buffer.
// This is the slow path for records that Fluent Bit has parsed into nested
// msgpack maps ("Parser json"): every value is decoded and formatted again.
// A record {"log": "<raw line>"} from tail without a parser comes out as
// {"log":"<the line, escaped>"}; to ship the line itself use LookupString.
//
// The output follows encoding/json:
//   - map keys are written in the order they appear (duplicates are kept);
//     str and bin keys are strings, integer keys are written as decimal
//     strings, and other key types are an error;
//   - str and bin values are JSON strings (Fluent Bit stores text as either),
//     escaped as encoding/json does: <, > and & as \u003c, \u003e, \u0026,
//     control characters, U+2028 and U+2029 escaped, invalid UTF-8 as \ufffd;
//   - integers are exact; float32 and float64 are formatted like
//     encoding/json formats them, and NaN or infinities are an error;
//   - nil is null, bool is true or false, arrays are arrays;
//   - ext type 0 with 8 bytes (a Fluent Bit event time) is the number
//     seconds.nanoseconds, written exactly; ext type -1 (msgpack timestamp)
//     is an RFC 3339 string like encoding/json writes a time.Time; any other
//     ext is {"type":N,"data":"<base64>"}, as msgp's JSON conversion writes.
//
// Nesting deeper than 10001 levels, bytes left after the value and malformed
// msgpack are errors (*Error, with the offset within record). On error dst is
// returned unchanged in length, so a reused buffer holds no partial output.
// Nothing is retained.
func AppendJSON(dst []byte, record []byte) ([]byte, error) {
	n := len(dst)
	enc := jsonEncoder{src: record}
	var counts [shallowJSONDepth]uint32
	var kinds [shallowJSONDepth / 64]uint64
	out, rest, err := enc.walk(dst, record, counts[:], kinds[:])
	if errors.Is(err, errNeedDeeperStack) {
		out, rest, err = enc.walkDeep(dst[:n], record)
	}
	if err == nil && len(rest) != 0 {
		err = enc.fail(rest, errors.New("bytes left after the value"))
	}
	if err != nil {
		return dst[:n], err
	}
	return out, nil
}

// shallowJSONDepth is the nesting AppendJSON walks with a stack on its own
// frame; a record nested deeper is walked again by walkDeep.
const shallowJSONDepth = 64

// errNeedDeeperStack tells AppendJSON that a record nests deeper than the
// shallow stack holds. It never leaves this file.
var errNeedDeeperStack = errors.New("chunk: nesting beyond the shallow stack")

// jsonEncoder holds the input of one AppendJSON call, to report offsets.
type jsonEncoder struct {
	src []byte
}

func (e *jsonEncoder) fail(at []byte, err error) error {
	return recordError(e.src, at, "record", err)
}

// walkDeep is walk with room for maxJSONDepth levels: 41 KB of goroutine
// stack, taken only by a record deeper than shallowJSONDepth.
//
//go:noinline
func (e *jsonEncoder) walkDeep(dst, b []byte) (out, rest []byte, err error) {
	var counts [maxJSONDepth]uint32
	var kinds [(maxJSONDepth + 63) / 64]uint64
	return e.walk(dst, b, counts[:], kinds[:])
}

// walk appends the JSON of the msgpack value at the start of b and returns
// the rest of b. It is iterative, so that a record nested maxJSONDepth
// deep costs no call per level: counts[d] holds how many values the open
// container at depth d still has to write, and bit d of kinds whether it
// is a map. It returns errNeedDeeperStack when counts is full before
// maxJSONDepth.
func (e *jsonEncoder) walk(dst, b []byte, counts []uint32, kinds []uint64) (out, rest []byte, err error) {
	depth := 0 // open containers
	for {
		// A value starts at b.
		switch t := msgp.NextType(b); t {
		case msgp.MapType, msgp.ArrayType:
			if depth >= maxJSONDepth {
				return nil, b, e.fail(b, fmt.Errorf("nesting deeper than %d levels", maxJSONDepth))
			}
			if depth == len(counts) {
				return nil, b, errNeedDeeperStack
			}
			isMap := t == msgp.MapType
			var n uint32
			what := "array"
			if isMap {
				n, rest, err = msgp.ReadMapHeaderBytes(b)
				what = "map"
			} else {
				n, rest, err = msgp.ReadArrayHeaderBytes(b)
			}
			if err != nil {
				return nil, b, e.fail(b, cause(err, b, what))
			}
			b = rest
			if n == 0 {
				if isMap {
					dst = append(dst, '{', '}')
				} else {
					dst = append(dst, '[', ']')
				}
				break // an empty container is a whole value
			}
			counts[depth] = n
			w, bit := depth>>6, uint64(1)<<(depth&63)
			if isMap {
				kinds[w] |= bit
				dst = append(dst, '{')
				if dst, b, err = e.key(dst, b); err != nil {
					return nil, b, err
				}
				dst = append(dst, ':')
			} else {
				kinds[w] &^= bit
				dst = append(dst, '[')
			}
			depth++
			continue
		default:
			if dst, b, err = e.value(dst, b); err != nil {
				return nil, b, err
			}
		}

		// A value ended: close the containers it completes, then go on
		// to the next member or element, or return when nothing is open.
		for depth > 0 {
			d := depth - 1
			isMap := kinds[d>>6]&(1<<(d&63)) != 0
			if counts[d]--; counts[d] > 0 {
				dst = append(dst, ',')
				if isMap {
					if dst, b, err = e.key(dst, b); err != nil {
						return nil, b, err
					}
					dst = append(dst, ':')
				}
				break
			}
			if isMap {
				dst = append(dst, '}')
			} else {
				dst = append(dst, ']')
			}
			depth--
		}
		if depth == 0 {
			return dst, b, nil
		}
	}
}

// value appends the JSON of the msgpack value at the start of b, which is
// not a map or an array, and returns the rest of b.
func (e *jsonEncoder) value(dst, b []byte) (out, rest []byte, err error) {
	t := msgp.NextType(b)
	switch {
	case t == msgp.StrType:
		var s []byte
		if s, rest, err = msgp.ReadStringZC(b); err == nil {
			return appendJSONString(dst, s), rest, nil
		}
	case t == msgp.BinType:
		var s []byte
		if s, rest, err = msgp.ReadBytesZC(b); err == nil {
			return appendJSONString(dst, s), rest, nil
		}
	case t == msgp.IntType:
		var i int64
		if i, rest, err = msgp.ReadInt64Bytes(b); err == nil {
			return strconv.AppendInt(dst, i, 10), rest, nil
		}
	case t == msgp.UintType:
		var u uint64
		if u, rest, err = msgp.ReadUint64Bytes(b); err == nil {
			return strconv.AppendUint(dst, u, 10), rest, nil
		}
	case t == msgp.Float64Type:
		var f float64
		if f, rest, err = msgp.ReadFloat64Bytes(b); err == nil {
			if out, err = appendJSONFloat(dst, f, 64); err == nil {
				return out, rest, nil
			}
			return nil, b, e.fail(b, err)
		}
	case t == msgp.Float32Type:
		var f float32
		if f, rest, err = msgp.ReadFloat32Bytes(b); err == nil {
			if out, err = appendJSONFloat(dst, float64(f), 32); err == nil {
				return out, rest, nil
			}
			return nil, b, e.fail(b, err)
		}
	case t == msgp.BoolType:
		var v bool
		if v, rest, err = msgp.ReadBoolBytes(b); err == nil {
			return strconv.AppendBool(dst, v), rest, nil
		}
	case t == msgp.NilType:
		if rest, err = msgp.ReadNilBytes(b); err == nil {
			return append(dst, "null"...), rest, nil
		}
	case isExt(t):
		return e.ext(dst, b)
	default:
		return nil, b, e.fail(b, wrongType(b, "a msgpack value"))
	}
	return nil, b, e.fail(b, cause(err, b, t.String()))
}

// key appends the map key at the start of b as a JSON string.
func (e *jsonEncoder) key(dst, b []byte) (out, rest []byte, err error) {
	switch msgp.NextType(b) {
	case msgp.StrType, msgp.BinType:
		var k []byte
		if k, rest, _, err = readKey(b); err != nil {
			return nil, b, e.fail(b, err)
		}
		return appendJSONString(dst, k), rest, nil
	case msgp.IntType, msgp.UintType:
		dst = append(dst, '"')
		if dst, rest, err = e.value(dst, b); err != nil {
			return nil, b, err
		}
		return append(dst, '"'), rest, nil
	}
	return nil, b, e.fail(b, wrongType(b, "map key (str, bin or integer)"))
}

// ext appends the ext value at the start of b (see AppendJSON for the forms).
func (e *jsonEncoder) ext(dst, b []byte) ([]byte, []byte, error) {
	v := new(extView) // escapes through the msgp.Extension interface; ext values are rare
	rest, err := readExt(b, v)
	if err != nil {
		return nil, b, e.fail(b, err)
	}
	switch {
	case v.typ == eventTimeExt && len(v.data) == 8:
		dst = strconv.AppendUint(dst, uint64(binary.BigEndian.Uint32(v.data)), 10)
		ns := binary.BigEndian.Uint32(v.data[4:])
		if ns > 999999999 {
			return nil, b, e.fail(b, fmt.Errorf("event time with %d nanoseconds", ns))
		}
		dst = append(dst, '.')
		return appendPadded(dst, ns), rest, nil
	case v.typ == msgp.MsgTimeExtension:
		t, _, err := msgp.ReadTimeUTCBytes(b)
		if err != nil {
			return nil, b, e.fail(b, cause(err, b, "timestamp"))
		}
		if y := t.Year(); y < 0 || y > 9999 {
			return nil, b, e.fail(b, fmt.Errorf("timestamp year %d outside [0,9999]", y))
		}
		dst = append(dst, '"')
		dst = t.AppendFormat(dst, time.RFC3339Nano)
		return append(dst, '"'), rest, nil
	}
	dst = append(dst, `{"type":`...)
	dst = strconv.AppendInt(dst, int64(v.typ), 10)
	dst = append(dst, `,"data":"`...)
	dst = base64.StdEncoding.AppendEncode(dst, v.data)
	return append(dst, `"}`...), rest, nil
}

// appendPadded appends ns as exactly nine decimal digits.
func appendPadded(dst []byte, ns uint32) []byte {
	var d [9]byte
	for i := 8; i >= 0; i-- {
		d[i] = byte('0' + ns%10)
		ns /= 10
	}
	return append(dst, d[:]...)
}
