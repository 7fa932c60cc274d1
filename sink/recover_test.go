package sink

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// A panic in a goroutine the sink runs (a send, for one topic or several at
// once) does not take the process down: the Deliver call returns a clear,
// not retryable error, the stack is logged, and the sink goes on working.
func TestDeliverRecoversPanic(t *testing.T) {
	for name, evs := range map[string][]Event{
		"one group":  testEvents(4, 500)[1:2],
		"concurrent": testEvents(40, 500),
	} {
		t.Run(name, func(t *testing.T) {
			c := newCluster(t)
			s, rec := newTestSink(t, testConfig(c.ListenAddrs()))
			var armed atomic.Bool
			armed.Store(true)
			s.hooks.beforeWrite = func() {
				if armed.Load() {
					panic("injected")
				}
			}
			_, err := s.Deliver(context.Background(), evs)
			var de *DeliveryError
			if !errors.As(err, &de) || IsRetryable(err) || !strings.Contains(err.Error(), "panic in send: injected") {
				t.Fatalf("want a non-retryable DeliveryError naming the panic; got %v", err)
			}
			if de.Failed != len(evs) {
				t.Errorf("failed %d of %d", de.Failed, len(evs))
			}
			if log := rec.text(); !strings.Contains(log, "error: panic in send: injected") || !strings.Contains(log, "goroutine") {
				t.Errorf("the panic and its stack were not logged:\n%s", log)
			}
			armed.Store(false)
			if _, err := s.Deliver(context.Background(), evs); err != nil {
				t.Errorf("Deliver after a recovered panic: %v", err)
			}
		})
	}
}

func TestCheckRecoversPanic(t *testing.T) {
	c := newCluster(t)
	s, _ := newTestSink(t, testConfig(c.ListenAddrs()))
	s.hooks.beforeCheck = func() { panic("injected") }
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Check(ctx); err == nil || IsRetryable(err) || !strings.Contains(err.Error(), "panic in Check") {
		t.Errorf("want a non-retryable error naming the panic; got %v", err)
	}
}

func TestCloseRecoversPanic(t *testing.T) {
	c := newCluster(t)
	s, err := New(testConfig(c.ListenAddrs()), nil)
	if err != nil {
		t.Fatal(err)
	}
	s.hooks.beforeClose = func() { panic("injected") }
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	if err := s.Close(ctx); err == nil || !strings.Contains(err.Error(), "panic in Close") {
		t.Errorf("want an error naming the panic; got %v", err)
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("Close took %s: it waited for its context instead of the recovered goroutine", took)
	}
}
