package filter

import (
	"strings"

	auditinternal "k8s.io/apiserver/pkg/apis/audit"
)

// ruleScope says which requests a rule can match at all, decided once from the
// lists it sets (the apiserver re-derives it on every evaluation).
type ruleScope uint8

const (
	scopeAll         ruleScope = iota // no resources, namespaces or URLs: any request
	scopeResource                     // namespaces or resources set: resource requests only
	scopeNonResource                  // nonResourceURLs set: non-resource requests only
)

type rule struct {
	level             Level
	omitStages        stageSet // the policy's omitStages already unioned in
	omitManagedFields bool     // the rule's *bool resolved against the policy's default

	users      stringSet
	userGroups stringSet
	verbs      stringSet
	scope      ruleScope
	namespaces stringSet
	resources  []groupResources
	urls       []urlPattern
}

type groupResources struct {
	anyGroup bool // group "*" (kube-apiserver >= 1.36)
	group    string
	// allResources: the entry lists no resources, so every resource and
	// subresource of the group matches and resourceNames are ignored.
	allResources bool
	names        stringSet
	patterns     []resourcePattern
}

// resourcePattern is one entry of resources[].resources, pre-classified so
// that matching never builds "resource/subresource" or trims strings. An entry
// can be several kinds at once ("*/*" is exact, */sub and res/* together), and
// it matches if any of its kinds does: exactly the apiserver's chain of ifs.
type resourcePattern struct {
	any bool // "*"

	exactBare bool // "pods": resource equal, no subresource
	bare      string

	exactSub          bool // "pods/log": resource and subresource equal
	subRes, subSubres string

	anyResource bool // "*/log": any resource with this subresource
	anyResSub   string

	anySubres   bool // "pods/*": this resource, with or without a subresource
	anySubresOf string
}

type urlPattern struct {
	any    bool   // "*"
	exact  string // the pattern itself, compared for equality
	prefix bool   // a trailing "*": string prefix, not path-segment, as in RBAC
	stem   string
}

func compile(p *auditinternal.Policy) *Policy {
	policyStages := compileStages(p.OmitStages)
	cp := &Policy{
		rules:        make([]rule, len(p.Rules)),
		fallback:     Decision{Level: LevelNone, OmitStages: policyStages, OmitManagedFields: p.OmitManagedFields, Rule: -1},
		descriptions: make([]string, len(p.Rules)),
	}
	for i := range p.Rules {
		r := &p.Rules[i]
		level, _ := parseLevel([]byte(r.Level)) // validated by the loader
		omitManagedFields := p.OmitManagedFields
		if r.OmitManagedFields != nil {
			omitManagedFields = *r.OmitManagedFields
		}
		cr := rule{
			level:             level,
			omitStages:        policyStages | compileStages(r.OmitStages),
			omitManagedFields: omitManagedFields,
			users:             newStringSet(r.Users),
			userGroups:        newStringSet(r.UserGroups),
			verbs:             newStringSet(r.Verbs),
			namespaces:        newStringSet(r.Namespaces),
		}
		switch {
		case len(r.Namespaces) > 0 || len(r.Resources) > 0:
			cr.scope = scopeResource
		case len(r.NonResourceURLs) > 0:
			cr.scope = scopeNonResource
		}
		for _, gr := range r.Resources {
			cr.resources = append(cr.resources, compileGroupResources(gr))
		}
		for _, u := range r.NonResourceURLs {
			cr.urls = append(cr.urls, compileURL(u))
		}
		cp.rules[i] = cr
		cp.descriptions[i] = describeRule(i, r)
	}
	return cp
}

func compileStages(stages []auditinternal.Stage) stageSet {
	var set stageSet
	for _, s := range stages {
		if st, ok := parseStage([]byte(s)); ok {
			set |= 1 << st
		}
	}
	return set
}

func compileGroupResources(gr auditinternal.GroupResources) groupResources {
	c := groupResources{
		anyGroup:     gr.Group == "*",
		group:        gr.Group,
		allResources: len(gr.Resources) == 0,
		names:        newStringSet(gr.ResourceNames),
	}
	for _, res := range gr.Resources {
		c.patterns = append(c.patterns, compileResource(res))
	}
	return c
}

// compileResource classifies a pattern by the apiserver's three tests:
// equality with "resource[/subresource]" (or "*"), a "*/" prefix, a "/*" suffix.
// Path segments never contain "/", so "a/b" can equal "resource/subresource"
// only as resource a with subresource b.
func compileResource(res string) resourcePattern {
	var p resourcePattern
	if res == "*" {
		p.any = true
	}
	if before, after, found := strings.Cut(res, "/"); !found {
		p.exactBare, p.bare = true, res
	} else if after != "" && !strings.Contains(after, "/") {
		p.exactSub, p.subRes, p.subSubres = true, before, after
	}
	if sub, ok := strings.CutPrefix(res, "*/"); ok {
		p.anyResource, p.anyResSub = true, sub
	}
	if r, ok := strings.CutSuffix(res, "/*"); ok {
		p.anySubres, p.anySubresOf = true, r
	}
	return p
}

func compileURL(u string) urlPattern {
	p := urlPattern{any: u == "*", exact: u}
	if strings.HasSuffix(u, "*") {
		p.prefix, p.stem = true, strings.TrimRight(u, "*")
	}
	return p
}
