// Package fluentbit runs a real fluent-bit binary (named by FLUENT_BIT_BIN)
// with the auditstream plugin, tailing an audit log, for tests that check
// the plugin inside Fluent Bit rather than inside the project's harness.
package fluentbit

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
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
}

// Write writes the configuration file into c.Dir and returns its path.
func (c Config) Write() (string, error) {
	q := strconv.Quote // every value quoted: paths and topic templates hold '{', ':' etc.
	var keys strings.Builder
	names := make([]string, 0, len(c.Keys))
	for k := range c.Keys {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		fmt.Fprintf(&keys, "      %s: %s\n", k, q(c.Keys[k]))
	}
	hot, workers := "off", 2
	if c.HotReload {
		hot, workers = "on", 0
	}
	bufferMax := c.BufferMaxSize
	if bufferMax == "" {
		bufferMax = "16M"
	}
	cfg := fmt.Sprintf(`plugins:
  - %s

service:
  flush: 1
  grace: %d
  log_level: info
  hot_reload: %s
  storage.path: %s

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
      storage.type: filesystem

  outputs:
    - name: auditstream
      match: k8s-audit
      workers: %d
      retry_limit: no_limits
%s`, q(c.Plugin), int(c.Grace/time.Second), hot, q(filepath.Join(c.Dir, "storage")),
		q(c.LogPath), q(filepath.Join(c.Dir, "tail.db")), bufferMax, workers, keys.String())
	p := filepath.Join(c.Dir, "fluent-bit.yaml")
	return p, os.WriteFile(p, []byte(cfg), 0o600)
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
	p := &Process{out: &syncBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(bin, "-c", cfg)
	p.cmd.Dir = filepath.Dir(cfg)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
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
func (p *Process) Wait(d time.Duration) error {
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
	deadline := time.Now().Add(d)
	for !strings.Contains(p.Output(), s) {
		select {
		case <-p.done:
			return fmt.Errorf("fluent-bit exited before logging %q: %w", s, p.err)
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("fluent-bit did not log %q in %s", s, d)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return nil
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
