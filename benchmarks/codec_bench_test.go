package benchmarks

// BenchmarkSnappyLevels compares snappy encoders and framings on a 1 MB
// record batch's worth of generated 1 KB audit events: plain snappy (the
// sink's, and librdkafka's) and s2's "better" snappy (kafka-go's default),
// each in kafka-go's 32 KB xerial blocks and as one raw block of the whole
// batch (the sink's, librdkafka's and franz-go's framing). MB/s is input
// bytes; ratio is input over output.
//
//	go test -run '^$' -bench SnappyLevels ./benchmarks

import (
	"testing"

	"github.com/klauspost/compress/s2"
)

func BenchmarkSnappyLevels(b *testing.B) {
	var data []byte
	for _, e := range benchEvents(b, 1100, 1<<10) {
		data = append(data, e.Value...)
	}
	data = data[:1<<20]
	for _, framing := range []struct {
		name  string
		block int
	}{{"xerial-32KB", 32 << 10}, {"raw", len(data)}} {
		dst := make([]byte, s2.MaxEncodedLen(framing.block))
		for _, enc := range []struct {
			name string
			fn   func(dst, src []byte) []byte
		}{{"plain", s2.EncodeSnappy}, {"better", s2.EncodeSnappyBetter}} {
			b.Run("encoder="+enc.name+"/framing="+framing.name, func(b *testing.B) {
				b.SetBytes(int64(len(data)))
				b.ReportAllocs()
				out := 0
				for b.Loop() {
					out = 0
					for i := 0; i < len(data); i += framing.block {
						out += len(enc.fn(dst, data[i:i+framing.block]))
					}
				}
				b.ReportMetric(float64(len(data))/float64(out), "ratio")
			})
		}
	}
}
