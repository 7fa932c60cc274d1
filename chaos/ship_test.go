package chaos

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// shipChunkEvents is ship's --chunk-events: small chunks, so that a run has
// many flushes for the faults to hit.
const shipChunkEvents = "200"

// shipDriver runs `auditstream ship` as a user would: the log comes on
// stdin at the pace the suite's size sets, as from a tail of a live log.
// When the fault kills it, it is started again on the whole log file: ship
// keeps no offsets, so it starts from the beginning and the lines it had
// shipped before arrive twice.
var shipDriver = driver{name: "ship", drive: func(r *run) error {
	args := []string{"ship", "--chunk-events", shipChunkEvents, "--retry-timeout", "3m"}
	for _, kv := range r.s.keys(r.rt) {
		args = append(args, "--set", kv)
	}
	cmd := exec.Command(r.s.art.CLI, append(args, "-")...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	var out bytes.Buffer
	cmd.Stdout = &out
	stderr, err := os.Create(filepath.Join(r.dir, "ship.stderr"))
	if err != nil {
		return err
	}
	defer stderr.Close()
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		return err
	}
	r.setProcess(cmd.Process)
	pace := r.s.size.duration / time.Duration(len(r.lines))
	began := time.Now()
	for i, l := range r.lines {
		if _, err := stdin.Write(append(l.data, '\n')); err != nil {
			break // killed: the rest is for the next start
		}
		r.progress(i + 1)
		if ahead := time.Duration(i+1)*pace - time.Since(began); ahead > time.Millisecond {
			time.Sleep(ahead)
		}
	}
	_ = stdin.Close()
	err = cmd.Wait()
	r.setProcess(nil)
	r.t.Logf("ship: %v: %s", exitStatus(err), strings.TrimSpace(out.String()))
	r.exit, r.exitChecked = err, true
	if !killed(err) {
		return nil // exit 1 is expected when lines were dead-lettered; the ledger judges
	}
	if !r.f.restartsDriver {
		return errors.New("ship was killed, and the fault does not kill it")
	}
	out.Reset()
	again := exec.Command(r.s.art.CLI, append(args, r.logPath)...)
	again.Stdout, again.Stderr = &out, stderr
	err = again.Run()
	r.exit = err
	r.t.Logf("ship, started again on the whole log: %v: %s", exitStatus(err), strings.TrimSpace(out.String()))
	return nil
}}

func killed(err error) bool {
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return false
	}
	ws, ok := ee.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled()
}

func exitStatus(err error) string {
	if err == nil {
		return "exit 0"
	}
	return err.Error()
}
