package filter

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/auditstream/auditstream/internal/testenv"
)

// The hot path allocates nothing once a Processor and its dst have warmed up,
// whatever the event: kept, dropped or rewritten. A broken event costs its
// error value and nothing more.
func TestAppendEventAllocatesNothing(t *testing.T) {
	// Redaction is on, as it is by default: events without secrets pay nothing for it.
	p := mustCompile(t, policyAll).WithRedaction(mustRedaction(t, RedactMask))
	lines := testenv.ReadLines(t, "falco-k8s-audit-traces.jsonl")
	lines = append(lines, testenv.ReadLines(t, "audit2rbac-demo-full.v1beta1.jsonl")[:100]...)
	lines = append(lines,
		[]byte(event("list", "/api/v1/namespaces/default/configmaps?fieldSelector=metadata.name%3Dcm1\\u0026limit=10", `{"username":"\u0061lice","groups":["g"]}`,
			`"responseObject":{"kind":"Table","rows":[{"object":{"metadata":{"managedFields":[]}}}]}`)),
		// Lowered to Metadata: the webhook's patch annotation goes.
		[]byte(event("update", "/api/v1/namespaces/default/secrets/s", alice,
			`"annotations":{"a":"b","patch.webhook.admission.k8s.io/round_0_index_0":"{}"}`)),
	)
	broken := []byte(`{"kind":"Event","level":"Metadata"`)
	pr := p.NewProcessor()
	dst := make([]byte, 0, 1<<20)
	for _, l := range lines { // warm up the processor's reusable memory
		pr.AppendEvent(dst[:0], l)
	}
	for i, l := range lines {
		allocs := testing.AllocsPerRun(20, func() {
			pr.AppendEvent(dst[:0], l)
		})
		if allocs != 0 {
			t.Fatalf("line %d: %v allocations per event; want 0: %.200s", i, allocs, l)
		}
	}
	if allocs := testing.AllocsPerRun(20, func() { pr.AppendEvent(dst[:0], broken) }); allocs > 1 {
		t.Fatalf("broken event: %v allocations; want at most 1 (the error)", allocs)
	}
}

func TestDecideAllocatesNothing(t *testing.T) {
	p := mustCompile(t, policyAll)
	a := Attributes{HasUser: true, Username: []byte("bob"), Groups: [][]byte{[]byte("g")}, Verb: []byte("get"),
		ResourceRequest: true, Resource: []byte("pods"), Subresource: []byte("log"), Namespace: []byte("ns")}
	if allocs := testing.AllocsPerRun(100, func() { p.Decide(&a) }); allocs != 0 {
		t.Fatalf("%v allocations per decision; want 0", allocs)
	}
}

// One Policy serves many goroutines, each with its own Processor (run with -race).
func TestConcurrentProcessors(t *testing.T) {
	p := mustCompile(t, policyAll)
	lines := testenv.ReadLines(t, "falco-k8s-audit-traces.jsonl")
	want := make([]string, len(lines))
	pr := p.NewProcessor()
	for i, l := range lines {
		out, _, _ := pr.AppendEvent(nil, l)
		want[i] = string(out)
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			pr := p.NewProcessor()
			for range 20 {
				for i, l := range lines {
					out, _, _ := pr.AppendEvent(nil, l)
					if string(out) != want[i] {
						t.Errorf("line %d differs under concurrency", i)
						return
					}
				}
			}
		})
	}
	wg.Wait()
}

// TestLabelSelectorAllocationsAreBounded: the one case that allocates, a
// list naming an object by field selector and also selecting labels, costs
// the label selector's parse (apimachinery's) the first time a processor
// sees the selector, nothing more for a larger event, and nothing at all for
// a selector it saw recently (selectorcache.go).
func TestLabelSelectorAllocationsAreBounded(t *testing.T) {
	p := mustCompile(t, policyAll)
	pr := p.NewProcessor()
	const runs = 50
	lines := func(body ...string) [][]byte {
		var ls [][]byte
		for i := range runs + 1 {
			uri := fmt.Sprintf("/api/v1/namespaces/default/configmaps?fieldSelector=metadata.name%%3Dcm1\\u0026labelSelector=app%%3Dweb%d%%2Ctier%%21%%3Ddb", i)
			ls = append(ls, []byte(event("list", uri, alice, body...)))
		}
		return ls
	}
	small := lines()
	large := lines(`"responseObject":{"kind":"ConfigMapList","items":[` +
		strings.Repeat(`{"metadata":{"name":"cm1","labels":{"app":"web"}},"data":{"k":"v"}},`, 200) + `{}]}`)
	dst := make([]byte, 0, 1<<16)
	fresh := func(ls [][]byte) float64 {
		i := 0
		return testing.AllocsPerRun(runs, func() { pr.AppendEvent(dst[:0], ls[i]); i++ })
	}
	repeated := func(line []byte) float64 {
		pr.AppendEvent(dst[:0], line)
		return testing.AllocsPerRun(runs, func() { pr.AppendEvent(dst[:0], line) })
	}
	a, b := fresh(small), fresh(large)
	t.Logf("allocations per event with a new selector: %v for %d bytes, %v for %d bytes", a, len(small[0]), b, len(large[0]))
	if a == 0 || b != a {
		t.Fatalf("allocations per event with a new selector: %v for %d bytes, %v for %d bytes; want the same number, above 0 (the parse)", a, len(small[0]), b, len(large[0]))
	}
	if a, b := repeated(small[0]), repeated(large[0]); a != 0 || b != 0 {
		t.Fatalf("allocations per event with a selector seen before: %v and %v; want 0", a, b)
	}
}
