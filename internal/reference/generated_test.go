package reference

import (
	"encoding/json"
	"maps"
	"math/rand/v2"
	"testing"

	"k8s.io/apiserver/pkg/apis/audit"

	"github.com/auditstream/auditstream/internal/gen"
)

// TestGenerated runs generated policies over generated events through every
// entry point: the two implementations of the rewrite must agree, the
// rewrite must change nothing but what the level and omitManagedFields
// allow, and the policies and events must actually meet (every outcome occurs).
func TestGenerated(t *testing.T) {
	seen := map[string]int{}
	policies := uint64(600)
	if testing.Short() {
		policies = 150
	}
	for seed := range policies {
		r := rand.New(rand.NewPCG(seed, 5))
		p, err := LoadPolicy(gen.Policy(r))
		if err != nil {
			t.Fatal(err)
		}
		eval := NewEvaluator(p)
		for range 8 {
			line := gen.Event(r)
			d, err := Decide(eval, line)
			if err != nil {
				t.Fatalf("seed %d: %v\n%s", seed, err, line)
			}
			seen["level:"+string(d.Level)]++
			if d.StageOmitted {
				seen["stage omitted"]++
			}
			out, kept, err := Rewrite(eval, line)
			if err != nil || kept != d.Kept() {
				t.Fatalf("seed %d: kept %v (Decide: %v), err %v\n%s", seed, kept, d.Kept(), err, line)
			}
			for name, f := range map[string]func(Evaluator, []byte) ([]byte, bool, error){
				"StraightforwardPath": StraightforwardPath, "StraightforwardPathJSONIter": StraightforwardPathJSONIter,
			} {
				sOut, sKept, err := f(eval, line)
				if err != nil || sKept != kept || (kept && !JSONEqual(out, sOut)) {
					t.Fatalf("seed %d: %s: kept %v, err %v\n in %s\nout %s\n%s %s", seed, name, sKept, err, line, out, name, sOut)
				}
			}
			if kept {
				checkRewrite(t, seed, line, out, d, seen)
			}
		}
	}
	for _, want := range []string{"level:None", "level:Metadata", "level:Request", "level:RequestResponse",
		"stage omitted", "lowered", "requestObject dropped", "responseObject dropped", "managedFields stripped", "kept",
		"patch annotations dropped"} {
		if seen[want] == 0 {
			t.Errorf("never happened: %s", want)
		}
	}
	t.Logf("%v", seen)
}

// checkRewrite checks a kept event's rewrite against its input: the level
// is the lower of the two, bodies go below their level, managedFields go
// only with omitManagedFields, Request-level annotations go when the event
// is lowered below Request, and nothing else changes.
func checkRewrite(t *testing.T, seed uint64, in, out []byte, d Decision, seen map[string]int) {
	t.Helper()
	var before, after map[string]json.RawMessage
	if err := json.Unmarshal(in, &before); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(out, &after); err != nil {
		t.Fatal(err)
	}
	var logged, level audit.Level
	_ = json.Unmarshal(before["level"], &logged)
	_ = json.Unmarshal(after["level"], &level)
	want := logged
	if d.Level.Less(logged) {
		want = d.Level
		seen["lowered"]++
	}
	if level != want {
		t.Errorf("seed %d: level %s, want %s\n%s", seed, level, want, in)
	}
	seen["kept"]++
	for key, minLevel := range map[string]audit.Level{"requestObject": audit.LevelRequest, "responseObject": audit.LevelRequestResponse} {
		_, had := before[key]
		_, has := after[key]
		switch {
		case has && level.Less(minLevel):
			t.Errorf("seed %d: %s kept at %s", seed, key, level)
		case had && !has && !level.Less(minLevel):
			t.Errorf("seed %d: %s dropped at %s", seed, key, level)
		case had && !has:
			seen[key+" dropped"]++
		case has && !JSONEqual(before[key], after[key]):
			if !d.OmitManagedFields {
				t.Errorf("seed %d: %s changed without omitManagedFields", seed, key)
			}
			seen["managedFields stripped"]++
		}
		delete(before, key)
		delete(after, key)
	}
	checkAnnotations(t, seed, before, after, logged, level, seen)
	delete(before, "level")
	delete(after, "level")
	b, _ := json.Marshal(before)
	a, _ := json.Marshal(after)
	if !JSONEqual(a, b) {
		t.Errorf("seed %d: more than level and bodies changed:\n%s\n%s", seed, in, out)
	}
}

// checkAnnotations checks the annotations of a rewrite and removes them from
// before and after: those a Metadata event lacks go exactly when an event
// logged at Request or above is lowered below it, the rest stay, and an
// annotations map that this empties goes too.
func checkAnnotations(t *testing.T, seed uint64, before, after map[string]json.RawMessage, logged, level audit.Level, seen map[string]int) {
	t.Helper()
	var in, out map[string]string
	_ = json.Unmarshal(before["annotations"], &in)
	_ = json.Unmarshal(after["annotations"], &out)
	_, hasKey := after["annotations"]
	want := maps.Clone(in)
	dropped := false
	if level.Less(audit.LevelRequest) && !logged.Less(audit.LevelRequest) {
		maps.DeleteFunc(want, func(k, _ string) bool { return MetadataLacks(k) })
		if dropped = len(want) < len(in); dropped {
			seen["patch annotations dropped"]++
		}
	}
	if !maps.Equal(out, want) || dropped && len(want) == 0 && hasKey {
		t.Errorf("seed %d: annotations %v (key present %v), want %v", seed, out, hasKey, want)
	}
	delete(before, "annotations")
	delete(after, "annotations")
}
