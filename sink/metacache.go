package sink

import (
	"context"
	"net"
	"sync/atomic"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/protocol/metadata"
)

// metaCacheTTL is how long a topic's metadata answer is reused. kafka-go's
// Writer only reads the partition count from it; leaders are tracked by the
// transport itself.
const metaCacheTTL = time.Second

// metaCache sits between kafka-go's Writer and its Transport. The Writer asks
// the transport for a topic's metadata once per message (to count its
// partitions); the transport answers from its cache, but builds a filtered
// copy each time: four allocations and a quarter of the sink's CPU per event.
// metaCache keeps that copy for the sink's few topics, and passes every other
// request through.
type metaCache struct {
	next    kafka.RoundTripper
	entries []metaEntry // one per topic of the sink, fixed at New
}

type metaEntry struct {
	topic  string
	cached atomic.Pointer[metaAnswer]
}

type metaAnswer struct {
	res     *metadata.Response
	expires time.Time
}

func newMetaCache(next kafka.RoundTripper, topics []string) *metaCache {
	c := &metaCache{next: next, entries: make([]metaEntry, len(topics))}
	for i, t := range topics {
		c.entries[i].topic = t
	}
	return c
}

// RoundTrip implements kafka.RoundTripper.
func (c *metaCache) RoundTrip(ctx context.Context, addr net.Addr, req kafka.Request) (kafka.Response, error) {
	m, ok := req.(*metadata.Request)
	// Only the Writer's own question, one topic, is answered from here. It
	// may ask for auto-creation: only a topic that exists is cached, so
	// a missing one still reaches the broker, which creates it.
	if !ok || len(m.TopicNames) != 1 {
		return c.next.RoundTrip(ctx, addr, req)
	}
	e := c.entry(m.TopicNames[0])
	if e == nil {
		return c.next.RoundTrip(ctx, addr, req)
	}
	now := time.Now()
	if a := e.cached.Load(); a != nil && now.Before(a.expires) {
		return a.res, nil
	}
	res, err := c.next.RoundTrip(ctx, addr, req)
	if err != nil {
		return res, err
	}
	// Errors (an unknown topic, say) are not kept: the next message asks
	// again and sees the topic as soon as it exists.
	if r, ok := res.(*metadata.Response); ok && len(r.Topics) == 1 && r.Topics[0].ErrorCode == 0 {
		e.cached.Store(&metaAnswer{res: r, expires: now.Add(metaCacheTTL)})
	}
	return res, nil
}

func (c *metaCache) entry(topic string) *metaEntry {
	for i := range c.entries {
		if c.entries[i].topic == topic {
			return &c.entries[i]
		}
	}
	return nil
}
