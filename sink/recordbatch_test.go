package sink

import (
	"bytes"
	"fmt"
	"hash/crc32"
	"io"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/compress"
	"github.com/segmentio/kafka-go/compress/snappy"
	"github.com/segmentio/kafka-go/protocol"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// batchMessages returns n messages as build makes them: keyed, with
// headers, each event about size bytes.
func batchMessages(n, size int) []kafka.Message {
	now := time.Now()
	msgs := make([]kafka.Message, n)
	for i, e := range testEvents(n, size) {
		msgs[i] = kafka.Message{Key: e.AuditID, Value: e.Value, Time: now, Headers: []kafka.Header{
			{Key: HeaderStage, Value: []byte(e.Stage)}, {Key: HeaderLevel, Value: []byte(e.Level)},
			{Key: HeaderVerb, Value: e.Verb}, {Key: HeaderAuditID, Value: e.AuditID}}}
	}
	msgs[1].Key = nil                   // a keyless message
	msgs[2].Headers[1].Value = nil      // a null header value
	msgs[3].Headers[2].Value = []byte{} // an empty one
	return msgs
}

// The encoder's uncompressed batch is read back by franz-go's decoder
// (an independent implementation of the format) with its CRC intact, and
// kafka-go's own encoder writes the same bytes for the same records.
func TestAppendBatchDecodes(t *testing.T) {
	msgs := batchMessages(50, 700)
	idx := []int{0, 1, 2, 3, 10, 49}
	enc := &batchEncoder{}
	b := enc.appendBatch(nil, msgs, idx)

	var rb kmsg.RecordBatch
	if err := rb.ReadFrom(b); err != nil {
		t.Fatalf("franz-go cannot read the batch: %v", err)
	}
	if int(rb.Length) != len(b)-12 || rb.Magic != 2 || rb.NumRecords != int32(len(idx)) || rb.LastOffsetDelta != int32(len(idx)-1) {
		t.Fatalf("header: length %d of %d, magic %d, %d records, last offset delta %d", rb.Length, len(b), rb.Magic, rb.NumRecords, rb.LastOffsetDelta)
	}
	if crc := int32(crc32.Checksum(b[batchAttributesAt:], castagnoli)); rb.CRC != crc {
		t.Fatalf("CRC %x; want %x", rb.CRC, crc)
	}
	recs := rb.Records
	for i, k := range idx {
		var r kmsg.Record
		if err := r.ReadFrom(recs); err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		recs = recs[r.Length+int32(varIntLen64(int64(r.Length))):]
		m := msgs[k]
		if !bytes.Equal(r.Key, m.Key) || (r.Key == nil) != (m.Key == nil) || !bytes.Equal(r.Value, m.Value) || r.OffsetDelta != int32(i) || len(r.Headers) != len(m.Headers) {
			t.Fatalf("record %d differs from message %d", i, k)
		}
		for j, h := range r.Headers {
			if h.Key != m.Headers[j].Key || !bytes.Equal(h.Value, m.Headers[j].Value) || (h.Value == nil) != (m.Headers[j].Value == nil) {
				t.Fatalf("record %d header %d: %q=%q; want %q=%q", i, j, h.Key, h.Value, m.Headers[j].Key, m.Headers[j].Value)
			}
		}
	}

	// kafka-go's encoder, on the same records, for the bytes after the
	// size prefix.
	var sub []kafka.Message
	for _, k := range idx {
		sub = append(sub, msgs[k])
	}
	var ref bytes.Buffer
	rs := protocol.RecordSet{Version: 2, Records: kafkaRecords(sub)}
	if _, err := rs.WriteTo(&ref); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ref.Bytes()[4:], b) {
		t.Fatalf("the batch differs from kafka-go's encoding of the same records")
	}
}

// kafkaRecords reads msgs as kafka-go's protocol package takes them.
func kafkaRecords(msgs []kafka.Message) protocol.RecordReader {
	recs := make([]protocol.Record, len(msgs))
	for i, m := range msgs {
		recs[i] = protocol.Record{Time: m.Time, Headers: m.Headers}
		if m.Key != nil {
			recs[i].Key = protocol.NewBytes(m.Key)
		}
		recs[i].Value = protocol.NewBytes(m.Value)
	}
	return protocol.NewRecordReader(recs...)
}

// BenchmarkRecordBatch encodes a partition's batch of 1 KB events, as the
// producer does (impl=auditstream) and as kafka-go's protocol package does
// for its Writer (impl=kafka-go), per compression, both with plain snappy.
// One op is one message.
func BenchmarkRecordBatch(b *testing.B) {
	msgs := batchMessages(500, 1000)
	idx := make([]int, len(msgs))
	for i := range idx {
		idx[i] = i
	}
	for _, c := range []kafka.Compression{0, kafka.Snappy, kafka.Lz4, kafka.Zstd} {
		name := "none"
		if c != 0 {
			name = c.String()
		}
		b.Run(fmt.Sprintf("compression=%s/impl=auditstream", name), func(b *testing.B) {
			b.ReportAllocs()
			enc := &batchEncoder{compression: c}
			var buf []byte
			for b.Loop() {
				buf = enc.appendBatch(buf[:0], msgs, idx)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(msgs)), "ns/msg")
		})
		b.Run(fmt.Sprintf("compression=%s/impl=kafka-go", name), func(b *testing.B) {
			// The same plain snappy encoder on both sides: the comparison is
			// of the record plumbing, not of the encoder's level.
			level := compress.SnappyCodec.Compression
			compress.SnappyCodec.Compression = snappy.FasterCompression
			defer func() { compress.SnappyCodec.Compression = level }()
			b.ReportAllocs()
			for b.Loop() {
				rs := protocol.RecordSet{Version: 2, Attributes: protocol.Attributes(c), Records: kafkaRecords(msgs)}
				if _, err := rs.WriteTo(io.Discard); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(msgs)), "ns/msg")
		})
	}
}

// Every codec's batch comes out smaller than the same batch uncompressed
// (the real broker's tests check that each decodes).
func TestBatchCompresses(t *testing.T) {
	msgs := batchMessages(500, 1000)
	idx := make([]int, len(msgs))
	for i := range idx {
		idx[i] = i
	}
	raw := len((&batchEncoder{}).appendBatch(nil, msgs, idx))
	for _, c := range []kafka.Compression{kafka.Snappy, kafka.Lz4, kafka.Zstd, kafka.Gzip} {
		n := len((&batchEncoder{compression: c}).appendBatch(nil, msgs, idx))
		if n >= raw {
			t.Errorf("%s: %d bytes from %d", c, n, raw)
		}
		t.Logf("%s: %.2fx", c, float64(raw)/float64(n))
	}
}
