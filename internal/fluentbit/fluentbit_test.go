package fluentbit

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// pipelineFile is what the tests read back of a written configuration.
type pipelineFile struct {
	Plugins  []string          `yaml:"plugins"`
	Service  map[string]string `yaml:"service"`
	Pipeline struct {
		Inputs  []map[string]string `yaml:"inputs"`
		Outputs []map[string]string `yaml:"outputs"`
	} `yaml:"pipeline"`
}

func writeAndRead(t *testing.T, c Config) pipelineFile {
	t.Helper()
	path, err := c.Write()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var f pipelineFile
	if err := yaml.Unmarshal(data, &f); err != nil {
		t.Fatalf("%v:\n%s", err, data)
	}
	if len(f.Pipeline.Inputs) != 1 || len(f.Pipeline.Outputs) != 1 {
		t.Fatalf("%d inputs and %d outputs, want one of each:\n%s", len(f.Pipeline.Inputs), len(f.Pipeline.Outputs), data)
	}
	return f
}

// The defaults are the examples' pipeline: filesystem storage, workers 2,
// a 16M line limit, no hot reload, and nothing else in the service section.
func TestConfigDefaults(t *testing.T) {
	dir := t.TempDir()
	f := writeAndRead(t, Config{Plugin: "/p/out.so", LogPath: "/l/audit.log", Dir: dir, Grace: 5 * time.Second,
		Keys: map[string]string{"topic": "t.{stage}", "brokers": "127.0.0.1:9092"}})
	in, out := f.Pipeline.Inputs[0], f.Pipeline.Outputs[0]
	for _, c := range []struct{ what, got, want string }{
		{"plugin", strings.Join(f.Plugins, ","), "/p/out.so"},
		{"grace", f.Service["grace"], "5"},
		{"hot_reload", f.Service["hot_reload"], "off"},
		{"storage.path", f.Service["storage.path"], filepath.Join(dir, "storage")},
		{"input path", in["path"], "/l/audit.log"},
		{"input storage.type", in["storage.type"], "filesystem"},
		{"buffer_max_size", in["buffer_max_size"], "16M"},
		{"workers", out["workers"], "2"},
		{"topic", out["topic"], "t.{stage}"},
		{"brokers", out["brokers"], "127.0.0.1:9092"},
	} {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.what, c.got, c.want)
		}
	}
	if len(f.Service) != 5 {
		t.Errorf("service section %v, want flush, grace, log_level, hot_reload and storage.path only", f.Service)
	}
}

// What a test sets overrides the defaults: hot reload takes the output's
// workers to 0, extra service keys land in the service section, and the
// input's storage type and line limit are the test's.
func TestConfigOverrides(t *testing.T) {
	f := writeAndRead(t, Config{Plugin: "out.so", LogPath: "audit.log", Dir: t.TempDir(), HotReload: true,
		BufferMaxSize: "80M", StorageType: "memory",
		Service: map[string]string{"http_server": "on", "http_port": "2020", "http_listen": "127.0.0.1"}})
	in, out := f.Pipeline.Inputs[0], f.Pipeline.Outputs[0]
	for _, c := range []struct{ what, got, want string }{
		{"hot_reload", f.Service["hot_reload"], "on"},
		{"workers", out["workers"], "0"},
		{"http_server", f.Service["http_server"], "on"},
		{"http_port", f.Service["http_port"], "2020"},
		{"http_listen", f.Service["http_listen"], "127.0.0.1"},
		{"input storage.type", in["storage.type"], "memory"},
		{"buffer_max_size", in["buffer_max_size"], "80M"},
	} {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.what, c.got, c.want)
		}
	}
}

// startScript runs script as Start runs fluent-bit (bin -c cfg), with sh as
// the binary, so that the process's output and exit are the test's.
func startScript(t *testing.T, script string) *Process {
	t.Helper()
	path := filepath.Join(t.TempDir(), "fake-fluent-bit.sh")
	if err := os.WriteFile(path, []byte(script), 0o700); err != nil {
		t.Fatal(err)
	}
	p, err := Start("/bin/sh", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = p.Process().Kill()
		<-p.Done()
	})
	return p
}

// WaitCount counts lines as a reload test does, and reports an exit
// before the count is reached rather than waiting out its time.
func TestProcessWaitCount(t *testing.T) {
	p := startScript(t, "echo reloaded; echo reloaded; sleep 0.5; echo reloaded; exit 3\n")
	if err := p.WaitCount("reloaded", 3, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	err := p.WaitCount("reloaded", 4, time.Minute)
	if err == nil || !strings.Contains(err.Error(), "exited") || !strings.Contains(err.Error(), "exit status 3") {
		t.Fatalf("WaitCount of a line logged 3 times by a process that exits: %v; want its exit", err)
	}
	if took := time.Since(began); took > 10*time.Second {
		t.Errorf("WaitCount took %v to see the exit", took)
	}
	if err := p.WaitCount("never", 1, 200*time.Millisecond); err == nil {
		t.Error("WaitCount of a line never logged succeeded")
	}
}

// Once the process has exited, Wait(0) is its exit error every time, never
// a timeout.
func TestProcessWaitAfterExit(t *testing.T) {
	p := startScript(t, "exit 3\n")
	<-p.Done()
	if !p.Exited() {
		t.Fatal("Exited is false after Done")
	}
	for i := range 200 {
		if err := p.Wait(0); err == nil || !strings.Contains(err.Error(), "exit status 3") {
			t.Fatalf("Wait(0) #%d after the exit: %v; want exit status 3", i, err)
		}
	}
}

// A process still running when its context ends is killed, and Wait
// returns even though a child it started (here the shell running the
// script) still holds its output.
func TestStartContextKills(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hang.sh")
	if err := os.WriteFile(path, []byte("echo up; exec sleep 15\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	p, err := StartContext(ctx, "/bin/sh", path)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.WaitFor("up", 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := p.Wait(10 * time.Second); err == nil || !strings.Contains(err.Error(), "killed") {
		t.Fatalf("a process past its context's deadline: %v; want killed", err)
	}
}
