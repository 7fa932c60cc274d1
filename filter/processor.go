package filter

// Result is the outcome of processing one event.
type Result struct {
	// Kept is false when the policy drops the event: level None, or its stage omitted.
	Kept bool
	// Decision is the policy's decision for the event's request.
	Decision Decision
	// Stage is the event's stage as logged.
	Stage Stage
	// LoggedLevel is the level the event was logged at; Level is the level it
	// was rewritten to (the lower of LoggedLevel and Decision.Level).
	LoggedLevel Level
	Level       Level
}

// Fields are views of the last event a Processor handled, for message keys
// and headers. They are valid until the Processor's next call.
type Fields struct {
	AuditID  []byte
	Verb     []byte
	Username []byte
	Attrs    Attributes
}

// Processor decides and rewrites events with one Policy. It owns the scratch
// memory of one event at a time, so it is not safe for concurrent use: give
// each goroutine its own. Reusing one keeps the hot path free of allocations.
type Processor struct {
	policy *Policy
}

// NewProcessor returns a Processor that applies p.
func (p *Policy) NewProcessor() *Processor { return &Processor{policy: p} }

// AppendEvent decides the audit event in line (one JSON object, with or
// without a trailing newline) and, when the policy keeps it, appends the
// rewritten event to dst (without a trailing newline). It returns the
// extended dst, or dst unchanged when the event is dropped or on error.
// line is not modified and not retained.
func (pr *Processor) AppendEvent(dst, line []byte) ([]byte, Result, error) {
	panic("unimplemented")
}

// Decide decides the audit event in line without rewriting it.
func (pr *Processor) Decide(line []byte) (Result, error) {
	panic("unimplemented")
}

// Fields returns views of the last event handled; see Fields.
func (pr *Processor) Fields() *Fields { panic("unimplemented") }
