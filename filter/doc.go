// Package filter applies a Kubernetes audit.k8s.io/v1 Policy to audit events
// exactly as kube-apiserver would, and rewrites each kept event to its level
// without re-encoding it.
//
// The flow for one event is:
//
//	line  --scan-->  event fields (views into line)
//	      --rebuild--> Attributes (from requestURI, verb and user, as the apiserver saw them)
//	      --Decide-->  Decision (level, omitted stage, omitManagedFields, rule index)
//	      --rewrite--> dst (the event at its effective level, with the secrets
//	                   in its bodies redacted when the Policy has a Redaction)
//
// A Policy is compiled once and is immutable: it is safe for concurrent use.
// A Processor holds the scratch memory of one event at a time; it is not safe
// for concurrent use, so give each goroutine its own (see Policy.NewProcessor).
// In steady state the hot path allocates nothing, except for the rare list
// or watch that names an object through its field selector and also has a
// label selector: whether that parses decides the name, and apimachinery's
// parser allocates.
//
// An event the filter cannot decide safely is an error, never a guess: a
// *SyntaxError for broken JSON, a *FieldError naming the member otherwise.
// errors.Is tells ErrNotAuditEvent (another kind of JSON), ErrTooDeep (a
// member nested deeper than kube-apiserver writes) and ErrAmbiguous (a
// member the decision reads, present twice or under a key that
// encoding/json reads as its name) from the rest.
package filter
