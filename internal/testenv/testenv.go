// Package testenv is what the tests and benchmarks of several packages
// share: the real audit logs of testdata/audit, and a TestMain that keeps
// the apiserver's klog lines out of test output.
package testenv

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/go-logr/logr"
	"k8s.io/klog/v2"
)

// Policy drops kube-proxy, logs secrets at Metadata and everything else at
// RequestResponse, and omits RequestReceived: the pipeline's and the
// plugin's tests expect exactly this of it.
const Policy = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
- level: None
  users: ["system:kube-proxy"]
- level: Metadata
  resources: [{group: "", resources: ["secrets"]}]
- level: RequestResponse
`

// AuditLog returns the path of a file of testdata/audit at the module root
// (SOURCES.md there says where each comes from), found from the module root
// so that any package can use it.
func AuditLog(tb testing.TB, name string) string {
	tb.Helper()
	dir := AuditDir()
	if dir == "" {
		tb.Fatal("testenv: no go.mod above the working directory")
	}
	return filepath.Join(dir, name)
}

// AuditDir is the folder AuditLog reads, for tests that name its files
// themselves; "" when no go.mod is found above the working directory.
func AuditDir() string {
	root, err := ModuleRoot()
	if err != nil {
		return ""
	}
	return filepath.Join(root, "testdata", "audit")
}

// Missing skips the test for lack of a dependency (what, and how to get
// it, in the message), or fails it when the environment has CI=true: CI
// must never pass by skipping.
func Missing(tb testing.TB, format string, args ...any) {
	tb.Helper()
	msg := fmt.Sprintf(format, args...)
	if ci, _ := strconv.ParseBool(os.Getenv("CI")); ci {
		tb.Fatalf("CI=true and %s", msg)
	}
	tb.Skip(msg)
}

// ModuleRoot returns the directory holding go.mod, found from the working
// directory (a test's is its package's).
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("testenv: no go.mod above the working directory")
		}
		dir = parent
	}
}

// ReadLines returns the lines of an audit log of testdata/audit, each a copy.
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
