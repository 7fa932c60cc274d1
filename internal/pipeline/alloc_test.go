package pipeline

import (
	"context"
	"testing"

	"github.com/auditstream/auditstream/sink"
)

type discardSink struct{}

func (discardSink) Deliver(_ context.Context, e []sink.Event) (sink.Result, error) {
	return resultOf(e), nil
}
func (discardSink) Close(context.Context) error { return nil }

// TestFlushAllocs: in steady state a flush allocates a fixed handful of
// objects (its deadline's context and timer), whatever the number of events:
// nothing per event. A chunk filtered in parts adds one per extra part (its
// goroutine), still nothing per event.
func TestFlushAllocs(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("allocation counts are meaningless under -race")
	}
	pol := compilePolicy(t)
	// allocs also checks that a chunk in parts was read in parts.
	allocs := func(events int, parsed bool, parallelism int) float64 {
		cfg := Config{
			NewProcessor:      func() Processor { return pol.NewProcessor() },
			Sink:              discardSink{},
			Log:               NewLogger(discard{}, LevelError, "t"),
			FilterParallelism: parallelism,
		}
		var made countedProcessors
		made.wrap(&cfg)
		p, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close(context.Background())
		c := &chunkBuilder{v2: true}
		for i := range events {
			line := auditLine(i, "ResponseComplete", "alice", "get", "default", "pods")
			if parsed {
				c.parsed(line)
			} else {
				c.raw(line)
			}
		}
		p.Flush(c.b) // grow the pooled scratch first
		if wantParts := parallelism - 1; made.parts() != wantParts {
			t.Fatalf("%d events, parallelism %d: %d parts on goroutines of their own; want %d", events, parallelism, made.parts(), wantParts)
		}
		return testing.AllocsPerRun(50, func() {
			if p.Flush(c.b) != Delivered {
				panic("not delivered")
			}
		})
	}
	one, many := allocs(1, false, 1), allocs(500, false, 1)
	t.Logf("allocations per flush: %.1f with 1 event, %.1f with 500", one, many)
	if many > one || one > 8 {
		t.Fatalf("allocations grow with events or are too many: %.1f for 1 event, %.1f for 500", one, many)
	}
	if parsed := allocs(500, true, 1); parsed > one {
		t.Fatalf("the parsed-record path allocates per event: %.1f per flush of 500", parsed)
	}
	// 500 events are about 350 KB: two parts, as are 1500.
	halves, more := allocs(500, false, 2), allocs(1500, false, 2)
	t.Logf("in two parts: %.1f with 500 events, %.1f with 1500", halves, more)
	if halves > one+1 || more > halves {
		t.Fatalf("a chunk in two parts allocates %.1f (500 events) and %.1f (1500); want at most %.1f", halves, more, one+1)
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
