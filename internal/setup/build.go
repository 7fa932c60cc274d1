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

	"github.com/auditstream/auditstream/internal/metrics"
	"github.com/auditstream/auditstream/internal/pipeline"
	"github.com/auditstream/auditstream/internal/policyreload"
	"github.com/auditstream/auditstream/sink"
)

// Built is a pipeline whose brokers are being checked in the background,
// with the sink it delivers to, the policy it filters with and what the
// metrics endpoint reads of it.
type Built struct {
	*pipeline.Pipeline
	Sink    *sink.Sink
	Policy  *policyreload.Holder
	Metrics *metrics.Instance
	cancel  context.CancelFunc
	done    chan struct{}
	// check asks the brokers for the topics' metadata: Sink.Check, or a
	// fake in tests.
	check func(context.Context) error
	// stopWatch stops the policy file watch; nil when reloading is off.
	stopWatch func()
}

// Build compiles the policy and creates the producer and the pipeline. It
// does not connect to Kafka: Fluent Bit's init must not block, and a broker
// that is down at start is a reason to retry chunks, not to fail the host.
// The brokers are checked in the background and the result logged. Unless
// s.ReloadInterval is 0, the policy file is watched and reloaded.
func Build(s *Settings, log *pipeline.Logger) (*Built, error) {
	holder, err := policyreload.LoadRedacted(s.PolicyFile, s.Redaction, log)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", KeyPolicyFile, err)
	}
	pol := holder.Current()
	log.Infof("%s %s: %d rules, sha256 %s", KeyPolicyFile, s.PolicyFile, pol.Policy.NumRules(), pol.SHA256)
	if r := s.Redaction; r != nil {
		log.Infof("%s on, %s %s: %s", KeyRedact, KeyRedactMode, r.Mode(), strings.Join(r.Fields(), "; "))
	} else {
		log.Warnf("%s off: secrets in the bodies the policy keeps are sent as logged", KeyRedact)
	}
	for i := range pol.Policy.NumRules() {
		log.Debugf("  %s", pol.Policy.DescribeRule(i))
	}

	snk, err := sink.New(s.Sink, sinkLogger(log))
	if err != nil {
		return nil, err
	}
	b := &Built{Sink: snk, Policy: holder, check: snk.Check}
	b.Metrics = metrics.NewInstance(metrics.Source{
		Name:      s.InstanceName,
		Pipeline:  func() pipeline.Stats { return b.Stats() },
		Decisions: func() pipeline.Decisions { return b.Decisions() },
		Sink:      snk.Stats,
		Policy:    holder.Stats,
	}, s.Sink.DeliveryTimeout)
	p, err := pipeline.New(pipeline.Config{
		Policy:            holder.PipelineVersion,
		Hooks:             b.Metrics.Hooks(),
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
	b.Pipeline = p
	if s.ReloadInterval > 0 {
		b.stopWatch = holder.Watch(s.ReloadInterval)
	}
	b.startCheck(log)
	return b, nil
}

// checkTimeout bounds one check of the brokers; checkRetry is the pause
// between checks while they fail.
const (
	checkTimeout = 10 * time.Second
	checkRetry   = 15 * time.Second
)

// startCheck asks the brokers for the topics' metadata in the background,
// so that unreachable brokers, refused credentials or missing topics show
// in the log at start, not only at the first flush, without blocking
// Fluent Bit's init. While they fail, it asks again every checkRetry, so
// that readiness reports them reachable once they are, even with no events
// to deliver; only the first failure and the recovery are logged.
func (b *Built) startCheck(log *pipeline.Logger) {
	ctx, cancel := context.WithCancel(context.Background())
	b.cancel, b.done = cancel, make(chan struct{})
	go func() {
		defer close(b.done)
		// A panic on a goroutine of its own would end the host process;
		// the check only informs, so a bug in it is logged and forgotten.
		defer func() {
			if v := recover(); v != nil {
				log.Errorf("panic while checking the brokers at start (a bug; please report it; flushes are not affected): %v", v)
				log.Lines(pipeline.LevelError, string(debug.Stack()))
			}
		}()
		for attempt := 0; ; attempt++ {
			err := b.checkOnce(ctx)
			if errors.Is(ctx.Err(), context.Canceled) {
				return // exiting already: the result no longer matters
			}
			b.Metrics.Readiness().Reachable(err)
			switch {
			case err == nil && attempt == 0:
				log.Infof("brokers reachable and topics present")
			case err == nil:
				log.Infof("brokers reachable and topics present now")
			case attempt > 0:
				log.Debugf("brokers still not ready: %v", err)
			case sink.IsRetryable(err):
				log.Warnf("brokers not ready at start (chunks will be retried until they are): %v", err)
			default:
				log.Errorf("Kafka refuses this configuration (chunks are kept and retried until it is fixed): %v", err)
			}
			if err == nil || b.Metrics.Readiness().Delivered() {
				return // reachable; or a delivered flush proved it, and flushes now tell
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(checkRetry):
			}
		}
	}()
}

func (b *Built) checkOnce(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	return b.check(ctx)
}

// Close stops the check and the policy watch, then closes the pipeline.
func (c *Built) Close(ctx context.Context) error {
	if c.stopWatch != nil {
		c.stopWatch()
	}
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
