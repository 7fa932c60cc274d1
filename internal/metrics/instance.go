package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/auditstream/auditstream/internal/pipeline"
	"github.com/auditstream/auditstream/internal/policyreload"
	"github.com/auditstream/auditstream/sink"
)

// Source is what one instance reports, read at scrape time. Pipeline and
// Decisions are required; a nil Sink or Policy leaves their series out.
type Source struct {
	// Name is the instance label: the instance_name key.
	Name      string
	Pipeline  func() pipeline.Stats
	Decisions func() pipeline.Decisions
	Sink      func() sink.Stats
	Policy    func() policyreload.Stats
}

// Instance is one pipeline as the endpoint sees it: its counters' source,
// its histograms and its readiness.
type Instance struct {
	src Source
	// flushSeconds has one child per pipeline.Outcome, made up front so
	// that observing is an index, not a label lookup.
	flushSeconds   *prometheus.HistogramVec
	flushByOutcome [3]prometheus.Observer
	ackSeconds     prometheus.Histogram
	ready          *Readiness
}

// durationBuckets span a flush or an ack from a millisecond (a small chunk
// to a local broker) to a minute (past any delivery_timeout worth setting).
var durationBuckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}

// flushResults names the outcomes in the flush histogram's result label,
// indexed by pipeline.Outcome.
var flushResults = [...]string{pipeline.Delivered: "ok", pipeline.Retry: "retry", pipeline.Failed: "error"}

// NewInstance returns the instance of src. deliveryTimeout is how long its
// flushes may keep failing before /readyz reports it.
func NewInstance(src Source, deliveryTimeout time.Duration) *Instance {
	labels := prometheus.Labels{"instance": src.Name}
	in := &Instance{
		src: src,
		flushSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:        "auditstream_flush_seconds",
			Help:        "Time a flush took, from reading its chunk to the sink's answer, by result.",
			Buckets:     durationBuckets,
			ConstLabels: labels,
		}, []string{"result"}),
		ackSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:        "auditstream_kafka_ack_seconds",
			Help:        "Time Kafka took to acknowledge a flush's events, for flushes it fully acknowledged.",
			Buckets:     durationBuckets,
			ConstLabels: labels,
		}),
		ready: NewReadiness(deliveryTimeout),
	}
	for out, result := range flushResults {
		in.flushByOutcome[out] = in.flushSeconds.WithLabelValues(result)
	}
	return in
}

// Name is the instance label.
func (in *Instance) Name() string { return in.src.Name }

// Readiness is the instance's readiness, which its broker check reports to.
func (in *Instance) Readiness() *Readiness { return in.ready }

// Hooks returns the pipeline hooks that feed the histograms and readiness.
func (in *Instance) Hooks() pipeline.Hooks {
	return pipeline.Hooks{
		Flushed: func(out pipeline.Outcome, elapsed time.Duration) {
			if int(out) < len(in.flushByOutcome) {
				in.flushByOutcome[out].Observe(elapsed.Seconds())
			}
			in.ready.Flushed(out == pipeline.Delivered, time.Now())
		},
		Acked: func(elapsed time.Duration) { in.ackSeconds.Observe(elapsed.Seconds()) },
	}
}
