package chunk

import (
	"encoding/binary"
	"time"

	"github.com/tinylib/msgp/msgp"
)

// AppendTailEvent appends one event as Fluent Bit's tail input (without a
// parser) hands it to an output, [[timestamp, {}], {key: line}], to dst.
// The CLI ships logs through the plugin's own pipeline by building such
// chunks; tests build theirs with it too.
func AppendTailEvent(dst []byte, t time.Time, key string, line []byte) []byte {
	dst = msgp.AppendArrayHeader(dst, 2)
	dst = msgp.AppendArrayHeader(dst, 2)
	// The EventTime extension: fixext8, type 0, seconds and nanoseconds.
	dst = append(dst, 0xd7, 0x00)
	dst = binary.BigEndian.AppendUint32(dst, uint32(t.Unix()))
	dst = binary.BigEndian.AppendUint32(dst, uint32(t.Nanosecond()))
	dst = msgp.AppendMapHeader(dst, 0)
	dst = msgp.AppendMapHeader(dst, 1)
	dst = msgp.AppendString(dst, key)
	return msgp.AppendStringFromBytes(dst, line)
}
