// Package attrconv converts the apiserver's authorizer attributes to the
// fast path's, for tests and benchmarks that feed both evaluators the same
// request. It lives apart from internal/reference so that the reference
// depends on nothing it checks.
package attrconv

import (
	"k8s.io/apiserver/pkg/authorization/authorizer"

	"github.com/auditstream/auditstream/filter"
)

// FromAuthorizer converts the apiserver's attributes to the fast path's, so
// that both evaluators can be fed the very same request.
func FromAuthorizer(a authorizer.Attributes) filter.Attributes {
	out := filter.Attributes{
		Verb: []byte(a.GetVerb()), ResourceRequest: a.IsResourceRequest(), Path: []byte(a.GetPath()),
		APIGroup: []byte(a.GetAPIGroup()), APIVersion: []byte(a.GetAPIVersion()), Namespace: []byte(a.GetNamespace()),
		Resource: []byte(a.GetResource()), Subresource: []byte(a.GetSubresource()), Name: []byte(a.GetName()),
	}
	if u := a.GetUser(); u != nil {
		out.HasUser = true
		out.Username = []byte(u.GetName())
		for _, g := range u.GetGroups() {
			out.Groups = append(out.Groups, []byte(g))
		}
	}
	return out
}
