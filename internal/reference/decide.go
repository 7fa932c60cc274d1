package reference

import (
	"fmt"
	"slices"

	"k8s.io/apiserver/pkg/apis/audit"
)

// stageOrder is the order of the stages in a request's life, used to report
// OmitStages deterministically: the apiserver builds them from a map.
var stageOrder = []audit.Stage{
	audit.StageRequestReceived,
	audit.StageResponseStarted,
	audit.StageResponseComplete,
	audit.StagePanic,
}

// Decision is the policy outcome for one logged event.
type Decision struct {
	// Level is the level the policy assigns to the event's request.
	Level audit.Level
	// OmitStages are the stages the policy does not log for this request:
	// the matching rule's omitStages unioned with the policy's, or the
	// policy's alone when no rule matched. Sorted in stage order, no duplicates.
	OmitStages []audit.Stage
	// OmitManagedFields is the matching rule's omitManagedFields if set,
	// else the policy's.
	OmitManagedFields bool
	// Stage is the event's stage as logged.
	Stage audit.Stage
	// StageOmitted tells whether Stage is one of OmitStages.
	StageOmitted bool
}

// Kept reports whether the apiserver would have emitted the event under the
// policy: the level is not None and the event's stage is not omitted.
func (d Decision) Kept() bool {
	return d.Level != audit.LevelNone && !d.StageOmitted
}

// Decide evaluates the policy against the request of one logged event line.
// The event's stage must be one of the four the apiserver emits.
func Decide(eval Evaluator, line []byte) (Decision, error) {
	e, err := parseEvent(line)
	if err != nil {
		return Decision{}, err
	}
	return decide(eval, e)
}

func decide(eval Evaluator, e *loggedEvent) (Decision, error) {
	stage := audit.Stage(e.Stage)
	if !slices.Contains(stageOrder, stage) {
		return Decision{}, fmt.Errorf("event: unknown stage %q", e.Stage)
	}
	attrs, err := attributesFor(e.Verb, e.RequestURI, e.User)
	if err != nil {
		return Decision{}, err
	}
	rac := eval.EvaluatePolicyRule(attrs)
	d := Decision{
		Level:             rac.Level,
		OmitManagedFields: rac.OmitManagedFields,
		Stage:             stage,
	}
	for _, s := range stageOrder {
		if slices.Contains(rac.OmitStages, s) {
			d.OmitStages = append(d.OmitStages, s)
		}
	}
	// Same test as the apiserver's ProcessEventStage.
	d.StageOmitted = slices.Contains(rac.OmitStages, stage)
	return d, nil
}

// loggedLevel parses the level an event was logged at. "None" is rejected:
// the apiserver never emits an event at level None, so such a line is not an
// audit log line.
func loggedLevel(s string) (audit.Level, error) {
	switch l := audit.Level(s); l {
	case audit.LevelMetadata, audit.LevelRequest, audit.LevelRequestResponse:
		return l, nil
	}
	return "", fmt.Errorf("event: %q is not a level kube-apiserver logs events at", s)
}

// effectiveLevel is the level an event is rewritten to: a policy can only
// remove what was logged, never add to it.
func effectiveLevel(decided, logged audit.Level) audit.Level {
	if decided.Less(logged) {
		return decided
	}
	return logged
}
