package filter

import (
	"strconv"
	"strings"

	auditinternal "k8s.io/apiserver/pkg/apis/audit"
)

// describeRule renders a rule on one line for people: its index, level and
// every list it sets, resources as "group/resource" (core resources bare).
func describeRule(i int, r *auditinternal.PolicyRule) string {
	var b strings.Builder
	b.WriteString("#")
	b.WriteString(strconv.Itoa(i))
	b.WriteString(" ")
	b.WriteString(string(r.Level))
	list := func(name string, items []string) {
		if len(items) > 0 {
			b.WriteString(" " + name + "=[" + strings.Join(items, ",") + "]")
		}
	}
	list("users", r.Users)
	list("groups", r.UserGroups)
	list("verbs", r.Verbs)
	list("namespaces", quoteEmpty(r.Namespaces))
	for _, gr := range r.Resources {
		b.WriteString(" ")
		b.WriteString(describeGroupResources(gr))
	}
	list("urls", r.NonResourceURLs)
	if len(r.OmitStages) > 0 {
		stages := make([]string, len(r.OmitStages))
		for j, s := range r.OmitStages {
			stages[j] = string(s)
		}
		list("omitStages", stages)
	}
	if r.OmitManagedFields != nil {
		b.WriteString(" omitManagedFields=" + strconv.FormatBool(*r.OmitManagedFields))
	}
	return b.String()
}

func describeGroupResources(gr auditinternal.GroupResources) string {
	prefix := ""
	if gr.Group != "" {
		prefix = gr.Group + "/"
	}
	if len(gr.Resources) == 0 {
		if prefix == "" {
			return "(core)/*" // a bare "*" would read as every group
		}
		return prefix + "*"
	}
	parts := make([]string, len(gr.Resources))
	for i, r := range gr.Resources {
		parts[i] = prefix + r
	}
	s := strings.Join(parts, ",")
	if len(gr.ResourceNames) > 0 {
		s += "[" + strings.Join(gr.ResourceNames, ",") + "]"
	}
	return s
}

// quoteEmpty shows the empty namespace (cluster-scoped and all-namespace
// requests) as "" instead of nothing.
func quoteEmpty(items []string) []string {
	out := make([]string, len(items))
	for i, s := range items {
		if s == "" {
			s = `""`
		}
		out[i] = s
	}
	return out
}
