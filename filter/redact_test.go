package filter

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"

	"github.com/auditstream/auditstream/internal/secretgen"
)

var testHashKey = []byte("0123456789abcdef-test-key")

func mustRedaction(t testing.TB, mode RedactMode, fields ...string) *Redaction {
	t.Helper()
	r, err := NewRedaction(RedactConfig{Mode: mode, HashKey: testHashKey, Fields: fields})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

const policyRequestResponse = "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: RequestResponse\n"

// redactionPolicies are applied to every generated event: keeping every
// level, lowering to Request, stripping managedFields, lowering to Metadata.
var redactionPolicies = []string{
	policyRequestResponse,
	"apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: Request\n",
	"apiVersion: audit.k8s.io/v1\nkind: Policy\nomitManagedFields: true\nrules:\n- level: RequestResponse\n",
	"apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: Metadata\n",
}

// redactedAnnotationRE matches the annotation redaction adds, in each of
// the forms it takes.
var redactedAnnotationRE = regexp.MustCompile(`,"annotations":\{"auditstream\.io/redacted":"[^"]*"\}|"auditstream\.io/redacted":"[^"]*",?`)

// markerFor is what a mode writes in place of the value v (JSON text).
func markerFor(t testing.TB, mode RedactMode, v string) string {
	if mode == RedactMask {
		return `"` + RedactMarker + `"`
	}
	var s string
	if err := json.Unmarshal([]byte(v), &s); err != nil {
		t.Fatalf("value %s: %v", v, err)
	}
	mac := hmac.New(sha256.New, testHashKey)
	mac.Write([]byte(s))
	return `"hmac-sha256:` + hex.EncodeToString(mac.Sum(nil)) + `"`
}

// checkNoMarker fails when out holds a marker in any form.
func checkNoMarker(t testing.TB, name string, out []byte, markers []string) {
	t.Helper()
	if !json.Valid(out) {
		t.Fatalf("%s: output is not JSON:\n%s", name, out)
	}
	if found := secretgen.FindMarker(out, markers); found != "" {
		t.Fatalf("%s: %s in\n%s", name, found, out)
	}
}

// The proof: secret-bearing events of every shape, at every level
// and stage, under policies that keep, lower and strip them, in every mode.
// No marker survives in any form; the output decodes into the apiserver's
// audit Event; and in mask and hash modes, the output is exactly what the
// policy alone writes of the event with each secret value replaced by its
// marker, plus the annotation: every other byte is unchanged.
func TestRedactGeneratedEvents(t *testing.T) {
	r := rand.New(rand.NewPCG(12, 34))
	for _, mode := range []RedactMode{RedactMask, RedactHash, RedactRemove} {
		red := mustRedaction(t, mode, secretgen.Fields...)
		for pi, policy := range redactionPolicies {
			plain := mustCompile(t, policy)
			on := plain.WithRedaction(red).NewProcessor()
			off := plain.NewProcessor()
			redacted := 0
			for i := range 40 * secretgen.Shapes() {
				e := secretgen.Generate(r, i, "")
				if checkRedacted(t, mode.String()+"/policy "+string(rune('0'+pi))+"/"+e.Name, mode, on, off, e) {
					redacted++
				}
			}
			if pi < 3 && redacted == 0 {
				t.Fatalf("%s/policy %d: nothing was redacted", mode, pi)
			}
		}
	}
}

// Equal secrets give equal hash markers, whatever their escapes; a
// different key gives different markers.
func TestRedactHashCorrelates(t *testing.T) {
	p := mustCompile(t, policyRequestResponse)
	ev := func(token string) []byte {
		return []byte(event("create", "/apis/authentication.k8s.io/v1/tokenreviews", alice, `"requestObject":{"spec":{"token":`+token+`}}`))
	}
	out := func(r *Redaction, token string) string {
		o, _, err := p.WithRedaction(r).NewProcessor().AppendEvent(nil, ev(token))
		if err != nil {
			t.Fatal(err)
		}
		return string(o)
	}
	r1 := mustRedaction(t, RedactHash)
	r2, err := NewRedaction(RedactConfig{Mode: RedactHash, HashKey: []byte("another key of 16+ bytes")})
	if err != nil {
		t.Fatal(err)
	}
	a, b, c := out(r1, `"tok"`), out(r1, `"t\u006fk"`), out(r1, `"tok2"`)
	if a != b || a == c || a != strings.Replace(out(r2, `"tok"`), "x", "x", 1) && out(r2, `"tok"`) == a {
		t.Fatalf("same secret: %s\n%s\nother secret: %s", a, b, c)
	}
	if out(r2, `"tok"`) == a {
		t.Fatal("another key gives the same marker")
	}
	if !strings.Contains(a, `"token":"hmac-sha256:`) {
		t.Fatalf("no hash marker: %s", a)
	}
}

// Each case shows one shape of redaction byte for byte.
func TestRedactShapes(t *testing.T) {
	cases := []struct {
		name string
		mode RedactMode
		in   string
		want string
	}{
		{"mask data, annotations created", RedactMask,
			event("create", "/api/v1/namespaces/ns/secrets", alice, `"requestObject":{"data":{"a":"YQ==","b":"Yg=="},"type":"Opaque"}`),
			event("create", "/api/v1/namespaces/ns/secrets", alice, `"requestObject":{"data":{"a":"[redacted]","b":"[redacted]"},"type":"Opaque"}`,
				`"annotations":{"auditstream.io/redacted":"mask requestObject:secrets:data.*=2"}`)},
		{"remove data members, annotations null", RedactRemove,
			event("get", "/api/v1/namespaces/ns/secrets/s", alice, `"responseObject":{"data":{"a":"YQ==", "b":"Yg==" ,"c":"Yw=="},"stringData":{"x":"y"}}`, `"annotations":null`),
			event("get", "/api/v1/namespaces/ns/secrets/s", alice, `"responseObject":{"data":{},"stringData":{}}`,
				`"annotations":{"auditstream.io/redacted":"remove responseObject:secrets:data.*=3 responseObject:secrets:stringData.*=1"}`)},
		{"JSON patch, annotation first among others", RedactMask,
			event("patch", "/api/v1/namespaces/ns/secrets/s", alice, `"requestObject":[{"op":"add","path":"/data/a","value":"YQ=="},{"op":"add","path":"/metadata/labels/a","value":"b"}]`,
				`"annotations":{"k":"v"}`),
			event("patch", "/api/v1/namespaces/ns/secrets/s", alice, `"requestObject":[{"op":"add","path":"/data/a","value":"[redacted]"},{"op":"add","path":"/metadata/labels/a","value":"b"}]`,
				`"annotations":{"auditstream.io/redacted":"mask requestObject:secrets:data.*=1","k":"v"}`)},
		{"JSON patch members whatever their case", RedactMask,
			event("patch", "/api/v1/namespaces/ns/secrets/s", alice, `"requestObject":[{"op":"add","Value":"YQ==","PATH":"/data/a"}]`),
			event("patch", "/api/v1/namespaces/ns/secrets/s", alice, `"requestObject":[{"op":"add","Value":"[redacted]","PATH":"/data/a"}]`,
				`"annotations":{"auditstream.io/redacted":"mask requestObject:secrets:data.*=1"}`)},
		{"JSON patch in remove mode drops the value", RedactRemove,
			event("patch", "/api/v1/namespaces/ns/secrets/s", alice, `"requestObject":[{"op":"add","value":"YQ==","path":"/data/a"}]`, `"annotations":{}`),
			event("patch", "/api/v1/namespaces/ns/secrets/s", alice, `"requestObject":[{"op":"add","path":"/data/a"}]`,
				`"annotations":{"auditstream.io/redacted":"remove requestObject:secrets:data.*=1"}`)},
		{"an earlier annotation is replaced", RedactMask,
			event("create", "/apis/authentication.k8s.io/v1/tokenreviews", alice, `"requestObject":{"spec":{"token":"[redacted]"}}`,
				`"annotations":{"auditstream.io/redacted":"mask requestObject:authentication.k8s.io/tokenreviews:spec.token=1"}`),
			event("create", "/apis/authentication.k8s.io/v1/tokenreviews", alice, `"requestObject":{"spec":{"token":"[redacted]"}}`,
				`"annotations":{"auditstream.io/redacted":"mask requestObject:authentication.k8s.io/tokenreviews:spec.token=1"}`)},
		{"last-applied annotation", RedactMask,
			event("update", "/api/v1/namespaces/ns/secrets/s", alice, `"requestObject":{"metadata":{"annotations":{"kubectl.kubernetes.io/last-applied-configuration":"{\"data\":{}}","x":"y"}}}`),
			event("update", "/api/v1/namespaces/ns/secrets/s", alice, `"requestObject":{"metadata":{"annotations":{"kubectl.kubernetes.io/last-applied-configuration":"[redacted]","x":"y"}}}`,
				`"annotations":{"auditstream.io/redacted":"mask requestObject:secrets:metadata.annotations.kubectl\\.kubernetes\\.io/last-applied-configuration=1"}`)},
		{"every copy of a body, whatever its key's case", RedactMask,
			event("create", "/api/v1/namespaces/ns/secrets", alice, `"requestObject":{"data":{"a":"YQ=="}}`, `"RequestObject":{"data":{"b":"Yg=="}}`),
			event("create", "/api/v1/namespaces/ns/secrets", alice, `"requestObject":{"data":{"a":"[redacted]"}}`, `"RequestObject":{"data":{"b":"[redacted]"}}`,
				`"annotations":{"auditstream.io/redacted":"mask requestObject:secrets:data.*=2"}`)},
		{"the annotation in every annotations member", RedactMask,
			event("create", "/api/v1/namespaces/ns/secrets", alice, `"requestObject":{"data":{"a":"YQ=="}}`, `"annotations":{"k":"v"}`, `"Annotations":null`),
			event("create", "/api/v1/namespaces/ns/secrets", alice, `"requestObject":{"data":{"a":"[redacted]"}}`,
				`"annotations":{"auditstream.io/redacted":"mask requestObject:secrets:data.*=1","k":"v"}`,
				`"Annotations":{"auditstream.io/redacted":"mask requestObject:secrets:data.*=1"}`)},
		{"the annotations go where the removed last member was", RedactMask,
			strings.Replace(event("create", "/api/v1/namespaces/ns/secrets", alice, `"requestObject":{"data":{"a":"YQ=="}}`, `"responseObject":{"data":{"a":"YQ=="}}`), "RequestResponse", "Request", 1),
			strings.Replace(event("create", "/api/v1/namespaces/ns/secrets", alice, `"requestObject":{"data":{"a":"[redacted]"}}`,
				`"annotations":{"auditstream.io/redacted":"mask requestObject:secrets:data.*=1"}`), "RequestResponse", "Request", 1)},
		{"names match whatever their case and escapes", RedactMask,
			event("patch", "/api/v1/namespaces/ns/secrets/s", alice, `"requestObject":[{"op":"add","path":"/DATA/a","value":"YQ=="}]`, `"responseObject":{"Data":{"a":"YQ=="},"d\u0061TA":{"b":"Yg=="}}`),
			event("patch", "/api/v1/namespaces/ns/secrets/s", alice, `"requestObject":[{"op":"add","path":"/DATA/a","value":"[redacted]"}]`, `"responseObject":{"Data":{"a":"[redacted]"},"d\u0061TA":{"b":"[redacted]"}}`,
				`"annotations":{"auditstream.io/redacted":"mask requestObject:secrets:data.*=1 responseObject:secrets:data.*=2"}`)},
		{"a configmap is not a secret", RedactMask,
			event("create", "/api/v1/namespaces/ns/configmaps", alice, `"requestObject":{"data":{"a":"b"}}`),
			event("create", "/api/v1/namespaces/ns/configmaps", alice, `"requestObject":{"data":{"a":"b"}}`)},
	}
	p := mustCompile(t, policyRequestResponse)
	for _, c := range cases {
		pr := p.WithRedaction(mustRedaction(t, c.mode)).NewProcessor()
		out, _, err := pr.AppendEvent(nil, []byte(c.in))
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if string(out) != c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.name, out, c.want)
		}
		if !json.Valid(out) {
			t.Errorf("%s: invalid JSON", c.name)
		}
	}
}

func TestParseRedactFields(t *testing.T) {
	for _, bad := range []string{"secrets", ":data", "secrets:", "a/b/c/d:x", "/:x", `x:a."b"`, "x:a..b"} {
		if _, err := NewRedaction(RedactConfig{Fields: []string{bad}}); err == nil {
			t.Errorf("%q: accepted", bad)
		}
	}
	r, err := NewRedaction(RedactConfig{Fields: ParseRedactFields(" example.com/widgets:spec.password ; configmaps:data.*;")})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(r.Fields()[len(builtinRedactFields):], ";"); got != "example.com/widgets:spec.password;configmaps:data.*" {
		t.Fatalf("fields %q", got)
	}
	if _, err := NewRedaction(RedactConfig{Mode: RedactHash, HashKey: []byte("short")}); err == nil {
		t.Fatal("a short hash key was accepted")
	}
}

// A secret-bearing event costs its walk, and once the Processor's scratch
// has grown, no allocation, in every mode.
func TestRedactAllocatesNothingOnceWarm(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	p := mustCompile(t, policyRequestResponse)
	dst := make([]byte, 0, 1<<20)
	for _, mode := range []RedactMode{RedactMask, RedactHash, RedactRemove} {
		pr := p.WithRedaction(mustRedaction(t, mode, secretgen.Fields...)).NewProcessor()
		for i := range secretgen.Shapes() {
			line := []byte(secretgen.Generate(r, i, "").Line())
			pr.AppendEvent(dst[:0], line)
			if allocs := testing.AllocsPerRun(20, func() { pr.AppendEvent(dst[:0], line) }); allocs != 0 {
				t.Errorf("%s, %s: %v allocations per event", mode, "shape "+strconv.Itoa(i), allocs)
			}
		}
	}
}

// checkRedacted runs e through on, which redacts in mode, and checks the
// output as TestRedactGeneratedEvents says, off being the same policy
// without redaction. It reports whether anything was redacted.
func checkRedacted(t testing.TB, name string, mode RedactMode, on, off *Processor, e *secretgen.Event) bool {
	t.Helper()
	line := []byte(e.Line())
	if !json.Valid(line) {
		t.Fatalf("%s: generated invalid JSON: %s", name, line)
	}
	out, res, err := on.AppendEvent(nil, line)
	if err != nil || !res.Kept {
		t.Fatalf("%s: %v, kept %v", name, err, res.Kept)
	}
	checkNoMarker(t, name, out, e.Markers)
	var ev auditv1.Event
	if err := json.Unmarshal(out, &ev); err != nil {
		t.Fatalf("%s: does not decode into audit/v1 Event: %v\n%s", name, err, out)
	}
	_, total := on.RedactedFields()
	if got := ev.Annotations[RedactedAnnotation]; (got != "") != (total > 0) || total > 0 && !strings.HasPrefix(got, mode.String()+" ") {
		t.Fatalf("%s: %d values redacted, annotation %q", name, total, got)
	}
	if mode == RedactRemove {
		// What mask writes, with every member that holds a marker gone.
		masked := []byte(e.Fill(func(int) string { return `"` + RedactMarker + `"` }))
		want, _, err := off.AppendEvent(nil, masked)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := decodeWithout(t, out), pruneMarkers(decodeWithout(t, want)); !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: remove mode\n got %v\nwant %v", name, got, want)
		}
		return total > 0
	}
	masked := []byte(e.Fill(func(i int) string { return markerFor(t, mode, e.Values[i]) }))
	want, _, err := off.AppendEvent(nil, masked)
	if err != nil {
		t.Fatal(err)
	}
	got := out
	if total > 0 {
		// An event with "annotations":{} loses it with the annotation;
		// that is the only ambiguity of the expression.
		want = bytes.Replace(want, []byte(`,"annotations":{}`), nil, 1)
		got = redactedAnnotationRE.ReplaceAll(out, nil)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s: output without the annotation\n got %s\nwant %s", name, got, want)
	}
	return total > 0
}

// FuzzRedact is TestRedactGeneratedEvents' property on events the fuzzer
// shapes: the generator's choices come from seed, and noise is written as
// the names of the secrets' keys and as a member beside them.
func FuzzRedact(f *testing.F) {
	f.Add(uint64(1), uint8(0), uint8(0), "")
	f.Add(uint64(2), uint8(9), uint8(1), "data")
	f.Add(uint64(3), uint8(12), uint8(2), `"\\u0000/~1`)
	policies := make([]*Policy, len(redactionPolicies))
	for i, y := range redactionPolicies {
		policies[i] = mustCompile(f, y)
	}
	redactions := []*Redaction{mustRedaction(f, RedactMask, secretgen.Fields...), mustRedaction(f, RedactHash, secretgen.Fields...),
		mustRedaction(f, RedactRemove, secretgen.Fields...)}
	f.Fuzz(func(t *testing.T, seed uint64, shape, modeAndPolicy uint8, noise string) {
		r := rand.New(rand.NewPCG(seed, seed>>1))
		e := secretgen.Generate(r, int(shape), noise)
		red := redactions[int(modeAndPolicy)%len(redactions)]
		p := policies[int(modeAndPolicy)/len(redactions)%len(policies)]
		checkRedacted(t, e.Name, red.Mode(), p.WithRedaction(red).NewProcessor(), p.NewProcessor(), e)
	})
}

// FuzzRedactAnyLine feeds arbitrary lines to the rewrite with redaction on,
// in the mode the fuzzer picks: it never panics, a kept event's output is
// valid JSON, and in mask mode redacting the output again changes nothing.
func FuzzRedactAnyLine(f *testing.F) {
	r := rand.New(rand.NewPCG(1, 1))
	for i := range secretgen.Shapes() {
		f.Add(uint8(i), []byte(secretgen.Generate(r, i, "").Line()))
	}
	p := mustCompile(f, policyRequestResponse)
	redactions := []*Redaction{mustRedaction(f, RedactMask, secretgen.Fields...), mustRedaction(f, RedactHash, secretgen.Fields...),
		mustRedaction(f, RedactRemove, secretgen.Fields...)}
	f.Fuzz(func(t *testing.T, mode uint8, line []byte) {
		red := redactions[int(mode)%len(redactions)]
		pr := p.WithRedaction(red).NewProcessor()
		out, res, err := pr.AppendEvent(nil, line)
		if err != nil || !res.Kept {
			return
		}
		if !json.Valid(out) {
			t.Fatalf("output is not valid JSON:\n in %q\nout %q", line, out)
		}
		if red.Mode() != RedactMask {
			return
		}
		again, _, err := pr.AppendEvent(nil, out)
		if err != nil || !bytes.Equal(again, out) {
			t.Fatalf("redacting again changed the event (%v):\n once %q\ntwice %q", err, out, again)
		}
	})
}

// decodeWithout decodes an event without the redaction annotation, and
// without annotations when that leaves none.
func decodeWithout(t testing.TB, event []byte) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(event, &v); err != nil {
		t.Fatal(err)
	}
	if a, ok := v["annotations"].(map[string]any); ok {
		delete(a, RedactedAnnotation)
		if len(a) == 0 {
			delete(v, "annotations")
		}
	}
	return v
}

// pruneMarkers removes, at any depth, the members whose value is RedactMarker.
func pruneMarkers(v map[string]any) map[string]any {
	var prune func(any)
	prune = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				if e == RedactMarker {
					delete(x, k)
					continue
				}
				prune(e)
			}
		case []any:
			for _, e := range x {
				prune(e)
			}
		}
	}
	prune(v)
	return v
}

// One Redaction serves many goroutines, each with its own Processor and so
// its own HMAC state (run with -race).
func TestRedactConcurrentProcessors(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	p := mustCompile(t, policyRequestResponse).WithRedaction(mustRedaction(t, RedactHash, secretgen.Fields...))
	var lines [][]byte
	var want []string
	pr := p.NewProcessor()
	for i := range 4 * secretgen.Shapes() {
		line := []byte(secretgen.Generate(r, i, "").Line())
		out, _, err := pr.AppendEvent(nil, line)
		if err != nil {
			t.Fatal(err)
		}
		lines, want = append(lines, line), append(want, string(out))
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			pr := p.NewProcessor()
			for range 10 {
				for i, l := range lines {
					if out, _, _ := pr.AppendEvent(nil, l); string(out) != want[i] {
						t.Errorf("line %d differs under concurrency", i)
						return
					}
				}
			}
		})
	}
	wg.Wait()
}
