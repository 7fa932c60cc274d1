package filter

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/auditstream/auditstream/internal/testenv"
)

// FuzzAppendEvent feeds arbitrary lines to the scanner and the rewrite and
// checks their invariants:
//   - never panics;
//   - on error, dst is returned unchanged;
//   - a kept event's output is valid JSON, and so was its input;
//   - the rewrite is idempotent: applying the policy to its output changes nothing;
//   - AppendEventOrView gives the same event, as a view of line exactly when
//     the rewrite changes nothing.
func FuzzAppendEvent(f *testing.F) {
	for _, name := range []string{"audit2rbac-demo.v1.jsonl", "falco-k8s-audit-traces.jsonl"} {
		for _, l := range testenv.ReadLines(f, name) {
			f.Add(l)
		}
	}
	f.Add([]byte(event("list", "/api/v1/pods?fieldSelector=metadata.name%3Dx\\u0026limit=5", alice,
		`"requestObject":{"metadata":{"managedFields":[]}}`,
		`"responseObject":{"kind":"Table","rows":[{"object":{"metadata":{"a":1,"managedFields":[]}}}]}`)))
	p := mustCompile(f, policyAll)
	f.Fuzz(func(t *testing.T, line []byte) {
		pr := p.NewProcessor()
		prefix := []byte("dst")
		out, res, err := pr.AppendEvent(prefix, line)
		if err != nil || !res.Kept {
			if !bytes.Equal(out, prefix) {
				t.Fatalf("dst changed on error or drop: %q", out)
			}
			return
		}
		out = out[len(prefix):]
		if !json.Valid(line) {
			t.Fatalf("accepted invalid JSON: %q", line)
		}
		if !json.Valid(out) {
			t.Fatalf("output is not valid JSON:\n in %q\nout %q", line, out)
		}
		again, res2, err := pr.AppendEvent(nil, out)
		if err != nil || !res2.Kept || !bytes.Equal(again, out) {
			t.Fatalf("not idempotent (%v, kept %v):\n once %q\ntwice %q", err, res2.Kept, out, again)
		}
		checkOrView(t, pr, line, out, res)
	})
}

// checkOrView checks AppendEventOrView on line against AppendEvent's
// output want and result: the same event and result, as a view of line
// exactly when want is line without its surrounding white space.
func checkOrView(t *testing.T, pr *Processor, line, want []byte, wantRes Result) {
	t.Helper()
	prefix := []byte("dst")
	out, view, res, err := pr.AppendEventOrView(prefix, line)
	if err != nil || res != wantRes {
		t.Fatalf("AppendEventOrView: %v, %+v; AppendEvent: %+v", err, res, wantRes)
	}
	unchanged := bytes.Equal(want, bytes.TrimSpace(line))
	switch {
	case unchanged && (view == nil || !bytes.Equal(view, want) || !bytes.Equal(out, prefix)):
		t.Fatalf("an event kept as logged was not given as a view: view %q, dst %q", view, out)
	case unchanged && &view[0] != &line[bytes.Index(line, view)]:
		t.Fatal("the view is not into line")
	case !unchanged && (view != nil || !bytes.Equal(out[len(prefix):], want)):
		t.Fatalf("a rewritten event: view %q, dst %q; want no view and %q appended", view, out, want)
	}
}
