package filter

import (
	"errors"
	"strings"
	"testing"
)

// An event whose decision fields a decoder could read otherwise than the
// filter (a member twice, or under a key that encoding/json folds to its
// name) is refused with an error that names the member.
func TestAmbiguousMembersRefused(t *testing.T) {
	pr := mustCompile(t, policyAll).NewProcessor()
	good := event("get", "/api/v1/namespaces/default/configmaps/c", alice)
	withTop := func(member string) string { return strings.Replace(good, `"user":`, member+`,"user":`, 1) }
	for _, c := range []struct{ name, in, want string }{
		{"stage by case", withTop(`"Stage":"RequestReceived"`), `stage (offset 183): ambiguous member "Stage": differs from "stage" only by case`},
		{"level twice", withTop(`"level":"None"`), `level (offset 183): ambiguous member "level": appears more than once`},
		{"long s", withTop(`"ſtage":"Panic"`), `ambiguous member "ſtage": differs from "stage" only by case`},
		{"escaped capital", withTop(`"\u0056erb":"delete"`), `verb (offset 183): ambiguous member "\u0056erb": differs from "verb" only by case`},
		{"kelvin sign", withTop(`"\u212aind":"Event"`), `kind (offset 183): ambiguous member "\u212aind"`},
		{"user twice", withTop(`"user":{}`), `user (offset 193): ambiguous member "user": appears more than once`},
		{"requestURI by case", withTop(`"requestUri":"/api/v1/secrets"`), `ambiguous member "requestUri": differs from "requestURI"`},
		{"auditID by case", withTop(`"AuditID":"a2"`), `ambiguous member "AuditID"`},
		{"username by case", event("get", "/api", `{"username":"alice","UserName":"system:kube-proxy"}`), `user.username (offset`},
		{"groups twice", event("get", "/api", `{"username":"alice","groups":["a"],"groups":["system:masters"]}`), `user.groups (offset`},
		{"uid by case", event("get", "/api", `{"UID":"1"}`), `ambiguous member "UID": differs from "uid" only by case`},
	} {
		_, _, err := pr.AppendEvent(nil, []byte(c.in))
		if err == nil || !strings.Contains(err.Error(), c.want) || !errors.Is(err, ErrAmbiguous) {
			t.Errorf("%s: error %v; want one containing %q, wrapping ErrAmbiguous", c.name, err, c.want)
		}
	}
	// Fields the decision does not read may repeat, as kube-apiserver never
	// writes them twice and the rewrite does not touch them.
	if _, res, err := pr.AppendEvent(nil, []byte(withTop(`"objectRef":{},"ObjectRef":{},"sourceIPs":[],"sourceIPs":[]`))); err != nil || !res.Kept {
		t.Errorf("repeated objectRef and sourceIPs: %v, kept %v", err, res.Kept)
	}
}

// Lowering an event removes every body and cleans every annotations member
// that encoding/json could read, whatever the spelling of its key.
func TestLoweringRemovesEveryCopy(t *testing.T) {
	p := mustCompile(t, "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: Request\n  verbs: [get]\n- level: Metadata\n")
	pr := p.NewProcessor()
	bodies := []string{`"requestObject":{"a":1}`, `"responseObject":{"b":2}`, `"RequestObject":{"c":3}`, `"reſponseObject":{"d":4}`,
		`"requestObject":{"e":5}`, `"RESPONSEOBJECT":null`, `"\u0072esponseObject":[]`,
		`"annotations":{"x":"y","audit.k8s.io/truncated":"true"}`, `"Annotations":{"patch.webhook.admission.k8s.io/round_0_index_0":"{}"}`}
	out, res, err := pr.AppendEvent(nil, []byte(event("update", "/api/v1/namespaces/default/configmaps/c", alice, bodies...)))
	want := strings.Replace(event("update", "/api/v1/namespaces/default/configmaps/c", alice, `"annotations":{"x":"y"}`),
		`"RequestResponse"`, `"Metadata"`, 1)
	if err != nil || !res.Kept || string(out) != want {
		t.Errorf("lowered to Metadata: %v, kept %v\n got %s\nwant %s", err, res.Kept, out, want)
	}
	// At Request only the response bodies go.
	out, _, err = pr.AppendEvent(nil, []byte(event("get", "/api/v1/namespaces/default/configmaps/c", alice, bodies[:7]...)))
	want = strings.Replace(event("get", "/api/v1/namespaces/default/configmaps/c", alice,
		`"requestObject":{"a":1}`, `"RequestObject":{"c":3}`, `"requestObject":{"e":5}`), `"RequestResponse"`, `"Request"`, 1)
	if err != nil || string(out) != want {
		t.Errorf("lowered to Request: %v\n got %s\nwant %s", err, out, want)
	}
}
