package pipeline

// Outcome is what became of one chunk; the plugin maps it to Fluent Bit's
// FLB_OK, FLB_RETRY and FLB_ERROR.
type Outcome uint8

const (
	// Delivered: every kept event of the chunk is acknowledged. The chunk is done.
	Delivered Outcome = iota
	// Retry: a failure that can pass; the same chunk should be flushed again later.
	Retry
	// Failed: retrying the chunk cannot help, and the host should drop it.
	Failed
)

var outcomeNames = [...]string{"delivered", "retry", "failed"}

func (o Outcome) String() string {
	if int(o) < len(outcomeNames) {
		return outcomeNames[o]
	}
	return "unknown"
}
