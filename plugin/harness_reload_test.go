package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/auditstream/auditstream/internal/kafkatest"
	"github.com/auditstream/auditstream/internal/testenv"
)

// reloads is how many hot reloads the reload tests run; the resources are
// compared after reloadsEarly and after all of them.
const (
	reloads      = 20
	reloadsEarly = 5
)

// Tolerances of the growth between reload 5 and reload 20, i.e. over 15
// reloads. A leaked instance would keep its goroutines (summary timer,
// kafka-go writers) and connections, and its heap: with reloadPolicy's
// compiled rules about half a MB, so that 15 leaked instances exceed the
// heap bound several times, while the runtime's own noise (a GC worker, a
// timer, a pooled buffer) stays well within every bound.
const (
	reloadGoroutineSlack = 3
	reloadFDSlack        = 2
	reloadHeapSlack      = 2 << 20
)

// reloadPolicy is testenv.Policy behind 100 rules that match none of the
// test's users: what the test's events become is unchanged, and each
// instance holds a policy the size of a large real one.
func reloadPolicy() string {
	var b strings.Builder
	b.WriteString("apiVersion: audit.k8s.io/v1\nkind: Policy\nomitStages: [RequestReceived]\nrules:\n")
	list := func(format string, i, n int) string {
		s := make([]string, n)
		for j := range s {
			s[j] = fmt.Sprintf(format, i, j)
		}
		return strings.Join(s, ", ")
	}
	for i := range 100 {
		fmt.Fprintf(&b, "- level: Request\n  users: [%s]\n  namespaces: [%s]\n  resources: [{group: \"g%d.example.com\", resources: [%s]}]\n",
			list("nobody-%d-%d", i, 16), list("ns-%d-%d", i, 8), i, list("res%d-%d", i, 8))
	}
	_, rules, _ := strings.Cut(testenv.Policy, "rules:\n")
	b.WriteString(rules)
	return b.String()
}

// TestHarnessHotReload runs 20 hot reloads the way Fluent Bit's Go proxy
// does them in one process: the new context registers the same .so again
// (PreRegister(1), Register) while the old instance still flushes; then the
// old instance exits (OutputPreExit(1), ExitCtx) and its registration is
// torn down (Unregister); only then does the new instance init. Every flush
// must be acknowledged and every kept event must reach Kafka once per flush,
// and the goroutines, descriptors and heap of the process must not grow
// with the number of reloads: a closed instance must leave nothing behind.
func TestHarnessHotReload(t *testing.T) {
	info := kafkatest.Broker(t)
	so := statsArtifact(t)
	dir := t.TempDir()
	pol := writeFile(t, dir, "policy.yaml", reloadPolicy())
	topic := kafkatest.TopicName(t)
	kafkatest.CreateTopic(t, info, topic, 1)

	const events = 30
	var lines strings.Builder
	kept := map[string]bool{}
	for i := range events {
		k := kinds[i%len(kinds)]
		id := fmt.Sprintf("reload-%04d", i)
		lines.WriteString(auditLine(id, k.stage, k.user, k.verb, k.ns, k.resource) + "\n")
		if k.level != "" {
			kept[id] = true
		}
	}
	file := writeFile(t, dir, "events.jsonl", lines.String())

	// A summary every second, so that each instance runs its timer too.
	initArgs := fmt.Sprintf("instance_name=audit policy_file=%s brokers=%s topic=%s linger=1ms summary_interval=1s verbosity=warn",
		pol, strings.Join(info.Brokers, ","), topic)
	label := func(r int) string { return fmt.Sprintf("gen%d", r%2) }
	var script strings.Builder
	fmt.Fprintf(&script, "load %s\nregister v511\ninit %s %s\nchunk c v2 fix raw %s %d\nflush %s c\n",
		so, label(0), initArgs, file, events, label(0))
	flushes := 1
	for r := 1; r <= reloads; r++ {
		old, cur := label(r-1), label(r)
		fmt.Fprintf(&script, "load %s\nregister v511 reload\nflush %s c\nexit %s reload\nunregister\ninit %s %s\nflush %s c\n",
			so, old, old, cur, initArgs, cur)
		flushes += 2
		if r == reloadsEarly || r == reloads {
			fmt.Fprintf(&script, "stats r%d\n", r)
		}
	}
	fmt.Fprintf(&script, "exit %s\nunregister\n", label(reloads))

	run := runHarness(t, 5*time.Minute, script.String())
	run.ok(t)
	calls := 0
	for _, l := range run.lines {
		if !strings.HasPrefix(l, "flush ") {
			continue
		}
		res := run.result(t, l)
		if res["ok"] != res["calls"] {
			t.Fatalf("a flush was not acknowledged: %s", l)
		}
		calls++
	}
	if calls != flushes {
		t.Fatalf("%d flushes ran; want %d", calls, flushes)
	}
	for _, l := range run.lines {
		if strings.HasPrefix(l, "exit ") && run.result(t, l)["rc"] != "1" {
			t.Fatalf("an exit failed: %s", l)
		}
	}

	got := map[string]int{}
	for _, m := range consume(t, info.Brokers, topic, len(kept)*flushes) {
		var ev struct{ AuditID string }
		if err := json.Unmarshal(m.Value, &ev); err != nil || !kept[ev.AuditID] {
			t.Fatalf("unexpected message %.200q", m.Value)
		}
		got[ev.AuditID]++
	}
	for id := range kept {
		if got[id] != flushes {
			t.Errorf("event %s arrived %d times; want %d, once per flush", id, got[id], flushes)
		}
	}

	early := run.result(t, fmt.Sprintf("stats r%d", reloadsEarly))
	late := run.result(t, fmt.Sprintf("stats r%d", reloads))
	t.Logf("after %d reloads: %v", reloadsEarly, early)
	t.Logf("after %d reloads: %v", reloads, late)
	for _, st := range []map[string]string{early, late} {
		if st["instances"] != "1" {
			t.Errorf("%s instances in the handle table with one running: %v", st["instances"], st)
		}
	}
	for _, c := range []struct {
		key   string
		slack int64
	}{{"goroutines", reloadGoroutineSlack}, {"fds", reloadFDSlack}, {"heap_inuse", reloadHeapSlack}} {
		e, l := atoi(t, early[c.key]), atoi(t, late[c.key])
		if e < 0 || l < 0 {
			t.Fatalf("%s not measured: %v", c.key, late)
		}
		if l-e > c.slack {
			t.Errorf("%s grew from %d after %d reloads to %d after %d: a closed instance leaks (allowed growth %d)",
				c.key, e, reloadsEarly, l, reloads, c.slack)
		}
	}
}
