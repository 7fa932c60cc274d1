package pipeline

import (
	"bytes"
	"context"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tinylib/msgp/msgp"

	"github.com/auditstream/auditstream/filter"
	"github.com/auditstream/auditstream/sink"
)

// panicky is a processor that panics on a line holding "boom".
type panicky struct{ Processor }

func (p panicky) AppendEventOrView(dst, line []byte) ([]byte, []byte, filter.Result, error) {
	if bytes.Contains(line, []byte("boom")) {
		panic("boom")
	}
	return p.Processor.AppendEventOrView(dst, line)
}

// TestEventPanicIsDeadLettered: an event whose filtering panics, on the
// flush's goroutine or a part's, goes to the dead-letter topic as it was
// read with the panic's value as its reason, the stack goes to the log, and
// every other event of the chunk is delivered as without it, in order.
func TestEventPanicIsDeadLettered(t *testing.T) {
	pol := compilePolicy(t)
	boom := strings.Replace(auditLine(9999, "ResponseComplete", "alice", "get", "default", "pods"), "alice", "boom", 1)
	for _, tc := range []struct {
		where       string
		parallelism int
	}{{"first part", 2}, {"last part", 2}, {"one piece", 1}} {
		t.Run(tc.where, func(t *testing.T) {
			// Parsed records come out of maps in random order: one build.
			rest := mixedChunk(300)
			c := (&chunkBuilder{v2: true}).raw(boom)
			c.b = append(c.b, rest.b...)
			if tc.where != "first part" {
				c = &chunkBuilder{v2: true, b: bytes.Clone(rest.b)}
				c.raw(boom)
			}
			fs := &fakeSink{}
			var made countedProcessors
			p, logs := newTestPipeline(t, fs, func(cfg *Config) {
				cfg.NewProcessor = func() Processor { return panicky{pol.NewProcessor()} }
				cfg.FilterParallelism = tc.parallelism
				made.wrap(cfg)
			})
			p.minPartBytes = 1
			if out := p.Flush(c.b); out != Delivered {
				t.Fatalf("outcome %s; want delivered", out)
			}
			if tc.parallelism > 1 && made.parts() == 0 {
				t.Fatal("the chunk was read in one piece")
			}
			got := fs.events()
			want, _, _, _ := flushWith(t, rest.b, 1, 1)
			var dead delivered
			idx := -1
			for i, e := range got {
				if strings.Contains(e.deadLetter, "panic") {
					dead, idx = e, i
				}
			}
			if idx < 0 || dead.value != boom || !strings.HasSuffix(dead.deadLetter, "panic: boom") {
				t.Fatalf("the panicking event was not dead-lettered as read: %+v", dead)
			}
			got = append(got[:idx:idx], got[idx+1:]...)
			// The other dead-lettered events' reasons number them and give
			// offsets in the chunk, where the panicking one may come first.
			for _, evs := range [][]delivered{got, want} {
				for i := range evs {
					if evs[i].deadLetter != "" {
						evs[i].deadLetter = "dead-lettered"
					}
				}
			}
			if !reflect.DeepEqual(got, want) {
				for i := range got {
					if got[i] != want[i] {
						t.Logf("%d: %+v\n%+v", i, got[i], want[i])
						break
					}
				}
				t.Fatalf("the other events differ from a flush without the panic: %d events, want %d", len(got), len(want))
			}
			if tc.where == "first part" && idx != 0 || tc.where != "first part" && idx != len(got) {
				t.Fatalf("dead-lettered at %d of %d, not in chunk order", idx, len(got)+1)
			}
			st := p.Stats()
			if st.EventPanics != 1 || st.DeadLettered != st.Malformed+1 || st.FlushPanics != 0 {
				t.Fatalf("stats %+v", st)
			}
			log := logs.String()
			if !strings.Contains(log, "[error] [output:auditstream:test.0] panic while filtering an event") ||
				!strings.Contains(log, "panicky.AppendEventOrView") {
				t.Fatalf("no error line with the panicking frame:\n%s", log)
			}
			// The pipeline still works: the scratches went back whole.
			if out := p.Flush(mixedChunk(50).b); out != Delivered {
				t.Fatalf("the next flush: %s", out)
			}
		})
	}
}

// TestFlushPanicIsRetried: a panic outside the filtering of an event (here
// in the sink) keeps the chunk for a retry, is counted and logged as an
// error, and the next flush works.
func TestFlushPanicIsRetried(t *testing.T) {
	var panics atomic.Int32
	panics.Store(1)
	fs := &fakeSink{deliver: func(context.Context, []sink.Event) error {
		if panics.Add(-1) >= 0 {
			panic("sink bug")
		}
		return nil
	}}
	p, logs := newTestPipeline(t, fs, nil)
	c := mixedChunk(20)
	if out := p.Flush(c.b); out != Retry {
		t.Fatalf("outcome %s; want retry", out)
	}
	if st := p.Stats(); st.FlushPanics != 1 || st.Retries != 1 {
		t.Fatalf("stats %+v", st)
	}
	if !strings.Contains(logs.String(), "[error] [output:auditstream:test.0] panic in a flush (a bug; please report it), the chunk is kept and retried: sink bug") {
		t.Fatalf("no error line:\n%s", logs)
	}
	if out := p.Flush(c.b); out != Delivered || len(fs.events()) == 0 {
		t.Fatalf("the retry: %s, %d events", out, len(fs.events()))
	}
}

// TestSummaryPanicIsRecovered: the summary timer's goroutine survives a
// panic (which would end the process) and goes on.
func TestSummaryPanicIsRecovered(t *testing.T) {
	var calls atomic.Int32
	_, logs := newTestPipeline(t, &fakeSink{}, func(c *Config) {
		c.SummaryInterval = 5 * time.Millisecond
		c.LogInterval = time.Millisecond
		c.SinkSummary = func([]byte) []byte {
			calls.Add(1)
			panic("summary bug")
		}
	})
	for deadline := time.Now().Add(5 * time.Second); calls.Load() < 3; {
		if time.Now().After(deadline) {
			t.Fatalf("the summary stopped after %d panics", calls.Load())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if !strings.Contains(logs.String(), "[error] [output:auditstream:test.0] panic while writing the summary (a bug; please report it): summary bug") {
		t.Fatalf("no error line:\n%s", logs)
	}
}

// TestPanicOutsideFilteringIsRetried: a panic in the walk of a chunk but
// not while filtering an event (here in the Locator naming a record that is
// not an event) is not blamed on an event: the flush returns Retry.
func TestPanicOutsideFilteringIsRetried(t *testing.T) {
	fs := &fakeSink{}
	p, _ := newTestPipeline(t, fs, nil)
	c := (&chunkBuilder{v2: true}).raw(auditLine(1, "ResponseComplete", "alice", "get", "default", "pods"))
	c.b = msgp.AppendArrayHeader(c.b, 2)
	c.b = msgp.AppendString(c.b, "not a timestamp")
	c.b = msgp.AppendMapHeader(c.b, 0)
	out := p.FlushFrom(c.b, func(int) string { panic("locator bug") })
	if st := p.Stats(); out != Retry || st.FlushPanics != 1 || st.EventPanics != 0 || len(fs.events()) != 0 {
		t.Fatalf("outcome %s, stats %+v, %d events delivered; want a retry of the whole chunk", out, st, len(fs.events()))
	}
}
