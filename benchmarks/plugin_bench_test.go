package benchmarks

// BenchmarkFlushPath measures the plugin's whole flush path, in process and
// without cgo: a Fluent Bit chunk (msgpack, tail without a parser) in,
// read, filtered and rewritten by the policy, delivered to the real broker
// of `make kafka-up` and acknowledged, out. Each size first runs the sink
// alone on the same events with the same settings (benchSink), so that the
// flush path's sub-benchmarks can report x_sink, their rate over the sink's:
//
//	go test -run '^$' -bench BenchmarkFlushPath -benchtime 200000x ./benchmarks
//
// One op is one event: ns/op, MB/s (event bytes) and allocs/op are per
// event; events/s is reported too. workers is the number of concurrent
// flushes (Fluent Bit's workers). The policy keeps every event at its level,
// so that both sides produce the same messages. The cgo crossing itself is
// measured by plugin's BenchmarkHarnessFlush, which drives the built .so.

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/tinylib/msgp/msgp"

	"github.com/auditstream/auditstream/filter"
	"github.com/auditstream/auditstream/internal/kafkatest"
	"github.com/auditstream/auditstream/internal/pipeline"
	"github.com/auditstream/auditstream/sink"
)

// keepAllPolicy keeps every event at the level it was logged at.
const keepAllPolicy = "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: RequestResponse\n"

func BenchmarkFlushPath(b *testing.B) {
	info := kafkatest.Broker(b)
	for _, size := range []int{1 << 10, 10 << 10} {
		c := newChunkedEvents(b, size)
		var sinkRate float64
		b.Run(fmt.Sprintf("size=%dKB/sink/workers=1", size>>10), func(b *testing.B) {
			sinkRate = benchSink(b, info, c.evs, c.per, 1, nil)
		})
		for _, workers := range []int{1, 2} {
			for _, m := range metricsModes {
				b.Run(fmt.Sprintf("size=%dKB/flush/workers=%d/metrics=%s", size>>10, workers, m), func(b *testing.B) {
					rate := benchFlush(b, info, c, workers, m)
					if sinkRate > 0 {
						b.ReportMetric(rate/sinkRate, "x_sink")
					} else {
						b.Log("no x_sink: the sink/workers=1 sub-benchmark did not run (filtered out by -bench?)")
					}
				})
			}
		}
	}
}

// BenchmarkFlushVsSink measures the same ratio as BenchmarkFlushPath's
// x_sink, but robust to a machine whose load drifts (CI, or other jobs on
// the same two cores): it alternates rounds of the sink alone delivering
// workers chunks' events, one Deliver call per chunk and all at once, and of
// the flush path flushing the same chunks, workers flushes at once as
// Fluent Bit's workers make them; one sink and one topic for both, and each
// side first in every other round. Each side
// is timed separately, and the CPU time of this process and of the local
// broker is counted per side. One op is one event of each side; x_sink is
// the flush path's rate over the sink's, with as many concurrent calls on
// each side.
func BenchmarkFlushVsSink(b *testing.B) {
	info := kafkatest.Broker(b)
	for _, size := range []int{1 << 10, 10 << 10} {
		c := newChunkedEvents(b, size)
		for _, workers := range []int{1, 2} {
			b.Run(fmt.Sprintf("size=%dKB/workers=%d", size>>10, workers), func(b *testing.B) {
				flushVsSink(b, info, c, workers)
			})
		}
	}
}

func flushVsSink(b *testing.B, info kafkatest.Info, c *chunkedEvents, workers int) {
	p, s := newKafkaBenchPipeline(b, info, c.evs, metricsOff)
	type part struct {
		batch []sink.Event
		data  []byte
	}
	var rounds [][]part
	for start := 0; start < b.N; {
		var r []part
		for ; len(r) < workers && start < b.N; start += c.per {
			n := min(c.per, b.N-start)
			r = append(r, part{c.batch(start, n), c.chunk(start, n)})
		}
		rounds = append(rounds, r)
	}
	var failed atomic.Bool
	// side runs one call per part of a round at once and waits for them.
	side := func(r []part, call func(part) bool) {
		var wg sync.WaitGroup
		for _, pt := range r {
			wg.Go(func() {
				if !call(pt) {
					failed.Store(true)
				}
			})
		}
		wg.Wait()
	}
	deliver := func(pt part) bool { _, err := s.Deliver(context.Background(), pt.batch); return err == nil }
	flush := func(pt part) bool { return p.Flush(pt.data) == pipeline.Delivered }

	// The broker's CPU time, when it is this checkout's local process.
	brokerCPU, err := kafkatest.BrokerCPU()
	if err != nil {
		b.Logf("broker CPU not counted: %v", err)
		brokerCPU = func() time.Duration { return 0 }
	}

	b.SetBytes(avgValue(c.evs))
	b.ResetTimer()
	var sinkTime, flushTime, sinkCPU, flushCPU, sinkBroker, flushBroker time.Duration
	// timed runs one side of a round and adds its wall, process and broker
	// time to the side's totals.
	timed := func(r []part, call func(part) bool, wall, proc, broker *time.Duration) {
		c0, k0, t0 := processCPU(), brokerCPU(), time.Now()
		side(r, call)
		*wall += time.Since(t0)
		*proc += processCPU() - c0
		*broker += brokerCPU() - k0
	}
	for i, r := range rounds {
		// The side that goes second may pay for work the broker and the
		// collector defer from the first (log appends, its JVM's and our
		// GC): every other round starts with the other side.
		if i%2 == 0 {
			timed(r, deliver, &sinkTime, &sinkCPU, &sinkBroker)
			timed(r, flush, &flushTime, &flushCPU, &flushBroker)
		} else {
			timed(r, flush, &flushTime, &flushCPU, &flushBroker)
			timed(r, deliver, &sinkTime, &sinkCPU, &sinkBroker)
		}
		if failed.Load() {
			b.Fatal("a delivery or a flush failed")
		}
	}
	b.StopTimer()
	perEvent := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / float64(b.N) }
	b.ReportMetric(float64(b.N)/sinkTime.Seconds(), "sink_events/s")
	b.ReportMetric(float64(b.N)/flushTime.Seconds(), "flush_events/s")
	b.ReportMetric(sinkTime.Seconds()/flushTime.Seconds(), "x_sink")
	b.ReportMetric(perEvent(sinkCPU), "sink_cpu_ns/event")
	b.ReportMetric(perEvent(flushCPU), "flush_cpu_ns/event")
	if sinkBroker > 0 {
		// What the flush path adds to the CPU work of delivering an event,
		// client and broker together: the cost of reading, filtering and
		// rewriting, whichever cores do it.
		b.ReportMetric(perEvent(sinkBroker), "broker_cpu_ns/event")
		added := (flushCPU + flushBroker) - (sinkCPU + sinkBroker)
		b.ReportMetric(float64(added)/float64(sinkCPU+sinkBroker), "added_cpu_share")
	}
}

// BenchmarkFlushCPU is BenchmarkFlushPath with a sink that acknowledges at
// once: the time of reading a chunk, filtering and rewriting its events and
// copying them for the producer, per event. It needs no broker. parts is
// filter_parallelism: 1 filters each chunk on its flush's goroutine.
func BenchmarkFlushCPU(b *testing.B) {
	for _, size := range []int{1 << 10, 10 << 10} {
		c := newChunkedEvents(b, size)
		for _, workers := range []int{1, 2} {
			for _, parts := range []int{1, pipeline.DefaultFilterParallelism} {
				for _, m := range metricsModes {
					b.Run(fmt.Sprintf("size=%dKB/workers=%d/parts=%d/metrics=%s", size>>10, workers, parts, m), func(b *testing.B) {
						runFlushes(b, newBenchPipeline(b, discardSink{}, parts, m), c, workers)
					})
				}
			}
		}
	}
}

// discardSink acknowledges every event at once.
type discardSink struct{}

func (discardSink) Deliver(_ context.Context, e []sink.Event) (sink.Result, error) {
	return sink.Result{Acked: len(e)}, nil
}
func (discardSink) Close(context.Context) error { return nil }

// newBenchPipeline returns a pipeline over the keep-all policy and s that
// filters a chunk in up to parts parts, keyed by audit ID as by default;
// with metricsOn, wired to the metrics endpoint as the plugin is.
func newBenchPipeline(b *testing.B, s pipeline.Sink, parts int, m metricsMode) *pipeline.Pipeline {
	pol, _, err := filter.Compile([]byte(keepAllPolicy))
	if err != nil {
		b.Fatal(err)
	}
	cfg := pipeline.Config{
		NewProcessor:      func() pipeline.Processor { return pol.NewProcessor() },
		Sink:              s,
		IsRetryable:       sink.IsRetryable,
		Log:               pipeline.NewLogger(io.Discard, pipeline.LevelError, "bench"),
		FilterParallelism: parts,
		MessageKey:        sink.KeyAuditID,
	}
	var p *pipeline.Pipeline
	if m == metricsOn {
		withMetrics(b, &cfg, func() *pipeline.Pipeline { return p })
	}
	p, err = pipeline.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { p.Close(context.Background()) })
	return p
}

// newKafkaBenchPipeline makes a sink on a new topic of the local broker and a
// pipeline around it, connected by a warm-up flush of one event outside the
// timed part (its Stats count that event).
func newKafkaBenchPipeline(b *testing.B, info kafkatest.Info, evs []sink.Event, m metricsMode) (*pipeline.Pipeline, *sink.Sink) {
	topic := kafkatest.TopicName(b)
	kafkatest.CreateTopic(b, info, topic, 6)
	cfg := sink.DefaultConfig()
	cfg.Brokers = info.Brokers
	cfg.Topic = topic
	cfg.Compression = sink.CompressionNone
	s, err := sink.New(cfg, nil)
	if err != nil {
		b.Fatal(err)
	}
	p := newBenchPipeline(b, s, pipeline.DefaultFilterParallelism, m)
	if p.Flush(buildChunk(evs, 0, 1)) != pipeline.Delivered {
		b.Fatal("warm-up flush failed")
	}
	return p, s
}

// benchFlush flushes b.N events, as chunks of chunk events, from workers
// goroutines through a pipeline like the plugin's, and returns events/s.
func benchFlush(b *testing.B, info kafkatest.Info, c *chunkedEvents, workers int, m metricsMode) float64 {
	p, _ := newKafkaBenchPipeline(b, info, c.evs, m)
	rate := runFlushes(b, p, c, workers)
	if st := p.Stats(); st.Delivered != uint64(b.N)+1 {
		b.Fatalf("delivered %d events; want %d", st.Delivered, b.N+1)
	}
	return rate
}

// runFlushes times b.N events through p, as chunks flushed from workers
// goroutines, and returns events/s.
func runFlushes(b *testing.B, p *pipeline.Pipeline, c *chunkedEvents, workers int) float64 {
	var chunks [][]byte
	for start := 0; start < b.N; start += c.per {
		chunks = append(chunks, c.chunk(start, min(c.per, b.N-start)))
	}

	b.SetBytes(avgValue(c.evs))
	b.ReportAllocs()
	b.ResetTimer()
	var next atomic.Int64
	var failed atomic.Bool
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(len(chunks)) {
					return
				}
				if p.Flush(chunks[i]) != pipeline.Delivered {
					failed.Store(true)
					return
				}
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	if failed.Load() {
		b.Fatal("a flush was not delivered")
	}
	rate := float64(b.N) / b.Elapsed().Seconds()
	b.ReportMetric(rate, "events/s")
	return rate
}

// processCPU is the CPU time (user and system) the process has used so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// chunkedEvents are the events of one size a comparison cycles through, a
// whole number of chunks of them, and those chunks built once. Both sides of
// a comparison then read the same few megabytes over and over: a flush path
// reading b.N events' worth of fresh chunks from memory while the sink alone
// re-reads events already in the CPU's caches would measure the caches.
type chunkedEvents struct {
	evs    []sink.Event
	per    int      // events per chunk: a Fluent Bit chunk is about 2 MB
	chunks [][]byte // chunks[k] holds evs[k*per : (k+1)*per]
}

func newChunkedEvents(b *testing.B, size int) *chunkedEvents {
	per := chunkFor(size)
	n := (4096 + per - 1) / per * per
	c := &chunkedEvents{evs: benchEvents(b, n, size), per: per}
	for start := 0; start < n; start += per {
		c.chunks = append(c.chunks, buildChunk(c.evs, start, per))
	}
	return c
}

// chunk returns the n events from the start-th on (cycling), as a chunk;
// start is a multiple of c.per, and n at most c.per.
func (c *chunkedEvents) chunk(start, n int) []byte {
	if n == c.per {
		return c.chunks[start/c.per%len(c.chunks)]
	}
	return buildChunk(c.evs, start, n)
}

// batch returns the same events as chunk, as the sink takes them.
func (c *chunkedEvents) batch(start, n int) []sink.Event {
	i := start % len(c.evs)
	return c.evs[i : i+n]
}

// buildChunk returns n events from evs (cycling from start) as a Fluent Bit
// >= 2.1 chunk of tail records without a parser: [[time, {}], {"log": line}].
func buildChunk(evs []sink.Event, start, n int) []byte {
	var c []byte
	for i := range n {
		c = append(c, 0x92, 0x92, 0xd7, 0x00)
		c = binary.BigEndian.AppendUint32(c, uint32(1_700_000_000+i))
		c = binary.BigEndian.AppendUint32(c, 0)
		c = msgp.AppendMapHeader(c, 0)
		c = msgp.AppendMapHeader(c, 1)
		c = msgp.AppendString(c, "log")
		c = msgp.AppendStringFromBytes(c, evs[(start+i)%len(evs)].Value)
	}
	return c
}
