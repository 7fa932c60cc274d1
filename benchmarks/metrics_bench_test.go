package benchmarks

import (
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

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
