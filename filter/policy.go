package filter

import (
	"fmt"
	"os"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	auditinternal "k8s.io/apiserver/pkg/apis/audit"
	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"
	"k8s.io/apiserver/pkg/apis/audit/validation"
	"k8s.io/apiserver/pkg/audit"
)

// Policy is a compiled audit policy. It is immutable and safe for concurrent use.
type Policy struct {
	rules []rule
	index ruleIndex
	// fallback is the decision when no rule matches: level None with the
	// policy's own omitStages and omitManagedFields, as the apiserver returns.
	fallback     Decision
	descriptions []string
	// redact is applied to the events the policy keeps; nil for none.
	redact *Redaction
}

// Compile loads a policy the way kube-apiserver loads --audit-policy-file
// (YAML or JSON, audit.k8s.io/v1 only, validated by k8s.io/apiserver, with the
// apiserver's own error messages) and compiles it.
//
// Warnings are what the apiserver accepts but only logs: unknown, misplaced or
// duplicate fields, which strict decoding rejects and lenient decoding drops.
// A dropped field can widen a rule, so callers must show them.
func Compile(data []byte) (*Policy, []string, error) {
	p, warnings, err := decodePolicy(data)
	if err != nil {
		return nil, warnings, err
	}
	return compile(p), warnings, nil
}

// LoadFile reads and compiles the policy file at path; errors name the file.
func LoadFile(path string) (*Policy, []string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("cannot read audit policy: %w", err)
	}
	p, warnings, err := Compile(data)
	for i, w := range warnings {
		warnings[i] = path + ": " + w
	}
	if err != nil {
		return nil, warnings, fmt.Errorf("%s: %w", path, err)
	}
	return p, warnings, nil
}

// decodePolicy follows k8s.io/apiserver/pkg/audit/policy.LoadPolicyFromBytes
// step by step, with the same decoders and validation, so that what it
// accepts and rejects (and the messages) are the apiserver's. It differs only
// in returning the strict-decoding warning instead of writing it to klog,
// which a Fluent Bit plugin must not do behind its host's back.
func decodePolicy(data []byte) (*auditinternal.Policy, []string, error) {
	var warnings []string
	policy := &auditinternal.Policy{}
	strict := serializer.NewCodecFactory(audit.Scheme, serializer.EnableStrict).UniversalDecoder()
	_, gvk, err := strict.Decode(data, nil, policy)
	if err != nil {
		if !runtime.IsStrictDecodingError(err) {
			return nil, nil, fmt.Errorf("failed decoding: %w", err)
		}
		warnings = append(warnings, fmt.Sprintf("audit policy contains errors, falling back to lenient decoding: %v", err))
		policy = &auditinternal.Policy{}
		_, gvk, err = audit.Codecs.UniversalDecoder(auditv1.SchemeGroupVersion).Decode(data, nil, policy)
		if err != nil {
			return nil, warnings, fmt.Errorf("failed lenient decoding: %w", err)
		}
	}
	if gv := (schema.GroupVersion{Group: gvk.Group, Version: gvk.Version}); gv != auditv1.SchemeGroupVersion {
		return nil, warnings, fmt.Errorf("unknown group version field %v in policy", gvk)
	}
	if errs := validation.ValidatePolicy(policy); len(errs) > 0 {
		return nil, warnings, errs.ToAggregate()
	}
	if len(policy.Rules) == 0 {
		return nil, warnings, fmt.Errorf("loaded illegal policy with 0 rules")
	}
	return policy, warnings, nil
}

// NumRules is the number of rules in the policy.
func (p *Policy) NumRules() int { return len(p.rules) }

// DescribeRule is a one-line summary of rule i, such as
// "#3 None users=[system:kube-proxy] verbs=[watch] endpoints,services".
func (p *Policy) DescribeRule(i int) string { return p.descriptions[i] }
