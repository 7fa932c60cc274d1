package sink

import "github.com/segmentio/kafka-go"

// batch is one Deliver call's messages, with what the sink knows of each.
// msgs[i] and meta[i] describe the same message; their byte slices are the
// events' own (see build), valid for the call. A batch whose messages
// kafka-go no longer holds is reused by a later call (Sink.getBatch,
// putBatch).
type batch struct {
	msgs []kafka.Message
	meta []msgMeta

	headers []kafka.Header
	// spare slices receive the messages when sortByGroup reorders them.
	spareMsgs []kafka.Message
	spareMeta []msgMeta
}

// maxPooledMessages bounds the memory a pooled batch keeps: a few Fluent Bit
// chunks' worth of messages. A larger call's slices go to the garbage
// collector.
const maxPooledMessages = 64 << 10

func (s *Sink) getBatch() *batch {
	if b, ok := s.batches.Get().(*batch); ok {
		return b
	}
	return new(batch)
}

// putBatch keeps b's buffers for a later call. Only call it when kafka-go
// holds none of b's messages: every WriteMessages call that sent them
// returned with their outcome, none gave up early on its context.
func (s *Sink) putBatch(b *batch) {
	if cap(b.msgs) > maxPooledMessages {
		return
	}
	// Drop the references to buffers that are not the batch's own
	// (truncated values, dead-letter headers) so the pool does not pin them.
	clear(b.msgs[:cap(b.msgs)])
	clear(b.spareMsgs[:cap(b.spareMsgs)])
	b.msgs, b.meta, b.headers = b.msgs[:0], b.meta[:0], b.headers[:0]
	s.batches.Put(b)
}

// resize returns x with length n, reusing its array when it is large enough,
// zeroed.
func resize[T any](x []T, n int) []T {
	if cap(x) < n {
		return make([]T, n)
	}
	x = x[:n]
	clear(x)
	return x
}

// msgMeta is what the sink knows of a message beyond kafka-go's Message.
type msgMeta struct {
	size int32 // as kafka-go counts it, see messageSize
	// origin is the index of the event's topic in Sink.topics (or of the
	// unroutable counters); dest is where the message goes now: origin, or
	// the dead-letter topic.
	origin, dest int8
	// alone: send through the one-message writer.
	alone bool
	// bodies: level Request or RequestResponse, so truncation applies.
	bodies    bool
	truncated bool
	// shortened: its client-chosen strings were cut (appendShortened).
	shortened bool
	dead      bool // a dead-letter message
	// callerReason: the event came with Event.DeadLetter.
	callerReason bool
	// retried: counted in Retried already, by an earlier attempt of the
	// same call.
	retried bool
	// missing counts the attempts of the call that found the topic missing.
	missing uint8
}

// remove deletes the messages at the ascending indexes idx.
func (b *batch) remove(idx []int) {
	w, k := 0, 0
	for r := range b.msgs {
		if k < len(idx) && idx[k] == r {
			k++
			continue
		}
		b.msgs[w], b.meta[w] = b.msgs[r], b.meta[r]
		w++
	}
	clear(b.msgs[w:])
	b.msgs, b.meta = b.msgs[:w], b.meta[:w]
}

// groupOf numbers the (writer, topic) pairs that send uses: the batched
// messages of every topic first, as the producer sends them together, then
// the one-message writer's, by topic.
func groupOf(m *msgMeta) int {
	g := int(m.dest)
	if m.alone {
		g += maxTopics
	}
	return g
}

// sortByGroup reorders the messages by group, keeping event order within
// each group (a stable counting sort), so that every group is contiguous.
func (b *batch) sortByGroup() {
	sorted := true
	for i := 1; i < len(b.meta); i++ {
		if groupOf(&b.meta[i]) < groupOf(&b.meta[i-1]) {
			sorted = false
			break
		}
	}
	if sorted {
		return
	}
	var count [2*maxTopics + 1]int
	for i := range b.meta {
		count[groupOf(&b.meta[i])+1]++
	}
	for g := 1; g < len(count); g++ {
		count[g] += count[g-1]
	}
	msgs, meta := resize(b.spareMsgs, len(b.msgs)), resize(b.spareMeta, len(b.meta))
	for i := range b.meta {
		g := groupOf(&b.meta[i])
		msgs[count[g]], meta[count[g]] = b.msgs[i], b.meta[i]
		count[g]++
	}
	b.spareMsgs, b.spareMeta = b.msgs, b.meta
	b.msgs, b.meta = msgs, meta
}

// maxTopics is the most distinct topics a sink sends to: four stages and the
// dead-letter topic.
const maxTopics = len(stages) + 1
