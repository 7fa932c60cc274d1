package sink

import "sync/atomic"

// Stats is a snapshot of a Sink's counters since New, by destination topic
// (the topic an event's stage routes to, also for events that ended on the
// dead-letter topic). Events whose stage is none of the four are counted under
// the empty topic name.
type Stats struct {
	Topics map[string]TopicStats
}

// TopicStats counts the outcomes of one topic's events. Every event handed to
// Deliver ends in exactly one of Sent, DeadLettered and Dropped, or stays
// pending in a Deliver call that returned an error (and is handed again by the
// caller's retry); Retried and Truncated count what happened on the way.
type TopicStats struct {
	// Sent events were acknowledged on their topic; SentBytes are their
	// value bytes.
	Sent, SentBytes uint64
	// Retried counts events sent again after a transient failure, once per
	// event and Deliver call however many attempts it took (and again when
	// the caller hands the event again). Resends counts every attempt
	// after the first, per event: how hard the sink pressed the brokers.
	Retried, Resends uint64
	// Truncated events lost requestObject and responseObject, or had
	// their client-chosen strings shortened, or both, to fit
	// max_message_bytes (they are also in Sent, DeadLettered or Dropped).
	Truncated uint64
	// DeadLettered events were acknowledged on the dead-letter topic.
	DeadLettered uint64
	// Dropped events were given up: too large or a record the broker
	// rejects, and no dead-letter topic took them.
	Dropped uint64
	// Refused counts events the brokers refused for their topic (not
	// authorized, invalid topic, policy): their Deliver call returned a
	// retryable error, so they are pending, not lost. Once per event and
	// call.
	Refused uint64
}

// Total sums the counters of every topic.
func (s Stats) Total() TopicStats {
	var t TopicStats
	for _, v := range s.Topics {
		t.Sent += v.Sent
		t.SentBytes += v.SentBytes
		t.Retried += v.Retried
		t.Resends += v.Resends
		t.Truncated += v.Truncated
		t.DeadLettered += v.DeadLettered
		t.Dropped += v.Dropped
		t.Refused += v.Refused
	}
	return t
}

// counters are one topic's live counters. Deliver adds to them once per topic
// and round, not once per message.
type counters struct {
	sent, sentBytes, retried, resends, truncated, deadLettered, dropped, refused atomic.Uint64
}

func (c *counters) snapshot() TopicStats {
	return TopicStats{
		Sent:         c.sent.Load(),
		SentBytes:    c.sentBytes.Load(),
		Retried:      c.retried.Load(),
		Resends:      c.resends.Load(),
		Truncated:    c.truncated.Load(),
		DeadLettered: c.deadLettered.Load(),
		Dropped:      c.dropped.Load(),
		Refused:      c.refused.Load(),
	}
}
