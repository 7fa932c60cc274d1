// Package kafkatest connects tests to the real single-node Kafka broker that
// `make kafka-up` (scripts/kafka/up.sh) runs on 127.0.0.1.
//
// A test asks for the broker with Broker, which skips the test when no broker
// is running, or fails it when CI=true (CI must never pass by skipping):
//
//	info := kafkatest.Broker(t)
//	topic := kafkatest.TopicName(t)
//	kafkatest.CreateTopic(t, info, topic, 3)
//	w := &kafka.Writer{Addr: kafka.TCP(info.Brokers...), Topic: topic}
//
// The broker has a PLAINTEXT listener (Info.Brokers) and a SASL_SSL listener
// with SCRAM-SHA-512 (Info.SASLBrokers; see Info.TLSConfig and Info.SCRAM).
// Kcat runs kcat, an independent client, to check what the code under test
// wrote. The connection facts come from the environment (AUDITSTREAM_KAFKA_*)
// or else from the file .cache/kafka/run/env that up.sh writes.
package kafkatest

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/sasl"
	"github.com/segmentio/kafka-go/sasl/scram"

	"github.com/auditstream/auditstream/internal/testenv"
)

// Names of the variables, in the environment or in the env file.
const (
	EnvBrokers       = "AUDITSTREAM_KAFKA_BROKERS"        // comma-separated host:port, PLAINTEXT
	EnvSASLBrokers   = "AUDITSTREAM_KAFKA_SASL_BROKERS"   // comma-separated host:port, SASL_SSL
	EnvCA            = "AUDITSTREAM_KAFKA_CA"             // PEM file of the CA of the SASL_SSL listener
	EnvSCRAMUser     = "AUDITSTREAM_KAFKA_SCRAM_USER"     // SCRAM-SHA-512 user
	EnvSCRAMPassword = "AUDITSTREAM_KAFKA_SCRAM_PASSWORD" // and its password
)

// EnvFile is where scripts/kafka/up.sh writes the connection facts, relative
// to the directory holding go.mod.
const EnvFile = ".cache/kafka/run/env"

// dialTimeout bounds the reachability check: the broker is on loopback, so
// anything slower means it is not there.
const dialTimeout = 2 * time.Second

// Info tells a test how to reach the broker.
type Info struct {
	Brokers       []string // PLAINTEXT listener(s), host:port
	SASLBrokers   []string // SASL_SSL listener(s), SCRAM-SHA-512, host:port
	CAFile        string   // absolute path of the PEM CA that signed the SASL_SSL certificate
	SCRAMUser     string
	SCRAMPassword string
}

// Broker returns the connection facts of the running test broker. When the
// facts are missing or the broker does not accept TCP connections it skips
// the test, or fails it if the environment has CI=true.
func Broker(t testing.TB) Info {
	t.Helper()
	info, err := load()
	if err == nil {
		err = reachable(info)
	}
	if err != nil {
		testenv.Missing(t, "no Kafka broker: start it with `make kafka-up` (%v)", err)
	}
	return info
}

// BrokerFromFile returns the connection facts of another broker than the
// shared one: the instance whose env file is envFile (relative to the module
// root), as `KAFKA_INSTANCE=NAME scripts/kafka/up.sh` writes it. The
// environment's AUDITSTREAM_KAFKA_* variables, which name the shared broker,
// are ignored. Like Broker it skips, or fails under CI=true, when the broker
// is not there.
func BrokerFromFile(t testing.TB, envFile string) Info {
	t.Helper()
	info, err := LoadFile(envFile)
	if err == nil {
		err = reachable(info)
	}
	if err != nil {
		testenv.Missing(t, "no Kafka broker: %v", err)
	}
	return info
}

// LoadFile reads the connection facts from envFile (relative to the module
// root) alone, without checking that the broker answers.
func LoadFile(envFile string) (Info, error) {
	root, err := testenv.ModuleRoot()
	if err != nil {
		return Info{}, err
	}
	path := filepath.Join(root, envFile)
	vars, err := readEnvFile(path)
	if err != nil {
		return Info{}, err
	}
	info := Info{
		Brokers:       splitList(vars[EnvBrokers]),
		SASLBrokers:   splitList(vars[EnvSASLBrokers]),
		CAFile:        vars[EnvCA],
		SCRAMUser:     vars[EnvSCRAMUser],
		SCRAMPassword: vars[EnvSCRAMPassword],
	}
	if len(info.Brokers) == 0 {
		return Info{}, fmt.Errorf("%s has no %s", path, EnvBrokers)
	}
	return info, nil
}

// load reads the facts: each variable from the environment if set there,
// otherwise from the env file in the module root (if there is one).
func load() (Info, error) {
	file := map[string]string{}
	where := "" // where the facts were looked for, for the error message
	root, err := testenv.ModuleRoot()
	if err != nil {
		where = err.Error()
	} else {
		path := filepath.Join(root, EnvFile)
		file, err = readEnvFile(path)
		switch {
		case errors.Is(err, os.ErrNotExist):
			where = path + " does not exist"
		case err != nil:
			return Info{}, err
		default:
			where = path + " has none"
		}
	}
	get := func(key string) string {
		if v, ok := os.LookupEnv(key); ok {
			return v
		}
		return file[key]
	}
	info := Info{
		Brokers:       splitList(get(EnvBrokers)),
		SASLBrokers:   splitList(get(EnvSASLBrokers)),
		CAFile:        get(EnvCA),
		SCRAMUser:     get(EnvSCRAMUser),
		SCRAMPassword: get(EnvSCRAMPassword),
	}
	if len(info.Brokers) == 0 {
		return Info{}, fmt.Errorf("%s is not set and %s", EnvBrokers, where)
	}
	return info, nil
}

// reachable dials the first address of each listener.
func reachable(info Info) error {
	addrs := []string{info.Brokers[0]}
	if len(info.SASLBrokers) > 0 {
		addrs = append(addrs, info.SASLBrokers[0])
	}
	for _, addr := range addrs {
		conn, err := net.DialTimeout("tcp", addr, dialTimeout)
		if err != nil {
			return fmt.Errorf("broker not reachable: %w", err)
		}
		_ = conn.Close()
	}
	return nil
}

// readEnvFile parses KEY=value lines as up.sh writes them; blank lines and
// lines starting with # are ignored, and one pair of quotes around a value is
// removed.
func readEnvFile(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	vars := map[string]string{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, value, ok := strings.Cut(strings.TrimPrefix(line, "export "), "=")
		if !ok {
			return nil, fmt.Errorf("%s:%d: not KEY=value: %q", path, n, line)
		}
		if len(value) >= 2 && (value[0] == '"' || value[0] == '\'') && value[len(value)-1] == value[0] {
			value = value[1 : len(value)-1]
		}
		vars[strings.TrimSpace(key)] = value
	}
	return vars, sc.Err()
}

func splitList(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

// TLSConfig returns a client TLS configuration that trusts the broker's CA,
// for the SASL_SSL listener.
func (i Info) TLSConfig(t testing.TB) *tls.Config {
	t.Helper()
	if i.CAFile == "" {
		t.Fatalf("kafkatest: no CA file (%s)", EnvCA)
	}
	pem, err := os.ReadFile(i.CAFile)
	if err != nil {
		t.Fatalf("kafkatest: %v", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatalf("kafkatest: no certificate in %s", i.CAFile)
	}
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
}

// SCRAM returns the SCRAM-SHA-512 mechanism with the broker's test user, for
// the SASL_SSL listener.
func (i Info) SCRAM(t testing.TB) sasl.Mechanism {
	t.Helper()
	m, err := scram.Mechanism(scram.SHA512, i.SCRAMUser, i.SCRAMPassword)
	if err != nil {
		t.Fatalf("kafkatest: SCRAM mechanism: %v", err)
	}
	return m
}

// KcatSASLArgs returns the kcat options that connect to the SASL_SSL listener
// as the test user; the caller adds -b with an address of SASLBrokers.
func (i Info) KcatSASLArgs() []string {
	return []string{
		"-X", "security.protocol=SASL_SSL",
		"-X", "sasl.mechanisms=SCRAM-SHA-512",
		"-X", "ssl.ca.location=" + i.CAFile,
		"-X", "sasl.username=" + i.SCRAMUser,
		"-X", "sasl.password=" + i.SCRAMPassword,
	}
}

// Kcat returns a command running kcat with args through scripts/kafka/kcat.sh,
// which installs kcat if needed and gives it a librdkafka that can do SCRAM
// with Kafka 4 (Debian's cannot). Run it with the usual exec.Cmd methods.
func Kcat(t testing.TB, args ...string) *exec.Cmd {
	t.Helper()
	root, err := testenv.ModuleRoot()
	if err != nil {
		t.Fatalf("kafkatest: %v", err)
	}
	return exec.Command("bash", append([]string{filepath.Join(root, "scripts", "kafka", "kcat.sh")}, args...)...)
}

// TopicName returns a topic name unique to this test and run, so tests (and
// repeated runs against one broker) never share a topic.
func TopicName(t testing.TB) string {
	t.Helper()
	// Topic names allow [a-zA-Z0-9._-]; '.' and '_' clash in Kafka's metric
	// names, so only '-' is kept as a separator.
	name := []byte(t.Name())
	for j, c := range name {
		if !isTopicRune(c) {
			name[j] = '-'
		}
	}
	if len(name) > 150 {
		name = name[:150]
	}
	var suffix [4]byte
	if _, err := rand.Read(suffix[:]); err != nil {
		t.Fatalf("kafkatest: %v", err)
	}
	return fmt.Sprintf("test-%s-%x-%s", name, time.Now().UnixMilli(), hex.EncodeToString(suffix[:]))
}

// CreateTopic creates topic with the given number of partitions (and one
// replica) and the topic configs given (max.message.bytes, cleanup.policy,
// ... for tests of what a broker refuses), waits until every partition has
// a leader, and deletes the topic when the test ends. An existing topic of
// that name fails the test: use TopicName.
func CreateTopic(t testing.TB, info Info, topic string, partitions int, configs ...kafka.ConfigEntry) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client := &kafka.Client{Addr: kafka.TCP(info.Brokers...), Timeout: 10 * time.Second}

	res, err := client.CreateTopics(ctx, &kafka.CreateTopicsRequest{
		Topics: []kafka.TopicConfig{{Topic: topic, NumPartitions: partitions, ReplicationFactor: 1, ConfigEntries: configs}},
	})
	if err == nil {
		err = res.Errors[topic]
	}
	if err != nil {
		t.Fatalf("kafkatest: create topic %q: %v", topic, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		res, err := client.DeleteTopics(ctx, &kafka.DeleteTopicsRequest{Topics: []string{topic}})
		if err == nil {
			err = res.Errors[topic]
		}
		if err != nil {
			t.Logf("kafkatest: delete topic %q: %v", topic, err)
		}
	})

	// Creation returns before the partitions have leaders; a producer that
	// starts now may see UNKNOWN_TOPIC_OR_PARTITION. Wait until it would not.
	for {
		meta, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{topic}})
		if err == nil && topicReady(meta, topic, partitions) {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("kafkatest: topic %q: partitions without a leader after 30s (last error: %v)", topic, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func topicReady(meta *kafka.MetadataResponse, topic string, partitions int) bool {
	for _, tp := range meta.Topics {
		if tp.Name != topic {
			continue
		}
		if tp.Error != nil || len(tp.Partitions) != partitions {
			return false
		}
		for _, p := range tp.Partitions {
			if p.Error != nil || p.Leader.Host == "" {
				return false
			}
		}
		return true
	}
	return false
}

func isTopicRune(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-'
}
