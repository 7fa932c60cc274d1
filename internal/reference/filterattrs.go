package reference

import (
	"k8s.io/apiserver/pkg/authorization/authorizer"

	"github.com/auditstream/auditstream/filter"
)

// FilterAttributes converts the apiserver's attributes to the fast path's, so
// that both evaluators can be fed the very same request.
func FilterAttributes(a authorizer.Attributes) filter.Attributes {
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
