package reference

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"k8s.io/apiserver/pkg/apis/audit"

	"github.com/auditstream/auditstream/internal/testenv"
)

func loadEvaluator(t *testing.T, name string) Evaluator {
	t.Helper()
	data, err := os.ReadFile(testenv.AuditLog(t, name))
	if err != nil {
		t.Fatal(err)
	}
	p, err := LoadPolicy(data)
	if err != nil {
		t.Fatal(err)
	}
	return NewEvaluator(p)
}

// sampleEvent is the part of a sample event the tests check against.
type sampleEvent struct {
	Level     string `json:"level"`
	Stage     string `json:"stage"`
	Verb      string `json:"verb"`
	ObjectRef *struct {
		Name string `json:"name"`
	} `json:"objectRef"`
}

// TestAudit2rbacLevels checks the reference against a real log and the policy
// it was written with: every event gets its logged level.
func TestAudit2rbacLevels(t *testing.T) {
	eval := loadEvaluator(t, "audit2rbac-demo-policy.v1.yaml")
	for _, tc := range []struct {
		file string
		// omitted is the stage the policy omits although the log has it:
		// the full log was written in 2017 with a policy that did not omit
		// RequestReceived; the policy file is the 2022 one.
		omitted audit.Stage
		events  int
	}{
		{"audit2rbac-demo.v1.jsonl", "", 37},
		{"audit2rbac-demo-full.v1beta1.jsonl", audit.StageRequestReceived, 757},
	} {
		t.Run(tc.file, func(t *testing.T) {
			lines := testenv.ReadLines(t, tc.file)
			if len(lines) != tc.events {
				t.Fatalf("%d events, want %d", len(lines), tc.events)
			}
			for i, line := range lines {
				var ev sampleEvent
				if err := json.Unmarshal(line, &ev); err != nil {
					t.Fatal(err)
				}
				d, err := Decide(eval, line)
				if err != nil {
					t.Fatalf("line %d: %v", i+1, err)
				}
				if string(d.Level) != ev.Level {
					t.Errorf("line %d: level %s, logged %s", i+1, d.Level, ev.Level)
				}
				if wantOmitted := d.Stage == tc.omitted; d.StageOmitted != wantOmitted {
					t.Errorf("line %d: stage %s omitted=%v, want %v", i+1, d.Stage, d.StageOmitted, wantOmitted)
				}
				// Under the policy it was written with, an event is kept unchanged.
				out, kept, err := Rewrite(eval, line)
				if err != nil || kept != !d.StageOmitted || (kept && !JSONEqual(out, line)) {
					t.Errorf("line %d: rewrite: kept %v, err %v\n%s", i+1, kept, err, out)
				}
			}
		})
	}
}

// TestCreateNameEnrichment: a create's objectRef.name at ResponseComplete is
// the new object's name, filled in from the body after the policy ran; the
// policy saw no name.
func TestCreateNameEnrichment(t *testing.T) {
	creates := 0
	for _, line := range testenv.ReadLines(t, "audit2rbac-demo-full.v1beta1.jsonl") {
		var ev sampleEvent
		if err := json.Unmarshal(line, &ev); err != nil {
			t.Fatal(err)
		}
		if ev.Verb != "create" || ev.ObjectRef == nil || ev.ObjectRef.Name == "" {
			continue
		}
		attrs, err := Attributes(line)
		if err != nil {
			t.Fatal(err)
		}
		if attrs.GetName() != "" {
			continue // a create on a named subresource, e.g. pods/x/binding
		}
		creates++
	}
	if creates != 80 {
		t.Errorf("%d enriched creates, want 80 (audit-semantics.md §1c)", creates)
	}

	// A rule with resourceNames cannot match a create to the collection,
	// even though the logged objectRef names the object.
	p, err := LoadPolicy([]byte(`
apiVersion: audit.k8s.io/v1
kind: Policy
rules:
- level: RequestResponse
  resources: [{resources: [configmaps], resourceNames: [cm1]}]
- level: Metadata
`))
	if err != nil {
		t.Fatal(err)
	}
	line := []byte(`{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"RequestResponse","auditID":"a","stage":"ResponseComplete",` +
		`"requestURI":"/api/v1/namespaces/default/configmaps?fieldManager=kubectl-create","verb":"create","user":{"username":"alice"},` +
		`"objectRef":{"resource":"configmaps","namespace":"default","name":"cm1","apiVersion":"v1"},"responseStatus":{"metadata":{},"code":201},` +
		`"requestObject":{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"cm1"}},"responseObject":{"kind":"ConfigMap"},` +
		`"requestReceivedTimestamp":"2024-01-01T00:00:00.000000Z","stageTimestamp":"2024-01-01T00:00:00.001000Z"}`)
	d, err := Decide(NewEvaluator(p), line)
	if err != nil {
		t.Fatal(err)
	}
	if d.Level != audit.LevelMetadata {
		t.Errorf("level %s, want Metadata: the policy saw name \"\"", d.Level)
	}
	out, kept, err := Rewrite(NewEvaluator(p), line)
	if err != nil || !kept {
		t.Fatalf("kept=%v err=%v", kept, err)
	}
	if strings.Contains(string(out), "requestObject") || !strings.Contains(string(out), `"level":"Metadata"`) {
		t.Errorf("rewrite: %s", out)
	}
}

// TestFalcoTraces runs the hand-edited Falco traces (sorted keys, missing
// apiVersion, bodies at every level) through every entry point.
func TestFalcoTraces(t *testing.T) {
	lines := testenv.ReadLines(t, "falco-k8s-audit-traces.jsonl")
	if bytes.Contains(bytes.Join(lines, nil), []byte("managedFields")) {
		t.Fatal("the traces now carry managedFields: update this test")
	}
	eval := loadEvaluator(t, "audit2rbac-demo-policy.v1.yaml")
	all := mustEvaluator(t, "apiVersion: audit.k8s.io/v1\nkind: Policy\nomitManagedFields: true\nrules:\n- level: RequestResponse\n")
	for i, line := range lines {
		if _, err := Attributes(line); err != nil {
			t.Errorf("line %d: %v", i+1, err)
			continue
		}
		for _, ev := range []Evaluator{eval, all} {
			out, kept, err := Rewrite(ev, line)
			if err != nil {
				t.Errorf("line %d: %v", i+1, err)
				continue
			}
			if !kept {
				continue
			}
			// The traces predate managedFields, and a RequestResponse
			// policy lowers nothing: the event must come out unchanged.
			if ev == all && !JSONEqual(out, line) {
				t.Errorf("line %d: a RequestResponse policy changed the event:\n%s", i+1, out)
			}
			// The benchmarks' baseline must reach the same decision. Its
			// typed audit/v1 Event cannot hold these v1beta1 events' extra
			// fields, so only the parts the policy decides are compared.
			sOut, sKept, err := StraightforwardPath(ev, line)
			if err != nil || !sKept {
				t.Errorf("line %d: straightforward path: kept %v, err %v", i+1, sKept, err)
				continue
			}
			for _, key := range []string{"level", "stage", "requestObject", "responseObject"} {
				if a, b := jsonMember(t, sOut, key), jsonMember(t, out, key); !JSONEqual(a, b) {
					t.Errorf("line %d: straightforward path's %s is %s; want %s", i+1, key, a, b)
				}
			}
		}
	}
}

// jsonMember returns the raw value of a top-level member of the object in
// doc, or null when it is absent.
func jsonMember(t *testing.T, doc []byte, key string) []byte {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(doc, &m); err != nil {
		t.Fatalf("not a JSON object: %v", err)
	}
	if v, ok := m[key]; ok {
		return v
	}
	return []byte("null")
}

func mustEvaluator(t testing.TB, policy string) Evaluator {
	t.Helper()
	p, err := LoadPolicy([]byte(policy))
	if err != nil {
		t.Fatal(err)
	}
	return NewEvaluator(p)
}
