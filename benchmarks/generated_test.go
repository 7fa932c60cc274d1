package benchmarks

import (
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/auditstream/auditstream/internal/gen"
)

// generatedCorpora returns realistic generated events of about 0.5, 1, 4, 10
// and 40 KB: Metadata-level events up to 1 KB, events with request and
// response bodies above. 1 and 10 KB are the sizes of the flush-path
// benchmarks.
func generatedCorpora(tb testing.TB) []corpus {
	r := rand.New(rand.NewPCG(1, 2))
	var out []corpus
	for _, size := range []int{512, 1 << 10, 4 << 10, 10 << 10, 40 << 10} {
		lines := make([][]byte, 64)
		for i := range lines {
			lines[i] = gen.EventOfSize(r, size)
		}
		out = append(out, corpus{"gen-" + strconv.Itoa(size/1024) + "." + strconv.Itoa(size%1024*10/1024) + "KB", lines})
	}
	return out
}
