package pipeline

import (
	"context"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/auditstream/auditstream/sink"
)

// flushWith flushes data through a new pipeline filtering chunks in up to
// parallelism parts of at least minPart bytes, and returns what the sink
// got, the outcome and the counters, and how many parts were read on
// goroutines of their own.
func flushWith(t testing.TB, data []byte, parallelism, minPart int) ([]delivered, Outcome, Stats, int) {
	t.Helper()
	f := &fakeSink{chunk: data, deliver: func(context.Context, []sink.Event) error { return nil }}
	var made countedProcessors
	p, _ := newTestPipeline(t, f, func(c *Config) {
		c.FilterParallelism = parallelism
		made.wrap(c)
	})
	p.minPartBytes = minPart
	out := p.Flush(data)
	if f.aliased {
		t.Fatal("a header or key field handed to the sink points into the chunk, or a value runs off it")
	}
	if f.calls > 1 {
		t.Fatalf("%d Deliver calls for one chunk; want one", f.calls)
	}
	return f.events(), out, p.Stats(), made.parts()
}

// countedProcessors counts the processors a pipeline makes. Each scratch has
// its own, and a new pipeline's pool is empty, so on its first flush every
// part read on a goroutine of its own makes one more than the flush's.
type countedProcessors struct{ n atomic.Int32 }

func (c *countedProcessors) wrap(cfg *Config) {
	newProcessor := cfg.NewProcessor
	cfg.NewProcessor = func() Processor {
		c.n.Add(1)
		return newProcessor()
	}
}

// parts is the number of parts the first flush read on goroutines of their
// own.
func (c *countedProcessors) parts() int { return int(c.n.Load()) - 1 }

// mixedChunk holds n events of every kind a chunk can carry: kept and
// dropped events, parsed records, malformed events, records that are not
// events, and group markers.
func mixedChunk(n int) *chunkBuilder {
	c := &chunkBuilder{v2: true}
	for i := range n {
		switch i % 7 {
		case 0:
			c.raw(auditLine(i, "ResponseComplete", "alice", "get", "default", "pods"))
		case 1:
			c.raw(auditLine(i, "ResponseComplete", "system:kube-proxy", "watch", "", "endpoints"))
		case 2:
			c.parsed(auditLine(i, "ResponseComplete", "bob", "get", "ns1", "secrets"))
		case 3:
			c.raw(`{"kind":"Event","level":`) // truncated line
		case 4:
			c.groupMarker(i%2 == 0)
		case 5:
			c.head(1_700_000_000)
			c.b = append(c.b, 0x07) // a record that is not a map
		default:
			c.raw(auditLine(i, "RequestReceived", "alice", "create", "default", "configmaps"))
		}
	}
	return c
}

// TestSplitChunkMatchesSequential: a chunk filtered in parts hands the sink
// exactly what filtering it in one piece does, in the same order, with the
// same outcome and counters, whatever the parts' number and size.
func TestSplitChunkMatchesSequential(t *testing.T) {
	c := mixedChunk(700)
	want, wantOut, wantStats, _ := flushWith(t, c.b, 1, 1)
	if wantStats.Kept == 0 || wantStats.Dropped == 0 || wantStats.Malformed == 0 {
		t.Fatalf("the chunk does not exercise every path: %+v", wantStats)
	}
	for _, tc := range []struct{ parallelism, minPart int }{
		{2, 1}, {3, 1}, {8, 1}, {64, 1}, {2, len(c.b) / 2}, {4, len(c.b) / 3}, {2, len(c.b)},
	} {
		got, out, st, parts := flushWith(t, c.b, tc.parallelism, tc.minPart)
		wantParts := min(tc.parallelism, len(c.b)/tc.minPart) - 1
		if parts != wantParts {
			t.Fatalf("parallelism %d, parts of %d bytes: %d parts on goroutines of their own; want %d",
				tc.parallelism, tc.minPart, parts, wantParts)
		}
		if out != wantOut || !reflect.DeepEqual(st, wantStats) {
			t.Fatalf("parallelism %d, parts of %d bytes: outcome %s, stats %+v; want %s, %+v",
				tc.parallelism, tc.minPart, out, st, wantOut, wantStats)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("parallelism %d, parts of %d bytes: the sink got %d events, not the %d of the sequential read in its order",
				tc.parallelism, tc.minPart, len(got), len(want))
		}
	}
}

// TestSplitChunkBrokenFraming: a chunk whose framing breaks is read up to the
// break, as in one piece, whether the break lies before a cut (the chunk is
// then read in one piece) or in the last part.
func TestSplitChunkBrokenFraming(t *testing.T) {
	for _, at := range []string{"start", "middle", "end"} {
		t.Run(at, func(t *testing.T) {
			c := mixedChunk(300)
			var data []byte
			switch at {
			case "start":
				data = append([]byte{0xc1}, c.b...) // never a valid msgpack byte
			case "middle":
				data = append(append(append([]byte{}, c.b...), 0xc1), mixedChunk(300).b...)
			default:
				data = append(append([]byte{}, c.b...), 0xc1)
			}
			want, wantOut, wantStats, _ := flushWith(t, data, 1, 1)
			if wantOut != Failed || wantStats.Unreadable != 1 {
				t.Fatalf("the sequential read gave %s, %+v; want Failed with one unreadable chunk", wantOut, wantStats)
			}
			for _, parallelism := range []int{2, 5} {
				got, out, st, parts := flushWith(t, data, parallelism, 1)
				// A break before the last cut makes split give up: the
				// chunk is then read in one piece, as it must be.
				if at == "end" && parts == 0 {
					t.Fatalf("parallelism %d: the chunk was read in one piece", parallelism)
				}
				if out != wantOut || !reflect.DeepEqual(st, wantStats) || !reflect.DeepEqual(got, want) {
					t.Fatalf("parallelism %d: %s, %+v, %d events; want %s, %+v, %d events",
						parallelism, out, st, len(got), wantOut, wantStats, len(want))
				}
			}
		})
	}
}

// TestSplitOnlyLargeChunks: the default cut needs 64 KB per part, so normal
// small chunks never pay for goroutines, and 2 MB chunks are split.
func TestSplitOnlyLargeChunks(t *testing.T) {
	p, _ := newTestPipeline(t, &fakeSink{}, nil)
	s := &scratch{}
	defer p.put(s)
	small := mixedChunk(100).b
	if b := p.split(s, small, 0); b != nil {
		t.Fatalf("a %d-byte chunk was cut at %v", len(small), b)
	}
	large := mixedChunk(8000).b
	if len(large) < 2*defaultMinPartBytes {
		t.Fatalf("test chunk too small: %d bytes", len(large))
	}
	b := p.split(s, large, 0)
	if len(b) != DefaultFilterParallelism-1 || b[0].off < len(large)/2 || b[0].off > len(large)/2+2048 {
		t.Fatalf("a %d-byte chunk was cut at %v; want one cut just past the middle", len(large), b)
	}
}

// TestSplitOneCutPerEvent: an event that spans several cuts starts one part,
// not one per cut.
func TestSplitOneCutPerEvent(t *testing.T) {
	p, _ := newTestPipeline(t, &fakeSink{}, func(c *Config) { c.FilterParallelism = 8 })
	p.minPartBytes = 1
	s := &scratch{}
	defer p.put(s)
	c := (&chunkBuilder{v2: true}).raw(`{"a":"` + strings.Repeat("x", 4096) + `"}`)
	c.raw(auditLine(1, "ResponseComplete", "alice", "get", "default", "pods"))
	if cuts := p.split(s, c.b, 0); len(cuts) != 1 || cuts[0].events != 1 {
		t.Fatalf("cuts %v; want one, after the first event", cuts)
	}
}

// TestSplitLeavesBusyCoresAlone: a chunk is cut into as many parts as the
// parallelism leaves after the other flushes filtering meanwhile, so two
// flushes at once with the default parallelism 2 read their chunks whole.
func TestSplitLeavesBusyCoresAlone(t *testing.T) {
	p, _ := newTestPipeline(t, &fakeSink{}, func(c *Config) { c.FilterParallelism = 3 })
	s := &scratch{}
	defer p.put(s)
	large := mixedChunk(8000).b
	for others, want := range []int{2, 1, 0, 0} {
		if cuts := p.split(s, large, others); len(cuts) != want {
			t.Errorf("with %d other flushes filtering: %d cuts; want %d", others, len(cuts), want)
		}
	}
}
