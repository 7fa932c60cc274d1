package sink

import (
	"context"
	"net"
	"sync/atomic"
	"testing"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/protocol/metadata"
)

// countingTransport answers metadata requests for one existing topic, and
// counts them.
type countingTransport struct {
	calls atomic.Int32
	code  int16
}

func (c *countingTransport) RoundTrip(_ context.Context, _ net.Addr, req kafka.Request) (kafka.Response, error) {
	c.calls.Add(1)
	m := req.(*metadata.Request)
	return &metadata.Response{Topics: []metadata.ResponseTopic{{Name: m.TopicNames[0], ErrorCode: c.code,
		Partitions: []metadata.ResponsePartition{{PartitionIndex: 0}}}}}, nil
}

// With auto_create_topics on (the default) every message's metadata lookup
// asks for auto-creation: an existing topic's answer is still reused, and a
// missing topic's question still reaches the broker each time.
func TestMetaCacheWithAutoCreate(t *testing.T) {
	next := &countingTransport{}
	c := newMetaCache(next, []string{"t"})
	req := &metadata.Request{TopicNames: []string{"t"}, AllowAutoTopicCreation: true}
	for range 100 {
		if _, err := c.RoundTrip(context.Background(), nil, req); err != nil {
			t.Fatal(err)
		}
	}
	if n := next.calls.Load(); n != 1 {
		t.Errorf("%d metadata requests reached the transport; want 1", n)
	}

	missing := &countingTransport{code: int16(kafka.UnknownTopicOrPartition)}
	c = newMetaCache(missing, []string{"t"})
	for range 3 {
		if _, err := c.RoundTrip(context.Background(), nil, req); err != nil {
			t.Fatal(err)
		}
	}
	if n := missing.calls.Load(); n != 3 {
		t.Errorf("%d requests for a missing topic reached the transport; want 3", n)
	}
}
