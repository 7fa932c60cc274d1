package gen

import (
	"fmt"
	"math/rand/v2"
	"time"

	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"
)

// annotations are the event annotations the apiserver's filters and
// admission plugins add after RequestReceived. Admission annotations are
// gated by level: a webhook's patch is only recorded at level Request and above.
func annotations(r *rand.Rand, q *httpRequest, id identity, imp *identity, unauthenticated bool, out outcome,
	level auditv1.Level, latency time.Duration) map[string]string {
	if unauthenticated {
		return nil
	}
	ann := map[string]string{}
	subject := id
	if imp != nil {
		subject = *imp
	}
	switch {
	case out.forbidden:
		ann["authorization.k8s.io/decision"] = "forbid"
		ann["authorization.k8s.io/reason"] = ""
	case subject.name == "system:admin" || subject.name == "system:apiserver":
		ann["authorization.k8s.io/decision"] = "allow"
		ann["authorization.k8s.io/reason"] = ""
	default:
		ann["authorization.k8s.io/decision"] = "allow"
		ann["authorization.k8s.io/reason"] = fmt.Sprintf(`RBAC: allowed by ClusterRoleBinding "edit-binding" of ClusterRole "edit" to User %q`,
			subject.name)
	}
	if q.res != nil && out.handled && (q.action == "create" || q.action == "update") {
		switch q.res.resource {
		case "pods":
			ann["pod-security.kubernetes.io/enforce-policy"] = "privileged:latest"
			if chance(r, 0.5) {
				ann["mutation.webhook.admission.k8s.io/round_0_index_0"] =
					`{"configuration":"sidecar-injector","webhook":"inject.sidecar.example.com","mutated":true}`
				if level != auditv1.LevelMetadata {
					ann["patch.webhook.admission.k8s.io/round_0_index_0"] =
						`{"configuration":"sidecar-injector","webhook":"inject.sidecar.example.com","patch":[{"op":"add","path":"/metadata/labels/sidecar","value":"injected"}],"patchType":"JSONPatch"}`
				}
			}
		case "deployments":
			if chance(r, 0.3) {
				ann["validation.policy.admission.k8s.io/validation_failure"] =
					`[{"message":"replicas must be <= 5 && > 0","policy":"max-replicas","binding":"max-replicas-binding","expressionIndex":0,"validationActions":["Audit"]}]`
			}
		}
	}
	if latency >= 500*time.Millisecond {
		ann["apiserver.latency.k8s.io/etcd"] = fmt.Sprintf("%.3fms", float64(latency.Microseconds())/2000)
		ann["apiserver.latency.k8s.io/total"] = fmt.Sprintf("%.3fms", float64(latency.Microseconds())/1000)
	}
	return ann
}
