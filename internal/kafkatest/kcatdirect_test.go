package kafkatest

import (
	"strings"
	"testing"
)

// TestKcatDirect checks that the kcat KcatDirect starts is the one kcat.sh
// runs: on the librdkafka the script supplies, not necessarily the system's.
func TestKcatDirect(t *testing.T) {
	viaScript, err := Kcat(t, "-V").Output()
	if err != nil {
		t.Fatalf("kcat.sh -V: %v", err)
	}
	cmd := KcatDirect(t, "-V")
	direct, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s -V: %v", cmd.Path, err)
	}
	if strings.HasSuffix(cmd.Args[0], ".sh") || cmd.Args[0] == "bash" {
		t.Errorf("KcatDirect runs %q, want kcat itself", cmd.Args[0])
	}
	if string(direct) != string(viaScript) {
		t.Errorf("kcat -V directly:\n%s\nthrough kcat.sh:\n%s", direct, viaScript)
	}
}
