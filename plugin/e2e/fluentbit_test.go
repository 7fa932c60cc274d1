package e2e

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/auditstream/auditstream/internal/buildtest"
	"github.com/auditstream/auditstream/internal/fluentbit"
	"github.com/auditstream/auditstream/internal/kafkatest"
	"github.com/auditstream/auditstream/internal/testenv"
)

// fixture is what every test here starts from: the fluent-bit binary, the
// broker, the plugin and CLI built from the current sources, the lines of
// examples/audit.log, and one topic per stage.
type fixture struct {
	bin   string
	info  kafkatest.Info
	root  string // the module root
	tmp   string // the test's directory
	art   buildtest.Artifacts
	lines [][]byte
	// unique prefixes the stage topics: unique.<stage>.
	unique string
	topics map[string]string // topic -> stage
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{bin: fluentBitBin(t), info: kafkatest.Broker(t)}
	var err error
	if f.root, err = testenv.ModuleRoot(); err != nil {
		t.Fatal(err)
	}
	version, err := fluentbit.Version(f.bin)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("Fluent Bit: %s (%s)", version, f.bin)
	f.tmp = t.TempDir()
	if f.art, err = buildtest.Build(f.tmp); err != nil {
		t.Fatal(err)
	}
	f.lines = readLines(t, filepath.Join(f.root, "examples", "audit.log"))
	f.unique = kafkatest.TopicName(t)
	f.topics = map[string]string{}
	for _, st := range stages {
		topic := f.unique + "." + st
		kafkatest.CreateTopic(t, f.info, topic, partitions)
		f.topics[topic] = st
	}
	return f
}

// fluentBitBin returns the fluent-bit binary named by FLUENT_BIT_BIN, and
// skips the test when it is unset.
func fluentBitBin(t *testing.T) string {
	t.Helper()
	bin := os.Getenv(fluentbit.EnvBin)
	if bin == "" {
		t.Skipf("%s is not set: this end-to-end test needs a real fluent-bit binary "+
			"(run it as %s=/path/to/fluent-bit make test-e2e)", fluentbit.EnvBin, fluentbit.EnvBin)
	}
	if fi, err := os.Stat(bin); err != nil || fi.IsDir() {
		t.Fatalf("%s=%q is not a fluent-bit binary: %v", fluentbit.EnvBin, bin, err)
	}
	return bin
}

// startFluentBit writes the configuration and runs the fixture's fluent-bit
// with it, killed after timeout or when the test ends. Fluent Bit and the
// plugin both log to stderr (the plugin cannot write into Fluent Bit's log);
// Output holds stdout too, in case a version logs there.
func (f *fixture) startFluentBit(t *testing.T, c fluentbit.Config, timeout time.Duration) *fluentbit.Process {
	t.Helper()
	cfg, err := c.Write()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	fb, err := fluentbit.StartContext(ctx, f.bin, cfg)
	if err != nil {
		cancel()
		t.Fatalf("start %s: %v", f.bin, err)
	}
	// Registered after t.TempDir's cleanup, so it runs first: Fluent Bit is
	// gone before its storage directory is removed.
	t.Cleanup(func() {
		cancel()
		<-fb.Done()
		if t.Failed() {
			t.Logf("fluent-bit exit: %v; its output:\n%s", fb.Wait(0), fb.Output())
		}
	})
	return fb
}

// waitCount waits until Fluent Bit has logged s at least n times, failing if
// it exits first or it takes longer than timeout.
func waitCount(t *testing.T, fb *fluentbit.Process, s string, n int, timeout time.Duration) {
	t.Helper()
	if err := fb.WaitCount(s, n, timeout); err != nil {
		t.Fatal(err)
	}
}

// waitFor waits until Fluent Bit has logged s.
func waitFor(t *testing.T, fb *fluentbit.Process, s string, timeout time.Duration) {
	t.Helper()
	waitCount(t, fb, s, 1, timeout)
}

// stopFluentBit stops Fluent Bit as Kubernetes does, gives it grace plus a
// margin (the exit hook's own bound is inside grace), requires exit status
// 0, and returns how long it took.
func stopFluentBit(t *testing.T, fb *fluentbit.Process) time.Duration {
	t.Helper()
	stopAt := time.Now()
	if err := fb.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM: %v", err)
	}
	select {
	case <-fb.Done():
	case <-time.After(grace + 10*time.Second):
		t.Fatalf("fluent-bit still running %v after SIGTERM (grace %v)", time.Since(stopAt).Round(time.Millisecond), grace)
	}
	took := time.Since(stopAt)
	if err := fb.Wait(0); err != nil {
		t.Errorf("fluent-bit exited with %v after SIGTERM, want status 0", err)
	}
	return took
}
