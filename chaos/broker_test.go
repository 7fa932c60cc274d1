package chaos

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/auditstream/auditstream/internal/kafkatest"
	"github.com/auditstream/auditstream/internal/testenv"
)

// instance is the broker instance of scripts/kafka this suite owns.
const instance = "chaos"

// Paths of the instance's state, relative to the module root (common.sh).
const (
	envFile = ".cache/kafka-" + instance + "/run/env"
	pidFile = ".cache/kafka-" + instance + "/run/kafka.pid"
)

// broker controls the suite's own broker process.
type broker struct {
	t    *testing.T
	root string
	info kafkatest.Info
}

// startBroker starts the instance from empty storage (stopping a broker left
// running by an earlier run first) and stops it when the test ends.
func startBroker(t *testing.T) *broker {
	t.Helper()
	root, err := testenv.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	b := &broker{t: t, root: root}
	if err := b.script("down.sh", false); err != nil {
		t.Fatal(err)
	}
	if err := b.script("up.sh", false); err != nil {
		testenv.Missing(t, "cannot start the chaos broker: %v", err)
	}
	t.Cleanup(func() {
		_ = b.signal(syscall.SIGCONT) // a test that failed in a freeze
		if err := b.script("down.sh", false); err != nil {
			t.Errorf("stopping the chaos broker: %v", err)
		}
	})
	b.info = kafkatest.BrokerFromFile(t, envFile)
	return b
}

// script runs scripts/kafka/name for the instance; keepData restarts on the
// storage the broker had. It may be called from any goroutine.
func (b *broker) script(name string, keepData bool) error { return b.runScript(name, keepData, 2) }

func (b *broker) runScript(name string, keepData bool, retries int) error {
	cmd := exec.Command("bash", filepath.Join(b.root, "scripts", "kafka", name))
	cmd.Env = append(os.Environ(), "KAFKA_INSTANCE="+instance)
	if keepData {
		cmd.Env = append(cmd.Env, "KAFKA_KEEP_DATA=1")
	}
	out, err := cmd.CombinedOutput()
	if err != nil && name == "up.sh" && retries > 0 && strings.Contains(string(out), "Address already in use") {
		// The ports are in the kernel's ephemeral range: a client's
		// connection elsewhere can hold one for a moment.
		time.Sleep(2 * time.Second)
		return b.runScript(name, keepData, retries-1)
	}
	if err != nil {
		return fmt.Errorf("KAFKA_INSTANCE=%s %s: %w\n%s", instance, name, err, out)
	}
	return nil
}

// pid returns the broker's process id, checked against its command line so
// that a stale pid file never gets another process signalled.
func (b *broker) pid() (int, error) {
	data, err := os.ReadFile(filepath.Join(b.root, pidFile))
	if err != nil {
		return 0, err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		return 0, err
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil || !strings.Contains(string(cmdline), "kafka.Kafka") ||
		!strings.Contains(string(cmdline), "kafka-"+instance) {
		return 0, fmt.Errorf("pid %d is not the %s broker", pid, instance)
	}
	return pid, nil
}

func (b *broker) signal(sig syscall.Signal) error {
	pid, err := b.pid()
	if err != nil {
		return err
	}
	return syscall.Kill(pid, sig)
}

// killAndRestart kills the broker with SIGKILL, waits down, and starts it
// again on its storage: what it acknowledged before must still be there.
func (b *broker) killAndRestart(down time.Duration) error {
	pid, err := b.pid()
	if err != nil {
		return err
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		return err
	}
	for deadline := time.Now().Add(10 * time.Second); processAlive(pid); {
		if time.Now().After(deadline) {
			return fmt.Errorf("broker %d survived SIGKILL", pid)
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(down)
	return b.script("up.sh", true)
}

// freeze stops the broker with SIGSTOP for d, then lets it go on.
func (b *broker) freeze(d time.Duration) error {
	if err := b.signal(syscall.SIGSTOP); err != nil {
		return err
	}
	time.Sleep(d)
	return b.signal(syscall.SIGCONT)
}

func processAlive(pid int) bool {
	// A zombie still answers signal 0; its /proc status says Z.
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	fields := strings.Fields(string(status))
	return len(fields) > 2 && fields[2] != "Z"
}

// The signals that freeze a process and let it go on.
const (
	sigStop = syscall.SIGSTOP
	sigCont = syscall.SIGCONT
)
