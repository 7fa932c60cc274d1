package gen

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"

	"k8s.io/apimachinery/pkg/util/sets"
	apirequest "k8s.io/apiserver/pkg/endpoints/request"
)

// httpRequest is one generated request as kube-apiserver's handler chain
// sees it: a method and a URL, parsed into RequestInfo by the apiserver's
// own parser, so that the logged verb and objectRef are exactly what the
// apiserver would log for it.
type httpRequest struct {
	method string
	// uri is req.URL.RequestURI(), the logged requestURI.
	uri  string
	info *apirequest.RequestInfo
	// res is the resource the path names, nil for non-resource requests.
	res *apiResource
	// action says what the handler does with it (see drawResourceRequest).
	action string
	// bodyName is the name a create's body gives the object ("" with generateName).
	bodyName string
	// nonResource is the kind of non-resource endpoint (see nonResourcePaths).
	nonResource string
}

var requestInfoFactory = apirequest.RequestInfoFactory{
	APIPrefixes:          sets.NewString("api", "apis"),
	GrouplessAPIPrefixes: sets.NewString("api"),
}

// longRunning is kube-apiserver's long-running check
// (BasicLongRunningRequestCheck with the kube-apiserver's verbs and
// subresources): such requests get a ResponseStarted stage.
func (q *httpRequest) longRunning() bool {
	ri := q.info
	switch {
	case ri.Verb == "watch" || ri.Verb == "proxy":
		return true
	case ri.IsResourceRequest:
		switch ri.Subresource {
		case "attach", "exec", "proxy", "log", "portforward":
			return true
		}
		return false
	default:
		return strings.HasPrefix(ri.Path, "/debug/pprof/")
	}
}

// newHTTPRequest parses the request the way the apiserver does. Generated
// paths never make the RequestInfo parser fail (which would answer 500
// before auditing), so a failure is a bug in the generator.
func newHTTPRequest(method, rawURI string) *httpRequest {
	u, err := url.ParseRequestURI(rawURI)
	if err != nil {
		panic(fmt.Sprintf("gen: bad request URI %q: %v", rawURI, err))
	}
	info, err := requestInfoFactory.NewRequestInfo(&http.Request{Method: method, URL: u})
	if err != nil {
		panic(fmt.Sprintf("gen: %s %q: %v", method, rawURI, err))
	}
	return &httpRequest{method: method, uri: u.RequestURI(), info: info}
}

// nonResourcePaths are the non-resource endpoints, with what they answer.
var nonResourcePaths = []weighted[[2]string]{
	{6, [2]string{"/healthz", "health"}},
	{2, [2]string{"/healthz/etcd", "health"}},
	{5, [2]string{"/livez", "health"}},
	{2, [2]string{"/livez?verbose", "health"}},
	{4, [2]string{"/readyz", "health"}},
	{1, [2]string{"/readyz?exclude=etcd&verbose", "health"}},
	{4, [2]string{"/metrics", "metrics"}},
	{3, [2]string{"/version", "version"}},
	{3, [2]string{"/api", "discovery"}},
	{2, [2]string{"/api/v1", "discovery"}},
	{2, [2]string{"/apis", "discovery"}},
	{2, [2]string{"/apis/apps", "discovery"}},
	{3, [2]string{"/apis/apps/v1", "discovery"}},
	{1, [2]string{"/apis/coordination.k8s.io/v1", "discovery"}},
	{3, [2]string{"/openapi/v2", "openapi"}},
	{1, [2]string{"/openapi/v3", "openapi"}},
	{1, [2]string{"/openapi/v3/apis/apps/v1?hash=8F1D4C2A9B7E6F50", "openapi"}},
	{1, [2]string{"/.well-known/openid-configuration", "openid"}},
	{1, [2]string{"/openid/v1/jwks", "openid"}},
	{1, [2]string{"/debug/pprof/profile?seconds=30", "pprof"}},
	{1, [2]string{"/", "root"}},
}

func drawNonResourceRequest(r *rand.Rand) *httpRequest {
	p := pickWeighted(r, nonResourcePaths)
	method := pickWeighted(r, []weighted[string]{{30, http.MethodGet}, {2, http.MethodHead}, {1, http.MethodOptions}})
	q := newHTTPRequest(method, p[0])
	q.nonResource = p[1]
	return q
}

// drawResourceRequest draws a request for an API resource. With bodies, it
// is one whose handler logs a request or response object.
func drawResourceRequest(r *rand.Rand, bodies bool) *httpRequest {
	res := pickWeighted(r, resourceWeights)
	action := drawAction(r, res, bodies)
	var (
		method, ns, name, sub string
		tail, query           []string // path after the subresource; query parameters (key, value pairs)
		prefix                string   // legacy verb-in-path prefix
		rawQuery              string
	)
	if res.namespaced {
		ns = pick(r, namespaces)
	}
	name = objectName(r, res)
	collection := false
	switch action {
	case "list", "watch":
		method, collection = http.MethodGet, true
		if res.namespaced && chance(r, 0.25) {
			ns = "" // across all namespaces
		}
		rawQuery = listQuery(r, action == "watch", name)
	case "head":
		method, collection = http.MethodHead, chance(r, 0.5)
	case "options":
		method = http.MethodOptions
	case "get":
		method = http.MethodGet
		if chance(r, 0.2) {
			query = []string{"resourceVersion", "0"}
		}
	case "create":
		method, collection = http.MethodPost, true
		query = pick(r, [][]string{nil, nil, {"fieldManager", "kubectl-create", "fieldValidation", "Strict"},
			{"fieldManager", "kubectl-client-side-apply", "fieldValidation", "Strict"}, {"dryRun", "All"}})
	case "update":
		method = http.MethodPut
		query = pick(r, [][]string{nil, {"fieldManager", "kube-controller-manager"}, {"fieldManager", "kubectl-edit", "fieldValidation", "Strict"}})
	case "patch":
		method = http.MethodPatch
		query = pick(r, [][]string{nil, {"fieldManager", "kubectl-patch"}, {"fieldManager", "kubectl", "force", "true"},
			{"fieldManager", "kubectl-client-side-apply", "fieldValidation", "Strict"}})
	case "delete":
		method = http.MethodDelete
		query = pick(r, [][]string{nil, nil, {"gracePeriodSeconds", "0"}, {"propagationPolicy", "Background"}})
	case "deletecollection":
		method, collection = http.MethodDelete, true
		if chance(r, 0.4) {
			rawQuery = url.Values{"labelSelector": {"app=web"}}.Encode()
		}
	case "sub":
		sub = drawSubresource(r, res)
		method, query, tail = subresourceRequest(r, sub)
	case "legacywatch":
		method, prefix, collection = http.MethodGet, "watch", chance(r, 0.6)
		if collection && res.namespaced && chance(r, 0.3) {
			ns = ""
		}
	case "legacyproxy":
		method, prefix = pick(r, []string{http.MethodGet, http.MethodGet, http.MethodPost}), "proxy"
		tail = pick(r, [][]string{{"metrics"}, {"stats", "summary"}, {"healthz"}, {}})
	}

	// The path, segment by segment, unescaped.
	segs := []string{"api", res.version}
	if res.group != "" {
		segs = []string{"apis", res.group, res.version}
	}
	if prefix != "" {
		segs = append(segs, prefix)
	}
	switch {
	case res.resource == "namespaces":
		// A namespace is named by its own namespace segment.
		segs = append(segs, "namespaces")
		if !collection {
			segs = append(segs, name)
		}
	case ns != "":
		segs = append(segs, "namespaces", ns, res.resource)
	default:
		segs = append(segs, res.resource)
	}
	if !collection && res.resource != "namespaces" {
		segs = append(segs, name)
	}
	if sub != "" {
		segs = append(segs, sub)
	}
	segs = append(segs, tail...)

	if rawQuery == "" && len(query) > 0 {
		v := url.Values{}
		for i := 0; i < len(query); i += 2 {
			v.Add(query[i], query[i+1])
		}
		rawQuery = v.Encode()
	}
	uri := "/" + escapePath(r, segs)
	if rawQuery != "" {
		uri += "?" + rawQuery
	}
	q := newHTTPRequest(method, uri)
	q.res = &res
	q.action = action
	if action == "create" {
		q.bodyName = name
		if chance(r, 0.15) {
			q.bodyName = "" // generateName
		}
	}
	return q
}

// resourceWeights favour the resources real clusters log most.
var resourceWeights = func() []weighted[apiResource] {
	w := make([]weighted[apiResource], len(resources))
	for i, res := range resources {
		w[i] = weighted[apiResource]{2, res}
		switch res.resource {
		case "pods":
			w[i].w = 8
		case "configmaps", "leases", "namespaces":
			w[i].w = 5
		case "secrets", "deployments", "serviceaccounts", "nodes":
			w[i].w = 3
		}
	}
	return w
}()

func drawAction(r *rand.Rand, res apiResource, bodies bool) string {
	if res.createOnly {
		return "create"
	}
	if bodies {
		return pick(r, []string{"create", "update", "patch", "get", "list", "list"})
	}
	choices := []weighted[string]{
		{10, "get"}, {8, "list"}, {7, "watch"}, {6, "create"}, {6, "update"}, {5, "patch"}, {4, "delete"},
		{2, "deletecollection"}, {2, "legacywatch"}, {1, "head"}, {1, "options"},
	}
	if len(res.subresources) > 0 {
		choices = append(choices, weighted[string]{12, "sub"})
	}
	if res.resource == "pods" || res.resource == "nodes" || res.resource == "services" {
		choices = append(choices, weighted[string]{1, "legacyproxy"})
	}
	return pickWeighted(r, choices)
}

// objectName draws a name for an object of res.
func objectName(r *rand.Rand, res apiResource) string {
	switch res.resource {
	case "namespaces":
		return pick(r, append([]string{"foo"}, namespaces...))
	case "nodes":
		return pick(r, []string{"node1", "node2"})
	case "services":
		if chance(r, 0.2) {
			return "https:web:443" // a proxy target: scheme:name:port
		}
	}
	return pick(r, objectNames)
}

// drawSubresource draws one of res's subresources, the common ones more often.
func drawSubresource(r *rand.Rand, res apiResource) string {
	choices := make([]weighted[string], len(res.subresources))
	for i, sub := range res.subresources {
		choices[i] = weighted[string]{1, sub}
		switch sub {
		case "log", "status":
			choices[i].w = 4
		case "exec", "scale", "token", "binding", "finalize":
			choices[i].w = 2
		}
	}
	return pickWeighted(r, choices)
}

// subresourceRequest draws the method, query and path tail of a request
// to a subresource, as the clients that use it send them.
func subresourceRequest(r *rand.Rand, sub string) (method string, query, tail []string) {
	switch sub {
	case "log":
		return http.MethodGet, pick(r, [][]string{nil, {"container", "app"}, {"container", "app", "follow", "true", "tailLines", "10"}}), nil
	case "exec", "attach":
		query = []string{"container", "app", "stdin", "true", "stdout", "true", "tty", "true"}
		if sub == "exec" {
			query = append(query, "command", "sh", "command", "-c", "command", "echo hi && ls")
		}
		return pick(r, []string{http.MethodPost, http.MethodGet}), query, nil
	case "portforward":
		return pick(r, []string{http.MethodPost, http.MethodGet}), []string{"ports", "8080"}, nil
	case "binding", "eviction", "token":
		return http.MethodPost, nil, nil
	case "proxy":
		return pick(r, []string{http.MethodGet, http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete}), nil,
			pick(r, [][]string{{}, {"metrics"}, {"api", "v1", "status"}, {"static files", "index.html"}})
	case "finalize":
		return http.MethodPut, nil, nil
	case "ephemeralcontainers":
		return pick(r, []string{http.MethodPatch, http.MethodGet, http.MethodPut}), nil, nil
	default: // status, scale
		return pick(r, []string{http.MethodGet, http.MethodPut, http.MethodPatch, http.MethodPatch}), nil, nil
	}
}

// listQuery draws the query of a list or watch request. name is the name a
// fieldSelector may ask for.
func listQuery(r *rand.Rand, watch bool, name string) string {
	var q []string
	switch pickWeighted(r, []weighted[string]{{6, "none"}, {3, "name"}, {1, "name=="}, {1, "name!="}, {1, "badname"},
		{2, "field"}, {2, "label"}, {1, "name+label"}, {2, "limit"}, {1, "rv0"}}) {
	case "name":
		q = []string{"fieldSelector", "metadata.name=" + name}
	case "name==":
		q = []string{"fieldSelector", "metadata.name==" + name}
	case "name!=":
		q = []string{"fieldSelector", "metadata.name!=" + name}
	case "badname":
		// Not a valid path segment name: the apiserver ignores it as a name.
		q = []string{"fieldSelector", "metadata.name=a/b"}
	case "field":
		q = []string{"fieldSelector", pick(r, []string{"spec.nodeName=node1", "metadata.namespace!=kube-system",
			"metadata.name=" + name + ",status.phase=Running"})}
	case "label":
		q = []string{"labelSelector", pick(r, []string{"app=web", "component in (etcd,kube-apiserver)", "!job-name"})}
	case "name+label":
		// The name counts only if the label selector parses too.
		q = []string{"fieldSelector", "metadata.name=" + name, "labelSelector",
			pick(r, []string{"app=web", "tier notin (db),!canary", "app in (", "a b", "app=web,", "x>y", "-bad=1"})}
	case "limit":
		q = []string{"limit", "500", "resourceVersion", "0"}
	case "rv0":
		q = []string{"resourceVersion", "0"}
	}
	if watch {
		switch r.IntN(4) {
		case 0:
			q = append(q, "watch", "true")
		case 1:
			q = append(q, "watch", "1")
		case 2:
			q = append(q, "allowWatchBookmarks", "true", "resourceVersion", "184302", "timeout", "7m46s",
				"timeoutSeconds", "466", "watch", "true")
		default:
			q = append(q, "resourceVersion", "184302", "watch", "true")
		}
	}
	if len(q) == 0 {
		return ""
	}
	if chance(r, 0.1) {
		// Written by hand, e.g. with curl: unescaped and unsorted.
		var parts []string
		for i := 0; i < len(q); i += 2 {
			parts = append(parts, q[i]+"="+strings.ReplaceAll(q[i+1], " ", "%20"))
		}
		return strings.Join(parts, "&")
	}
	if chance(r, 0.03) && !watch {
		// A broken query: the apiserver's list-options decoding fails, so it
		// does not take a name from the fieldSelector either.
		q = append(q, "limit", "ten")
	}
	v := url.Values{}
	for i := 0; i < len(q); i += 2 {
		v.Add(q[i], q[i+1])
	}
	return v.Encode()
}

// escapePath joins path segments, escaping what must be escaped and, now
// and then, a character that need not be (clients and proxies do both; the
// apiserver decodes the path before it parses it).
func escapePath(r *rand.Rand, segs []string) string {
	out := make([]string, len(segs))
	for i, s := range segs {
		out[i] = url.PathEscape(s)
		if s != "" && chance(r, 0.006) {
			j := r.IntN(len(s))
			out[i] = url.PathEscape(s[:j]) + fmt.Sprintf("%%%02X", s[j]) + url.PathEscape(s[j+1:])
		}
	}
	return strings.Join(out, "/")
}
