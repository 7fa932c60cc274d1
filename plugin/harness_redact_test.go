package main

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/auditstream/auditstream/internal/kafkatest"
	"github.com/auditstream/auditstream/internal/secretgen"
)

// TestHarnessRedactsBeforeKafka ships secret-bearing events of every shape
// through the .so with the default settings, under a policy that keeps
// every body, uncompressed so that the topics' size limit applies to the
// events as they are, and reads every topic back with kcat, a consumer that shares
// no code with the plugin. No marker may arrive in any form, on any stage
// topic or on the dead-letter topic, which receives the events a topic
// refuses as too large even after truncation, and the lines cut short that
// redaction could not read.
func TestHarnessRedactsBeforeKafka(t *testing.T) {
	info := kafkatest.Broker(t)
	so, _, _ := artifacts(t)
	dir := t.TempDir()
	pol := writeFile(t, dir, "policy.yaml", "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: RequestResponse\n")

	prefix := kafkatest.TopicName(t)
	topics := []string{prefix + ".dlq"}
	for _, st := range stages {
		topics = append(topics, prefix+"."+st)
	}
	kafkatest.CreateTopic(t, info, topics[0], 1)
	// The stage topics take small messages only: large events are
	// truncated, and those too large even then are dead-lettered.
	for _, topic := range topics[1:] {
		kafkatest.CreateTopic(t, info, topic, 1, kafka.ConfigEntry{ConfigName: "max.message.bytes", ConfigValue: "4000"})
	}

	r := rand.New(rand.NewPCG(12, 12))
	var lines strings.Builder
	var markers []string
	n := 6 * secretgen.Shapes()
	for i := range n {
		e := secretgen.Generate(r, i, "")
		markers = append(markers, e.Markers...)
		line := e.Line()
		switch i % 4 {
		case 0: // too large for the small topic with nothing left to shorten
			line = strings.Replace(line, `,"user":`, `,"sourceIPs":["10.0.0.1"`+strings.Repeat(`,"10.0.0.1"`, 600)+`],"user":`, 1)
		case 1: // cut short, as by a crash: not readable, so not redacted either
			line = line[:len(line)*2/3]
		}
		lines.WriteString(line + "\n")
	}
	file := writeFile(t, dir, "secrets.jsonl", lines.String())
	script := fmt.Sprintf("load %s\nregister v511\n"+
		"init redact instance_name=redact policy_file=%s brokers=%s topic=%s.{stage} dead_letter_topic=%s redact_fields=%s compression=none linger=1ms summary_interval=0\n"+
		"chunk secrets v2 fix raw %s %d\nflush redact secrets\nexit redact\nunregister\n",
		so, pol, strings.Join(info.Brokers, ","), prefix, topics[0], strings.Join(secretgen.Fields, ";"), file, n)
	run := runHarness(t, 3*time.Minute, script)
	run.ok(t)
	if res := run.result(t, "flush redact chunk=secrets"); res["ok"] != "1" {
		t.Fatalf("flush: %v; want FLB_OK", res)
	}

	total, dead, redacted := 0, 0, 0
	for _, topic := range topics {
		for _, rec := range kafkatest.KcatConsume(t, info.Brokers[0], topic) {
			total++
			if topic == topics[0] {
				dead++
			}
			if found := secretgen.FindMarker([]byte(rec.Value()), markers); found != "" {
				t.Fatalf("topic %s: %s in\n%s", topic, found, rec.Value())
			}
			for _, h := range rec.Headers {
				if found := secretgen.FindMarker([]byte(h), markers); found != "" {
					t.Fatalf("topic %s: %s in a header", topic, found)
				}
			}
			if strings.Contains(rec.Value(), `"auditstream.io/redacted":"mask `) {
				redacted++
			}
		}
	}
	t.Logf("%d events: %d messages read back, %d dead-lettered, %d annotated as redacted", n, total, dead, redacted)
	if total != n || dead == 0 || redacted == 0 {
		t.Fatalf("%d messages (%d dead-lettered, %d redacted); want %d, some dead-lettered and some redacted", total, dead, redacted, n)
	}
}
