// Command genlog writes a reproducible audit log of generated events, one
// JSON line each: the bundled example log (examples/audit.log) is its output.
//
//	go run ./internal/gen/cmd/genlog -n 2000 -seed 1 > examples/audit.log
package main

import (
	"bufio"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"

	"github.com/auditstream/auditstream/internal/gen"
)

func main() {
	n := flag.Int("n", 2000, "number of events")
	seed := flag.Uint64("seed", 1, "random seed")
	flag.Parse()
	r := rand.New(rand.NewPCG(*seed, *seed))
	w := bufio.NewWriter(os.Stdout)
	// A bufio.Writer keeps its first error and returns it from Flush.
	for range *n {
		_, _ = w.Write(gen.Event(r))
		_ = w.WriteByte('\n')
	}
	if err := w.Flush(); err != nil {
		fmt.Fprintln(os.Stderr, "genlog:", err)
		os.Exit(1)
	}
}
