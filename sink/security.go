package sink

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/sasl"
	"github.com/segmentio/kafka-go/sasl/plain"
	"github.com/segmentio/kafka-go/sasl/scram"
)

// buildTLS loads the files named in t. It runs once, at New: a certificate
// renewed on disk is picked up by restarting the sink.
func buildTLS(t *TLSConfig) (*tls.Config, error) {
	if !t.Enabled {
		return nil, nil
	}
	cfg := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		ServerName:         t.ServerName,
		InsecureSkipVerify: t.InsecureSkipVerify, //nolint:gosec // opt-in, warned about at New
	}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("kafka_ca_file: cannot read %q: %w", t.CAFile, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("kafka_ca_file: no PEM certificate found in %q", t.CAFile)
		}
		cfg.RootCAs = pool
	}
	if t.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("kafka_cert_file, kafka_key_file: cannot load %q and %q: %w", t.CertFile, t.KeyFile, err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

// buildSASL reads the password and returns the mechanism, and a redactor of
// the password for every error and log line that leaves the sink. The
// password lives only inside the mechanism and the redactor; no error
// message includes it.
func buildSASL(s *SASLConfig) (sasl.Mechanism, *redactor, error) {
	if s.Mechanism == SASLNone {
		return nil, nil, nil
	}
	password, err := readPassword(s)
	if err != nil {
		return nil, nil, err
	}
	r := newRedactor(password)
	switch s.Mechanism {
	case SASLPlain:
		return plain.Mechanism{Username: s.Username, Password: password}, r, nil
	case SASLScramSHA256, SASLScramSHA512:
		algo := scram.SHA512
		if s.Mechanism == SASLScramSHA256 {
			algo = scram.SHA256
		}
		m, err := scram.Mechanism(algo, s.Username, password)
		if err != nil {
			// SASLprep rejects names and passwords with control or
			// unassigned characters. The scram package's error quotes
			// the password, and its cause the character: say which
			// setting is wrong without either.
			if strings.Contains(err.Error(), "SASLprepping password") {
				return nil, nil, fmt.Errorf("%s: the password has a character SASLprep prohibits "+
					"(a control character, say, or a stray byte in the file or variable); %s cannot use it", passwordSource(s), s.Mechanism)
			}
			return nil, nil, r.err(fmt.Errorf("sasl_username: cannot use %q with %s: %w", s.Username, s.Mechanism, err))
		}
		return m, r, nil
	}
	return nil, nil, fmt.Errorf("sasl_mechanism: unknown value %q: want one of %s", s.Mechanism, strings.Join(saslMechanisms, ", "))
}

// passwordSource names the setting the password comes from, for errors.
func passwordSource(s *SASLConfig) string {
	if s.PasswordFile != "" {
		return fmt.Sprintf("sasl_password_file %q", s.PasswordFile)
	}
	return fmt.Sprintf("sasl_password_env %q", s.PasswordEnv)
}

func readPassword(s *SASLConfig) (string, error) {
	if s.PasswordFile != "" {
		b, err := os.ReadFile(s.PasswordFile)
		if err != nil {
			return "", fmt.Errorf("sasl_password_file: cannot read %q: %w", s.PasswordFile, err)
		}
		p := strings.TrimRight(string(b), "\r\n")
		if p == "" {
			return "", fmt.Errorf("sasl_password_file: %q is empty", s.PasswordFile)
		}
		return p, nil
	}
	p, ok := os.LookupEnv(s.PasswordEnv)
	if !ok || p == "" {
		return "", fmt.Errorf("sasl_password_env: environment variable %q is not set or empty", s.PasswordEnv)
	}
	return p, nil
}

// Dialer returns a kafka-go dialer with the configuration's TLS and SASL
// settings, for tools that read back what the sink wrote (auditstream verify).
func (c *Config) Dialer() (*kafka.Dialer, error) {
	d := &kafka.Dialer{Timeout: 10 * time.Second, DualStack: true, ClientID: c.ClientID}
	var err error
	if c.TLS.Enabled {
		if d.TLS, err = buildTLS(&c.TLS); err != nil {
			return nil, err
		}
	}
	if c.SASL.Mechanism != "" {
		if d.SASLMechanism, _, err = buildSASL(&c.SASL); err != nil {
			return nil, err
		}
	}
	return d, nil
}
