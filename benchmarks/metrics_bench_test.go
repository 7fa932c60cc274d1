package benchmarks

import (
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/auditstream/auditstream/internal/kafkatest"
	"github.com/auditstream/auditstream/internal/metrics"
	"github.com/auditstream/auditstream/internal/pipeline"
	"github.com/auditstream/auditstream/internal/policyreload"
)

// metricsMode is whether a flush benchmark's pipeline reports to a metrics
// endpoint. The flush benchmarks run both modes side by side, so that the
// cost of metrics is measured in one run, on one machine state.
type metricsMode string

const (
	metricsOff metricsMode = "off"
	metricsOn  metricsMode = "on"
)

var metricsModes = [...]metricsMode{metricsOff, metricsOn}

// withMetrics wires cfg as the plugin does with metrics_listen set: the
// policy read through a reloadable holder, the flush and ack hooks feeding
// the histograms and readiness, and the instance in a registry (which
// nothing scrapes during the timed part: a scrape costs per scrape, not per
// event). pipeline returns the pipeline once it exists.
func withMetrics(b *testing.B, cfg *pipeline.Config, p func() *pipeline.Pipeline) {
	path := filepath.Join(b.TempDir(), "policy.yaml")
	if err := os.WriteFile(path, []byte(keepAllPolicy), 0o644); err != nil {
		b.Fatal(err)
	}
	holder, err := policyreload.Load(path, pipeline.NewLogger(io.Discard, pipeline.LevelError, "bench"))
	if err != nil {
		b.Fatal(err)
	}
	in := metrics.NewInstance(metrics.Source{
		Name:      "bench",
		Pipeline:  func() pipeline.Stats { return p().Stats() },
		Decisions: func() pipeline.Decisions { return p().Decisions() },
		Policy:    holder.Stats,
	}, 30*time.Second)
	reg := metrics.NewRegistry()
	if err := reg.Add(in, ""); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		// One scrape at the end: the series must be servable.
		if _, err := reg.Gatherer().Gather(); err != nil {
			b.Error(err)
		}
		reg.Remove(in)
	})
	cfg.NewProcessor = nil
	cfg.Policy = holder.PipelineVersion
	cfg.Hooks = in.Hooks()
}

// BenchmarkFlushMetricsPaired measures what metrics cost a flush where
// running the two modes one after the other cannot: on a machine whose load
// drifts, the mode that runs second meets another machine. Two pipelines,
// one per mode, flush the same chunks in alternation, chunk by chunk, the
// mode that goes first changing every chunk, each mode timed on its own.
// sink=none acknowledges at once (filtering cost only); sink=kafka delivers
// to the local broker, both modes to one topic through one producer. One op
// is one event of each mode; on/off is the ratio of their times.
func BenchmarkFlushMetricsPaired(b *testing.B) {
	c := newChunkedEvents(b, 1<<10)
	b.Run("sink=none", func(b *testing.B) {
		pairedFlushes(b, c, discardSink{})
	})
	b.Run("sink=kafka", func(b *testing.B) {
		info := kafkatest.Broker(b)
		_, s := newKafkaBenchPipeline(b, info, c.evs, metricsOff) // creates the topic and connects
		pairedFlushes(b, c, s)
	})
}

func pairedFlushes(b *testing.B, c *chunkedEvents, s pipeline.Sink) {
	pipes := [2]*pipeline.Pipeline{
		newBenchPipeline(b, s, pipeline.DefaultFilterParallelism, metricsOff),
		newBenchPipeline(b, s, pipeline.DefaultFilterParallelism, metricsOn),
	}
	var spent [2]time.Duration
	b.SetBytes(avgValue(c.evs))
	b.ReportAllocs()
	b.ResetTimer()
	for start, k := 0, 0; start < b.N; start, k = start+c.per, k+1 {
		n := min(c.per, b.N-start)
		for j := range 2 {
			side := (k + j) % 2
			began := time.Now()
			if pipes[side].Flush(c.chunk(start, n)) != pipeline.Delivered {
				b.Fatalf("a flush with metrics %s was not delivered", metricsModes[side])
			}
			spent[side] += time.Since(began)
		}
	}
	b.StopTimer()
	off, on := spent[0].Seconds()/float64(b.N)*1e9, spent[1].Seconds()/float64(b.N)*1e9
	b.ReportMetric(off, "ns_off/event")
	b.ReportMetric(on, "ns_on/event")
	b.ReportMetric(on/off, "on/off")
}
