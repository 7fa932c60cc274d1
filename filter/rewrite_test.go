package filter

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

const policyAll = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
- level: None
  users: [system:kube-proxy]
- level: Metadata
  resources: [{resources: [secrets]}]
- level: Request
  verbs: [patch]
  omitManagedFields: true
- level: Request
  resources: [{resources: [configmaps]}]
- level: RequestResponse
  omitManagedFields: true
`

func TestRewrite(t *testing.T) {
	p := mustCompile(t, policyAll)
	pr := p.NewProcessor()
	f := func(name, in, want string) {
		t.Helper()
		out, res, err := pr.AppendEvent([]byte("prefix:"), []byte(in))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got := string(out)
		if !res.Kept {
			got = "dropped"
		} else if !strings.HasPrefix(got, "prefix:") {
			t.Fatalf("%s: dst prefix lost: %q", name, got)
		} else {
			got = got[len("prefix:"):]
			if !json.Valid([]byte(got)) {
				t.Errorf("%s: output is not valid JSON: %s", name, got)
			}
		}
		if got != want {
			t.Errorf("%s:\n got %s\nwant %s", name, got, want)
		}
	}
	mf := `"managedFields":[{"manager":"kubectl"}]`
	obj := `{"kind":"Secret","metadata":{"name":"s",` + mf + `},"data":{}}`

	f("dropped by rule None",
		event("get", "/api/v1/nodes", `{"username":"system:kube-proxy"}`), "dropped")
	f("dropped by omitted stage",
		strings.Replace(event("get", "/api/v1/nodes", alice), "ResponseComplete", "RequestReceived", 1), "dropped")
	f("bodies removed to Metadata, other bytes untouched",
		event("get", "/api/v1/namespaces/default/secrets/s", alice, `"requestObject":`+obj, `"responseObject":`+obj, `"stageTimestamp":"x"`),
		event("get", "/api/v1/namespaces/default/secrets/s", alice, `"stageTimestamp":"x"`)[:0]+
			strings.Replace(event("get", "/api/v1/namespaces/default/secrets/s", alice, `"stageTimestamp":"x"`), `"RequestResponse"`, `"Metadata"`, 1))
	f("response body removed to Request, last member",
		event("get", "/api/v1/namespaces/default/configmaps/c", alice, `"requestObject":{"a":1}`, `"responseObject":{"b":2}`),
		strings.Replace(event("get", "/api/v1/namespaces/default/configmaps/c", alice, `"requestObject":{"a":1}`), `"RequestResponse"`, `"Request"`, 1))
	f("a level logged lower stays lower",
		strings.Replace(event("get", "/api/v1/nodes/n", alice), "RequestResponse", "Metadata", 1),
		strings.Replace(event("get", "/api/v1/nodes/n", alice), "RequestResponse", "Metadata", 1))
	f("managedFields stripped from objects, items and table rows",
		event("list", "/api/v1/pods", alice,
			`"requestObject":{"metadata":{`+mf+`,"name":"x"}}`,
			`"responseObject":{"kind":"PodList","items":[{"metadata":{"name":"a",`+mf+`}},{"metadata":{`+mf+`}}]}`),
		event("list", "/api/v1/pods", alice,
			`"requestObject":{"metadata":{"name":"x"}}`,
			`"responseObject":{"kind":"PodList","items":[{"metadata":{"name":"a"}},{"metadata":{}}]}`))
	f("managedFields stripped from a Table's row objects",
		event("list", "/api/v1/pods", alice,
			`"responseObject":{"rows":[{"cells":[1],"object":{"kind":"PartialObjectMetadata","metadata":{"name":"a",`+mf+`,"uid":"u"}}}],"kind":"Table"}`),
		event("list", "/api/v1/pods", alice,
			`"responseObject":{"rows":[{"cells":[1],"object":{"kind":"PartialObjectMetadata","metadata":{"name":"a","uid":"u"}}}],"kind":"Table"}`))
	f("managedFields stripped from every copy of a body, of metadata and of rows",
		event("list", "/api/v1/pods", alice,
			`"requestObject":{"metadata":{`+mf+`},"metadata":{`+mf+`}}`,
			`"responseObject":{"rows":[{"object":{"metadata":{`+mf+`}}}],"rows":[{"object":{"metadata":{`+mf+`}}}],"kind":"Table"}`,
			`"responseObject":{"items":[{"metadata":{`+mf+`}}]}`),
		event("list", "/api/v1/pods", alice,
			`"requestObject":{"metadata":{},"metadata":{}}`,
			`"responseObject":{"rows":[{"object":{"metadata":{}}}],"rows":[{"object":{"metadata":{}}}],"kind":"Table"}`,
			`"responseObject":{"items":[{"metadata":{}}]}`))
	f("rows of a non-Table are left alone",
		event("list", "/api/v1/pods", alice, `"responseObject":{"rows":[{"object":{"metadata":{`+mf+`}}}]}`),
		event("list", "/api/v1/pods", alice, `"responseObject":{"rows":[{"object":{"metadata":{`+mf+`}}}]}`))
	f("a patch body keeps its managedFields",
		event("patch", "/api/v1/namespaces/default/pods/p", alice, `"requestObject":{"metadata":{`+mf+`}}`, `"responseObject":{"x":1}`),
		strings.Replace(event("patch", "/api/v1/namespaces/default/pods/p", alice, `"requestObject":{"metadata":{`+mf+`}}`), `"RequestResponse"`, `"Request"`, 1))
	f("white space around members and a trailing newline",
		"  {\"level\" : \"RequestResponse\" , \"requestObject\" : {\"metadata\" : { \"managedFields\" : [] } } ,\"stage\":\"ResponseComplete\",\"requestURI\":\"/api/v1/namespaces/default/secrets/s\",\"verb\":\"get\",\"user\":{}}\n",
		"{\"level\" : \"Metadata\" ,\"stage\":\"ResponseComplete\",\"requestURI\":\"/api/v1/namespaces/default/secrets/s\",\"verb\":\"get\",\"user\":{}}")
	f("removed first member takes the following comma",
		`{"requestObject":{"a":1},"responseObject":{"b":1},"level":"RequestResponse","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/d/secrets/s","verb":"get","user":{}}`,
		`{"level":"Metadata","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/d/secrets/s","verb":"get","user":{}}`)
	patch := `"patch.webhook.admission.k8s.io/round_0_index_0":"{\"patch\":[]}"`
	authz := `"authorization.k8s.io/decision":"allow"`
	secret := "/api/v1/namespaces/default/secrets/s"
	f("lowered to Metadata, the patch annotations go and the others stay",
		event("update", secret, alice, `"annotations":{`+authz+`,`+patch+`,"z":"1"}`),
		strings.Replace(event("update", secret, alice, `"annotations":{`+authz+`,"z":"1"}`), `"RequestResponse"`, `"Metadata"`, 1))
	f("annotations that were all patches go as a whole",
		event("update", secret, alice, `"annotations":{`+patch+`}`, `"stageTimestamp":"x"`),
		strings.Replace(event("update", secret, alice, `"stageTimestamp":"x"`), `"RequestResponse"`, `"Metadata"`, 1))
	f("an escaped patch key is still one",
		event("update", secret, alice, `"annotations":{"patch.webhook.admission.k8s.io\/round_1":"p",`+authz+`}`),
		strings.Replace(event("update", secret, alice, `"annotations":{`+authz+`}`), `"RequestResponse"`, `"Metadata"`, 1))
	f("lowered to Metadata, the truncate backend's mark goes too",
		event("update", secret, alice, `"annotations":{"audit.k8s.io/truncated":"true",`+authz+`}`),
		strings.Replace(event("update", secret, alice, `"annotations":{`+authz+`}`), `"RequestResponse"`, `"Metadata"`, 1))
	f("an empty annotations object stays as it was",
		event("update", secret, alice, `"annotations":{}`),
		strings.Replace(event("update", secret, alice, `"annotations":{}`), `"RequestResponse"`, `"Metadata"`, 1))
	f("at Request the patch annotations stay",
		event("update", "/api/v1/namespaces/default/configmaps/c", alice, `"annotations":{`+patch+`}`),
		strings.Replace(event("update", "/api/v1/namespaces/default/configmaps/c", alice, `"annotations":{`+patch+`}`), `"RequestResponse"`, `"Request"`, 1))
	f("an event logged at Metadata is left as it was",
		strings.Replace(event("update", secret, alice, `"annotations":{`+patch+`}`), "RequestResponse", "Metadata", 1),
		strings.Replace(event("update", secret, alice, `"annotations":{`+patch+`}`), "RequestResponse", "Metadata", 1))
	f("managedFields alone in metadata",
		event("get", "/api/v1/nodes/n", alice, `"responseObject":{"metadata":{`+mf+`}}`),
		event("get", "/api/v1/nodes/n", alice, `"responseObject":{"metadata":{}}`))
}

func TestRewriteIsIdempotent(t *testing.T) {
	p := mustCompile(t, policyAll)
	pr := p.NewProcessor()
	in := event("get", "/api/v1/namespaces/default/secrets/s", alice, `"requestObject":{"metadata":{"managedFields":[]}}`, `"responseObject":{}`)
	once, _, err := pr.AppendEvent(nil, []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	twice, _, err := pr.AppendEvent(nil, once)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(once, twice) {
		t.Errorf("second pass changed the event:\n%s\n%s", once, twice)
	}
}

func TestBadEvents(t *testing.T) {
	p := mustCompile(t, policyAll)
	pr := p.NewProcessor()
	good := event("get", "/api/v1/namespaces/default/configmaps/c", alice)
	f := func(name, in, wantErr string, notAuditEvent bool) {
		t.Helper()
		dst := []byte("keep")
		out, _, err := pr.AppendEvent(dst, []byte(in))
		if err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Errorf("%s: error %v; want one containing %q", name, err, wantErr)
		}
		if string(out) != "keep" {
			t.Errorf("%s: dst changed to %q", name, out)
		}
		if errors.Is(err, ErrNotAuditEvent) != notAuditEvent {
			t.Errorf("%s: errors.Is(err, ErrNotAuditEvent) = %v", name, !notAuditEvent)
		}
		// The processor is not left in a bad state: the next good event works.
		if _, res, err := pr.AppendEvent(nil, []byte(good)); err != nil || !res.Kept {
			t.Errorf("%s: good event after a bad one: %v %+v", name, err, res)
		}
	}
	f("empty", "", "expected object", false)
	f("truncated", good[:len(good)/2], "unexpected end of input", false)
	f("not JSON", "I1126 12:00:00 apiserver started", "expected object", false)
	f("trailing garbage", good+"x", "data after the event object", false)
	f("two events on a line", good+good, "data after the event object", false)
	f("another kind", `{"kind":"Pod","apiVersion":"v1"}`, `kind (offset 8): expected "Event", got "Pod"`, true)
	f("another API", `{"kind":"Event","apiVersion":"v1","level":"Metadata"}`, "apiVersion", true)
	f("a log line of another program", `{"msg":"hello","ts":1}`, "level: missing", true)
	f("no requestURI", `{"kind":"Event","level":"Metadata","stage":"ResponseComplete","verb":"get","user":{}}`, "requestURI: missing", false)
	f("bad level", strings.Replace(good, `"RequestResponse"`, `"Loud"`, 1), `level (offset 55): unknown level "Loud"`, false)
	f("bad stage", strings.Replace(good, `"ResponseComplete"`, `"Done"`, 1), `unknown stage "Done"`, false)
	f("verb not a string", strings.Replace(good, `"verb":"get"`, `"verb":1`, 1), "verb (offset", false)
	f("bad escape", strings.Replace(good, `"a1"`, `"a\x"`, 1), "invalid escape 'x'", false)
	f("control character", strings.Replace(good, `"a1"`, "\"a\x01\"", 1), "control character", false)
	f("bad percent-encoding", strings.Replace(good, "configmaps/c", "configmaps/%zz", 1), "invalid percent-encoding", false)
	f("relative URI", strings.Replace(good, `"/api/v1/`, `"api/v1/`, 1), "not an absolute path", false)
	f("deep nesting", strings.Replace(good, `"user":`, `"x":`+strings.Repeat("[", 10001)+strings.Repeat("]", 10001)+`,"user":`, 1),
		"x (offset 10187): nesting deeper than 10000 levels", false)
	f("bad number", strings.Replace(good, `"user":`, `"x":01,"user":`, 1), "expected ',' or '}'", false)
}

// A 10 MB event is processed like any other, and one that is cut anywhere
// never panics.
func TestLargeAndTruncatedEvents(t *testing.T) {
	p := mustCompile(t, policyAll)
	pr := p.NewProcessor()
	big := event("get", "/api/v1/namespaces/default/secrets/s", alice,
		`"responseObject":{"data":"`+strings.Repeat("x", 10<<20)+`"}`)
	out, res, err := pr.AppendEvent(nil, []byte(big))
	if err != nil || !res.Kept || len(out) > 1024 {
		t.Fatalf("10 MB event: %v %+v, %d bytes out", err, res, len(out))
	}
	small := []byte(event("list", "/api/v1/pods?fieldSelector=metadata.name%3Dx\\u0026limit=5", alice,
		`"responseObject":{"kind":"Table","rows":[{"object":{"metadata":{"managedFields":[]}}}]}`))
	for i := range small {
		if _, _, err := pr.AppendEvent(nil, small[:i]); err == nil {
			t.Fatalf("cut at %d: no error", i)
		}
	}
}
