// Package testenv is what the tests and benchmarks of several packages
// share: the audit logs of the shared test data, and a TestMain that keeps
// the apiserver's klog lines out of test output.
package testenv

import (
	"bufio"
	"os"
	"path/filepath"
	"testing"

	"github.com/go-logr/logr"
	"k8s.io/klog/v2"
)

// AuditLog returns the path of a file of shared/testdata/audit, the folder
// laid beside the repository (its README says so), found from the module
// root so that any package can use it.
func AuditLog(tb testing.TB, name string) string {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "..", "shared", "testdata", "audit", name)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Fatalf("testenv: no go.mod above the working directory")
		}
		dir = parent
	}
}

// ReadLines returns the lines of a shared audit log, each a copy.
func ReadLines(tb testing.TB, name string) [][]byte {
	tb.Helper()
	f, err := os.Open(AuditLog(tb, name))
	if err != nil {
		tb.Fatal(err)
	}
	defer func() { _ = f.Close() }()
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

// Main runs the tests with klog silenced: the apiserver's RequestInfo
// parser, run by the reference, logs a line for every list query that does
// not decode, which the generated events include on purpose.
//
//	func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }
func Main(m *testing.M) int {
	klog.SetLogger(logr.Discard())
	return m.Run()
}
