package filter

import (
	"slices"
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
	cp.index = buildIndex(cp.rules)
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

// ruleIndex narrows the rules worth trying for a request, by what the
// request is: non-resource, or a resource request of some API group and
// resource. Each list keeps policy order and leaves out only rules that
// cannot match, so first-match semantics are unchanged. Most events of a busy
// cluster concern resources that few rules name, so they try a handful of
// rules, not all of them.
type ruleIndex struct {
	nonResource []int32
	groups      stringSet    // the API groups rules name, apart from "*"
	byGroup     []groupIndex // for groups.items[i]
	otherGroup  groupIndex   // for a group no rule names
}

type groupIndex struct {
	resources     stringSet // the resources rules name for this group
	byResource    [][]int32 // candidates for resources.items[i]
	otherResource []int32   // candidates for a resource no rule names
}

func buildIndex(rules []rule) ruleIndex {
	var idx ruleIndex
	for i := range rules {
		if rules[i].scope != scopeResource {
			idx.nonResource = append(idx.nonResource, int32(i))
		}
	}
	var groups []string
	for i := range rules {
		for _, gr := range rules[i].resources {
			if !gr.anyGroup {
				groups = append(groups, gr.group)
			}
		}
	}
	idx.groups = newStringSet(dedupe(groups))
	idx.byGroup = make([]groupIndex, len(idx.groups.items))
	for gi, g := range idx.groups.items {
		idx.byGroup[gi] = buildGroupIndex(rules, g, true)
	}
	idx.otherGroup = buildGroupIndex(rules, "", false)
	return idx
}

// buildGroupIndex indexes the rules for group g (known: a group some rule
// names; otherwise any group no rule names).
func buildGroupIndex(rules []rule, g string, known bool) groupIndex {
	applies := func(gr *groupResources) bool { return gr.anyGroup || known && gr.group == g }
	var names []string
	for i := range rules {
		for j := range rules[i].resources {
			if gr := &rules[i].resources[j]; applies(gr) {
				for _, p := range gr.patterns {
					names = append(names, p.resourceNames()...)
				}
			}
		}
	}
	gx := groupIndex{resources: newStringSet(dedupe(names))}
	gx.byResource = make([][]int32, len(gx.resources.items))
	for ri, res := range gx.resources.items {
		for i := range rules {
			if rules[i].mayMatch(applies, res, true) {
				gx.byResource[ri] = append(gx.byResource[ri], int32(i))
			}
		}
	}
	for i := range rules {
		if rules[i].mayMatch(applies, "", false) {
			gx.otherResource = append(gx.otherResource, int32(i))
		}
	}
	return gx
}

// mayMatch tells whether the rule can match a resource request whose group
// entries are those for which applies is true, for resource res (known: a
// resource some pattern names; otherwise any resource no pattern names).
func (r *rule) mayMatch(applies func(*groupResources) bool, res string, known bool) bool {
	switch {
	case r.scope == scopeNonResource:
		return false
	case r.scope == scopeAll || len(r.resources) == 0:
		return true
	}
	for j := range r.resources {
		gr := &r.resources[j]
		if !applies(gr) {
			continue
		}
		if gr.allResources {
			return true
		}
		for _, p := range gr.patterns {
			if p.any || p.anyResource {
				return true
			}
			if known && slices.Contains(p.resourceNames(), res) {
				return true
			}
		}
	}
	return false
}

// resourceNames lists the resources a pattern can match by name; "*" and
// "*/sub" match any resource and name none.
func (p *resourcePattern) resourceNames() []string {
	var names []string
	if p.exactBare {
		names = append(names, p.bare)
	}
	if p.exactSub {
		names = append(names, p.subRes)
	}
	if p.anySubres {
		names = append(names, p.anySubresOf)
	}
	return names
}

func dedupe(names []string) []string {
	slices.Sort(names)
	return slices.Compact(names)
}
