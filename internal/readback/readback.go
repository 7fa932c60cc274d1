// Package readback reads back every message a topic holds, for checks that
// compare what reached Kafka with what should have: auditstream verify and
// make demo.
package readback

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"

	"github.com/segmentio/kafka-go"
)

// Message is one message read back, with the headers as a map.
type Message struct {
	Topic     string
	Partition int
	Offset    int64
	Key       []byte
	Value     []byte
	Headers   map[string]string
}

// ReadAll returns every message of the topics, partition by partition, up
// to each partition's high watermark at the time of the call. A topic that
// does not exist holds no messages. It reads partitions directly, without a
// consumer group, so it needs no group coordination and commits nothing.
func ReadAll(ctx context.Context, d *kafka.Dialer, brokers []string, topics []string) ([]Message, error) {
	conn, err := d.DialContext(ctx, "tcp", brokers[0])
	if err != nil {
		return nil, fmt.Errorf("cannot connect to %s: %w", brokers[0], err)
	}
	defer func() { _ = conn.Close() }()
	var out []Message
	for _, topic := range topics {
		parts, err := conn.ReadPartitions(topic)
		if errors.Is(err, kafka.UnknownTopicOrPartition) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("topic %s: %w", topic, err)
		}
		for _, p := range parts {
			msgs, err := readPartition(ctx, d, p)
			if err != nil {
				return nil, fmt.Errorf("topic %s partition %d: %w", topic, p.ID, err)
			}
			out = append(out, msgs...)
		}
	}
	return out, nil
}

func readPartition(ctx context.Context, d *kafka.Dialer, p kafka.Partition) ([]Message, error) {
	leader := net.JoinHostPort(p.Leader.Host, strconv.Itoa(p.Leader.Port))
	conn, err := d.DialLeader(ctx, "tcp", leader, p.Topic, p.ID)
	if err != nil {
		return nil, err
	}
	defer func() { _ = conn.Close() }()
	first, last, err := conn.ReadOffsets()
	if err != nil {
		return nil, err
	}
	if _, err := conn.Seek(first, kafka.SeekAbsolute); err != nil {
		return nil, err
	}
	var out []Message
	for offset := first; offset < last; {
		if deadline, ok := ctx.Deadline(); ok {
			_ = conn.SetReadDeadline(deadline)
		}
		batch := conn.ReadBatch(1, 64<<20)
		before := offset
		for {
			m, err := batch.ReadMessage()
			if err != nil {
				break
			}
			h := make(map[string]string, len(m.Headers))
			for _, kv := range m.Headers {
				h[kv.Key] = string(kv.Value)
			}
			out = append(out, Message{Topic: p.Topic, Partition: p.ID, Offset: m.Offset, Key: m.Key, Value: m.Value, Headers: h})
			offset = m.Offset + 1
		}
		if err := batch.Close(); err != nil {
			return out, err
		}
		if offset == before {
			// Nothing readable below the watermark (transaction markers,
			// a compacted gap): stop rather than spin.
			break
		}
	}
	return out, nil
}
