package kafkatest

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestProcCPU(t *testing.T) {
	dir := t.TempDir()
	stat := filepath.Join(dir, "stat")
	// A command name with spaces and parentheses, then utime 250 and stime 50 ticks.
	line := "4242 (java (main) x) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 40 0 123 456 789\n"
	if err := os.WriteFile(stat, []byte(line), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := procCPU(stat)
	if err != nil {
		t.Fatal(err)
	}
	if want := 3 * time.Second; got != want {
		t.Fatalf("procCPU = %v; want %v", got, want)
	}
	if err := os.WriteFile(stat, []byte("4242 (java) S 1 2 3\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := procCPU(stat); err == nil {
		t.Fatal("a short stat line was accepted")
	}
}

// The process's own stat file reads, and its CPU time does not go back.
func TestProcCPUOfSelf(t *testing.T) {
	before, err := procCPU("/proc/self/stat")
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	deadline := time.Now().Add(50 * time.Millisecond)
	for time.Now().Before(deadline) {
	}
	after, err := procCPU("/proc/self/stat")
	if err != nil || after < before {
		t.Fatalf("CPU time went from %v to %v (%v)", before, after, err)
	}
}
