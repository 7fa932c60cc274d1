package sink

import (
	"context"
	"errors"
	"hash/crc32"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestDeliverRoundTrip(t *testing.T) {
	c := newCluster(t)
	cfg := testConfig(c.ListenAddrs())
	cfg.ClusterName = "prod-eu-1"
	s, _ := newTestSink(t, cfg)

	evs := testEvents(200, 1200)
	// The same request seen at two stages: both must share a partition.
	evs = append(evs, testEvent(7, StageRequestReceived, "Request", 900))
	evs[7].Stage = StageResponseComplete
	if _, err := s.Deliver(context.Background(), evs); err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	recs := consume(t, c.ListenAddrs(), len(evs), stageTopics...)
	if len(recs) != len(evs) {
		t.Fatalf("unexpected record count; got %d; want %d", len(recs), len(evs))
	}
	want := map[string]Event{}
	for _, e := range evs {
		want[string(e.AuditID)+"/"+e.Stage] = e
	}
	partOf := map[string]int32{}
	for _, r := range recs {
		e, ok := want[r.headers[HeaderAuditID]+"/"+r.headers[HeaderStage]]
		if !ok {
			t.Fatalf("unexpected record %s/%s", r.headers[HeaderAuditID], r.headers[HeaderStage])
		}
		if r.topic != "k8s-audit."+e.Stage {
			t.Errorf("stage %s went to topic %s", e.Stage, r.topic)
		}
		if r.key != string(e.AuditID) || r.value != string(e.Value) {
			t.Errorf("key or value changed for %s", e.AuditID)
		}
		if r.headers[HeaderLevel] != e.Level || r.headers[HeaderVerb] != string(e.Verb) || r.headers[HeaderCluster] != "prod-eu-1" {
			t.Errorf("unexpected headers %v", r.headers)
		}
		if p, ok := partOf[r.key]; ok && p != r.partition {
			t.Errorf("auditID %s in partitions %d and %d", r.key, p, r.partition)
		}
		partOf[r.key] = r.partition
	}
	st := s.Stats()
	if tot := st.Total(); tot.Sent != uint64(len(evs)) || tot.Retried != 0 || tot.Dropped != 0 {
		t.Errorf("unexpected stats %+v", tot)
	}
	if st.Topics["k8s-audit.Panic"].Sent != 4 {
		t.Errorf("unexpected Panic count %+v", st.Topics)
	}
}

// A retryable error on one partition is retried for that partition's
// messages only: every event arrives exactly once.
func TestDeliverRetriesOnlyFailedMessages(t *testing.T) {
	c := newCluster(t)
	var failures atomic.Int32
	c.ControlKey(int16(kmsg.Produce), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		return failPartitions(req, func(topic string, partition int32, _ []byte) (int16, *string) {
			if topic == stageTopics[2] && partition == 1 && failures.Add(1) <= 2 {
				return kerr.NotLeaderForPartition.Code, nil
			}
			return 0, nil
		})
	})
	s, _ := newTestSink(t, testConfig(c.ListenAddrs()))
	evs := testEvents(300, 800)
	if _, err := s.Deliver(context.Background(), evs); err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	recs := consume(t, c.ListenAddrs(), len(evs), stageTopics...)
	for id, n := range byAuditID(recs) {
		if n != 1 {
			t.Errorf("auditID %s delivered %d times", id, n)
		}
	}
	if len(recs) != len(evs) {
		t.Fatalf("unexpected record count; got %d; want %d", len(recs), len(evs))
	}
	st := s.Stats().Topics[stageTopics[2]]
	if st.Retried == 0 || failures.Load() < 3 {
		t.Errorf("expected retries; stats %+v, injected %d", st, failures.Load())
	}
}

// A partition that keeps failing makes Deliver return a retryable error once
// delivery_timeout has passed, not later, and not before the rest is sent.
func TestDeliverDeadline(t *testing.T) {
	c := newCluster(t)
	c.ControlKey(int16(kmsg.Produce), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		return failPartitions(req, failTopic(stageTopics[0], kerr.NotEnoughReplicas.Code))
	})
	cfg := testConfig(c.ListenAddrs())
	cfg.DeliveryTimeout = 1500 * time.Millisecond
	s, _ := newTestSink(t, cfg)
	evs := testEvents(100, 700)
	start := time.Now()
	_, err := s.Deliver(context.Background(), evs)
	took := time.Since(start)
	var de *DeliveryError
	if !errors.As(err, &de) || !IsRetryable(err) {
		t.Fatalf("want a retryable *DeliveryError; got %v", err)
	}
	if de.Failed != 25 || de.Total != 100 {
		t.Errorf("unexpected counts: failed %d of %d; want 25 of 100", de.Failed, de.Total)
	}
	if !strings.Contains(err.Error(), "NOT_ENOUGH_REPLICAS") && !strings.Contains(err.Error(), "Not Enough Replicas") {
		t.Errorf("error does not name the cause: %v", err)
	}
	if took < cfg.DeliveryTimeout-200*time.Millisecond || took > cfg.DeliveryTimeout+time.Second {
		t.Errorf("Deliver took %s; want about %s", took, cfg.DeliveryTimeout)
	}
	// The other stages were delivered once each.
	recs := consume(t, c.ListenAddrs(), 75, stageTopics[1:]...)
	if len(recs) != 75 {
		t.Errorf("unexpected record count; got %d; want 75", len(recs))
	}
}

// A caller's context shorter than delivery_timeout wins.
func TestDeliverContextDeadline(t *testing.T) {
	c := newCluster(t)
	c.ControlKey(int16(kmsg.Produce), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		return produceError(req, kerr.RequestTimedOut.Code), nil, true
	})
	s, _ := newTestSink(t, testConfig(c.ListenAddrs()))
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := s.Deliver(ctx, testEvents(10, 700))
	if !IsRetryable(err) || time.Since(start) > time.Second {
		t.Fatalf("want a retryable error within 1s; got %v after %s", err, time.Since(start))
	}
}

// A batch refused as too large is resent message by message; a message
// refused alone is truncated (level Request and above) and resent.
func TestDeliverBrokerTooLarge(t *testing.T) {
	c := newCluster(t)
	const limit = 3000 // the topic's max.message.bytes, below the sink's
	c.ControlKey(int16(kmsg.Produce), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		return failPartitions(req, func(_ string, _ int32, records []byte) (int16, *string) {
			if len(records) > limit {
				return kerr.MessageTooLarge.Code, nil
			}
			return 0, nil
		})
	})
	cfg := testConfig(c.ListenAddrs())
	cfg.Compression = CompressionNone
	s, _ := newTestSink(t, cfg)
	evs := []Event{
		testEvent(1, StageResponseComplete, "RequestResponse", 1000),
		testEvent(2, StageResponseComplete, "RequestResponse", 1000),
		testEvent(3, StageResponseComplete, "RequestResponse", 1000),
		testEvent(4, StageResponseComplete, "RequestResponse", 1000),
		testEvent(5, StageResponseComplete, "RequestResponse", 5000), // truncated
	}
	for i := range evs {
		evs[i].AuditID = []byte("same-partition") // one batch
	}
	if _, err := s.Deliver(context.Background(), evs); err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	recs := consume(t, c.ListenAddrs(), len(evs), stageTopics[2])
	truncated := 0
	for _, r := range recs {
		if strings.Contains(r.value, `"audit.k8s.io/truncated":"true"`) {
			truncated++
			if strings.Contains(r.value, "requestObject") {
				t.Errorf("truncated event kept its requestObject")
			}
		}
	}
	if truncated != 1 {
		t.Errorf("want 1 truncated event; got %d", truncated)
	}
	if st := s.Stats().Topics[stageTopics[2]]; st.Sent != 5 || st.Truncated != 1 {
		t.Errorf("unexpected stats %+v", st)
	}
}

// Events above max_message_bytes are truncated like the apiserver does, then
// have their client-chosen strings shortened, and are dead-lettered when that
// is not enough.
func TestDeliverOversizedEvents(t *testing.T) {
	c := newCluster(t)
	cfg := testConfig(c.ListenAddrs())
	cfg.MaxMessageBytes = 4096
	cfg.BatchBytes = 2048
	cfg.DeadLetterTopic = "dlq"
	s, _ := newTestSink(t, cfg)

	small := testEvent(1, StageResponseComplete, "RequestResponse", 1000)
	big := testEvent(2, StageResponseComplete, "RequestResponse", 50000)
	alone := testEvent(3, StageResponseComplete, "Request", 3000) // above batch_bytes, below max
	meta := testEvent(4, StageResponseComplete, "Metadata", 0)
	meta.Value = []byte(strings.Replace(string(meta.Value), `"sourceIPs":[`, `"sourceIPs":["`+strings.Repeat("1", 6000)+`",`, 1))
	huge := testEvent(5, StageResponseComplete, "Request", 1000)
	huge.Value = []byte(strings.Replace(string(huge.Value), `"userAgent":"`, `"userAgent":"`+strings.Repeat("a", 9000), 1))

	if _, err := s.Deliver(context.Background(), []Event{small, big, alone, meta, huge}); err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	recs := consume(t, c.ListenAddrs(), 4, stageTopics[2])
	got := map[string]string{}
	for _, r := range recs {
		got[r.headers[HeaderAuditID]] = r.value
	}
	if got[string(small.AuditID)] != string(small.Value) || got[string(alone.AuditID)] != string(alone.Value) {
		t.Errorf("small events changed")
	}
	want, _ := appendTruncated(nil, big.Value)
	if got[string(big.AuditID)] != string(want) {
		t.Errorf("big event not truncated as expected: %.300s", got[string(big.AuditID)])
	}
	truncated, _ := appendTruncated(nil, huge.Value)
	if v := got[string(huge.AuditID)]; len(v) > 4096 || !strings.Contains(v, `"audit.k8s.io/truncated":"true"`) ||
		!strings.Contains(v, `"auditstream.io/truncated-fields":"userAgent"`) {
		t.Errorf("huge event not truncated and shortened: %.300s", v)
	} else {
		checkShortened(t, truncated, []byte(v))
	}
	dead := consume(t, c.ListenAddrs(), 1, "dlq")
	for _, r := range dead {
		if !strings.Contains(r.headers[HeaderError], "too large") || r.headers[HeaderOriginalSize] == "" || len(r.value) > 4096 {
			t.Errorf("unexpected dead letter %v (%d bytes)", r.headers, len(r.value))
		}
		if id := r.headers[HeaderAuditID]; id != string(meta.AuditID) || len(r.value) == 0 || !strings.HasPrefix(string(meta.Value), r.value) {
			t.Errorf("dead letter %q is not the start of the meta event: %.80s", id, r.value)
		}
	}
	st := s.Stats().Topics[stageTopics[2]]
	if st.Sent != 4 || st.Truncated != 2 || st.DeadLettered != 1 || st.Dropped != 0 {
		t.Errorf("unexpected stats %+v", st)
	}
}

func TestDeliverUnknownStage(t *testing.T) {
	c := newCluster(t)
	cfg := testConfig(c.ListenAddrs())
	cfg.DeadLetterTopic = ""
	s, _ := newTestSink(t, cfg)
	ev := testEvent(1, "Bogus", "Metadata", 0)
	if _, err := s.Deliver(context.Background(), []Event{ev, testEvent(2, StagePanic, "Metadata", 0)}); err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	st := s.Stats()
	if st.Topics[""].Dropped != 1 || st.Topics[stageTopics[3]].Sent != 1 {
		t.Errorf("unexpected stats %+v", st.Topics)
	}
}

// Deliver from many goroutines at once (Fluent Bit workers), each call
// reusing the buffers of earlier ones; run with -race. Every event arrives
// with its own bytes.
func TestDeliverConcurrent(t *testing.T) {
	c := newCluster(t)
	s, _ := newTestSink(t, testConfig(c.ListenAddrs()))
	const workers, calls, per = 8, 5, 10
	all := testEvents(workers*calls*per, 500)
	var wg sync.WaitGroup
	errs := make(chan error, workers*calls)
	for w := range workers {
		wg.Go(func() {
			for k := range calls {
				lo := (w*calls + k) * per
				// Sizes differ from call to call, so reused buffers
				// are sometimes too small and sometimes too large.
				evs := slices.Clone(all[lo : lo+per-k%3])
				if _, err := s.Deliver(context.Background(), evs); err != nil {
					errs <- err
				}
				for i := range evs {
					evs[i].Value = []byte("overwritten by the caller after Deliver")
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("Deliver: %v", err)
	}
	want := map[string]string{}
	for w := range workers {
		for k := range calls {
			lo := (w*calls + k) * per
			for _, e := range all[lo : lo+per-k%3] {
				want[string(e.AuditID)] = string(e.Value)
			}
		}
	}
	recs := consume(t, c.ListenAddrs(), len(want), stageTopics...)
	for _, r := range recs {
		if r.value != want[r.key] {
			t.Fatalf("event %s arrived changed: %.80s", r.key, r.value)
		}
	}
	if n := len(byAuditID(recs)); n != len(want) || len(recs) != len(want) {
		t.Errorf("unexpected events; got %d (%d distinct); want %d", len(recs), n, len(want))
	}
}

// Close gives up on a hung broker when its context ends, and the Deliver
// still running returns a retryable error; Deliver after Close fails.
func TestCloseBounded(t *testing.T) {
	c := newCluster(t)
	c.ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		return nil, nil, true // never answer
	})
	cfg := testConfig(c.ListenAddrs())
	cfg.DeliveryTimeout = time.Minute
	s, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	delivered := make(chan error, 1)
	go func() {
		_, err := s.Deliver(context.Background(), testEvents(10, 500))
		delivered <- err
	}()
	time.Sleep(300 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := s.Close(ctx); err == nil {
		t.Errorf("Close: want an error for the cancelled delivery")
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("Close took %s", took)
	}
	select {
	case err := <-delivered:
		if !IsRetryable(err) {
			t.Errorf("cancelled Deliver: want a retryable error; got %v", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Deliver did not return after Close")
	}
	if _, err := s.Deliver(context.Background(), testEvents(1, 500)); !errors.Is(err, ErrClosed) || IsRetryable(err) {
		t.Errorf("Deliver after Close: want ErrClosed; got %v", err)
	}
}

// Brokers that are down: a retryable error within the deadline, naming the
// cause.
func TestDeliverBrokerDown(t *testing.T) {
	c := newCluster(t)
	addrs := c.ListenAddrs()
	c.Close()
	cfg := testConfig(addrs)
	cfg.DeliveryTimeout = time.Second
	s, _ := newTestSink(t, cfg)
	start := time.Now()
	_, err := s.Deliver(context.Background(), testEvents(5, 500))
	if !IsRetryable(err) || time.Since(start) > 2*time.Second {
		t.Fatalf("want a retryable error within 2s; got %v after %s", err, time.Since(start))
	}
	if !strings.Contains(err.Error(), "refused") {
		t.Errorf("error does not name the cause: %v", err)
	}
}

func TestCheck(t *testing.T) {
	c := newCluster(t)
	s, _ := newTestSink(t, testConfig(c.ListenAddrs()))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Check(ctx); err != nil {
		t.Errorf("Check: %v", err)
	}
	cfg := testConfig(c.ListenAddrs())
	cfg.TopicPanic = "missing"
	s2, _ := newTestSink(t, cfg)
	if err := s2.Check(ctx); err == nil || !strings.Contains(err.Error(), `"missing"`) ||
		!strings.Contains(err.Error(), "auto.create.topics.enable") {
		t.Errorf("Check: want an error naming the missing topic and what to do; got %v", err)
	}
}

// With auto_create_topics (the default), Check has the brokers create the
// missing topics, the default dead-letter topic among them, so that it exists
// before the first event needs it.
func TestCheckCreatesTopics(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.AllowAutoTopicCreation(), kfake.SeedTopics(3, stageTopics[:3]...))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s, _ := newTestSink(t, testConfig(c.ListenAddrs()))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Check(ctx); err != nil {
		t.Fatalf("Check: %v", err)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	req := kmsg.NewPtrMetadataRequest()
	for _, topic := range []string{stageTopics[3], DefaultDeadLetterTopic} {
		rt := kmsg.NewMetadataRequestTopic()
		rt.Topic = kmsg.StringPtr(topic)
		req.Topics = append(req.Topics, rt)
	}
	res, err := req.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	for _, rt := range res.Topics {
		if rt.ErrorCode != 0 {
			t.Errorf("topic %s was not created: %v", *rt.Topic, kerr.ErrorForCode(rt.ErrorCode))
		}
	}
}

// A topic that appears while Deliver retries is used as soon as it exists:
// unknown-topic answers are retried, and not cached.
func TestDeliverTopicCreatedLater(t *testing.T) {
	c := newCluster(t)
	cfg := testConfig(c.ListenAddrs())
	cfg.TopicPanic = "created-later"
	s, _ := newTestSink(t, cfg)
	time.AfterFunc(700*time.Millisecond, func() {
		cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...))
		if err != nil {
			t.Error(err)
			return
		}
		defer cl.Close()
		req := kmsg.NewPtrCreateTopicsRequest()
		rt := kmsg.NewCreateTopicsRequestTopic()
		rt.Topic, rt.NumPartitions, rt.ReplicationFactor = "created-later", 1, 1
		req.Topics = append(req.Topics, rt)
		if _, err := req.RequestWith(context.Background(), cl); err != nil {
			t.Error(err)
		}
	})
	if _, err := s.Deliver(context.Background(), testEvents(100, 500)); err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	if st := s.Stats().Topics["created-later"]; st.Sent != 2 || st.Retried == 0 {
		t.Errorf("unexpected stats %+v", st)
	}
}

// Keys land in the partitions the Java client (murmur2) and librdkafka
// (crc32, "consistent") choose, checked against franz-go's implementations;
// murmur2 through the producer's own hash, not kafka-go's balancer.
func TestPartitionersMatchOtherClients(t *testing.T) {
	for _, v := range []struct {
		p    Partitioner
		want kgo.Partitioner
	}{
		{PartitionMurmur2, kgo.StickyKeyPartitioner(nil)},
		{PartitionCRC32, kgo.StickyKeyPartitioner(kgo.SaramaHasher(crc32.ChecksumIEEE))},
	} {
		t.Run(string(v.p), func(t *testing.T) {
			c := newCluster(t, kfake.SeedTopics(7, "seven"))
			cfg := testConfig(c.ListenAddrs())
			cfg.Topic = "seven"
			cfg.Partitioner = v.p
			s, _ := newTestSink(t, cfg)
			if s.bulk.murmur2 != (v.p == PartitionMurmur2) {
				t.Fatalf("the producer's own murmur2 is %v for partitioner %s", s.bulk.murmur2, v.p)
			}
			evs := testEvents(200, 400)
			if _, err := s.Deliver(context.Background(), evs); err != nil {
				t.Fatal(err)
			}
			tp := v.want.ForTopic("seven")
			for _, r := range consume(t, c.ListenAddrs(), len(evs), "seven") {
				if want := tp.Partition(&kgo.Record{Key: []byte(r.key)}, 7); int32(want) != r.partition {
					t.Fatalf("key %s in partition %d; the other clients choose %d", r.key, r.partition, want)
				}
			}
		})
	}
}
