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

// ruleIndex narrows the rules worth trying for a request by what the
// request is: non-resource, or a resource request of some API group,
// resource and subresource. Each list keeps policy order and leaves out only
// rules that cannot match, so first-match semantics are unchanged. Most events
// of a busy cluster concern resources that few rules name, so they try one or
// two rules, not all of them.
type ruleIndex struct {
	nonResource []candidate
	groups      stringSet    // the API groups rules name, apart from "*"
	byGroup     []groupIndex // for groups.items[i]
	otherGroup  groupIndex   // for a group no rule names
}

type groupIndex struct {
	resources     stringSet  // the resources the group's patterns name
	byResource    []subIndex // for resources.items[i]
	otherResource subIndex   // for a resource no pattern names
}

type subIndex struct {
	subresources stringSet     // the subresources the group's patterns name
	bySub        [][]candidate // for subresources.items[i]
	bare         []candidate   // for a request without a subresource
	otherSub     []candidate   // for a subresource no pattern names
}

// candidate is a rule that can match requests of one index key. When every
// request of the key matches the rule's resources (no resourceNames stand in
// the way), resourceCertain spares checking them again per request.
type candidate struct {
	rule            int32
	resourceCertain bool
}

// request classes of a resource or subresource name while indexing.
const (
	nameBare  = iota // no subresource (only for subresources)
	nameKnown        // a name some pattern names
	nameOther        // any name no pattern names
)

func buildIndex(rules []rule) ruleIndex {
	var idx ruleIndex
	for i := range rules {
		if rules[i].scope != scopeResource {
			idx.nonResource = append(idx.nonResource, candidate{rule: int32(i)})
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
		idx.byGroup[gi] = buildGroupIndex(rules, func(gr *groupResources) bool { return gr.anyGroup || gr.group == g })
	}
	idx.otherGroup = buildGroupIndex(rules, func(gr *groupResources) bool { return gr.anyGroup })
	return idx
}

// buildGroupIndex indexes the rules for the group entries applies selects.
func buildGroupIndex(rules []rule, applies func(*groupResources) bool) groupIndex {
	var resources, subs []string
	for i := range rules {
		for j := range rules[i].resources {
			if gr := &rules[i].resources[j]; applies(gr) {
				for _, p := range gr.patterns {
					resources = append(resources, p.resourceNames()...)
					subs = append(subs, p.subresourceNames()...)
				}
			}
		}
	}
	gx := groupIndex{resources: newStringSet(dedupe(resources))}
	subSet := newStringSet(dedupe(subs))
	build := func(res string, resClass int) subIndex {
		sx := subIndex{subresources: subSet, bySub: make([][]candidate, len(subSet.items))}
		add := func(list []candidate, i int, sub string, subClass int) []candidate {
			if may, certain := rules[i].mayMatch(applies, res, resClass, sub, subClass); may {
				list = append(list, candidate{rule: int32(i), resourceCertain: certain})
			}
			return list
		}
		for i := range rules {
			for si, sub := range subSet.items {
				sx.bySub[si] = add(sx.bySub[si], i, sub, nameKnown)
			}
			sx.bare = add(sx.bare, i, "", nameBare)
			sx.otherSub = add(sx.otherSub, i, "", nameOther)
		}
		return sx
	}
	gx.byResource = make([]subIndex, len(gx.resources.items))
	for ri, res := range gx.resources.items {
		gx.byResource[ri] = build(res, nameKnown)
	}
	gx.otherResource = build("", nameOther)
	return gx
}

// mayMatch tells whether the rule can match a resource request whose group
// entries are those applies selects, for resource res and subresource sub of
// the given classes; certain, whether every such request matches the rule's
// resources. Within a class a pattern either matches every request or none
// (see resourcePattern.mayMatch), so only resourceNames leave it uncertain.
func (r *rule) mayMatch(applies func(*groupResources) bool, res string, resClass int, sub string, subClass int) (may, certain bool) {
	switch {
	case r.scope == scopeNonResource:
		return false, false
	case r.scope == scopeAll || len(r.resources) == 0:
		return true, true
	}
	for j := range r.resources {
		gr := &r.resources[j]
		if !applies(gr) {
			continue
		}
		if gr.allResources {
			return true, true
		}
		for k := range gr.patterns {
			if gr.patterns[k].mayMatch(res, resClass == nameKnown, sub, subClass) {
				may = true
				certain = certain || gr.names.any()
			}
		}
	}
	return may, certain
}

// mayMatch is matches for classes of names: a resource either named (res)
// or not named by any pattern of its group, and likewise a subresource. A
// name no pattern names can only meet "*", "*/sub" or "res/*", whose outcome
// does not depend on that name: so the answer holds for every request of the
// class, which is what lets candidate lists skip the resource check.
func (p *resourcePattern) mayMatch(res string, resKnown bool, sub string, subClass int) bool {
	subKnown := subClass == nameKnown
	return p.any ||
		p.exactBare && subClass == nameBare && resKnown && p.bare == res ||
		p.exactSub && resKnown && subKnown && p.subRes == res && p.subSubres == sub ||
		p.anyResource && subKnown && p.anyResSub == sub ||
		p.anySubres && resKnown && p.anySubresOf == res
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

// subresourceNames lists the subresources a pattern can match by name.
func (p *resourcePattern) subresourceNames() []string {
	var names []string
	if p.exactSub {
		names = append(names, p.subSubres)
	}
	if p.anyResource {
		names = append(names, p.anyResSub)
	}
	return names
}

func dedupe(names []string) []string {
	slices.Sort(names)
	return slices.Compact(names)
}
