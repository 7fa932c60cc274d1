// Package policyreload keeps the audit policy a pipeline filters with and
// replaces it, between chunks, when its file changes.
//
// A Holder owns the compiled policy in force and its sha256; pipelines read
// it through PipelineVersion once per flush. Reload compiles the file again
// exactly as at start and swaps the new policy in atomically, or refuses it
// with one error line and keeps the old one. Watch calls Reload when the file
// (or the directory holding it, where a Kubernetes ConfigMap volume swaps its
// ..data symlink) changes, and at every interval as a fallback for changes
// no file event reports.
package policyreload
