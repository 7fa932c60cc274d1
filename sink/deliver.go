package sink

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/segmentio/kafka-go"
)

// Backoff between attempts of one Deliver call. The first retry comes soon,
// for a connection that was merely stale; later ones space out so that a
// broker coming back is not hammered by every worker at once.
const (
	backoffMin = 100 * time.Millisecond
	backoffMax = 2 * time.Second
)

// Deliver produces one message per event and returns when every one is
// acknowledged by the broker (as required_acks says), or was handled as
// configured: truncated, dead-lettered or dropped, and counted. Otherwise it
// returns a *DeliveryError: IsRetryable tells whether handing the same events
// again later can help.
//
// Transient failures (broker unreachable, leader moving, timeouts, not enough
// replicas) are retried inside the call, with backoff, for the messages that
// failed only, until delivery_timeout or ctx ends the call. A message whose
// partition already acknowledged it is never sent again by the same call; a
// retry of the whole batch by the caller after an error does resend the events
// that were acknowledged, so consumers may see duplicates (same auditID and
// stage), never a loss.
//
// The Result counts the events acknowledged, dead-lettered and dropped by
// this call, also when it returns an error (the events of neither count are
// then the ones not delivered).
//
// Deliver does not keep events or their byte slices after it returns. It is
// safe to call from several goroutines at once.
func (s *Sink) Deliver(ctx context.Context, events []Event) (res Result, err error) {
	if len(events) == 0 {
		return res, nil
	}
	if !s.enter() {
		return res, ErrClosed
	}
	defer s.inflight.Done()
	defer func() { err = s.redact.err(err) }()

	start := time.Now()
	ctx, cancel := context.WithDeadline(ctx, start.Add(s.cfg.DeliveryTimeout))
	defer cancel()
	defer context.AfterFunc(s.stopCtx, cancel)()

	b := s.build(events, &res)
	// kafka-go may go on holding messages of a WriteMessages call that gave
	// up on its context: their buffers are then left to the collector.
	first, reusable := b, true
	defer func() {
		if reusable {
			s.putBatch(first)
		}
	}()
	// The record timestamp (CreateTime): the time of delivery, as the
	// event's own timestamps are inside its JSON. A zero time would be sent
	// as 1970 and make time-based retention delete the records at once.
	for i := range b.msgs {
		b.msgs[i].Time = start
	}
	if len(b.msgs) == 0 {
		// Every event was dropped while the batch was built (no dead-letter
		// topic): nothing is left to send, and retrying would drop them again.
		return res, nil
	}
	var cause error
	for attempt := 0; len(b.msgs) > 0; attempt++ {
		errs, early := s.send(ctx, b)
		reusable = reusable && !early
		next, retry, h := s.settle(b, errs, &cause, &res)
		if h != nil {
			return res, &DeliveryError{Failed: len(next.msgs), Total: len(events), Retryable: h.retryable, Err: h.err, After: time.Since(start)}
		}
		b = next
		if len(b.msgs) == 0 {
			return res, nil
		}
		if !retry {
			continue // only resends alone or to the dead-letter topic: no wait
		}
		if !sleep(ctx, backoff(attempt)) {
			break
		}
	}
	if cause == nil || isContextErr(cause) {
		// Only the deadline was seen: the brokers accepted connections but
		// never answered (a frozen broker), or the call was cancelled.
		if errors.Is(ctx.Err(), context.Canceled) {
			cause = fmt.Errorf("delivery cancelled (caller or Close): %w", ctx.Err())
		} else {
			cause = fmt.Errorf("no acknowledgement from the brokers within the deadline (delivery_timeout %s): %w", s.cfg.DeliveryTimeout, ctx.Err())
		}
	}
	return res, &DeliveryError{Failed: len(b.msgs), Total: len(events), Retryable: true, Err: cause, After: time.Since(start)}
}

// send writes every message once and returns each message's error: the
// batched messages of every topic in one producer call, and those to go
// alone through the one-message writer, one WriteMessages call per topic,
// all concurrently. early reports that a call returned on its context, with
// kafka-go perhaps still holding its messages.
func (s *Sink) send(ctx context.Context, b *batch) (errs []error, early bool) {
	errs = make([]error, len(b.msgs))
	var calls []func() bool
	// sortByGroup put the batched messages first.
	bulk := 0
	for bulk < len(b.msgs) && !b.meta[bulk].alone {
		bulk++
	}
	if bulk > 0 {
		msgs, meta, gerrs := b.msgs[:bulk], b.meta[:bulk], errs[:bulk]
		calls = append(calls, func() bool {
			return s.write(gerrs, func() bool { return s.bulk.write(ctx, msgs, meta, gerrs) })
		})
	}
	for lo := bulk; lo < len(b.msgs); {
		hi := lo + 1
		for hi < len(b.msgs) && b.meta[hi].dest == b.meta[lo].dest {
			hi++
		}
		msgs, gerrs := b.msgs[lo:hi], errs[lo:hi]
		calls = append(calls, func() bool {
			return s.write(gerrs, func() bool {
				b.ownAlone(msgs)
				return s.writeAlone(ctx, msgs, gerrs)
			})
		})
		lo = hi
	}
	if len(calls) == 1 {
		// The common case needs no goroutine.
		return errs, calls[0]()
	}
	var earlyCalls atomic.Int32
	var wg sync.WaitGroup
	for _, c := range calls {
		wg.Go(func() {
			if c() {
				earlyCalls.Add(1)
			}
		})
	}
	wg.Wait()
	return errs, earlyCalls.Load() > 0
}

// write runs one send call, which stores each of its messages' errors in
// errs and reports whether it returned early. A panic (in kafka-go, say) is
// recovered, as the call may run in a goroutine of its own: it becomes
// every message's error, and counts as early, since kafka-go may then hold
// the messages.
func (s *Sink) write(errs []error, send func() bool) (early bool) {
	defer func() {
		if r := recover(); r != nil {
			err := s.recovered("send", r)
			for i := range errs {
				errs[i] = err
			}
			early = true
		}
	}()
	call(s.hooks.beforeWrite)
	return send()
}

// writeAlone sends msgs through the one-message writer and stores each
// message's error in errs. It reports whether WriteMessages returned on its
// context, before the outcome of every message was known.
func (s *Sink) writeAlone(ctx context.Context, msgs []kafka.Message, errs []error) (early bool) {
	err := s.alone.WriteMessages(ctx, msgs...)
	if err == nil {
		return false
	}
	var werrs kafka.WriteErrors
	if errors.As(err, &werrs) && len(werrs) == len(msgs) {
		copy(errs, werrs)
		return false
	}
	// One error for the whole call: metadata of the topic, the context, or
	// the connection.
	for i := range errs {
		errs[i] = err
	}
	return isContextErr(err)
}

// halt is why a Deliver call stops before its deadline: no retry within the
// call can help.
type halt struct {
	err error
	// retryable: a change on the brokers can fix it (a refused topic), so
	// the caller is to keep the batch and hand it again later.
	retryable bool
}

// settle counts the outcome of each message of b and returns the batch of
// those to send again. retry reports whether any failed transiently (so the
// next attempt should wait); h is set when the call is to stop: the sink
// cannot deliver at all, or the brokers refuse a topic. cause keeps the most
// telling transient error for the final report; res counts the messages whose
// fate is settled.
func (s *Sink) settle(b *batch, errs []error, cause *error, res *Result) (next *batch, retry bool, h *halt) {
	next = &batch{}
	var sent [maxTopics + 1]struct{ n, bytes uint64 }
	var fatal, refusal error
	for i, err := range errs {
		meta := &b.meta[i]
		if err == nil {
			if meta.dead {
				s.counters[meta.origin].deadLettered.Add(1)
				res.DeadLettered++
			} else {
				res.Acked++
				sent[meta.origin].n++
				sent[meta.origin].bytes += uint64(len(b.msgs[i].Value))
			}
			continue
		}
		keep := false
		switch classify(err) {
		case classRetryable:
			keep, retry = true, true
			c := s.counters[meta.origin]
			c.resends.Add(1)
			if !meta.retried {
				meta.retried = true
				c.retried.Add(1)
			}
			if errors.Is(err, kafka.UnknownTopicOrPartition) {
				// A topic the brokers are creating is unknown for
				// a moment: only a topic still missing after a few
				// attempts is worth an error.
				if meta.missing++; meta.missing == missingTopicAttempts {
					s.logMissingTopic(s.topicName(meta.dest))
				}
			}
			// The context's own deadline says less than what failed
			// before it.
			if *cause == nil || !isContextErr(err) {
				*cause = err
			}
		case classTooLarge:
			// A batch may be refused for its total size: resend the
			// message alone first, to learn whether it is the one.
			if !meta.alone {
				meta.alone, keep = true, true
			} else if keep = s.shrink(b, i); !keep {
				res.Dropped++
			}
		case classBadRecord:
			// The broker rejects a whole batch for one bad record.
			if !meta.alone {
				meta.alone, keep = true, true
			} else if keep = s.deadLetter(b, i, err.Error()); !keep {
				res.Dropped++
			}
		case classRefused:
			keep = true
			topic := s.topicName(meta.dest)
			s.counters[meta.origin].refused.Add(1)
			s.logRefusal(topic, err)
			if refusal == nil {
				refusal = fmt.Errorf("kafka refuses topic %q (%s): %w", topic, refusalHint(err), err)
			}
		case classFatal:
			if fatal == nil {
				fatal = err
			}
			keep = true
		}
		if keep {
			next.msgs = append(next.msgs, b.msgs[i])
			next.meta = append(next.meta, b.meta[i])
		}
	}
	for t := range sent {
		if sent[t].n > 0 {
			s.counters[t].sent.Add(sent[t].n)
			s.counters[t].sentBytes.Add(sent[t].bytes)
		}
	}
	switch {
	case fatal != nil:
		return next, false, &halt{err: explain(fatal)}
	case refusal != nil:
		return next, false, &halt{err: refusal, retryable: true}
	}
	next.sortByGroup()
	return next, retry, nil
}

// deadLetter turns message i into a message for the dead-letter topic, with
// the headers error and original_topic, its value cut to max_message_bytes if
// need be. Without a dead-letter topic, or when message i already is one, it
// counts the event as dropped instead and logs the cause (once a minute per
// cause). It reports whether the message is to be sent.
func (s *Sink) deadLetter(b *batch, i int, reason string) bool {
	m, meta := &b.msgs[i], &b.meta[i]
	// A reason the caller gave names its record (index, file, line), so
	// every one differs: they share one cause in the log's rate limit.
	cause := reason
	if meta.callerReason {
		cause = callerDeadLetterCause
	}
	if s.dlq < 0 || meta.dead {
		s.counters[meta.origin].dropped.Add(1)
		s.logOutcome("dropped", meta.origin, cause, reason)
		return false
	}
	h := make([]kafka.Header, 0, len(m.Headers)+3)
	h = append(h, m.Headers...)
	h = append(h,
		kafka.Header{Key: HeaderError, Value: []byte(s.redact.string(reason))},
		kafka.Header{Key: HeaderOriginalTopic, Value: []byte(s.topicName(meta.origin))})
	m.Headers = h
	if size := int(messageSize(m)); size > s.cfg.MaxMessageBytes {
		// Keep the start of the event, where the apiserver writes who did
		// what to which object; the header says how much there was.
		m.Headers = append(m.Headers, kafka.Header{Key: HeaderOriginalSize, Value: strconv.AppendInt(nil, int64(len(m.Value)), 10)})
		over := int(messageSize(m)) - s.cfg.MaxMessageBytes
		m.Value = m.Value[:max(len(m.Value)-over, 0)]
	}
	meta.dead = true
	meta.dest = s.dlq
	m.Topic = s.topics[s.dlq]
	meta.size = messageSize(m)
	meta.alone = int(meta.size) > s.cfg.BatchBytes
	s.logOutcome("dead-lettered", meta.origin, cause, reason)
	return true
}

// callerDeadLetterCause is the rate-limit cause of every Event.DeadLetter.
const callerDeadLetterCause = "\x00caller"

// logOutcome logs that events of topic t were dropped or dead-lettered, at
// most once a minute per outcome, topic and cause; the line gives the
// latest reason.
func (s *Sink) logOutcome(outcome string, t int8, cause, reason string) {
	key := outcome + "\x00" + s.topicName(t) + "\x00" + cause
	if n, ok := s.limiter.Allow(key, 1, time.Now()); ok {
		s.log(LogWarn, fmt.Sprintf("%s %d event(s) of topic %q since the last report of this cause; the latest: %s", outcome, n, s.topicName(t), reason))
	}
}

// missingTopicAttempts is how many attempts of one call must find a topic
// missing before it is logged: with the backoff, about 0.7 s, well past the
// moment a broker takes to create a topic on first use.
const missingTopicAttempts = 4

// logMissingTopic logs, as an error, that topic does not exist, with what to
// do, at most once a minute per topic: a missing topic is retried within
// every call, and would otherwise go unexplained until delivery_timeout.
func (s *Sink) logMissingTopic(topic string) {
	if _, ok := s.limiter.Allow("missing\x00"+topic, 1, time.Now()); ok {
		s.log(LogError, fmt.Sprintf("topic %q does not exist (%s). "+
			"Its events are retried until delivery_timeout, then their chunk is kept", topic, s.missingTopicHint()))
	}
}

// logRefusal logs, as an error, that the brokers refused an event of topic,
// at most once a minute per topic and error.
func (s *Sink) logRefusal(topic string, err error) {
	key := "refused\x00" + topic + "\x00" + err.Error()
	if n, ok := s.limiter.Allow(key, 1, time.Now()); ok {
		s.log(LogError, fmt.Sprintf("kafka refused %d event(s) of topic %q since the last report of this cause: %v; %s. "+
			"Their chunks are kept and retried until this is fixed", n, topic, err, refusalHint(err)))
	}
}

// topicName returns the name of topic index t ("" for unroutable events).
func (s *Sink) topicName(t int8) string {
	if int(t) < len(s.topics) {
		return s.topics[t]
	}
	return ""
}

// backoff returns the wait before retry attempt+1: exponential, capped, with
// ±20% jitter so that concurrent workers do not retry in step.
func backoff(attempt int) time.Duration {
	d := backoffMax
	if attempt < 8 {
		d = min(backoffMin<<attempt, backoffMax)
	}
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}

// sleep waits d, or less if ctx ends first; it reports whether ctx is still
// live afterwards.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return ctx.Err() == nil
	case <-ctx.Done():
		return false
	}
}
