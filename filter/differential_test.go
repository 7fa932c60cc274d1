package filter_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"

	"k8s.io/apiserver/pkg/apis/audit"

	"github.com/auditstream/auditstream/filter"
	"github.com/auditstream/auditstream/internal/gen"
	"github.com/auditstream/auditstream/internal/reference"
)

// differentialScale returns the number of policies and events per policy;
// their product is the number of (policy, event) pairs compared. The
// default is what `make test` runs; AUDITSTREAM_DIFF_POLICIES raises it for
// long local runs.
func differentialScale() (policies, events int) {
	policies, events = 200, 500
	if v, err := strconv.Atoi(os.Getenv("AUDITSTREAM_DIFF_POLICIES")); err == nil && v > 0 {
		policies = v
	}
	return policies, events
}

// TestDifferential compares the compiled policy and the byte-editing rewrite
// with k8s.io/apiserver's evaluator and an independent decode–modify–encode
// rewrite, on random valid policies and random realistic events: 100,000
// pairs by default, zero disagreements allowed on the level, the omitted
// stages, omitManagedFields, whether the event is kept, and the rewritten event.
func TestDifferential(t *testing.T) {
	nPolicies, nEvents := differentialScale()
	seed := uint64(20261126)
	if v, err := strconv.ParseUint(os.Getenv("AUDITSTREAM_DIFF_SEED"), 10, 64); err == nil {
		seed = v
	}
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	events := make([][]byte, nEvents)
	for i := range events {
		events[i] = gen.Event(r)
	}
	pairs, kept, failures, secretEvents := 0, 0, 0, 0
	redaction, err := filter.NewRedaction(filter.RedactConfig{})
	if err != nil {
		t.Fatal(err)
	}
	report := func(format string, args ...any) {
		failures++
		if failures <= 10 {
			t.Errorf(format, args...)
		}
	}
	for pi := range nPolicies {
		policyYAML := gen.Policy(r)
		ours, _, err := filter.Compile(policyYAML)
		if err != nil {
			t.Fatalf("policy %d: %v\n%s", pi, err, policyYAML)
		}
		refPolicy, err := reference.LoadPolicy(policyYAML)
		if err != nil {
			t.Fatalf("policy %d rejected by the reference: %v", pi, err)
		}
		ref := reference.NewEvaluator(refPolicy)
		pr := ours.NewProcessor()
		redacting := ours.WithRedaction(redaction).NewProcessor()
		for ei, ev := range events {
			pairs++
			where := fmt.Sprintf("policy %d (seed %d), event %d", pi, seed, ei)
			want, err := reference.Decide(ref, ev)
			if err != nil {
				t.Fatalf("%s: reference: %v\n%s", where, err, ev)
			}
			out, got, err := pr.AppendEvent(nil, ev)
			if err != nil {
				report("%s: %v\n%s", where, err, ev)
				continue
			}
			if got.Decision.Level.String() != string(want.Level) || got.Decision.OmitManagedFields != want.OmitManagedFields ||
				!sameStages(got.Decision, want.OmitStages) || got.Kept != want.Kept() {
				report("%s: decision %+v (kept %v); reference %+v (kept %v)\npolicy:\n%s\nevent: %s",
					where, got.Decision, got.Kept, want, want.Kept(), policyYAML, ev)
				continue
			}
			wantOut, wantKept, err := reference.Rewrite(ref, ev)
			if err != nil || wantKept != got.Kept {
				report("%s: reference rewrite: %v, kept %v", where, err, wantKept)
				continue
			}
			if got.Kept {
				kept++
				if !reference.JSONEqual(out, wantOut) {
					report("%s: rewrite differs\n got %s\nwant %s\npolicy:\n%s", where, out, wantOut, policyYAML)
				}
				if redacted := checkRedactionOnlyTouchesSecrets(t, redacting, ev, out); redacted {
					secretEvents++
				}
			}
		}
	}
	t.Logf("%d (policy, event) pairs, %d kept, %d disagreements, %d redacted", pairs, kept, failures, secretEvents)
	if kept == 0 || kept == pairs {
		t.Fatalf("degenerate sample: %d of %d pairs kept", kept, pairs)
	}
}

func sameStages(d filter.Decision, want []audit.Stage) bool {
	n := 0
	for st := filter.Stage(1); st <= filter.NumStages; st++ {
		if d.Omits(st) {
			n++
		}
	}
	if n != len(want) {
		return false
	}
	for _, s := range want {
		found := false
		for st := filter.Stage(1); st <= filter.NumStages; st++ {
			if st.String() == string(s) && d.Omits(st) {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// checkRedactionOnlyTouchesSecrets runs the event through pr, which redacts
// with the defaults, and checks that its output is plain's unless the
// event's request is one whose bodies carry secrets (by its objectRef,
// which the redaction never reads). It reports whether the event was
// redacted.
func checkRedactionOnlyTouchesSecrets(t *testing.T, pr *filter.Processor, ev, plain []byte) bool {
	t.Helper()
	out, _, err := pr.AppendEvent(nil, ev)
	if err != nil {
		t.Fatalf("with redaction: %v\n%s", err, ev)
	}
	if bytes.Equal(out, plain) {
		return false
	}
	var e struct {
		ObjectRef struct{ Resource, Subresource, APIGroup string }
	}
	if err := json.Unmarshal(ev, &e); err != nil {
		t.Fatal(err)
	}
	r := e.ObjectRef
	secretBearing := r.APIGroup == "" && (r.Resource == "secrets" || r.Resource == "serviceaccounts" && r.Subresource == "token") ||
		r.APIGroup == "authentication.k8s.io" && r.Resource == "tokenreviews"
	if !secretBearing {
		t.Errorf("redaction changed an event without secrets (%+v):\n got %s\nwant %s", r, out, plain)
	}
	return true
}
