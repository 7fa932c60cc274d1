package gen

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"regexp"
	"strings"
)

// json writes the policy as JSON, compact or indented.
func (p policy) json(r *rand.Rand) []byte {
	doc := o("apiVersion", "audit.k8s.io/v1", "kind", "Policy")
	if p.name != "" {
		doc.set("metadata", o("name", p.name))
	}
	if p.omitStages != nil {
		doc.set("omitStages", p.omitStages)
	}
	if p.omitManagedFields != nil {
		doc.set("omitManagedFields", *p.omitManagedFields)
	}
	rules := a()
	for _, ru := range p.rules {
		ro := o("level", ru.level)
		for _, f := range ru.lists() {
			if f.vals != nil {
				ro.set(f.key, f.vals)
			}
		}
		if ru.resources != nil {
			grs := a()
			for _, gr := range ru.resources {
				g := o()
				if gr.group != nil {
					g.set("group", *gr.group)
				}
				if gr.resources != nil {
					g.set("resources", gr.resources)
				}
				if gr.resourceNames != nil {
					g.set("resourceNames", gr.resourceNames)
				}
				grs.elems = append(grs.elems, g)
			}
			ro.set("resources", grs)
		}
		if ru.omitManagedFields != nil {
			ro.set("omitManagedFields", *ru.omitManagedFields)
		}
		rules.elems = append(rules.elems, ro)
	}
	doc.set("rules", rules)
	out, err := json.Marshal(doc)
	if err != nil {
		panic(err) // only strings, bools and lists of them
	}
	if chance(r, 0.5) {
		var buf bytes.Buffer
		if err := json.Indent(&buf, out, "", "  "); err != nil {
			panic(err)
		}
		out = buf.Bytes()
	}
	return out
}

type listField struct {
	key  string
	vals []string
}

// lists are the rule's string-list fields in PolicyRule order (resources,
// which is not a string list, goes between verbs and namespaces).
func (ru rule) lists() []listField {
	return []listField{
		{"users", ru.users}, {"userGroups", ru.userGroups}, {"verbs", ru.verbs},
		{"namespaces", ru.namespaces}, {"nonResourceURLs", ru.nonResourceURLs}, {"omitStages", ru.omitStages},
	}
}

// yaml writes the policy as YAML in one of the styles people write by hand:
// block or flow lists, indented or flush sequences, comments, quoting only
// where YAML needs it.
func (p policy) yaml(r *rand.Rand) []byte {
	w := yamlWriter{r: r, indentSeq: chance(r, 0.5), flowProb: r.Float64()}
	if chance(r, 0.3) {
		w.line(0, "---")
	}
	if chance(r, 0.3) {
		w.line(0, "# generated audit policy")
	}
	w.line(0, "apiVersion: audit.k8s.io/v1")
	w.line(0, "kind: Policy")
	if p.name != "" {
		w.line(0, "metadata:")
		w.line(2, "name: "+w.plain(p.name))
	}
	if p.omitStages != nil {
		w.list(0, "omitStages", p.omitStages)
	}
	if p.omitManagedFields != nil {
		w.line(0, fmt.Sprintf("omitManagedFields: %t", *p.omitManagedFields))
	}
	w.line(0, "rules:")
	for i, ru := range p.rules {
		if chance(r, 0.1) {
			w.line(w.seq(0), fmt.Sprintf("# rule %d", i))
		}
		w.rule(ru)
	}
	return w.buf.Bytes()
}

type yamlWriter struct {
	buf bytes.Buffer
	r   *rand.Rand
	// indentSeq indents sequence items under their key ("key:\n  - x")
	// rather than flush with it ("key:\n- x").
	indentSeq bool
	// flowProb is how often lists are written in flow style, [a, b].
	flowProb float64
}

func (w *yamlWriter) line(indent int, s string) {
	w.buf.WriteString(strings.Repeat(" ", indent))
	w.buf.WriteString(s)
	w.buf.WriteByte('\n')
}

// seq is the indentation of the "- " of a sequence under a key at indent.
func (w *yamlWriter) seq(indent int) int {
	if w.indentSeq {
		return indent + 2
	}
	return indent
}

func (w *yamlWriter) rule(ru rule) {
	item := w.seq(0)
	w.line(item, "- level: "+ru.level)
	body := item + 2
	for i, f := range ru.lists() {
		if i == 3 && ru.resources != nil { // resources go before namespaces
			w.resources(body, ru.resources)
		}
		if f.vals != nil {
			w.list(body, f.key, f.vals)
		}
	}
	if ru.omitManagedFields != nil {
		w.line(body, fmt.Sprintf("omitManagedFields: %t", *ru.omitManagedFields))
	}
}

func (w *yamlWriter) resources(indent int, grs []groupResources) {
	if chance(w.r, w.flowProb/2) {
		var items []string
		for _, gr := range grs {
			var fields []string
			if gr.group != nil {
				fields = append(fields, "group: "+quote(*gr.group))
			}
			if gr.resources != nil {
				fields = append(fields, "resources: "+flow(gr.resources))
			}
			if gr.resourceNames != nil {
				fields = append(fields, "resourceNames: "+flow(gr.resourceNames))
			}
			items = append(items, "{"+strings.Join(fields, ", ")+"}")
		}
		w.line(indent, "resources: ["+strings.Join(items, ", ")+"]")
		return
	}
	w.line(indent, "resources:")
	item := w.seq(indent)
	for _, gr := range grs {
		var fields []func(indent int, prefix string)
		if gr.group != nil {
			fields = append(fields, func(in int, pre string) { w.line(in, pre+"group: "+w.plain(*gr.group)) })
		}
		if gr.resources != nil {
			fields = append(fields, func(in int, pre string) { w.list(in, pre+"resources", gr.resources) })
		}
		if gr.resourceNames != nil {
			fields = append(fields, func(in int, pre string) { w.list(in, pre+"resourceNames", gr.resourceNames) })
		}
		if len(fields) == 0 {
			w.line(item, "- {}")
			continue
		}
		for i, f := range fields {
			if i == 0 {
				f(item, "- ")
			} else {
				f(item+2, "")
			}
		}
	}
}

// list writes "key: [a, b]" or a block sequence. indent is that of the key;
// key may start with "- " when it is the first field of a sequence item.
func (w *yamlWriter) list(indent int, key string, vals []string) {
	if len(vals) == 0 || chance(w.r, w.flowProb) {
		w.line(indent, key+": "+flow(vals))
		return
	}
	w.line(indent, key+":")
	keyCol := indent + len(key) - len(strings.TrimPrefix(key, "- "))
	for _, v := range vals {
		w.line(w.seq(keyCol), "- "+w.plain(v))
	}
}

// plainSafe matches the strings of the vocabularies that YAML reads back
// unchanged when written unquoted in block context.
var plainSafe = regexp.MustCompile(`^[A-Za-z/][A-Za-z0-9._/:*-]*$`)

// plain writes s unquoted where that is safe (and sometimes quoted anyway).
func (w *yamlWriter) plain(s string) string {
	switch strings.ToLower(s) {
	case "y", "n", "yes", "no", "on", "off", "true", "false", "null":
		return quote(s)
	}
	if plainSafe.MatchString(s) && !strings.HasSuffix(s, ":") && !chance(w.r, 0.1) {
		return s
	}
	return quote(s)
}

// quote writes s as a double-quoted scalar; a JSON string is a valid one.
func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// flow writes a flow sequence with every item quoted: plain scalars in flow
// context have extra restrictions not worth reproducing here.
func flow(vals []string) string {
	q := make([]string, len(vals))
	for i, v := range vals {
		q[i] = quote(v)
	}
	return "[" + strings.Join(q, ", ") + "]"
}
