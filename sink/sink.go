package sink

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/auditstream/auditstream/internal/ratelimit"
)

// Sink produces audit events to Kafka. It is safe for concurrent use: several
// goroutines (Fluent Bit's workers) may call Deliver at once, and share its
// connections and produce batches.
type Sink struct {
	cfg Config
	// log redacts secrets already; redact is for the errors the sink
	// returns (nil without SASL).
	log    Logger
	redact *redactor

	transport *kafka.Transport
	// writerTransport is what the writers use: transport behind a cache of
	// the per-message metadata lookups (metacache.go).
	writerTransport *metaCache
	// bulk carries messages up to BatchBytes in batches, one request per
	// partition leader; alone carries one message per request: those larger
	// than BatchBytes, and those whose batch the broker refused as too
	// large, to find out which one is.
	bulk  *producer
	alone *kafka.Writer

	// topics are the distinct destination topics; stageTopic maps a stage's
	// index in stages to its index in topics, and dlq is the dead-letter
	// topic's index, or -1.
	topics     []string
	stageTopic [len(stages)]int8
	dlq        int8
	// counters are per index in topics, plus one last for unroutable events.
	counters []*counters

	// hooks inject failures in tests; zero otherwise.
	hooks hooks

	// cluster is the "cluster" header's value; nil when unset.
	cluster []byte

	// limiter holds back repeated lines about dropped or dead-lettered
	// events, per outcome, topic and reason.
	limiter *ratelimit.Limiter[string]

	// batches recycles the buffers of Deliver calls (message.go).
	batches sync.Pool

	// mu guards closed, and orders inflight.Add before Close's Wait.
	mu       sync.RWMutex
	closed   bool
	inflight sync.WaitGroup
	// stop cancels the Deliver calls still running when Close gives up.
	stopCtx context.Context
	stop    context.CancelFunc
}

// Timeouts of kafka-go's transport that Config does not expose.
const (
	dialTimeout = 5 * time.Second
	// metadataTTL bounds how long a moved partition leader goes unnoticed:
	// kafka-go refreshes metadata on this period only, not on a
	// NOT_LEADER_OR_FOLLOWER error.
	metadataTTL = 3 * time.Second
	// maxWriteTimeout bounds one produce request, so that a hung broker
	// connection is given up and retried well before delivery_timeout.
	maxWriteTimeout = 10 * time.Second
)

// New validates cfg, reads its TLS files and SASL password, and returns a
// Sink. It does not connect: the first Deliver (or Check) does. log may be nil.
func New(cfg Config, log Logger) (*Sink, error) { //nolint:gocritic // hugeParam: a copy, once per sink, so the caller cannot change settings under it
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = func(LogLevel, string) {}
	}
	tlsCfg, err := buildTLS(&cfg.TLS)
	if err != nil {
		return nil, err
	}
	mech, redact, err := buildSASL(&cfg.SASL)
	if err != nil {
		return nil, err
	}
	// Every line the sink logs goes through the redactor: kafka-go's and
	// the brokers' errors are logged as they come.
	if redact != nil {
		next := log
		log = func(level LogLevel, msg string) { next(level, redact.string(msg)) }
	}

	s := &Sink{cfg: cfg, log: log, redact: redact, dlq: -1, limiter: ratelimit.New[string](logEvery)}
	s.stopCtx, s.stop = context.WithCancel(context.Background())
	for i, stage := range stages {
		s.stageTopic[i] = s.topicIndex(cfg.TopicFor(stage))
	}
	if cfg.DeadLetterTopic != "" {
		s.dlq = s.topicIndex(cfg.DeadLetterTopic)
	}
	s.counters = make([]*counters, len(s.topics)+1)
	for i := range s.counters {
		s.counters[i] = new(counters)
	}
	if cfg.ClusterName != "" {
		s.cluster = []byte(cfg.ClusterName)
	}

	s.transport = &kafka.Transport{
		DialTimeout: dialTimeout,
		MetadataTTL: metadataTTL,
		// Without a list kafka-go fetches the metadata of every topic in the
		// cluster on each refresh, a real load on large clusters.
		MetadataTopics: s.topics,
		ClientID:       cfg.ClientID,
		TLS:            tlsCfg,
		SASL:           mech,
		Context:        s.stopCtx,
	}
	s.writerTransport = newMetaCache(s.transport, s.topics)
	s.bulk = (&producer{
		transport:   s.writerTransport,
		addr:        kafka.TCP(cfg.Brokers...),
		balancer:    balancer(cfg.Partitioner),
		acks:        requiredAcks(cfg.RequiredAcks),
		compression: compression(cfg.Compression),
		batchSize:   cfg.BatchSize,
		batchBytes:  cfg.BatchBytes,
		timeout:     min(cfg.DeliveryTimeout, maxWriteTimeout),
		autoCreate:  cfg.AutoCreateTopics,
	}).init()
	s.alone = s.newWriter(max(cfg.MaxMessageBytes, cfg.BatchBytes))

	if cfg.TLS.InsecureSkipVerify {
		log(LogWarn, "kafka_insecure_skip_verify is on: broker certificates are NOT verified, "+
			"anyone on the network path can read and alter the audit stream; use kafka_ca_file instead")
	}
	if mech != nil && !cfg.TLS.Enabled {
		log(LogWarn, fmt.Sprintf("sasl_mechanism %s without kafka_tls: credentials and audit events cross the network in clear text", cfg.SASL.Mechanism))
	}
	if cfg.Linger > 0 {
		log(LogWarn, fmt.Sprintf("linger %s is ignored: each flush's events are sent at once, one request per broker; remove the key", cfg.Linger))
	}
	if cfg.DeadLetterTopic == "" {
		log(LogWarn, "dead_letter_topic is none: events that no retry can deliver (too large, a record the broker rejects) are dropped, counted and logged")
	}
	log(LogInfo, fmt.Sprintf("kafka sink: brokers %s, topics %s, key %s, partitioner %s, compression %s, acks %s, tls %t, sasl %q",
		strings.Join(cfg.Brokers, ","), strings.Join(s.topics, ","), cfg.MessageKey, cfg.Partitioner,
		cfg.Compression, cfg.RequiredAcks, cfg.TLS.Enabled, cfg.SASL.Mechanism))
	return s, nil
}

// topicIndex returns name's index in s.topics, adding it if new.
func (s *Sink) topicIndex(name string) int8 {
	for i, t := range s.topics {
		if t == name {
			return int8(i)
		}
	}
	s.topics = append(s.topics, name)
	return int8(len(s.topics) - 1)
}

// newWriter returns the one-message writer: every WriteMessages call sends
// its messages one per request, as soon as it is made.
func (s *Sink) newWriter(batchBytes int) *kafka.Writer {
	writeTimeout := min(s.cfg.DeliveryTimeout, maxWriteTimeout)
	return &kafka.Writer{
		Addr:       kafka.TCP(s.cfg.Brokers...),
		Balancer:   balancer(s.cfg.Partitioner),
		BatchSize:  1,
		BatchBytes: int64(batchBytes),
		// kafka-go reads 0 as its 1 s default; a single-message batch is
		// full at once anyway.
		BatchTimeout: time.Millisecond,
		// Deliver retries itself, per message and within its deadline;
		// kafka-go's own retries would hold a whole partition's queue.
		MaxAttempts:            1,
		ReadTimeout:            writeTimeout,
		WriteTimeout:           writeTimeout,
		RequiredAcks:           requiredAcks(s.cfg.RequiredAcks),
		Compression:            compression(s.cfg.Compression),
		AllowAutoTopicCreation: s.cfg.AutoCreateTopics,
		Transport:              s.writerTransport,
	}
}

func balancer(p Partitioner) kafka.Balancer {
	switch p {
	case PartitionCRC32:
		return kafka.CRC32Balancer{}
	case PartitionRoundRobin:
		return &kafka.RoundRobin{}
	default:
		return kafka.Murmur2Balancer{}
	}
}

func requiredAcks(a Acks) kafka.RequiredAcks {
	switch a {
	case AcksOne:
		return kafka.RequireOne
	case AcksNone:
		return kafka.RequireNone
	default:
		return kafka.RequireAll
	}
}

func compression(c Compression) kafka.Compression {
	switch c {
	case CompressionGzip:
		return kafka.Gzip
	case CompressionSnappy:
		return kafka.Snappy
	case CompressionLZ4:
		return kafka.Lz4
	case CompressionZstd:
		return kafka.Zstd
	default:
		return 0
	}
}

// Stats returns a snapshot of the counters. It is cheap enough to call on
// every flush: a few atomic loads per topic.
func (s *Sink) Stats() Stats {
	st := Stats{Topics: make(map[string]TopicStats, len(s.counters))}
	for i, name := range s.topics {
		if int8(i) == s.dlq {
			continue
		}
		st.Topics[name] = s.counters[i].snapshot()
	}
	if u := s.counters[len(s.topics)].snapshot(); u != (TopicStats{}) {
		st.Topics[""] = u
	}
	return st
}

// Close waits for the Deliver calls in progress to finish, until ctx is done;
// then it cancels those left (they return a retryable error) and releases the
// connections. Deliver calls after Close return ErrClosed. Every message a
// Deliver call hands over is waited for by that call, so nothing else is left
// to flush.
func (s *Sink) Close(ctx context.Context) (err error) {
	defer func() { err = s.redact.err(err) }()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()

	done := make(chan struct{})
	var closeErr error // set before done is closed
	go func() {
		defer close(done)
		defer func() {
			if r := recover(); r != nil {
				closeErr = s.recovered("Close", r)
			}
		}()
		s.inflight.Wait()
		call(s.hooks.beforeClose)
		_ = s.alone.Close()
	}()
	select {
	case <-done:
		err = closeErr
	case <-ctx.Done():
		// Deliver calls notice stopCtx and return; kafka-go's Close can
		// still hang on a dead connection (kafka-go#1307), so it is not
		// waited for.
		err = fmt.Errorf("sink: close: deliveries still in progress were cancelled: %w", ctx.Err())
	}
	s.stop()
	s.transport.CloseIdleConnections()
	st := s.Stats().Total()
	s.log(LogInfo, fmt.Sprintf("kafka sink closed: sent %d, retried %d (%d resends), truncated %d, dead-lettered %d, dropped %d, refused %d",
		st.Sent, st.Retried, st.Resends, st.Truncated, st.DeadLettered, st.Dropped, st.Refused))
	return err
}

// enter registers a Deliver call, or reports that the sink is closed.
func (s *Sink) enter() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return false
	}
	s.inflight.Add(1)
	return true
}
