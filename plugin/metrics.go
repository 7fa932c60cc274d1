package main

import (
	"context"

	"github.com/auditstream/auditstream/internal/metrics"
	"github.com/auditstream/auditstream/internal/setup"
)

// processMetrics holds every started instance of the process and serves
// their metrics on one endpoint, from the first instance that sets
// metrics_listen to the exit of the last. It is the plugin's one global:
// Fluent Bit loads the plugin once and starts each [OUTPUT] through the same
// symbols, so only the process can own an endpoint shared by its instances.
// The registry guards itself, and each instance's exit takes it out again.
var processMetrics = metrics.NewRegistry()

// joinMetrics registers in's pipeline with the process's endpoint, starting
// the endpoint if listen is set and it does not run yet. A flusher that is
// not a built pipeline (a test's fake) has no metrics.
func (in *instance) joinMetrics(listen string) error {
	b, ok := in.f.(*setup.Built)
	if !ok {
		return nil
	}
	if err := processMetrics.Add(b.Metrics, listen); err != nil {
		return err
	}
	in.metrics = b.Metrics
	return nil
}

// leaveMetrics takes in out of the endpoint when its exit begins: /healthz
// then no longer counts it as started.
func (in *instance) leaveMetrics() {
	if in.metrics != nil {
		processMetrics.Remove(in.metrics)
	}
}

// closeUnjoined closes a pipeline whose instance could not join the
// endpoint: it never flushed, so there is nothing to wait for.
func closeUnjoined(f flusher) {
	ctx, cancel := context.WithTimeout(context.Background(), exitTimeout)
	defer cancel()
	_ = f.Close(ctx)
}
