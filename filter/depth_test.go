package filter

import (
	"errors"
	"strconv"
	"strings"
	"testing"
)

// nested returns a JSON value nested levels deep, objects and arrays in
// turn, around a string.
func nested(levels int) string {
	var b strings.Builder
	for i := range levels {
		if i%2 == 0 {
			b.WriteString(`{"a":`)
		} else {
			b.WriteString(`[`)
		}
	}
	b.WriteString(`"x"`)
	for i := levels - 1; i >= 0; i-- {
		if i%2 == 0 {
			b.WriteString(`}`)
		} else {
			b.WriteString(`]`)
		}
	}
	return b.String()
}

const policyRBACBodies = `apiVersion: audit.k8s.io/v1
kind: Policy
omitManagedFields: true
rules:
- level: RequestResponse
  resources: [{group: rbac.authorization.k8s.io, resources: [clusterrolebindings]}]
- level: Metadata
`

// kube-apiserver logs a body nested as deeply as encoding/json lets it
// (maxBodyDepth): such an event is decided and rewritten like a shallow
// one, without allocating; one level more is refused, naming the member.
func TestDeepBodies(t *testing.T) {
	p := mustCompile(t, policyRBACBodies)
	pr := p.NewProcessor()
	crb := "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/admins"
	deep := nested(maxBodyDepth)
	dst := make([]byte, 0, 1<<20)

	patch := event("patch", crb, alice, `"requestObject":`+deep, `"responseObject":{"kind":"ClusterRoleBinding","spec":`+nested(maxBodyDepth-1)+`}`)
	lowered := event("patch", "/api/v1/namespaces/default/configmaps/c", alice, `"requestObject":`+deep, `"responseObject":`+deep)
	update := event("update", crb, alice,
		`"requestObject":{"metadata":{"name":"admins","managedFields":[{"manager":"m"}]},"subjects":`+nested(maxBodyDepth-1)+`}`)
	for _, c := range []struct {
		name, in, want string
	}{
		{"kept as logged", patch, patch},
		{"lowered to Metadata", lowered, strings.Replace(event("patch", "/api/v1/namespaces/default/configmaps/c", alice),
			`"level":"RequestResponse"`, `"level":"Metadata"`, 1)},
		{"managedFields stripped", update, strings.Replace(update, `,"managedFields":[{"manager":"m"}]`, "", 1)},
	} {
		in := []byte(c.in)
		out, res, err := pr.AppendEvent(dst[:0], in)
		if err != nil || !res.Kept {
			t.Fatalf("%s: %v, kept %v", c.name, err, res.Kept)
		}
		if string(out) != c.want {
			t.Errorf("%s: output differs:\n got %.300s\nwant %.300s", c.name, out, c.want)
		}
		if allocs := testing.AllocsPerRun(10, func() { pr.AppendEvent(dst[:0], in) }); allocs != 0 {
			t.Errorf("%s: %v allocations per event; want 0", c.name, allocs)
		}
	}

	tooDeep := event("patch", crb, alice, `"requestObject":`+nested(maxBodyDepth+1))
	_, _, err := pr.AppendEvent(nil, []byte(tooDeep))
	offset := strings.Index(tooDeep, `"requestObject":`) + len(`"requestObject":`) + len(`{"a":[`)*maxBodyDepth/2
	want := "requestObject (offset " + strconv.Itoa(offset) + "): nesting deeper than 10000 levels"
	if err == nil || err.Error() != want || !errors.Is(err, ErrTooDeep) {
		t.Errorf("one level too deep: error %v; want %q, wrapping ErrTooDeep", err, want)
	}
}
