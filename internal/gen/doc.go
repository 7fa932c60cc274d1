// Package gen generates random, deterministic test input for the audit
// policy filter: valid audit.k8s.io/v1 Policies (Policy) and realistic
// audit.k8s.io/v1 Event lines as kube-apiserver writes them (Event,
// EventOfSize).
//
// Everything is drawn from a caller-supplied *rand.Rand, so a seed
// reproduces its output exactly. Policies and events draw their users,
// groups, namespaces, resources and names from the same small vocabularies
// (vocab.go), so that rules and requests actually match each other often.
//
// This is test and benchmark support code; it is not used in production.
package gen
