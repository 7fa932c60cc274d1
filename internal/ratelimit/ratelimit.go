// Package ratelimit decides which occurrences of a recurring problem get a
// log line. A broken producer or a broker outage repeats the same problem for
// every event; logging each would bury the log and cost the node. Each kind
// of problem (a key) is logged at most once per interval, and the line
// carries the number of occurrences since the previous one.
package ratelimit

import (
	"sync"
	"time"
)

// maxKeys is how many keys are kept before a new key makes the limiter
// forget the ones it can (nothing pending, interval over): keys may carry a
// topic or an error text, and a long-lived process must not accumulate them
// without end.
const maxKeys = 1000

// Limiter rate-limits log lines per key. The zero value is not usable: set
// Interval. It is safe for concurrent use.
type Limiter[K comparable] struct {
	Interval time.Duration

	mu   sync.Mutex
	keys map[K]*state
}

type state struct {
	next    time.Time // no line before this
	pending uint64    // occurrences no line has reported yet
}

// New returns a Limiter that logs each key at most once per interval.
func New[K comparable](interval time.Duration) *Limiter[K] {
	return &Limiter[K]{Interval: interval}
}

// Allow records n occurrences of k at now and reports whether to log a line
// now; if so, total is the occurrences the line reports: these and the ones
// held back since the last line. It allocates only for a key it has not seen
// (or has forgotten).
func (l *Limiter[K]) Allow(k K, n uint64, now time.Time) (total uint64, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.keys[k]
	if s == nil {
		l.forgetOld(now)
		s = &state{}
		if l.keys == nil {
			l.keys = make(map[K]*state)
		}
		l.keys[k] = s
	}
	s.pending += n
	if now.Before(s.next) {
		return 0, false
	}
	total, s.pending = s.pending, 0
	s.next = now.Add(l.Interval)
	return total, true
}

// forgetOld drops, once maxKeys are kept, the keys that have nothing pending
// and could log again already: forgetting them changes nothing.
func (l *Limiter[K]) forgetOld(now time.Time) {
	if len(l.keys) < maxKeys {
		return
	}
	for k, s := range l.keys {
		if s.pending == 0 && !now.Before(s.next) {
			delete(l.keys, k)
		}
	}
}

// Drain calls fn for each key with occurrences that no line has reported,
// and resets them, so that a periodic summary (or the last one, at exit)
// reports what the rate limit held back.
func (l *Limiter[K]) Drain(fn func(k K, pending uint64)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for k, s := range l.keys {
		if s.pending > 0 {
			fn(k, s.pending)
			s.pending = 0
		}
	}
}
