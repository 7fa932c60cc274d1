package sink

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// A batch whose every event is dropped while it is built (unknown stage, or
// too large with dead-lettering off) is settled: Deliver returns nil and
// counts them, rather than an error that would have the caller retry, and
// drop them again, for ever.
func TestDeliverAllDropped(t *testing.T) {
	c := newCluster(t)
	cfg := testConfig(c.ListenAddrs())
	cfg.DeadLetterTopic = ""
	cfg.MaxMessageBytes = 4096
	s, rec := newTestSink(t, cfg)
	// Too large with nothing the sink may shorten: a proxy's long
	// X-Forwarded-For chain of short addresses.
	meta := testEvent(1, StageResponseComplete, "Metadata", 0)
	ips := `"sourceIPs":["10.0.0.1"` + strings.Repeat(`,"10.0.0.1"`, 600) + `]`
	meta.Value = []byte(strings.Replace(string(meta.Value), `"sourceIPs":["10.0.0.1"]`, ips, 1))
	evs := []Event{testEvent(2, "Bogus", "Metadata", 0), meta, testEvent(3, "", "Request", 0)}
	res, err := s.Deliver(context.Background(), evs)
	if err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	if res != (Result{Dropped: len(evs)}) {
		t.Errorf("unexpected result %+v; want %d dropped", res, len(evs))
	}
	if tot := s.Stats().Total(); tot.Dropped != uint64(len(evs)) || tot.Sent != 0 {
		t.Errorf("unexpected stats %+v", tot)
	}
	if !strings.Contains(rec.text(), "warn: dropped") {
		t.Errorf("drops not logged:\n%s", rec.text())
	}
}

// A batch whose events all go to the dead-letter topic is acknowledged, and
// counts none of them as sent.
func TestDeliverAllDeadLettered(t *testing.T) {
	c := newCluster(t)
	cfg := testConfig(c.ListenAddrs())
	cfg.DeadLetterTopic = "dlq"
	s, _ := newTestSink(t, cfg)
	evs := testEvents(10, 600)
	for i := range evs {
		evs[i].DeadLetter = "not an audit event"
	}
	res, err := s.Deliver(context.Background(), evs)
	if err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	if res != (Result{DeadLettered: len(evs)}) {
		t.Errorf("unexpected result %+v; want %d dead-lettered", res, len(evs))
	}
	if tot := s.Stats().Total(); tot.DeadLettered != uint64(len(evs)) || tot.Sent != 0 || tot.SentBytes != 0 {
		t.Errorf("unexpected stats %+v", tot)
	}
	for _, r := range consume(t, c.ListenAddrs(), len(evs), "dlq") {
		if r.headers[HeaderError] != "not an audit event" {
			t.Errorf("unexpected error header %v", r.headers)
		}
	}
}

// The reasons a caller gives name their record, so each differs: the log
// still says so once per minute, not once per event, for either outcome.
func TestCallerDeadLettersLogOnce(t *testing.T) {
	for _, dlq := range []string{"dlq", ""} {
		c := newCluster(t)
		cfg := testConfig(c.ListenAddrs())
		cfg.DeadLetterTopic = dlq
		s, rec := newTestSink(t, cfg)
		evs := testEvents(50, 600)
		for i := range evs {
			// As the pipeline sends a line it could not read: no stage.
			evs[i].DeadLetter = fmt.Sprintf("record %d of the chunk: not an audit event", i)
			evs[i].Stage, evs[i].Level = "", ""
		}
		if _, err := s.Deliver(context.Background(), evs); err != nil {
			t.Fatalf("Deliver: %v", err)
		}
		if n := strings.Count(rec.text(), "since the last report of this cause"); n != 1 {
			t.Errorf("dead_letter_topic %q: %d log lines for 50 dead letters, want 1:\n%s", dlq, n, rec.text())
		}
	}
}
