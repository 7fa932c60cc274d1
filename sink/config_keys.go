package sink

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Keys returns every configuration key ConfigFromKeys reads, in the order
// the documentation gives them. None is reserved by Fluent Bit (tls, tls.*,
// host, port, workers, ...), so Fluent Bit passes all of them to the plugin.
func Keys() []string { return slices.Clone(keys) }

var keys = []string{
	"brokers", "topic",
	"topic_request_received", "topic_response_started", "topic_response_complete", "topic_panic",
	"message_key", "partitioner", "compression", "required_acks",
	"batch_size", "batch_bytes", "linger", "max_message_bytes",
	"dead_letter_topic", "cluster_name", "delivery_timeout", "auto_create_topics", "client_id",
	"kafka_tls", "kafka_ca_file", "kafka_cert_file", "kafka_key_file", "kafka_server_name", "kafka_insecure_skip_verify",
	"sasl_mechanism", "sasl_username", "sasl_password_file", "sasl_password_env",
}

// ConfigFromKeys reads every setting by its key name (the Fluent Bit plugin
// keys, which the CLI's configuration file shares) through get, which returns
// "" for a key that is not set; unset keys keep their default. Values are
// trimmed of surrounding spaces. The error names the key and the bad value, or
// lists the allowed values.
func ConfigFromKeys(get func(key string) string) (Config, error) {
	c := DefaultConfig()
	r := keyReader{get: get}

	if v := r.str("brokers"); v != "" {
		for _, b := range strings.Split(v, ",") {
			if b = strings.TrimSpace(b); b != "" {
				c.Brokers = append(c.Brokers, b)
			}
		}
	}
	r.setStr("topic", &c.Topic)
	r.setStr("topic_request_received", &c.TopicRequestReceived)
	r.setStr("topic_response_started", &c.TopicResponseStarted)
	r.setStr("topic_response_complete", &c.TopicResponseComplete)
	r.setStr("topic_panic", &c.TopicPanic)
	r.setEnum("message_key", (*string)(&c.MessageKey), keyFields)
	r.setEnum("partitioner", (*string)(&c.Partitioner), partitioners)
	r.setEnum("compression", (*string)(&c.Compression), compressions)
	r.setAcks(&c.RequiredAcks)
	r.setInt("batch_size", &c.BatchSize)
	r.setSize("batch_bytes", &c.BatchBytes)
	r.setDuration("linger", &c.Linger)
	r.setSize("max_message_bytes", &c.MaxMessageBytes)
	r.setStr("dead_letter_topic", &c.DeadLetterTopic)
	if strings.EqualFold(c.DeadLetterTopic, DeadLetterOff) {
		c.DeadLetterTopic = ""
	}
	r.setStr("cluster_name", &c.ClusterName)
	r.setDuration("delivery_timeout", &c.DeliveryTimeout)
	r.setBool("auto_create_topics", &c.AutoCreateTopics)
	r.setStr("client_id", &c.ClientID)

	r.setStr("kafka_ca_file", &c.TLS.CAFile)
	r.setStr("kafka_cert_file", &c.TLS.CertFile)
	r.setStr("kafka_key_file", &c.TLS.KeyFile)
	r.setStr("kafka_server_name", &c.TLS.ServerName)
	r.setBool("kafka_insecure_skip_verify", &c.TLS.InsecureSkipVerify)
	// TLS is implied by any TLS setting, unless kafka_tls says otherwise
	// (then Validate reports the contradiction).
	c.TLS.Enabled = c.TLS.CAFile != "" || c.TLS.CertFile != "" || c.TLS.ServerName != "" || c.TLS.InsecureSkipVerify
	r.setBool("kafka_tls", &c.TLS.Enabled)

	r.setEnum("sasl_mechanism", (*string)(&c.SASL.Mechanism), saslMechanisms)
	r.setStr("sasl_username", &c.SASL.Username)
	r.setStr("sasl_password_file", &c.SASL.PasswordFile)
	r.setStr("sasl_password_env", &c.SASL.PasswordEnv)

	if r.err != nil {
		return Config{}, r.err
	}
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// keyReader parses keys one after another and keeps the first error, so that
// ConfigFromKeys reads as a list of settings.
type keyReader struct {
	get func(string) string
	err error
}

func (r *keyReader) str(key string) string {
	if r.err != nil {
		return ""
	}
	return strings.TrimSpace(r.get(key))
}

func (r *keyReader) fail(key, value, want string) {
	r.err = fmt.Errorf("%s: invalid value %q: want %s", key, value, want)
}

func (r *keyReader) setStr(key string, dst *string) {
	if v := r.str(key); v != "" {
		*dst = v
	}
}

// setEnum matches case-insensitively and stores the canonical spelling.
func (r *keyReader) setEnum(key string, dst *string, allowed []string) {
	v := r.str(key)
	if v == "" {
		return
	}
	for _, a := range allowed {
		if strings.EqualFold(v, a) {
			*dst = a
			return
		}
	}
	r.err = fmt.Errorf("%s: unknown value %q: want one of %s", key, v, strings.Join(allowed, ", "))
}

// setAcks also accepts the numeric forms librdkafka and Kafka's Java client use.
func (r *keyReader) setAcks(dst *Acks) {
	switch v := r.str("required_acks"); strings.ToLower(v) {
	case "":
	case "all", "-1":
		*dst = AcksAll
	case "one", "1":
		*dst = AcksOne
	case "none", "0":
		*dst = AcksNone
	default:
		r.err = fmt.Errorf("required_acks: unknown value %q: want one of all, one, none (or -1, 1, 0)", v)
	}
}

func (r *keyReader) setInt(key string, dst *int) {
	v := r.str(key)
	if v == "" {
		return
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		r.fail(key, v, "an integer")
		return
	}
	*dst = n
}

// setSize accepts a byte count with an optional binary suffix, as Fluent Bit's
// own size settings do: 1000000, 512K, 512KB, 512KiB, 1M.
func (r *keyReader) setSize(key string, dst *int) {
	v := r.str(key)
	if v == "" {
		return
	}
	n, ok := parseSize(v)
	if !ok {
		r.fail(key, v, "a byte count such as 1000000, 512K or 1M")
		return
	}
	*dst = n
}

func parseSize(v string) (int, bool) {
	mult := 1
	s := strings.ToUpper(v)
	s = strings.TrimSuffix(strings.TrimSuffix(s, "B"), "I")
	switch {
	case strings.HasSuffix(s, "K"):
		mult, s = 1<<10, s[:len(s)-1]
	case strings.HasSuffix(s, "M"):
		mult, s = 1<<20, s[:len(s)-1]
	case strings.HasSuffix(s, "G"):
		mult, s = 1<<30, s[:len(s)-1]
	}
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 0 || n > (1<<40)/mult {
		return 0, false
	}
	return n * mult, true
}

// setDuration accepts Go durations (5ms, 2s, 1m30s); a bare 0 is 0.
func (r *keyReader) setDuration(key string, dst *time.Duration) {
	v := r.str(key)
	if v == "" {
		return
	}
	if v == "0" {
		*dst = 0
		return
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		r.fail(key, v, "a duration such as 5ms, 2s or 1m")
		return
	}
	*dst = d
}

// setBool accepts Fluent Bit's spellings of a boolean.
func (r *keyReader) setBool(key string, dst *bool) {
	switch v := r.str(key); strings.ToLower(v) {
	case "":
	case "on", "true", "yes", "1":
		*dst = true
	case "off", "false", "no", "0":
		*dst = false
	default:
		r.fail(key, v, "on or off (true/false, yes/no, 1/0)")
	}
}
