package sink

// Tests against the real broker of `make kafka-up` (internal/kafkatest): they
// skip when it is not running, and fail under CI=true. What they read back,
// they read with kcat (librdkafka), a client independent of kafka-go.

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/auditstream/auditstream/internal/kafkatest"
)

// realTopics creates the four stage topics (and a dead-letter topic) under a
// prefix unique to the test, and returns a config that routes to them.
func realTopics(t *testing.T, info kafkatest.Info, brokers []string) Config {
	t.Helper()
	prefix := kafkatest.TopicName(t)
	cfg := testConfig(brokers)
	cfg.Topic = prefix + ".{stage}"
	cfg.DeadLetterTopic = prefix + ".dlq"
	cfg.DeliveryTimeout = 20 * time.Second
	for _, stage := range stages {
		kafkatest.CreateTopic(t, info, cfg.TopicFor(stage), 3)
	}
	kafkatest.CreateTopic(t, info, cfg.DeadLetterTopic, 1)
	return cfg
}

// Events produced through the sink come back unchanged, on their stage's
// topic, with their key and headers, for every codec. The batches (1,200
// events of 1.5 KB over 12 partitions) are larger than snappy's 64 KB
// blocks, so a snappy batch, one raw block, holds matches that reach back
// beyond 64 KB, which the broker and librdkafka must read.
func TestKafkaRoundTrip(t *testing.T) {
	info := kafkatest.Broker(t)
	for _, codec := range compressions {
		t.Run(codec, func(t *testing.T) {
			cfg := realTopics(t, info, info.Brokers)
			cfg.Compression = Compression(codec)
			cfg.ClusterName = "kind-audit"
			s, _ := newTestSink(t, cfg)
			evs := testEvents(1200, 1500)
			evs = append(evs, testEvent(10_001, StageResponseComplete, "Metadata", 0), testEvent(10_002, StageRequestReceived, "Request", 40_000))
			if _, err := s.Deliver(context.Background(), evs); err != nil {
				t.Fatalf("Deliver: %v", err)
			}
			want := map[string]Event{}
			for _, e := range evs {
				want[string(e.AuditID)+"/"+e.Stage] = e
			}
			got := 0
			for _, stage := range stages {
				topic := cfg.TopicFor(stage)
				for _, r := range kafkatest.KcatConsume(t, info.Brokers[0], topic) {
					got++
					e, ok := want[r.Header(HeaderAuditID)+"/"+r.Header(HeaderStage)]
					switch {
					case !ok:
						t.Fatalf("unexpected record %v", r.Headers)
					case e.Stage != stage:
						t.Errorf("stage %s on topic %s", e.Stage, topic)
					case r.Key == nil || *r.Key != string(e.AuditID):
						t.Errorf("key %v; want %s", r.Key, e.AuditID)
					case r.Payload == nil || *r.Payload != string(e.Value):
						t.Errorf("value of %s changed", e.AuditID)
					case r.Header(HeaderLevel) != e.Level || r.Header(HeaderVerb) != string(e.Verb) || r.Header(HeaderCluster) != "kind-audit":
						t.Errorf("unexpected headers %v", r.Headers)
					}
				}
			}
			if got != len(evs) {
				t.Errorf("consumed %d records; want %d", got, len(evs))
			}
		})
	}
}

// SASL_SSL with SCRAM-SHA-512, the password read from a file.
func TestKafkaSASLSCRAM(t *testing.T) {
	info := kafkatest.Broker(t)
	cfg := realTopics(t, info, info.SASLBrokers)
	cfg.TLS = TLSConfig{Enabled: true, CAFile: info.CAFile}
	cfg.SASL = SASLConfig{Mechanism: SASLScramSHA512, Username: info.SCRAMUser, PasswordFile: writePassword(t, info.SCRAMPassword+"\n")}
	s, rec := newTestSink(t, cfg)
	evs := testEvents(50, 800)
	if _, err := s.Deliver(context.Background(), evs); err != nil {
		t.Fatalf("Deliver over SASL_SSL: %v", err)
	}
	n := 0
	for _, stage := range stages {
		n += len(kafkatest.KcatConsume(t, info.Brokers[0], cfg.TopicFor(stage)))
	}
	if n != len(evs) {
		t.Errorf("consumed %d; want %d", n, len(evs))
	}
	if strings.Contains(rec.text(), info.SCRAMPassword) {
		t.Errorf("the password was logged")
	}
}

func writePassword(t *testing.T, p string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "password")
	if err := os.WriteFile(path, []byte(p), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// A wrong password and an untrusted CA fail fast, not retryable, with an
// error that says what to check.
func TestKafkaAuthFailures(t *testing.T) {
	info := kafkatest.Broker(t)
	f := func(name string, mod func(*Config), want string) {
		t.Run(name, func(t *testing.T) {
			cfg := testConfig(info.SASLBrokers)
			cfg.DeliveryTimeout = 20 * time.Second
			cfg.TLS = TLSConfig{Enabled: true, CAFile: info.CAFile}
			cfg.SASL = SASLConfig{Mechanism: SASLScramSHA512, Username: info.SCRAMUser, PasswordFile: writePassword(t, info.SCRAMPassword)}
			mod(&cfg)
			s, rec := newTestSink(t, cfg)
			start := time.Now()
			_, err := s.Deliver(context.Background(), testEvents(5, 500))
			if err == nil || IsRetryable(err) {
				t.Fatalf("want a non-retryable error; got %v", err)
			}
			if took := time.Since(start); took > 10*time.Second {
				t.Errorf("took %s to fail", took)
			}
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not contain %q", err, want)
			}
			if strings.Contains(err.Error()+rec.text(), info.SCRAMPassword) {
				t.Errorf("the password leaked into an error or log line")
			}
			t.Logf("error: %v", err)
		})
	}
	f("wrong password", func(c *Config) { c.SASL.PasswordFile = writePassword(t, "not-the-password") }, "check sasl_username and the password source")
	f("untrusted CA", func(c *Config) { c.TLS.CAFile = "" }, "check kafka_ca_file")
	// Not tested: TLS spoken to the PLAINTEXT port. The broker just closes
	// the connection, which kafka-go reports as EOF, as it does for a broker
	// restarting: it is retried until delivery_timeout (Check reports it).
}

// On a topic whose max.message.bytes is below the sink's, an event refused
// alone is truncated and sent again; one still refused has its client-chosen
// strings shortened and is sent again (a Metadata event with a huge user
// agent); one that cannot be shortened enough goes to the dead-letter topic;
// the rest of the batch is delivered.
func TestKafkaBrokerLimits(t *testing.T) {
	info := kafkatest.Broker(t)
	cfg := realTopics(t, info, info.Brokers)
	small := kafkatest.TopicName(t) + ".small"
	kafkatest.CreateTopic(t, info, small, 1, kafka.ConfigEntry{ConfigName: "max.message.bytes", ConfigValue: "4000"})
	cfg.TopicResponseComplete = small
	cfg.Compression = CompressionNone
	s, _ := newTestSink(t, cfg)

	evs := testEvents(40, 800)
	big := testEvent(20_001, StageResponseComplete, "RequestResponse", 20_000)
	meta := testEvent(20_002, StageResponseComplete, "Metadata", 0)
	meta.Value = []byte(strings.Replace(string(meta.Value), `"userAgent":"`, `"userAgent":"`+strings.Repeat("u", 6000), 1))
	unshortenable := testEvent(20_003, StageResponseComplete, "Metadata", 0)
	unshortenable.Value = []byte(strings.Replace(string(unshortenable.Value), `"sourceIPs":[`, `"sourceIPs":["`+strings.Repeat("1", 6000)+`",`, 1))
	evs = append(evs, big, meta, unshortenable)
	if _, err := s.Deliver(context.Background(), evs); err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	recs := kafkatest.KcatConsume(t, info.Brokers[0], small)
	var sawBig, sawMeta bool
	for _, r := range recs {
		switch r.Header(HeaderAuditID) {
		case string(big.AuditID):
			sawBig = true
			want, _ := appendTruncated(nil, big.Value)
			if *r.Payload != string(want) {
				t.Errorf("big event not truncated as expected")
			}
		case string(meta.AuditID):
			sawMeta = true
			// The sink does not know the topic's limit: the strings go
			// down to what appendShortened keeps at least.
			want, _ := appendShortened(nil, meta.Value, 0)
			if *r.Payload != string(want) {
				t.Errorf("meta event not shortened as expected: %.300s", *r.Payload)
			}
		}
	}
	if !sawBig || !sawMeta || len(recs) != 22 { // 20 ResponseComplete of testEvents, big and meta
		t.Errorf("consumed %d on %s (big seen: %t, meta seen: %t); want 22", len(recs), small, sawBig, sawMeta)
	}
	dead := kafkatest.KcatConsume(t, info.Brokers[0], cfg.DeadLetterTopic)
	if len(dead) != 1 || dead[0].Header(HeaderAuditID) != string(unshortenable.AuditID) || !strings.Contains(dead[0].Header(HeaderError), "too large") {
		t.Errorf("unexpected dead letters %+v", dead)
	}
	st := s.Stats().Topics[small]
	if st.Sent != 22 || st.Truncated != 2 || st.DeadLettered != 1 {
		t.Errorf("unexpected stats %+v", st)
	}
}

// Events whose client-chosen strings are as large as kube-apiserver lets
// them be, at every level, reach their stage topic through a real broker,
// shortened to max_message_bytes and annotated.
func TestKafkaShortenedEvents(t *testing.T) {
	info := kafkatest.Broker(t)
	cfg := realTopics(t, info, info.Brokers)
	cfg.MaxMessageBytes = 8192
	s, _ := newTestSink(t, cfg)
	evs, fields := hugeClientEvents(t)
	res, err := s.Deliver(context.Background(), evs)
	if err != nil || res.Acked != len(evs) {
		t.Fatalf("Deliver: %+v, %v; want %d acknowledged", res, err, len(evs))
	}
	byID := map[string]int{}
	for i := range evs {
		byID[string(evs[i].AuditID)] = i
	}
	got := 0
	for _, stage := range []string{StageRequestReceived, StageResponseComplete} {
		for _, r := range kafkatest.KcatConsume(t, info.Brokers[0], cfg.TopicFor(stage)) {
			i, ok := byID[r.Header(HeaderAuditID)]
			if !ok || evs[i].Stage != stage || r.Payload == nil {
				t.Fatalf("unexpected record %v on %s", r.Headers, stage)
			}
			got++
			in := evs[i].Value
			if evs[i].Level != "Metadata" {
				in, _ = appendTruncated(nil, in)
			}
			if listed := checkShortened(t, in, []byte(*r.Payload)); len(listed) != 1 || listed[0] != fields[i] {
				t.Errorf("%s: fields %v listed; want %s", r.Header(HeaderAuditID), listed, fields[i])
			}
		}
	}
	if got != len(evs) {
		t.Errorf("consumed %d records; want %d", got, len(evs))
	}
}
