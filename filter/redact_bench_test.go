package filter

import (
	"math/rand/v2"
	"testing"

	"github.com/auditstream/auditstream/internal/gen"
	"github.com/auditstream/auditstream/internal/secretgen"
)

// BenchmarkRedaction compares, in one run, the whole-event path with
// redaction off (impl=off) and on in each mode, on two corpora: events of
// every secret-bearing shape (secrets), whose bodies redaction walks, and
// generated events of 1 KB without secrets (plain), for which it only
// looks at the request's attributes.
func BenchmarkRedaction(b *testing.B) {
	r := rand.New(rand.NewPCG(7, 8))
	corpora := map[string][][]byte{}
	for i := range 4 * secretgen.Shapes() {
		e := secretgen.Generate(r, i, "")
		// At RequestResponse, so that every body is kept and walked.
		line := []byte(e.Line())
		for _, lv := range []string{"Metadata", "Request"} {
			line = []byte(replaceFirst(string(line), `"level":"`+lv+`"`, `"level":"RequestResponse"`))
		}
		corpora["secrets"] = append(corpora["secrets"], line)
	}
	p := mustCompile(b, policyRequestResponse)
	// gen writes a Secret now and then: those are left out of plain.
	check := p.WithRedaction(mustRedaction(b, RedactMask)).NewProcessor()
	for len(corpora["plain"]) < 64 {
		line := gen.EventOfSize(r, 1<<10)
		if _, _, err := check.AppendEvent(nil, line); err != nil {
			b.Fatal(err)
		}
		if _, n := check.RedactedFields(); n == 0 {
			corpora["plain"] = append(corpora["plain"], line)
		}
	}
	for _, corpus := range []string{"secrets", "plain"} {
		lines := corpora[corpus]
		total := 0
		for _, l := range lines {
			total += len(l)
		}
		for _, impl := range []string{"off", "mask", "hash", "remove"} {
			b.Run("corpus="+corpus+"/impl="+impl, func(b *testing.B) {
				pol := p
				if impl != "off" {
					mode, _ := ParseRedactMode(impl)
					pol = p.WithRedaction(mustRedaction(b, mode, secretgen.Fields...))
				}
				pr := pol.NewProcessor()
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
			})
		}
	}
}

func replaceFirst(s, old, repl string) string {
	for i := 0; i+len(old) <= len(s); i++ {
		if s[i:i+len(old)] == old {
			return s[:i] + repl + s[i+len(old):]
		}
	}
	return s
}
