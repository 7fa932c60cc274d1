package kafkatest

import (
	"os"
	"path/filepath"
	"syscall"
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

// The process's own stat file reads, and its CPU time grows with work done.
func TestProcCPUOfSelf(t *testing.T) {
	before, err := procCPU("/proc/self/stat")
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	// Spin until the kernel's own account (getrusage) shows 100 ms of CPU.
	var ru0 syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru0); err != nil {
		t.Fatal(err)
	}
	for {
		var ru syscall.Rusage
		if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
			t.Fatal(err)
		}
		if time.Duration(ru.Utime.Nano()+ru.Stime.Nano()-ru0.Utime.Nano()-ru0.Stime.Nano()) >= 100*time.Millisecond {
			break
		}
	}
	after, err := procCPU("/proc/self/stat")
	// /proc counts in 10 ms steps.
	if err != nil || after-before < 80*time.Millisecond {
		t.Fatalf("CPU time went from %v to %v after 100 ms of work (%v)", before, after, err)
	}
}
