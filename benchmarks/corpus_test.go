package benchmarks

import (
	"bufio"
	"os"
	"testing"
)

const sharedAudit = "../../shared/testdata/audit/"

// readLines loads a JSON-lines file of the shared test data.
func readLines(tb testing.TB, name string) [][]byte {
	tb.Helper()
	f, err := os.Open(sharedAudit + name)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var lines [][]byte
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		lines = append(lines, append([]byte(nil), sc.Bytes()...))
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	return lines
}

func readFile(tb testing.TB, path string) []byte {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func avgLen(lines [][]byte) int64 {
	n := 0
	for _, l := range lines {
		n += len(l)
	}
	return int64(n / len(lines))
}
