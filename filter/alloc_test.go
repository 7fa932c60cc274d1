package filter

import (
	"sync"
	"testing"

	"github.com/auditstream/auditstream/internal/testenv"
)

// The hot path allocates nothing once a Processor and its dst have warmed up,
// whatever the event: kept, dropped or rewritten. A broken event costs its
// error value and nothing more.
func TestAppendEventAllocatesNothing(t *testing.T) {
	p := mustCompile(t, policyAll)
	lines := testenv.ReadLines(t, "falco-k8s-audit-traces.jsonl")
	lines = append(lines, testenv.ReadLines(t, "audit2rbac-demo-full.v1beta1.jsonl")[:100]...)
	lines = append(lines,
		[]byte(event("list", "/api/v1/namespaces/default/configmaps?fieldSelector=metadata.name%3Dcm1\\u0026limit=10", `{"username":"\u0061lice","groups":["g"]}`,
			`"responseObject":{"kind":"Table","rows":[{"object":{"metadata":{"managedFields":[]}}}]}`)),
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
