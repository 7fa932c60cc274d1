package filter

import (
	"strings"
	"testing"
)

// mustCompile compiles a YAML policy or fails the test.
func mustCompile(t testing.TB, yaml string) *Policy {
	t.Helper()
	p, warnings, err := Compile([]byte(yaml))
	if err != nil {
		t.Fatalf("cannot compile policy: %v", err)
	}
	if len(warnings) > 0 {
		t.Fatalf("unexpected warnings: %v", warnings)
	}
	return p
}

// event builds a one-line v1 event; user is the JSON of the user object.
func event(verb, uri, user string, extra ...string) string {
	e := `{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"RequestResponse","auditID":"a1","stage":"ResponseComplete",` +
		`"requestURI":"` + uri + `","verb":"` + verb + `","user":` + user
	for _, x := range extra {
		e += "," + x
	}
	return e + "}"
}

const alice = `{"username":"alice","groups":["devs","system:authenticated"]}`

// The documented surprises of the apiserver's evaluator (audit-semantics.md §6),
// each shown through a whole event.
func TestSurprises(t *testing.T) {
	f := func(name, rules, ev string, want Level) {
		t.Helper()
		p := mustCompile(t, "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n"+rules)
		res, err := p.NewProcessor().Decide([]byte(ev))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if res.Decision.Level != want {
			t.Errorf("%s: level %s; want %s", name, res.Decision.Level, want)
		}
	}
	podsStar := "- level: Request\n  resources: [{resources: [\"pods/*\"]}]\n"
	f("pods/* matches bare pods", podsStar, event("get", "/api/v1/namespaces/default/pods/p1", alice), LevelRequest)
	f("pods/* matches pods/log", podsStar, event("get", "/api/v1/namespaces/default/pods/p1/log", alice), LevelRequest)
	starStar := "- level: Request\n  resources: [{resources: [\"*/*\"]}]\n"
	f("*/* does not match pods", starStar, event("get", "/api/v1/namespaces/default/pods/p1", alice), LevelNone)
	f("*/* does not match pods/log", starStar, event("get", "/api/v1/namespaces/default/pods/p1/log", alice), LevelNone)
	f("pods does not match pods/log", "- level: Request\n  resources: [{resources: [pods]}]\n",
		event("get", "/api/v1/namespaces/default/pods/p1/log", alice), LevelNone)
	f("core group does not match apps deployments", "- level: Request\n  resources: [{resources: [deployments]}]\n",
		event("get", "/apis/apps/v1/namespaces/default/deployments/d", alice), LevelNone)

	bob := "- level: Request\n  users: [bob]\n"
	f("impersonatedUser is not the user", bob,
		event("get", "/api/v1/namespaces/default/pods/p1", alice, `"impersonatedUser":{"username":"bob"}`), LevelNone)
	f("user {} matches no users rule", "- level: Request\n  users: [\"\"]\n", event("get", "/healthz", `{}`), LevelNone)
	f("user {} matches a rule without users", "- level: Metadata\n", event("get", "/healthz", `{}`), LevelMetadata)

	named := "- level: Request\n  resources: [{resources: [configmaps], resourceNames: [cm1]}]\n"
	f("create: objectRef.name is filled after evaluation", named,
		event("create", "/api/v1/namespaces/default/configmaps", alice, `"objectRef":{"resource":"configmaps","namespace":"default","name":"cm1","apiVersion":"v1"}`), LevelNone)
	f("update names the object in the URL", named,
		event("update", "/api/v1/namespaces/default/configmaps/cm1", alice), LevelRequest)
	f("list pins a name with fieldSelector", named,
		event("list", "/api/v1/namespaces/default/configmaps?fieldSelector=metadata.name%3Dcm1", alice), LevelRequest)
	f("an unencoded = in the selector is part of its value", named,
		event("list", "/api/v1/namespaces/default/configmaps?fieldSelector=metadata.name=cm1", alice), LevelRequest)
	f("watch pins a name with ==", named,
		event("watch", "/api/v1/namespaces/default/configmaps?fieldSelector=metadata.name%3D%3Dcm1\\u0026watch=true", alice), LevelRequest)
	f("a bad limit voids the fieldSelector", named,
		event("list", "/api/v1/namespaces/default/configmaps?limit=x\\u0026fieldSelector=metadata.name%3Dcm1", alice), LevelNone)
	f("an encoded query key is the same key", named,
		event("list", "/api/v1/namespaces/default/configmaps?field%53elector=metadata.name%3Dcm1", alice), LevelRequest)
	f("a pair whose value does not decode is skipped", named,
		event("list", "/api/v1/namespaces/default/configmaps?fieldSelector=%zz\\u0026fieldSelector=metadata.name%3Dcm1", alice), LevelRequest)
	f("an encoded bad limit voids the fieldSelector", named,
		event("list", "/api/v1/namespaces/default/configmaps?lim%69t=x\\u0026fieldSelector=metadata.name%3Dcm1", alice), LevelNone)
	f("a label selector that parses leaves the name", named,
		event("list", "/api/v1/namespaces/default/configmaps?fieldSelector=metadata.name%3Dcm1\\u0026labelSelector=app%3Dweb", alice), LevelRequest)
	f("a label selector that does not parse voids the name", named,
		event("list", "/api/v1/namespaces/default/configmaps?fieldSelector=metadata.name%3Dcm1\\u0026labelSelector=app+in+%28", alice), LevelNone)
	f("!= pins no name", named,
		event("list", "/api/v1/namespaces/default/configmaps?fieldSelector=metadata.name!%3Dcm1", alice), LevelNone)
	f("the legacy watch path pins no name from the query", named,
		event("watch", "/api/v1/watch/namespaces/default/configmaps?fieldSelector=metadata.name%3Dcm1", alice), LevelNone)

	ns := "- level: Request\n  namespaces: [foo]\n  resources: [{resources: [namespaces]}]\n"
	f("GET /api/v1/namespaces/foo has namespace foo", ns, event("get", "/api/v1/namespaces/foo", alice), LevelRequest)
	f("namespaces/foo/status is a subresource of foo", "- level: Request\n  resources: [{resources: [namespaces/status]}]\n",
		event("update", "/api/v1/namespaces/foo/status", alice), LevelRequest)
	f(`namespaces [""] matches an all-namespace list`, "- level: Request\n  namespaces: [\"\"]\n",
		event("list", "/api/v1/pods", alice), LevelRequest)
	f(`namespaces [""] never matches a non-resource URL`, "- level: Request\n  namespaces: [\"\"]\n",
		event("get", "/healthz", alice), LevelNone)
	f("/api/v1 is a non-resource path", "- level: Request\n  nonResourceURLs: [\"/api/*\"]\n",
		event("get", "/api/v1", alice), LevelRequest)
	f("/api/* does not match resource requests", "- level: Request\n  nonResourceURLs: [\"/api/*\"]\n",
		event("get", "/api/v1/namespaces/default/pods/p1", alice), LevelNone)
	f("URL prefixes are string prefixes", "- level: Request\n  nonResourceURLs: [\"/healthz*\"]\n",
		event("get", "/healthzfoo", alice), LevelRequest)
	f("the path is decoded: a%2Fb is namespace a", "- level: Request\n  namespaces: [a]\n",
		event("get", "/api/v1/namespaces/a%2Fb/pods", alice), LevelRequest)
	f("the path is decoded (b is the resource)", "- level: Request\n  resources: [{resources: [b]}]\n",
		event("get", "/api/v1/namespaces/a%2Fb/pods", alice), LevelRequest)
	f("proxy via path prefix has no subresource", "- level: Request\n  resources: [{resources: [pods]}]\n",
		event("proxy", "/api/v1/proxy/namespaces/default/pods/p1/extra", alice), LevelRequest)
	f("group * matches any group", "- level: Request\n  resources: [{group: \"*\", resources: [\"*/scale\"]}]\n",
		event("update", "/apis/apps/v1/namespaces/default/deployments/d/scale", alice), LevelRequest)
}

func TestPolicyErrorsAndWarnings(t *testing.T) {
	f := func(yaml, wantErr string) {
		t.Helper()
		_, _, err := Compile([]byte(yaml))
		if err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Errorf("error %v; want one containing %q", err, wantErr)
		}
	}
	f("apiVersion: audit.k8s.io/v1beta1\nkind: Policy\nrules:\n- level: None\n", `no kind "Policy" is registered for version "audit.k8s.io/v1beta1"`)
	f("rules:\n- level: None\n", "unknown group version field")
	f("apiVersion: audit.k8s.io/v1\nkind: Policy\nrules: []\n", "loaded illegal policy with 0 rules")
	f("apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: Loud\n", `rules[0].level: Unsupported value: "Loud"`)
	f("apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: None\n  nonResourceURLs: [\"/a/*/b\"]\n", "rules[0].nonResourceURLs[0]")
	f("apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: None\n  resources: [{group: apps/v1}]\n", "rules[0].resources.group")

	// A misplaced field is dropped, which widens the rule: the warning must say so.
	p, warnings, err := Compile([]byte("apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: None\n  resources:\n  - group: coordination.k8s.io\n    resources: [leases]\n    verbs: [watch]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], `unknown field "rules[0].resources[0].verbs"`) {
		t.Errorf("warnings %q; want one about rules[0].resources[0].verbs", warnings)
	}
	if got := p.DescribeRule(0); got != "#0 None coordination.k8s.io/leases" {
		t.Errorf("rule %q; want the verbs dropped", got)
	}
}
