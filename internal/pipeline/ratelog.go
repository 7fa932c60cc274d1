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
	numCauses
)

var causeNames = [numCauses]string{
	"malformed audit event", "malformed record", "unreadable chunk",
	"delivery failed, will retry", "delivery failed", "flush after exit",
}
