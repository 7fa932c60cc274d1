package gen

import (
	"fmt"
	"net/http"
	"strings"
	"time"
)

// grower adds about n bytes to a body (see pad.go).
type grower func(n int)

// requestBody is the requestObject the apiserver logs for q: the body its
// handler decoded. nil when the request has none.
func (g objects) requestBody(q *httpRequest) any {
	r, ri := g.r, q.info
	args := objectArgs{res: *q.res, namespace: ri.Namespace, name: ri.Name}
	switch {
	case q.action == "create":
		args.name = q.bodyName
		if q.bodyName == "" {
			args.generateName = "web-"
		}
		args.managedFields = chance(r, 0.1)
		return g.object(args)
	case q.action == "update":
		// A client sends back the object it read, managedFields and all.
		args.stored, args.managedFields = true, chance(r, 0.6)
		return g.object(args)
	case q.action == "patch":
		return g.patch(args)
	case q.action == "delete" || q.action == "deletecollection":
		if chance(r, 0.4) {
			return o("kind", "DeleteOptions", "apiVersion", "v1", "propagationPolicy", pick(r, []string{"Background", "Foreground", "Orphan"}))
		}
		return nil
	case q.action != "sub":
		return nil
	}
	switch ri.Subresource {
	case "binding":
		return o("kind", "Binding", "apiVersion", "v1", "metadata", o("name", ri.Name, "namespace", ri.Namespace,
			"creationTimestamp", nil), "target", o("kind", "Node", "name", "node1"))
	case "eviction":
		return o("kind", "Eviction", "apiVersion", "policy/v1", "metadata", o("name", ri.Name, "namespace", ri.Namespace,
			"creationTimestamp", nil))
	case "token":
		return g.tokenRequest(ri.Name, ri.Namespace, false)
	}
	switch q.method {
	case http.MethodPut:
		args.stored, args.managedFields = true, chance(r, 0.5)
		if ri.Subresource == "scale" {
			return g.scale(args)
		}
		return g.object(args)
	case http.MethodPatch:
		return g.patch(args)
	}
	return nil
}

// patch is a patch body: the raw patch as sent, which the apiserver logs
// as is (and never strips managedFields from).
func (g objects) patch(args objectArgs) any {
	r := g.r
	switch r.IntN(6) {
	case 0:
		return o("metadata", o("labels", o("app", "web", "tier", "frontend")))
	case 1:
		return o("spec", o("template", o("metadata", o("annotations", o("kubectl.kubernetes.io/restartedAt", g.timestamp(0))))))
	case 2: // JSON patch: an array, not an object
		return a(o("op", "replace", "path", "/spec/replicas", "value", 3), o("op", "add", "path", "/metadata/labels/x", "value", "y"))
	case 3: // the usual way to clear managedFields
		return o("metadata", o("managedFields", a(o())))
	case 4: // server-side apply of an object that still carries its managedFields
		args.managedFields = true
		return g.object(args)
	default: // status patch from a controller
		return o("status", o("conditions", a(o("type", "Ready", "status", "True", "lastTransitionTime", g.timestamp(0)))))
	}
}

func (g objects) scale(args objectArgs) *obj {
	n := g.r.IntN(6)
	return o("kind", "Scale", "apiVersion", "autoscaling/v1", "metadata", o("name", args.name, "namespace", args.namespace,
		"uid", uuid(g.r), "resourceVersion", fmt.Sprint(100000+g.r.IntN(900000)), "creationTimestamp", g.timestamp(time.Hour)),
		"spec", o("replicas", n), "status", o("replicas", n, "selector", "app=web"))
}

func (g objects) tokenRequest(name, ns string, issued bool) *obj {
	status := o("token", "", "expirationTimestamp", nil)
	md := o("creationTimestamp", nil)
	if issued {
		status = o("token", jwt(g.r), "expirationTimestamp", g.timestamp(-time.Hour))
		md = o("name", name, "namespace", ns, "creationTimestamp", g.timestamp(0))
	}
	return o("kind", "TokenRequest", "apiVersion", "authentication.k8s.io/v1", "metadata", md,
		"spec", o("audiences", a("https://kubernetes.default.svc.cluster.local"), "expirationSeconds", 3607,
			"boundObjectRef", o("kind", "Pod", "apiVersion", "v1", "name", "web-0", "uid", uuid(g.r))), "status", status)
}

// responseBody is the responseObject of a successful request, with the
// grower that pads it; nil when the handler writes no object.
// uid is that of the object the request was about, if the event knows it.
func (g objects) responseBody(q *httpRequest, uid string) (any, grower) {
	r, ri := g.r, q.info
	if q.res == nil {
		if q.nonResource == "discovery" {
			return discovery(ri.Path), nil
		}
		return nil, nil
	}
	args := objectArgs{res: *q.res, namespace: ri.Namespace, name: ri.Name, uid: uid, stored: true, managedFields: chance(r, 0.8)}
	switch q.action {
	case "get":
		if chance(r, 0.25) {
			return g.table(args, 1)
		}
		return g.single(args)
	case "list", "deletecollection":
		if q.action == "list" && chance(r, 0.3) {
			return g.table(args, r.IntN(4))
		}
		return g.list(args, r.IntN(4))
	case "create":
		args.name = q.bodyName
		if args.name == "" {
			args.name = "web-" + alnum(r, 5)
		}
		return g.single(args)
	case "update", "patch":
		return g.single(args)
	case "delete":
		switch q.res.resource {
		case "pods", "namespaces", "deployments", "jobs", "widgets":
			ob, grow := g.single(args)
			ob.(*obj).child("metadata").set("deletionTimestamp", g.timestamp(-30*time.Second))
			return ob, grow
		}
		return asObject(success(http.StatusOK, ri, uuid(r))), nil
	case "sub":
		switch ri.Subresource {
		case "binding", "eviction":
			return asObject(success(http.StatusCreated, nil, "")), nil
		case "token":
			return g.tokenRequest(ri.Name, ri.Namespace, true), nil
		case "scale":
			return g.scale(args), nil
		case "status", "finalize", "ephemeralcontainers":
			return g.single(args)
		}
	}
	return nil, nil
}

// single is one stored object, grown by annotations or data entries.
func (g objects) single(args objectArgs) (any, grower) {
	ob := g.object(args)
	return ob, func(n int) { g.growObject(ob, n) }
}

// list is a list response: built-in list items carry no kind/apiVersion.
func (g objects) list(args objectArgs, n int) (any, grower) {
	items := a()
	newItem := func() {
		item := args
		item.listItem, item.uid = true, ""
		item.name = objectName(g.r, args.res)
		if args.res.namespaced && args.namespace == "" {
			item.namespace = pick(g.r, namespaces)
		}
		items.elems = append(items.elems, g.object(item))
	}
	for range n {
		newItem()
	}
	md := o("resourceVersion", fmt.Sprint(100000+g.r.IntN(900000)))
	if chance(g.r, 0.2) {
		md.set("continue", "eyJ2IjoibWV0YS5rOHMuaW8vdjEiLCJydiI6MTg0MzAyLCJzdGFydCI6IndlYi0wXHUwMDAwIn0")
	}
	list := o("kind", args.res.kind+"List", "apiVersion", args.res.apiVersion(), "metadata", md, "items", items)
	return list, func(n int) { growArray(items, n, newItem) }
}

// table is a Table response (kubectl get): its rows carry the object as
// PartialObjectMetadata (the default), the full object, or nothing.
func (g objects) table(args objectArgs, n int) (any, grower) {
	r := g.r
	include := pickWeighted(r, []weighted[string]{{8, "Metadata"}, {1, "Object"}, {1, "None"}})
	rows := a()
	newRow := func() {
		item := args
		if args.name == "" {
			item.name, item.uid = objectName(r, args.res), ""
		}
		row := o("cells", a(item.name, pick(r, []string{"1/1", "Running", "Active", "3"}), 0, fmt.Sprintf("%dd", 1+r.IntN(90))))
		switch include {
		case "Metadata":
			full := g.object(item)
			md, _ := full.get("metadata")
			row.set("object", o("kind", "PartialObjectMetadata", "apiVersion", "meta.k8s.io/v1", "metadata", md))
		case "Object":
			row.set("object", g.object(item))
		}
		rows.elems = append(rows.elems, row)
	}
	for range n {
		newRow()
	}
	cols := a(
		o("name", "Name", "type", "string", "format", "name", "description", "Name must be unique within a namespace. More info: http://kubernetes.io/docs/user-guide/identifiers#names", "priority", 0),
		o("name", "Status", "type", "string", "format", "", "description", "The aggregate status of the object.", "priority", 0),
		o("name", "Restarts", "type", "string", "format", "", "description", "The number of times the containers restarted.", "priority", 0),
		o("name", "Age", "type", "string", "format", "", "description", "CreationTimestamp is a timestamp representing the server time when this object was created.", "priority", 0),
	)
	table := o("kind", "Table", "apiVersion", "meta.k8s.io/v1", "metadata", o("resourceVersion", fmt.Sprint(100000+r.IntN(900000))),
		"columnDefinitions", cols, "rows", rows)
	return table, func(n int) { growArray(rows, n, newRow) }
}

// discovery is the discovery document a non-resource discovery path serves.
func discovery(path string) any {
	switch {
	case path == "/api":
		return o("kind", "APIVersions", "versions", a("v1"), "serverAddressByClientCIDRs",
			a(o("clientCIDR", "0.0.0.0/0", "serverAddress", "172.18.0.2:6443")))
	case path == "/apis":
		groups := a()
		for _, g := range []string{"apps", "batch", "coordination.k8s.io", "rbac.authorization.k8s.io"} {
			gv := o("groupVersion", g+"/v1", "version", "v1")
			groups.elems = append(groups.elems, o("name", g, "versions", a(gv), "preferredVersion", gv))
		}
		return o("kind", "APIGroupList", "apiVersion", "v1", "groups", groups)
	case strings.Count(path, "/") == 2 && strings.HasPrefix(path, "/apis/"):
		g := strings.TrimPrefix(path, "/apis/")
		gv := o("groupVersion", g+"/v1", "version", "v1")
		return o("kind", "APIGroup", "apiVersion", "v1", "name", g, "versions", a(gv), "preferredVersion", gv)
	}
	gv := strings.TrimPrefix(strings.TrimPrefix(path, "/api/"), "/apis/")
	list := a()
	for _, res := range resources {
		if res.apiVersion() == gv {
			verbs := a("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
			list.elems = append(list.elems, o("name", res.resource, "singularName", strings.ToLower(res.kind),
				"namespaced", res.namespaced, "kind", res.kind, "verbs", verbs, "storageVersionHash", "W9kJzY2cXHk="))
			for _, sub := range res.subresources {
				list.elems = append(list.elems, o("name", res.resource+"/"+sub, "singularName", "", "namespaced", res.namespaced,
					"kind", res.kind, "verbs", a("get", "patch", "update")))
			}
		}
	}
	return o("kind", "APIResourceList", "apiVersion", "v1", "groupVersion", gv, "resources", list)
}
