package sink

import (
	"strconv"

	"github.com/segmentio/kafka-go"
)

// Header keys of every message. Consumers can route and filter on them
// without parsing the event.
const (
	HeaderStage   = "stage"
	HeaderLevel   = "level"
	HeaderVerb    = "verb"
	HeaderAuditID = "auditID"
	HeaderCluster = "cluster" // only when cluster_name is set
	// Dead-letter messages add these.
	HeaderError         = "error"          // why the event was dead-lettered
	HeaderOriginalTopic = "original_topic" // the topic it was meant for
	HeaderOriginalSize  = "original_size"  // set when the value was cut to fit
)

// Header values shared by all messages; kafka-go only reads them.
var stageValues = [len(stages)][]byte{
	[]byte(StageRequestReceived), []byte(StageResponseStarted), []byte(StageResponseComplete), []byte(StagePanic),
}

var (
	levelMetadata        = []byte("Metadata")
	levelRequest         = []byte("Request")
	levelRequestResponse = []byte("RequestResponse")
)

// levelValue returns the shared header value of a level, or nil for a level
// that is none of the three.
func levelValue(level string) []byte {
	switch level {
	case "Metadata":
		return levelMetadata
	case "Request":
		return levelRequest
	case "RequestResponse":
		return levelRequestResponse
	}
	return nil
}

// stageIndex returns stage's index in stages, or -1.
func stageIndex(stage string) int {
	switch stage {
	case StageRequestReceived:
		return 0
	case StageResponseStarted:
		return 1
	case StageResponseComplete:
		return 2
	case StagePanic:
		return 3
	}
	return -1
}

// keyOf returns the bytes of the configured key field of e; empty means none.
func (s *Sink) keyOf(e *Event) []byte { return KeyOf(s.cfg.MessageKey, e) }

// KeyOf returns the bytes of e's field k names, the message key a Sink
// configured with message_key k gives e; empty means none.
func KeyOf(k KeyField, e *Event) []byte {
	switch k {
	case KeyAuditID:
		return e.AuditID
	case KeyNamespace:
		return e.Namespace
	case KeyUser:
		return e.User
	case KeyResource:
		return e.Resource
	}
	return nil
}

// numHeaders is how many headers each (non dead-letter) message carries.
func (s *Sink) numHeaders() int {
	if s.cluster != nil {
		return 5
	}
	return 4
}

// build turns events into messages placed in the order send groups them: the
// batched ones first, then those to go alone, each by destination topic, so
// that the first attempt sends contiguous sub-slices. Events that cannot be
// sent as they are (unknown stage, too large) are truncated, or become
// dead-letter messages, or are dropped (counted in Stats and res) here.
//
// The messages' keys, values and header values are the events' own bytes,
// valid for the whole Deliver call: the producer copies the batched ones
// into its requests before it sends them, and send copies those that go
// alone into the batch's arena first (ownAlone), as kafka-go's Writer may
// still hold them once a call has given up waiting.
func (s *Sink) build(events []Event, res *Result) *batch {
	n := len(events)
	b := s.getBatch()
	nh := s.numHeaders()
	headers := resize(b.headers, n*nh)
	b.headers = headers
	b.msgs, b.meta = resize(b.msgs, n), resize(b.meta, n)

	// The first pass fills msgs in event order; group order comes after,
	// once each message's destination and writer are known.
	var dropped []int
	for i := range events {
		e := &events[i]
		m, meta := &b.msgs[i], &b.meta[i]
		h := headers[i*nh : (i+1)*nh : (i+1)*nh]

		auditID, verb := fixed(e.AuditID), fixed(e.Verb)
		level := levelValue(e.Level)
		if level == nil {
			level = []byte(e.Level)
		}
		if s.cfg.MessageKey == KeyAuditID {
			m.Key = auditID
		} else {
			m.Key = fixed(s.keyOf(e))
		}
		if len(m.Key) == 0 {
			// nil, not empty: the hashing partitioners spread keyless
			// messages at random rather than hashing "" to one partition.
			m.Key = nil
		}
		m.Value = fixed(e.Value)

		stage := stageIndex(e.Stage)
		var stageValue []byte
		if stage >= 0 {
			stageValue = stageValues[stage]
			meta.origin = s.stageTopic[stage]
		} else {
			stageValue = []byte(e.Stage)
			meta.origin = int8(len(s.topics)) // the unroutable counters
		}
		h[0] = kafka.Header{Key: HeaderStage, Value: stageValue}
		h[1] = kafka.Header{Key: HeaderLevel, Value: level}
		h[2] = kafka.Header{Key: HeaderVerb, Value: verb}
		h[3] = kafka.Header{Key: HeaderAuditID, Value: auditID}
		if s.cluster != nil {
			h[4] = kafka.Header{Key: HeaderCluster, Value: s.cluster}
		}
		m.Headers = h
		meta.dest = meta.origin
		if stage >= 0 {
			m.Topic = s.topics[meta.dest]
		}
		meta.bodies = e.Level == "Request" || e.Level == "RequestResponse"
		meta.size = messageSize(m)

		switch {
		case e.DeadLetter != "":
			meta.callerReason = true
			if !s.deadLetter(b, i, e.DeadLetter) {
				dropped = append(dropped, i)
			}
		case stage < 0:
			if !s.deadLetter(b, i, "unknown stage "+quoteExcerpt(e.Stage)) {
				dropped = append(dropped, i)
			}
		case int(meta.size) > s.cfg.MaxMessageBytes:
			if !s.shrink(b, i) {
				dropped = append(dropped, i)
			}
		}
		meta.alone = int(meta.size) > s.cfg.BatchBytes
	}
	if len(dropped) > 0 {
		b.remove(dropped)
		res.Dropped += len(dropped)
	}
	b.sortByGroup()
	return b
}

// fixed returns b with its capacity cut to its length, so that nothing the
// sink appends to a message's bytes can write into the caller's buffer.
func fixed(b []byte) []byte { return b[:len(b):len(b)] }

// ownAlone copies the bytes of msgs that are not the sink's own (keys,
// values, and header values other than the shared ones) into the batch's
// arena: kafka-go's Writer may go on holding them after a WriteMessages call
// gave up on its context, when the caller's buffers are no longer valid.
func (b *batch) ownAlone(msgs []kafka.Message) {
	n := 0
	for i := range msgs {
		n += len(msgs[i].Key) + len(msgs[i].Value)
		for _, h := range msgs[i].Headers {
			n += len(h.Value)
		}
	}
	arena := make([]byte, 0, n)
	own := func(v []byte) []byte {
		if v == nil {
			return nil
		}
		start := len(arena)
		arena = append(arena, v...)
		return arena[start:len(arena):len(arena)]
	}
	for i := range msgs {
		m := &msgs[i]
		m.Key, m.Value = own(m.Key), own(m.Value)
		h := make([]kafka.Header, len(m.Headers))
		for j, hd := range m.Headers {
			h[j] = kafka.Header{Key: hd.Key, Value: own(hd.Value)}
		}
		m.Headers = h
	}
}

// shrink makes message i fit MaxMessageBytes: truncated if its level has
// bodies and it was not truncated yet, then its client-chosen strings
// shortened if they were not yet, else dead-lettered. It reports false when
// the message was dropped.
func (s *Sink) shrink(b *batch, i int) bool {
	m, meta := &b.msgs[i], &b.meta[i]
	if meta.bodies && !meta.truncated && !meta.dead {
		if v, ok := appendTruncated(make([]byte, 0, len(m.Value)+64), m.Value); ok {
			m.Value = v
			meta.truncated = true
			meta.size = messageSize(m)
			s.counters[meta.origin].truncated.Add(1)
			if int(meta.size) <= s.cfg.MaxMessageBytes {
				return true
			}
		}
	}
	if !meta.shortened && !meta.dead && s.shorten(m, meta) {
		return true
	}
	reason := "event too large for max_message_bytes"
	if meta.truncated || meta.shortened {
		reason = "event too large for max_message_bytes even after truncation"
	}
	return s.deadLetter(b, i, reason)
}

// messageSize returns the size kafka-go gives m (Message.totalSize, which it
// compares with Writer.BatchBytes): the legacy v1 message framing, an upper
// bound of the v2 record's size. Computing it the same way keeps the sink's
// choice of writer and kafka-go's batching in agreement.
func messageSize(m *kafka.Message) int32 {
	n := varIntLen(len(m.Headers))
	for i := range m.Headers {
		h := &m.Headers[i]
		n += varIntLen(len(h.Key)) + len(h.Key) + varIntLen(len(h.Value)) + len(h.Value)
	}
	// crc, magic, attributes, key length, key, value length, value, timestamp
	return int32(n + 4 + 1 + 1 + 4 + len(m.Key) + 4 + len(m.Value) + 8)
}

// varIntLen is the length of n as a zig-zag varint.
func varIntLen(n int) int { return varIntLen64(int64(n)) }

// quoteExcerpt quotes at most 64 bytes of s for an error message.
func quoteExcerpt(s string) string {
	if len(s) > 64 {
		return strconv.Quote(s[:64]) + "..."
	}
	return strconv.Quote(s)
}
