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

	// DeadLetter, when not empty, is why the event cannot go to a stage
	// topic (a line that is not a readable audit event, say): it is sent to
	// the dead-letter topic as Value holds it, with DeadLetter in the error
	// header. Stage and Level may then be empty.
	DeadLetter string
}

// Result counts what one Deliver call did with its events. When Deliver
// returns nil, every event is in exactly one of the three counts.
type Result struct {
	// Acked events were acknowledged by their stage topic.
	Acked int
	// DeadLettered events were acknowledged by the dead-letter topic.
	DeadLettered int
	// Dropped events could not be sent and no dead-letter topic took them;
	// each is counted in Stats and logged.
	Dropped int
}

// The rest of this file is the contract the plugin and the CLI build on; the
// implementation lives beside it, one concept per file: config.go and
// config_keys.go the settings, security.go TLS and SASL, sink.go
// New/Close/Stats/Check, deliver.go the delivery loop, message.go events to
// messages, batch.go their reusable buffers and grouping, truncate.go the
// apiserver's truncation on the bytes, shorten.go the shortening of the
// strings a client chose, errors.go error classes, metacache.go
// a cache in front of kafka-go's transport, stats.go and log.go.
//
//	type Config struct{ ... }                       // every setting, with defaults (config.go)
//	func DefaultConfig() Config
//	func ConfigFromKeys(get func(key string) string) (Config, error)
//	                                                // plugin key names (Keys()); errors name the key
//	func (c *Config) Validate() error
//	func (c *Config) TopicFor(stage string) string
//	type Logger func(level LogLevel, msg string)    // caller formats and prints; nil discards
//	func New(cfg Config, log Logger) (*Sink, error) // reads TLS files and the SASL password; no I/O to Kafka
//	func (s *Sink) Deliver(ctx context.Context, events []Event) (Result, error)
//	                                                // nil: every event acknowledged (or truncated,
//	                                                // dead-lettered or dropped as configured, and counted
//	                                                // in Result); else a *DeliveryError; safe for
//	                                                // concurrent calls
//	func IsRetryable(err error) bool                // whether retrying the same batch later can help
//	func (s *Sink) Check(ctx context.Context) error // metadata of every topic: fail fast at start
//	func (s *Sink) Close(ctx context.Context) error // waits for Deliver calls until ctx's deadline
//	func (s *Sink) Stats() Stats                    // counters per topic and outcome
