package gen

import "math/rand/v2"

// policy is a generated audit Policy before it is written as YAML or JSON.
// Lists are nil when the field is left out; an empty non-nil list is
// written as [] (both mean "any" to the apiserver).
type policy struct {
	name              string // metadata.name, "" for none
	omitStages        []string
	omitManagedFields *bool
	rules             []rule
}

type rule struct {
	level             string
	users             []string
	userGroups        []string
	verbs             []string
	resources         []groupResources
	namespaces        []string
	nonResourceURLs   []string
	omitStages        []string
	omitManagedFields *bool
}

type groupResources struct {
	group         *string // nil: key left out (the core group)
	resources     []string
	resourceNames []string
}

// Policy returns a random valid audit.k8s.io/v1 Policy, as YAML or JSON.
// Every field of Policy and PolicyRule is exercised, with values from the
// vocabularies events are drawn from.
func Policy(r *rand.Rand) []byte {
	p := drawPolicy(r)
	if chance(r, 0.5) {
		return p.json(r)
	}
	return p.yaml(r)
}

func drawPolicy(r *rand.Rand) policy {
	var p policy
	if chance(r, 0.2) {
		p.name = "audit-policy"
	}
	if chance(r, 0.3) {
		p.omitStages = some(r, stages, 0, 2)
	}
	if chance(r, 0.5) {
		p.omitManagedFields = drawBool(r)
	}
	n := 1 + r.IntN(8)
	for range n {
		p.rules = append(p.rules, drawRule(r))
	}
	// Real policies usually end with a catch-all; without one, most
	// requests fall through to None.
	if chance(r, 0.6) {
		p.rules = append(p.rules, rule{level: pickWeighted(r, []weighted[string]{
			{1, "None"}, {4, "Metadata"}, {2, "Request"}, {2, "RequestResponse"}}),
			omitManagedFields: maybeBool(r, 0.3)})
	}
	return p
}

func drawRule(r *rand.Rand) rule {
	ru := rule{level: pickWeighted(r, []weighted[string]{
		{3, "None"}, {3, "Metadata"}, {2, "Request"}, {2, "RequestResponse"}})}
	if chance(r, 0.3) {
		ru.users = some(r, policyUsers, 1, 3)
	}
	if chance(r, 0.2) {
		ru.userGroups = some(r, policyGroups, 1, 2)
	}
	if chance(r, 0.4) {
		ru.verbs = some(r, policyVerbs, 1, 4)
	}
	// A rule is about resources, about non-resource URLs (never both:
	// validation forbids it), or about neither (it then matches both kinds).
	switch pickWeighted(r, []weighted[string]{{5, "resource"}, {2, "nonresource"}, {3, "neither"}}) {
	case "resource":
		if chance(r, 0.75) {
			for range 1 + r.IntN(3) {
				ru.resources = append(ru.resources, drawGroupResources(r))
			}
		}
		if len(ru.resources) == 0 || chance(r, 0.3) {
			ru.namespaces = some(r, policyNamespaces, 1, 2)
		}
	case "nonresource":
		ru.nonResourceURLs = some(r, policyURLs, 1, 3)
	}
	if chance(r, 0.25) {
		ru.omitStages = some(r, stages, 0, 2)
	}
	ru.omitManagedFields = maybeBool(r, 0.5)
	return ru
}

func drawGroupResources(r *rand.Rand) groupResources {
	var gr groupResources
	// Mostly a coherent entry, a served resource with its own group, so that
	// it can match; otherwise any mix from the vocabularies.
	coherent := chance(r, 0.6)
	var res apiResource
	g := pick(r, policyAPIGroups)
	if coherent {
		res = pick(r, resources)
		g = res.group
		if chance(r, 0.1) {
			g = "*"
		}
	}
	if g != "" || chance(r, 0.5) {
		gr.group = &g
	}
	// An entry with a group and no resources matches every resource of the
	// group (resourceNames are then not allowed).
	if chance(r, 0.15) {
		return gr
	}
	if coherent {
		gr.resources = some(r, resourceForms(res), 1, 2)
		if len(gr.resources) == 2 && gr.resources[0] == gr.resources[1] {
			gr.resources = gr.resources[:1]
		}
	} else {
		gr.resources = some(r, policyResources, 1, 3)
	}
	if chance(r, 0.25) {
		gr.resourceNames = some(r, policyResourceNames, 1, 2)
	}
	return gr
}

// resourceForms are the ways a rule can name res or its subresources.
func resourceForms(res apiResource) []string {
	forms := []string{res.resource, res.resource, res.resource + "/*", "*"}
	for _, sub := range res.subresources {
		forms = append(forms, res.resource+"/"+sub, "*/"+sub)
	}
	return forms
}

func drawBool(r *rand.Rand) *bool {
	b := chance(r, 0.5)
	return &b
}

// maybeBool is unset with probability 1-p, else true or false.
func maybeBool(r *rand.Rand, p float64) *bool {
	if chance(r, p) {
		return drawBool(r)
	}
	return nil
}
