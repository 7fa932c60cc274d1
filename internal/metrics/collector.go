package metrics

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/auditstream/auditstream/filter"
)

// The series read from counter snapshots. Their names are fixed: dashboards
// and alerts rely on them (deploy/ checks that they exist).
var (
	eventsDesc = prometheus.NewDesc("auditstream_events_total",
		"Audit events read from chunks, by outcome: kept or dropped_policy by the policy, malformed (not a readable audit event; sent to the dead-letter topic as read), dead_lettered (acknowledged on the dead-letter topic: malformed lines, and kept events Kafka cannot take). A retried chunk is read, and counted, again.",
		[]string{"instance", "outcome"}, nil)
	ruleMatchesDesc = prometheus.NewDesc("auditstream_policy_rule_matches_total",
		"Audit events decided by each policy rule, numbered from 0 as auditstream check prints them; none: no rule matched (level None).",
		[]string{"instance", "rule"}, nil)
	byLevelDesc = prometheus.NewDesc("auditstream_events_by_level_total",
		"Kept audit events by the level they are shipped at.",
		[]string{"instance", "level"}, nil)
	kafkaMessagesDesc = prometheus.NewDesc("auditstream_kafka_messages_total",
		"Kafka messages by their stage topic and outcome: acked on the topic, retried (once per message and flush that had to send it again), truncated to fit, dead_lettered, dropped (undeliverable, no dead-letter topic), refused (the brokers refused the topic; the chunk is kept and retried).",
		[]string{"instance", "topic", "outcome"}, nil)
	kafkaBytesDesc = prometheus.NewDesc("auditstream_kafka_bytes_total",
		"Value bytes of the messages Kafka acknowledged on their stage topic.",
		[]string{"instance", "topic"}, nil)
	reloadsDesc = prometheus.NewDesc("auditstream_policy_reloads_total",
		"Policy reloads after a change of policy_file, by result: success (the new policy is in force) or failure (refused, the old one stays; counted once per content).",
		[]string{"instance", "result"}, nil)
	lastReloadDesc = prometheus.NewDesc("auditstream_policy_last_reload_success_timestamp_seconds",
		"When the policy in force was loaded, at start or by the last successful reload.",
		[]string{"instance"}, nil)
	lastReloadOKDesc = prometheus.NewDesc("auditstream_policy_last_reload_successful",
		"0 while policy_file holds a policy that was refused (the previous one is in force), else 1.",
		[]string{"instance"}, nil)
	policyInfoDesc = prometheus.NewDesc("auditstream_policy_info",
		"The policy in force, by the sha256 of its file; always 1.",
		[]string{"instance", "sha256"}, nil)
	readyDesc = prometheus.NewDesc("auditstream_ready",
		"1 while the instance is ready as /readyz says: brokers reachable, flushes not failing for longer than delivery_timeout.",
		[]string{"instance"}, nil)
)

// collector emits every registered instance's series at scrape time. It is
// an unchecked collector (Describe sends nothing): the instances, and so the
// label values, come and go with Fluent Bit's Init and Exit.
type collector struct{ r *Registry }

func (collector) Describe(chan<- *prometheus.Desc) {}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	now := c.r.now()
	for _, in := range c.r.snapshot() {
		in.collect(ch, now)
	}
}

func counter(ch chan<- prometheus.Metric, d *prometheus.Desc, v uint64, labels ...string) {
	ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
}

func (in *Instance) collect(ch chan<- prometheus.Metric, now time.Time) {
	name := in.src.Name
	st := in.src.Pipeline()
	counter(ch, eventsDesc, st.Kept, name, "kept")
	counter(ch, eventsDesc, st.Dropped, name, "dropped_policy")
	counter(ch, eventsDesc, st.DeadLettered, name, "dead_lettered")
	counter(ch, eventsDesc, st.Malformed, name, "malformed")

	d := in.src.Decisions()
	counter(ch, ruleMatchesDesc, d.NoRule, name, "none")
	for i, n := range d.Rules {
		counter(ch, ruleMatchesDesc, n, name, strconv.Itoa(i))
	}
	for lv := filter.LevelMetadata; lv <= filter.LevelRequestResponse; lv++ {
		counter(ch, byLevelDesc, d.Levels[lv], name, lv.String())
	}

	if in.src.Sink != nil {
		for topic, ts := range in.src.Sink().Topics {
			counter(ch, kafkaMessagesDesc, ts.Sent, name, topic, "acked")
			counter(ch, kafkaMessagesDesc, ts.Retried, name, topic, "retried")
			counter(ch, kafkaMessagesDesc, ts.Truncated, name, topic, "truncated")
			counter(ch, kafkaMessagesDesc, ts.DeadLettered, name, topic, "dead_lettered")
			counter(ch, kafkaMessagesDesc, ts.Dropped, name, topic, "dropped")
			counter(ch, kafkaMessagesDesc, ts.Refused, name, topic, "refused")
			counter(ch, kafkaBytesDesc, ts.SentBytes, name, topic)
		}
	}

	if in.src.Policy != nil {
		ps := in.src.Policy()
		counter(ch, reloadsDesc, ps.Successes, name, "success")
		counter(ch, reloadsDesc, ps.Failures, name, "failure")
		ch <- prometheus.MustNewConstMetric(lastReloadDesc, prometheus.GaugeValue,
			float64(ps.LastSuccess.UnixNano())/1e9, name)
		ok := 1.0
		if ps.Refused {
			ok = 0
		}
		ch <- prometheus.MustNewConstMetric(lastReloadOKDesc, prometheus.GaugeValue, ok, name)
		ch <- prometheus.MustNewConstMetric(policyInfoDesc, prometheus.GaugeValue, 1, name, ps.SHA256)
	}

	ready := 0.0
	if in.ready.Ready(now) == nil {
		ready = 1
	}
	ch <- prometheus.MustNewConstMetric(readyDesc, prometheus.GaugeValue, ready, name)

	in.flushSeconds.Collect(ch)
	in.ackSeconds.Collect(ch)
}
