package filter_test

import (
	"slices"
	"strings"
	"testing"

	"k8s.io/apiserver/pkg/apis/audit"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"

	"github.com/auditstream/auditstream/filter"
	"github.com/auditstream/auditstream/internal/attrconv"
)

// The request × rules matrix of k8s.io/apiserver's pkg/audit/policy/checker_test.go,
// evaluated by the compiled policy.

var checkerTim = &user.DefaultInfo{Name: "tim@k8s.io", Groups: []string{"humans", "developers"}}

var checkerAttrs = map[string]*authorizer.AttributesRecord{
	"namespaced": {User: checkerTim, Verb: "get", Namespace: "default", APIVersion: "v1", Resource: "pods", Name: "busybox",
		ResourceRequest: true, Path: "/api/v1/namespaces/default/pods/busybox"},
	"cluster": {User: checkerTim, Verb: "get", APIGroup: "rbac.authorization.k8s.io", APIVersion: "v1beta1", Resource: "clusterroles",
		Name: "edit", ResourceRequest: true, Path: "/apis/rbac.authorization.k8s.io/v1beta1/clusterroles/edit"},
	"nonResource": {User: checkerTim, Verb: "get", Path: "/logs/kubelet.log"},
	"subresource": {User: checkerTim, Verb: "get", Namespace: "default", APIVersion: "v1", Resource: "pods", Subresource: "log",
		Name: "busybox", ResourceRequest: true, Path: "/api/v1/namespaces/default/pods/busybox"},
	"Unauthorized": {Verb: "get", Namespace: "default", APIVersion: "v1", Resource: "pods", Name: "busybox",
		ResourceRequest: true, Path: "/api/v1/namespaces/default/pods/busybox"},
	"ClusterRoleUpdate": {User: checkerTim, Verb: "update", APIGroup: "rbac.authorization.k8s.io", APIVersion: "v1beta1",
		Resource: "clusterroles", Subresource: "status", Name: "somerole", ResourceRequest: true,
		Path: "/apis/rbac.authorization.k8s.io/v1beta1/clusterroles/somerole"},
}

var checkerRules = map[string]audit.PolicyRule{
	"default":         {Level: audit.LevelMetadata},
	"create":          {Level: audit.LevelRequest, Verbs: []string{"create"}},
	"tims":            {Level: audit.LevelMetadata, Users: []string{"tim@k8s.io"}},
	"humans":          {Level: audit.LevelMetadata, UserGroups: []string{"humans"}},
	"serviceAccounts": {Level: audit.LevelRequest, UserGroups: []string{"system:serviceaccounts"}},
	"getPods": {Level: audit.LevelRequestResponse, Verbs: []string{"get"},
		Resources: []audit.GroupResources{{Resources: []string{"pods"}}}},
	"getPodLogs": {Level: audit.LevelRequest, Verbs: []string{"get"},
		Resources: []audit.GroupResources{{Resources: []string{"pods/log"}}}},
	"getPodWildcardMatching": {Level: audit.LevelRequest, Verbs: []string{"get"},
		Resources: []audit.GroupResources{{Resources: []string{"*"}}}},
	"getPodResourceWildcardMatching": {Level: audit.LevelRequest, Verbs: []string{"get"},
		Resources: []audit.GroupResources{{Resources: []string{"*/log"}}}},
	"getPodSubResourceWildcardMatching": {Level: audit.LevelRequest, Verbs: []string{"get"},
		Resources: []audit.GroupResources{{Resources: []string{"pods/*"}}}},
	"getClusterRoles": {Level: audit.LevelRequestResponse, Verbs: []string{"get"},
		Resources:  []audit.GroupResources{{Group: "rbac.authorization.k8s.io", Resources: []string{"clusterroles"}}},
		Namespaces: []string{""}},
	"getGroupWildCardMatchingWithSubresourceWildcardMatching": {Level: audit.LevelRequestResponse, Verbs: []string{"update"},
		Resources: []audit.GroupResources{{Group: "*", Resources: []string{"*/status"}}}},
	"getLogs":    {Level: audit.LevelRequestResponse, Verbs: []string{"get"}, NonResourceURLs: []string{"/logs*"}},
	"getMetrics": {Level: audit.LevelRequest, Verbs: []string{"get"}, NonResourceURLs: []string{"/metrics"}},
	"clusterRoleEdit": {Level: audit.LevelRequest, Resources: []audit.GroupResources{{
		Group: "rbac.authorization.k8s.io", Resources: []string{"clusterroles"}, ResourceNames: []string{"edit"}}}},
	"omit RequestReceived": {Level: audit.LevelRequest, OmitStages: []audit.Stage{audit.StageRequestReceived}},
	"only audit panic": {Level: audit.LevelRequest, OmitStages: []audit.Stage{
		audit.StageRequestReceived, audit.StageResponseStarted, audit.StageResponseComplete}},
}

func checkDecision(t *testing.T, req string, wantLevel audit.Level, policyStages, wantOmit []audit.Stage, ruleNames ...string) {
	t.Helper()
	p := &audit.Policy{OmitStages: policyStages}
	for _, name := range ruleNames {
		r, ok := checkerRules[name]
		if !ok {
			t.Fatalf("unknown rule %q", name)
		}
		p.Rules = append(p.Rules, r)
	}
	a := attrconv.FromAuthorizer(checkerAttrs[req])
	d := filter.CompileInternal(p).Decide(&a)
	if d.Level.String() != string(wantLevel) {
		t.Errorf("request %s, rules %s: level %s; want %s", req, strings.Join(ruleNames, ","), d.Level, wantLevel)
	}
	for st := filter.Stage(1); st <= filter.NumStages; st++ {
		if want := slices.Contains(wantOmit, audit.Stage(st.String())); d.Omits(st) != want {
			t.Errorf("request %s, rules %s: omits %s = %v; want %v", req, strings.Join(ruleNames, ","), st, d.Omits(st), want)
		}
	}
}

func checkAuditLevels(t *testing.T, stages []audit.Stage) {
	f := func(req string, level audit.Level, rules ...string) {
		t.Helper()
		checkDecision(t, req, level, stages, stages, rules...)
	}
	f("namespaced", audit.LevelMetadata, "default")
	f("namespaced", audit.LevelNone, "create")
	f("namespaced", audit.LevelMetadata, "tims")
	f("namespaced", audit.LevelMetadata, "humans")
	f("namespaced", audit.LevelNone, "serviceAccounts")
	f("namespaced", audit.LevelRequestResponse, "getPods")
	f("namespaced", audit.LevelNone, "getClusterRoles")
	f("namespaced", audit.LevelNone, "getLogs")
	f("namespaced", audit.LevelNone, "getMetrics")
	f("namespaced", audit.LevelMetadata, "getMetrics", "serviceAccounts", "default")
	f("namespaced", audit.LevelRequestResponse, "getMetrics", "getPods", "default")
	f("namespaced", audit.LevelRequestResponse, "getPodLogs", "getPods")

	f("cluster", audit.LevelMetadata, "default")
	f("cluster", audit.LevelNone, "create")
	f("cluster", audit.LevelMetadata, "tims")
	f("cluster", audit.LevelMetadata, "humans")
	f("cluster", audit.LevelNone, "serviceAccounts")
	f("cluster", audit.LevelNone, "getPods")
	f("cluster", audit.LevelRequestResponse, "getClusterRoles")
	f("cluster", audit.LevelRequest, "clusterRoleEdit", "getClusterRoles")
	f("cluster", audit.LevelNone, "getLogs")
	f("cluster", audit.LevelNone, "getMetrics")
	f("cluster", audit.LevelMetadata, "getMetrics", "serviceAccounts", "default")
	f("cluster", audit.LevelRequestResponse, "getMetrics", "getClusterRoles", "default")
	f("cluster", audit.LevelNone, "getPodLogs", "getPods")

	f("nonResource", audit.LevelMetadata, "default")
	f("nonResource", audit.LevelNone, "create")
	f("nonResource", audit.LevelMetadata, "tims")
	f("nonResource", audit.LevelMetadata, "humans")
	f("nonResource", audit.LevelNone, "serviceAccounts")
	f("nonResource", audit.LevelNone, "getPods")
	f("nonResource", audit.LevelNone, "getClusterRoles")
	f("nonResource", audit.LevelRequestResponse, "getLogs")
	f("nonResource", audit.LevelNone, "getMetrics")
	f("nonResource", audit.LevelMetadata, "getMetrics", "serviceAccounts", "default")
	f("nonResource", audit.LevelRequestResponse, "getLogs", "getClusterRoles", "default")
	f("nonResource", audit.LevelNone, "getPodLogs", "getPods")

	f("subresource", audit.LevelRequest, "getPodLogs", "getPods")
	f("subresource", audit.LevelRequest, "getPodWildcardMatching")
	f("subresource", audit.LevelRequest, "getPodResourceWildcardMatching")
	f("subresource", audit.LevelRequest, "getPodSubResourceWildcardMatching")

	f("Unauthorized", audit.LevelNone, "tims")
	f("Unauthorized", audit.LevelMetadata, "tims", "default")
	f("Unauthorized", audit.LevelNone, "humans")
	f("Unauthorized", audit.LevelMetadata, "humans", "default")

	f("ClusterRoleUpdate", audit.LevelRequestResponse, "getGroupWildCardMatchingWithSubresourceWildcardMatching")
}

func TestChecker(t *testing.T) {
	checkAuditLevels(t, nil)
	rr := []audit.Stage{audit.StageRequestReceived}
	panicOnly := []audit.Stage{audit.StageRequestReceived, audit.StageResponseStarted, audit.StageResponseComplete}
	for _, req := range []string{"namespaced", "cluster", "nonResource"} {
		checkDecision(t, req, audit.LevelRequest, nil, rr, "omit RequestReceived", "getPods", "default")
		checkDecision(t, req, audit.LevelRequest, nil, panicOnly, "only audit panic", "getPods", "default")
	}
}

func TestCheckerPolicyOmitStages(t *testing.T) {
	policyStages := []audit.Stage{audit.StageRequestReceived, audit.StageResponseStarted}
	checkAuditLevels(t, policyStages)
	panicOnly := []audit.Stage{audit.StageRequestReceived, audit.StageResponseStarted, audit.StageResponseComplete}
	for _, req := range []string{"namespaced", "cluster"} {
		checkDecision(t, req, audit.LevelRequest, policyStages, policyStages, "omit RequestReceived", "getPods", "default")
		checkDecision(t, req, audit.LevelRequest, policyStages, panicOnly, "only audit panic", "getPods", "default")
	}
	checkDecision(t, "nonResource", audit.LevelMetadata, policyStages, policyStages, "default", "omit RequestReceived", "getPods")
	checkDecision(t, "nonResource", audit.LevelRequest, policyStages, panicOnly, "only audit panic", "getPods", "default")
}

func TestOmitManagedFieldsPrecedence(t *testing.T) {
	yes, no := true, false
	f := func(policyDefault bool, rule *bool, want bool) {
		t.Helper()
		p := &audit.Policy{OmitManagedFields: policyDefault, Rules: []audit.PolicyRule{
			{Level: audit.LevelRequestResponse, Verbs: []string{"get"}, OmitManagedFields: rule}}}
		a := filter.Attributes{Verb: []byte("get")}
		if got := filter.CompileInternal(p).Decide(&a).OmitManagedFields; got != want {
			t.Errorf("policy %v, rule %v: omitManagedFields %v; want %v", policyDefault, rule, got, want)
		}
		a.Verb = []byte("list") // no rule matches: the policy's default applies
		if got := filter.CompileInternal(p).Decide(&a).OmitManagedFields; got != policyDefault {
			t.Errorf("policy %v, no match: omitManagedFields %v; want %v", policyDefault, got, policyDefault)
		}
	}
	f(false, nil, false)
	f(true, nil, true)
	f(false, &yes, true)
	f(true, &no, false)
	f(true, &yes, true)
	f(false, &no, false)
}
