package pipeline

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/auditstream/auditstream/filter"
	"github.com/auditstream/auditstream/internal/freelist"
	"github.com/auditstream/auditstream/internal/ratelimit"
	"github.com/auditstream/auditstream/sink"
)

// Processor decides and rewrites one audit event at a time; *filter.Processor
// is one. It is used by one goroutine at a time.
type Processor interface {
	AppendEventOrView(dst, line []byte) (out, view []byte, res filter.Result, err error)
	Fields() *filter.Fields
}

// Sink is the part of *sink.Sink the pipeline uses. Deliver must be safe for
// concurrent calls and must hold no reference to the events once it returns;
// its Result counts what it did with them, also when it fails.
type Sink interface {
	Deliver(ctx context.Context, events []sink.Event) (sink.Result, error)
	Close(ctx context.Context) error
}

// Defaults for the zero values of Config's durations.
const (
	DefaultFlushTimeout = 30 * time.Second
	DefaultLogInterval  = time.Minute
	DefaultLogKey       = "log"
)

// Config assembles a Pipeline. Sink, Log and one of Policy and NewProcessor
// are required.
type Config struct {
	// NewProcessor returns a new policy processor; the pipeline keeps a pool
	// of them, one per concurrent flush. It is the fixed policy of a
	// pipeline without Policy.
	NewProcessor func() Processor
	Sink         Sink
	// IsRetryable classifies a Deliver error (normally sink.IsRetryable). A
	// flush that ran out of time is retryable whatever it says. Nil: every
	// error other than a timeout is final.
	IsRetryable func(error) bool

	// LogKey is the record key holding the raw audit line (tail without a
	// parser). Records without it are taken as parsed events. Default "log".
	LogKey string
	// PathKey is the record key naming the file a record was read from
	// (tail's Path_Key), quoted in the reason of a dead-lettered event.
	// Empty: none.
	PathKey string
	// FlushTimeout bounds the Deliver call of one flush, so that a flush
	// never blocks its caller (Fluent Bit's engine thread, with workers 0)
	// for longer. Default 30s.
	FlushTimeout time.Duration
	// SummaryInterval is the period of the summary line; 0 disables it.
	SummaryInterval time.Duration
	// LogInterval is the least time between two lines about the same kind of
	// problem; the occurrences in between are counted. Default one minute.
	LogInterval time.Duration
	// MessageKey is the sink's message_key: of the fields that can key a
	// message, only this one is copied for the sink. Empty copies them all.
	MessageKey sink.KeyField
	// FilterParallelism is how many goroutines may filter one chunk, each a
	// part of it; chunks under 128 KB are filtered in one piece. 1 filters
	// every chunk on the flush's own goroutine. Default
	// DefaultFilterParallelism.
	FilterParallelism int

	// CutUnreadableBodies leaves out of a dead-lettered line everything
	// from its first requestObject or responseObject on. Set it when the
	// processor redacts secrets: a line it could not read (cut short by a
	// crash, say) may still hold a Secret's body, which redaction never saw.
	CutUnreadableBodies bool

	Log *Logger
	// SinkSummary, if set, appends the sink's own counters (per topic) to the
	// summary line.
	SinkSummary func(dst []byte) []byte

	// Policy, if set, returns the policy version in force; each Flush calls
	// it once (see PolicyVersion). It must be safe for concurrent calls.
	Policy func() *PolicyVersion
	// Hooks observe flushes (metrics); nil hooks cost nothing.
	Hooks Hooks
}

// Pipeline processes chunks for one destination. Flush is safe for
// concurrent use; each call works in its own pooled scratch memory.
type Pipeline struct {
	cfg          Config
	minPartBytes int // see defaultMinPartBytes
	c            counters
	limit        *ratelimit.Limiter[cause]
	// free keeps the scratches of finished flushes for the next ones.
	free    freelist.List[*scratch]
	decided decisionTotals
	// filtering is how many flushes are reading their chunks (split).
	filtering atomic.Int32

	// mu is held shared by every Flush and exclusively by Close, so that Close
	// waits for running flushes and no flush starts after it.
	mu     sync.RWMutex
	closed bool

	closeOnce   sync.Once
	closeErr    error
	stopSummary chan struct{}
	summaryDone chan struct{}
}

// maxFreeScratches is how many scratches the pipeline keeps between
// flushes: one per part of each of a few concurrent flushes. Each holds
// at most maxPooledBytes of buffers (scratch.reset).
const maxFreeScratches = 8

// New checks cfg, fills in its defaults and starts the summary timer.
func New(cfg Config) (*Pipeline, error) {
	switch {
	case cfg.NewProcessor == nil && cfg.Policy == nil:
		return nil, errors.New("pipeline: Policy or NewProcessor is required")
	case cfg.Sink == nil:
		return nil, errors.New("pipeline: Sink is required")
	case cfg.Log == nil:
		return nil, errors.New("pipeline: Log is required")
	case cfg.FlushTimeout < 0, cfg.SummaryInterval < 0, cfg.LogInterval < 0:
		return nil, errors.New("pipeline: durations must not be negative")
	case cfg.FilterParallelism < 0:
		return nil, errors.New("pipeline: FilterParallelism must not be negative")
	}
	if cfg.FilterParallelism == 0 {
		cfg.FilterParallelism = DefaultFilterParallelism
	}
	if cfg.LogKey == "" {
		cfg.LogKey = DefaultLogKey
	}
	if cfg.FlushTimeout == 0 {
		cfg.FlushTimeout = DefaultFlushTimeout
	}
	if cfg.LogInterval == 0 {
		cfg.LogInterval = DefaultLogInterval
	}
	p := &Pipeline{cfg: cfg, minPartBytes: defaultMinPartBytes, limit: ratelimit.New[cause](cfg.LogInterval)}
	if p.cfg.Policy == nil {
		p.cfg.Policy = fixedPolicy(cfg.NewProcessor)
	}
	// getScratch gives a scratch its processor.
	p.free = freelist.New[*scratch](maxFreeScratches)
	if cfg.SummaryInterval > 0 {
		p.stopSummary = make(chan struct{})
		p.summaryDone = make(chan struct{})
		go p.summaryLoop(cfg.SummaryInterval)
	}
	return p, nil
}

// Flush reads the chunk in data, filters its events and delivers the kept
// ones, and those it cannot read to the dead-letter topic, and reports what
// became of the chunk (see the package doc). It returns within about
// FlushTimeout. data is only read, and not referenced once Flush returns.
func (p *Pipeline) Flush(data []byte) Outcome { return p.FlushFrom(data, nil) }

// FlushFrom is Flush with where naming the origin of the chunk's events in
// the reasons of the dead-lettered ones (nil: their index in the chunk).
func (p *Pipeline) FlushFrom(data []byte, where Locator) Outcome {
	out, _ := p.FlushCounted(data, where)
	return out
}

// FlushCounted is FlushFrom that also returns what this flush alone added
// to the counters (Stats), for a caller that runs several flushes at once
// and must tell their outcomes apart.
func (p *Pipeline) FlushCounted(data []byte, where Locator) (out Outcome, counted Stats) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.closed {
		// Keep the chunk: the host still owns it and may flush it elsewhere
		// or after a restart.
		p.note(causeClosed, nil)
		return Retry, counted
	}
	var start time.Time // read only by the hook: no clock read without one
	if p.cfg.Hooks.Flushed != nil {
		start = time.Now()
	}
	s := p.getScratch(p.cfg.Policy())
	defer p.put(s)
	s.where = where

	var t tally
	defer func() {
		if v := recover(); v != nil {
			out = p.flushPanicked(&t, v)
		}
		counted = t.stats()
	}()
	readErr := p.readChunk(s, data, &t)
	out = Delivered
	if len(s.kept) > 0 || len(s.parts) > 0 {
		out = p.deliver(s, &t)
	}
	if readErr != nil && out == Delivered {
		// The readable events are delivered, and the unreadable rest of the
		// chunk dead-lettered; a retry would not read more of it.
		out = Failed
	}
	switch out {
	case Retry:
		t.retries++
	case Failed:
		t.failures++
	}
	p.add(&t)
	p.addDecisions(s)
	if p.cfg.Hooks.Flushed != nil {
		p.cfg.Hooks.Flushed(out, time.Since(start))
	}
	return out, counted // counted is set by the deferred function
}

func (p *Pipeline) put(s *scratch) {
	for _, part := range s.parts {
		p.put(part)
	}
	s.reset()
	p.free.Put(s) // dropped when more flushes ran at once than the list keeps
}

// deliver hands the chunk's kept events to the sink in one call, within
// FlushTimeout. One call per chunk is the fastest: cutting a chunk into
// batches delivered while the next is filtered was measured slower (each
// call pays its own produce requests, one per broker, and on a small
// machine the broker competes for the same CPUs the overlap would use).
func (p *Pipeline) deliver(s *scratch, t *tally) Outcome {
	events := s.buildEvents()
	if len(events) == 0 {
		return Delivered // every event of the chunk was dropped by the policy
	}
	ctx, cancel := context.WithTimeout(context.Background(), p.cfg.FlushTimeout)
	var began time.Time
	if p.cfg.Hooks.Acked != nil {
		began = time.Now()
	}
	res, err := p.cfg.Sink.Deliver(ctx, events)
	cancel()
	if err == nil && p.cfg.Hooks.Acked != nil {
		p.cfg.Hooks.Acked(time.Since(began))
	}
	// Only what Kafka acknowledged counts as delivered, also from a call
	// that failed for the rest of its events.
	t.delivered += uint64(res.Acked)
	t.deadLettered += uint64(res.DeadLettered)
	t.sinkDropped += uint64(res.Dropped)
	if err == nil {
		return Delivered
	}
	if p.retryable(err) {
		p.note(causeDeliverRetry, err)
		return Retry
	}
	// An error that retrying alone cannot fix (refused credentials, an
	// untrusted certificate, a closed producer) is still not the data's
	// fault: dropping the chunk would lose audit events to a configuration
	// mistake. It is logged as an error, and the chunk is kept for Fluent
	// Bit to retry, bounded by its Retry_Limit, until the mistake is fixed.
	// Events the sink itself judged undeliverable never get here: they are
	// dead-lettered or dropped and counted inside Deliver.
	p.note(causeDeliverFailed, err)
	return Retry
}

func (p *Pipeline) retryable(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) {
		return true // slow is not broken: the broker may be back by the next try
	}
	return p.cfg.IsRetryable != nil && p.cfg.IsRetryable(err)
}

// note logs one occurrence of c, rate-limited; err may be nil. It reports
// whether it wrote a line.
func (p *Pipeline) note(c cause, err error) bool {
	n, ok := p.limit.Allow(c, 1, time.Now())
	if !ok {
		return false
	}
	suppressed := n - 1 // this occurrence is the line itself
	lv := LevelWarn
	switch c {
	case causeUnreadable, causeDeliverFailed, causeEventPanic, causeFlushPanic, causeSummaryPanic:
		lv = LevelError
	}
	if !p.cfg.Log.Enabled(lv) {
		return false
	}
	msg := causeNames[c]
	if err != nil {
		msg += ": " + err.Error()
	}
	if suppressed > 0 {
		msg += fmt.Sprintf(" (and %d more since the last such message)", suppressed)
	}
	p.cfg.Log.logf(lv, "%s", []any{msg})
	return true
}

// Stats returns the pipeline's counters.
func (p *Pipeline) Stats() Stats { return p.c.snapshot() }

// Close waits for running flushes (up to ctx's deadline), stops the summary
// timer after a last summary line, and closes the sink, which flushes what
// it still holds within ctx. Flushes after Close return Retry. Only the first
// call does anything.
func (p *Pipeline) Close(ctx context.Context) error {
	p.closeOnce.Do(func() {
		locked := make(chan struct{})
		go func() {
			p.mu.Lock()
			p.closed = true
			p.mu.Unlock()
			close(locked)
		}()
		select {
		case <-locked:
		case <-ctx.Done():
			p.cfg.Log.Warnf("exit: flushes still running when the exit deadline passed; closing anyway")
		}
		if p.stopSummary != nil {
			close(p.stopSummary)
			<-p.summaryDone
		}
		p.safeSummary()
		p.closeErr = p.cfg.Sink.Close(ctx)
	})
	return p.closeErr
}
