package metrics

import (
	"errors"
	"fmt"
	"sync"
	"time"
)

// Readiness says whether an instance can deliver: its brokers answered, and
// its flushes have not been failing for longer than the delivery timeout. A
// single retried flush is no reason to take a node out of service; a
// producer that cannot deliver for a whole delivery_timeout is.
type Readiness struct {
	limit time.Duration

	mu           sync.Mutex
	reachErr     error     // why the brokers cannot be reached; nil once they answered
	failingSince time.Time // first failed flush since the last delivered one; zero if none
	// delivered: a flush has delivered, which proves the brokers reachable
	// better than the start-up check, whose later answers are then ignored.
	// The check can fail on a reachable cluster, for topics that
	// auto_create_topics creates only when an event goes to them.
	delivered bool
}

// errNotChecked is the state before the first broker check answers.
var errNotChecked = errors.New("brokers not checked yet")

// NewReadiness returns the readiness of an instance whose brokers have not
// been checked yet.
func NewReadiness(deliveryTimeout time.Duration) *Readiness {
	return &Readiness{limit: deliveryTimeout, reachErr: errNotChecked}
}

// Reachable records a broker check's result: nil when the brokers answered.
// Once a flush has delivered, flushes alone decide.
func (r *Readiness) Reachable(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.delivered {
		r.reachErr = err
	}
}

// Delivered reports whether a flush has delivered: the broker check then no
// longer matters.
func (r *Readiness) Delivered() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.delivered
}

// Flushed records a flush's result at now. A delivered chunk proves the
// brokers reachable too.
func (r *Readiness) Flushed(delivered bool, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case delivered:
		r.failingSince = time.Time{}
		r.reachErr = nil
		r.delivered = true
	case r.failingSince.IsZero():
		r.failingSince = now
	}
}

// Ready returns nil if the instance is ready at now, else why not.
func (r *Readiness) Ready(now time.Time) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.reachErr != nil {
		return fmt.Errorf("cannot reach the brokers: %w", r.reachErr)
	}
	if !r.failingSince.IsZero() {
		if d := now.Sub(r.failingSince); d > r.limit {
			return fmt.Errorf("flushes failing for %v, longer than delivery_timeout %v", d.Round(time.Second), r.limit)
		}
	}
	return nil
}
