package metrics

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/auditstream/auditstream/filter"
	"github.com/auditstream/auditstream/internal/pipeline"
	"github.com/auditstream/auditstream/internal/policyreload"
	"github.com/auditstream/auditstream/sink"
)

// source returns a Source whose counters are distinct numbers, so that a
// series read from the wrong counter shows.
func source(name string) Source {
	return Source{
		Name: name,
		Pipeline: func() pipeline.Stats {
			return pipeline.Stats{Kept: 11, Dropped: 12, DeadLettered: 13, Malformed: 14, Delivered: 99}
		},
		Decisions: func() pipeline.Decisions {
			d := pipeline.Decisions{NoRule: 21, Rules: []uint64{22, 23}}
			d.Levels[filter.LevelMetadata] = 24
			d.Levels[filter.LevelRequestResponse] = 25
			return d
		},
		Sink: func() sink.Stats {
			return sink.Stats{Topics: map[string]sink.TopicStats{
				"audit.ResponseComplete": {Sent: 31, SentBytes: 32, Retried: 33, Truncated: 34, DeadLettered: 35, Dropped: 36, Refused: 37},
			}}
		},
		Policy: func() policyreload.Stats {
			return policyreload.Stats{Successes: 41, Failures: 42, LastSuccess: time.Unix(1_700_000_000, 0), SHA256: "abc", Refused: true}
		},
	}
}

func TestSeriesReadTheRightCounters(t *testing.T) {
	r := NewRegistry()
	in := NewInstance(source("kafka-main"), time.Minute)
	if err := r.Add(in, ""); err != nil {
		t.Fatal(err)
	}
	hooks := in.Hooks()
	hooks.Flushed(pipeline.Delivered, 3*time.Millisecond)
	hooks.Flushed(pipeline.Retry, time.Second)
	hooks.Acked(2 * time.Millisecond)

	const want = `
# HELP auditstream_events_total Audit events read from chunks, by outcome: kept or dropped_policy by the policy, malformed (not a readable audit event; sent to the dead-letter topic as read), dead_lettered (acknowledged on the dead-letter topic: malformed lines, and kept events Kafka cannot take). A retried chunk is read, and counted, again.
# TYPE auditstream_events_total counter
auditstream_events_total{instance="kafka-main",outcome="dead_lettered"} 13
auditstream_events_total{instance="kafka-main",outcome="dropped_policy"} 12
auditstream_events_total{instance="kafka-main",outcome="kept"} 11
auditstream_events_total{instance="kafka-main",outcome="malformed"} 14
# HELP auditstream_events_by_level_total Kept audit events by the level they are shipped at.
# TYPE auditstream_events_by_level_total counter
auditstream_events_by_level_total{instance="kafka-main",level="Metadata"} 24
auditstream_events_by_level_total{instance="kafka-main",level="Request"} 0
auditstream_events_by_level_total{instance="kafka-main",level="RequestResponse"} 25
# HELP auditstream_policy_rule_matches_total Audit events decided by each policy rule, numbered from 0 as auditstream check prints them; none: no rule matched (level None).
# TYPE auditstream_policy_rule_matches_total counter
auditstream_policy_rule_matches_total{instance="kafka-main",rule="0"} 22
auditstream_policy_rule_matches_total{instance="kafka-main",rule="1"} 23
auditstream_policy_rule_matches_total{instance="kafka-main",rule="none"} 21
# HELP auditstream_kafka_bytes_total Value bytes of the messages Kafka acknowledged on their stage topic.
# TYPE auditstream_kafka_bytes_total counter
auditstream_kafka_bytes_total{instance="kafka-main",topic="audit.ResponseComplete"} 32
# HELP auditstream_kafka_messages_total Kafka messages by their stage topic and outcome: acked on the topic, retried (once per message and flush that had to send it again), truncated to fit, dead_lettered, dropped (undeliverable, no dead-letter topic), refused (the brokers refused the topic; the chunk is kept and retried).
# TYPE auditstream_kafka_messages_total counter
auditstream_kafka_messages_total{instance="kafka-main",outcome="acked",topic="audit.ResponseComplete"} 31
auditstream_kafka_messages_total{instance="kafka-main",outcome="dead_lettered",topic="audit.ResponseComplete"} 35
auditstream_kafka_messages_total{instance="kafka-main",outcome="dropped",topic="audit.ResponseComplete"} 36
auditstream_kafka_messages_total{instance="kafka-main",outcome="refused",topic="audit.ResponseComplete"} 37
auditstream_kafka_messages_total{instance="kafka-main",outcome="retried",topic="audit.ResponseComplete"} 33
auditstream_kafka_messages_total{instance="kafka-main",outcome="truncated",topic="audit.ResponseComplete"} 34
# HELP auditstream_policy_reloads_total Policy reloads after a change of policy_file, by result: success (the new policy is in force) or failure (refused, the old one stays; counted once per content).
# TYPE auditstream_policy_reloads_total counter
auditstream_policy_reloads_total{instance="kafka-main",result="failure"} 42
auditstream_policy_reloads_total{instance="kafka-main",result="success"} 41
# HELP auditstream_policy_last_reload_success_timestamp_seconds When the policy in force was loaded, at start or by the last successful reload.
# TYPE auditstream_policy_last_reload_success_timestamp_seconds gauge
auditstream_policy_last_reload_success_timestamp_seconds{instance="kafka-main"} 1.7e+09
# HELP auditstream_policy_last_reload_successful 0 while policy_file holds a policy that was refused (the previous one is in force), else 1.
# TYPE auditstream_policy_last_reload_successful gauge
auditstream_policy_last_reload_successful{instance="kafka-main"} 0
# HELP auditstream_policy_info The policy in force, by the sha256 of its file; always 1.
# TYPE auditstream_policy_info gauge
auditstream_policy_info{instance="kafka-main",sha256="abc"} 1
`
	names := []string{"auditstream_events_total", "auditstream_events_by_level_total", "auditstream_policy_rule_matches_total",
		"auditstream_kafka_bytes_total", "auditstream_kafka_messages_total", "auditstream_policy_reloads_total",
		"auditstream_policy_last_reload_success_timestamp_seconds", "auditstream_policy_last_reload_successful", "auditstream_policy_info"}
	if err := testutil.GatherAndCompare(r.Gatherer(), strings.NewReader(want), names...); err != nil {
		t.Error(err)
	}

	// The histograms: one flush per result it had, one ack.
	n, err := testutil.GatherAndCount(r.Gatherer(), "auditstream_flush_seconds", "auditstream_kafka_ack_seconds")
	if err != nil {
		t.Fatal(err)
	}
	if n != 4 { // three flush results (ok, retry, error) and the ack series
		t.Errorf("%d histogram series; want 4", n)
	}
	mfs, err := r.Gatherer().Gather()
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]uint64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			if h := m.GetHistogram(); h != nil {
				key := mf.GetName()
				for _, l := range m.GetLabel() {
					if l.GetName() == "result" {
						key += "/" + l.GetValue()
					}
				}
				counts[key] = h.GetSampleCount()
			}
		}
	}
	wantCounts := map[string]uint64{
		"auditstream_flush_seconds/ok": 1, "auditstream_flush_seconds/retry": 1, "auditstream_flush_seconds/error": 0,
		"auditstream_kafka_ack_seconds": 1,
	}
	for k, v := range wantCounts {
		if counts[k] != v {
			t.Errorf("%s: %d observations; want %d", k, counts[k], v)
		}
	}
}

func TestInstanceNamesAreUnique(t *testing.T) {
	r := NewRegistry()
	if err := r.Add(NewInstance(source("a"), time.Minute), ""); err != nil {
		t.Fatal(err)
	}
	err := r.Add(NewInstance(source("a"), time.Minute), "")
	if err == nil || !strings.Contains(err.Error(), `instance_name "a"`) {
		t.Fatalf("a second instance named a: %v; want it refused", err)
	}
	if _, err := r.Gatherer().Gather(); err != nil {
		t.Errorf("gather: %v", err)
	}
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// TestEndpointLivesWithItsInstances: the endpoint starts with the first
// instance that asks for it, serves every instance, and stops with the last
// that asked for it.
func TestEndpointLivesWithItsInstances(t *testing.T) {
	r := NewRegistry()
	now := time.Unix(1_800_000_000, 0)
	r.now = func() time.Time { return now }
	quiet := NewInstance(source("quiet"), time.Minute)
	if err := r.Add(quiet, ""); err != nil {
		t.Fatal(err)
	}
	if r.Addr() != "" {
		t.Fatal("an instance without a listen address started the endpoint")
	}
	a := NewInstance(source("a"), time.Minute)
	if err := r.Add(a, "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	addr := r.Addr()
	b := NewInstance(source("b"), time.Minute)
	if err := r.Add(b, "127.0.0.1:1"); err == nil {
		t.Fatal("a second endpoint address was accepted")
	}
	if err := r.Add(b, addr); err != nil {
		t.Fatalf("the endpoint's own address: %v", err)
	}
	base := "http://" + addr

	code, body := get(t, base+"/metrics")
	for _, want := range []string{`auditstream_events_total{instance="quiet",outcome="kept"} 11`, `instance="a"`, `instance="b"`, "process_cpu_seconds_total", "go_goroutines"} {
		if code != 200 || !strings.Contains(body, want) {
			t.Errorf("/metrics %d lacks %s", code, want)
		}
	}
	if code, _ := get(t, base+"/healthz"); code != 200 {
		t.Errorf("/healthz %d; want 200", code)
	}

	// Not ready until the brokers answered; then ready; then not ready
	// once flushes failed for longer than the delivery timeout.
	if code, body := get(t, base+"/readyz"); code != 503 || !strings.Contains(body, "a: not ready: cannot reach the brokers") {
		t.Errorf("/readyz before any broker check: %d %q; want 503", code, body)
	}
	for _, in := range []*Instance{quiet, a, b} {
		in.Readiness().Reachable(nil)
	}
	if code, body := get(t, base+"/readyz"); code != 200 {
		t.Errorf("/readyz with brokers reachable: %d %q; want 200", code, body)
	}
	a.Readiness().Flushed(false, now)
	now = now.Add(59 * time.Second)
	if code, _ := get(t, base+"/readyz"); code != 200 {
		t.Errorf("/readyz after 59 s of failing flushes: %d; want 200", code)
	}
	now = now.Add(2 * time.Second)
	if code, body := get(t, base+"/readyz"); code != 503 || !strings.Contains(body, "a: not ready: flushes failing") {
		t.Errorf("/readyz after 61 s of failing flushes: %d %q; want 503", code, body)
	}
	if !strings.Contains(scrape(t, base), `auditstream_ready{instance="a"} 0`) {
		t.Error("auditstream_ready does not say a is not ready")
	}
	a.Readiness().Flushed(true, now)
	if code, _ := get(t, base+"/readyz"); code != 200 {
		t.Errorf("/readyz after a delivered flush: %d; want 200", code)
	}

	r.Remove(a)
	if code, body := get(t, base+"/metrics"); code != 200 || strings.Contains(body, `instance="a"`) {
		t.Errorf("after a's exit, /metrics %d still has a's series", code)
	}
	r.Remove(b)
	if r.Addr() != "" {
		t.Error("the endpoint still runs after the last instance that asked for it exited")
	}
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Error("the endpoint still answers")
	}
}

func scrape(t *testing.T, base string) string {
	t.Helper()
	_, body := get(t, base+"/metrics")
	return body
}

func TestReadinessBrokerErrors(t *testing.T) {
	r := NewReadiness(time.Second)
	r.Reachable(errors.New("dial tcp: connection refused"))
	if err := r.Ready(time.Now()); err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("Ready %v; want the broker error", err)
	}
	r.Flushed(true, time.Now())
	if err := r.Ready(time.Now()); err != nil {
		t.Errorf("Ready after a delivered flush: %v", err)
	}
	// A check that answers after a delivered flush, failing on a topic
	// auto_create_topics has not created yet, does not undo what the flush
	// proved.
	r.Reachable(errors.New(`topic "audit.Panic": Unknown Topic Or Partition`))
	if err := r.Ready(time.Now()); err != nil || !r.Delivered() {
		t.Errorf("Ready after a late failed check: %v", err)
	}
}

// BenchmarkHooks is the per-flush cost of metrics: both hooks, as a flush
// that delivered calls them. A flush carries a chunk of hundreds to
// thousands of events.
func BenchmarkHooks(b *testing.B) {
	h := NewInstance(source("bench"), time.Minute).Hooks()
	b.ReportAllocs()
	for b.Loop() {
		h.Acked(3 * time.Millisecond)
		h.Flushed(pipeline.Delivered, 5*time.Millisecond)
	}
}
