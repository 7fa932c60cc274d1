package kafkatest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/sasl/scram"
)

func TestReadEnvFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "env")
	content := `# Written by scripts/kafka/up.sh
AUDITSTREAM_KAFKA_BROKERS=127.0.0.1:39092

export AUDITSTREAM_KAFKA_CA="/some dir/ca.pem"
AUDITSTREAM_KAFKA_SCRAM_PASSWORD=a=b
`
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := readEnvFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		EnvBrokers:       "127.0.0.1:39092",
		EnvCA:            "/some dir/ca.pem",
		EnvSCRAMPassword: "a=b",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("readEnvFile = %v, want %v", got, want)
	}

	if err := os.WriteFile(path, []byte("no equals sign\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := readEnvFile(path); err == nil {
		t.Error("readEnvFile accepted a line without '='")
	}
}

func TestTopicName(t *testing.T) {
	valid := regexp.MustCompile(`^[a-zA-Z0-9-]{1,249}$`)
	t.Run("sub/test.with_odd chars", func(t *testing.T) {
		a, b := TopicName(t), TopicName(t)
		if a == b {
			t.Errorf("two calls gave the same name %q", a)
		}
		for _, name := range []string{a, b} {
			if !valid.MatchString(name) {
				t.Errorf("%q is not a safe topic name", name)
			}
		}
	})
}

// The broker must carry messages both ways on the PLAINTEXT listener, with a
// consumer group as the code under test uses one.
func TestRoundTripPlaintext(t *testing.T) {
	info := Broker(t)
	roundTrip(t, info, info.Brokers, &kafka.Transport{}, &kafka.Dialer{Timeout: 10 * time.Second})
}

// And on the SASL_SSL listener, with SCRAM-SHA-512 and the broker's CA.
func TestRoundTripSASL(t *testing.T) {
	info := Broker(t)
	tlsConfig := info.TLSConfig(t)
	mech := info.SCRAM(t)
	roundTrip(t, info, info.SASLBrokers,
		&kafka.Transport{TLS: tlsConfig, SASL: mech},
		&kafka.Dialer{Timeout: 10 * time.Second, TLS: tlsConfig, SASLMechanism: mech})
}

func TestSASLRejectsWrongPassword(t *testing.T) {
	info := Broker(t)
	mech, err := scram.Mechanism(scram.SHA512, info.SCRAMUser, info.SCRAMPassword+"-wrong")
	if err != nil {
		t.Fatal(err)
	}
	dialer := &kafka.Dialer{Timeout: 10 * time.Second, TLS: info.TLSConfig(t), SASLMechanism: mech}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	conn, err := dialer.DialContext(ctx, "tcp", info.SASLBrokers[0])
	if err == nil {
		conn.Close()
		t.Fatal("SASL_SSL accepted a wrong SCRAM password")
	}
	t.Logf("wrong password refused as it should be: %v", err)
}

// kcat, the independent client, reads over SASL_SSL what kafka-go wrote.
func TestKcatReadsOverSASL(t *testing.T) {
	info := Broker(t)
	topic := TopicName(t)
	CreateTopic(t, info, topic, 3)
	want := produce(t, info.SASLBrokers, &kafka.Transport{TLS: info.TLSConfig(t), SASL: info.SCRAM(t)}, topic, 10)

	args := append([]string{"-b", info.SASLBrokers[0]}, info.KcatSASLArgs()...)
	args = append(args, "-C", "-t", topic, "-o", "beginning", "-e", "-q", "-f", "%s\n")
	cmd := Kcat(t, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("kcat: %v\n%s", err, stderr.String())
	}
	got := strings.Fields(string(out))
	sort.Strings(got)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("kcat read %v, want %v\nstderr: %s", got, want, stderr.String())
	}
}

// roundTrip writes messages to a new 3-partition topic and reads all of them
// back through a consumer group.
func roundTrip(t *testing.T, info Info, brokers []string, transport *kafka.Transport, dialer *kafka.Dialer) {
	t.Helper()
	topic := TopicName(t)
	CreateTopic(t, info, topic, 3)
	want := produce(t, brokers, transport, topic, 30)

	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers:     brokers,
		GroupID:     topic, // a fresh group: starts at StartOffset
		Topic:       topic,
		Dialer:      dialer,
		StartOffset: kafka.FirstOffset,
		MaxWait:     200 * time.Millisecond,
	})
	defer r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var got []string
	partitions := map[int]bool{}
	for len(got) < len(want) {
		m, err := r.FetchMessage(ctx)
		if err != nil {
			t.Fatalf("consume after %d of %d messages: %v", len(got), len(want), err)
		}
		got = append(got, string(m.Value))
		partitions[m.Partition] = true
		if err := r.CommitMessages(ctx, m); err != nil {
			t.Fatalf("commit: %v", err)
		}
	}
	sort.Strings(got)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("consumed %v, want %v", got, want)
	}
	if len(partitions) != 3 {
		t.Errorf("messages came from partitions %v, want all 3", partitions)
	}
}

// produce writes n messages round-robin over the partitions and returns
// their values, sorted.
func produce(t *testing.T, brokers []string, transport *kafka.Transport, topic string, n int) []string {
	t.Helper()
	w := &kafka.Writer{
		Addr:         kafka.TCP(brokers...),
		Topic:        topic,
		Balancer:     &kafka.RoundRobin{},
		RequiredAcks: kafka.RequireAll,
		BatchTimeout: 10 * time.Millisecond,
		Transport:    transport,
	}
	defer w.Close()
	msgs := make([]kafka.Message, n)
	want := make([]string, n)
	for i := range msgs {
		want[i] = fmt.Sprintf("message-%03d", i)
		msgs[i] = kafka.Message{Key: []byte(want[i]), Value: []byte(want[i])}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := w.WriteMessages(ctx, msgs...); err != nil {
		t.Fatalf("produce to %v: %v", brokers, err)
	}
	sort.Strings(want)
	return want
}
