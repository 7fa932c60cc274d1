package sink

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/klauspost/compress/s2"
	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// producedRequests records the (topic, partition) pairs of every produce
// request the cluster receives.
func producedRequests(c *kfake.Cluster) func() [][]string {
	var mu sync.Mutex
	var reqs [][]string
	c.ControlKey(int16(kmsg.Produce), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		var parts []string
		for _, t := range req.(*kmsg.ProduceRequest).Topics {
			for _, p := range t.Partitions {
				parts = append(parts, t.Topic+"/"+strconv.Itoa(int(p.Partition)))
			}
		}
		mu.Lock()
		reqs = append(reqs, parts)
		mu.Unlock()
		return nil, nil, false
	})
	return func() [][]string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(reqs)
	}
}

// A Deliver call sends one produce request per broker, carrying a batch for
// every partition that broker leads, of every topic: not one request per
// partition, as kafka-go's Writer does.
func TestDeliverOneRequestPerBroker(t *testing.T) {
	c := newCluster(t, kfake.NumBrokers(3))
	requests := producedRequests(c)
	s, _ := newTestSink(t, testConfig(c.ListenAddrs()))
	evs := testEvents(300, 500)
	if _, err := s.Deliver(context.Background(), evs); err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	if got := len(consume(t, c.ListenAddrs(), len(evs), stageTopics...)); got != len(evs) {
		t.Fatalf("consumed %d records; want %d", got, len(evs))
	}
	reqs := requests()
	seen := map[string]bool{}
	for _, r := range reqs {
		for _, p := range r {
			if seen[p] {
				t.Errorf("partition %s in more than one request: %v", p, reqs)
			}
			seen[p] = true
		}
	}
	// Four stage topics of three partitions, all written to.
	if len(seen) != 12 || len(reqs) > 3 {
		t.Errorf("%d partitions in %d requests; want 12 partitions in at most 3 (one per broker): %v", len(seen), len(reqs), reqs)
	}
}

// A partition with more messages than one batch holds gets them in
// successive requests, each sent once the one before is acknowledged, so
// that they are written in the order of the call.
func TestDeliverKeepsPartitionOrder(t *testing.T) {
	c := newCluster(t)
	requests := producedRequests(c)
	cfg := testConfig(c.ListenAddrs())
	cfg.MessageKey = KeyNamespace
	cfg.BatchSize = 5
	s, _ := newTestSink(t, cfg)
	var evs []Event
	for i := range 60 {
		evs = append(evs, testEvent(3*i, StageResponseComplete, "Metadata", 300)) // namespace "default"
	}
	if _, err := s.Deliver(context.Background(), evs); err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	recs := consume(t, c.ListenAddrs(), len(evs), stageTopics[2])
	if len(recs) != len(evs) {
		t.Fatalf("consumed %d records; want %d", len(recs), len(evs))
	}
	for i, r := range recs {
		if want := string(evs[i].AuditID); r.headers[HeaderAuditID] != want || r.partition != recs[0].partition {
			t.Fatalf("record %d: auditID %s on partition %d; want %s on %d", i, r.headers[HeaderAuditID], r.partition, want, recs[0].partition)
		}
	}
	if n := len(requests()); n != 12 {
		t.Errorf("%d produce requests; want 12 batches of 5, one after the other", n)
	}
}

// Snappy batches use the plain snappy encoder, as librdkafka does, not
// kafka-go's default of s2's "better" one, twice as slow
// (benchmarks.BenchmarkSnappyLevels), and one raw block for the whole batch,
// not kafka-go's xerial frames: the records are s2.EncodeSnappy of them all,
// and kafka-go's snappy reader (as the broker and every consumer) gives them
// back.
func TestSnappyIsOnePlainBlock(t *testing.T) {
	msgs := batchMessages(200, 700)
	idx := make([]int, len(msgs))
	for i := range idx {
		idx[i] = i
	}
	raw := (&batchEncoder{}).appendBatch(nil, msgs, idx)[batchHeaderLength:]
	if len(raw) < 128<<10 {
		t.Fatalf("%d bytes of records; the test needs more than two 64 KB snappy blocks", len(raw))
	}
	compressed := (&batchEncoder{compression: kafka.Snappy}).appendBatch(nil, msgs, idx)[batchHeaderLength:]
	if want := s2.EncodeSnappy(nil, raw); !bytes.Equal(compressed, want) {
		t.Fatalf("the batch's %d bytes are not plain snappy of its %d bytes of records", len(compressed), len(raw))
	}
	r := kafka.Snappy.Codec().NewReader(bytes.NewReader(compressed))
	got, err := io.ReadAll(r)
	if err != nil || !bytes.Equal(got, raw) {
		t.Fatalf("kafka-go's snappy reader: %d bytes, %v; want the %d bytes of records", len(got), err, len(raw))
	}
	// Matches reach back beyond 64 KB, in copies with 4-byte offsets,
	// which snappy encoders working in 64 KB blocks never write: the
	// readers must take them (TestKafkaRoundTrip sends such batches through
	// the broker to kcat).
	if n := snappyLongCopies(compressed); n == 0 {
		t.Fatalf("no copy with a 4-byte offset in %d bytes of snappy", len(compressed))
	}
}

// snappyLongCopies counts the copies with 4-byte offsets of a raw snappy
// block (the format's element tag 3).
func snappyLongCopies(b []byte) int {
	_, n := binary.Uvarint(b)
	b = b[n:]
	long := 0
	for len(b) > 0 {
		switch tag := b[0] & 3; tag {
		case 0: // a literal: its length-1 in the tag, or in the 1-4 bytes after it
			l, hdr := int(b[0]>>2), 1
			if l >= 60 {
				l, hdr = 0, 1+int(b[0]>>2)-59
				for k := 1; k < hdr; k++ {
					l |= int(b[k]) << (8 * (k - 1))
				}
			}
			b = b[min(len(b), hdr+l+1):]
		case 3:
			long++
			b = b[min(len(b), 5):]
		default: // copies with 1- and 2-byte offsets
			b = b[min(len(b), 1+int(tag)):]
		}
	}
	return long
}

// What the broker writes after a Deliver gave up waiting is the events as
// they were during the call, not the caller's buffers as reused since: the
// broker here holds the requests until the call has returned and the
// caller has overwritten every event in place. The producer encodes its
// requests before it sends them, and kafka-go's Writer (the one-message
// path) writes a request out as soon as it has a connection, so this fails
// only if a request read the caller's bytes after Deliver returned: a
// producer encoding lazily, or a message sent alone without its copy while
// kafka-go queued it behind a busy connection, which this test cannot
// provoke on its own.
func TestDeliverGivenUpKeepsNoCallerBytes(t *testing.T) {
	c := newCluster(t)
	release := make(chan struct{})
	c.ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		c.SleepControl(func() { <-release })
		return nil, nil, false
	})
	cfg := testConfig(c.ListenAddrs())
	cfg.BatchBytes = 4000 // the 6000-byte event goes through the one-message writer
	s, _ := newTestSink(t, cfg)
	evs := append(testEvents(20, 500), testEvent(100, StageResponseComplete, "RequestResponse", 6000))
	want := map[string]string{}
	for _, e := range evs {
		want[string(e.AuditID)] = string(e.Value)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if _, err := s.Deliver(ctx, evs); !IsRetryable(err) {
		t.Fatalf("Deliver: want a retryable error once the caller's deadline passed; got %v", err)
	}
	for _, e := range evs {
		for i := range e.Value {
			e.Value[i] = 'X'
		}
	}
	close(release)
	recs := consume(t, c.ListenAddrs(), len(evs), stageTopics...)
	for _, r := range recs {
		if r.value != want[r.key] {
			t.Fatalf("event %s arrived with the caller's later bytes: %.60s", r.key, r.value)
		}
	}
}
