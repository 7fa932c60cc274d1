package kafkatest

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// KcatDirect returns a command running kcat with args as Kcat does, but
// started directly rather than through scripts/kafka/kcat.sh, whose checks
// (kcat -V, twice) would count in a benchmark that times kcat's whole
// process. The script still installs kcat and names its librdkafka, once
// per call.
func KcatDirect(t testing.TB, args ...string) *exec.Cmd {
	t.Helper()
	probe := Kcat(t, "--print-env")
	var stderr bytes.Buffer
	probe.Stderr = &stderr
	out, err := probe.Output()
	if err != nil {
		t.Fatalf("kcat.sh --print-env: %v\n%s", err, stderr.String())
	}
	var bin, libPath string
	for line := range strings.Lines(string(out)) {
		line = strings.TrimSpace(line)
		if v, ok := strings.CutPrefix(line, "KCAT="); ok {
			bin = v
		} else if v, ok := strings.CutPrefix(line, "LD_LIBRARY_PATH="); ok {
			libPath = v
		}
	}
	if bin == "" {
		t.Fatalf("kcat.sh --print-env named no kcat:\n%s", out)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "LD_LIBRARY_PATH="+libPath)
	return cmd
}
