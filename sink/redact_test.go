package sink

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl/plain"
)

// Passwords SASLprep rejects (control characters), with characters that
// every quoting function escapes differently.
var badPasswords = []string{
	"s3cret\x01pass<word>",
	"tab\there\x7f\"quoted\\back\"",
	"é-unicode\u0085-next-line-s3cret",
}

// leaks returns the forms of secret found in text: raw, or escaped as %q,
// %+q, strconv.Quote or JSON would print it.
func leaks(text, secret string) []string {
	j, _ := json.Marshal(secret)
	var found []string
	for _, f := range []string{
		secret,
		strings.Trim(strconv.Quote(secret), `"`),
		strings.Trim(strconv.QuoteToASCII(secret), `"`),
		strings.Trim(fmt.Sprintf("%+q", secret), `"`),
		strings.Trim(string(j), `"`),
	} {
		if strings.Contains(text, f) {
			found = append(found, f)
		}
	}
	return found
}

// A password that SCRAM's SASLprep rejects fails New with an error that
// names the setting, and quotes neither the password nor its characters,
// read from a file or from the environment.
func TestNewRejectedPasswordNotEchoed(t *testing.T) {
	for i, password := range badPasswords {
		for _, mech := range []SASLMechanism{SASLScramSHA256, SASLScramSHA512} {
			for _, source := range []string{"file", "env"} {
				cfg := testConfig([]string{"k:9092"})
				cfg.SASL = SASLConfig{Mechanism: mech, Username: "fluent"}
				setPassword(t, &cfg.SASL, source, password)
				rec := &logRecorder{}
				_, err := New(cfg, rec.log)
				if err == nil {
					t.Fatalf("password %d, %s, %s: New succeeded", i, mech, source)
				}
				if !strings.Contains(err.Error(), "sasl_password_"+source) || !strings.Contains(err.Error(), "SASLprep") {
					t.Errorf("password %d, %s, %s: the error does not name the setting: %v", i, mech, source, err)
				}
				if l := leaks(err.Error()+rec.text(), password); len(l) > 0 || strings.Contains(err.Error(), "rune") {
					t.Errorf("password %d, %s, %s: leaked %q in %q", i, mech, source, l, err)
				}
				if _, err := cfg.Dialer(); err == nil || len(leaks(err.Error(), password)) > 0 {
					t.Errorf("password %d, %s, %s: Dialer: %v", i, mech, source, err)
				}
			}
		}
	}
}

func TestRedactor(t *testing.T) {
	const secret = "pa\x01ss\"<w>\\é"
	r := newRedactor(secret)
	j, _ := json.Marshal(secret)
	for _, text := range []string{
		"raw " + secret + " end",
		fmt.Sprintf("quoted %q end", secret),
		fmt.Sprintf("ascii %+q end", secret),
		"json " + string(j) + " end",
		fmt.Sprintf("twice %q", fmt.Sprintf("inner %q", secret)),
		fmt.Sprintf("json of quoted %s", mustJSON(fmt.Sprintf("%q", secret))),
	} {
		got := r.string(text)
		if l := leaks(got, secret); len(l) > 0 || !strings.Contains(got, redacted) {
			t.Errorf("%q: redacted to %q, leaks %q", text, got, l)
		}
	}
	if got := r.string("nothing to hide"); got != "nothing to hide" {
		t.Errorf("changed a clean text: %q", got)
	}
	// The error code survives, for classification.
	err := r.err(fmt.Errorf("produce: %w: %s", kafka.TopicAuthorizationFailed, secret))
	if !errors.Is(err, kafka.TopicAuthorizationFailed) || classify(err) != classRefused || len(leaks(err.Error(), secret)) > 0 {
		t.Errorf("unexpected redacted error %v", err)
	}
	de := r.err(&DeliveryError{Failed: 1, Total: 2, Retryable: true, Err: errors.New(secret)})
	if !IsRetryable(de) || len(leaks(de.Error(), secret)) > 0 {
		t.Errorf("unexpected redacted DeliveryError %v", de)
	}
	clean := errors.New("clean")
	if !errors.Is(r.err(clean), clean) {
		t.Errorf("a clean error was replaced")
	}
	var none *redactor
	if none.string(secret) != secret || !errors.Is(none.err(clean), clean) {
		t.Errorf("a nil redactor changed something")
	}
}

func mustJSON(s string) string {
	j, _ := json.Marshal(s)
	return string(j)
}

// A broker error message that echoes the password (through kafka-go, as a
// library may) is redacted from Deliver's error, from the log, and from the
// dead-letter header, over SASL PLAIN with a password from a file or the
// environment.
func TestDeliverRedactsPassword(t *testing.T) {
	const password = "plain\x01s3cret\"<pw>"
	for _, source := range []string{"file", "env"} {
		c := newCluster(t, kfake.EnableSASL(), kfake.Superuser("PLAIN", "fluent", password))
		var echo string
		c.ControlKey(int16(kmsg.Produce), func(req kmsg.Request) (kmsg.Response, error, bool) {
			c.KeepControl()
			return failPartitions(req, func(topic string, _ int32, _ []byte) (int16, *string) {
				code := map[string]int16{stageTopics[3]: kerr.TopicAuthorizationFailed.Code, stageTopics[1]: kerr.InvalidRecord.Code}[topic]
				if code == 0 {
					return 0, nil
				}
				return code, kmsg.StringPtr(echo)
			})
		})
		cfg := testConfig(c.ListenAddrs())
		cfg.DeadLetterTopic = "dlq"
		cfg.SASL = SASLConfig{Mechanism: SASLPlain, Username: "fluent"}
		setPassword(t, &cfg.SASL, source, password)
		s, rec := newTestSink(t, cfg)
		var all strings.Builder
		for _, e := range []string{password, strconv.Quote(password), mustJSON(password)} {
			echo = "bad credentials " + e
			_, err := s.Deliver(context.Background(), testEvents(200, 600))
			if !IsRetryable(err) {
				t.Fatalf("%s: want the refusal's retryable error; got %v", source, err)
			}
			all.WriteString(err.Error() + "\n")
			// Without the refused topic, the rejected records are
			// dead-lettered and the call succeeds.
			started := testEvents(8, 600)
			for i := range started {
				started[i].Stage = StageResponseStarted
			}
			if _, err := s.Deliver(context.Background(), started); err != nil {
				t.Fatalf("%s: Deliver: %v", source, err)
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := s.Check(ctx); err != nil {
			all.WriteString(err.Error())
		}
		cancel()
		auth := kgo.SASL(plain.Auth{User: "fluent", Pass: password}.AsMechanism())
		for _, r := range consumeWith(t, []kgo.Opt{auth}, c.ListenAddrs(), 3, "dlq") {
			all.WriteString(r.headers[HeaderError] + "\n")
		}
		all.WriteString(rec.text())
		text := all.String()
		if !strings.Contains(text, "bad credentials "+redacted) {
			t.Errorf("%s: the echo never arrived, the test proves nothing:\n%s", source, text)
		}
		if l := leaks(text, password); len(l) > 0 {
			t.Errorf("%s: the password leaked (%q):\n%s", source, l, text)
		}
	}
}

// A key file that cannot be used is named in the error, and none of its
// content is echoed: not a line of a key that does not match the
// certificate, nor of a file that is no key at all.
func TestTLSKeyFileNotEchoed(t *testing.T) {
	dir := t.TempDir()
	certPEM, _ := selfSigned(t)
	_, otherKeyPEM := selfSigned(t)
	certFile := filepath.Join(dir, "cert.pem")
	if err := os.WriteFile(certFile, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string][]byte{
		"mismatched key": otherKeyPEM,
		"not PEM":        []byte("hunter2-this-is-not-a-key-but-a-secret\nsecond-secret-line\n"),
		"wrong block":    []byte("-----BEGIN CERTIFICATE-----\nc2VjcmV0LWJhc2U2NC1jb250ZW50LW9mLXRoZS1rZXk=\n-----END CERTIFICATE-----\n"),
	} {
		keyFile := filepath.Join(dir, "key.pem")
		if err := os.WriteFile(keyFile, content, 0o600); err != nil {
			t.Fatal(err)
		}
		cfg := testConfig([]string{"k:9092"})
		cfg.TLS = TLSConfig{Enabled: true, CertFile: certFile, KeyFile: keyFile}
		rec := &logRecorder{}
		_, err := New(cfg, rec.log)
		if err == nil || !strings.Contains(err.Error(), "kafka_key_file") {
			t.Fatalf("%s: want an error naming kafka_key_file; got %v", name, err)
		}
		text := err.Error() + rec.text()
		for _, line := range strings.Split(string(content), "\n") {
			if len(line) >= 8 && !strings.HasPrefix(line, "-----") && strings.Contains(text, line) {
				t.Errorf("%s: the key file's line %q is in %q", name, line, text)
			}
		}
	}
}

// selfSigned returns a PEM certificate and its PEM private key.
func selfSigned(t *testing.T) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "client"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
}

// setPassword gives sasl the password from source: "file" (a file holding
// it and a newline) or "env" (an environment variable).
func setPassword(t *testing.T, sasl *SASLConfig, source, password string) {
	t.Helper()
	if source == "file" {
		sasl.PasswordFile = filepath.Join(t.TempDir(), "password")
		if err := os.WriteFile(sasl.PasswordFile, []byte(password+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return
	}
	sasl.PasswordEnv = "TEST_SINK_PASSWORD"
	t.Setenv(sasl.PasswordEnv, password)
}
