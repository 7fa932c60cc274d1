package chaos

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/segmentio/kafka-go"
)

// fault is one thing that goes wrong during a run.
type fault struct {
	name    string
	hostile bool    // the log has the hostile cases mixed in
	at      float64 // share of the log handed to the driver when it strikes
	// strike does the damage, beside the driver; nil for none.
	strike func(r *run) error
	// restartsDriver: the strike kills the driver's process, which the
	// driver starts again (and goes on from where its kind of storage says).
	restartsDriver bool
}

// topicGone is how long a deleted topic stays deleted: longer than
// delivery_timeout, so that flushes fail and are retried meanwhile.
const topicGone = deliveryTimeout + 2*time.Second

var faults = []fault{
	{name: "hostile-corpus", hostile: true},
	{name: "broker-sigkill-restart", at: 0.4, strike: func(r *run) error {
		return r.s.broker.killAndRestart(2 * time.Second)
	}},
	{name: "broker-sigstop-past-delivery-timeout", at: 0.4, strike: func(r *run) error {
		return r.s.broker.freeze(deliveryTimeout + 3*time.Second)
	}},
	{name: "topic-deleted-in-use", at: 0.3, strike: func(r *run) error {
		topic := r.rt.stage["ResponseComplete"]
		if err := deleteTopic(r.s.broker.info.Brokers, topic); err != nil {
			return err
		}
		time.Sleep(topicGone)
		return createTopics(r.s.broker.info.Brokers, topic)
	}},
	{name: "shipper-sigkill-mid-flush-restart", at: 0.5, restartsDriver: true, strike: func(r *run) error {
		// A frozen broker holds the flush in progress; the kill lands in it.
		b := r.s.broker
		if err := b.signal(sigStop); err != nil {
			return err
		}
		time.Sleep(1500 * time.Millisecond)
		killErr := r.killDriver()
		return errors.Join(killErr, b.signal(sigCont))
	}},
}

// partitions per topic: several, so that keys choose partitions.
const partitions = 3

// createTopics creates the topics and waits until every partition has a
// leader. It may run on any goroutine.
func createTopics(brokers []string, topics ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	client := &kafka.Client{Addr: kafka.TCP(brokers...), Timeout: 10 * time.Second}
	cfgs := make([]kafka.TopicConfig, len(topics))
	for i, tp := range topics {
		cfgs[i] = kafka.TopicConfig{Topic: tp, NumPartitions: partitions, ReplicationFactor: 1}
	}
	var lastErr error
	for ctx.Err() == nil {
		res, err := client.CreateTopics(ctx, &kafka.CreateTopicsRequest{Topics: cfgs})
		if err == nil {
			for _, tp := range topics {
				if e := res.Errors[tp]; e != nil && !errors.Is(e, kafka.TopicAlreadyExists) {
					err = errors.Join(err, e)
				}
			}
		}
		if err == nil {
			meta, merr := client.Metadata(ctx, &kafka.MetadataRequest{Topics: topics})
			if merr == nil && leadersReady(meta, len(topics)) {
				return nil
			}
			err = merr
		}
		lastErr = err
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("create topics %v: %w (last error: %w)", topics, ctx.Err(), lastErr)
}

func leadersReady(meta *kafka.MetadataResponse, n int) bool {
	if meta == nil || len(meta.Topics) != n {
		return false
	}
	for _, tp := range meta.Topics {
		if tp.Error != nil || len(tp.Partitions) != partitions {
			return false
		}
		for _, p := range tp.Partitions {
			if p.Error != nil || p.Leader.Host == "" {
				return false
			}
		}
	}
	return true
}

func deleteTopic(brokers []string, topic string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client := &kafka.Client{Addr: kafka.TCP(brokers...), Timeout: 10 * time.Second}
	res, err := client.DeleteTopics(ctx, &kafka.DeleteTopicsRequest{Topics: []string{topic}})
	if err == nil {
		err = res.Errors[topic]
	}
	if err != nil {
		return fmt.Errorf("delete topic %s: %w", topic, err)
	}
	return nil
}
