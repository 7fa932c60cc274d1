package filter_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os/exec"
	"strings"
	"testing"

	"github.com/auditstream/auditstream/filter"
	"github.com/auditstream/auditstream/internal/gen"
	"github.com/auditstream/auditstream/internal/testenv"
)

// decoded is what a consumer's JSON decoder reads from a shipped event: the
// level, the stage, whether each body is there, and the annotation keys.
type decoded struct {
	Level, Stage                  string
	RequestObject, ResponseObject bool
	Annotations                   []string
}

// goDecoded is what encoding/json reads from event into a struct, as a Go
// consumer does: keys match case-insensitively and the last one wins; the
// annotations of every member it reads as "annotations" are merged.
func goDecoded(event []byte) (decoded, error) {
	var ev struct {
		Level, Stage                  string
		RequestObject, ResponseObject json.RawMessage
		Annotations                   map[string]json.RawMessage
	}
	var typeErr *json.UnmarshalTypeError
	if err := json.Unmarshal(event, &ev); err != nil && !errors.As(err, &typeErr) {
		return decoded{}, err
	}
	d := decoded{Level: ev.Level, Stage: ev.Stage,
		RequestObject:  ev.RequestObject != nil && string(ev.RequestObject) != "null",
		ResponseObject: ev.ResponseObject != nil && string(ev.ResponseObject) != "null"}
	for k := range ev.Annotations {
		d.Annotations = append(d.Annotations, k)
	}
	return d, nil
}

// pythonDecoded runs testdata/decoded_fields.py once over all events.
func pythonDecoded(t *testing.T, events [][]byte) []decoded {
	t.Helper()
	python, err := exec.LookPath("python3")
	if err != nil {
		testenv.Missing(t, "python3 not found (install Python 3) to compare with Python's json")
	}
	cmd := exec.Command(python, "testdata/decoded_fields.py")
	cmd.Stdin = bytes.NewReader(append(bytes.Join(events, []byte("\n")), '\n'))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python3 testdata/decoded_fields.py: %v\n%s", err, stderr.Bytes())
	}
	var ds []decoded
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		var d struct {
			Level, Stage                  *string
			RequestObject, ResponseObject bool
			Annotations                   []string
		}
		if err := dec.Decode(&d); err != nil {
			t.Fatalf("reading python's output: %v", err)
		}
		ds = append(ds, decoded{Level: deref(d.Level), Stage: deref(d.Stage),
			RequestObject: d.RequestObject, ResponseObject: d.ResponseObject, Annotations: d.Annotations})
	}
	if len(ds) != len(events) {
		t.Fatalf("python read %d events of %d", len(ds), len(events))
	}
	return ds
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// agrees reports how d, a decoder's reading of an event the filter kept
// with res, differs from the policy's decision: "" when it does not.
func agrees(d decoded, res filter.Result) string {
	var diffs []string
	if d.Level != res.Level.String() {
		diffs = append(diffs, fmt.Sprintf("level %q, decided %s", d.Level, res.Level))
	}
	if d.Stage != res.Stage.String() {
		diffs = append(diffs, fmt.Sprintf("stage %q, decided %s", d.Stage, res.Stage))
	}
	if d.RequestObject && res.Level < filter.LevelRequest {
		diffs = append(diffs, "a requestObject at "+res.Level.String())
	}
	if d.ResponseObject && res.Level < filter.LevelRequestResponse {
		diffs = append(diffs, "a responseObject at "+res.Level.String())
	}
	if res.Level < filter.LevelRequest && res.LoggedLevel >= filter.LevelRequest {
		for _, k := range d.Annotations {
			if strings.HasPrefix(k, "patch.webhook.admission.k8s.io/") || k == "audit.k8s.io/truncated" {
				diffs = append(diffs, "annotation "+k+" at "+res.Level.String())
			}
		}
	}
	return strings.Join(diffs, "; ")
}

// TestDecodersAgree: for every event the filter keeps, what encoding/json
// (case-insensitive, last key wins) and Python's json (exact keys, last
// wins) read from the output agrees with the decision: the level, the stage,
// and no body or request annotation the level forbids. The events are the
// real logs and generated ones, each also with duplicated members and keys
// that differ only by case injected (ambiguous); an event whose decision
// fields are ambiguous must be refused with ErrAmbiguous.
func TestDecodersAgree(t *testing.T) {
	r := rand.New(rand.NewPCG(20261202, 7))
	var events [][]byte
	for _, name := range []string{"audit2rbac-demo.v1.jsonl", "falco-k8s-audit-traces.jsonl", "audit2rbac-demo-full.v1beta1.jsonl"} {
		events = append(events, testenv.ReadLines(t, name)...)
	}
	for range 500 {
		events = append(events, gen.Event(r))
	}
	policies := [][]byte{[]byte(testenv.Policy), []byte(policyLowering)}
	for range 4 {
		policies = append(policies, gen.Policy(r))
	}

	type keptEvent struct {
		res   filter.Result
		where string
	}
	var outs [][]byte
	var kept []keptEvent
	refused, mutants := 0, 0
	for pi, yaml := range policies {
		p, _, err := filter.Compile(yaml)
		if err != nil {
			t.Fatalf("policy %d: %v", pi, err)
		}
		pr := p.NewProcessor()
		for ei, ev := range events {
			lines := [][]byte{ev}
			var ambiguous []bool
			ambiguous = append(ambiguous, false)
			for range 3 {
				m, amb, ok := mutate(r, ev)
				if ok {
					lines, ambiguous = append(lines, m), append(ambiguous, amb)
				}
			}
			for li, line := range lines {
				mutants += min(li, 1)
				where := fmt.Sprintf("policy %d, event %d, variant %d: %.400s", pi, ei, li, line)
				out, res, err := pr.AppendEvent(nil, line)
				switch {
				case ambiguous[li] && !errors.Is(err, filter.ErrAmbiguous):
					t.Errorf("%s: error %v; want ErrAmbiguous", where, err)
					continue
				case !ambiguous[li] && err != nil:
					t.Errorf("%s: %v", where, err)
					continue
				case err != nil:
					refused++
					continue
				case !res.Kept:
					continue
				}
				if in, err := goDecoded(line); err != nil || in.Level != res.LoggedLevel.String() || in.Stage != res.Stage.String() {
					t.Errorf("%s: encoding/json reads level %q, stage %q from the event (%v); the filter read %s, %s",
						where, in.Level, in.Stage, err, res.LoggedLevel, res.Stage)
				}
				d, err := goDecoded(out)
				if err != nil {
					t.Fatalf("%s: encoding/json cannot read the output: %v\n%s", where, err, out)
				}
				if diff := agrees(d, res); diff != "" {
					t.Errorf("%s\nencoding/json reads %s from %s", where, diff, out)
				}
				outs = append(outs, out)
				kept = append(kept, keptEvent{res, where})
			}
		}
	}
	t.Logf("%d events kept, %d injected variants, %d refused as ambiguous", len(kept), mutants, refused)
	if len(kept) == 0 || refused == 0 {
		t.Fatal("degenerate sample")
	}
	for i, d := range pythonDecoded(t, outs) {
		if diff := agrees(d, kept[i].res); diff != "" {
			t.Errorf("%s\nPython's json reads %s from %s", kept[i].where, diff, outs[i])
		}
	}
}

// policyLowering keeps most events but lowers many with bodies.
const policyLowering = `apiVersion: audit.k8s.io/v1
kind: Policy
rules:
- level: None
  users: ["system:kube-proxy"]
- level: Metadata
  resources: [{group: "", resources: ["secrets", "configmaps"]}]
- level: Request
  verbs: ["get", "list", "watch"]
- level: RequestResponse
`

// FuzzDecodersAgree: for any line the filter keeps, encoding/json reads from
// the line the level and stage the filter decided on, and from the output
// the decided level and stage and no body or request annotation the level
// forbids. The seeds are real events, each also with a duplicate or a case
// variant injected.
func FuzzDecodersAgree(f *testing.F) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, name := range []string{"audit2rbac-demo.v1.jsonl", "falco-k8s-audit-traces.jsonl"} {
		for _, l := range testenv.ReadLines(f, name) {
			f.Add(l)
			if m, _, ok := mutate(r, l); ok {
				f.Add(m)
			}
		}
	}
	p, _, err := filter.Compile([]byte(policyLowering))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		out, res, err := p.NewProcessor().AppendEvent(nil, line)
		if err != nil || !res.Kept {
			return
		}
		in, err := goDecoded(line)
		if err != nil {
			var syntaxErr *json.SyntaxError
			if errors.As(err, &syntaxErr) && strings.Contains(err.Error(), "exceeded max depth") {
				return // deeper than encoding/json reads, as kube-apiserver may write
			}
			t.Fatalf("encoding/json cannot read a line the filter kept: %v", err)
		}
		if in.Level != res.LoggedLevel.String() || in.Stage != res.Stage.String() {
			t.Fatalf("encoding/json reads level %q, stage %q; the filter read %s, %s", in.Level, in.Stage, res.LoggedLevel, res.Stage)
		}
		d, err := goDecoded(out)
		if err != nil {
			t.Fatalf("encoding/json cannot read the output: %v\n%s", err, out)
		}
		if diff := agrees(d, res); diff != "" {
			t.Fatalf("encoding/json reads %s from %s", diff, out)
		}
	})
}
