package pipeline

import (
	"sync"
	"time"
)

// cause is a kind of per-event or per-flush problem. Each is logged at most
// once per interval, with the count of the occurrences in between, because a
// bad producer or a broker outage repeats the same problem for every event.
type cause uint8

const (
	causeBadEvent      cause = iota // the policy engine could not read an event
	causeBadRecord                  // a record is not a map, or the log key's value is unusable
	causeUnreadable                 // the chunk's framing broke: the rest is lost
	causeDeliverRetry               // the sink failed for a passing reason
	causeDeliverFailed              // the sink failed in a way only a configuration fix can cure
	causeClosed                     // a flush arrived after Close
	numCauses
)

var causeNames = [numCauses]string{
	"malformed audit event", "malformed record", "unreadable chunk",
	"delivery failed, will retry", "delivery failed", "flush after exit",
}

// rateLimiter decides which occurrences of each cause get logged.
type rateLimiter struct {
	interval time.Duration
	now      func() time.Time
	mu       sync.Mutex
	causes   [numCauses]struct {
		next       time.Time // no line before this
		suppressed uint64    // occurrences not logged since the last line
	}
}

func newRateLimiter(interval time.Duration) *rateLimiter {
	return &rateLimiter{interval: interval, now: time.Now}
}

// allow records one occurrence of c. It reports whether to log it, and if so
// how many earlier occurrences went unlogged since the last line. Deciding
// before formatting keeps the suppressed path free of allocations.
func (r *rateLimiter) allow(c cause) (suppressed uint64, ok bool) {
	now := r.now()
	r.mu.Lock()
	defer r.mu.Unlock()
	s := &r.causes[c]
	if now.Before(s.next) {
		s.suppressed++
		return 0, false
	}
	suppressed, s.suppressed = s.suppressed, 0
	s.next = now.Add(r.interval)
	return suppressed, true
}

// drain returns and resets the unlogged count of every cause, so that the
// summary (and Close) can report occurrences that no later line carried.
func (r *rateLimiter) drain() (counts [numCauses]uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := range r.causes {
		counts[i], r.causes[i].suppressed = r.causes[i].suppressed, 0
	}
	return counts
}
