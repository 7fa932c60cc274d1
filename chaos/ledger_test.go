package chaos

import (
	"bytes"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/auditstream/auditstream/filter"
	"github.com/auditstream/auditstream/sink"
)

// fate is where the policy sends a line.
type fate int

const (
	toStage      fate = iota // kept: its stage's topic (or dead-lettered, with a reason)
	dropped                  // level None or an omitted stage: nowhere
	toDeadLetter             // not an event the policy can decide: the dead-letter topic
)

// expectation is what the ledger expects of one line.
type expectation struct {
	line  *logLine
	fate  fate
	stage string       // the topic's stage when fate is toStage
	level filter.Level // the level it is written at
	why   string       // the filter's error, when fate is toDeadLetter
}

// expect decides every line with the policy, as the filter does: that is the
// ledger's expectation.
func expect(p *filter.Policy, lines []logLine) []expectation {
	pr := p.NewProcessor()
	out := make([]expectation, len(lines))
	for i := range lines {
		e := expectation{line: &lines[i]}
		res, err := pr.Decide(lines[i].data)
		switch {
		case err != nil:
			e.fate, e.why = toDeadLetter, err.Error()
		case !res.Kept:
			e.fate = dropped
		default:
			e.fate, e.stage, e.level = toStage, res.Stage.String(), res.Level
		}
		out[i] = e
	}
	return out
}

// runTopics are the topics of one run.
type runTopics struct {
	stage      map[string]string // stage -> topic
	deadLetter string
}

func (rt runTopics) all() []string {
	out := []string{rt.deadLetter}
	for _, t := range rt.stage {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// verdict is the ledger of one run.
type verdict struct {
	Lines        int // lines in the log
	Kept         int // lines the policy keeps
	Dropped      int // lines the policy drops
	Undecidable  int // lines the filter cannot decide (expected on the dead-letter topic)
	Arrived      int // messages found on the run's topics
	DeadLettered int // lines found on the dead-letter topic
	Lost         int // lines kept or undecidable found nowhere
	Duplicates   int // messages beyond the first of a line
	Unexpected   int // messages of dropped lines, on a wrong topic, unknown, or dead-lettered without a reason
	Leaked       int // messages that hold a body the policy's level removes
	details      []string
}

func (v *verdict) note(format string, args ...any) {
	if len(v.details) < 40 {
		v.details = append(v.details, fmt.Sprintf(format, args...))
	}
}

// ok is the rule: nothing lost, nothing where it must not be.
func (v *verdict) ok() bool { return v.Lost == 0 && v.Unexpected == 0 && v.Leaked == 0 }

func (v *verdict) String() string {
	return fmt.Sprintf("lines=%d kept=%d dropped=%d undecidable=%d arrived=%d dead-lettered=%d lost=%d duplicates=%d unexpected=%d leaked=%d",
		v.Lines, v.Kept, v.Dropped, v.Undecidable, v.Arrived, v.DeadLettered, v.Lost, v.Duplicates, v.Unexpected, v.Leaked)
}

// idPattern finds a run's auditID in a value that is not JSON, or not whole.
var idPattern = regexp.MustCompile(`cx-[a-z0-9]+-h?[0-9]{5,6}`)

// check matches what arrived against the expectations.
func check(exps []expectation, rt runTopics, arrivals []arrival) *verdict {
	v := &verdict{Lines: len(exps), Arrived: len(arrivals)}
	byID := make(map[string]*expectation, len(exps))
	for i := range exps {
		byID[exps[i].line.id] = &exps[i]
		switch exps[i].fate {
		case toStage:
			v.Kept++
		case dropped:
			v.Dropped++
		case toDeadLetter:
			v.Undecidable++
		}
	}
	stageOf := map[string]string{}
	for st, topic := range rt.stage {
		stageOf[topic] = st
	}
	onStage := map[string]int{}
	onDLQ := map[string]int{}
	for _, a := range arrivals {
		id := a.headers[sink.HeaderAuditID]
		if byID[id] == nil {
			id = string(idPattern.Find(a.value))
		}
		e := byID[id]
		if e == nil {
			v.Unexpected++
			v.note("unknown message on %s: %.120q", a.topic, a.value)
			continue
		}
		if a.topic == rt.deadLetter {
			onDLQ[id]++
			if a.headers[sink.HeaderError] == "" {
				v.Unexpected++
				v.note("%s (%s) dead-lettered without an error header", id, caseName(e))
			}
			if e.fate == dropped {
				v.Unexpected++
				v.note("%s (%s): the policy drops it, but it was dead-lettered: %s", id, caseName(e), a.headers[sink.HeaderError])
			}
			continue
		}
		onStage[id]++
		switch {
		case e.fate == dropped:
			v.Unexpected++
			v.note("%s (%s): the policy drops it, but it is on %s", id, caseName(e), a.topic)
		case e.fate == toStage && stageOf[a.topic] != e.stage:
			v.Unexpected++
			v.note("%s (%s): on %s; want the topic of stage %s", id, caseName(e), a.topic, e.stage)
		case e.fate == toStage && leaks(a.value, e.level):
			v.Leaked++
			v.note("%s (%s): written at %s but holds a body", id, caseName(e), e.level)
		}
	}
	for i := range exps {
		e := &exps[i]
		id := e.line.id
		n := onStage[id] + onDLQ[id]
		if onDLQ[id] > 0 {
			v.DeadLettered++
		}
		if n > 1 {
			v.Duplicates += n - 1
		}
		if n == 0 && e.fate != dropped {
			v.Lost++
			if e.fate == toStage {
				v.note("lost: %s (%s), kept at %s for stage %s", id, caseName(e), e.level, e.stage)
			} else {
				v.note("lost: %s (%s), undecidable (%s), not dead-lettered", id, caseName(e), e.why)
			}
		}
	}
	return v
}

func caseName(e *expectation) string {
	if e.line.hostile != "" {
		return e.line.hostile
	}
	return "event"
}

// leaks tells whether a message written at level holds a body that level
// removes, under any spelling of the member's name.
func leaks(value []byte, level filter.Level) bool {
	if bytes.Contains(value, []byte(bodyMark)) && level < filter.LevelRequest {
		return true
	}
	lower := strings.ToLower(string(value))
	switch {
	case level < filter.LevelRequest:
		return strings.Contains(lower, `"requestobject":`) || strings.Contains(lower, `"responseobject":`)
	case level < filter.LevelRequestResponse:
		return strings.Contains(lower, `"responseobject":`)
	}
	return false
}
