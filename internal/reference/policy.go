package reference

import (
	"k8s.io/apiserver/pkg/apis/audit"
	k8saudit "k8s.io/apiserver/pkg/audit"
	"k8s.io/apiserver/pkg/audit/policy"
)

// Evaluator is the apiserver's policy evaluator interface.
type Evaluator = k8saudit.PolicyRuleEvaluator

// LoadPolicy decodes and validates an audit policy (YAML or JSON,
// audit.k8s.io/v1) exactly as kube-apiserver loads --audit-policy-file.
// The result is the apiserver's internal Policy type.
func LoadPolicy(data []byte) (*audit.Policy, error) {
	return policy.LoadPolicyFromBytes(data)
}

// NewEvaluator returns the apiserver's evaluator for p. The apiserver's
// constructor rewrites each rule's omitStages in place (unioning the policy's
// omitStages into them), so it is given a deep copy: p stays as loaded and can
// be reused, compared or evaluated again.
func NewEvaluator(p *audit.Policy) Evaluator {
	return policy.NewPolicyRuleEvaluator(p.DeepCopy())
}
