package chaos

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/auditstream/auditstream/internal/fluentbit"
)

// fluentBitGrace is the service grace of the Fluent Bit runs.
const fluentBitGrace = 10 * time.Second

// fluentBitStarted is what the plugin logs once Fluent Bit has initialised it.
const fluentBitStarted = "[output:auditstream:auditstream] started"

// fluentBitDriver runs a real Fluent Bit (FLUENT_BIT_BIN) as
// examples/fluent-bit.yaml sets it up: tail of the log with offsets in a db,
// filesystem storage, retry_limit no_limits. The log is appended to at the
// suite's pace. When a fault kills Fluent Bit it is started again on the same
// storage and db, and goes on from its offsets and stored chunks. It is done
// when the ledger has every line, or 3 minutes after the last line.
var fluentBitDriver = driver{name: "fluent-bit", drive: func(r *run) error {
	bin := os.Getenv(fluentbit.EnvBin)
	logDir := filepath.Join(r.dir, "log")
	if err := os.Mkdir(logDir, 0o700); err != nil {
		return err
	}
	logPath := filepath.Join(logDir, "audit.log")
	// The file exists before Fluent Bit starts, as kube-apiserver's would.
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	keys := map[string]string{}
	for _, kv := range r.s.keys(r.rt) {
		k, v, _ := strings.Cut(kv, "=")
		keys[k] = v
	}
	// Tail skips a line over its buffer_max_size before the plugin sees it
	// (Fluent Bit counts it in fluentbit_input_long_line_skipped_total):
	// the limit is raised above the hostile corpus's longest line, so that
	// the line reaches the plugin, whose handling of it is what is checked.
	cfg, err := fluentbit.Config{Plugin: r.s.art.Plugin, LogPath: logPath, Dir: r.dir, Grace: fluentBitGrace,
		Keys: keys, HotReload: true, BufferMaxSize: fmt.Sprintf("%dM", r.s.size.hugeLine>>20+16)}.Write()
	if err != nil {
		return err
	}
	var fb *fluentbit.Process
	var outputs []string // of every process, for the log file
	defer func() {
		if fb != nil {
			outputs = append(outputs, fb.Output())
		}
		_ = os.WriteFile(filepath.Join(r.dir, "fluent-bit.out"), []byte(strings.Join(outputs, "\n---- restart ----\n")), 0o600)
	}()
	start := func() error {
		if fb != nil {
			outputs = append(outputs, fb.Output())
		}
		if fb, err = fluentbit.Start(bin, cfg); err != nil {
			return err
		}
		r.setProcess(fb.Process())
		if err := fb.WaitFor(fluentBitStarted, time.Minute); err != nil {
			out := fb.Output()
			return fmt.Errorf("%w; its output ends with:\n%s", err, out[max(0, len(out)-3000):])
		}
		return nil
	}
	// restartIfKilled starts Fluent Bit again once after the fault killed it.
	restarts := 0
	restartIfKilled := func() error {
		if !fb.Exited() {
			return nil
		}
		if !r.f.restartsDriver || restarts > 0 {
			return fmt.Errorf("fluent-bit exited: %w", fb.Wait(0))
		}
		restarts++
		r.t.Logf("fluent-bit: %v; starting it again on its storage and offsets", fb.Wait(0))
		return start()
	}
	if err := start(); err != nil {
		return err
	}
	pace := r.s.size.duration / time.Duration(len(r.lines))
	began := time.Now()
	for i, l := range r.lines {
		if _, err := f.Write(append(l.data, '\n')); err != nil {
			return err
		}
		r.progress(i + 1)
		if ahead := time.Duration(i+1)*pace - time.Since(began); ahead > time.Millisecond {
			time.Sleep(ahead)
		}
		if err := restartIfKilled(); err != nil {
			return err
		}
	}
	for deadline := time.Now().Add(3 * time.Minute); r.missing() > 0 && time.Now().Before(deadline); {
		if err := restartIfKilled(); err != nil {
			return err
		}
		time.Sleep(500 * time.Millisecond)
	}
	r.setProcess(nil)
	if err := fb.Signal(syscall.SIGTERM); err != nil {
		return err
	}
	if err := fb.Wait(fluentBitGrace + 10*time.Second); err != nil {
		return fmt.Errorf("fluent-bit after SIGTERM: %w", err)
	}
	return nil
}}

// fluentBitFaults are the faults only Fluent Bit has.
var fluentBitFaults = []fault{
	{name: "hot-reload-sighup", at: 0.4, strike: func(r *run) error {
		return r.signalDriver(syscall.SIGHUP)
	}},
}

// fluentBitMissing says why the Fluent Bit driver cannot run, "" if it can.
func fluentBitMissing() string {
	bin := os.Getenv(fluentbit.EnvBin)
	if bin == "" {
		return ""
	}
	fi, err := os.Stat(bin)
	if err != nil {
		return fmt.Sprintf("%s=%q: %v", fluentbit.EnvBin, bin, err)
	}
	if fi.IsDir() {
		return fmt.Sprintf("%s=%q is a directory, not a fluent-bit binary", fluentbit.EnvBin, bin)
	}
	return ""
}
