// Package reference is the ground truth that the fast path in package filter
// is tested and benchmarked against. It is built only from k8s.io/apiserver
// and the standard library, and favours obviously-correct over fast:
//
//   - LoadPolicy and NewEvaluator load a policy and evaluate it with the
//     apiserver's own code (k8s.io/apiserver/pkg/audit/policy).
//   - Attributes rebuilds, from a logged event, the authorizer attributes the
//     apiserver evaluated the policy against (audit-semantics.md §1c).
//   - Decide and Rewrite apply a policy to one event line: Rewrite is an
//     independent decode–modify–encode implementation of the fast path's
//     rewrite, and JSONEqual compares its output with the fast path's.
//   - StraightforwardPath and StraightforwardPathJSONIter are the naive
//     pipelines (decode into the typed Event, evaluate, encode) that the
//     benchmarks use as baselines.
//
// The apiserver's RequestInfo parser logs an error through klog when a
// list or watch query does not decode (e.g. limit=ten), and Attributes runs
// that parser: tests that feed such events can silence it with
// klog.SetLogger(logr.Discard()).
//
// This is test and benchmark support code; it is not used in production.
package reference
