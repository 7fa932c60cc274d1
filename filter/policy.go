package filter

// Policy is a compiled audit policy. It is immutable and safe for concurrent use.
type Policy struct {
}

// Compile loads a policy the way kube-apiserver loads --audit-policy-file
// (YAML or JSON, audit.k8s.io/v1 only, validated by k8s.io/apiserver) and
// compiles it. Warnings are what the apiserver accepts but logs (unknown or
// duplicate fields, which strict decoding rejects); the caller must show them.
func Compile(data []byte) (*Policy, []string, error) { panic("unimplemented") }

// LoadFile reads and compiles the policy file at path; errors name the file.
func LoadFile(path string) (*Policy, []string, error) { panic("unimplemented") }

// Decide evaluates the policy against a: first matching rule wins; no match is LevelNone.
func (p *Policy) Decide(a *Attributes) Decision { panic("unimplemented") }

// NumRules is the number of rules in the policy.
func (p *Policy) NumRules() int { panic("unimplemented") }

// DescribeRule is a one-line summary of rule i, such as
// "#3 None users=[system:kube-proxy] verbs=[watch] endpoints,services".
func (p *Policy) DescribeRule(i int) string { panic("unimplemented") }
