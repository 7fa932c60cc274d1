package benchmarks

// BenchmarkSnappyLevels compares the two snappy encoders kafka-go can use on
// a 1 MB record batch's worth of generated 1 KB audit events, in kafka-go's
// 32 KB xerial blocks: plain snappy (the sink's, and librdkafka's) and s2's
// "better" snappy (kafka-go's default). MB/s is input bytes; ratio is input
// over output.
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
	const block = 32 << 10 // kafka-go's xerial block size
	dst := make([]byte, s2.MaxEncodedLen(block))
	for _, enc := range []struct {
		name string
		fn   func(dst, src []byte) []byte
	}{{"plain", s2.EncodeSnappy}, {"better", s2.EncodeSnappyBetter}} {
		b.Run("encoder="+enc.name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			out := 0
			for b.Loop() {
				out = 0
				for i := 0; i < len(data); i += block {
					out += len(enc.fn(dst, data[i:i+block]))
				}
			}
			b.ReportMetric(float64(len(data))/float64(out), "ratio")
		})
	}
}
