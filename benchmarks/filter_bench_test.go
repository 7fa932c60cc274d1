package benchmarks

import (
	"testing"

	"k8s.io/apiserver/pkg/authorization/authorizer"

	"github.com/auditstream/auditstream/filter"
	"github.com/auditstream/auditstream/internal/attrconv"
	"github.com/auditstream/auditstream/internal/reference"
	"github.com/auditstream/auditstream/internal/testenv"
)

// The Kubernetes documentation's sample policy: 9 rules of every kind.
const benchPolicy = "../examples/policy.yaml"

type corpus struct {
	name  string
	lines [][]byte
}

func realCorpora(b testing.TB) []corpus {
	return []corpus{
		{"audit2rbac", testenv.ReadLines(b, "audit2rbac-demo-full.v1beta1.jsonl")},
		{"falco", testenv.ReadLines(b, "falco-k8s-audit-traces.jsonl")},
	}
}

// benchPolicies compiles the benchmark policy twice: ours, and the apiserver's.
func benchPolicies(b *testing.B) (*filter.Policy, reference.Evaluator) {
	data := readFile(b, benchPolicy)
	ours, _, err := filter.Compile(data)
	if err != nil {
		b.Fatal(err)
	}
	refPolicy, err := reference.LoadPolicy(data)
	if err != nil {
		b.Fatal(err)
	}
	return ours, reference.NewEvaluator(refPolicy)
}

// BenchmarkDecide compares the decision alone, on the same attributes: the
// compiled policy against k8s.io/apiserver's evaluator. Target: 0 allocs/op
// and at least 10x faster.
func BenchmarkDecide(b *testing.B) {
	ours, ref := benchPolicies(b)
	for _, c := range realCorpora(b) {
		var refAttrs []authorizer.Attributes
		var ourAttrs []filter.Attributes
		for _, l := range c.lines {
			a, err := reference.Attributes(l)
			if err != nil {
				b.Fatal(err)
			}
			refAttrs = append(refAttrs, a)
			ourAttrs = append(ourAttrs, attrconv.FromAuthorizer(a))
		}
		b.Run(c.name+"/impl=auditstream", func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				ours.Decide(&ourAttrs[i])
				if i++; i == len(ourAttrs) {
					i = 0
				}
			}
		})
		b.Run(c.name+"/impl=apiserver", func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				ref.EvaluatePolicyRule(refAttrs[i])
				if i++; i == len(refAttrs) {
					i = 0
				}
			}
		})
	}
}

// BenchmarkEvent compares the whole event, bytes in and rewritten bytes out:
// the scan-decide-edit path against decoding into k8s.io/apiserver's
// audit/v1 Event with encoding/json (and with json-iterator), evaluating
// with the apiserver's evaluator, and marshalling back. Target: 0 allocs/op,
// at least 5x faster than encoding/json.
func BenchmarkEvent(b *testing.B) {
	ours, ref := benchPolicies(b)
	for _, c := range append(realCorpora(b), generatedCorpora(b)...) {
		lines := c.lines
		b.Run(c.name+"/impl=auditstream", func(b *testing.B) {
			b.SetBytes(avgLen(lines))
			b.ReportAllocs()
			pr := ours.NewProcessor()
			dst := make([]byte, 0, 1<<20)
			i := 0
			for b.Loop() {
				if _, _, err := pr.AppendEvent(dst[:0], lines[i]); err != nil {
					b.Fatal(err)
				}
				if i++; i == len(lines) {
					i = 0
				}
			}
		})
		for _, impl := range []struct {
			name string
			fn   func(reference.Evaluator, []byte) ([]byte, bool, error)
		}{{"encoding-json", reference.StraightforwardPath}, {"jsoniter", reference.StraightforwardPathJSONIter}} {
			b.Run(c.name+"/impl="+impl.name, func(b *testing.B) {
				b.SetBytes(avgLen(lines))
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					if _, _, err := impl.fn(ref, lines[i]); err != nil {
						b.Fatal(err)
					}
					if i++; i == len(lines) {
						i = 0
					}
				}
			})
		}
	}
}
