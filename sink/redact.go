package sink

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"

	"github.com/segmentio/kafka-go"
)

// redacted replaces a secret in text that leaves the sink.
const redacted = "[redacted]"

// redactor removes secrets (the SASL password) from every error and log line
// that leaves the sink: libraries the sink calls may echo what they were
// given (xdg-go/scram's "Error SASLprepping password '...'"), and an error
// travels on to Fluent Bit's log. A secret is searched raw and in the escaped
// forms that printing it through %q, strconv.Quote or JSON gives, also twice
// over (a quoted error inside a quoted error). The zero value, and a nil
// *redactor, redact nothing.
type redactor struct {
	// forms of every secret, longest first, so that a longer escaped form
	// is replaced before a shorter one inside it.
	forms []string
}

func newRedactor(secrets ...string) *redactor {
	r := &redactor{}
	for _, s := range secrets {
		if s == "" {
			continue
		}
		level := []string{s}
		for range 2 {
			var next []string
			for _, f := range level {
				next = append(next, escapedForms(f)...)
			}
			r.forms = append(r.forms, level...)
			level = next
		}
		r.forms = append(r.forms, level...)
	}
	slices.SortFunc(r.forms, func(a, b string) int { return len(b) - len(a) })
	r.forms = slices.Compact(r.forms)
	return r
}

// escapedForms returns s as the quoting functions print it, without the
// surrounding quotes, so that it is found inside a longer quoted string.
func escapedForms(s string) []string {
	unquote := func(q string) string { return q[1 : len(q)-1] }
	forms := []string{unquote(strconv.Quote(s)), unquote(strconv.QuoteToASCII(s)), unquote(strconv.QuoteToGraphic(s))}
	if j, err := json.Marshal(s); err == nil {
		forms = append(forms, unquote(string(j)))
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if enc.Encode(s) == nil {
		forms = append(forms, unquote(strings.TrimSuffix(buf.String(), "\n")))
	}
	return forms
}

// string returns s with every form of every secret replaced.
func (r *redactor) string(s string) string {
	if r == nil {
		return s
	}
	for _, f := range r.forms {
		if strings.Contains(s, f) {
			s = strings.ReplaceAll(s, f, redacted)
		}
	}
	return s
}

// err returns err unchanged when its text holds no secret, else an error
// with the redacted text that unwraps only to the Kafka error code inside it
// (whose text is the broker's, without secrets), so that classification and
// errors.Is on codes still work. A *DeliveryError keeps its fields.
func (r *redactor) err(err error) error {
	if r == nil || len(r.forms) == 0 || err == nil {
		return err
	}
	if de, ok := err.(*DeliveryError); ok { //nolint:errorlint // only the outermost: its Err is redacted below
		c := *de
		c.Err = r.err(de.Err)
		return &c
	}
	msg := err.Error()
	clean := r.string(msg)
	if clean == msg {
		return err
	}
	re := &redactedError{msg: clean}
	var kerr kafka.Error
	if errors.As(err, &kerr) {
		re.code = kerr
	}
	return re
}

// redactedError is an error whose text had a secret removed.
type redactedError struct {
	msg  string
	code error // a kafka.Error, or nil
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.code }
