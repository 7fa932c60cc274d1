package setup

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/auditstream/auditstream/filter"
	"github.com/auditstream/auditstream/internal/pipeline"
	"github.com/auditstream/auditstream/sink"
)

// Built is a pipeline whose brokers are being checked in the background,
// with the sink it delivers to.
type Built struct {
	*pipeline.Pipeline
	Sink   *sink.Sink
	cancel context.CancelFunc
	done   chan struct{}
}

// Build compiles the policy and creates the producer and the pipeline. It
// does not connect to Kafka: Fluent Bit's init must not block, and a broker
// that is down at start is a reason to retry chunks, not to fail the host.
// The brokers are checked in the background and the result logged.
func Build(s *Settings, log *pipeline.Logger) (*Built, error) {
	pol, warnings, err := filter.LoadFile(s.PolicyFile)
	for _, w := range warnings {
		log.Warnf("%s: %s", KeyPolicyFile, w)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", KeyPolicyFile, err)
	}
	log.Infof("%s %s: %d rules", KeyPolicyFile, s.PolicyFile, pol.NumRules())
	pol = pol.WithRedaction(s.Redaction)
	if r := s.Redaction; r != nil {
		log.Infof("%s on, %s %s: %s", KeyRedact, KeyRedactMode, r.Mode(), strings.Join(r.Fields(), "; "))
	} else {
		log.Warnf("%s off: secrets in the bodies the policy keeps are sent as logged", KeyRedact)
	}
	for i := range pol.NumRules() {
		log.Debugf("  %s", pol.DescribeRule(i))
	}

	snk, err := sink.New(s.Sink, sinkLogger(log))
	if err != nil {
		return nil, err
	}
	p, err := pipeline.New(pipeline.Config{
		NewProcessor:      func() pipeline.Processor { return pol.NewProcessor() },
		Sink:              snk,
		IsRetryable:       sink.IsRetryable,
		LogKey:            s.LogKey,
		PathKey:           s.PathKey,
		FlushTimeout:      s.Sink.DeliveryTimeout + FlushMargin,
		SummaryInterval:   s.SummaryInterval,
		FilterParallelism: s.FilterParallelism,
		MessageKey:        s.Sink.MessageKey,
		// Redaction cannot look into a line that does not parse.
		CutUnreadableBodies: s.Redaction != nil,
		Log:                 log,
		SinkSummary:         func(b []byte) []byte { return appendSinkStats(b, snk.Stats()) },
	})
	if err != nil {
		_ = snk.Close(context.Background()) // it never connected: nothing to flush or report
		return nil, err
	}
	return startCheck(p, snk, snk.Check, log), nil
}

// checkTimeout bounds the start-up check of the brokers.
const checkTimeout = 10 * time.Second

// startCheck asks the brokers for the topics' metadata in the background,
// so that unreachable brokers, refused credentials or missing topics show
// in the log at start, not only at the first flush, without blocking
// Fluent Bit's init.
// check is snk.Check, or a fake in tests.
func startCheck(p *pipeline.Pipeline, snk *sink.Sink, check func(context.Context) error, log *pipeline.Logger) *Built {
	ctx, cancel := context.WithTimeout(context.Background(), checkTimeout)
	c := &Built{Pipeline: p, Sink: snk, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(c.done)
		// A panic on a goroutine of its own would end the host process;
		// the check only informs, so a bug in it is logged and forgotten.
		defer func() {
			if v := recover(); v != nil {
				log.Errorf("panic while checking the brokers at start (a bug; please report it; flushes are not affected): %v", v)
				log.Lines(pipeline.LevelError, string(debug.Stack()))
			}
		}()
		err := check(ctx)
		switch {
		case errors.Is(ctx.Err(), context.Canceled):
			// exiting already: the result no longer matters
		case err == nil:
			log.Infof("brokers reachable and topics present")
		case sink.IsRetryable(err):
			log.Warnf("brokers not ready at start (chunks will be retried until they are): %v", err)
		default:
			log.Errorf("Kafka refuses this configuration (chunks are kept and retried until it is fixed): %v", err)
		}
	}()
	return c
}

// Close stops the check, then closes the pipeline.
func (c *Built) Close(ctx context.Context) error {
	c.cancel()
	select {
	case <-c.done:
	case <-ctx.Done():
	}
	return c.Pipeline.Close(ctx)
}

// sinkLogger routes the sink's lines to the instance's log.
func sinkLogger(log *pipeline.Logger) sink.Logger {
	return func(level sink.LogLevel, msg string) {
		switch level {
		case sink.LogDebug:
			log.Debugf("%s", msg)
		case sink.LogInfo:
			log.Infof("%s", msg)
		case sink.LogWarn:
			log.Warnf("%s", msg)
		default:
			log.Errorf("%s", msg)
		}
	}
}

// appendSinkStats appends the sink's per-topic counters that are not zero,
// as "sent{topic}=N", topics in name order so that lines compare easily;
// "sent=0" when nothing was sent or lost yet.
func appendSinkStats(b []byte, st sink.Stats) []byte {
	topics := make([]string, 0, len(st.Topics))
	for t := range st.Topics {
		topics = append(topics, t)
	}
	slices.Sort(topics)
	n := len(b)
	for _, t := range topics {
		ts := st.Topics[t]
		for _, kv := range [...]struct {
			k string
			v uint64
		}{
			{"sent", ts.Sent}, {"sent_bytes", ts.SentBytes}, {"retried", ts.Retried},
			{"resends", ts.Resends}, {"truncated", ts.Truncated}, {"dead_lettered", ts.DeadLettered},
			{"dropped", ts.Dropped}, {"refused", ts.Refused},
		} {
			if kv.v == 0 {
				continue
			}
			if len(b) > n {
				b = append(b, ' ')
			}
			b = append(b, kv.k...)
			b = append(b, '{')
			b = append(b, t...)
			b = append(b, "}="...)
			b = strconv.AppendUint(b, kv.v, 10)
		}
	}
	if len(b) == n {
		b = append(b, "sent=0"...)
	}
	return b
}
