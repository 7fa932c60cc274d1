package pipeline

import (
	"sync"
	"time"

	"github.com/auditstream/auditstream/filter"
)

// PolicyVersion is one compiled policy the pipeline filters with. A policy
// reload makes a new version; the pipeline reads the current one once at the
// start of each Flush, so that a chunk is filtered by one policy from its
// first event to its last, whatever reloads happen meanwhile.
type PolicyVersion struct {
	// Generation tells versions apart: a pooled scratch whose processor was
	// made for another generation gets a new processor.
	Generation uint64
	// NewProcessor returns a new processor for this version.
	NewProcessor func() Processor
}

// Hooks are optional observers called once per flush, never per event; a
// nil hook costs nothing. They must be safe for concurrent calls.
type Hooks struct {
	// Flushed is called when a Flush that read its chunk returns, with its
	// outcome and how long it took.
	Flushed func(out Outcome, elapsed time.Duration)
	// Acked is called after a Deliver call that succeeded, with how long
	// Kafka took to acknowledge the chunk's events.
	Acked func(elapsed time.Duration)
}

// fixedPolicy is the version of a pipeline configured with NewProcessor only.
func fixedPolicy(newProcessor func() Processor) func() *PolicyVersion {
	v := &PolicyVersion{NewProcessor: newProcessor}
	return func() *PolicyVersion { return v }
}

// getScratch takes a scratch from the free list (or a new one) and makes
// sure its processor belongs to version v.
func (p *Pipeline) getScratch(v *PolicyVersion) *scratch {
	s, ok := p.free.Get()
	if !ok {
		s = &scratch{cutBodies: p.cfg.CutUnreadableBodies}
	}
	if s.proc == nil || s.generation != v.Generation {
		s.proc, s.generation = v.NewProcessor(), v.Generation
	}
	s.policy = v
	s.decided.zero()
	return s
}

// decisions tallies the policy's decisions of one flush (or one part of it)
// locally, so that the shared totals are touched once per flush.
type decisions struct {
	// rules counts events by the rule that decided them, at rule index + 1;
	// index 0 counts events no rule matched. It grows to the largest index
	// seen and keeps its capacity, so steady state allocates nothing.
	rules []uint64
	// levels counts kept events by the level they are shipped at.
	levels [numLevels]uint64
}

const numLevels = int(filter.LevelRequestResponse) + 1

func (d *decisions) count(res filter.Result) {
	i := res.Decision.Rule + 1
	if i < 0 {
		i = 0
	}
	if i >= len(d.rules) {
		d.rules = append(d.rules, make([]uint64, i+1-len(d.rules))...)
	}
	d.rules[i]++
	if res.Kept && int(res.Level) < numLevels {
		d.levels[res.Level]++
	}
}

func (d *decisions) zero() {
	clear(d.rules)
	d.levels = [numLevels]uint64{}
}

// Decisions are a pipeline's policy decisions since New. Rule numbers are
// those of the policy in force when each event was filtered: a reload that
// reorders the rules continues the same numbers.
type Decisions struct {
	// NoRule counts events no rule matched (level None).
	NoRule uint64
	// Rules[i] counts events rule #i decided, kept or dropped.
	Rules []uint64
	// Levels[l] counts kept events shipped at filter.Level l.
	Levels [numLevels]uint64
}

// decisionTotals are the shared totals of Decisions.
type decisionTotals struct {
	mu     sync.Mutex
	rules  []uint64 // as decisions.rules
	levels [numLevels]uint64
}

// addDecisions adds the tallies of s and of its parts to the totals.
func (p *Pipeline) addDecisions(s *scratch) {
	d := &p.decided
	d.mu.Lock()
	defer d.mu.Unlock()
	add := func(part *decisions) {
		if len(part.rules) > len(d.rules) {
			d.rules = append(d.rules, make([]uint64, len(part.rules)-len(d.rules))...)
		}
		for i, n := range part.rules {
			d.rules[i] += n
		}
		for i, n := range part.levels {
			d.levels[i] += n
		}
	}
	add(&s.decided)
	for _, part := range s.parts {
		add(&part.decided)
	}
}

// Decisions returns the policy decisions counted so far.
func (p *Pipeline) Decisions() Decisions {
	d := &p.decided
	d.mu.Lock()
	defer d.mu.Unlock()
	out := Decisions{Levels: d.levels}
	if len(d.rules) > 0 {
		out.NoRule = d.rules[0]
		out.Rules = append([]uint64(nil), d.rules[1:]...)
	}
	return out
}
