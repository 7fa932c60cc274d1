package chunk

import (
	"encoding/json"
	"errors"
	"io"
	"testing"

	"github.com/tinylib/msgp/msgp"
)

// tailChunk is a chunk of n events as tail without a parser writes them:
// [[fixext8 time, {}], {"log": "<audit line>"}].
func tailChunk(n int) []byte {
	var chunk []byte
	for i := 0; i < n; i++ {
		chunk = append(chunk, eventV2(fixext8Time(1700000000+uint32(i), 0), empty, logBody(auditLine))...)
	}
	return chunk
}

// BenchmarkReaderLookupLog walks a chunk of 1000 tail records (one audit
// line of about 2.5 KB each) and takes each line with LookupString: the
// fast path.
func BenchmarkReaderLookupLog(b *testing.B) {
	chunk := tailChunk(1000)
	var r Reader
	b.SetBytes(int64(len(chunk)))
	b.ReportAllocs()
	for b.Loop() {
		r.Reset(chunk)
		n := 0
		for {
			rec, err := r.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			v, ok, err := LookupString(rec.Body, "log")
			if !ok || err != nil {
				b.Fatal("no log key")
			}
			n += len(v)
		}
		if n != 1000*len(auditLine) {
			b.Fatal("short walk")
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1000, "ns/record")
}

// BenchmarkAppendJSONAuditEvent converts one parsed audit event (map32
// headers, str strings, as tail with Parser json writes it) to JSON: the
// slow path.
func BenchmarkAppendJSONAuditEvent(b *testing.B) {
	mp, _ := toMsgpack(b, auditLine, 32, false)
	dst := make([]byte, 0, 4096)
	b.SetBytes(int64(len(mp)))
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if dst, err = AppendJSON(dst[:0], mp); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReaderAppendJSONChunk walks a chunk of 1000 parsed audit events
// and converts each to JSON: the slow path for a whole chunk.
func BenchmarkReaderAppendJSONChunk(b *testing.B) {
	mp, _ := toMsgpack(b, auditLine, 32, false)
	var chunk []byte
	for i := 0; i < 1000; i++ {
		chunk = append(chunk, eventV2(fixext8Time(1700000000, 0), empty, mp)...)
	}
	var r Reader
	dst := make([]byte, 0, 4096)
	b.SetBytes(int64(len(chunk)))
	b.ReportAllocs()
	for b.Loop() {
		r.Reset(chunk)
		for {
			rec, err := r.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			if dst, err = AppendJSON(dst[:0], rec.Body); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1000, "ns/record")
}

// BenchmarkReferenceDecodeMarshal is the generic alternative for
// comparison: decode the parsed event into map[string]any with msgp, then
// json.Marshal it (which also sorts the keys).
func BenchmarkReferenceDecodeMarshal(b *testing.B) {
	mp, _ := toMsgpack(b, auditLine, 32, false)
	b.SetBytes(int64(len(mp)))
	b.ReportAllocs()
	for b.Loop() {
		v, _, err := msgp.ReadMapStrIntfBytes(mp, nil)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := json.Marshal(v); err != nil {
			b.Fatal(err)
		}
	}
}
