package policyreload

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/auditstream/auditstream/internal/pipeline"
)

// policyAt returns a valid policy that logs every event at level, after a
// comment that makes files of the same level differ.
func policyAt(level, comment string) string {
	return "# " + comment + "\napiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: " + level + "\n"
}

// invalidPolicy is well-formed YAML the apiserver refuses: its second rule,
// on line 7, has a level that does not exist.
const invalidPolicy = `apiVersion: audit.k8s.io/v1
kind: Policy
rules:
- level: None
  users: ["system:kube-proxy"]

- level: Everything
`

type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	// Written beside and renamed, as editors and kubectl cp do: a reader
	// never sees half a file.
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func load(t *testing.T, content string) (*Holder, string, *logBuffer) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "policy.yaml")
	writeFile(t, path, content)
	logs := &logBuffer{}
	h, err := Load(path, pipeline.NewLogger(logs, pipeline.LevelDebug, "t"))
	if err != nil {
		t.Fatal(err)
	}
	return h, path, logs
}

func TestReloadReplacesAValidPolicy(t *testing.T) {
	h, path, logs := load(t, policyAt("Metadata", "a"))
	first := h.Current()
	if h.Reload() {
		t.Fatal("Reload of an unchanged file replaced the policy")
	}
	writeFile(t, path, policyAt("Request", "b"))
	if !h.Reload() {
		t.Fatalf("Reload of a changed file kept the old policy; log:\n%s", logs)
	}
	now := h.Current()
	if now.SHA256 == first.SHA256 || now.pipeline.Generation != first.pipeline.Generation+1 {
		t.Errorf("after reload: sha256 %s generation %d; before %s %d", now.SHA256, now.pipeline.Generation, first.SHA256, first.pipeline.Generation)
	}
	st := h.Stats()
	if st.Successes != 1 || st.Failures != 0 || st.SHA256 != now.SHA256 || st.LastSuccess.Before(first.LoadedAt) {
		t.Errorf("stats %+v", st)
	}
	if !strings.Contains(logs.String(), "sha256 "+now.SHA256) {
		t.Errorf("the reload line does not name the new sha256:\n%s", logs)
	}
}

// TestReloadRefusesAnInvalidPolicy: the old policy stays, the failure is
// counted, and one error line names the file, the line and the problem.
func TestReloadRefusesAnInvalidPolicy(t *testing.T) {
	h, path, logs := load(t, policyAt("Metadata", "a"))
	first := h.Current()
	writeFile(t, path, invalidPolicy)
	if h.Reload() {
		t.Fatal("an invalid policy replaced the valid one")
	}
	if h.Current() != first {
		t.Error("the policy in force changed")
	}
	st := h.Stats()
	if st.Successes != 0 || st.Failures != 1 || !st.LastSuccess.Equal(first.LoadedAt) {
		t.Errorf("stats %+v", st)
	}
	var errLines []string
	for line := range strings.Lines(logs.String()) {
		if strings.Contains(line, "[error]") {
			errLines = append(errLines, line)
		}
	}
	if len(errLines) != 1 {
		t.Fatalf("%d error lines; want 1:\n%s", len(errLines), logs)
	}
	for _, want := range []string{path + ": line 7:", "Everything", "stays in force", first.SHA256} {
		if !strings.Contains(errLines[0], want) {
			t.Errorf("the error line lacks %q: %s", want, errLines[0])
		}
	}
	if !st.Refused {
		t.Error("Stats does not say the file's policy is refused")
	}
	// The same broken file is refused once, however often it is checked;
	// another broken edit counts again; the file back at the policy in
	// force clears the refusal.
	h.Reload()
	if st := h.Stats(); st.Failures != 1 || !st.Refused {
		t.Errorf("after a second check of the same file: %+v; want 1 failure, refused", st)
	}
	writeFile(t, path, invalidPolicy+"# another edit\n")
	h.Reload()
	if st := h.Stats(); st.Failures != 2 || !st.Refused {
		t.Errorf("after another broken edit: %+v; want 2 failures, refused", st)
	}
	writeFile(t, path, policyAt("Metadata", "a"))
	h.Reload()
	if st := h.Stats(); st.Failures != 2 || st.Successes != 0 || st.Refused {
		t.Errorf("after the file is restored: %+v; want no new reload, not refused", st)
	}
}

// TestBrokenPolicyIsLoggedOnce: a broken policy is logged once, neither at
// every periodic check nor, when the log is written in the policy's own
// directory (as Fluent Bit's may be), at every line the log itself adds.
func TestBrokenPolicyIsLoggedOnce(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "policy.yaml")
	writeFile(t, path, policyAt("Metadata", "a"))
	logFile, err := os.Create(filepath.Join(dir, "fluent-bit.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	h, err := Load(path, pipeline.NewLogger(logFile, pipeline.LevelInfo, "t"))
	if err != nil {
		t.Fatal(err)
	}
	stop := h.Watch(50 * time.Millisecond)
	writeFile(t, path, invalidPolicy)
	waitFor(t, "the broken policy is refused", func() bool { return h.Stats().Failures > 0 })
	time.Sleep(time.Second) // twenty periodic checks, and any echo of the log
	stop()
	logged, err := os.ReadFile(logFile.Name())
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(logged), "[error]"); n != 1 || h.Stats().Failures != 1 {
		t.Errorf("%d error lines, %d failures; want 1, 1:\n%s", n, h.Stats().Failures, logged)
	}
}

func TestWatchConcerns(t *testing.T) {
	h := &Holder{path: "/etc/auditstream/policy.yaml"}
	for name, want := range map[string]bool{
		"/etc/auditstream/policy.yaml": true, "/etc/auditstream/..data": true, "/etc/auditstream/..2026_12_01_10_00_00.123": true,
		"/etc/auditstream/..data_tmp": true, "/etc/auditstream/fluent-bit.log": false, "/etc/auditstream/policy.yaml.swp": false,
	} {
		if got := h.concerns(name); got != want {
			t.Errorf("concerns(%s) = %v; want %v", name, got, want)
		}
	}
}

func TestLoadNamesTheLineOfABadRule(t *testing.T) {
	path := filepath.Join(t.TempDir(), "policy.yaml")
	writeFile(t, path, invalidPolicy)
	_, err := Load(path, pipeline.NewLogger(&logBuffer{}, pipeline.LevelError, "t"))
	if err == nil || !strings.Contains(err.Error(), path+": line 7: ") {
		t.Fatalf("error %v; want it to name %s line 7", err, path)
	}
}

// waitFor polls cond for up to 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting until %s", what)
}

// TestWatchSeesAConfigMapSwap: a ConfigMap volume holds the file as a
// symlink through ..data, and updates it by pointing ..data at a new
// directory. The interval is an hour, so only the directory watch can see it.
func TestWatchSeesAConfigMapSwap(t *testing.T) {
	dir := t.TempDir()
	version := func(name, content string) {
		if err := os.Mkdir(filepath.Join(dir, name), 0o755); err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(dir, name, "policy.yaml"), content)
	}
	swap := func(to string) {
		tmp := filepath.Join(dir, "..data_tmp")
		if err := os.Symlink(to, tmp); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(dir, "..data")); err != nil {
			t.Fatal(err)
		}
	}
	version("..2026_12_01_a", policyAt("Metadata", "a"))
	swap("..2026_12_01_a")
	path := filepath.Join(dir, "policy.yaml")
	if err := os.Symlink(filepath.Join("..data", "policy.yaml"), path); err != nil {
		t.Fatal(err)
	}
	logs := &logBuffer{}
	h, err := Load(path, pipeline.NewLogger(logs, pipeline.LevelDebug, "t"))
	if err != nil {
		t.Fatal(err)
	}
	first := h.Current().SHA256
	stop := h.Watch(time.Hour)
	defer stop()

	version("..2026_12_01_b", policyAt("Request", "b"))
	swap("..2026_12_01_b")
	waitFor(t, "the swapped policy is in force", func() bool { return h.Current().SHA256 != first })
	if st := h.Stats(); st.Successes != 1 || st.Failures != 0 {
		t.Errorf("stats %+v after one swap; log:\n%s", st, logs)
	}
}

// TestPeriodicCheckWithoutFileEvents: where file events are unavailable,
// the periodic check alone picks the change up.
func TestPeriodicCheckWithoutFileEvents(t *testing.T) {
	h, path, _ := load(t, policyAt("Metadata", "a"))
	first := h.Current().SHA256
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		h.loop(20*time.Millisecond, nil, nil, done)
	}()
	defer func() { close(done); <-stopped }()
	writeFile(t, path, policyAt("Request", "b"))
	waitFor(t, "the periodic check reloads", func() bool { return h.Current().SHA256 != first })
}
