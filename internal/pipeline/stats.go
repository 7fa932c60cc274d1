package pipeline

import (
	"strconv"
	"sync/atomic"
)

// Stats are a pipeline's counters since New. Events are audit events, never
// group markers.
type Stats struct {
	Chunks     uint64 // Flush calls that read a chunk
	Events     uint64 // records read from chunks
	Parsed     uint64 // of those, records that arrived as parsed maps (slow path)
	Kept       uint64 // events the policy kept
	Dropped    uint64 // events the policy dropped (level None or stage omitted)
	Malformed  uint64 // records or events that could not be read; sent to the dead-letter topic
	Delivered  uint64 // events Kafka acknowledged on their stage topic
	Retries    uint64 // flushes that ended in Retry
	Failures   uint64 // flushes that ended in Failed
	Unreadable uint64 // chunks whose framing broke part way
	// UnreadableBytes are the bytes after such a break, sent to the
	// dead-letter topic as one message per chunk.
	UnreadableBytes uint64
	// EventPanics are events whose filtering panicked (a bug): each is sent
	// to the dead-letter topic. FlushPanics are flushes that panicked
	// elsewhere: each ended in Retry.
	EventPanics uint64
	FlushPanics uint64
	// DeadLettered events were acknowledged by the dead-letter topic;
	// SinkDropped ones could not be sent and had no dead-letter topic.
	DeadLettered uint64
	SinkDropped  uint64
}

// counters are the live, concurrently updated form of Stats.
type counters struct {
	chunks, events, parsed, kept, dropped, malformed atomic.Uint64
	delivered, retries, failures, unreadable         atomic.Uint64
	lostBytes, eventPanics, flushPanics              atomic.Uint64
	deadLettered, sinkDropped                        atomic.Uint64
}

func (c *counters) snapshot() Stats {
	return Stats{
		Chunks:     c.chunks.Load(),
		Events:     c.events.Load(),
		Parsed:     c.parsed.Load(),
		Kept:       c.kept.Load(),
		Dropped:    c.dropped.Load(),
		Malformed:  c.malformed.Load(),
		Delivered:  c.delivered.Load(),
		Retries:    c.retries.Load(),
		Failures:   c.failures.Load(),
		Unreadable: c.unreadable.Load(),

		UnreadableBytes: c.lostBytes.Load(),
		EventPanics:     c.eventPanics.Load(),
		FlushPanics:     c.flushPanics.Load(),

		DeadLettered: c.deadLettered.Load(),
		SinkDropped:  c.sinkDropped.Load(),
	}
}

// AppendText appends the counters as key=value pairs, the form of the
// summary line.
func (s Stats) AppendText(b []byte) []byte {
	pairs := [...]struct {
		k string
		v uint64
	}{
		{"chunks", s.Chunks}, {"events", s.Events}, {"kept", s.Kept},
		{"dropped_by_policy", s.Dropped}, {"malformed", s.Malformed},
		{"parsed_records", s.Parsed}, {"delivered", s.Delivered},
		{"retried_flushes", s.Retries}, {"failed_flushes", s.Failures},
		{"unreadable_chunks", s.Unreadable}, {"dead_lettered", s.DeadLettered},
		{"dropped_undeliverable", s.SinkDropped},
		{"unreadable_bytes", s.UnreadableBytes}, {"event_panics", s.EventPanics},
		{"flush_panics", s.FlushPanics},
	}
	for i, p := range pairs {
		if i > 0 {
			b = append(b, ' ')
		}
		b = append(b, p.k...)
		b = append(b, '=')
		b = strconv.AppendUint(b, p.v, 10)
	}
	return b
}
