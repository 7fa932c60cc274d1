package reference

import (
	"fmt"
	"reflect"
	"testing"

	"k8s.io/apiserver/pkg/authorization/authorizer"
)

func eventLine(verb, uri, user string) []byte {
	return fmt.Appendf(nil, `{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"x",`+
		`"stage":"ResponseComplete","requestURI":%q,"verb":%q,"user":%s,`+
		`"impersonatedUser":{"username":"mallory","groups":["system:masters"]}}`, uri, verb, user)
}

func TestAttributes(t *testing.T) {
	const alice = `{"username":"alice","uid":"u1","groups":["devs","system:authenticated"],"extra":{"k":["v"]}}`
	for _, tc := range []struct {
		verb, uri string
		want      authorizer.AttributesRecord // User is checked separately
	}{
		{"get", "/healthz", authorizer.AttributesRecord{Verb: "get", Path: "/healthz"}},
		{"head", "/livez?verbose", authorizer.AttributesRecord{Verb: "head", Path: "/livez"}},
		{"get", "/apis/apps/v1", authorizer.AttributesRecord{Verb: "get", Path: "/apis/apps/v1"}},
		{"get", "/api/v1", authorizer.AttributesRecord{Verb: "get", Path: "/api/v1"}},
		{"list", "/api/v1/pods", authorizer.AttributesRecord{Verb: "list", Path: "/api/v1/pods",
			ResourceRequest: true, APIVersion: "v1", Resource: "pods"}},
		{"get", "/api/v1/namespaces/default/pods/web-0/log?container=app", authorizer.AttributesRecord{Verb: "get",
			Path: "/api/v1/namespaces/default/pods/web-0/log", ResourceRequest: true, APIVersion: "v1",
			Namespace: "default", Resource: "pods", Name: "web-0", Subresource: "log"}},
		{"update", "/apis/apps/v1/namespaces/ns1/deployments/web/scale", authorizer.AttributesRecord{Verb: "update",
			Path: "/apis/apps/v1/namespaces/ns1/deployments/web/scale", ResourceRequest: true, APIGroup: "apps",
			APIVersion: "v1", Namespace: "ns1", Resource: "deployments", Name: "web", Subresource: "scale"}},
		// The namespaces resource: the namespace is its own name.
		{"get", "/api/v1/namespaces/kube-system", authorizer.AttributesRecord{Verb: "get",
			Path: "/api/v1/namespaces/kube-system", ResourceRequest: true, APIVersion: "v1",
			Namespace: "kube-system", Resource: "namespaces", Name: "kube-system"}},
		{"update", "/api/v1/namespaces/ns1/finalize", authorizer.AttributesRecord{Verb: "update",
			Path: "/api/v1/namespaces/ns1/finalize", ResourceRequest: true, APIVersion: "v1",
			Namespace: "ns1", Resource: "namespaces", Name: "ns1", Subresource: "finalize"}},
		// A create names no object, whatever objectRef says later.
		{"create", "/api/v1/namespaces/default/configmaps", authorizer.AttributesRecord{Verb: "create",
			Path: "/api/v1/namespaces/default/configmaps", ResourceRequest: true, APIVersion: "v1",
			Namespace: "default", Resource: "configmaps"}},
		// list and watch take their name from a fieldSelector on metadata.name.
		{"list", "/api/v1/namespaces/default/pods?fieldSelector=metadata.name%3Dfoo", authorizer.AttributesRecord{
			Verb: "list", Path: "/api/v1/namespaces/default/pods", ResourceRequest: true, APIVersion: "v1",
			Namespace: "default", Resource: "pods", Name: "foo"}},
		{"watch", "/api/v1/pods?fieldSelector=metadata.name%3D%3Dfoo&watch=true", authorizer.AttributesRecord{
			Verb: "watch", Path: "/api/v1/pods", ResourceRequest: true, APIVersion: "v1", Resource: "pods", Name: "foo"}},
		// ... but not when the query fails to decode, nor for deletecollection.
		{"list", "/api/v1/pods?fieldSelector=metadata.name%3Dfoo&limit=abc", authorizer.AttributesRecord{
			Verb: "list", Path: "/api/v1/pods", ResourceRequest: true, APIVersion: "v1", Resource: "pods"}},
		{"list", "/api/v1/pods?fieldSelector=metadata.name%3Dfoo&labelSelector=app+in+%28", authorizer.AttributesRecord{
			Verb: "list", Path: "/api/v1/pods", ResourceRequest: true, APIVersion: "v1", Resource: "pods"}},
		{"list", "/api/v1/pods?fieldSelector=metadata.name%3Dfoo&labelSelector=app%3Dweb", authorizer.AttributesRecord{
			Verb: "list", Path: "/api/v1/pods", ResourceRequest: true, APIVersion: "v1", Resource: "pods", Name: "foo"}},
		{"deletecollection", "/api/v1/namespaces/ns1/pods?fieldSelector=metadata.name%3Dfoo", authorizer.AttributesRecord{
			Verb: "deletecollection", Path: "/api/v1/namespaces/ns1/pods", ResourceRequest: true, APIVersion: "v1",
			Namespace: "ns1", Resource: "pods"}},
		// Legacy verb-in-path requests; proxy never has a subresource.
		{"watch", "/api/v1/watch/namespaces/default/pods/foo", authorizer.AttributesRecord{Verb: "watch",
			Path: "/api/v1/watch/namespaces/default/pods/foo", ResourceRequest: true, APIVersion: "v1",
			Namespace: "default", Resource: "pods", Name: "foo"}},
		{"proxy", "/api/v1/proxy/nodes/node1/stats/summary", authorizer.AttributesRecord{Verb: "proxy",
			Path: "/api/v1/proxy/nodes/node1/stats/summary", ResourceRequest: true, APIVersion: "v1",
			Resource: "nodes", Name: "node1"}},
		// The path is decoded before it is split.
		{"get", "/api/v1/namespaces/a%2Fb/pods", authorizer.AttributesRecord{Verb: "get",
			Path: "/api/v1/namespaces/a/b/pods", ResourceRequest: true, APIVersion: "v1",
			Namespace: "a", Resource: "b", Name: "pods"}},
		{"list", "/%61pi/v1/secrets", authorizer.AttributesRecord{Verb: "list", Path: "/api/v1/secrets",
			ResourceRequest: true, APIVersion: "v1", Resource: "secrets"}},
		// OPTIONS on a resource URL is logged with an empty verb.
		{"", "/api/v1/namespaces/default/pods", authorizer.AttributesRecord{Verb: "",
			Path: "/api/v1/namespaces/default/pods", ResourceRequest: true, APIVersion: "v1",
			Namespace: "default", Resource: "pods"}},
	} {
		t.Run(tc.verb+" "+tc.uri, func(t *testing.T) {
			a, err := Attributes(eventLine(tc.verb, tc.uri, alice))
			if err != nil {
				t.Fatal(err)
			}
			got := a.(authorizer.AttributesRecord)
			u := got.User
			got.User = nil
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
			if u == nil || u.GetName() != "alice" || u.GetUID() != "u1" || len(u.GetGroups()) != 2 || u.GetExtra()["k"][0] != "v" {
				t.Errorf("user %+v, want alice (never the impersonated user)", u)
			}
		})
	}
}

func TestAttributesUser(t *testing.T) {
	for _, tc := range []struct {
		user    string
		wantNil bool
	}{
		{`{}`, true},
		{`null`, true},
		{`{"groups":[]}`, true},
		{`{"username":"system:anonymous","groups":["system:unauthenticated"]}`, false},
		{`{"groups":["system:authenticated"]}`, false},
	} {
		a, err := Attributes(eventLine("get", "/healthz", tc.user))
		if err != nil {
			t.Fatal(err)
		}
		// A nil user must be a nil interface: the evaluator tests user == nil.
		if gotNil := a.GetUser() == nil; gotNil != tc.wantNil {
			t.Errorf("user %s: nil=%v, want %v", tc.user, gotNil, tc.wantNil)
		}
	}
	line := []byte(`{"level":"Metadata","stage":"ResponseComplete","verb":"get","requestURI":"/healthz"}`)
	if a, err := Attributes(line); err != nil || a.GetUser() != nil {
		t.Errorf("no user key: user %v, err %v", a.GetUser(), err)
	}
}

func TestAttributesErrors(t *testing.T) {
	for name, line := range map[string]string{
		"not an object":   `[1]`,
		"invalid JSON":    `{"verb":"get",`,
		"no verb":         `{"requestURI":"/healthz","user":{}}`,
		"no requestURI":   `{"verb":"get","user":{}}`,
		"verb not string": `{"verb":1,"requestURI":"/healthz","user":{}}`,
		"relative URI":    `{"verb":"get","requestURI":"healthz","user":{}}`,
		"groups type":     `{"verb":"get","requestURI":"/healthz","user":{"groups":"a"}}`,
		// The apiserver answers 500 before auditing: never logged.
		"watch without resource": `{"verb":"watch","requestURI":"/api/v1/watch","user":{}}`,
	} {
		if _, err := Attributes([]byte(line)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestMethodForVerb(t *testing.T) {
	for verb, want := range map[string]string{
		"get": "GET", "list": "GET", "watch": "GET", "proxy": "GET", "create": "POST", "update": "PUT",
		"patch": "PATCH", "delete": "DELETE", "deletecollection": "DELETE", "": "OPTIONS",
		"head": "HEAD", "post": "POST", "put": "PUT", "options": "OPTIONS",
	} {
		if got := methodForVerb(verb); got != want {
			t.Errorf("methodForVerb(%q) = %q, want %q", verb, got, want)
		}
	}
}
