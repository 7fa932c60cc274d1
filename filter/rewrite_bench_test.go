package filter

import (
	"math/rand/v2"
	"testing"

	"github.com/auditstream/auditstream/internal/gen"
)

// BenchmarkOmitManagedFields is the whole-event path with omitManagedFields
// on generated 10 KB events whose bodies hold managedFields, lists and
// Tables: the rewrite that looks inside the bodies.
func BenchmarkOmitManagedFields(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	var lines [][]byte
	total := 0
	for range 64 {
		lines = append(lines, gen.EventOfSize(r, 10<<10))
		total += len(lines[len(lines)-1])
	}
	p := mustCompile(b, "apiVersion: audit.k8s.io/v1\nkind: Policy\nomitManagedFields: true\nrules:\n- level: RequestResponse\n")
	pr := p.NewProcessor()
	dst := make([]byte, 0, 1<<20)
	b.SetBytes(int64(total / len(lines)))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, _, err := pr.AppendEvent(dst[:0], lines[i%len(lines)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
