package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/auditstream/auditstream/filter"
	"github.com/auditstream/auditstream/internal/setup"
	"github.com/auditstream/auditstream/internal/simulate"
)

// redactFlags are apply's and simulate's spelling of the plugin's redaction
// keys, so that both write what the plugin would send.
type redactFlags struct {
	on, mode, hashKeyFile, fields string
}

func addRedactFlags(cmd *cobra.Command) *redactFlags {
	f := &redactFlags{}
	cmd.Flags().StringVar(&f.on, "redact", "on", "redact secrets in the kept bodies (on or off), as the redact key")
	cmd.Flags().StringVar(&f.mode, "redact-mode", "mask", "mask, hash or remove, as the redact_mode key")
	cmd.Flags().StringVar(&f.hashKeyFile, "redact-hash-key-file", "", "file holding the HMAC key of --redact-mode hash")
	cmd.Flags().StringVar(&f.fields, "redact-fields", "", "more fields to redact: group/resource:json.path, separated by ';'")
	return f
}

// apply returns p with the redaction the flags ask for.
func (f *redactFlags) apply(p *filter.Policy) (*filter.Policy, error) {
	keys := map[string]string{setup.KeyRedact: f.on, setup.KeyRedactMode: f.mode,
		setup.KeyRedactHashKeyFile: f.hashKeyFile, setup.KeyRedactFields: f.fields}
	r, err := setup.ReadRedaction(func(k string) string { return keys[k] })
	if err != nil {
		// The message starts with the key: name the flag instead.
		msg := err.Error()
		if k, rest, ok := strings.Cut(msg, ":"); ok {
			msg = "--" + strings.ReplaceAll(k, "_", "-") + ":" + rest
		}
		return nil, errors.New(msg)
	}
	return p.WithRedaction(r), nil
}

// renderRedaction prints what redaction did, one line per field found.
func renderRedaction(w io.Writer, r *simulate.RedactionReport) {
	if r.Mode == "off" {
		fmt.Fprintln(w, "Redaction off.")
		fmt.Fprintln(w)
		return
	}
	fmt.Fprintf(w, "Redaction (%s): %d kept events had secrets redacted\n", r.Mode, r.Events)
	t := newTable(w)
	t.row("REDACTED FIELD", "EVENTS", "VALUES")
	for _, f := range r.Fields {
		if f.Events > 0 {
			t.row(f.Field, f.Events, f.Values)
		}
	}
	t.flush()
}
