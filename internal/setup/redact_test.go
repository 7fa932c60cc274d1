package setup

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/auditstream/auditstream/filter"
)

func TestReadRedaction(t *testing.T) {
	base := keys{"policy_file": "p", "brokers": "a:1"}
	with := func(kv ...string) keys {
		k := keys{}
		for n, v := range base {
			k[n] = v
		}
		for i := 0; i < len(kv); i += 2 {
			k[kv[i]] = kv[i+1]
		}
		return k
	}
	s, err := Read(base.get)
	if err != nil {
		t.Fatal(err)
	}
	if s.Redaction == nil || s.Redaction.Mode() != filter.RedactMask {
		t.Fatalf("redaction is not on in mask mode by default: %+v", s.Redaction)
	}
	if s, err = Read(with("redact", "Off").get); err != nil || s.Redaction != nil {
		t.Fatalf("redact off: %v, %+v", err, s.Redaction)
	}
	keyFile := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(keyFile, []byte("0123456789abcdef0123"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err = Read(with("redact_mode", "hash", "redact_hash_key_file", keyFile, "redact_fields", "example.com/widgets:spec.password").get)
	if err != nil || s.Redaction.Mode() != filter.RedactHash || !strings.Contains(strings.Join(s.Redaction.Fields(), ";"), "example.com/widgets:spec.password") {
		t.Fatalf("hash mode: %v, %+v", err, s.Redaction)
	}
	short := filepath.Join(t.TempDir(), "short")
	if err := os.WriteFile(short, []byte("secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	f := func(k keys, want string) {
		t.Helper()
		if _, err := Read(k.get); err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("%v: error %v; want one starting with %q", k, err, want)
		}
	}
	f(with("redact", "maybe"), `redact: invalid value "maybe"`)
	f(with("redact_mode", "scramble"), `redact_mode: unknown value "scramble"`)
	f(with("redact_mode", "hash"), "redact_hash_key_file: required")
	f(with("redact_mode", "hash", "redact_hash_key_file", short), "redact_hash_key_file: "+short+" holds 6 bytes")
	f(with("redact_mode", "hash", "redact_hash_key_file", filepath.Join(t.TempDir(), "none")), "redact_hash_key_file: open")
	f(with("redact_hash_key_file", keyFile), "redact_hash_key_file: only used with redact_mode hash")
	f(with("redact_fields", "widgets"), "redact_fields:")
}
