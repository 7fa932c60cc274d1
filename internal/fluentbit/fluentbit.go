// Package fluentbit runs a real fluent-bit binary (named by FLUENT_BIT_BIN)
// with the auditstream plugin, tailing an audit log, for tests that check
// the plugin inside Fluent Bit rather than inside the project's harness.
package fluentbit

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// EnvBin names the environment variable holding the fluent-bit binary.
const EnvBin = "FLUENT_BIT_BIN"

// Version returns the first line of `fluent-bit --version`.
func Version(bin string) (string, error) {
	out, err := exec.Command(bin, "--version").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("%s --version: %w\n%s", bin, err, out)
	}
	first, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	return first, nil
}

// Config is a pipeline as examples/fluent-bit.yaml sets it up (tail without
// a parser, filesystem storage, offsets in a db, retry_limit no_limits,
// workers 2), with every path in the test's directory. With HotReload the
// output has workers 0: Fluent Bit (v5.1.1) starts a Go output's worker pool
// twice and crashes at a reload otherwise (see the README).
//
// Tail reads with a 1M buffer_chunk_size, as audit lines reach several tens
// of KB and the default 32k would stop at the first large one, and skips
// (and counts) a line longer than BufferMaxSize rather than stopping at it.
type Config struct {
	Plugin    string            // the out_auditstream.so
	LogPath   string            // the audit log tail reads
	Dir       string            // storage, the tail db and the config file go here
	Grace     time.Duration     // service grace
	Keys      map[string]string // the plugin's keys (policy_file, brokers, topic, ...)
	HotReload bool              // service hot_reload: SIGHUP reloads the config
	// BufferMaxSize is tail's buffer_max_size, the longest line it passes
	// on (a longer one is skipped and counted by Fluent Bit); default 16M,
	// the examples'.
	BufferMaxSize string
	// Service holds further keys of the service section, such as
	// http_server and http_port for tests that read Fluent Bit's metrics.
	Service map[string]string
	// StorageType is tail's storage.type; default filesystem, the
	// examples', under which chunks survive a restart.
	StorageType string
}

// Write writes the configuration file into c.Dir and returns its path.
func (c Config) Write() (string, error) {
	q := strconv.Quote
	hot, workers := "off", 2
	if c.HotReload {
		hot, workers = "on", 0
	}
	bufferMax := c.BufferMaxSize
	if bufferMax == "" {
		bufferMax = "16M"
	}
	storageType := c.StorageType
	if storageType == "" {
		storageType = "filesystem"
	}
	cfg := fmt.Sprintf(`plugins:
  - %s

service:
  flush: 1
  grace: %d
  log_level: info
  hot_reload: %s
  storage.path: %s
%s
pipeline:
  inputs:
    - name: tail
      tag: k8s-audit
      path: %s
      db: %s
      read_from_head: true
      buffer_chunk_size: 1M
      buffer_max_size: %s
      skip_long_lines: on
      refresh_interval: 1
      storage.type: %s

  outputs:
    - name: auditstream
      match: k8s-audit
      workers: %d
      retry_limit: no_limits
%s`, q(c.Plugin), int(c.Grace/time.Second), hot, q(filepath.Join(c.Dir, "storage")), yamlKeys("  ", c.Service),
		q(c.LogPath), q(filepath.Join(c.Dir, "tail.db")), bufferMax, storageType, workers, yamlKeys("      ", c.Keys))
	p := filepath.Join(c.Dir, "fluent-bit.yaml")
	return p, os.WriteFile(p, []byte(cfg), 0o600)
}

// yamlKeys writes keys as lines of a YAML mapping indented by indent, in
// sorted order so that the file is the same from run to run, every value
// quoted: paths and topic templates hold '{', ':' etc.
func yamlKeys(indent string, keys map[string]string) string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(keys)) {
		fmt.Fprintf(&b, "%s%s: %s\n", indent, k, strconv.Quote(keys[k]))
	}
	return b.String()
}

// Process is a running fluent-bit.
type Process struct {
	cmd  *exec.Cmd
	out  *syncBuffer
	done chan struct{}
	err  error
}

// Start runs bin with the configuration file cfg; its stdout and stderr
// (where the plugin logs too) are kept for Output.
func Start(bin, cfg string) (*Process, error) {
	return StartContext(context.Background(), bin, cfg)
}

// StartContext is Start with a context: the process is killed once ctx is
// done, so that a hung Fluent Bit fails a test rather than stalls it.
func StartContext(ctx context.Context, bin, cfg string) (*Process, error) {
	p := &Process{out: &syncBuffer{}, done: make(chan struct{})}
	p.cmd = exec.CommandContext(ctx, bin, "-c", cfg)
	p.cmd.Dir = filepath.Dir(cfg)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	// Bounds the copying of its output after it is killed or has exited,
	// should anything it started still hold the pipes.
	p.cmd.WaitDelay = 5 * time.Second
	if err := p.cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// Process is the operating system's process.
func (p *Process) Process() *os.Process { return p.cmd.Process }

// Done is closed once the process has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// Exited tells whether the process has exited.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Signal sends sig to the process.
func (p *Process) Signal(sig syscall.Signal) error { return p.cmd.Process.Signal(sig) }

// Wait waits up to d for the process to exit and returns its exit error.
// Once it has exited, Wait(0) is its exit error.
func (p *Process) Wait(d time.Duration) error {
	// Checked first: with d 0 the timer below may be ready as soon as done,
	// and select would pick either.
	if p.Exited() {
		return p.err
	}
	select {
	case <-p.done:
		return p.err
	case <-time.After(d):
		return fmt.Errorf("fluent-bit still running after %s", d)
	}
}

// Output is what the process wrote so far.
func (p *Process) Output() string { return p.out.String() }

// WaitFor waits up to d until the output holds s.
func (p *Process) WaitFor(s string, d time.Duration) error {
	return p.WaitCount(s, 1, d)
}

// WaitCount waits up to d until the output holds s at least n times, as a
// message logged once per (re)start or reload is.
func (p *Process) WaitCount(s string, n int, d time.Duration) error {
	deadline := time.Now().Add(d)
	for strings.Count(p.Output(), s) < n {
		select {
		case <-p.done:
			return fmt.Errorf("fluent-bit exited before logging %s: %w", times(s, n), p.err)
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("fluent-bit did not log %s in %s (%d times so far)", times(s, n), d, strings.Count(p.Output(), s))
		}
		time.Sleep(100 * time.Millisecond)
	}
	return nil
}

// times says s, quoted, and n unless it is once, for WaitCount's errors.
func times(s string, n int) string {
	if n == 1 {
		return strconv.Quote(s)
	}
	return fmt.Sprintf("%q %d times", s, n)
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
