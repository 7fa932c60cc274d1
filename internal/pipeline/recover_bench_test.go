package pipeline

import (
	"testing"

	"github.com/auditstream/auditstream/internal/chunk"
)

// BenchmarkEventRecover measures what the per-event recover costs: one
// kept 1 KB event filtered with (filterRecord) and without (event) it, in
// one process so that both run on the same machine state.
//
//	go test -run '^$' -bench BenchmarkEventRecover -count 10 ./internal/pipeline
func BenchmarkEventRecover(b *testing.B) {
	p, _ := newTestPipeline(b, &fakeSink{}, nil)
	c := (&chunkBuilder{v2: true}).raw(auditLine(1, "ResponseComplete", "alice", "get", "default", "pods"))
	var r chunk.Reader
	r.Reset(c.b)
	rec, err := r.Next()
	if err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		fn   func(*scratch, []byte, *tally)
	}{{"without", p.event}, {"with", p.filterRecord}} {
		b.Run(tc.name, func(b *testing.B) {
			s := &scratch{proc: p.cfg.NewProcessor()}
			var t tally
			b.ReportAllocs()
			b.SetBytes(int64(len(rec.Body)))
			for b.Loop() {
				s.arena, s.kept = s.arena[:0], s.kept[:0]
				tc.fn(s, rec.Body, &t)
			}
			if t.kept == 0 {
				b.Fatal("the event was not kept")
			}
		})
	}
}
