package chaos

import (
	"context"
	"crypto/sha256"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/auditstream/auditstream/internal/readback"
)

// arrival is one message found on a topic of the run.
type arrival struct {
	topic   string
	value   []byte
	headers map[string]string
}

// msgKey tells messages apart: the same message seen by the live consumer
// and by the final read-back counts once, while a topic deleted and created
// again reuses offsets for other messages, whose values differ.
type msgKey struct {
	topic     string
	partition int32
	offset    int64
	sum       [32]byte
}

// collector reads every topic of a run from the start while the run goes
// on. The final read-back alone would miss what a topic held before it was
// deleted; the live consumer alone could miss the tail of a partition.
type collector struct {
	mu     sync.Mutex
	seen   map[msgKey]arrival
	cancel context.CancelFunc
	done   chan struct{}
}

func startCollector(t *testing.T, brokers, topics []string) *collector {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topics...),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(200*time.Millisecond),
		kgo.FetchMaxPartitionBytes(8<<20))
	if err != nil {
		t.Fatalf("consumer: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &collector{seen: map[msgKey]arrival{}, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(c.done)
		defer cl.Close()
		for ctx.Err() == nil {
			cl.PollFetches(ctx).EachRecord(func(r *kgo.Record) {
				h := make(map[string]string, len(r.Headers))
				for _, kv := range r.Headers {
					h[kv.Key] = string(kv.Value)
				}
				c.add(msgKey{r.Topic, r.Partition, r.Offset, sha256.Sum256(r.Value)},
					arrival{topic: r.Topic, value: r.Value, headers: h})
			})
		}
	}()
	t.Cleanup(c.stop)
	return c
}

func (c *collector) add(k msgKey, a arrival) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.seen[k]; !ok {
		c.seen[k] = a
	}
}

func (c *collector) stop() {
	c.cancel()
	<-c.done
}

// snapshot returns the messages the live consumer has read so far.
func (c *collector) snapshot() []arrival {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]arrival, 0, len(c.seen))
	for _, a := range c.seen {
		out = append(out, a)
	}
	return out
}

// finish stops the live consumer, reads every topic back once more with
// another client (kafka-go, through internal/readback) and returns all the
// messages found.
func (c *collector) finish(t *testing.T, brokers, topics []string) []arrival {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var msgs []readback.Message
	var err error
	// A broker just restarted may still be electing leaders: try again.
	for attempt := 0; attempt < 10; attempt++ {
		if msgs, err = readback.ReadAll(ctx, &kafka.Dialer{Timeout: 10 * time.Second}, brokers, topics); err == nil {
			break
		}
		time.Sleep(time.Second)
	}
	if err != nil {
		t.Fatalf("read-back: %v", err)
	}
	c.stop()
	for _, m := range msgs {
		c.add(msgKey{m.Topic, int32(m.Partition), m.Offset, sha256.Sum256(m.Value)},
			arrival{topic: m.Topic, value: m.Value, headers: m.Headers})
	}
	return c.snapshot()
}
