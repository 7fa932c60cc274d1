package sink

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// fakeKeys is a get function over a map, as Fluent Bit's config lookup is.
type fakeKeys map[string]string

func (f fakeKeys) get(key string) string { return f[key] }

func TestConfigFromKeysDefaults(t *testing.T) {
	cfg, err := ConfigFromKeys(fakeKeys{"brokers": " k1:9092 , k2:9092,"}.get)
	if err != nil {
		t.Fatalf("ConfigFromKeys: %v", err)
	}
	want := DefaultConfig()
	want.Brokers = []string{"k1:9092", "k2:9092"}
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("unexpected config\ngot  %+v\nwant %+v", cfg, want)
	}
	if cfg.TopicFor(StageResponseComplete) != "k8s-audit.ResponseComplete" {
		t.Errorf("unexpected default topic %q", cfg.TopicFor(StageResponseComplete))
	}
}

func TestConfigFromKeysEverySetting(t *testing.T) {
	keys := fakeKeys{
		"brokers":                    "a:1",
		"topic":                      "audit-{stage}",
		"topic_request_received":     "rr",
		"topic_response_started":     "rs",
		"topic_response_complete":    "rc",
		"topic_panic":                "panics",
		"message_key":                "Namespace",
		"partitioner":                "crc32",
		"compression":                "ZSTD",
		"required_acks":              "1",
		"batch_size":                 "500",
		"batch_bytes":                "512K",
		"linger":                     "20ms",
		"max_message_bytes":          "2MiB",
		"dead_letter_topic":          "audit-dlq",
		"cluster_name":               "prod",
		"delivery_timeout":           "1m",
		"auto_create_topics":         "on",
		"client_id":                  "node-1",
		"kafka_ca_file":              "/ca.pem",
		"kafka_cert_file":            "/c.pem",
		"kafka_key_file":             "/k.pem",
		"kafka_server_name":          "kafka.internal",
		"kafka_insecure_skip_verify": "false",
		"sasl_mechanism":             "scram-sha-512",
		"sasl_username":              "fb",
		"sasl_password_env":          "KAFKA_PASSWORD",
	}
	cfg, err := ConfigFromKeys(keys.get)
	if err != nil {
		t.Fatalf("ConfigFromKeys: %v", err)
	}
	want := Config{
		Brokers: []string{"a:1"}, Topic: "audit-{stage}",
		TopicRequestReceived: "rr", TopicResponseStarted: "rs", TopicResponseComplete: "rc", TopicPanic: "panics",
		MessageKey: KeyNamespace, Partitioner: PartitionCRC32, Compression: CompressionZstd, RequiredAcks: AcksOne,
		BatchSize: 500, BatchBytes: 512 << 10, Linger: 20 * time.Millisecond, MaxMessageBytes: 2 << 20,
		DeadLetterTopic: "audit-dlq", ClusterName: "prod", DeliveryTimeout: time.Minute, AutoCreateTopics: true,
		ClientID: "node-1",
		TLS:      TLSConfig{Enabled: true, CAFile: "/ca.pem", CertFile: "/c.pem", KeyFile: "/k.pem", ServerName: "kafka.internal"},
		SASL:     SASLConfig{Mechanism: SASLScramSHA512, Username: "fb", PasswordEnv: "KAFKA_PASSWORD"},
	}
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("unexpected config\ngot  %+v\nwant %+v", cfg, want)
	}
	// Every key is read, and only the documented ones.
	var read []string
	if _, err := ConfigFromKeys(func(k string) string { read = append(read, k); return keys[k] }); err != nil {
		t.Fatal(err)
	}
	slices.Sort(read)
	documented := slices.Sorted(slices.Values(Keys()))
	if !slices.Equal(read, documented) {
		t.Errorf("keys read differ from Keys\nread %v\nKeys %v", read, documented)
	}
}

// Fluent Bit consumes these itself (docs/fluent-bit-abi.md): a plugin key of
// the same name would never reach the plugin.
func TestKeysAreNotReserved(t *testing.T) {
	reserved := []string{"alias", "host", "ipv6", "listen", "log_level", "log_suppress_interval", "match",
		"match_regex", "mem_buf_limit", "port", "retry_limit", "routable", "tag", "threaded", "tls", "workers"}
	for _, k := range Keys() {
		if slices.Contains(reserved, k) || strings.HasPrefix(k, "tls.") || strings.HasPrefix(k, "storage.") {
			t.Errorf("key %q is reserved by Fluent Bit", k)
		}
	}
}

func TestConfigFromKeysErrors(t *testing.T) {
	f := func(key, value string, want ...string) {
		t.Helper()
		keys := fakeKeys{"brokers": "k:9092", key: value}
		_, err := ConfigFromKeys(keys.get)
		if err == nil {
			t.Errorf("%s=%q: want an error", key, value)
			return
		}
		for _, w := range append(want, key) {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s=%q: error %q does not contain %q", key, value, err, w)
			}
		}
	}
	f("brokers", " , ", "at least one broker")
	f("brokers", "k9092", `"k9092"`)
	f("topic", "audit.{namespace}", "{namespace}")
	f("topic", "audit/{stage}", "'/'")
	f("topic_panic", strings.Repeat("x", 250), "longer than 249")
	f("message_key", "verb", `"verb"`, "auditID, namespace, user, resource, none")
	f("partitioner", "fnv", `"fnv"`, "murmur2, crc32, round_robin")
	f("compression", "brotli", `"brotli"`, "none, gzip, snappy, lz4, zstd")
	f("required_acks", "2", `"2"`, "all, one, none")
	f("batch_size", "many", `"many"`, "integer")
	f("batch_size", "0", "out of range")
	f("batch_bytes", "1X", `"1X"`)
	f("max_message_bytes", "100", "out of range")
	f("linger", "5", `"5"`, "duration")
	f("linger", "1h", "out of range")
	f("delivery_timeout", "1ms", "minimum")
	f("dead_letter_topic", "k8s-audit.Panic", "also the topic of stage Panic")
	f("dead_letter_topic", "__consumer_offsets", "internal to Kafka")
	f("topic_panic", "__transaction_state", "internal to Kafka")
	f("auto_create_topics", "maybe", `"maybe"`, "on or off")
	f("kafka_cert_file", "/c.pem", "needs both")
	f("kafka_insecure_skip_verify", "sure", `"sure"`)
	f("sasl_mechanism", "GSSAPI", `"GSSAPI"`, "PLAIN, SCRAM-SHA-256, SCRAM-SHA-512")
	f("sasl_mechanism", "PLAIN", "sasl_username")
	f("sasl_username", "fb", "no mechanism")
}

// Dead-lettering and auto-creation are on unless turned off explicitly; an
// empty value (an unset key, for Fluent Bit) keeps the default.
func TestConfigDeadLetterAndAutoCreateDefaults(t *testing.T) {
	f := func(keys fakeKeys, wantDLQ string, wantAuto bool) {
		t.Helper()
		keys["brokers"] = "k:1"
		cfg, err := ConfigFromKeys(keys.get)
		if err != nil {
			t.Fatalf("%v: %v", keys, err)
		}
		if cfg.DeadLetterTopic != wantDLQ || cfg.AutoCreateTopics != wantAuto {
			t.Errorf("%v: dead_letter_topic %q, auto_create_topics %t; want %q, %t", keys, cfg.DeadLetterTopic, cfg.AutoCreateTopics, wantDLQ, wantAuto)
		}
	}
	f(fakeKeys{}, "k8s-audit.dead-letter", true)
	f(fakeKeys{"dead_letter_topic": "", "auto_create_topics": ""}, "k8s-audit.dead-letter", true)
	f(fakeKeys{"dead_letter_topic": "none", "auto_create_topics": "off"}, "", false)
	f(fakeKeys{"dead_letter_topic": " None "}, "", true)
	f(fakeKeys{"dead_letter_topic": "audit-dlq"}, "audit-dlq", true)
	// The default dead-letter topic collides with a stage topic named like it.
	_, err := ConfigFromKeys(fakeKeys{"brokers": "k:1", "topic_panic": DefaultDeadLetterTopic}.get)
	if err == nil || !strings.Contains(err.Error(), "dead_letter_topic") || !strings.Contains(err.Error(), "none") {
		t.Errorf("want an error naming dead_letter_topic and none; got %v", err)
	}
}

func TestConfigTLSContradiction(t *testing.T) {
	_, err := ConfigFromKeys(fakeKeys{"brokers": "k:1", "kafka_ca_file": "/ca", "kafka_tls": "off"}.get)
	if err == nil || !strings.Contains(err.Error(), "kafka_tls") {
		t.Errorf("want an error naming kafka_tls; got %v", err)
	}
	cfg, err := ConfigFromKeys(fakeKeys{"brokers": "k:1", "kafka_tls": "on"}.get)
	if err != nil || !cfg.TLS.Enabled {
		t.Errorf("kafka_tls on alone: got %+v, %v", cfg.TLS, err)
	}
}

func TestConfigSASLPasswordSources(t *testing.T) {
	base := fakeKeys{"brokers": "k:1", "sasl_mechanism": "PLAIN", "sasl_username": "u"}
	if _, err := ConfigFromKeys(base.get); err == nil || !strings.Contains(err.Error(), "exactly one") {
		t.Errorf("no password source: got %v", err)
	}
	both := fakeKeys{"sasl_password_file": "/p", "sasl_password_env": "P"}
	for k, v := range base {
		both[k] = v
	}
	if _, err := ConfigFromKeys(both.get); err == nil || !strings.Contains(err.Error(), "exactly one") {
		t.Errorf("two password sources: got %v", err)
	}
}

func TestParseSize(t *testing.T) {
	f := func(s string, want int, wantOK bool) {
		t.Helper()
		got, ok := parseSize(s)
		if got != want || ok != wantOK {
			t.Errorf("parseSize(%q) = %d, %t; want %d, %t", s, got, ok, want, wantOK)
		}
	}
	f("1000000", 1000000, true)
	f("512K", 512<<10, true)
	f("512kb", 512<<10, true)
	f("1MiB", 1<<20, true)
	f("1G", 1<<30, true)
	f("-1", 0, false)
	f("K", 0, false)
	f("1.5M", 0, false)
}
