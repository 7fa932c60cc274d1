package filter

// Attributes are the request attributes a policy is evaluated against: the
// subset of k8s.io/apiserver's authorizer.Attributes that the audit policy
// reads. All byte slices are views; their lifetime is that of the memory they
// point into (for attributes rebuilt by a Processor: until its next call).
type Attributes struct {
	// HasUser is false for an unauthenticated request ("user":{} in the log):
	// rules with users or userGroups never match it.
	HasUser  bool
	Username []byte
	Groups   [][]byte

	Verb []byte

	// ResourceRequest tells a resource request (/api/..., /apis/...) from a
	// non-resource one (/healthz, discovery paths). Path is the decoded URL
	// path without the query, and is what nonResourceURLs match.
	ResourceRequest bool
	Path            []byte

	APIGroup    []byte
	APIVersion  []byte
	Namespace   []byte
	Resource    []byte
	Subresource []byte
	Name        []byte
}

// Decision is what a policy decides for one request.
type Decision struct {
	// Level is the level of the first matching rule, LevelNone if none matched.
	Level Level
	// OmitStages holds the stages the matching rule (unioned with the policy's
	// omitStages) does not log.
	OmitStages stageSet
	// OmitManagedFields: the rule's setting if it has one, else the policy's.
	OmitManagedFields bool
	// Rule is the index of the matching rule in the policy, -1 if none matched.
	Rule int
}

// Omits reports whether events of stage st are not logged under d.
func (d Decision) Omits(st Stage) bool { return d.OmitStages.has(st) }
