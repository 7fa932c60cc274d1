package gen

// The shared vocabularies. Policies and events draw from the same small sets
// so that rules and requests collide: a generated rule has a fair chance to
// match a generated event, and to miss it by exactly one field.

// identity is an authenticated user as the authenticators produce it.
type identity struct {
	name   string
	uid    string
	groups []string
	extra  map[string][]string
	// agent is the user agent its requests typically carry.
	agent string
}

const k8sVersion = "v1.30.2 (linux/amd64) kubernetes/3968350"

var identities = []identity{
	{name: "alice", groups: []string{"devs", "system:authenticated"},
		extra: map[string][]string{"authentication.kubernetes.io/credential-id": {"X509SHA256=5a1f0c9e"}},
		agent: "kubectl/" + k8sVersion},
	{name: "bob", groups: []string{"system:authenticated"}, agent: "kubectl/" + k8sVersion},
	{name: "system:admin", groups: []string{"system:masters", "system:authenticated"}, agent: "kubectl/" + k8sVersion},
	{name: "system:kube-proxy", groups: []string{"system:authenticated"}, agent: "kube-proxy/" + k8sVersion},
	{name: "system:serviceaccount:kube-system:replicaset-controller", uid: "2b6c1f0e-8a8f-4d3c-9e57-0e1f5b7c6a11",
		groups: []string{"system:serviceaccounts", "system:serviceaccounts:kube-system", "system:authenticated"},
		agent:  "kube-controller-manager/" + k8sVersion + "/system:serviceaccount:kube-system:replicaset-controller"},
	{name: "system:serviceaccount:ns1:sa1", uid: "9d0e3a4b-1c2d-4e5f-8a9b-0c1d2e3f4a5b",
		groups: []string{"system:serviceaccounts", "system:serviceaccounts:ns1", "system:authenticated"},
		extra: map[string][]string{
			"authentication.kubernetes.io/credential-id": {"JTI=7c1f2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b"},
			"authentication.kubernetes.io/pod-name":      {"web-0"},
			"authentication.kubernetes.io/pod-uid":       {"0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0"},
		},
		agent: "Go-http-client/2.0"},
	{name: "system:anonymous", groups: []string{"system:unauthenticated"}, agent: "curl/8.5.0"},
	{name: "system:kube-controller-manager", groups: []string{"system:authenticated"}, agent: "kube-controller-manager/" + k8sVersion + "/leader-election"},
	{name: "system:kube-scheduler", groups: []string{"system:authenticated"}, agent: "kube-scheduler/" + k8sVersion + "/scheduler"},
	{name: "system:node:node1", groups: []string{"system:nodes", "system:authenticated"}, agent: "kubelet/" + k8sVersion},
	{name: "system:apiserver", uid: "1d4f0a6e-7e6b-4c1f-9f3e-2a1b0c9d8e7f", groups: []string{"system:authenticated", "system:masters"},
		agent: "kube-apiserver/" + k8sVersion},
}

// impersonators are the identities allowed to impersonate in a realistic cluster.
var impersonators = []string{"system:admin", "alice"}

// policyUsers and policyGroups add to the identities' names and groups some
// that never match anything: a case variant and glob-looking strings, which
// audit policies compare literally.
var (
	policyUsers  = append(identityNames(), "Alice", "system:serviceaccount:kube-system:*")
	policyGroups = []string{"system:authenticated", "system:unauthenticated", "system:masters", "system:nodes",
		"system:serviceaccounts", "system:serviceaccounts:kube-system", "system:serviceaccounts:ns1", "devs", "system:serviceaccounts:*"}
)

func identityNames() []string {
	names := make([]string, len(identities))
	for i, id := range identities {
		names[i] = id.name
	}
	return names
}

var namespaces = []string{"default", "kube-system", "ns1", "kube-public"}

// objectNames are the names of objects in events (and in rules' resourceNames).
var objectNames = []string{"foo", "bar", "web-0", "cm1", "default", "kube-proxy", "coredns", "node1", "kube-controller-manager"}

// apiResource is a resource the generated API server serves.
type apiResource struct {
	group, version, resource, kind string
	namespaced                     bool
	// subresources lists the subresources it serves.
	subresources []string
	// createOnly: a virtual resource (reviews) that only accepts create.
	createOnly bool
}

func (res apiResource) apiVersion() string {
	if res.group == "" {
		return res.version
	}
	return res.group + "/" + res.version
}

// builtin tells whether lists of it omit kind and apiVersion in their items,
// as typed lists do; custom resources keep them.
func (res apiResource) builtin() bool { return res.group != "example.com" }

var resources = []apiResource{
	{"", "v1", "pods", "Pod", true, []string{"log", "status", "exec", "attach", "portforward", "binding", "eviction", "proxy", "ephemeralcontainers"}, false},
	{"", "v1", "configmaps", "ConfigMap", true, nil, false},
	{"", "v1", "secrets", "Secret", true, nil, false},
	{"", "v1", "serviceaccounts", "ServiceAccount", true, []string{"token"}, false},
	{"", "v1", "namespaces", "Namespace", false, []string{"status", "finalize"}, false},
	{"", "v1", "nodes", "Node", false, []string{"status", "proxy"}, false},
	{"", "v1", "services", "Service", true, []string{"status", "proxy"}, false},
	{"", "v1", "events", "Event", true, nil, false},
	{"", "v1", "endpoints", "Endpoints", true, nil, false},
	{"apps", "v1", "deployments", "Deployment", true, []string{"scale", "status"}, false},
	{"apps", "v1", "replicasets", "ReplicaSet", true, []string{"scale", "status"}, false},
	{"apps", "v1", "statefulsets", "StatefulSet", true, []string{"scale", "status"}, false},
	{"coordination.k8s.io", "v1", "leases", "Lease", true, nil, false},
	{"batch", "v1", "jobs", "Job", true, []string{"status"}, false},
	{"rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", false, nil, false},
	{"rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", true, nil, false},
	{"apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition", false, []string{"status"}, false},
	{"example.com", "v1alpha1", "widgets", "Widget", true, []string{"status", "scale"}, false},
	{"authentication.k8s.io", "v1", "tokenreviews", "TokenReview", false, nil, true},
	{"authorization.k8s.io", "v1", "selfsubjectaccessreviews", "SelfSubjectAccessReview", false, nil, true},
}

// Policy-side vocabularies.
var (
	stages = []string{"RequestReceived", "ResponseStarted", "ResponseComplete", "Panic"}
	// policyVerbs: the resource verbs, the lower-case methods that
	// non-resource requests are logged with, and "" (OPTIONS on a resource).
	policyVerbs = []string{"get", "list", "watch", "create", "update", "patch", "delete", "deletecollection",
		"proxy", "head", "post", "put", ""}
	// policyGroups: "" is the core group, "*" every group (since 1.36).
	policyAPIGroups = []string{"", "apps", "*", "coordination.k8s.io", "batch", "rbac.authorization.k8s.io",
		"example.com", "authentication.k8s.io"}
	// policyResources: exact resources, res/sub, res/*, */sub, * and */*
	// (which matches nothing), and strings that validate but rarely or never match.
	policyResources = []string{
		"pods", "configmaps", "secrets", "deployments", "leases", "namespaces", "serviceaccounts", "nodes",
		"events", "widgets", "tokenreviews",
		"pods/log", "pods/exec", "pods/status", "pods/binding", "deployments/scale", "namespaces/status",
		"namespaces/finalize", "serviceaccounts/token", "nodes/proxy", "services/proxy",
		"pods/*", "deployments/*", "namespaces/*",
		"*/status", "*/scale", "*/log", "*/exec", "*/token", "*/proxy", "*/binding", "*/finalize",
		"*", "*/*", "Pods", "pods/log/extra",
	}
	policyNamespaces = []string{"default", "kube-system", "ns1", "", "kube-public"}
	// policyResourceNames include namespace names (the namespaces resource
	// is named like its namespace) and "", which matches requests without a name.
	policyResourceNames = append(append([]string{}, objectNames...), "kube-system", "ns1", "")
	policyURLs          = []string{
		"/healthz", "/healthz*", "/healthz/*", "/livez*", "/readyz", "/metrics", "/version", "/version/",
		"/api", "/api*", "/api/*", "/apis*", "/apis/*", "/apis/apps/v1", "/openapi/*", "/openapi/v2", "*", "/",
		"/debug/pprof/*", "/.well-known/*",
	}
)
