package pipeline

// cause is a kind of per-event or per-flush problem. Each is logged at most
// once per LogInterval (internal/ratelimit), with the count of the
// occurrences in between.
type cause uint8

const (
	causeBadEvent      cause = iota // the policy engine could not read an event
	causeBadRecord                  // a record is not a map, or the log key's value is unusable
	causeUnreadable                 // the chunk's framing broke: the rest is lost
	causeDeliverRetry               // the sink failed for a passing reason
	causeDeliverFailed              // the sink failed in a way only a configuration fix can cure
	causeClosed                     // a flush arrived after Close
	causeEventPanic                 // filtering one event panicked (a bug)
	causeFlushPanic                 // a flush panicked outside the filtering of an event (a bug)
	causeSummaryPanic               // writing the summary line panicked (a bug)
	numCauses
)

var causeNames = [numCauses]string{
	"malformed audit event", "malformed record", "unreadable chunk",
	"delivery failed, will retry", "delivery failed", "flush after exit",
	"panic while filtering an event (a bug; please report it), the event is dead-lettered",
	"panic in a flush (a bug; please report it), the chunk is kept and retried",
	"panic while writing the summary (a bug; please report it)",
}
