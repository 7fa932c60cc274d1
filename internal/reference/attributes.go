package reference

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"k8s.io/apimachinery/pkg/util/sets"
	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/apiserver/pkg/endpoints/request"
)

// requestInfoFactory is the one kube-apiserver installs
// (k8s.io/apiserver/pkg/server/config.go: NewRequestInfoResolver).
var requestInfoFactory = request.RequestInfoFactory{
	APIPrefixes:          sets.NewString("api", "apis"),
	GrouplessAPIPrefixes: sets.NewString("api"),
}

// Attributes rebuilds, from one logged event line, the authorizer attributes
// kube-apiserver evaluated its audit policy against (audit-semantics.md §1c):
//
//   - Verb is the logged verb, verbatim.
//   - User is the authenticated user ("user"), never "impersonatedUser": the
//     audit filter runs before impersonation. It is nil for "user":{}.
//   - Everything else comes from re-running the apiserver's RequestInfo
//     parser on the logged requestURI. objectRef is not used: at the stages
//     after RequestReceived the apiserver fills its empty fields from the
//     request body (a create's objectRef.name is the new object's name, while
//     the policy saw no name).
func Attributes(ev []byte) (authorizer.Attributes, error) {
	e, err := parseEvent(ev)
	if err != nil {
		return nil, err
	}
	return attributesFor(e.Verb, e.RequestURI, e.User)
}

// EventAttributes is Attributes for an event already decoded into the
// audit.k8s.io/v1 Event type.
func EventAttributes(ev *auditv1.Event) (authorizer.Attributes, error) {
	var u user.Info
	if ui := ev.User; ui.Username != "" || ui.UID != "" || len(ui.Groups) > 0 || len(ui.Extra) > 0 {
		extra := make(map[string][]string, len(ui.Extra))
		for k, v := range ui.Extra {
			extra[k] = v
		}
		u = &user.DefaultInfo{Name: ui.Username, UID: ui.UID, Groups: ui.Groups, Extra: extra}
	}
	return attributesFor(ev.Verb, ev.RequestURI, u)
}

func attributesFor(verb, requestURI string, u user.Info) (authorizer.Attributes, error) {
	// The Go HTTP server parses the request line with url.ParseRequestURI, and
	// the apiserver logs req.URL.RequestURI(); parsing that again yields the
	// same decoded Path and query the apiserver saw.
	parsed, err := url.ParseRequestURI(requestURI)
	if err != nil {
		return nil, fmt.Errorf("requestURI: %w", err)
	}
	req := &http.Request{Method: methodForVerb(verb), URL: parsed, RequestURI: requestURI}
	ri, err := requestInfoFactory.NewRequestInfo(req)
	if err != nil {
		// The RequestInfo filter answers 500 before the audit filter runs,
		// so kube-apiserver never logs such a request.
		return nil, fmt.Errorf("requestURI %q: kube-apiserver rejects it before auditing: %w", requestURI, err)
	}
	return authorizer.AttributesRecord{
		User:            u,
		Verb:            verb,
		ResourceRequest: ri.IsResourceRequest,
		Path:            ri.Path,
		APIGroup:        ri.APIGroup,
		APIVersion:      ri.APIVersion,
		Namespace:       ri.Namespace,
		Resource:        ri.Resource,
		Subresource:     ri.Subresource,
		Name:            ri.Name,
	}, nil
}

// methodForVerb returns an HTTP method that makes RequestInfo parse the
// request as it parsed the original one.
//
// The verb itself is taken from the event, so the method matters only where
// the parser branches on it: for resource requests, a GET or HEAD without a
// name in the path takes its name from a fieldSelector requiring
// metadata.name (list and watch). Any method that maps to the same branch
// as the original gives the same result, hence:
//
//   - Resource verbs map back to the method that produces them. A HEAD
//     request is logged as get/list and parses exactly like a GET.
//   - Non-resource requests are logged with the lower-cased method as verb,
//     so upper-casing the verb gives the method back (get, head, post, ...).
//     The method does not influence how a non-resource path is parsed.
//   - An empty verb is what a resource request with any other method (in
//     practice OPTIONS) is logged with; OPTIONS takes the parser's default
//     branch just as that request did.
//   - Any other verb (not something kube-apiserver logs for a resource
//     request) is upper-cased, which for a resource path again takes the
//     default branch: no name from a fieldSelector.
func methodForVerb(verb string) string {
	switch verb {
	case "get", "list", "watch", "proxy":
		return http.MethodGet
	case "create":
		return http.MethodPost
	case "update":
		return http.MethodPut
	case "patch":
		return http.MethodPatch
	case "delete", "deletecollection":
		return http.MethodDelete
	case "":
		return http.MethodOptions
	}
	return strings.ToUpper(verb)
}
