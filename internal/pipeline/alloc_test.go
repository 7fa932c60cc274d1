package pipeline

import (
	"context"
	"testing"

	"github.com/auditstream/auditstream/sink"
)

type discardSink struct{}

func (discardSink) Deliver(context.Context, []sink.Event) error { return nil }
func (discardSink) Close(context.Context) error                 { return nil }

// TestFlushAllocs: in steady state a flush allocates a fixed handful of
// objects (its deadline's context and timer), whatever the number of events:
// nothing per event.
func TestFlushAllocs(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("allocation counts are meaningless under -race")
	}
	pol := compilePolicy(t)
	p, err := New(Config{
		NewProcessor: func() Processor { return pol.NewProcessor() },
		Sink:         discardSink{},
		Log:          NewLogger(discard{}, LevelError, "t"),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(context.Background())
	allocs := func(events int, parsed bool) float64 {
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
		return testing.AllocsPerRun(50, func() {
			if p.Flush(c.b) != Delivered {
				panic("not delivered")
			}
		})
	}
	one, many := allocs(1, false), allocs(500, false)
	t.Logf("allocations per flush: %.1f with 1 event, %.1f with 500", one, many)
	if many > one || one > 8 {
		t.Fatalf("allocations grow with events or are too many: %.1f for 1 event, %.1f for 500", one, many)
	}
	if parsed := allocs(500, true); parsed > one {
		t.Fatalf("the parsed-record path allocates per event: %.1f per flush of 500", parsed)
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
