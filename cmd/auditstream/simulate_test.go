package main

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/auditstream/auditstream/internal/simulate"
)

var allLogs = []string{testdata + "audit2rbac-demo-full.v1beta1.jsonl", testdata + "falco-k8s-audit-traces.jsonl", testdata + "audit2rbac-demo.v1.jsonl"}

// simulate's totals are what apply writes: the same events, the same bytes.
func TestSimulateTotalsMatchApply(t *testing.T) {
	for _, policy := range []string{"../../examples/policy.yaml", testdata + "audit2rbac-demo-policy.v1.yaml"} {
		code, applied, _ := runCLI(t, "", append([]string{"apply", "--policy", policy}, allLogs...)...)
		if code != exitOK {
			t.Fatalf("apply: exit %d", code)
		}
		code, out, errOut := runCLI(t, "", append([]string{"simulate", "-o", "json", "--policy", policy}, allLogs...)...)
		if code != exitOK {
			t.Fatalf("simulate: exit %d: %s", code, errOut)
		}
		var r simulate.Report
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatal(err)
		}
		lines := int64(strings.Count(applied, "\n"))
		if r.Kept.Events != lines || r.Kept.Bytes != int64(len(applied))-lines {
			t.Errorf("%s: simulate kept %d events, %d bytes; apply wrote %d events, %d bytes",
				policy, r.Kept.Events, r.Kept.Bytes, lines, int64(len(applied))-lines)
		}
		var ruleKept, ruleMatched, topicKept int64
		for _, rule := range append(r.Rules, r.NoMatch) {
			ruleKept += rule.Kept
			ruleMatched += rule.Matched
		}
		for _, topic := range r.Topics {
			topicKept += topic.Kept
		}
		if ruleKept != r.Kept.Events || ruleMatched != r.In.Events || topicKept != r.Kept.Events || r.Events != 845 {
			t.Errorf("%s: breakdowns do not add up: rules kept %d matched %d, topics %d; kept %d of %d (%d read)",
				policy, ruleKept, ruleMatched, topicKept, r.Kept.Events, r.In.Events, r.Events)
		}
	}
}

func TestSimulateJSONMatchesSchema(t *testing.T) {
	code, out, _ := runCLI(t, "", append([]string{"simulate", "--output", "json", "--policy", "../../examples/policy.yaml"}, allLogs...)...)
	if code != exitOK {
		t.Fatalf("exit %d", code)
	}
	schemaDoc, err := jsonschema.UnmarshalJSON(bytes.NewReader(mustRead(t, "simulate.schema.json")))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("simulate.schema.json", schemaDoc); err != nil {
		t.Fatal(err)
	}
	schema, err := c.Compile("simulate.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	if err := schema.Validate(doc); err != nil {
		t.Errorf("simulate --output json does not match simulate.schema.json: %v", err)
	}
	// The schema is strict: an unknown field fails, so a drift between the
	// two cannot pass unnoticed.
	doc.(map[string]any)["extra"] = 1
	if schema.Validate(doc) == nil {
		t.Error("schema accepted an unknown field")
	}
}

func TestSimulateTable(t *testing.T) {
	code, out, _ := runCLI(t, "", "simulate", "--policy", "../../examples/policy.yaml", testdata+"audit2rbac-demo-full.v1beta1.jsonl")
	if code != exitOK {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{"Kept 414 of 757 events", "#8 Metadata omitStages=[RequestReceived]", "k8s-audit.ResponseComplete",
		"Rules that never matched:", "#3 None users=[system:kube-proxy] verbs=[watch] endpoints,services"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}

func TestSimulateCompare(t *testing.T) {
	code, out, _ := runCLI(t, "", "simulate", "-o", "json", "--policy", "../../examples/policy.yaml",
		"--compare", testdata+"audit2rbac-demo-policy.v1.yaml", testdata+"falco-k8s-audit-traces.jsonl")
	if code != exitOK {
		t.Fatalf("exit %d", code)
	}
	var c simulate.CompareReport
	if err := json.Unmarshal([]byte(out), &c); err != nil {
		t.Fatal(err)
	}
	var sum int64
	for _, p := range c.Pairs {
		sum += p.Events
	}
	if c.Differing == 0 || sum != c.Differing || len(c.Examples) == 0 || len(c.Examples) > simulate.MaxDiffExamples {
		t.Errorf("differing %d, pairs sum %d, %d examples", c.Differing, sum, len(c.Examples))
	}
	for _, d := range c.Examples {
		if d.KeptA == d.KeptB && d.LevelA == d.LevelB {
			t.Errorf("example does not differ: %+v", d)
		}
	}
	code, table, _ := runCLI(t, "", "simulate", "--policy", "../../examples/policy.yaml",
		"--compare", testdata+"audit2rbac-demo-policy.v1.yaml", testdata+"falco-k8s-audit-traces.jsonl")
	if code != exitOK || !strings.Contains(table, "events decided differently") || !strings.Contains(table, "A RULE") {
		t.Errorf("comparison table: exit %d\n%s", code, table)
	}
}

func mustRead(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
