package gen

import (
	"fmt"
	"net/http"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	apirequest "k8s.io/apiserver/pkg/endpoints/request"
)

// The metav1.Status objects the apiserver answers with, as it words them.

func failure(code int, reason metav1.StatusReason, message string, details *metav1.StatusDetails) *metav1.Status {
	return &metav1.Status{Status: metav1.StatusFailure, Code: int32(code), Reason: reason, Message: message, Details: details}
}

// qualifiedResource is how error messages name a resource: "pods",
// "deployments.apps", "pods/log" for a subresource.
func qualifiedResource(ri *apirequest.RequestInfo) string {
	res := ri.Resource
	if ri.Subresource != "" {
		res += "/" + ri.Subresource
	}
	if ri.APIGroup != "" {
		res += "." + ri.APIGroup
	}
	return res
}

func forbidden(ri *apirequest.RequestInfo, user string) *metav1.Status {
	what := ri.Resource
	if ri.Subresource != "" {
		what += "/" + ri.Subresource
	}
	scope := "at the cluster scope"
	if ri.Namespace != "" {
		scope = fmt.Sprintf("in the namespace %q", ri.Namespace)
	}
	subject := ri.Resource
	if ri.Name != "" {
		subject = fmt.Sprintf("%s %q", ri.Resource, ri.Name)
	}
	if !ri.IsResourceRequest {
		return failure(http.StatusForbidden, metav1.StatusReasonForbidden,
			fmt.Sprintf("forbidden: User %q cannot %s path %q", user, ri.Verb, ri.Path), &metav1.StatusDetails{})
	}
	return failure(http.StatusForbidden, metav1.StatusReasonForbidden,
		fmt.Sprintf("%s is forbidden: User %q cannot %s resource %q in API group %q %s", subject, user, ri.Verb, what, ri.APIGroup, scope),
		&metav1.StatusDetails{Name: ri.Name, Group: ri.APIGroup, Kind: ri.Resource})
}

func notFound(ri *apirequest.RequestInfo) *metav1.Status {
	return failure(http.StatusNotFound, metav1.StatusReasonNotFound,
		fmt.Sprintf("%s %q not found", qualifiedResource(ri), ri.Name),
		&metav1.StatusDetails{Name: ri.Name, Group: ri.APIGroup, Kind: ri.Resource})
}

func alreadyExists(ri *apirequest.RequestInfo, name string) *metav1.Status {
	return failure(http.StatusConflict, metav1.StatusReasonAlreadyExists,
		fmt.Sprintf("%s %q already exists", qualifiedResource(ri), name),
		&metav1.StatusDetails{Name: name, Group: ri.APIGroup, Kind: ri.Resource})
}

func conflict(ri *apirequest.RequestInfo) *metav1.Status {
	return failure(http.StatusConflict, metav1.StatusReasonConflict,
		fmt.Sprintf("Operation cannot be fulfilled on %s %q: the object has been modified; please apply your changes to the latest version and try again",
			qualifiedResource(ri), ri.Name),
		&metav1.StatusDetails{Name: ri.Name, Group: ri.APIGroup, Kind: ri.Resource})
}

func invalid(ri *apirequest.RequestInfo, kind, name string) *metav1.Status {
	return failure(http.StatusUnprocessableEntity, metav1.StatusReasonInvalid,
		fmt.Sprintf(`%s %q is invalid: metadata.labels: Invalid value: "-web-": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')`, kind, name),
		&metav1.StatusDetails{Name: name, Group: ri.APIGroup, Kind: kind, Causes: []metav1.StatusCause{{
			Type: metav1.CauseTypeFieldValueInvalid, Field: "metadata.labels",
			Message: `Invalid value: "-web-": name part must consist of alphanumeric characters`}}})
}

func panicked() *metav1.Status {
	return failure(http.StatusInternalServerError, metav1.StatusReasonInternalError,
		"APIServer panic'd: runtime error: invalid memory address or nil pointer dereference", nil)
}

func unauthorized() *metav1.Status {
	return failure(http.StatusUnauthorized, metav1.StatusReasonUnauthorized, "Unauthorized", nil)
}

func pathNotFound() *metav1.Status {
	return failure(http.StatusNotFound, metav1.StatusReasonNotFound, "the server could not find the requested resource",
		&metav1.StatusDetails{Causes: []metav1.StatusCause{{Type: metav1.CauseTypeUnexpectedServerResponse, Message: "404 page not found"}}})
}

func success(code int, ri *apirequest.RequestInfo, uid string) *metav1.Status {
	s := &metav1.Status{Status: metav1.StatusSuccess, Code: int32(code)}
	if ri != nil {
		s.Details = &metav1.StatusDetails{Name: ri.Name, Group: ri.APIGroup, Kind: ri.Resource, UID: types.UID(uid)}
	}
	return s
}

// asObject is a Status as a response body: with its kind and apiVersion.
func asObject(s *metav1.Status) *metav1.Status {
	c := *s
	c.TypeMeta = metav1.TypeMeta{Kind: "Status", APIVersion: "v1"}
	return &c
}

// responseStatus is the event's copy of a Status: the apiserver keeps only
// the bounded fields (LogResponseObject).
func responseStatus(s *metav1.Status) *metav1.Status {
	return &metav1.Status{Status: s.Status, Message: s.Message, Reason: s.Reason, Details: s.Details, Code: s.Code}
}
