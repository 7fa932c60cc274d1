package sink

// Event is one rewritten audit event handed to the sink, with the fields that
// routing, keys and headers need. All byte slices are views owned by the caller:
// the sink copies what it keeps, and holds none of them after Deliver returns.
type Event struct {
	// Value is the event's JSON, exactly as it is to be produced.
	Value []byte
	// Stage ("RequestReceived", "ResponseStarted", "ResponseComplete", "Panic")
	// and Level ("Metadata", "Request", "RequestResponse") are constant strings.
	Stage string
	Level string

	AuditID   []byte
	Verb      []byte
	User      []byte // user.username
	Namespace []byte // the request's namespace, empty if cluster-scoped
	Resource  []byte // the request's resource, empty for non-resource requests
}

// The rest of this file is the contract the plugin and the CLI build on; the
// implementation lives beside it.
//
//	type Config struct{ ... }                       // every setting, with defaults
//	func DefaultConfig() Config
//	func ConfigFromKeys(get func(key string) string) (Config, error)
//	                                                // plugin key names; errors name the key
//	func New(cfg Config, log Logger) (*Sink, error)
//	func (s *Sink) Deliver(ctx context.Context, events []Event) error
//	                                                // nil: every event acknowledged (or truncated,
//	                                                // dead-lettered or dropped as configured, and counted)
//	func IsRetryable(err error) bool                // whether retrying the same batch later can help
//	func (s *Sink) Close(ctx context.Context) error // flushes within ctx's deadline
//	func (s *Sink) Stats() Stats                    // counters per topic and outcome
