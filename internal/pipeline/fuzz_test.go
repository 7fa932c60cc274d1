package pipeline

import (
	"context"
	"reflect"
	"testing"

	"github.com/auditstream/auditstream/sink"
)

// FuzzFlush feeds arbitrary bytes to Flush as a chunk and checks that:
//   - it never panics;
//   - with a sink that always succeeds the outcome is Delivered, or Failed
//     for a chunk whose framing breaks, never Retry;
//   - every record is accounted for once: events = kept + dropped + malformed,
//     and the malformed ones and an unreadable tail are dead-lettered;
//   - nothing handed to the sink points into the chunk;
//   - filtered in parts, the chunk gives the sink the same events in the
//     same order, with the same outcome and counters.
func FuzzFlush(f *testing.F) {
	for _, v2 := range []bool{true, false} {
		c := &chunkBuilder{v2: v2, wide: !v2}
		c.raw(auditLine(1, "ResponseComplete", "alice", "get", "default", "pods"))
		c.parsed(auditLine(2, "ResponseComplete", "bob", "get", "ns1", "secrets"))
		c.raw(auditLine(3, "RequestReceived", "alice", "get", "default", "pods"))
		if v2 {
			c.groupMarker(true)
		}
		f.Add(c.b)
	}
	f.Add([]byte{0x92, 0xd7, 0x00, 0, 0, 0, 1, 0, 0, 0, 0, 0x81, 0xa3, 'l', 'o', 'g', 0xa2, '{', '}'})
	f.Add([]byte{0xc1})
	pol := compilePolicy(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		fs := &fakeSink{chunk: data, deliver: func(context.Context, []sink.Event) error { return nil }}
		p, err := New(Config{
			NewProcessor: func() Processor { return pol.NewProcessor() },
			Sink:         fs,
			Log:          NewLogger(discard{}, LevelError, "fuzz"),
		})
		if err != nil {
			t.Fatal(err)
		}
		out := p.Flush(data)
		st := p.Stats()
		if out == Retry || (out == Failed) != (st.Unreadable == 1) {
			t.Fatalf("unexpected outcome %s with stats %+v", out, st)
		}
		// Every record is kept, dropped by the policy or dead-lettered, and
		// so is an unreadable tail.
		if st.Events != st.Kept+st.Dropped+st.Malformed || st.Delivered != st.Kept ||
			st.DeadLettered != st.Malformed+st.Unreadable || st.EventPanics != 0 {
			t.Fatalf("records not accounted for: %+v", st)
		}
		if fs.aliased {
			t.Fatal("a header or key field handed to the sink points into the chunk, or a value runs off it")
		}
		got, gotOut, gotStats, _ := flushWith(t, data, 3, 1)
		if gotOut != out || !reflect.DeepEqual(gotStats, st) || !reflect.DeepEqual(got, fs.events()) {
			t.Fatalf("in parts: %s, %+v, %d events; in one piece: %s, %+v, %d events",
				gotOut, gotStats, len(got), out, st, len(fs.events()))
		}
	})
}
