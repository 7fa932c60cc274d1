package filter

import "bytes"

// Decide evaluates the policy against a: the first matching rule wins; no
// match is LevelNone. It allocates nothing and is safe for concurrent use.
func (p *Policy) Decide(a *Attributes) Decision {
	for _, c := range p.candidates(a) {
		r := &p.rules[c.rule]
		if r.matches(a, c.resourceCertain) {
			return Decision{Level: r.level, OmitStages: r.omitStages, OmitManagedFields: r.omitManagedFields, Rule: int(c.rule)}
		}
	}
	return p.fallback
}

// candidates returns, in policy order, the rules that can match a at all.
func (p *Policy) candidates(a *Attributes) []candidate {
	x := &p.index
	if !a.ResourceRequest {
		return x.nonResource
	}
	gx := &x.otherGroup
	if g := x.groups.indexOf(a.APIGroup); g >= 0 {
		gx = &x.byGroup[g]
	}
	sx := &gx.otherResource
	if r := gx.resources.indexOf(a.Resource); r >= 0 {
		sx = &gx.byResource[r]
	}
	if len(a.Subresource) == 0 {
		return sx.bare
	}
	if s := sx.subresources.indexOf(a.Subresource); s >= 0 {
		return sx.bySub[s]
	}
	return sx.otherSub
}

// matches mirrors k8s.io/apiserver/pkg/audit/policy.ruleMatches: every list a
// rule sets must match, and an unset list matches anything. The checks are
// all ANDed, so their order is free: the cheapest and most selective first.
// resourceCertain says the index already knows the resources match.
func (r *rule) matches(a *Attributes, resourceCertain bool) bool {
	switch r.scope {
	case scopeResource:
		if !a.ResourceRequest {
			return false
		}
	case scopeNonResource:
		if a.ResourceRequest {
			return false
		}
	}
	if !r.verbs.any() && !r.verbs.has(a.Verb) {
		return false
	}
	if !r.users.any() && (!a.HasUser || !r.users.has(a.Username)) {
		return false
	}
	if !r.userGroups.any() && (!a.HasUser || !r.hasGroup(a.Groups)) {
		return false
	}
	switch r.scope {
	case scopeResource:
		if resourceCertain {
			return r.namespaces.any() || r.namespaces.has(a.Namespace)
		}
		return r.matchesResource(a)
	case scopeNonResource:
		return r.matchesNonResource(a)
	}
	return true
}

func (r *rule) hasGroup(groups [][]byte) bool {
	for _, g := range groups {
		if r.userGroups.has(g) {
			return true
		}
	}
	return false
}

// matchesResource runs for resource requests only.
func (r *rule) matchesResource(a *Attributes) bool {
	if !r.namespaces.any() && !r.namespaces.has(a.Namespace) {
		return false
	}
	if len(r.resources) == 0 {
		return true
	}
	for i := range r.resources {
		gr := &r.resources[i]
		if !gr.anyGroup && gr.group != string(a.APIGroup) {
			continue
		}
		if gr.allResources {
			return true
		}
		if !gr.names.any() && !gr.names.has(a.Name) {
			continue
		}
		for j := range gr.patterns {
			if gr.patterns[j].matches(a.Resource, a.Subresource) {
				return true
			}
		}
	}
	return false
}

func (p *resourcePattern) matches(resource, subresource []byte) bool {
	return p.any ||
		p.exactBare && len(subresource) == 0 && p.bare == string(resource) ||
		p.exactSub && p.subRes == string(resource) && p.subSubres == string(subresource) ||
		p.anyResource && len(subresource) > 0 && p.anyResSub == string(subresource) ||
		p.anySubres && p.anySubresOf == string(resource)
}

// matchesNonResource runs for non-resource requests only.
func (r *rule) matchesNonResource(a *Attributes) bool {
	for i := range r.urls {
		u := &r.urls[i]
		if u.any || u.exact == string(a.Path) || u.prefix && bytes.HasPrefix(a.Path, []byte(u.stem)) {
			return true
		}
	}
	return false
}
