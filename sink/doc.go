// Package sink produces audit events to Kafka, routed by stage, and reports
// exactly when a batch is delivered and whether a failure is worth retrying.
package sink
