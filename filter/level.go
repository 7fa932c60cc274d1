package filter

// Level is an audit level, ordered as kube-apiserver orders them: a higher
// level logs strictly more of an event.
type Level uint8

// The audit levels, lowest first.
const (
	LevelNone Level = iota
	LevelMetadata
	LevelRequest
	LevelRequestResponse
)

var levelNames = [...]string{"None", "Metadata", "Request", "RequestResponse"}

// String returns the level's name as it appears in policies and events.
// The result is a constant: calling it allocates nothing.
func (l Level) String() string {
	if int(l) < len(levelNames) {
		return levelNames[l]
	}
	return "Unknown"
}

// parseLevel maps a level name to its value; ok is false for anything that is
// not exactly one of the four names (matching is case-sensitive, as in the apiserver).
func parseLevel(b []byte) (Level, bool) {
	for i, name := range levelNames {
		if string(b) == name {
			return Level(i), true
		}
	}
	return LevelNone, false
}

// Stage is the point of a request's life at which an audit event was emitted.
type Stage uint8

// The audit stages. StageUnknown is the zero value and never matches a policy's omitStages.
const (
	StageUnknown Stage = iota
	StageRequestReceived
	StageResponseStarted
	StageResponseComplete
	StagePanic
)

// NumStages is the number of real stages; Stage values 1..NumStages are valid.
const NumStages = 4

var stageNames = [...]string{"", "RequestReceived", "ResponseStarted", "ResponseComplete", "Panic"}

// String returns the stage's name as it appears in events; "" for StageUnknown.
func (s Stage) String() string {
	if int(s) < len(stageNames) {
		return stageNames[s]
	}
	return ""
}

func parseStage(b []byte) (Stage, bool) {
	for i := 1; i < len(stageNames); i++ {
		if string(b) == stageNames[i] {
			return Stage(i), true
		}
	}
	return StageUnknown, false
}

// stageSet is a bit set of stages, bit s for Stage s.
type stageSet uint8

func (s stageSet) has(st Stage) bool { return s&(1<<st) != 0 }
