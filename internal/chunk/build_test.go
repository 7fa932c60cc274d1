package chunk

import (
	"encoding/binary"
	"math"
)

// Hand-written msgpack encoders for the tests. They choose header widths
// explicitly, independently of the msgp package the code under test uses.

// width selects a header form: fix (fixarray, fixmap, fixstr), or 8, 16, 32.
const fix = 0

func cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

func be16(n int) []byte { return binary.BigEndian.AppendUint16(nil, uint16(n)) }
func be32(n int) []byte { return binary.BigEndian.AppendUint32(nil, uint32(n)) }

func arrHdr(width, n int) []byte {
	switch width {
	case fix:
		return []byte{0x90 | byte(n)}
	case 16:
		return cat([]byte{0xdc}, be16(n))
	default:
		return cat([]byte{0xdd}, be32(n))
	}
}

func mapHdr(width, n int) []byte {
	switch width {
	case fix:
		return []byte{0x80 | byte(n)}
	case 16:
		return cat([]byte{0xde}, be16(n))
	default:
		return cat([]byte{0xdf}, be32(n))
	}
}

func str(width int, s string) []byte {
	switch width {
	case fix:
		return cat([]byte{0xa0 | byte(len(s))}, []byte(s))
	case 8:
		return cat([]byte{0xd9, byte(len(s))}, []byte(s))
	case 16:
		return cat([]byte{0xda}, be16(len(s)), []byte(s))
	default:
		return cat([]byte{0xdb}, be32(len(s)), []byte(s))
	}
}

func bin(width int, s string) []byte {
	switch width {
	case 8:
		return cat([]byte{0xc4, byte(len(s))}, []byte(s))
	case 16:
		return cat([]byte{0xc5}, be16(len(s)), []byte(s))
	default:
		return cat([]byte{0xc6}, be32(len(s)), []byte(s))
	}
}

// s is a fixstr, the common case.
func s(v string) []byte { return str(fix, v) }

func fixext8Time(sec, nsec uint32) []byte {
	return cat([]byte{0xd7, 0x00}, be32(int(sec)), be32(int(nsec)))
}

func ext8Time(sec, nsec uint32) []byte {
	return cat([]byte{0xc7, 0x08, 0x00}, be32(int(sec)), be32(int(nsec)))
}

func u8(v uint8) []byte   { return []byte{0xcc, v} }
func u16(v uint16) []byte { return cat([]byte{0xcd}, be16(int(v))) }
func u32(v uint32) []byte { return cat([]byte{0xce}, be32(int(v))) }
func u64(v uint64) []byte { return binary.BigEndian.AppendUint64([]byte{0xcf}, v) }
func i8(v int8) []byte    { return []byte{0xd0, byte(v)} }
func i16(v int16) []byte  { return cat([]byte{0xd1}, be16(int(v))) }
func i32(v int32) []byte  { return cat([]byte{0xd2}, be32(int(v))) }
func i64(v int64) []byte  { return binary.BigEndian.AppendUint64([]byte{0xd3}, uint64(v)) }
func f32(v float32) []byte {
	return binary.BigEndian.AppendUint32([]byte{0xca}, math.Float32bits(v))
}
func f64(v float64) []byte {
	return binary.BigEndian.AppendUint64([]byte{0xcb}, math.Float64bits(v))
}

var (
	mnil   = []byte{0xc0}
	mfalse = []byte{0xc2}
	mtrue  = []byte{0xc3}
	empty  = []byte{0x80} // {}
)

// eventV2 is [[ts, meta], body] with the outer array32 header that Fluent
// Bit's encoder writes (dd 00 00 00 02) and a fixarray header.
func eventV2(ts, meta, body []byte) []byte {
	return cat(arrHdr(32, 2), arrHdr(fix, 2), ts, meta, body)
}

// eventV1 is [ts, body].
func eventV1(ts, body []byte) []byte {
	return cat(arrHdr(fix, 2), ts, body)
}

// logBody is {"log": line}.
func logBody(line string) []byte {
	return cat(mapHdr(fix, 1), s("log"), str(32, line))
}
