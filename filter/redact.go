package filter

import (
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"strings"
)

// RedactMode is what redaction does with a secret value.
type RedactMode uint8

const (
	// RedactMask replaces the value with the string RedactMarker.
	RedactMask RedactMode = iota
	// RedactHash replaces the value with "hmac-sha256:<hex>", its HMAC-SHA256
	// under a key of the operator's: equal secrets give equal markers, so
	// they can be correlated without being revealed.
	RedactHash
	// RedactRemove removes the member that holds the value.
	RedactRemove
)

var redactModeNames = [...]string{"mask", "hash", "remove"}

func (m RedactMode) String() string { return redactModeNames[m] }

// ParseRedactMode reads "mask", "hash" or "remove".
func ParseRedactMode(s string) (RedactMode, error) {
	for i, n := range redactModeNames {
		if strings.EqualFold(s, n) {
			return RedactMode(i), nil
		}
	}
	return 0, fmt.Errorf("unknown value %q: want one of %s", s, strings.Join(redactModeNames[:], ", "))
}

// RedactMarker is what RedactMask writes in place of a secret value.
const RedactMarker = "[redacted]"

// hashMarkerPrefix starts RedactHash's markers.
const hashMarkerPrefix = "hmac-sha256:"

// MinRedactHashKey is the shortest key RedactHash accepts: a short key
// would let anyone who sees the markers guess short secrets offline.
const MinRedactHashKey = 16

// RedactConfig says what to redact and how.
type RedactConfig struct {
	Mode RedactMode
	// HashKey is RedactHash's HMAC key.
	HashKey []byte
	// Fields are extra fields to redact, each "group/resource:json.path"
	// (see README), beside the built-in ones.
	Fields []string
}

// Redaction is a compiled RedactConfig. It is immutable and safe for
// concurrent use.
type Redaction struct {
	mode    RedactMode
	hashKey []byte
	rules   []redactRule
	// labels name each field, in the redact_fields syntax; counts are by
	// index into them.
	labels []string
}

// NewRedaction compiles c: the built-in fields and c.Fields.
func NewRedaction(c RedactConfig) (*Redaction, error) {
	if c.Mode > RedactRemove {
		return nil, errors.New("unknown redaction mode")
	}
	if c.Mode == RedactHash && len(c.HashKey) < MinRedactHashKey {
		return nil, fmt.Errorf("hash mode needs a key of at least %d bytes, got %d", MinRedactHashKey, len(c.HashKey))
	}
	fields := append(append([]string(nil), builtinRedactFields...), c.Fields...)
	rules, labels, err := buildRedactRules(fields)
	if err != nil {
		return nil, err
	}
	return &Redaction{mode: c.Mode, hashKey: append([]byte(nil), c.HashKey...), rules: rules, labels: labels}, nil
}

// ParseRedactFields splits a redact_fields value: fields separated by ';'.
func ParseRedactFields(v string) []string {
	var out []string
	for _, f := range strings.Split(v, ";") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// Mode is the redaction's mode.
func (r *Redaction) Mode() RedactMode { return r.mode }

// Fields names the redacted fields; Processor.RedactedFields counts by
// index into it.
func (r *Redaction) Fields() []string { return r.labels }

// WithRedaction returns a policy that decides as p does and redacts with r
// the events it keeps; nil turns redaction off, and the output is then
// byte for byte what p alone writes.
func (p *Policy) WithRedaction(r *Redaction) *Policy {
	cp := *p
	cp.redact = r
	return &cp
}

// Redaction is the policy's redaction, nil when off.
func (p *Policy) Redaction() *Redaction { return p.redact }

// ruleFor returns the fields to redact in a request's bodies, nil for
// almost every request. It reads only the attributes the policy decided
// on, so an event without secrets costs these comparisons and nothing more.
func (r *Redaction) ruleFor(a *Attributes) *redactRule {
	if r == nil || !a.ResourceRequest {
		return nil
	}
	var whole *redactRule
	for i := range r.rules {
		q := &r.rules[i]
		if q.resource != string(a.Resource) || q.group != string(a.APIGroup) {
			continue
		}
		if q.subresource == string(a.Subresource) && !q.anySubresource {
			return q
		}
		if q.anySubresource {
			whole = q
		}
	}
	return whole
}

// redactState is a Processor's scratch memory for redaction.
type redactState struct {
	// counts is, per field label, how many values of the last event were
	// redacted; total sums them.
	counts []int
	total  int
	// dirty: counts may hold an earlier event's.
	dirty bool
	// perBody counts by body (requestObject, responseObject) and label, for
	// the annotation.
	perBody [2][]int
	// out holds markers and the annotation. Edits keep views of it; it is
	// only appended to until the next event, so the views stay valid even
	// when it grows.
	out []byte
	// tmp holds a decoded value or patch path.
	tmp, sum []byte
	mac      hash.Hash
}

func (st *redactState) reset(r *Redaction) {
	if len(st.counts) != len(r.labels) {
		st.counts = make([]int, len(r.labels))
		st.perBody[0] = make([]int, len(r.labels))
		st.perBody[1] = make([]int, len(r.labels))
	}
	if st.dirty {
		clear(st.counts)
		clear(st.perBody[0])
		clear(st.perBody[1])
	}
	st.total, st.dirty = 0, true
	st.out = st.out[:0]
	if r.mode == RedactHash && st.mac == nil {
		st.mac = hmac.New(sha256.New, r.hashKey)
	}
}

// planRedaction adds to pr.edits the redaction of the bodies the rewrite
// keeps, and the annotation that says what it redacted.
func (pr *Processor) planRedaction(line []byte, res Result) error {
	r := pr.policy.redact
	s := &pr.scan
	if r == nil || res.Level < LevelRequest {
		return nil
	}
	rule := r.ruleFor(&pr.fields.Attrs)
	if rule == nil {
		return nil
	}
	st := &pr.redactSt
	st.reset(r)
	patch := string(pr.fields.Attrs.Verb) == "patch"
	w := redactWalk{l: &pr.edits, st: st, r: r, b: line}
	// Every copy of a body is walked: a consumer may read any one of them
	// (see copySpan).
	for _, c := range s.copies {
		var err error
		switch {
		case c.field == fieldRequestObject:
			w.body = 0
			err = w.walkBody(rule.root, c.valStart, patch)
		case c.field == fieldResponseObject && res.Level >= LevelRequestResponse:
			w.body = 1
			err = w.walkBody(rule.root, c.valStart, false)
		}
		if err != nil {
			return err
		}
	}
	if st.total == 0 {
		return nil
	}
	return pr.addRedactedAnnotation(line)
}

// RedactedFields returns, for the last event, how many values of each field
// of the policy's redaction (by index into Redaction.Fields) were redacted,
// and their sum. The slice is valid until the Processor's next call; it is
// nil when redaction is off or did not look at the event.
func (pr *Processor) RedactedFields() (counts []int, total int) {
	if pr.redactSt.total == 0 {
		return nil, 0
	}
	return pr.redactSt.counts, pr.redactSt.total
}
