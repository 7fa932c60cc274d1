package sink

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kfake"
)

// Each SASL mechanism authenticates (against kfake). A wrong password is
// tested against the real broker (TestKafkaAuthFailures): kfake closes the
// connection instead of answering SASL_AUTHENTICATION_FAILED.
func TestSASLMechanisms(t *testing.T) {
	for _, mech := range []SASLMechanism{SASLPlain, SASLScramSHA256, SASLScramSHA512} {
		t.Run(string(mech), func(t *testing.T) {
			c := newCluster(t, kfake.EnableSASL(), kfake.Superuser(string(mech), "fluent", "s3cret-pw"))
			cfg := testConfig(c.ListenAddrs())
			cfg.SASL = SASLConfig{Mechanism: mech, Username: "fluent", PasswordEnv: "TEST_KAFKA_PASSWORD"}
			t.Setenv("TEST_KAFKA_PASSWORD", "s3cret-pw")
			s, rec := newTestSink(t, cfg)
			if _, err := s.Deliver(context.Background(), testEvents(20, 500)); err != nil {
				t.Fatalf("Deliver: %v", err)
			}

			if strings.Contains(rec.text(), "s3cret-pw") {
				t.Errorf("the password was logged")
			}
		})
	}
}

func TestNewReadsSecrets(t *testing.T) {
	f := func(mod func(*Config), want string) {
		t.Helper()
		cfg := testConfig([]string{"k:9092"})
		mod(&cfg)
		if _, err := New(cfg, nil); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("want an error containing %q; got %v", want, err)
		}
	}
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	notPEM := filepath.Join(dir, "ca.pem")
	_ = os.WriteFile(empty, []byte("\n"), 0o600)
	_ = os.WriteFile(notPEM, []byte("hello"), 0o600)
	f(func(c *Config) {
		c.SASL = SASLConfig{Mechanism: SASLPlain, Username: "u", PasswordFile: filepath.Join(dir, "missing")}
	}, "sasl_password_file: cannot read")
	f(func(c *Config) { c.SASL = SASLConfig{Mechanism: SASLPlain, Username: "u", PasswordFile: empty} }, "is empty")
	f(func(c *Config) {
		c.SASL = SASLConfig{Mechanism: SASLPlain, Username: "u", PasswordEnv: "UNSET_VAR_FOR_TEST"}
	}, `"UNSET_VAR_FOR_TEST" is not set`)
	f(func(c *Config) { c.TLS = TLSConfig{Enabled: true, CAFile: notPEM} }, "no PEM certificate")
	f(func(c *Config) { c.TLS = TLSConfig{Enabled: true, CertFile: notPEM, KeyFile: notPEM} }, "kafka_cert_file, kafka_key_file: cannot load")
}

// kafka_insecure_skip_verify is warned about loudly at New.
func TestInsecureSkipVerifyWarns(t *testing.T) {
	cfg := testConfig([]string{"k:9092"})
	cfg.TLS = TLSConfig{Enabled: true, InsecureSkipVerify: true}
	rec := &logRecorder{}
	s, err := New(cfg, rec.log)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	if !strings.Contains(rec.text(), "warn: kafka_insecure_skip_verify is on") {
		t.Errorf("no warning:\n%s", rec.text())
	}
}
