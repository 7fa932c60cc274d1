package pipeline

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/auditstream/auditstream/filter"
)

// levelPolicy compiles a one-rule policy that logs everything at level.
func levelPolicy(t *testing.T, level string) *filter.Policy {
	t.Helper()
	p, _, err := filter.Compile([]byte("apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: " + level + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func version(gen uint64, pol *filter.Policy) *PolicyVersion {
	return &PolicyVersion{Generation: gen, NewProcessor: func() Processor { return pol.NewProcessor() }}
}

// TestFlushReadsThePolicyOnce: the policy in force is read once per flush, so
// a chunk is filtered by one policy from its first to its last event, also
// when its parts are filtered on other goroutines and the policy changes
// while they run; the next flush uses the new one.
func TestFlushReadsThePolicyOnce(t *testing.T) {
	metadata := version(1, levelPolicy(t, "Metadata"))
	request := version(2, levelPolicy(t, "Request"))
	var calls atomic.Int32
	f := &fakeSink{}
	p, _ := newTestPipeline(t, f, func(c *Config) {
		c.FilterParallelism = 4
		// Every call after the first returns the other policy: a flush that
		// asked again for a part would filter it by the other policy.
		c.Policy = func() *PolicyVersion {
			if calls.Add(1) == 1 {
				return metadata
			}
			return request
		}
	})
	p.minPartBytes = 1
	chunk := func() []byte {
		c := &chunkBuilder{v2: true}
		for i := range 40 {
			c.raw(auditLine(i, "ResponseComplete", "alice", "get", "default", "pods"))
		}
		return c.b
	}
	if out := p.Flush(chunk()); out != Delivered {
		t.Fatalf("first flush: %v", out)
	}
	if out := p.Flush(chunk()); out != Delivered {
		t.Fatalf("second flush: %v", out)
	}
	got := f.events()
	if len(got) != 80 {
		t.Fatalf("%d events delivered; want 80", len(got))
	}
	for i, e := range got {
		want := "Metadata"
		if i >= 40 {
			want = "Request"
		}
		if e.level != want {
			t.Errorf("event %d (flush %d) shipped at %s; want %s", i%40, i/40+1, e.level, want)
		}
	}
	if n := calls.Load(); n != 2 {
		t.Errorf("Policy called %d times for 2 flushes; want 2", n)
	}
}

// TestDecisionsCountRulesAndLevels: every filtered event counts for the rule
// that decided it (or none), every kept one for the level it is shipped at.
func TestDecisionsCountRulesAndLevels(t *testing.T) {
	f := &fakeSink{}
	p, _ := newTestPipeline(t, f, func(c *Config) { c.FilterParallelism = 2 })
	p.minPartBytes = 1
	c := &chunkBuilder{v2: true}
	// The test policy: #0 drops system:kube-proxy, #1 logs secrets at
	// Metadata, #2 logs the rest at RequestResponse.
	for i := range 10 {
		c.raw(auditLine(i, "ResponseComplete", "system:kube-proxy", "watch", "", "endpoints"))
	}
	for i := range 3 {
		c.raw(auditLine(i, "ResponseComplete", "alice", "get", "default", "secrets"))
	}
	for i := range 5 {
		c.raw(auditLine(i, "ResponseComplete", "alice", "get", "default", "pods"))
	}
	if out := p.Flush(c.b); out != Delivered {
		t.Fatalf("flush: %v", out)
	}
	p.Flush(c.b)
	d := p.Decisions()
	if len(d.Rules) < 3 || d.Rules[0] != 20 || d.Rules[1] != 6 || d.Rules[2] != 10 || d.NoRule != 0 {
		t.Errorf("rule matches %v, no rule %d; want [20 6 10], 0", d.Rules, d.NoRule)
	}
	want := [numLevels]uint64{filter.LevelMetadata: 6, filter.LevelRequestResponse: 10}
	if d.Levels != want {
		t.Errorf("kept by level %v; want %v", d.Levels, want)
	}
}

// TestHooksSeeEachFlush: the flush hook sees each flush's outcome once, the
// ack hook each Deliver call that succeeded.
func TestHooksSeeEachFlush(t *testing.T) {
	f := &fakeSink{}
	var flushed [3]atomic.Int32
	var acked atomic.Int32
	p, _ := newTestPipeline(t, f, func(c *Config) {
		c.Hooks.Flushed = func(out Outcome, d time.Duration) {
			if d <= 0 {
				t.Errorf("flush took %v", d)
			}
			flushed[out].Add(1)
		}
		c.Hooks.Acked = func(time.Duration) { acked.Add(1) }
	})
	c := (&chunkBuilder{v2: true}).raw(auditLine(1, "ResponseComplete", "alice", "get", "default", "pods"))
	p.Flush(c.b)
	p.Flush(c.b)
	if flushed[Delivered].Load() != 2 || acked.Load() != 2 {
		t.Errorf("flushed %d delivered, %d acked; want 2, 2", flushed[Delivered].Load(), acked.Load())
	}
}

// BenchmarkDecisionsCount is the per-event cost of the rule and level
// tally, beside the microseconds a flush spends per event (BenchmarkFlushCPU).
func BenchmarkDecisionsCount(b *testing.B) {
	var d decisions
	res := filter.Result{Kept: true, Level: filter.LevelMetadata, Decision: filter.Decision{Rule: 3}}
	d.count(res) // grow to the rule once, as a pooled scratch has
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		res.Decision.Rule = i & 3
		d.count(res)
	}
}
