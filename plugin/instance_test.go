package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/auditstream/auditstream/internal/pipeline"
	"github.com/auditstream/auditstream/internal/setup"
	"github.com/auditstream/auditstream/sink"
)

// keys serves configuration like Fluent Bit's output_get_property:
// case-insensitive, "" when unset.
type keys map[string]string

func (k keys) get(key string) string {
	for kk, v := range k {
		if strings.EqualFold(kk, key) {
			return v
		}
	}
	return ""
}

type fakeFlusher struct {
	out    pipeline.Outcome
	panics bool
	closed bool
	err    error
}

func (f *fakeFlusher) Flush([]byte) pipeline.Outcome {
	if f.panics {
		panic("boom")
	}
	return f.out
}

func (f *fakeFlusher) Close(context.Context) error { f.closed = true; return f.err }

func fakeBuilder(f *fakeFlusher, got *setup.Settings) builder {
	return func(s *setup.Settings, _ *pipeline.Logger) (flusher, error) {
		*got = *s
		return f, nil
	}
}

func TestReadSettings(t *testing.T) {
	var got setup.Settings
	var log bytes.Buffer
	in, err := newInstance(keys{
		"Policy_File": "/etc/audit/policy.yaml", "BROKERS": "k1:9092,k2:9092",
		"summary_interval": "5s", "log_key": "message", "compression": "zstd",
	}.get, &log, fakeBuilder(&fakeFlusher{}, &got))
	if err != nil {
		t.Fatal(err)
	}
	if in.name != "auditstream" {
		t.Fatalf("unexpected name %q", in.name)
	}
	if got.PolicyFile != "/etc/audit/policy.yaml" || got.LogKey != "message" || got.SummaryInterval != 5*time.Second ||
		got.Sink.Compression != sink.CompressionZstd || len(got.Sink.Brokers) != 2 {
		t.Fatalf("unexpected settings %+v", got)
	}

	in, _ = newInstance(keys{"policy_file": "p", "brokers": "k:1", "instance_name": "kafka-main", "summary_interval": "0"}.get,
		&log, fakeBuilder(&fakeFlusher{}, &got))
	if in.name != "kafka-main" || got.LogKey != "log" || got.SummaryInterval != 0 {
		t.Fatalf("unexpected defaults: name %q, settings %+v", in.name, got)
	}
}

func TestInitErrorsNameTheKey(t *testing.T) {
	f := func(k keys, want string) {
		t.Helper()
		var log bytes.Buffer
		var got setup.Settings
		_, err := newInstance(k.get, &log, fakeBuilder(&fakeFlusher{}, &got))
		if err == nil {
			t.Fatalf("no error for %v", k)
		}
		line := log.String()
		wantPrefix := "] [error] [output:auditstream:auditstream] cannot start: " + want
		if !strings.Contains(line, wantPrefix) || strings.Count(line, "\n") != 1 {
			t.Fatalf("unexpected log\n%s\nwant a line containing %q", line, wantPrefix)
		}
	}
	ok := keys{"policy_file": "p", "brokers": "k:1"}
	with := func(k, v string) keys {
		m := keys{}
		for kk, vv := range ok {
			m[kk] = vv
		}
		m[k] = v
		return m
	}
	f(keys{"brokers": "k:1"}, "policy_file: required")
	f(keys{"policy_file": "p"}, "brokers: at least one broker")
	f(with("compression", "brotli"), `compression: unknown value "brotli"`)
	f(with("verbosity", "loud"), `verbosity: unknown verbosity "loud"`)
	f(with("summary_interval", "often"), `summary_interval: invalid value "often"`)
	f(with("summary_interval", "-5s"), `summary_interval: invalid value "-5s"`)
	f(with("batch_size", "x"), `batch_size: invalid value "x"`)
}

func TestBuildErrorIsLogged(t *testing.T) {
	var log bytes.Buffer
	_, err := newInstance(keys{"policy_file": "p", "brokers": "k:1", "verbosity": "error"}.get, &log,
		func(*setup.Settings, *pipeline.Logger) (flusher, error) {
			return nil, errors.New("policy_file: p: no such file")
		})
	if err == nil || !strings.Contains(log.String(), "[error] [output:auditstream:auditstream] cannot start: policy_file: p: no such file") {
		t.Fatalf("unexpected: %v\n%s", err, log.String())
	}
}

func TestOutcomeCodes(t *testing.T) {
	f := func(out pipeline.Outcome, want int) {
		t.Helper()
		in := &instance{f: &fakeFlusher{out: out}}
		if got := in.flush(nil); got != want {
			t.Fatalf("outcome %s: got %d; want %d", out, got, want)
		}
	}
	f(pipeline.Delivered, flbOK)
	f(pipeline.Retry, flbRetry)
	f(pipeline.Failed, flbError)
}

func TestExit(t *testing.T) {
	var log bytes.Buffer
	ff := &fakeFlusher{}
	in := &instance{f: ff, log: pipeline.NewLogger(&log, pipeline.LevelInfo, "t")}
	if rc := in.exit(); rc != flbOK || !ff.closed {
		t.Fatalf("exit: rc %d, closed %t", rc, ff.closed)
	}
	ff.err = errors.New("sink: close: deliveries still in progress were cancelled")
	if rc := in.exit(); rc != flbError || !strings.Contains(log.String(), "exit: sink: close") {
		t.Fatalf("exit with error: rc %d, log %q", rc, log.String())
	}
}

// TestRecoverExport: a flush that panics is logged with its stack and
// returns FLB_RETRY, so that Fluent Bit keeps the chunk.
func TestRecoverExport(t *testing.T) {
	var log bytes.Buffer
	in := &instance{name: "x", f: &fakeFlusher{panics: true}, log: pipeline.NewLogger(&log, pipeline.LevelWarn, "output:auditstream:x")}
	if rc := in.safeFlush([]byte{1}); rc != flbRetry {
		t.Fatalf("unexpected rc %d; want FLB_RETRY (%d)", rc, flbRetry)
	}
	s := log.String()
	if !strings.Contains(s, "[error] [output:auditstream:x] FLBPluginFlushCtx: panic (a bug; please report it with the stack below): boom") ||
		!strings.Contains(s, "instance_test.go") {
		t.Fatalf("panic not logged with its stack:\n%s", s)
	}
}
