package setup

import (
	"fmt"
	"os"
	"strings"

	"github.com/auditstream/auditstream/filter"
)

// The redaction keys. Redaction is on unless redact is off: a policy that
// logs Secrets at Request level would otherwise send credentials to
// everyone who reads the topics.
const (
	KeyRedact            = "redact"
	KeyRedactMode        = "redact_mode"
	KeyRedactHashKeyFile = "redact_hash_key_file"
	KeyRedactFields      = "redact_fields"
)

// RedactKeys lists the redaction keys, which apply and simulate read too.
func RedactKeys() []string {
	return []string{KeyRedact, KeyRedactMode, KeyRedactHashKeyFile, KeyRedactFields}
}

// ReadRedaction reads the redaction keys: nil when redact is off. The error
// names the key.
func ReadRedaction(get func(string) string) (*filter.Redaction, error) {
	switch v := strings.TrimSpace(get(KeyRedact)); strings.ToLower(v) {
	case "", "on", "true", "yes", "1":
	case "off", "false", "no", "0":
		return nil, nil
	default:
		return nil, fmt.Errorf("%s: invalid value %q: want on or off (true/false, yes/no, 1/0)", KeyRedact, v)
	}
	var c filter.RedactConfig
	if v := strings.TrimSpace(get(KeyRedactMode)); v != "" {
		m, err := filter.ParseRedactMode(v)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", KeyRedactMode, err)
		}
		c.Mode = m
	}
	path := strings.TrimSpace(get(KeyRedactHashKeyFile))
	switch {
	case c.Mode == filter.RedactHash && path == "":
		return nil, fmt.Errorf("%s: required with %s hash: a file that holds the HMAC key (at least %d bytes)", KeyRedactHashKeyFile, KeyRedactMode, filter.MinRedactHashKey)
	case c.Mode != filter.RedactHash && path != "":
		return nil, fmt.Errorf("%s: only used with %s hash", KeyRedactHashKeyFile, KeyRedactMode)
	case path != "":
		key, err := os.ReadFile(path)
		if err != nil {
			// The error names the file but never shows its content.
			return nil, fmt.Errorf("%s: %w", KeyRedactHashKeyFile, err)
		}
		if len(key) < filter.MinRedactHashKey {
			return nil, fmt.Errorf("%s: %s holds %d bytes; want at least %d", KeyRedactHashKeyFile, path, len(key), filter.MinRedactHashKey)
		}
		c.HashKey = key
	}
	c.Fields = filter.ParseRedactFields(get(KeyRedactFields))
	r, err := filter.NewRedaction(c)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", KeyRedactFields, err)
	}
	return r, nil
}
