// Package benchmarks measures auditstream against the straightforward
// implementations it replaces, side by side in one run:
//
//	make bench                      # go test -bench . -benchmem -count 6 ./benchmarks/...
//	benchstat build/bench.txt       # medians and confidence intervals
//
// Each benchmark's doc comment says what is compared.
package benchmarks
