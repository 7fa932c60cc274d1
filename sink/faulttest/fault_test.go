package faulttest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/auditstream/auditstream/internal/kafkatest"
	"github.com/auditstream/auditstream/sink"

	"github.com/auditstream/auditstream/internal/testenv"
)

const (
	batches         = 30
	batchSize       = 100
	deliveryTimeout = 5 * time.Second
	// slack is what Deliver may take beyond delivery_timeout: the last
	// round's bookkeeping and a loaded 2-core machine.
	slack = 2 * time.Second
)

func requireFaultTests(t *testing.T) {
	t.Helper()
	if os.Getenv("AUDITSTREAM_FAULT_TESTS") != "1" {
		t.Skip("stops the shared test broker: run alone with AUDITSTREAM_FAULT_TESTS=1 (see doc.go)")
	}
}

// batchEvents returns batch k of the stream: batchSize events with auditIDs
// unique to the run.
func batchEvents(run string, k int) []sink.Event {
	evs := make([]sink.Event, batchSize)
	for i := range evs {
		id := fmt.Sprintf("%s-%03d-%03d", run, k, i)
		evs[i] = sink.Event{
			Value: []byte(`{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"` + id +
				`","stage":"ResponseComplete","requestURI":"/api/v1/pods","verb":"list","user":{"username":"admin"},"responseStatus":{"metadata":{},"code":200}}`),
			Stage: sink.StageResponseComplete, Level: "Metadata",
			AuditID: []byte(id), Verb: []byte("list"), User: []byte("admin"),
		}
	}
	return evs
}

// deliverUntilDone hands evs to the sink again and again, as Fluent Bit
// retries a chunk, until it is delivered. Every failure must be retryable
// and come within the deadline.
func deliverUntilDone(t *testing.T, s *sink.Sink, evs []sink.Event, failures *atomic.Int32) {
	t.Helper()
	giveUp := time.Now().Add(4 * time.Minute)
	for {
		start := time.Now()
		_, err := s.Deliver(context.Background(), evs)
		took := time.Since(start)
		if err == nil {
			return
		}
		failures.Add(1)
		if !sink.IsRetryable(err) {
			t.Fatalf("broker outage: want a retryable error; got %v", err)
		}
		if took > deliveryTimeout+slack {
			t.Errorf("Deliver took %s to fail; delivery_timeout is %s", took, deliveryTimeout)
		}
		t.Logf("retrying after %s: %v", took.Round(time.Millisecond), err)
		if time.Now().After(giveUp) {
			t.Fatalf("not delivered after 4 minutes: %v", err)
		}
		time.Sleep(500 * time.Millisecond) // Fluent Bit's scheduler waits before a retry too
	}
}

// consumer counts the auditIDs it reads from topic, from the start.
type consumer struct {
	mu     sync.Mutex
	ids    map[string]int
	cancel context.CancelFunc
	done   chan struct{}
}

func startConsumer(t *testing.T, brokers []string, topic string) *consumer {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(100*time.Millisecond))
	if err != nil {
		t.Fatalf("consumer: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &consumer{ids: map[string]int{}, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(c.done)
		defer cl.Close()
		for ctx.Err() == nil {
			cl.PollFetches(ctx).EachRecord(func(r *kgo.Record) {
				c.mu.Lock()
				c.ids[string(r.Key)]++
				c.mu.Unlock()
			})
		}
	}()
	t.Cleanup(c.stop)
	return c
}

func (c *consumer) stop() {
	c.cancel()
	<-c.done
}

// has waits up to d until every auditID of evs was read.
func (c *consumer) has(evs []sink.Event, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for {
		c.mu.Lock()
		missing := 0
		for _, e := range evs {
			if c.ids[string(e.AuditID)] == 0 {
				missing++
			}
		}
		c.mu.Unlock()
		if missing == 0 {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (c *consumer) snapshot() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := make(map[string]int, len(c.ids))
	for k, v := range c.ids {
		m[k] = v
	}
	return m
}

// script runs scripts/kafka/name; it may be called from any goroutine.
func script(t *testing.T, name string) error {
	root, err := testenv.ModuleRoot()
	if err != nil {
		return err
	}
	out, err := exec.Command("bash", filepath.Join(root, "scripts/kafka", name)).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %w\n%s", name, err, out)
	}
	t.Logf("%s: %s", name, strings.TrimSpace(string(out)))
	return nil
}

// createTopic creates topic (3 partitions) on the restarted broker and waits
// for its leaders; it may be called from any goroutine.
func createTopic(brokers []string, topic string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	client := &kafka.Client{Addr: kafka.TCP(brokers...)}
	for {
		res, err := client.CreateTopics(ctx, &kafka.CreateTopicsRequest{Topics: []kafka.TopicConfig{{Topic: topic, NumPartitions: 3, ReplicationFactor: 1}}})
		if err == nil {
			err = res.Errors[topic]
		}
		if err == nil || errors.Is(err, kafka.TopicAlreadyExists) {
			meta, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{topic}})
			if err == nil && len(meta.Topics) == 1 && meta.Topics[0].Error == nil && len(meta.Topics[0].Partitions) == 3 {
				ready := true
				for _, p := range meta.Topics[0].Partitions {
					ready = ready && p.Error == nil && p.Leader.Host != ""
				}
				if ready {
					return nil
				}
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("create topic %s after the restart: %w (last error: %w)", topic, ctx.Err(), err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func newSink(t *testing.T, brokers []string, topic string) *sink.Sink {
	t.Helper()
	cfg := sink.DefaultConfig()
	cfg.Brokers = brokers
	cfg.Topic = topic
	cfg.DeliveryTimeout = deliveryTimeout
	s, err := sink.New(cfg, func(l sink.LogLevel, msg string) { t.Logf("sink %s: %s", l, msg) })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = s.Close(ctx)
	})
	return s
}

// The broker is stopped (scripts/kafka/down.sh) while a stream of batches is
// being delivered, and started again (up.sh). Deliver returns retryable
// errors within its deadline while it is down, and the batch retried after
// the restart delivers everything: every auditID is consumed at least once.
//
// up.sh starts every broker from empty storage, so what was acknowledged
// before the stop is checked by a consumer before the stop, and a batch that
// might have been acknowledged by the old broker but not yet seen by that
// consumer is delivered again after the restart (counted as duplicates).
func TestBrokerStoppedMidStream(t *testing.T) {
	requireFaultTests(t)
	info := kafkatest.Broker(t)
	// Leave a broker running, whatever happens.
	t.Cleanup(func() {
		if err := script(t, "up.sh"); err != nil {
			t.Error(err)
		}
	})
	topic := kafkatest.TopicName(t)
	kafkatest.CreateTopic(t, info, topic, 3)
	s := newSink(t, info.Brokers, topic)
	run := strconv.FormatInt(time.Now().UnixMilli(), 36)
	live := startConsumer(t, info.Brokers, topic)

	// phase: 0 before the stop, 1 from the stop until the restarted broker
	// has the topic again, 2 after.
	var phase atomic.Int32
	var failures atomic.Int32
	const stopAt = 10
	var restarted chan struct{}
	var redo [][]sink.Event
	for k := range batches {
		evs := batchEvents(run, k)
		if k == stopAt {
			phase.Store(1)
			live.stop()
			restarted = make(chan struct{})
			// Stop the broker while this batch is being delivered, and
			// start it again once a Deliver call has failed.
			go func() {
				defer close(restarted)
				if err := script(t, "down.sh"); err != nil {
					t.Error(err)
					return
				}
				for failures.Load() == 0 {
					time.Sleep(100 * time.Millisecond)
				}
				time.Sleep(time.Second)
				if err := script(t, "up.sh"); err != nil {
					t.Error(err)
					return
				}
				if err := createTopic(info.Brokers, topic); err != nil {
					t.Error(err)
					return
				}
				phase.Store(2)
			}()
		}
		startPhase := phase.Load()
		deliverUntilDone(t, s, evs, &failures)
		switch {
		case startPhase == 2:
			// checked at the end
		case startPhase == 0 && phase.Load() == 0 && live.has(evs, 10*time.Second):
			// acknowledged and seen before the stop
		default:
			redo = append(redo, evs)
		}
		time.Sleep(20 * time.Millisecond)
	}
	<-restarted
	if t.Failed() {
		t.FailNow()
	}
	for _, evs := range redo {
		deliverUntilDone(t, s, evs, &failures)
	}
	if failures.Load() == 0 {
		t.Fatal("no Deliver call failed while the broker was down")
	}

	before := live.snapshot()
	after := startConsumer(t, info.Brokers, topic)
	all := make([]sink.Event, 0, batches*batchSize)
	for k := range batches {
		all = append(all, batchEvents(run, k)...)
	}
	var missing []string
	after.has(all, 30*time.Second) // the wait; what is missing is counted below
	now := after.snapshot()
	dups := 0
	for _, e := range all {
		id := string(e.AuditID)
		n := before[id] + now[id]
		if n == 0 {
			missing = append(missing, id)
		}
		if n > 1 {
			dups += n - 1
		}
	}
	t.Logf("%d events in %d batches; %d failed Deliver calls; %d batches delivered again after the restart; %d duplicate records",
		len(all), batches, failures.Load(), len(redo), dups)
	if len(missing) > 0 {
		t.Fatalf("%d events lost, e.g. %v", len(missing), missing[:min(5, len(missing))])
	}
	st := s.Stats().Total()
	t.Logf("sink stats: %+v", st)
}

// The broker freezes (SIGSTOP) in the middle of a stream: Deliver must not
// hang on the silent connections but return a retryable error at its
// deadline; once the broker thaws (SIGCONT) the retried batch is delivered,
// and nothing of the stream is lost (storage is kept, so everything is
// checked at the end).
func TestBrokerFrozenMidStream(t *testing.T) {
	requireFaultTests(t)
	info := kafkatest.Broker(t)
	topic := kafkatest.TopicName(t)
	kafkatest.CreateTopic(t, info, topic, 3)
	pid := brokerPID(t)
	thaw := func() { _ = syscall.Kill(pid, syscall.SIGCONT) }
	t.Cleanup(thaw)
	s := newSink(t, info.Brokers, topic)
	run := strconv.FormatInt(time.Now().UnixMilli(), 36)

	var failures atomic.Int32
	const freezeAt = 10
	for k := range batches {
		evs := batchEvents(run, k)
		if k == freezeAt {
			if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
				t.Fatalf("SIGSTOP %d: %v", pid, err)
			}
			time.AfterFunc(2*deliveryTimeout, thaw)
		}
		deliverUntilDone(t, s, evs, &failures)
		time.Sleep(20 * time.Millisecond)
	}
	if failures.Load() == 0 {
		t.Fatal("no Deliver call failed while the broker was frozen")
	}
	c := startConsumer(t, info.Brokers, topic)
	all := make([]sink.Event, 0, batches*batchSize)
	for k := range batches {
		all = append(all, batchEvents(run, k)...)
	}
	if !c.has(all, 30*time.Second) {
		got := c.snapshot()
		n := 0
		for _, e := range all {
			if got[string(e.AuditID)] == 0 {
				n++
			}
		}
		t.Fatalf("%d of %d events lost", n, len(all))
	}
	dups := 0
	for _, n := range c.snapshot() {
		dups += n - 1
	}
	t.Logf("%d events; %d failed Deliver calls; %d duplicate records; sink stats %+v", len(all), failures.Load(), dups, s.Stats().Total())
}

func brokerPID(t *testing.T) int {
	t.Helper()
	pid, err := kafkatest.BrokerPID()
	if err != nil {
		t.Fatalf("broker pid: %v", err)
	}
	return pid
}
