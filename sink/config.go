package sink

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Stage names, as the kube-apiserver writes them in an event's "stage" field.
const (
	StageRequestReceived  = "RequestReceived"
	StageResponseStarted  = "ResponseStarted"
	StageResponseComplete = "ResponseComplete"
	StagePanic            = "Panic"
)

// stages lists the four stages in a fixed order; a stage's index in it is the
// index of its topic in the sink's routing table.
var stages = [...]string{StageRequestReceived, StageResponseStarted, StageResponseComplete, StagePanic}

// KeyField selects what an event's Kafka message key is.
type KeyField string

// Message keys. The key decides the partition (through the partitioner) and so
// what arrives in order: keying on auditID keeps every stage of one request in
// one partition, where a consumer can de-duplicate them.
const (
	KeyAuditID   KeyField = "auditID"
	KeyNamespace KeyField = "namespace"
	KeyUser      KeyField = "user"
	KeyResource  KeyField = "resource"
	KeyNone      KeyField = "none"
)

// Partitioner selects how a key maps to a partition.
type Partitioner string

// Partitioners. murmur2 is the Java client's default, so that a key lands in
// the same partition whichever client produced it; crc32 is librdkafka's
// default ("consistent_random"). Both spread keyless messages at random.
const (
	PartitionMurmur2    Partitioner = "murmur2"
	PartitionCRC32      Partitioner = "crc32"
	PartitionRoundRobin Partitioner = "round_robin"
)

// Compression is the codec of produced record batches.
type Compression string

// Codecs. snappy is the default: audit JSON compresses about 4x with it at a
// CPU cost far below gzip's, which matters on a control-plane node.
const (
	CompressionNone   Compression = "none"
	CompressionGzip   Compression = "gzip"
	CompressionSnappy Compression = "snappy"
	CompressionLZ4    Compression = "lz4"
	CompressionZstd   Compression = "zstd"
)

// Acks is how many replicas must have a batch before the broker acknowledges it.
type Acks string

// Required acks. Only "all" survives the loss of the partition leader; with
// "none" a message counts as delivered once it is written to the socket.
const (
	AcksAll  Acks = "all"
	AcksOne  Acks = "one"
	AcksNone Acks = "none"
)

// SASLMechanism names a SASL mechanism; empty means no SASL.
type SASLMechanism string

// SASL mechanisms.
const (
	SASLNone        SASLMechanism = ""
	SASLPlain       SASLMechanism = "PLAIN"
	SASLScramSHA256 SASLMechanism = "SCRAM-SHA-256"
	SASLScramSHA512 SASLMechanism = "SCRAM-SHA-512"
)

// Config holds every setting of a Sink. Start from DefaultConfig (or
// ConfigFromKeys): the zero value is not valid. Each field names the plugin key
// that sets it.
type Config struct {
	// Brokers are the bootstrap brokers, host:port. Key brokers (comma list).
	// Required.
	Brokers []string

	// Topic is the destination topic; "{stage}" in it is replaced by the
	// event's stage. Key topic. Default "k8s-audit.{stage}".
	Topic string
	// StageTopics override Topic for one stage each (empty: use Topic). Keys
	// topic_request_received, topic_response_started, topic_response_complete,
	// topic_panic.
	TopicRequestReceived  string
	TopicResponseStarted  string
	TopicResponseComplete string
	TopicPanic            string

	// MessageKey is the field used as message key. An event whose field is
	// empty (a cluster-scoped request keyed by namespace) gets no key and so a
	// random partition, rather than piling into one. Key message_key.
	// Default auditID.
	MessageKey KeyField
	// Partitioner maps keys to partitions. Key partitioner. Default murmur2.
	Partitioner Partitioner
	// Compression codec. Key compression. Default snappy.
	Compression Compression
	// RequiredAcks. Key required_acks. Default all.
	RequiredAcks Acks

	// BatchSize is the most messages in one partition's produce batch; a
	// partition with more messages in one Deliver call gets them in
	// successive requests. Key batch_size. Default 1000: with 1 KB events it
	// fills BatchBytes.
	BatchSize int
	// BatchBytes is the most bytes in one partition's produce batch, counted
	// as kafka-go counts a message (an upper bound of the encoded size); a
	// larger message goes alone. Keep it under the
	// broker's message.max.bytes (default 1048588) when compression is none.
	// Key batch_bytes. Default 1000000.
	BatchBytes int
	// Linger is accepted so that existing configurations keep working, and
	// otherwise unused: each Deliver call sends its messages at once, in one
	// produce request per broker (produce.go), and waits for them, so a
	// linger could only delay every flush by its full length (5 ms cost one
	// caller 40% to 65% of its throughput with kafka-go's Writer). New logs a
	// warning when it is set. Key linger.
	Linger time.Duration

	// MaxMessageBytes is the largest message (value, key and headers, as
	// kafka-go counts them) the sink produces. A larger event is truncated the
	// way kube-apiserver's truncate backend does it (requestObject and
	// responseObject dropped, annotation audit.k8s.io/truncated added; not for
	// level Metadata); one still too large, at any level, has the strings its
	// client chose shortened (shorten.go), and only one that cannot be brought
	// under the limit is dead-lettered or dropped. Key max_message_bytes.
	// Default 1000000 (librdkafka's message.max.bytes).
	MaxMessageBytes int

	// DeadLetterTopic receives the events that no retry can deliver (too
	// large even after truncation, a record the broker rejects, a line that
	// is not an audit event), with headers saying why (error,
	// original_topic). Empty turns dead-lettering off: such events are then
	// dropped (counted in Stats, logged once per cause and minute). Key
	// dead_letter_topic, where the value none turns it off. Default
	// DefaultDeadLetterTopic: an audit trail must not lose events silently.
	DeadLetterTopic string

	// ClusterName, when set, is sent in the "cluster" header of every message.
	// Key cluster_name. Default empty (no header).
	ClusterName string

	// DeliveryTimeout bounds one Deliver call: transient failures are retried
	// inside the call until it passes, then Deliver returns a retryable error.
	// Key delivery_timeout. Default 30s.
	DeliveryTimeout time.Duration

	// AutoCreateTopics asks the broker to create missing topics, as the Java
	// client and librdkafka do by default: the broker's
	// auto.create.topics.enable decides. A missing topic the broker does not
	// create is logged as an error and retried until DeliveryTimeout, then
	// the batch is handed back. Key auto_create_topics. Default true.
	AutoCreateTopics bool

	// ClientID is sent to the brokers to identify this producer in their logs
	// and quotas. Key client_id. Default "auditstream".
	ClientID string

	TLS  TLSConfig
	SASL SASLConfig
}

// TLSConfig configures TLS to the brokers. The keys avoid Fluent Bit's
// reserved "tls" and "tls.*", which Fluent Bit would consume itself.
type TLSConfig struct {
	// Enabled turns TLS on. Key kafka_tls. Default: on when any other
	// kafka_* TLS key is set, off otherwise.
	Enabled bool
	// CAFile is a PEM bundle of CAs that sign the brokers' certificates; empty
	// uses the system pool. Key kafka_ca_file.
	CAFile string
	// CertFile and KeyFile are a PEM client certificate and its key, for
	// brokers that require mutual TLS. Keys kafka_cert_file, kafka_key_file.
	CertFile string
	KeyFile  string
	// ServerName overrides the name checked in the brokers' certificates.
	// Key kafka_server_name.
	ServerName string
	// InsecureSkipVerify accepts any broker certificate. It leaves the
	// connection open to interception; the sink logs a warning at start.
	// Key kafka_insecure_skip_verify. Default false.
	InsecureSkipVerify bool
}

// SASLConfig configures SASL authentication. The password is never a setting
// of its own, so that it stays out of configuration files and logs: it is read
// at New from a file or an environment variable.
type SASLConfig struct {
	// Mechanism is PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512; empty disables SASL.
	// Key sasl_mechanism.
	Mechanism SASLMechanism
	// Username. Key sasl_username.
	Username string
	// PasswordFile is a file holding the password (a trailing newline is
	// ignored). Key sasl_password_file.
	PasswordFile string
	// PasswordEnv is an environment variable holding the password. Key
	// sasl_password_env. Exactly one of PasswordFile and PasswordEnv is needed.
	PasswordEnv string
}

// DefaultDeadLetterTopic is the dead-letter topic unless dead_letter_topic
// says otherwise.
const DefaultDeadLetterTopic = "k8s-audit.dead-letter"

// DeadLetterOff is the dead_letter_topic value that turns dead-lettering off
// (Config.DeadLetterTopic empty). An empty value cannot: Fluent Bit passes an
// unset key as empty, which keeps the default.
const DeadLetterOff = "none"

// DefaultConfig returns the defaults of every setting. Brokers is left empty:
// it has no sensible default.
func DefaultConfig() Config {
	return Config{
		Topic:            "k8s-audit.{stage}",
		MessageKey:       KeyAuditID,
		Partitioner:      PartitionMurmur2,
		Compression:      CompressionSnappy,
		RequiredAcks:     AcksAll,
		BatchSize:        1000,
		BatchBytes:       1000000,
		Linger:           0,
		MaxMessageBytes:  1000000,
		DeadLetterTopic:  DefaultDeadLetterTopic,
		DeliveryTimeout:  30 * time.Second,
		AutoCreateTopics: true,
		ClientID:         "auditstream",
	}
}

// Limits checked by Validate. They reject settings that are certainly
// mistakes (a unit forgotten, a typo) rather than tune anything.
const (
	minMessageBytes    = 1024
	maxMessageBytesCap = 64 << 20
	maxLinger          = 10 * time.Second
	minDeliveryTimeout = 100 * time.Millisecond
	maxTopicLen        = 249
)

// TopicFor returns the topic that events of stage go to, or "" for a stage
// that is not one of the four.
func (c *Config) TopicFor(stage string) string {
	override := ""
	switch stage {
	case StageRequestReceived:
		override = c.TopicRequestReceived
	case StageResponseStarted:
		override = c.TopicResponseStarted
	case StageResponseComplete:
		override = c.TopicResponseComplete
	case StagePanic:
		override = c.TopicPanic
	default:
		return ""
	}
	if override != "" {
		return override
	}
	return strings.ReplaceAll(c.Topic, "{stage}", stage)
}

// Validate reports the first setting that is missing, out of range or in
// conflict with another, naming its key.
func (c *Config) Validate() error {
	if len(c.Brokers) == 0 {
		return errors.New("brokers: at least one broker (host:port) is required")
	}
	for _, b := range c.Brokers {
		if !strings.Contains(b, ":") || strings.TrimSpace(b) != b || b == "" {
			return fmt.Errorf("brokers: invalid broker address %q: want host:port", b)
		}
	}
	if strings.Contains(strings.ReplaceAll(c.Topic, "{stage}", ""), "{") {
		return fmt.Errorf("topic: unknown placeholder in %q: only {stage} is supported", c.Topic)
	}
	for i, stage := range stages {
		if err := validTopic(c.TopicFor(stage)); err != nil {
			return fmt.Errorf("%s: %w", stageTopicKeys[i], err)
		}
	}
	if c.DeadLetterTopic != "" {
		if err := validTopic(c.DeadLetterTopic); err != nil {
			return fmt.Errorf("dead_letter_topic: %w", err)
		}
		for _, stage := range stages {
			if c.TopicFor(stage) == c.DeadLetterTopic {
				return fmt.Errorf("dead_letter_topic: %q is also the topic of stage %s (name another topic, or %s to turn dead-lettering off)",
					c.DeadLetterTopic, stage, DeadLetterOff)
			}
		}
	}
	if err := oneOf("message_key", string(c.MessageKey), keyFields); err != nil {
		return err
	}
	if err := oneOf("partitioner", string(c.Partitioner), partitioners); err != nil {
		return err
	}
	if err := oneOf("compression", string(c.Compression), compressions); err != nil {
		return err
	}
	if err := oneOf("required_acks", string(c.RequiredAcks), acks); err != nil {
		return err
	}
	if c.BatchSize < 1 || c.BatchSize > 1000000 {
		return fmt.Errorf("batch_size: %d is out of range [1, 1000000]", c.BatchSize)
	}
	if c.MaxMessageBytes < minMessageBytes || c.MaxMessageBytes > maxMessageBytesCap {
		return fmt.Errorf("max_message_bytes: %d is out of range [%d, %d]", c.MaxMessageBytes, minMessageBytes, maxMessageBytesCap)
	}
	if c.BatchBytes < minMessageBytes || c.BatchBytes > maxMessageBytesCap {
		return fmt.Errorf("batch_bytes: %d is out of range [%d, %d]", c.BatchBytes, minMessageBytes, maxMessageBytesCap)
	}
	if c.Linger < 0 || c.Linger > maxLinger {
		return fmt.Errorf("linger: %s is out of range [0, %s]", c.Linger, maxLinger)
	}
	if c.DeliveryTimeout < minDeliveryTimeout {
		return fmt.Errorf("delivery_timeout: %s is below the minimum %s", c.DeliveryTimeout, minDeliveryTimeout)
	}
	if c.ClientID == "" {
		return errors.New("client_id: must not be empty")
	}
	if err := c.TLS.validate(); err != nil {
		return err
	}
	return c.SASL.validate()
}

func (t *TLSConfig) validate() error {
	if (t.CertFile == "") != (t.KeyFile == "") {
		return errors.New("kafka_cert_file, kafka_key_file: a client certificate needs both")
	}
	if !t.Enabled && (t.CAFile != "" || t.CertFile != "" || t.ServerName != "" || t.InsecureSkipVerify) {
		return errors.New("kafka_tls: TLS settings are set but kafka_tls is off")
	}
	return nil
}

func (s *SASLConfig) validate() error {
	if s.Mechanism == SASLNone {
		if s.Username != "" || s.PasswordFile != "" || s.PasswordEnv != "" {
			return errors.New("sasl_mechanism: sasl_username or a password source is set but no mechanism")
		}
		return nil
	}
	if err := oneOf("sasl_mechanism", string(s.Mechanism), saslMechanisms); err != nil {
		return err
	}
	if s.Username == "" {
		return fmt.Errorf("sasl_username: required by sasl_mechanism %s", s.Mechanism)
	}
	if (s.PasswordFile == "") == (s.PasswordEnv == "") {
		return fmt.Errorf("sasl_password_file, sasl_password_env: sasl_mechanism %s needs exactly one of them", s.Mechanism)
	}
	return nil
}

// Allowed values, in the order error messages list them.
var (
	keyFields      = []string{string(KeyAuditID), string(KeyNamespace), string(KeyUser), string(KeyResource), string(KeyNone)}
	partitioners   = []string{string(PartitionMurmur2), string(PartitionCRC32), string(PartitionRoundRobin)}
	compressions   = []string{string(CompressionNone), string(CompressionGzip), string(CompressionSnappy), string(CompressionLZ4), string(CompressionZstd)}
	acks           = []string{string(AcksAll), string(AcksOne), string(AcksNone)}
	saslMechanisms = []string{string(SASLPlain), string(SASLScramSHA256), string(SASLScramSHA512)}
	stageTopicKeys = [...]string{"topic_request_received", "topic_response_started", "topic_response_complete", "topic_panic"}
)

// internalTopics are the topics Kafka keeps for itself.
var internalTopics = []string{"__consumer_offsets", "__transaction_state", "__share_group_state", "__cluster_metadata"}

func oneOf(key, value string, allowed []string) error {
	for _, a := range allowed {
		if value == a {
			return nil
		}
	}
	return fmt.Errorf("%s: unknown value %q: want one of %s", key, value, strings.Join(allowed, ", "))
}

// validTopic applies Kafka's rules for topic names, so that a typo fails at
// start rather than as a retried error on every flush.
func validTopic(t string) error {
	if t == "" {
		return errors.New("topic name is empty")
	}
	if t == "." || t == ".." {
		return fmt.Errorf("invalid topic name %q", t)
	}
	if len(t) > maxTopicLen {
		return fmt.Errorf("topic name %.40q... is longer than %d characters", t, maxTopicLen)
	}
	if slices.Contains(internalTopics, t) {
		// The brokers refuse produce requests to them, and kafka-go
		// never even sends one ("topic not found", retried until
		// delivery_timeout on every flush).
		return fmt.Errorf("%q is a topic internal to Kafka: the brokers refuse to take events on it", t)
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		if c != '.' && c != '_' && c != '-' && (c < '0' || c > '9') && (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') {
			return fmt.Errorf("invalid topic name %q: character %q is not allowed (want [a-zA-Z0-9._-])", t, c)
		}
	}
	return nil
}
