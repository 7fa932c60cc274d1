package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/auditstream/auditstream/filter"
	"github.com/auditstream/auditstream/internal/auditlog"
	"github.com/auditstream/auditstream/internal/pipeline"
	"github.com/auditstream/auditstream/sink"
)

// flakySink fails its first fails Deliver calls after acknowledging half of
// the events (a broker that went away mid-chunk), then takes everything.
type flakySink struct {
	mu     sync.Mutex
	fails  int
	calls  int
	reason []string // the dead-letter reasons it was given
	values []string // and their values
}

func (f *flakySink) Deliver(_ context.Context, events []sink.Event) (sink.Result, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.calls++; f.calls <= f.fails {
		return sink.Result{Acked: len(events) / 2}, context.DeadlineExceeded
	}
	var r sink.Result
	for _, e := range events {
		if e.DeadLetter != "" {
			r.DeadLettered++
			f.reason = append(f.reason, e.DeadLetter)
			f.values = append(f.values, string(e.Value))
		} else {
			r.Acked++
		}
	}
	return r, nil
}

func (f *flakySink) Close(context.Context) error { return nil }

// shipWith ships the lines through a pipeline over the real audit2rbac
// demo policy and snk, in chunks of 10 events, and returns the shipper;
// maxLine, if not 0, is the reader's longest line.
func shipWith(t *testing.T, snk pipeline.Sink, lines []string, maxLine ...int) (*shipper, *pipeline.Pipeline) {
	t.Helper()
	return shipWorkers(t, snk, lines, 1, maxLine...)
}

// shipWorkers is shipWith with workers chunks delivered at once.
func shipWorkers(t *testing.T, snk pipeline.Sink, lines []string, workers int, maxLine ...int) (*shipper, *pipeline.Pipeline) {
	t.Helper()
	pol, _, err := filter.LoadFile(testdata + "audit2rbac-demo-policy.v1.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	log := pipeline.NewLogger(&logs, pipeline.LevelWarn, "ship")
	p, err := pipeline.New(pipeline.Config{
		NewProcessor: func() pipeline.Processor { return pol.NewProcessor() },
		Sink:         snk,
		Log:          log,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close(context.Background()) })
	file := filepath.Join(t.TempDir(), "audit.log")
	if err := os.WriteFile(file, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	in := auditlog.NewReader([]string{file}, nil)
	defer in.Close()
	for _, n := range maxLine {
		in.SetMaxLineBytes(n)
	}
	sh := &shipper{p: p, log: log, logKey: pipeline.DefaultLogKey, backoff: time.Millisecond,
		o: &shipOptions{chunkEvents: 10, chunkBytes: 2 << 20, retryTimeout: time.Minute, workers: workers}}
	if err := sh.run(in); err != nil {
		t.Fatalf("run: %v\n%s", err, logs.String())
	}
	return sh, p
}

func demoLines(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile(testdata + "audit2rbac-demo.v1.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSpace(string(data)), "\n")
}

// TestShipVerdict: ship fails exactly when a line did not reach its stage
// topic and was not dropped by the policy, and says how many of each.
func TestShipVerdict(t *testing.T) {
	t.Run("all good", func(t *testing.T) {
		sh, _ := shipWith(t, &flakySink{}, demoLines(t))
		if err := sh.verdict(); err != nil || sh.counts.Kept != 37 || sh.counts.Delivered != 37 {
			t.Fatalf("verdict %v, counts %+v; want success and 37 kept and delivered", err, sh.counts)
		}
	})
	t.Run("retried then delivered", func(t *testing.T) {
		sh, p := shipWith(t, &flakySink{fails: 2}, demoLines(t))
		if st := p.Stats(); st.Retries != 2 || st.Kept <= sh.counts.Kept {
			t.Fatalf("pipeline stats %+v: the flushes were not retried", st)
		}
		// The pipeline counted the kept events of every attempt; ship
		// counts each chunk once, as it finally went.
		if err := sh.verdict(); err != nil || sh.counts.Kept != 37 || sh.counts.Delivered != 37 {
			t.Fatalf("verdict %v, counts %+v; want success and 37 kept and delivered", err, sh.counts)
		}
	})
	t.Run("a malformed line", func(t *testing.T) {
		lines := demoLines(t)
		lines = append(lines[:5:5], append([]string{`{"kind":"Event","apiVersion":"audit.k8s.io/v1","verb":7}`}, lines[5:]...)...)
		snk := &flakySink{}
		sh, _ := shipWith(t, snk, lines)
		err := sh.verdict()
		if err == nil || err.Error() != "1 events were dead-lettered (1 lines are not audit events)" {
			t.Fatalf("verdict %v; want the dead-lettered line counted", err)
		}
		if len(snk.reason) != 1 || !strings.Contains(snk.reason[0], "audit.log:6 (record 5 of the chunk): ") {
			t.Fatalf("dead-letter reasons %q; want the file and line", snk.reason)
		}
	})
	t.Run("a line too long to read whole", func(t *testing.T) {
		lines := demoLines(t)
		long := strings.Replace(lines[7], `"requestURI":"/api/v1/pods`, `"requestURI":"/api/v1/pods?x=`+strings.Repeat("u", 5000), 1)
		if len(long) <= 4096 {
			t.Fatal("the line is not longer than the limit")
		}
		lines[7] = long
		snk := &flakySink{}
		sh, _ := shipWith(t, snk, lines, 4096)
		err := sh.verdict()
		if err == nil || !strings.Contains(err.Error(), "1 events were dead-lettered") ||
			!strings.Contains(err.Error(), "1 lines were too long to read whole (their starts were dead-lettered)") {
			t.Fatalf("verdict %v; want the long line dead-lettered and counted", err)
		}
		if sh.counts.Delivered != 36 {
			t.Errorf("%d delivered; want the 36 other events", sh.counts.Delivered)
		}
		if len(snk.values) != 1 || snk.values[0] != long[:4096] {
			t.Fatalf("dead letters %d; want the long line's first 4096 bytes", len(snk.values))
		}
		want := "audit.log:8: line too long: " + strconv.Itoa(len(long)+1) + " bytes, more than 4096; the message holds its first 4096 bytes"
		if !strings.Contains(snk.reason[0], want) {
			t.Fatalf("reason %q; want it to say %q", snk.reason[0], want)
		}
	})
}

// slowSink takes every event after a pause, and records how many Deliver
// calls ran at once.
type slowSink struct {
	inFlight, most atomic.Int32
	delivered      atomic.Int64
}

func (s *slowSink) Deliver(_ context.Context, events []sink.Event) (sink.Result, error) {
	n := s.inFlight.Add(1)
	defer s.inFlight.Add(-1)
	for m := s.most.Load(); n > m && !s.most.CompareAndSwap(m, n); m = s.most.Load() {
	}
	time.Sleep(20 * time.Millisecond)
	s.delivered.Add(int64(len(events)))
	return sink.Result{Acked: len(events)}, nil
}

func (s *slowSink) Close(context.Context) error { return nil }

// With --workers N, ship delivers up to N chunks at once while it reads on,
// and still counts each chunk once; with 1, one at a time.
func TestShipWorkers(t *testing.T) {
	for _, workers := range []int{1, 3} {
		snk := &slowSink{}
		sh, _ := shipWorkers(t, snk, demoLines(t), workers)
		if err := sh.verdict(); err != nil || sh.counts.Kept != 37 || sh.counts.Delivered != 37 || snk.delivered.Load() != 37 {
			t.Fatalf("workers %d: verdict %v, counts %+v, sink took %d; want 37 kept and delivered", workers, err, sh.counts, snk.delivered.Load())
		}
		if got := snk.most.Load(); got != int32(workers) {
			t.Errorf("workers %d: at most %d deliveries at once; want %d", workers, got, workers)
		}
	}
}
