package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
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

// The policies of TestFluentBitPolicyReload: the first keeps every event
// at Metadata, the second drops every event, the third does not validate.
const (
	keepPolicy    = "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: Metadata\n"
	dropPolicy    = "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: None\n"
	invalidPolicy = "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: Loud\n"
)

// configMapDir lays out a directory as a ConfigMap volume does: the policy
// is policy.yaml -> ..data/policy.yaml, and ..data a symlink to the current
// ..<version> directory, swapped atomically on an update.
type configMapDir struct {
	t       *testing.T
	dir     string
	version int
}

func (c *configMapDir) swap(policy string) {
	c.t.Helper()
	c.version++
	name := fmt.Sprintf("..2026_12_01_00_00_%02d.000", c.version)
	if err := os.Mkdir(filepath.Join(c.dir, name), 0o755); err != nil {
		c.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(c.dir, name, "policy.yaml"), []byte(policy), 0o644); err != nil {
		c.t.Fatal(err)
	}
	tmp := filepath.Join(c.dir, "..data_tmp")
	if err := os.Symlink(name, tmp); err != nil {
		c.t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(c.dir, "..data")); err != nil {
		c.t.Fatal(err)
	}
}

// scrape returns the value of the plugin's series (name and labels as
// exposed), or -1 if it is not served.
func scrape(t *testing.T, url, series string) float64 {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for line := range strings.Lines(string(body)) {
		if rest, ok := strings.CutPrefix(line, series+" "); ok {
			v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			if err != nil {
				t.Fatalf("%s: %v", series, err)
			}
			return v
		}
	}
	return -1
}

// waitSeries waits until the series reaches want.
func waitSeries(t *testing.T, url, series string, want float64, fb *process) {
	t.Helper()
	deadline := time.Now().Add(deliverTimeout)
	for {
		got := scrape(t, url, series)
		if got == want {
			return
		}
		select {
		case <-fb.done:
			t.Fatalf("fluent-bit exited (%v) while %s was %v, waiting for %v", fb.err, series, got, want)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s is %v after %v; want %v", series, got, deliverTimeout, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestFluentBitPolicyReload changes the policy under a running Fluent Bit
// through a ConfigMap-style symlink swap, which only the plugin's directory
// watch can see (the periodic check is an hour away): the events before the
// swap are shipped by the first policy, every event after it is decided by
// the second; an invalid third policy is refused and the second stays. The
// plugin's own endpoint says so, and Kafka holds exactly the first phase.
func TestFluentBitPolicyReload(t *testing.T) {
	bin := os.Getenv(envBin)
	if bin == "" {
		t.Skipf("%s is not set: this end-to-end test needs a real fluent-bit binary", envBin)
	}
	info := kafkatest.Broker(t)
	root, err := testenv.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	so, cli := build(t, root, tmp)
	lines := readLines(t, filepath.Join(root, "examples", "audit.log"))

	unique := kafkatest.TopicName(t)
	topics := map[string]string{}
	for _, st := range stages {
		kafkatest.CreateTopic(t, info, unique+"."+st, partitions)
		topics[unique+"."+st] = st
	}
	policies := &configMapDir{t: t, dir: filepath.Join(tmp, "policy")}
	if err := os.Mkdir(policies.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	policies.swap(keepPolicy)
	policy := filepath.Join(policies.dir, "policy.yaml")
	if err := os.Symlink(filepath.Join("..data", "policy.yaml"), policy); err != nil {
		t.Fatal(err)
	}
	auditLog := filepath.Join(tmp, "audit.log")
	if err := os.WriteFile(auditLog, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	metricsURL := fmt.Sprintf("http://127.0.0.1:%d/metrics", freePort(t))
	cfg := fmt.Sprintf(`service:
  flush: 1
  grace: %d
  log_level: info
plugins:
  - %s
pipeline:
  inputs:
    - name: tail
      tag: k8s-audit
      path: %s
      read_from_head: true
      buffer_chunk_size: 1M
      buffer_max_size: 16M
      refresh_interval: 1
  outputs:
    - name: auditstream
      match: k8s-audit
      workers: 2
      retry_limit: no_limits
      instance_name: reload
      policy_file: %s
      policy_reload_interval: 1h
      metrics_listen: %s
      brokers: %s
      topic: %s.{stage}
      summary_interval: 0
      delivery_timeout: 10s
`, int(grace/time.Second), so, auditLog, policy, strings.TrimSuffix(strings.TrimPrefix(metricsURL, "http://"), "/metrics"),
		strings.Join(info.Brokers, ","), unique)
	cfgPath := filepath.Join(tmp, "fluent-bit.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}

	var out syncBuffer
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-c", cfgPath)
	cmd.Dir = tmp
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	fb := &process{done: make(chan struct{})}
	go func() {
		fb.err = cmd.Wait()
		close(fb.done)
	}()
	t.Cleanup(func() {
		cancel()
		<-fb.done
		if t.Failed() {
			t.Logf("fluent-bit exit: %v; its output:\n%s", fb.err, out.String())
		}
	})
	waitFor(t, &out, fb, "[output:auditstream:reload] started", 30*time.Second)

	const series = `auditstream_events_total{instance="reload",outcome="%s"}`
	kept, dropped := fmt.Sprintf(series, "kept"), fmt.Sprintf(series, "dropped_policy")
	keepFile := filepath.Join(tmp, "keep.yaml")
	if err := os.WriteFile(keepFile, []byte(keepPolicy), 0o600); err != nil {
		t.Fatal(err)
	}
	// events is how many audit events the lines hold: all of them, unless a
	// line of the sample is not one (counted as malformed, not dropped).
	events := func(from, to int) [][]byte {
		return apply(t, cli, keepFile, tmp, bytes.Join(lines[from:to], nil))
	}
	expected, second, third := events(0, 300), len(events(300, 600)), len(events(600, 700))

	f := openAppend(t, auditLog)
	defer f.Close()
	var written bytes.Buffer
	appendLines(t, f, lines[:300], &written)
	waitSeries(t, metricsURL, kept, float64(len(expected)), fb)

	policies.swap(dropPolicy)
	waitFor(t, &out, fb, "[output:auditstream:reload] policy reloaded from "+policy, 30*time.Second)
	appendLines(t, f, lines[300:600], &written)
	waitSeries(t, metricsURL, dropped, float64(second), fb)

	policies.swap(invalidPolicy)
	waitSeries(t, metricsURL, `auditstream_policy_last_reload_successful{instance="reload"}`, 0, fb)
	appendLines(t, f, lines[600:700], &written)
	waitSeries(t, metricsURL, dropped, float64(second+third), fb)

	for s, want := range map[string]float64{
		kept: float64(len(expected)),
		`auditstream_policy_reloads_total{instance="reload",result="success"}`: 1,
		`auditstream_policy_reloads_total{instance="reload",result="failure"}`: 1,
	} {
		if got := scrape(t, metricsURL, s); got != want {
			t.Errorf("%s = %v; want %v", s, got, want)
		}
	}
	if n := strings.Count(out.String(), "policy reload refused"); n != 1 {
		t.Errorf("%d lines say the invalid policy was refused; want 1", n)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	<-fb.done
	received := consume(t, info, topics)
	if len(received) != len(expected) {
		t.Errorf("%d messages in Kafka; want the %d the first policy keeps of the first 300 lines", len(received), len(expected))
	}
	for _, m := range received {
		for _, h := range m.Headers {
			if h.Key == "level" && string(h.Value) != "Metadata" {
				t.Errorf("a message shipped at level %s; the first policy ships Metadata only", h.Value)
			}
		}
	}
}
