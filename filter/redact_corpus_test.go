package filter_test

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/auditstream/auditstream/filter"
	"github.com/auditstream/auditstream/internal/gen"
	"github.com/auditstream/auditstream/internal/testenv"
)

// With redaction off, the output is the policy's alone, byte for byte; with
// it on, only events whose requests carry secrets change. Both on the real
// logs and on generated events, under a policy that keeps every body and one
// that also strips managedFields.
func TestRedactionOffAndOnRealAndGeneratedEvents(t *testing.T) {
	var lines [][]byte
	for _, name := range []string{"audit2rbac-demo-full.v1beta1.jsonl", "audit2rbac-demo.v1.jsonl", "falco-k8s-audit-traces.jsonl"} {
		lines = append(lines, testenv.ReadLines(t, name)...)
	}
	r := rand.New(rand.NewPCG(3, 4))
	for range 3000 {
		lines = append(lines, gen.Event(r))
	}
	redaction, err := filter.NewRedaction(filter.RedactConfig{})
	if err != nil {
		t.Fatal(err)
	}
	for _, policy := range []string{
		"apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: RequestResponse\n",
		"apiVersion: audit.k8s.io/v1\nkind: Policy\nomitManagedFields: true\nrules:\n- level: RequestResponse\n",
	} {
		p, _, err := filter.Compile([]byte(policy))
		if err != nil {
			t.Fatal(err)
		}
		plain, off, on := p.NewProcessor(), p.WithRedaction(nil).NewProcessor(), p.WithRedaction(redaction).NewProcessor()
		redacted := 0
		for i, l := range lines {
			want, _, wantErr := plain.AppendEvent(nil, l)
			got, _, err := off.AppendEvent(nil, l)
			if !bytes.Equal(got, want) || (err == nil) != (wantErr == nil) {
				t.Fatalf("line %d: redaction off changed the output:\n got %s\nwant %s", i, got, want)
			}
			if wantErr != nil {
				continue
			}
			if checkRedactionOnlyTouchesSecrets(t, on, l, want) {
				redacted++
			}
		}
		t.Logf("%d events, %d redacted", len(lines), redacted)
		if redacted == 0 {
			t.Fatal("no event was redacted: the sample has no secrets")
		}
	}
}
