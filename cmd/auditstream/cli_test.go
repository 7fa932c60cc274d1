package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/auditstream/auditstream/internal/testenv"
)

// testdata is the folder of the real audit logs (testdata/audit), with a
// trailing slash.
var testdata = testenv.AuditDir() + string(filepath.Separator)

// runCLI runs the command line and returns its exit code, stdout and stderr.
func runCLI(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(args, strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestCheck(t *testing.T) {
	code, out, _ := runCLI(t, "", "check", testdata+"audit2rbac-demo-policy.v1.yaml")
	if code != exitOK || !strings.Contains(out, "1 rules") || !strings.Contains(out, "#0 Metadata users=[system:admin,alice,bob,system:serviceaccount:ns1:sa1]") {
		t.Errorf("check: exit %d, output %q", code, out)
	}
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte("apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: Everything\n"), 0o600)
	code, _, errOut := runCLI(t, "", "check", bad)
	if code != exitFailure || !strings.Contains(errOut, bad+`: rules[0].level: Unsupported value: "Everything"`) {
		t.Errorf("check bad policy: exit %d, stderr %q", code, errOut)
	}
	warn := filepath.Join(t.TempDir(), "warn.yaml")
	os.WriteFile(warn, []byte("apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: None\n  verb: [get]\n"), 0o600)
	code, _, errOut = runCLI(t, "", "check", warn)
	if code != exitOK || !strings.Contains(errOut, `warning: `+warn+`: audit policy contains errors`) || !strings.Contains(errOut, `unknown field "rules[0].verb"`) {
		t.Errorf("check policy with unknown field: exit %d, stderr %q", code, errOut)
	}
}

// The real logs pass through apply with their policy and reproduce the
// apiserver's decisions: every ResponseComplete event at Metadata, the
// omitted RequestReceived events gone.
func TestApplyRealLogs(t *testing.T) {
	policy := testdata + "audit2rbac-demo-policy.v1.yaml"
	for _, c := range []struct {
		file string
		kept int
	}{{"audit2rbac-demo.v1.jsonl", 37}, {"audit2rbac-demo-full.v1beta1.jsonl", 437}} {
		code, out, errOut := runCLI(t, "", "apply", "--policy", policy, testdata+c.file)
		if code != exitOK || errOut != "" {
			t.Fatalf("%s: exit %d, stderr %q", c.file, code, errOut)
		}
		lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
		if len(lines) != c.kept {
			t.Errorf("%s: %d events kept; want %d", c.file, len(lines), c.kept)
		}
		for _, l := range lines {
			var ev struct{ Level, Stage string }
			if err := json.Unmarshal([]byte(l), &ev); err != nil || ev.Level != "Metadata" || ev.Stage != "ResponseComplete" {
				t.Fatalf("%s: unexpected event %v %+v: %.100s", c.file, err, ev, l)
			}
		}
		// With nothing to change, the kept events are byte for byte the input lines.
		in, _ := os.ReadFile(testdata + c.file)
		for _, l := range lines {
			if !bytes.Contains(in, []byte(l+"\n")) {
				t.Fatalf("%s: output line is not an input line: %.100s", c.file, l)
			}
		}
	}
}

func TestApplyBadLines(t *testing.T) {
	policy := testdata + "audit2rbac-demo-policy.v1.yaml"
	good, _ := os.ReadFile(testdata + "audit2rbac-demo.v1.jsonl")
	first := strings.SplitN(string(good), "\n", 2)[0]
	input := first + "\nnot json\n" + first[:40] + "\n" + `{"kind":"Pod"}` + "\n" + first + "\n"
	code, out, errOut := runCLI(t, input, "apply", "--policy", policy)
	if code != exitOK || strings.Count(out, "\n") != 2 {
		t.Errorf("exit %d, %d lines out; want 0 and the 2 good events", code, strings.Count(out, "\n"))
	}
	for _, want := range []string{"-:2: ", "-:3: ", "-:4: not an audit event: kind", "skipped 3 lines"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr %q lacks %q", errOut, want)
		}
	}
	code, out, errOut = runCLI(t, input, "apply", "--strict", "--policy", policy)
	if code != exitBadInput || strings.Count(out, "\n") != 1 || !strings.Contains(errOut, "-:2: ") {
		t.Errorf("--strict: exit %d, %d lines out, stderr %q", code, strings.Count(out, "\n"), errOut)
	}
}

// A rotated directory is read oldest backup first, gzip or not, then the live file.
func TestApplyRotatedDirectory(t *testing.T) {
	policy := testdata + "audit2rbac-demo-policy.v1.yaml"
	all, _ := os.ReadFile(testdata + "audit2rbac-demo.v1.jsonl")
	lines := strings.SplitAfter(strings.TrimSuffix(string(all), "\n"), "\n")
	dir := t.TempDir()
	write := func(name, content string, compress bool) {
		var b bytes.Buffer
		if compress {
			zw := gzip.NewWriter(&b)
			zw.Write([]byte(content))
			zw.Close()
		} else {
			b.WriteString(content)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b.Bytes(), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("audit-2026-11-25T10-00-00.000.log.gz", strings.Join(lines[:10], ""), true)
	write("audit-2026-11-25T11-00-00.000.log", strings.Join(lines[10:20], ""), false)
	write("audit.log", strings.Join(lines[20:], ""), false)
	code, out, errOut := runCLI(t, "", "apply", "--policy", policy, dir)
	if code != exitOK || errOut != "" {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	if out != string(all) {
		t.Errorf("rotated set not read in order: %d bytes out, want %d", len(out), len(all))
	}
}

// A log that cannot be read ends verify with an error, before any Kafka
// access, instead of asking the reader for the same failing line forever.
func TestVerifyUnreadableLog(t *testing.T) {
	corrupt := filepath.Join(t.TempDir(), "audit.log.gz")
	if err := os.WriteFile(corrupt, []byte("\x1f\x8b\x08\x00not gzip at all"), 0o600); err != nil {
		t.Fatal(err)
	}
	type result struct {
		code   int
		errOut string
	}
	done := make(chan result, 1)
	go func() {
		var out, errOut bytes.Buffer
		code := run([]string{"verify", "--policy", testdata + "audit2rbac-demo-policy.v1.yaml",
			"--brokers", "127.0.0.1:1", corrupt}, strings.NewReader(""), &out, &errOut)
		done <- result{code, errOut.String()}
	}()
	select {
	case r := <-done:
		if r.code != exitFailure || !strings.Contains(r.errOut, "audit.log.gz") {
			t.Errorf("verify of a corrupt log: exit %d, stderr %q", r.code, r.errOut)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("verify of a corrupt log did not return")
	}
}
