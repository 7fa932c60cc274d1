package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/auditstream/auditstream/internal/testenv"
)

// The harness tests build the real out_auditstream.so and the C harness
// (harness/flbharness.c) once per test binary, and drive the .so through
// the harness exactly as Fluent Bit's Go proxy would.

var built struct {
	once                     sync.Once
	dir, so, harness, badreg string
	err                      error

	statsOnce sync.Once
	statsSO   string
	statsErr  error
}

func TestMain(m *testing.M) {
	code := testenv.Main(m) // the event generator's RequestInfo parser logs through klog
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

// artifacts returns the paths of the plugin .so, the harness and the
// bad-register control .so, building them on first use.
func artifacts(t testing.TB) (so, harness, badreg string) {
	t.Helper()
	built.once.Do(func() {
		if _, err := exec.LookPath("gcc"); err != nil {
			built.err = fmt.Errorf("gcc not found: %w", err)
			return
		}
		if built.dir, built.err = os.MkdirTemp("", "auditstream-harness-"); built.err != nil {
			return
		}
		built.so = filepath.Join(built.dir, "out_auditstream.so")
		built.harness = filepath.Join(built.dir, "flbharness")
		built.badreg = filepath.Join(built.dir, "badregister.so")
		for _, cmd := range []*exec.Cmd{
			exec.Command(goBinary(), "build", "-buildmode=c-shared", "-trimpath", "-o", built.so, "."),
			exec.Command("gcc", "-std=gnu11", "-O2", "-g", "-Wall", "-Wextra", "-Werror", "-o", built.harness,
				"harness/flbharness.c", "harness/chunks.c", "harness/mpw.c", "harness/mpjson.c", "-ldl", "-lpthread"),
			exec.Command("gcc", "-shared", "-fPIC", "-O2", "-o", built.badreg, "harness/badregister.c"),
		} {
			cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
			if out, err := cmd.CombinedOutput(); err != nil {
				built.err = fmt.Errorf("%s: %w\n%s", strings.Join(cmd.Args, " "), err, out)
				return
			}
		}
	})
	if built.err != nil {
		testenv.Missing(t, "cannot build the plugin and the harness: %v", built.err)
	}
	return built.so, built.harness, built.badreg
}

// goBinary is the go command of the toolchain running the tests.
func goBinary() string {
	goBin := filepath.Join(os.Getenv("GOROOT"), "bin", "go")
	if _, err := os.Stat(goBin); err != nil {
		return "go"
	}
	return goBin
}

// statsArtifact returns a build of the plugin with the harnessstats tag,
// which adds FLBHarnessRuntimeStats (goroutines and heap, for the harness's
// stats command) and nothing else, building it on first use.
func statsArtifact(t testing.TB) string {
	t.Helper()
	artifacts(t)
	built.statsOnce.Do(func() {
		built.statsSO = filepath.Join(built.dir, "out_auditstream_stats.so")
		cmd := exec.Command(goBinary(), "build", "-buildmode=c-shared", "-trimpath", "-tags", "harnessstats", "-o", built.statsSO, ".")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
		if out, err := cmd.CombinedOutput(); err != nil {
			built.statsErr = fmt.Errorf("%s: %w\n%s", strings.Join(cmd.Args, " "), err, out)
		}
	})
	if built.statsErr != nil {
		testenv.Missing(t, "cannot build the plugin with runtime stats: %v", built.statsErr)
	}
	return built.statsSO
}

// harnessRun is the result of one harness process.
type harnessRun struct {
	lines  []string // stdout: one result line per command
	stderr string   // the plugin's log
	err    error    // the process's exit status
}

// run feeds script to the harness, one command per line, with wrap (e.g.
// valgrind) in front if given. The harness is killed after timeout.
func runHarness(t testing.TB, timeout time.Duration, script string, wrap ...string) harnessRun {
	t.Helper()
	_, harness, _ := artifacts(t)
	args := append(wrap, harness)
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdin = strings.NewReader(script)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	timer := time.AfterFunc(timeout, func() { cmd.Process.Kill() })
	err := cmd.Wait()
	timer.Stop()
	r := harnessRun{lines: strings.Split(strings.TrimSpace(stdout.String()), "\n"), stderr: stderr.String(), err: err}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("harness script:\n%s\nstdout:\n%s\nstderr:\n%s", script, stdout.String(), r.stderr)
		}
	})
	return r
}

// result returns the key=value fields of the result line that starts with
// prefix (for example "flush raw"), failing the test if there is none.
func (r harnessRun) result(t testing.TB, prefix string) map[string]string {
	t.Helper()
	for _, l := range r.lines {
		if l == prefix || strings.HasPrefix(l, prefix+" ") {
			m := map[string]string{}
			for _, f := range strings.Fields(l) {
				if k, v, ok := strings.Cut(f, "="); ok {
					m[k] = v
				}
			}
			return m
		}
	}
	t.Fatalf("no result line %q", prefix)
	return nil
}

// ok fails the test unless the harness ran every command and exited 0.
func (r harnessRun) ok(t testing.TB) {
	t.Helper()
	if r.err != nil || r.result(t, "done")["failed"] != "0" {
		t.Fatalf("harness failed: %v", r.err)
	}
}

func atoi(t testing.TB, s string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatalf("not a number: %q", s)
	}
	return n
}

// writeFile writes content to name in dir and returns its path.
func writeFile(t testing.TB, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// auditLine returns one audit event as kube-apiserver writes it, with a
// request and response body.
func auditLine(id string, stage, user, verb, ns, resource string) string {
	return fmt.Sprintf(`{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"RequestResponse",`+
		`"auditID":%q,"stage":%q,"requestURI":"/api/v1/namespaces/%s/%s","verb":%q,`+
		`"user":{"username":%q,"groups":["system:authenticated"]},"sourceIPs":["10.0.0.1"],`+
		`"userAgent":"kubectl/v1.31.0 (linux/amd64) \"quoted\" \u00e9",`+
		`"objectRef":{"resource":%q,"namespace":%q,"apiVersion":"v1"},"responseStatus":{"metadata":{},"code":200},`+
		`"requestObject":{"kind":"X","spec":{"replicas":3,"ratio":0.5,"on":true,"none":null}},`+
		`"responseObject":{"kind":"X","status":{"ok":true,"items":[1,2,3]}},`+
		`"requestReceivedTimestamp":"2026-01-01T00:00:00.000000Z","stageTimestamp":"2026-01-01T00:00:00.001000Z"}`,
		id, stage, ns, resource, verb, user, resource, ns)
}
