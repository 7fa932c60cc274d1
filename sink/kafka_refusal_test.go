package sink

// The broker refusals and record rejections that the real broker of `make
// kafka-up` can be made to give. It has no authorizer, so no
// TOPIC_AUTHORIZATION_FAILED (kfake's authorizer gives it in
// TestDeliverTopicNotAuthorized). INVALID_TOPIC_EXCEPTION cannot be had:
// Validate rejects the names the broker would, its internal topics included
// (to which kafka-go would not even send a produce request). The other
// refusals are injected through kfake (refusal_test.go).

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/auditstream/auditstream/internal/kafkatest"
)

// INVALID_TIMESTAMP, for real: a topic that accepts no record older than
// 1 ms refuses every record; that judges the clock, not the events, so they
// are kept.
func TestKafkaRefusedTimestamp(t *testing.T) {
	info := kafkatest.Broker(t)
	cfg := realTopics(t, info, info.Brokers)
	strict := kafkatest.TopicName(t) + ".strict"
	kafkatest.CreateTopic(t, info, strict, 1, kafka.ConfigEntry{ConfigName: "message.timestamp.before.max.ms", ConfigValue: "1"})
	cfg.TopicResponseComplete = strict
	s, rec := newTestSink(t, cfg)
	res, err := s.Deliver(context.Background(), testEvents(40, 600)) // 20 ResponseComplete
	if !IsRetryable(err) || !errors.Is(err, kafka.InvalidTimestamp) || res.Acked != 20 || res.DeadLettered+res.Dropped != 0 {
		t.Fatalf("want a retryable INVALID_TIMESTAMP and 20 acked; got %v, %+v", err, res)
	}
	if st := s.Stats().Topics[strict]; st.Refused != 20 {
		t.Errorf("unexpected stats %+v", st)
	}
	if !strings.Contains(rec.text(), "clock") {
		t.Errorf("the log does not say what to check:\n%s", rec.text())
	}
}

// INVALID_RECORD, for real: a compacted topic rejects a record without a
// key, and with it its whole batch. Keyed by namespace, the cluster-scoped
// events have no key: only they are dead-lettered, with the broker's reason;
// the other events of their batches are delivered, and Deliver succeeds.
func TestKafkaRejectedRecordDeadLettered(t *testing.T) {
	info := kafkatest.Broker(t)
	cfg := realTopics(t, info, info.Brokers)
	compacted := kafkatest.TopicName(t) + ".compacted"
	kafkatest.CreateTopic(t, info, compacted, 1, kafka.ConfigEntry{ConfigName: "cleanup.policy", ConfigValue: "compact"})
	cfg.Topic = compacted
	cfg.TopicRequestReceived, cfg.TopicResponseStarted, cfg.TopicResponseComplete, cfg.TopicPanic = "", "", "", ""
	cfg.MessageKey = KeyNamespace
	s, rec := newTestSink(t, cfg)
	evs := testEvents(30, 600) // every third one cluster-scoped
	res, err := s.Deliver(context.Background(), evs)
	if err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	if res != (Result{Acked: 20, DeadLettered: 10}) {
		t.Errorf("unexpected result %+v", res)
	}
	dead := kafkatest.KcatConsume(t, info.Brokers[0], cfg.DeadLetterTopic)
	if len(dead) != 10 {
		t.Fatalf("%d dead letters; want 10", len(dead))
	}
	for _, r := range dead {
		if r.Header(HeaderOriginalTopic) != compacted || !strings.Contains(r.Header(HeaderError), "Invalid Record") {
			t.Errorf("unexpected dead letter headers %v", r.Headers)
		}
	}
	if n := len(kafkatest.KcatConsume(t, info.Brokers[0], compacted)); n != 20 {
		t.Errorf("%d records on the compacted topic; want 20", n)
	}
	if !strings.Contains(rec.text(), "warn: dead-lettered") {
		t.Errorf("dead letters not logged:\n%s", rec.text())
	}
}

// A topic that does not exist with auto_create_topics off: retried until
// delivery_timeout, then a retryable error; logged once as an error that
// names the topic and the setting.
func TestKafkaMissingTopicNotCreated(t *testing.T) {
	info := kafkatest.Broker(t)
	cfg := realTopics(t, info, info.Brokers)
	cfg.TopicPanic = kafkatest.TopicName(t) + ".missing"
	cfg.AutoCreateTopics = false
	cfg.DeliveryTimeout = 2 * time.Second
	s, rec := newTestSink(t, cfg)
	res, err := s.Deliver(context.Background(), testEvents(100, 600))
	if !IsRetryable(err) || res.Acked != 98 {
		t.Fatalf("want a retryable error and 98 acked; got %v, %+v", err, res)
	}
	want := `error: topic "` + cfg.TopicPanic + `" does not exist (create it, or set auto_create_topics on`
	if n := strings.Count(rec.text(), want); n != 1 {
		t.Errorf("want one line %q; got %d:\n%s", want, n, rec.text())
	}
	if st := s.Stats().Topics[cfg.TopicPanic]; st.Retried != 2 {
		t.Errorf("unexpected stats %+v", st)
	}
}

// With the defaults, Check has the broker create every topic, the default
// dead-letter topic among them.
func TestKafkaCheckCreatesTopics(t *testing.T) {
	info := kafkatest.Broker(t)
	prefix := kafkatest.TopicName(t)
	cfg := testConfig(info.Brokers)
	cfg.Topic = prefix + ".{stage}"
	cfg.DeadLetterTopic = prefix + ".dead-letter"
	topics := []string{cfg.DeadLetterTopic}
	for _, stage := range stages {
		topics = append(topics, cfg.TopicFor(stage))
	}
	// A transport of its own: the default one caches metadata from before.
	client := &kafka.Client{Addr: kafka.TCP(info.Brokers...), Transport: &kafka.Transport{}}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, _ = client.DeleteTopics(ctx, &kafka.DeleteTopicsRequest{Topics: topics})
	})
	s, _ := newTestSink(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Check(ctx); err != nil {
		t.Fatalf("Check: %v", err)
	}
	meta, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: topics})
	if err != nil {
		t.Fatal(err)
	}
	for _, tp := range meta.Topics {
		if tp.Error != nil {
			t.Errorf("topic %s: %v", tp.Name, tp.Error)
		}
	}
}

// With the defaults, topics that do not exist yet are created on first use,
// without a missing-topic error on the way (the broker answers "leader not
// available" while it creates them).
func TestKafkaAutoCreateOnFirstUse(t *testing.T) {
	info := kafkatest.Broker(t)
	prefix := kafkatest.TopicName(t)
	cfg := testConfig(info.Brokers)
	cfg.Topic = prefix + ".{stage}"
	cfg.DeadLetterTopic = prefix + ".dead-letter"
	cfg.DeliveryTimeout = 20 * time.Second
	topics := []string{cfg.DeadLetterTopic}
	for _, stage := range stages {
		topics = append(topics, cfg.TopicFor(stage))
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		client := &kafka.Client{Addr: kafka.TCP(info.Brokers...)}
		_, _ = client.DeleteTopics(ctx, &kafka.DeleteTopicsRequest{Topics: topics})
	})
	s, rec := newTestSink(t, cfg)
	evs := testEvents(100, 600)
	res, err := s.Deliver(context.Background(), evs)
	if err != nil || res.Acked != len(evs) {
		t.Fatalf("Deliver: %v, %+v", err, res)
	}
	if strings.Contains(rec.text(), "error:") {
		t.Errorf("errors logged while topics were created:\n%s", rec.text())
	}
}
