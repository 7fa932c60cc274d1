package simulate

import (
	"cmp"
	"slices"

	"github.com/auditstream/auditstream/filter"
)

// MaxDiffExamples is how many differing events a comparison keeps.
const MaxDiffExamples = 20

// Comparison runs every event through two policies.
type Comparison struct {
	A, B     *Simulator
	pairs    map[[2]int]int64
	examples []Diff
	differ   int64
}

// Diff is one event that two policies decide differently.
type Diff struct {
	Position string `json:"position"`
	RuleA    int    `json:"ruleA"`
	RuleB    int    `json:"ruleB"`
	LevelA   string `json:"levelA"`
	LevelB   string `json:"levelB"`
	KeptA    bool   `json:"keptA"`
	KeptB    bool   `json:"keptB"`
	Event    string `json:"event,omitempty"`
}

// RulePair counts the differing events by the rules that decided them.
type RulePair struct {
	RuleA  int   `json:"ruleA"`
	RuleB  int   `json:"ruleB"`
	Events int64 `json:"events"`
}

// CompareReport is the outcome of a comparison.
type CompareReport struct {
	A, B      Report
	Differing int64      `json:"differing"`
	Pairs     []RulePair `json:"pairs"`
	Examples  []Diff     `json:"examples"`
}

// NewComparison compares a and b, which must not be used elsewhere.
func NewComparison(a, b *Simulator) *Comparison {
	return &Comparison{A: a, B: b, pairs: map[[2]int]int64{}}
}

// Add runs one line through both policies; an event differs when the
// level, the stage decision or the kept flag differ.
func (c *Comparison) Add(line []byte, position string) error {
	_, ra, err := c.A.Add(line)
	if err != nil {
		c.B.events++
		c.B.invalid++
		return err
	}
	_, rb, _ := c.B.Add(line)
	if sameOutcome(ra, rb) {
		return nil
	}
	c.differ++
	c.pairs[[2]int{ra.Decision.Rule, rb.Decision.Rule}]++
	if len(c.examples) < MaxDiffExamples {
		c.examples = append(c.examples, Diff{
			Position: position, RuleA: ra.Decision.Rule, RuleB: rb.Decision.Rule,
			LevelA: levelOf(ra), LevelB: levelOf(rb), KeptA: ra.Kept, KeptB: rb.Kept,
			Event: excerpt(line),
		})
	}
	return nil
}

func sameOutcome(a, b filter.Result) bool {
	return a.Kept == b.Kept && (!a.Kept || a.Level == b.Level && a.Decision.OmitManagedFields == b.Decision.OmitManagedFields)
}

// levelOf is the level an event is written at, or "dropped".
func levelOf(r filter.Result) string {
	if !r.Kept {
		return "dropped"
	}
	return r.Level.String()
}

func excerpt(line []byte) string {
	const n = 200
	if len(line) > n {
		return string(line[:n]) + "..."
	}
	return string(line)
}

// Report returns the comparison so far.
func (c *Comparison) Report() CompareReport {
	r := CompareReport{A: c.A.Report(), B: c.B.Report(), Differing: c.differ, Examples: slices.Clone(c.examples)}
	for k, n := range c.pairs {
		r.Pairs = append(r.Pairs, RulePair{RuleA: k[0], RuleB: k[1], Events: n})
	}
	slices.SortFunc(r.Pairs, func(x, y RulePair) int {
		if d := cmp.Compare(y.Events, x.Events); d != 0 {
			return d
		}
		return cmp.Or(cmp.Compare(x.RuleA, y.RuleA), cmp.Compare(x.RuleB, y.RuleB))
	})
	if r.Examples == nil {
		r.Examples = []Diff{}
	}
	return r
}
