package gen

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"time"
)

// objects builds API objects (in generic, ordered form) for one event. It
// carries the event's clock so that timestamps in bodies precede the event.
type objects struct {
	r   *rand.Rand
	now time.Time
}

// objectArgs describes one object to build.
type objectArgs struct {
	res       apiResource
	namespace string
	name      string
	// uid of a stored object; drawn when empty.
	uid string
	// generateName is set (and name empty) for a create that lets the server name the object.
	generateName string
	// stored: the object as the server returns it (uid, resourceVersion,
	// timestamps, status), rather than as a client sends it.
	stored bool
	// managedFields adds metadata.managedFields.
	managedFields bool
	// listItem: an item of a built-in list, which carries no kind and apiVersion.
	listItem bool
}

func (g objects) timestamp(ago time.Duration) string {
	return g.now.Add(-ago).UTC().Format(time.RFC3339)
}

func (g objects) microTimestamp(ago time.Duration) string {
	return g.now.Add(-ago).UTC().Format("2006-01-02T15:04:05.000000Z07:00")
}

// object builds one object of args.res.
func (g objects) object(args objectArgs) *obj {
	r := g.r
	ob := o()
	if !args.listItem || !args.res.builtin() {
		ob.set("kind", args.res.kind).set("apiVersion", args.res.apiVersion())
	}
	md := o()
	if args.name != "" {
		md.set("name", args.name)
	}
	if args.generateName != "" {
		md.set("generateName", args.generateName)
	}
	if args.res.namespaced && args.namespace != "" {
		md.set("namespace", args.namespace)
	}
	created := time.Duration(r.IntN(90*24)) * time.Hour
	if args.stored {
		uid := args.uid
		if uid == "" {
			uid = uuid(r)
		}
		md.set("uid", uid).set("resourceVersion", fmt.Sprint(100000+r.IntN(900000)))
		if args.res.group == "apps" || args.res.group == "batch" || args.res.group == "example.com" {
			md.set("generation", 1+r.IntN(5))
		}
		md.set("creationTimestamp", g.timestamp(created))
	} else if chance(r, 0.5) {
		md.set("creationTimestamp", nil) // how client-go serialises an unset time
	}
	if chance(r, 0.6) {
		md.set("labels", o("app", "web", "app.kubernetes.io/managed-by", pick(r, []string{"Helm", "kubectl", "argocd"})))
	}
	ob.set("metadata", md)
	g.content(ob, args)
	if chance(r, 0.2) {
		md.set("annotations", o("kubectl.kubernetes.io/last-applied-configuration", lastApplied(ob, args)))
	}
	if args.stored && args.res.resource == "pods" && chance(r, 0.5) {
		md.set("ownerReferences", a(o("apiVersion", "apps/v1", "kind", "ReplicaSet", "name", "web-5d78c9869d",
			"uid", uuid(r), "controller", true, "blockOwnerDeletion", true)))
	}
	if args.managedFields {
		md.set("managedFields", g.managedFields(ob, args.res, created))
	}
	return ob
}

// lastApplied is what kubectl apply records of an object: the manifest as
// applied, as a JSON string, which puts an escaped document inside the
// document.
func lastApplied(ob *obj, args objectArgs) string {
	applied := o("apiVersion", args.res.apiVersion(), "kind", args.res.kind)
	md := o("name", args.name)
	if args.res.namespaced && args.namespace != "" {
		md.set("namespace", args.namespace)
	}
	applied.set("metadata", md)
	for _, m := range ob.members {
		switch m.key {
		case "kind", "apiVersion", "metadata", "status":
		default:
			applied.set(m.key, m.val)
		}
	}
	b, err := json.Marshal(applied)
	if err != nil {
		panic(err)
	}
	return string(b) + "\n"
}

// content adds the kind-specific part of an object: spec, status, data...
func (g objects) content(ob *obj, args objectArgs) {
	r := g.r
	switch args.res.resource {
	case "pods":
		ob.set("spec", o("containers", a(container(r)), "restartPolicy", "Always", "terminationGracePeriodSeconds", 30,
			"dnsPolicy", "ClusterFirst", "serviceAccountName", "default", "nodeName", "node1"))
		if args.stored {
			ob.set("status", o("phase", "Running", "conditions", a(o("type", "Ready", "status", "True",
				"lastProbeTime", nil, "lastTransitionTime", g.timestamp(time.Hour))),
				"hostIP", "172.18.0.2", "podIP", "10.244.0.12", "startTime", g.timestamp(2*time.Hour),
				"qosClass", "BestEffort"))
		}
	case "configmaps":
		data := o()
		for i := range 1 + r.IntN(3) {
			data.set(fmt.Sprintf("key%d", i), pick(r, []string{"value", "a=b\nc=d\n", "{\"json\": true, \"x\": \"<y>\"}"}))
		}
		ob.set("data", data)
	case "secrets":
		ob.set("type", "Opaque").set("data", o("password", base64.StdEncoding.EncodeToString([]byte(alnum(r, 16)))))
	case "namespaces":
		ob.set("spec", o("finalizers", a("kubernetes"))).set("status", o("phase", "Active"))
	case "nodes":
		ob.set("spec", o("podCIDR", "10.244.0.0/24", "podCIDRs", a("10.244.0.0/24")))
		ob.set("status", o("capacity", o("cpu", "4", "memory", "16318860Ki", "pods", "110"),
			"conditions", a(o("type", "Ready", "status", "True", "lastHeartbeatTime", g.timestamp(10*time.Second),
				"lastTransitionTime", g.timestamp(48*time.Hour), "reason", "KubeletReady", "message", "kubelet is posting ready status")),
			"nodeInfo", o("kubeletVersion", "v1.30.2", "containerRuntimeVersion", "containerd://1.7.18", "operatingSystem", "linux")))
	case "services":
		ob.set("spec", o("ports", a(o("name", "http", "protocol", "TCP", "port", 80, "targetPort", 8080)),
			"selector", o("app", "web"), "clusterIP", "10.96.12.34", "type", "ClusterIP"))
	case "events":
		ob.add("involvedObject", o("kind", "Pod", "namespace", args.namespace, "name", "web-0", "uid", uuid(r)),
			"reason", "Scheduled", "message", "Successfully assigned "+args.namespace+"/web-0 to node1",
			"source", o("component", "default-scheduler"), "firstTimestamp", g.timestamp(time.Minute),
			"lastTimestamp", g.timestamp(time.Minute), "count", 1, "type", "Normal")
	case "endpoints":
		ob.set("subsets", a(o("addresses", a(o("ip", "10.244.0.12", "nodeName", "node1")),
			"ports", a(o("name", "http", "port", 8080, "protocol", "TCP")))))
	case "deployments", "replicasets", "statefulsets":
		replicas := r.IntN(5)
		ob.set("spec", o("replicas", replicas, "selector", o("matchLabels", o("app", "web")),
			"template", o("metadata", o("labels", o("app", "web")), "spec", o("containers", a(container(r))))))
		if args.stored {
			ob.set("status", o("observedGeneration", 1, "replicas", replicas, "readyReplicas", replicas))
		}
	case "leases":
		ob.set("spec", o("holderIdentity", pick(r, []string{"node1", "kube-controller-manager_" + uuid(r)}),
			"leaseDurationSeconds", 40, "renewTime", g.microTimestamp(time.Duration(r.IntN(10))*time.Second)))
	case "jobs":
		ob.set("spec", o("backoffLimit", 6, "template", o("spec", o("containers", a(container(r)), "restartPolicy", "Never"))))
		if args.stored {
			ob.set("status", o("succeeded", 1, "startTime", g.timestamp(time.Hour)))
		}
	case "clusterroles":
		ob.set("rules", a(o("apiGroups", a(""), "resources", a("pods", "pods/log"), "verbs", a("get", "list", "watch"))))
	case "rolebindings":
		ob.add("roleRef", o("apiGroup", "rbac.authorization.k8s.io", "kind", "Role", "name", "reader"),
			"subjects", a(o("kind", "User", "apiGroup", "rbac.authorization.k8s.io", "name", "alice")))
	case "customresourcedefinitions":
		ob.set("spec", o("group", "example.com", "names", o("plural", "widgets", "singular", "widget", "kind", "Widget",
			"listKind", "WidgetList"), "scope", "Namespaced", "versions", a(o("name", "v1alpha1", "served", true, "storage", true,
			"schema", o("openAPIV3Schema", o("type", "object", "x-kubernetes-preserve-unknown-fields", true))))))
	case "widgets":
		ob.set("spec", o("size", 1+r.IntN(9), "color", pick(r, []string{"blue", "grün", "赤"}), "ratio", 0.75))
	case "tokenreviews":
		ob.set("spec", o("token", jwt(r)))
		if args.stored {
			ob.set("status", o("authenticated", true, "user", o("username", "system:serviceaccount:ns1:sa1",
				"groups", a("system:serviceaccounts", "system:authenticated"))))
		}
	case "selfsubjectaccessreviews":
		ob.set("spec", o("resourceAttributes", o("namespace", "default", "verb", "list", "resource", "pods")))
		if args.stored {
			ob.set("status", o("allowed", true, "reason", `RBAC: allowed by RoleBinding "reader/default" of Role "reader" to User "alice"`))
		}
	}
}

func container(r *rand.Rand) *obj {
	return o("name", "app", "image", pick(r, []string{"registry.k8s.io/pause:3.9", "nginx:1.27", "ghcr.io/example/web@sha256:" + hexString(r, 64)}),
		"ports", a(o("containerPort", 8080, "protocol", "TCP")), "resources", o(),
		"terminationMessagePath", "/dev/termination-log", "terminationMessagePolicy", "File", "imagePullPolicy", "IfNotPresent")
}

// jwt returns a token-shaped string (three base64url parts), as in
// TokenReview and TokenRequest bodies.
func jwt(r *rand.Rand) string {
	part := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.IntN(256))
		}
		return base64.RawURLEncoding.EncodeToString(b)
	}
	return part(36) + "." + part(300) + "." + part(256)
}

// managedFields builds metadata.managedFields for ob: one to three
// managers, each owning the object's fields as a FieldsV1 set.
func (g objects) managedFields(ob *obj, res apiResource, created time.Duration) *arr {
	r := g.r
	managers := []string{"kubectl-client-side-apply", "kubectl", "kube-controller-manager", "kubelet", "helm", "kube-scheduler"}
	entries := a()
	for i := range 1 + r.IntN(3) {
		e := o("manager", pick(r, managers), "operation", pick(r, []string{"Update", "Update", "Apply"}),
			"apiVersion", res.apiVersion(), "time", g.timestamp(created/time.Duration(i+1)), "fieldsType", "FieldsV1",
			"fieldsV1", fieldSet(ob, 0))
		if i > 0 && chance(r, 0.4) {
			e.set("subresource", "status")
		}
		entries.elems = append(entries.elems, e)
	}
	return entries
}

// fieldSet is the FieldsV1 form of ob's fields: "f:<key>" for each member,
// nested for objects, "." marking an object that is itself owned.
func fieldSet(ob *obj, depth int) *obj {
	fs := o()
	if depth > 0 {
		fs.set(".", o())
	}
	for _, m := range ob.members {
		switch m.key {
		case "kind", "apiVersion", "status":
			continue
		case "metadata":
			if md, ok := m.val.(*obj); ok {
				if labels, ok := md.get("labels"); ok {
					fs.set("f:metadata", o("f:labels", fieldSet(labels.(*obj), 1)))
				}
			}
			continue
		}
		if child, ok := m.val.(*obj); ok && depth < 3 {
			fs.set("f:"+m.key, fieldSet(child, depth+1))
		} else {
			fs.set("f:"+m.key, o())
		}
	}
	return fs
}
