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

// Laying out several batches in one pass over the messages gives each
// batch the bytes it has when encoded alone, with messages in no batch
// left out.
func TestLayRecordsMatchesBatchByBatch(t *testing.T) {
	msgs := batchMessages(60, 700)
	batches := make([][]int, 4)
	for i := 5; i < 55; i++ {
		if i%7 != 0 { // some messages in none
			batches[i%4] = append(batches[i%4], i)
		}
	}
	enc := &batchEncoder{compression: kafka.Snappy}
	enc.layRecords(msgs, batches)
	var laid [][]byte
	for b := range batches {
		laid = append(laid, enc.appendLaid(nil, b))
	}
	for b, idx := range batches {
		alone := (&batchEncoder{compression: kafka.Snappy}).appendBatch(nil, msgs, idx)
		if !bytes.Equal(laid[b], alone) {
			t.Fatalf("batch %d laid out with the others: %d bytes differing from its %d bytes alone", b, len(laid[b]), len(alone))
		}
		var rb kmsg.RecordBatch
		if err := rb.ReadFrom(laid[b]); err != nil || rb.NumRecords != int32(len(idx)) {
			t.Fatalf("batch %d: franz-go reads %d records, %v; want %d", b, rb.NumRecords, err, len(idx))
		}
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

// BenchmarkEncodeSpread encodes one produce request's batches: 2,000 1 KB
// events spread over 18 partitions, as a 2 MB chunk's events spread over
// three stage topics of six partitions, read from memory that has left the
// caches (each op reads the next of 64 copies, 128 MB in all). order=events
// lays every batch's records out in one pass over the events, as the
// producer does; order=batches encodes the batches one after another. One
// op is one event.
func BenchmarkEncodeSpread(b *testing.B) {
	const events, size, partitions, copies = 2000, 1000, 18, 64
	pool := make([]byte, copies*events*size)
	for i := range pool {
		pool[i] = byte('a' + i%23)
	}
	sets := make([][]kafka.Message, copies)
	for c := range sets {
		sets[c] = make([]kafka.Message, events)
		for i := range sets[c] {
			off := (c*events + i) * size
			sets[c][i] = kafka.Message{Key: pool[off : off+36], Value: pool[off : off+size], Time: time.Now()}
		}
	}
	batches := make([][]int, partitions)
	for i := range events {
		batches[i%partitions] = append(batches[i%partitions], i)
	}
	for _, order := range []string{"events", "batches"} {
		b.Run("order="+order, func(b *testing.B) {
			b.ReportAllocs()
			enc := &batchEncoder{compression: kafka.Snappy}
			var buf []byte
			c := 0
			for b.Loop() {
				msgs := sets[c%copies]
				c++
				buf = buf[:0]
				if order == "events" {
					enc.layRecords(msgs, batches)
					for k := range batches {
						buf = enc.appendLaid(buf, k)
					}
				} else {
					for _, idx := range batches {
						buf = enc.appendBatch(buf, msgs, idx)
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*events), "ns/event")
		})
	}
}
