package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
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
		} else {
			r.Acked++
		}
	}
	return r, nil
}

func (f *flakySink) Close(context.Context) error { return nil }

// shipWith ships the lines through a pipeline over the real audit2rbac
// demo policy and snk, in chunks of 10 events, and returns the shipper.
func shipWith(t *testing.T, snk pipeline.Sink, lines []string) (*shipper, *pipeline.Pipeline) {
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
	sh := &shipper{p: p, log: log, logKey: pipeline.DefaultLogKey, backoff: time.Millisecond,
		o: &shipOptions{chunkEvents: 10, chunkBytes: 2 << 20, retryTimeout: time.Minute}}
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
}
