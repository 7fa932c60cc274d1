package reference

import (
	"strings"
	"testing"

	"k8s.io/apiserver/pkg/apis/audit"
)

const testPolicy = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
- level: None
  users: [system:kube-proxy]
- level: Metadata
  resources: [{resources: [secrets]}]
  omitManagedFields: false
- level: Request
  verbs: [update]
  omitStages: [Panic]
- level: RequestResponse
  userGroups: [devs]
  omitManagedFields: true
- level: Metadata
  nonResourceURLs: ["/healthz*"]
`

// event builds an event line; body is spliced in after responseStatus.
func event(stage, level, verb, uri, user, body string) []byte {
	return []byte(`{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"` + level + `","auditID":"1","stage":"` + stage +
		`","requestURI":"` + uri + `","verb":"` + verb + `","user":` + user + `,"responseStatus":{"metadata":{},"code":200}` +
		body + `,"requestReceivedTimestamp":"2024-01-01T00:00:00.000000Z","stageTimestamp":"2024-01-01T00:00:00.000100Z"}`)
}

const (
	dev      = `{"username":"alice","groups":["devs"]}`
	proxy    = `{"username":"system:kube-proxy"}`
	mf       = `"managedFields":[{"manager":"kubectl","operation":"Update"}]`
	obj      = `{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"a",` + mf + `},"data":{"n":1.50}}`
	stripped = `{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"a"},"data":{"n":1.50}}`
)

func TestDecide(t *testing.T) {
	eval := mustEvaluator(t, testPolicy)
	for _, tc := range []struct {
		line        []byte
		level       audit.Level
		omit        []audit.Stage
		omitMF, out bool
	}{
		{event("ResponseComplete", "Metadata", "get", "/api/v1/namespaces/a/pods/b", proxy, ""), audit.LevelNone,
			[]audit.Stage{audit.StageRequestReceived}, false, false},
		{event("ResponseComplete", "Metadata", "get", "/api/v1/namespaces/a/secrets/b", dev, ""), audit.LevelMetadata,
			[]audit.Stage{audit.StageRequestReceived}, false, false},
		{event("Panic", "Metadata", "update", "/api/v1/namespaces/a/pods/b", dev, ""), audit.LevelRequest,
			[]audit.Stage{audit.StageRequestReceived, audit.StagePanic}, false, true},
		{event("RequestReceived", "Metadata", "get", "/api/v1/namespaces/a/pods/b", dev, ""), audit.LevelRequestResponse,
			[]audit.Stage{audit.StageRequestReceived}, true, true},
		// Unauthenticated: the userGroups rule cannot match; no rule does.
		{event("ResponseStarted", "Metadata", "get", "/api/v1/namespaces/a/pods/b", `{}`, ""), audit.LevelNone,
			[]audit.Stage{audit.StageRequestReceived}, false, false},
		{event("ResponseStarted", "Metadata", "get", "/healthzfoo", `{}`, ""), audit.LevelMetadata,
			[]audit.Stage{audit.StageRequestReceived}, false, false},
	} {
		d, err := Decide(eval, tc.line)
		if err != nil {
			t.Fatal(err)
		}
		if d.Level != tc.level || d.OmitManagedFields != tc.omitMF || d.StageOmitted != tc.out ||
			strings.Join(stageStrings(d.OmitStages), ",") != strings.Join(stageStrings(tc.omit), ",") {
			t.Errorf("%s:\n got %+v", tc.line, d)
		}
		if d.Kept() != (tc.level != audit.LevelNone && !tc.out) {
			t.Errorf("%s: Kept() = %v", tc.line, d.Kept())
		}
	}
}

func stageStrings(ss []audit.Stage) []string {
	var out []string
	for _, s := range ss {
		out = append(out, string(s))
	}
	return out
}

func TestRewrite(t *testing.T) {
	eval := mustEvaluator(t, testPolicy)
	ok := func(s string) *string { return &s }
	for _, tc := range []struct {
		name string
		line []byte
		want *string // nil: dropped
	}{
		{"level None", event("ResponseComplete", "Metadata", "get", "/api/v1/pods", proxy, ""), nil},
		{"stage omitted", event("RequestReceived", "Metadata", "get", "/api/v1/namespaces/a/secrets/b", dev, ""), nil},
		{"lowered to Metadata",
			event("ResponseComplete", "RequestResponse", "update", "/api/v1/namespaces/a/secrets/b", dev,
				`,"requestObject":`+obj+`,"responseObject":`+obj),
			ok(string(event("ResponseComplete", "Metadata", "update", "/api/v1/namespaces/a/secrets/b", dev, "")))},
		{"lowered to Request, managedFields kept",
			event("ResponseComplete", "RequestResponse", "update", "/api/v1/namespaces/a/configmaps/a", `{"username":"bob"}`,
				`,"requestObject":`+obj+`,"responseObject":`+obj),
			ok(string(event("ResponseComplete", "Request", "update", "/api/v1/namespaces/a/configmaps/a", `{"username":"bob"}`,
				`,"requestObject":`+obj)))},
		{"logged level is a ceiling",
			event("ResponseComplete", "Request", "create", "/api/v1/namespaces/a/configmaps", dev, `,"requestObject":`+obj),
			ok(string(event("ResponseComplete", "Request", "create", "/api/v1/namespaces/a/configmaps", dev,
				`,"requestObject":`+stripped)))},
		{"omitManagedFields: objects, items, table rows",
			event("ResponseComplete", "RequestResponse", "list", "/api/v1/namespaces/a/configmaps", dev,
				`,"responseObject":{"kind":"ConfigMapList","metadata":{"resourceVersion":"1"},"items":[`+obj+`,`+obj+`,7]}`),
			ok(string(event("ResponseComplete", "RequestResponse", "list", "/api/v1/namespaces/a/configmaps", dev,
				`,"responseObject":{"kind":"ConfigMapList","metadata":{"resourceVersion":"1"},"items":[`+stripped+`,`+stripped+`,7]}`)))},
		{"omitManagedFields: table",
			event("ResponseComplete", "RequestResponse", "get", "/api/v1/namespaces/a/configmaps/a", dev,
				`,"responseObject":{"kind":"Table","apiVersion":"meta.k8s.io/v1","rows":[{"cells":["a"],"object":`+obj+`},{"cells":["b"]}]}`),
			ok(string(event("ResponseComplete", "RequestResponse", "get", "/api/v1/namespaces/a/configmaps/a", dev,
				`,"responseObject":{"kind":"Table","apiVersion":"meta.k8s.io/v1","rows":[{"cells":["a"],"object":`+stripped+`},{"cells":["b"]}]}`)))},
		{"rows of a non-Table are not touched",
			event("ResponseComplete", "RequestResponse", "get", "/api/v1/namespaces/a/configmaps/a", dev,
				`,"responseObject":{"kind":"Report","rows":[{"object":`+obj+`}]}`),
			ok(string(event("ResponseComplete", "RequestResponse", "get", "/api/v1/namespaces/a/configmaps/a", dev,
				`,"responseObject":{"kind":"Report","rows":[{"object":`+obj+`}]}`)))},
		{"patch body is never stripped",
			event("ResponseComplete", "RequestResponse", "patch", "/api/v1/namespaces/a/configmaps/a", dev,
				`,"requestObject":{"metadata":{`+mf+`}},"responseObject":`+obj),
			ok(string(event("ResponseComplete", "RequestResponse", "patch", "/api/v1/namespaces/a/configmaps/a", dev,
				`,"requestObject":{"metadata":{`+mf+`}},"responseObject":`+stripped)))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, kept, err := Rewrite(eval, tc.line)
			if err != nil {
				t.Fatal(err)
			}
			if tc.want == nil {
				if kept || out != nil {
					t.Errorf("kept %s", out)
				}
				return
			}
			if !kept || !JSONEqual(out, []byte(*tc.want)) {
				t.Errorf("kept=%v\n got %s\nwant %s", kept, out, *tc.want)
			}
		})
	}
}

func TestRewriteErrors(t *testing.T) {
	eval := mustEvaluator(t, testPolicy)
	for name, line := range map[string][]byte{
		"level None":    event("ResponseComplete", "None", "get", "/healthz", dev, ""),
		"unknown level": event("ResponseComplete", "metadata", "get", "/healthz", dev, ""),
		"unknown stage": event("Done", "Metadata", "get", "/healthz", dev, ""),
		"trailing data": append(event("ResponseComplete", "Metadata", "get", "/healthz", dev, ""), "{}"...),
		"bad URI":       event("ResponseComplete", "Metadata", "get", "healthz", dev, ""),
	} {
		if _, _, err := Rewrite(eval, line); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := Decide(eval, event("Done", "Metadata", "get", "/healthz", dev, "")); err == nil {
		t.Error("Decide: unknown stage: no error")
	}
}

// TestRewriteKeepsText: numbers are copied as written, escapes may change
// but not the decoded text, and a trailing newline is accepted.
func TestRewriteKeepsText(t *testing.T) {
	eval := mustEvaluator(t, testPolicy)
	line := event("ResponseComplete", "RequestResponse", "get", "/api/v1/namespaces/a/pods/b?x=1\\u0026y=2", dev,
		`,"responseObject":{"n":[1.0,1e3,-0,12345678901234567890],"s":"\u003c\/\u00e9"}`)
	out, kept, err := Rewrite(eval, append(line, '\n'))
	if err != nil || !kept {
		t.Fatalf("kept=%v err=%v", kept, err)
	}
	for _, want := range []string{`[1.0,1e3,-0,12345678901234567890]`, `"s":"\u003c/é"`, `b?x=1\u0026y=2`} {
		if !strings.Contains(string(out), want) {
			t.Errorf("%s does not contain %s", out, want)
		}
	}
	if !JSONEqual(out, line) {
		t.Errorf("not equal to the input:\n%s\n%s", out, line)
	}
}
