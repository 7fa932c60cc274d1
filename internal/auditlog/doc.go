// Package auditlog reads audit logs as kube-apiserver writes them: JSON
// lines in files, stdin, gzip-compressed files, and rotated sets
// (audit.log with its audit-<timestamp>.log[.gz] backups, oldest first).
package auditlog
