// Package metrics serves what auditstream's pipelines did as Prometheus
// metrics, with /healthz and /readyz, on one endpoint per process however
// many instances run.
//
// Nothing here runs per event. Counters are read at scrape time from the
// snapshots the pipeline, the sink and the policy holder already keep, and
// emitted as constant metrics; the two histograms are observed once per
// flush through pipeline.Hooks.
package metrics
