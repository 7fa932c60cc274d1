package setup

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/auditstream/auditstream/internal/pipeline"
	"github.com/auditstream/auditstream/sink"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

type nopSink struct{}

func (nopSink) Deliver(context.Context, []sink.Event) (sink.Result, error) { return sink.Result{}, nil }
func (nopSink) Close(context.Context) error                                { return nil }

// TestStartCheckRecovers: a panic in the start-up check of the brokers, on
// its own goroutine, is logged as an error instead of ending the process,
// and Close still returns.
func TestStartCheckRecovers(t *testing.T) {
	var logs lockedBuffer
	log := pipeline.NewLogger(&logs, pipeline.LevelInfo, "test")
	p, err := pipeline.New(pipeline.Config{NewProcessor: func() pipeline.Processor { return nil }, Sink: nopSink{}, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	b := startCheck(p, nil, func(context.Context) error { panic("check bug") }, log)
	select {
	case <-b.done:
	case <-time.After(5 * time.Second):
		t.Fatal("the check never ended")
	}
	if !strings.Contains(logs.String(), "[error] [test] panic while checking the brokers at start (a bug; please report it; flushes are not affected): check bug") {
		t.Fatalf("no error line:\n%s", logs.String())
	}
	if err := b.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}
