package filter

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// This file holds the table of fields that redaction replaces: the built-in
// ones that carry credentials in Kubernetes' own APIs, and those a user
// names for custom resources, each compiled into a tree of member names.

// lastAppliedAnnotation is where kubectl apply keeps the applied manifest,
// for a Secret a second copy of its data.
const lastAppliedAnnotation = "kubectl.kubernetes.io/last-applied-configuration"

// builtinRedactFields are the fields of built-in APIs that hold a bearer
// token, a private key or a password, in the redact_fields syntax. Secret
// data covers every secret type: service-account tokens, bootstrap tokens,
// TLS and SSH private keys, basic-auth passwords and registry credentials.
// A CertificateSigningRequest is left alone: its request holds a public key
// and its certificate is public. A ServiceAccount lists Secrets by name only.
var builtinRedactFields = []string{
	`secrets:data.*`,
	`secrets:stringData.*`,
	`secrets:metadata.annotations.` + strings.ReplaceAll(lastAppliedAnnotation, ".", `\.`),
	`authentication.k8s.io/tokenreviews:spec.token`,
	`/serviceaccounts/token:status.token`,
}

// redactRule is the field tree of one resource.
type redactRule struct {
	group, resource, subresource string
	// anySubresource: the rule names no subresource, so it covers the
	// resource and all its subresources (a custom resource's status holds
	// the same fields as the resource).
	anySubresource bool
	root           *pathNode
}

// pathNode is one member name of a redacted field's path. A leaf is the
// redacted value itself, whatever its type; arrays along the path are
// looked through, each element standing for the array.
type pathNode struct {
	name     string
	any      bool // "*": every member
	leaf     int  // index of the field in Redaction.labels, or -1
	children []*pathNode
}

// child returns the node for a member named key (raw JSON string content),
// or nil when the path does not go there. Names match whatever their ASCII
// case: the apiserver drops a misspelt "Data" from the object it stores,
// but the body logged holds the value the client meant to store.
func (n *pathNode) child(key []byte, escaped bool) *pathNode {
	for _, c := range n.children {
		if c.any || keyEqualFold(key, escaped, c.name) {
			return c
		}
	}
	return nil
}

// childNamed is child for a decoded name.
func (n *pathNode) childNamed(name []byte) *pathNode {
	for _, c := range n.children {
		if c.any || keyEqualFold(name, false, c.name) {
			return c
		}
	}
	return nil
}

// keyEqualFold compares a key's raw content with name, ignoring ASCII case
// and decoding escapes on the fly.
func keyEqualFold(raw []byte, escaped bool, name string) bool {
	k := 0
	for i := 0; i < len(raw); {
		if !escaped || raw[i] != '\\' {
			if k >= len(name) || lowerASCII(raw[i]) != lowerASCII(name[k]) {
				return false
			}
			i++
			k++
			continue
		}
		var r rune
		r, i = decodeEscape(raw, i)
		var buf [utf8.UTFMax]byte
		for _, c := range buf[:utf8.EncodeRune(buf[:], r)] {
			if k >= len(name) || lowerASCII(c) != lowerASCII(name[k]) {
				return false
			}
			k++
		}
	}
	return k == len(name)
}

// parseRedactField parses "group/resource[/subresource]:path" ("resource:path"
// for the core group, "/resource/subresource:path" for a core subresource).
// The path's members are separated by '.', "\." is a dot within a name and
// "*" stands for every member.
func parseRedactField(spec string) (r redactRule, path []string, err error) {
	target, p, ok := strings.Cut(spec, ":")
	if !ok || target == "" || p == "" {
		return r, nil, fmt.Errorf("%q: want group/resource:json.path", spec)
	}
	parts := strings.Split(target, "/")
	switch len(parts) {
	case 1:
		r.resource = parts[0]
	case 2:
		r.group, r.resource = parts[0], parts[1]
	case 3:
		r.group, r.resource, r.subresource = parts[0], parts[1], parts[2]
	default:
		return r, nil, fmt.Errorf("%q: want group/resource[/subresource] before ':'", spec)
	}
	r.anySubresource = r.subresource == ""
	if r.resource == "" || r.resource == "*" {
		return r, nil, fmt.Errorf("%q: a resource is required", spec)
	}
	var cur strings.Builder
	for i := 0; i < len(p); i++ {
		switch c := p[i]; {
		case c == '\\' && i+1 < len(p) && p[i+1] == '.':
			cur.WriteByte('.')
			i++
		case c == '.':
			path = append(path, cur.String())
			cur.Reset()
		case c == '"' || c == '\\' || c < 0x20:
			// Names appear in the event's annotation as they are.
			return r, nil, fmt.Errorf("%q: a path may not hold quotes, backslashes or control characters", spec)
		default:
			cur.WriteByte(c)
		}
	}
	path = append(path, cur.String())
	for _, name := range path {
		if name == "" {
			return r, nil, fmt.Errorf("%q: empty member name in the path", spec)
		}
	}
	return r, path, nil
}

// addField adds path to the tree at n as field number leaf. A field that
// contains another makes the other one redundant.
func (n *pathNode) addField(path []string, leaf int) {
	for _, name := range path {
		var next *pathNode
		for _, c := range n.children {
			if c.name == name {
				next = c
			}
		}
		if next == nil {
			next = &pathNode{name: name, any: name == "*", leaf: -1}
			n.children = append(n.children, next)
		}
		if next.leaf >= 0 {
			return // a field above this one is redacted whole already
		}
		n = next
	}
	n.leaf, n.children = leaf, nil
}

// buildRedactRules parses fields into one rule per target and gives each
// field its label (the spec itself, in canonical form).
func buildRedactRules(fields []string) ([]redactRule, []string, error) {
	var rules []redactRule
	var labels []string
	var errs []error
	type parsed struct {
		r    redactRule
		path []string
	}
	var all []parsed
	for _, f := range fields {
		r, path, err := parseRedactField(strings.TrimSpace(f))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		all = append(all, parsed{r, path})
	}
	if len(errs) > 0 {
		return nil, nil, errors.Join(errs...)
	}
	// One rule per target first, then each field goes into every rule it
	// applies to.
	for _, p := range all {
		known := false
		for _, q := range rules {
			known = known || q.group == p.r.group && q.resource == p.r.resource && q.subresource == p.r.subresource
		}
		if !known {
			rules = append(rules, redactRule{group: p.r.group, resource: p.r.resource, subresource: p.r.subresource,
				anySubresource: p.r.anySubresource, root: &pathNode{leaf: -1}})
		}
	}
	for _, p := range all {
		labels = append(labels, fieldLabel(p.r, p.path))
		leaf := len(labels) - 1
		// A rule for a subresource also takes the fields named for its
		// whole resource, so that one lookup finds them all.
		for i := range rules {
			q := &rules[i]
			if q.group == p.r.group && q.resource == p.r.resource && (q.subresource == p.r.subresource || p.r.anySubresource) {
				q.root.addField(p.path, leaf)
			}
		}
	}
	return rules, labels, nil
}

// fieldLabel writes a field in the canonical redact_fields syntax.
func fieldLabel(r redactRule, path []string) string {
	var b strings.Builder
	switch {
	case r.group == "" && r.subresource == "":
		b.WriteString(r.resource)
	default:
		b.WriteString(r.group + "/" + r.resource)
		if r.subresource != "" {
			b.WriteString("/" + r.subresource)
		}
	}
	b.WriteByte(':')
	for i, name := range path {
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(strings.ReplaceAll(name, ".", `\.`))
	}
	return b.String()
}
