// Package secretgen writes audit events that carry secrets in every shape
// the redaction of package filter must find: Secrets single, listed, in
// Table rows, in watch events and patched three ways, TokenReviews,
// TokenRequests and custom resources. Each secret value holds a unique
// random marker, so a test can look for any trace of it in what came out.
package secretgen

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
)

// Event is a generated event that carries secrets. Its text holds a
// placeholder for each secret value; fill writes the event with the values,
// or with what a redaction should leave in their place.
type Event struct {
	Name     string
	Template string
	// Values are the secret values' JSON texts, by placeholder number.
	Values []string
	// Markers are the unique strings hidden in the values.
	Markers []string
}

func placeholder(i int) string { return fmt.Sprintf("\x00%d\x00", i) }

// Fill replaces each placeholder by repl(i), i being the value's number.
func (e *Event) Fill(repl func(i int) string) string {
	s := e.Template
	for i := len(e.Values) - 1; i >= 0; i-- {
		s = strings.ReplaceAll(s, placeholder(i), repl(i))
	}
	return s
}

// Line is the event as logged, secrets and all.
func (e *Event) Line() string { return e.Fill(func(i int) string { return e.Values[i] }) }

// secretGen writes the bodies of secret-bearing events. Each secret value
// holds a fresh random marker.
type secretGen struct {
	r *rand.Rand
	e *Event
	// noise is written where names go: the keys of secrets, and a member
	// beside them.
	noise string
}

func (g *secretGen) marker() string {
	m := fmt.Sprintf("MRK%016xZ", g.r.Uint64())
	g.e.Markers = append(g.e.Markers, m)
	return m
}

// secret records a secret value given as JSON text and returns its placeholder.
func (g *secretGen) secret(jsonText string) string {
	g.e.Values = append(g.e.Values, jsonText)
	return placeholder(len(g.e.Values) - 1)
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// plain is a secret string in one of the ways JSON can write it: as it
// is, with characters that must be escaped around it, or with the marker's
// first letter as a \u escape.
func (g *secretGen) plain() string {
	m := g.marker()
	switch g.r.IntN(3) {
	case 0:
		return g.secret(jsonString(m))
	case 1:
		return g.secret(jsonString("pw\"\\\n<" + m + ">\u00e9"))
	default:
		return g.secret(`"\u004d` + m[1:] + `"`)
	}
}

// b64 is a data value: the base64 of a secret.
func (g *secretGen) b64() string {
	m := g.marker()
	return g.secret(jsonString(base64.StdEncoding.EncodeToString([]byte("s:" + m))))
}

// dataMembers writes n members of a data or stringData map.
func (g *secretGen) dataMembers(n int, value func() string) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `%s:%s`, jsonString(fmt.Sprintf("%skey-%d", g.noise, i)), value())
	}
	return b.String()
}

// lastApplied is kubectl's annotation: the whole manifest, data included,
// as a JSON string.
func (g *secretGen) lastApplied() string {
	m1, m2 := g.marker(), g.marker()
	manifest := `{"apiVersion":"v1","data":{"k":"` + base64.StdEncoding.EncodeToString([]byte(m1)) +
		`"},"kind":"Secret","metadata":{"annotations":{},"name":"s","namespace":"ns"},"stringData":{"p":"` + m2 + `"}}` + "\n"
	return g.secret(jsonString(manifest))
}

// secretObject writes a Secret with data, stringData, the last-applied
// annotation and managedFields.
func (g *secretGen) secretObject(name string) string {
	return `{"kind":"Secret","apiVersion":"v1","metadata":{"name":"` + name + `","namespace":"ns",` +
		`"annotations":{"a":"b","kubectl.kubernetes.io/last-applied-configuration":` + g.lastApplied() + `},` +
		`"managedFields":[{"manager":"kubectl","fieldsType":"FieldsV1","fieldsV1":{"f:data":{"f:key-0":{}}}}]},` +
		`"data":{` + g.dataMembers(1+g.r.IntN(3), g.b64) + `},` +
		`"stringData":{` + g.dataMembers(1+g.r.IntN(2), g.plain) + `},"type":"Opaque","x-noise":` + jsonString(g.noise) + `}`
}

// Shapes is the number of shapes: Generate(r, i, ...) writes shape i mod Shapes.
func Shapes() int { return len(shapes) }

// shapes are the requests whose bodies carry secrets, each with its request
// and response body.
var shapes = []struct {
	name, verb, uri string
	bodies          func(g *secretGen) (req, resp string)
}{
	{"create secret", "create", "/api/v1/namespaces/ns/secrets", func(g *secretGen) (string, string) {
		return g.secretObject("s"), g.secretObject("s")
	}},
	{"update secret", "update", "/api/v1/namespaces/ns/secrets/s", func(g *secretGen) (string, string) {
		return g.secretObject("s"), g.secretObject("s")
	}},
	{"get secret", "get", "/api/v1/namespaces/ns/secrets/s", func(g *secretGen) (string, string) {
		return "", g.secretObject("s")
	}},
	{"list secrets", "list", "/api/v1/namespaces/ns/secrets?limit=500", func(g *secretGen) (string, string) {
		return "", `{"kind":"SecretList","apiVersion":"v1","metadata":{"resourceVersion":"1"},"items":[` +
			g.secretObject("a") + `,` + g.secretObject("b") + `]}`
	}},
	{"list secrets as a Table", "list", "/api/v1/secrets?includeObject=Object", func(g *secretGen) (string, string) {
		return "", `{"kind":"Table","apiVersion":"meta.k8s.io/v1","metadata":{},"columnDefinitions":[{"name":"Name","type":"string"}],` +
			`"rows":[{"cells":["a"],"object":` + g.secretObject("a") + `},{"cells":["b"],"object":` + g.secretObject("b") + `}]}`
	}},
	{"watch secrets", "watch", "/api/v1/namespaces/ns/secrets?watch=true", func(g *secretGen) (string, string) {
		return "", `{"type":"ADDED","object":` + g.secretObject("a") + `}`
	}},
	{"delete secret", "delete", "/api/v1/namespaces/ns/secrets/s", func(g *secretGen) (string, string) {
		return `{"kind":"DeleteOptions","apiVersion":"v1"}`, g.secretObject("s")
	}},
	{"merge patch of a secret", "patch", "/api/v1/namespaces/ns/secrets/s", func(g *secretGen) (string, string) {
		return `{"data":{` + g.dataMembers(2, g.b64) + `},"stringData":{` + g.dataMembers(1, g.plain) + `},` +
			`"metadata":{"annotations":{"kubectl.kubernetes.io/last-applied-configuration":` + g.lastApplied() + `}}}`, g.secretObject("s")
	}},
	{"strategic merge patch of a secret", "patch", "/api/v1/namespaces/ns/secrets/s", func(g *secretGen) (string, string) {
		return `{"$patch":"replace","data":{` + g.dataMembers(1, g.b64) + `,"gone":null},"type":"Opaque"}`, g.secretObject("s")
	}},
	{"JSON patch of a secret", "patch", "/api/v1/namespaces/ns/secrets/s", func(g *secretGen) (string, string) {
		return `[{"op":"add","path":"/data/k","value":` + g.b64() + `},` +
			`{"value":` + g.plain() + `,"op":"replace","path":"/stringData/p"},` +
			`{"op":"test","path":"/data/k","value":` + g.b64() + `},` +
			`{"op":"replace","path":"/data","value":{` + g.dataMembers(3, g.b64) + `}},` +
			`{"op":"add","path":"/stringData","value":{` + g.dataMembers(2, g.plain) + `}},` +
			`{"op":"add","path":"/metadata/annotations/kubectl.kubernetes.io~1last-applied-configuration","value":` + g.lastApplied() + `},` +
			`{"op":"add","path":"/metadata/annotations","value":{"x":"y","kubectl.kubernetes.io/last-applied-configuration":` + g.lastApplied() + `}},` +
			`{"op":"replace","path":"/d\u0061ta/k2","value":` + g.b64() + `},` +
			`{"op":"replace","path":"","value":` + g.secretObject("s") + `},` +
			`{"op":"remove","path":"/data/old"},{"op":"add","path":"/metadata/labels/x","value":"not secret"}]`, g.secretObject("s")
	}},
	{"token review", "create", "/apis/authentication.k8s.io/v1/tokenreviews", func(g *secretGen) (string, string) {
		return `{"kind":"TokenReview","apiVersion":"authentication.k8s.io/v1","spec":{"token":` + g.plain() + `,"audiences":["api"]}}`,
			`{"kind":"TokenReview","apiVersion":"authentication.k8s.io/v1","spec":{"token":` + g.plain() + `},"status":{"authenticated":true,"user":{"username":"bob"}}}`
	}},
	{"token request", "create", "/api/v1/namespaces/ns/serviceaccounts/default/token", func(g *secretGen) (string, string) {
		return `{"kind":"TokenRequest","apiVersion":"authentication.k8s.io/v1","spec":{"audiences":["api"],"expirationSeconds":3600}}`,
			`{"kind":"TokenRequest","apiVersion":"authentication.k8s.io/v1","spec":{"audiences":["api"]},"status":{"token":` + g.plain() + `,"expirationTimestamp":"2026-01-01T00:00:00Z"}}`
	}},
	{"custom resource list", "list", "/apis/example.com/v1/namespaces/ns/widgets", func(g *secretGen) (string, string) {
		return "", `{"kind":"WidgetList","apiVersion":"example.com/v1","items":[{"spec":{"size":1,"password":` + g.plain() +
			`,"credentials":[{"user":"u","apiKey":` + g.plain() + `},{"user":"v","apiKey":` + g.plain() + `}]}}]}`
	}},
	{"custom resource status", "update", "/apis/example.com/v1/namespaces/ns/widgets/w/status", func(g *secretGen) (string, string) {
		return `{"spec":{"password":` + g.plain() + `},"status":{"phase":"ok"}}`, `{"spec":{"password":` + g.plain() + `}}`
	}},
}

// Fields are the redact_fields entries the generated custom resources need.
var Fields = []string{"example.com/widgets:spec.password", "example.com/widgets:spec.credentials.apiKey"}

var (
	levels = []string{"Metadata", "Request", "RequestResponse"}
	stages = []string{"RequestReceived", "ResponseStarted", "ResponseComplete", "Panic"}
)

// Generate writes one event of each shape in turn, at a random level
// and stage, with or without annotations.
func Generate(r *rand.Rand, i int, noise string) *Event {
	shape := shapes[i%len(shapes)]
	e := &Event{Name: shape.name}
	g := &secretGen{r: r, e: e, noise: noise}
	req, resp := shape.bodies(g)
	var b strings.Builder
	b.WriteString(`{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"` + levels[r.IntN(len(levels))] +
		`","auditID":"` + fmt.Sprintf("%08x", r.Uint32()) + `","stage":"` + stages[r.IntN(len(stages))] +
		`","requestURI":"` + shape.uri + `","verb":"` + shape.verb + `","user":{"username":"alice","groups":["devs","system:authenticated"]}`)
	if req != "" {
		b.WriteString(`,"requestObject":` + req)
	}
	if resp != "" && r.IntN(4) > 0 {
		b.WriteString(`,"responseObject":` + resp)
	}
	switch r.IntN(3) {
	case 0:
		b.WriteString(`,"annotations":{"authorization.k8s.io/decision":"allow"}`)
	case 1:
		b.WriteString(`,"annotations":{}`)
	}
	b.WriteString(`,"stageTimestamp":"2026-01-01T00:00:00.000000Z"}`)
	e.Template = b.String()
	return e
}
