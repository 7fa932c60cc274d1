package e2e

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/auditstream/auditstream/internal/fluentbit"
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
func waitSeries(t *testing.T, url, series string, want float64, fb *fluentbit.Process) {
	t.Helper()
	deadline := time.Now().Add(deliverTimeout)
	for {
		got := scrape(t, url, series)
		if got == want {
			return
		}
		if fb.Exited() {
			t.Fatalf("fluent-bit exited (%v) while %s was %v, waiting for %v", fb.Wait(0), series, got, want)
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
	fx := newFixture(t)

	policies := &configMapDir{t: t, dir: filepath.Join(fx.tmp, "policy")}
	if err := os.Mkdir(policies.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	policies.swap(keepPolicy)
	policy := filepath.Join(policies.dir, "policy.yaml")
	if err := os.Symlink(filepath.Join("..data", "policy.yaml"), policy); err != nil {
		t.Fatal(err)
	}
	auditLog := filepath.Join(fx.tmp, "audit.log")
	if err := os.WriteFile(auditLog, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	metricsAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	metricsURL := "http://" + metricsAddr + "/metrics"
	fb := fx.startFluentBit(t, fluentbit.Config{
		Plugin:  fx.art.Plugin,
		LogPath: auditLog,
		Dir:     fx.tmp,
		Grace:   grace,
		// Nothing here outlives the process: chunks in memory will do.
		StorageType: "memory",
		Keys: map[string]string{
			"instance_name":          "reload",
			"policy_file":            policy,
			"policy_reload_interval": "1h",
			"metrics_listen":         metricsAddr,
			"brokers":                strings.Join(fx.info.Brokers, ","),
			"topic":                  fx.unique + ".{stage}",
			"summary_interval":       "0",
			"delivery_timeout":       "10s",
		},
	}, runTimeout)
	waitFor(t, fb, "[output:auditstream:reload] started", 30*time.Second)

	const series = `auditstream_events_total{instance="reload",outcome="%s"}`
	kept, dropped := fmt.Sprintf(series, "kept"), fmt.Sprintf(series, "dropped_policy")
	keepFile := filepath.Join(fx.tmp, "keep.yaml")
	if err := os.WriteFile(keepFile, []byte(keepPolicy), 0o600); err != nil {
		t.Fatal(err)
	}
	// events is how many audit events the lines hold: all of them, unless a
	// line of the sample is not one (counted as malformed, not dropped).
	events := func(from, to int) [][]byte {
		return apply(t, fx.art.CLI, keepFile, fx.tmp, bytes.Join(fx.lines[from:to], nil))
	}
	expected, second, third := events(0, 300), len(events(300, 600)), len(events(600, 700))

	f := openAppend(t, auditLog)
	defer f.Close()
	var written bytes.Buffer
	appendLines(t, f, fx.lines[:300], &written)
	waitSeries(t, metricsURL, kept, float64(len(expected)), fb)

	policies.swap(dropPolicy)
	waitFor(t, fb, "[output:auditstream:reload] policy reloaded from "+policy, 30*time.Second)
	appendLines(t, f, fx.lines[300:600], &written)
	waitSeries(t, metricsURL, dropped, float64(second), fb)

	policies.swap(invalidPolicy)
	waitSeries(t, metricsURL, `auditstream_policy_last_reload_successful{instance="reload"}`, 0, fb)
	appendLines(t, f, fx.lines[600:700], &written)
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
	if n := strings.Count(fb.Output(), "policy reload refused"); n != 1 {
		t.Errorf("%d lines say the invalid policy was refused; want 1", n)
	}

	stopFluentBit(t, fb)
	received := consume(t, fx.info, fx.topics)
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
