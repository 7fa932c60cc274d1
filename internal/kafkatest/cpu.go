package kafkatest

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/auditstream/auditstream/internal/testenv"
)

// PIDFile is where scripts/kafka/up.sh writes the broker's process id,
// relative to the directory holding go.mod.
const PIDFile = ".cache/kafka/run/kafka.pid"

// userHZ is the unit of the CPU times in /proc/<pid>/stat: fixed at 100 per
// second by the kernel's ABI, whatever the kernel's own tick rate.
const userHZ = 100

// BrokerCPU returns a reader of the CPU time (user and system) the local
// broker's process has used so far. Benchmarks use it to count the broker's
// work beside their own when both share the machine's cores. The error says
// why there is none: no pid file (a broker started elsewhere) or no /proc.
// The time advances in steps of 10 ms.
func BrokerCPU() (func() time.Duration, error) {
	pid, err := BrokerPID()
	if err != nil {
		return nil, err
	}
	if _, err := ProcessCPU(pid); err != nil {
		return nil, err
	}
	return func() time.Duration {
		d, _ := ProcessCPU(pid)
		return d
	}, nil
}

// ProcessCPU returns the CPU time (user and system, every thread) process
// pid has used so far, from /proc, in steps of 10 ms.
func ProcessCPU(pid int) (time.Duration, error) {
	return procCPU("/proc/" + strconv.Itoa(pid) + "/stat")
}

// BrokerPID returns the process id up.sh recorded for the local broker.
func BrokerPID() (int, error) {
	root, err := testenv.ModuleRoot()
	if err != nil {
		return 0, err
	}
	raw, err := os.ReadFile(filepath.Join(root, PIDFile))
	if err != nil {
		return 0, err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(raw)))
	if err != nil {
		return 0, fmt.Errorf("%s: %w", PIDFile, err)
	}
	return pid, nil
}

// procCPU reads utime and stime, the 14th and 15th fields of a
// /proc/<pid>/stat file. The 2nd field, the command name in parentheses,
// may hold spaces, so the fields are counted from its closing parenthesis.
func procCPU(stat string) (time.Duration, error) {
	raw, err := os.ReadFile(stat)
	if err != nil {
		return 0, err
	}
	end := bytes.LastIndexByte(raw, ')')
	if end < 0 {
		return 0, fmt.Errorf("%s: no command name", stat)
	}
	fields := strings.Fields(string(raw[end+1:]))
	// fields[0] is the 3rd field (state): utime is fields[11], stime fields[12].
	if len(fields) < 13 {
		return 0, fmt.Errorf("%s: %d fields after the command name", stat, len(fields))
	}
	var ticks int64
	for _, f := range fields[11:13] {
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", stat, err)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / userHZ, nil
}
