package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/fluent/fluent-bit-go/output"

	"github.com/auditstream/auditstream/internal/metrics"
	"github.com/auditstream/auditstream/internal/pipeline"
	"github.com/auditstream/auditstream/internal/setup"
)

// Fluent Bit's return codes, as fluent-bit-go defines them. The proxy turns
// any other value into FLB_ERROR, and an init return <= 0 fails the instance.
const (
	flbError = output.FLB_ERROR
	flbOK    = output.FLB_OK
	flbRetry = output.FLB_RETRY
)

// exitTimeout bounds FLBPluginExitCtx inside Fluent Bit's default 5 s Grace,
// which also has to cover the other outputs' exits.
const exitTimeout = 4 * time.Second

// flusher is what an instance drives: *pipeline.Pipeline, or a fake in tests.
type flusher interface {
	Flush(data []byte) pipeline.Outcome
	Close(ctx context.Context) error
}

// builder makes an instance's flusher from its settings; the plugin uses
// buildPipeline, tests a fake.
type builder func(s *setup.Settings, log *pipeline.Logger) (flusher, error)

// buildPipeline builds the real pipeline.
func buildPipeline(s *setup.Settings, log *pipeline.Logger) (flusher, error) {
	return setup.Build(s, log)
}

// instance is one [OUTPUT] section: its own logger, policy and producer.
// Fluent Bit keeps a handle to it (handles.go) and passes it back
// to every flush; with workers N several flushes use it at once, which
// flusher allows.
type instance struct {
	name    string
	log     *pipeline.Logger
	f       flusher
	metrics *metrics.Instance // nil until joinMetrics
}

// newInstance reads the configuration through get and builds the instance.
// Its error is already logged, tagged with the instance name.
func newInstance(get func(string) string, stderr io.Writer, build builder) (*instance, error) {
	name := setup.InstanceName(get)
	component := "output:auditstream:" + name
	lv, err := setup.ReadVerbosity(get)
	log := pipeline.NewLogger(stderr, lv, component)
	if err == nil {
		var s setup.Settings
		if s, err = setup.Read(get); err == nil {
			var f flusher
			if f, err = build(&s, log); err == nil {
				in := &instance{name: name, log: log, f: f}
				if err = in.joinMetrics(s.MetricsListen); err == nil {
					return in, nil
				}
				closeUnjoined(f)
			}
		}
	}
	// An init failure must be visible whatever the verbosity.
	pipeline.NewLogger(stderr, pipeline.LevelError, component).Errorf("cannot start: %v", err)
	return nil, fmt.Errorf("%s: %w", name, err)
}

// flush maps the pipeline's outcome to Fluent Bit's code.
func (in *instance) flush(data []byte) int {
	switch in.f.Flush(data) {
	case pipeline.Delivered:
		return flbOK
	case pipeline.Retry:
		return flbRetry
	default:
		return flbError
	}
}

// exit flushes and closes the producer within exitTimeout.
func (in *instance) exit() int {
	in.leaveMetrics()
	ctx, cancel := context.WithTimeout(context.Background(), exitTimeout)
	defer cancel()
	if err := in.f.Close(ctx); err != nil {
		in.log.Errorf("exit: %v", err)
		return flbError
	}
	return flbOK
}
