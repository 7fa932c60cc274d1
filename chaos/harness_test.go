package chaos

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// harnessChunkEvents is the events of one chunk the harness flushes.
const harnessChunkEvents = 200

// harnessProc is one process of the C harness with the plugin loaded and
// one instance initialised, driven one command at a time.
type harnessProc struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *bufio.Reader
}

func startHarness(r *run, stderr io.Writer) (*harnessProc, error) {
	cmd := exec.Command(r.s.art.Harness)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	h := &harnessProc{cmd: cmd, stdin: stdin, out: bufio.NewReader(stdout)}
	init := "init p instance_name=chaos " + strings.Join(r.s.keys(r.rt), " ")
	for _, c := range []string{"load " + r.s.art.Plugin, "register v511", init} {
		res, err := h.do(c)
		if err != nil || strings.Contains(res, "error=") {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			return nil, harnessErr(c, res, err)
		}
	}
	return h, nil
}

// harnessErr says why a command failed: the process went away (err), or
// its result line says so.
func harnessErr(command, result string, err error) error {
	if err != nil {
		return fmt.Errorf("harness %q: %w", command, err)
	}
	return fmt.Errorf("harness %q: %s", command, result)
}

// do sends one command and returns its result line; an error means the
// process is gone.
func (h *harnessProc) do(command string) (string, error) {
	if _, err := io.WriteString(h.stdin, command+"\n"); err != nil {
		return "", err
	}
	line, err := h.out.ReadString('\n')
	return strings.TrimSpace(line), err
}

// stop exits the instance as Fluent Bit does at shutdown.
func (h *harnessProc) stop() error {
	_, err1 := h.do("exit p")
	_, err2 := h.do("unregister")
	_ = h.stdin.Close()
	return errors.Join(err1, err2, h.cmd.Wait())
}

// flushResult reads the outcome of a flush line: "ok", "retry" or "error".
func flushResult(line string) string {
	for _, f := range strings.Fields(line) {
		for _, rc := range []string{"ok", "retry", "error"} {
			if f == rc+"=1" {
				return rc
			}
		}
	}
	return "unknown: " + line
}

// harnessDriver drives the plugin's .so through the C harness as Fluent
// Bit with `storage.type filesystem` and `retry_limit no_limits` would: a
// chunk is flushed until FLB_OK, FLB_RETRY is retried a second later, and
// when the process is killed a new one flushes again the chunk that was
// not acknowledged, as Fluent Bit does with the chunks it finds in storage.
var harnessDriver = driver{name: "plugin", drive: func(r *run) error {
	stderr, err := os.Create(filepath.Join(r.dir, "harness.stderr"))
	if err != nil {
		return err
	}
	defer stderr.Close()
	h, err := startHarness(r, stderr)
	if err != nil {
		return err
	}
	r.setProcess(h.cmd.Process)
	chunkFile := filepath.Join(r.dir, "chunk.jsonl")
	chunks := (len(r.lines) + harnessChunkEvents - 1) / harnessChunkEvents
	pace := r.s.size.duration / time.Duration(chunks)
	restarts := 0
	for from := 0; from < len(r.lines); from += harnessChunkEvents {
		to := min(from+harnessChunkEvents, len(r.lines))
		if err := os.WriteFile(chunkFile, logFile(r.lines[from:to]), 0o600); err != nil {
			return err
		}
		load := fmt.Sprintf("chunk c v2 fix raw %s %d", chunkFile, to-from)
		if res, err := h.do(load); err != nil || strings.Contains(res, "error=") {
			return harnessErr(load, res, err)
		}
		r.progress(from)
		giveUp := time.Now().Add(3 * time.Minute)
		for {
			res, err := h.do("flush p c")
			if err != nil {
				// The process died in the flush: start again and flush the
				// chunk from storage.
				_ = h.cmd.Wait()
				if !r.f.restartsDriver || restarts > 0 {
					return fmt.Errorf("the harness died: %w", err)
				}
				restarts++
				r.t.Logf("plugin: killed in a flush of lines %d-%d; starting again", from, to)
				if h, err = startHarness(r, stderr); err != nil {
					return err
				}
				r.setProcess(h.cmd.Process)
				if res, err := h.do(load); err != nil || strings.Contains(res, "error=") {
					return harnessErr(load, res, err)
				}
				continue
			}
			rc := flushResult(res)
			if rc == "ok" {
				break
			}
			if rc != "retry" {
				// FLB_ERROR: Fluent Bit drops the chunk. The ledger counts it.
				r.t.Logf("plugin: lines %d-%d: %s", from, to, res)
				break
			}
			if time.Now().After(giveUp) {
				return fmt.Errorf("lines %d-%d not delivered after 3 minutes of retries", from, to)
			}
			time.Sleep(time.Second)
		}
		time.Sleep(pace)
	}
	r.setProcess(nil)
	return h.stop()
}}
