package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/auditstream/auditstream/filter"
	"github.com/auditstream/auditstream/internal/auditlog"
	"github.com/auditstream/auditstream/internal/readback"
	"github.com/auditstream/auditstream/internal/setup"
	"github.com/auditstream/auditstream/sink"
)

func newVerifyCommand() *cobra.Command {
	var o shipOptions
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "verify --policy POLICY --brokers HOST:PORT [FILE|DIR ...]",
		Short: "Check that Kafka holds exactly what the policy keeps of a log",
		Long: `Reads back every message of the four stage topics and compares them with what
the policy keeps of the log: per topic, level and rule, the events predicted
(as simulate counts them) beside the events that arrived, each arrived event
byte for byte against the rewritten event apply would write. Duplicates (at
least once delivery, or a tail Path glob that re-reads rotated files) are
counted, not failed: the report says how many (auditID, stage) pairs arrived
more often than the log holds them, and names the most repeated. The exit code is 1 if an event
is missing or a message is not one the policy keeps. Settings are the plugin's
keys, as for ship; the topics must hold only this log's events.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runVerify(cmd, &o, timeout, args)
		},
	}
	addKeyFlags(cmd, &o)
	f := cmd.Flags()
	f.DurationVar(&timeout, "timeout", time.Minute, "how long reading the topics back may take")
	return cmd
}

// tally counts events by topic, level and rule.
type tally struct {
	topics map[string]int
	levels map[string]int
	rules  map[int]int
	total  int
}

func newTally() *tally {
	return &tally{topics: map[string]int{}, levels: map[string]int{}, rules: map[int]int{}}
}

func (t *tally) add(topic string, res filter.Result) {
	t.topics[topic]++
	t.levels[res.Level.String()]++
	t.rules[res.Decision.Rule]++
	t.total++
}

func runVerify(cmd *cobra.Command, o *shipOptions, timeout time.Duration, args []string) error {
	keys, err := shipKeys(o)
	if err != nil {
		return err
	}
	s, err := setup.Read(func(k string) string { return keys[k] })
	if err != nil {
		return err
	}
	p, err := loadPolicy(cmd, s.PolicyFile)
	if err != nil {
		return err
	}
	// What ship and the plugin sent was redacted under the same keys.
	p = p.WithRedaction(s.Redaction)
	topicOf := topicResolver(&s.Sink)

	// What the policy keeps of the log: a multiset of rewritten events.
	predicted, expected := newTally(), map[string]int{}
	logged := map[eventKey]int{} // kept events by (auditID, stage)
	inputs, err := auditlog.ExpandRotated(args)
	if err != nil {
		return err
	}
	in := auditlog.NewReader(inputs, cmd.InOrStdin())
	defer in.Close()
	pr := p.NewProcessor()
	var buf []byte
	// Lines that are not events are skipped, as the pipeline skips them; a
	// log that cannot be read fails the command.
	err = readAll(in, cmd.ErrOrStderr(), false, func(line []byte, _ auditlog.Position) error {
		var res filter.Result
		var err error
		if buf, res, err = pr.AppendEvent(buf[:0], line); err != nil || !res.Kept {
			return err
		}
		predicted.add(topicOf(res.Stage), res)
		expected[string(buf)]++
		logged[eventKey{string(pr.Fields().AuditID), res.Stage.String()}]++
		return nil
	})
	if err != nil {
		return err
	}

	dialer, err := s.Sink.Dialer()
	if err != nil {
		return err
	}
	var topics []string
	for st := filter.Stage(1); st <= filter.NumStages; st++ {
		topics = append(topics, topicOf(st))
	}
	ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
	defer cancel()
	msgs, err := readback.ReadAll(ctx, dialer, s.Sink.Brokers, topics)
	if err != nil {
		return err
	}
	arrived, seen := newTally(), map[string]int{}
	pairs := map[eventKey]int{} // expected events that arrived, by (auditID, stage)
	unexpected, wrongTopic, wrongKey := 0, 0, 0
	for _, m := range msgs {
		res, err := pr.Decide(m.Value)
		if err != nil || expected[string(m.Value)] == 0 {
			unexpected++
			continue
		}
		if topicOf(res.Stage) != m.Topic || m.Headers[sink.HeaderStage] != res.Stage.String() {
			wrongTopic++
		}
		f := pr.Fields()
		ev := sink.Event{AuditID: f.AuditID, User: f.Attrs.Username, Namespace: f.Attrs.Namespace, Resource: f.Attrs.Resource}
		if !bytes.Equal(m.Key, sink.KeyOf(s.Sink.MessageKey, &ev)) {
			wrongKey++
		}
		pairs[eventKey{string(f.AuditID), res.Stage.String()}]++
		if seen[string(m.Value)]++; seen[string(m.Value)] > expected[string(m.Value)] {
			continue // a duplicate: counted below, not tallied
		}
		arrived.add(m.Topic, res)
	}
	missing, repeated := 0, 0
	for v, n := range expected {
		missing += max(0, n-seen[v])
		repeated += max(0, seen[v]-n)
	}
	renderVerify(cmd.OutOrStdout(), p, predicted, arrived, topics)
	fmt.Fprintf(cmd.OutOrStdout(), "%d messages read back: %d predicted events arrived, %d missing, %d duplicates, %d unexpected, %d on the wrong topic, %d with the wrong key\n",
		len(msgs), arrived.total, missing, repeated, unexpected, wrongTopic, wrongKey)
	if d := describeDuplicates(duplicates(logged, pairs)); d != "" {
		fmt.Fprintln(cmd.OutOrStdout(), d)
	}
	if missing > 0 || unexpected > 0 || wrongTopic > 0 || wrongKey > 0 {
		return errors.New("the topics do not hold what the policy keeps of the log")
	}
	return nil
}

func renderVerify(w io.Writer, p *filter.Policy, predicted, arrived *tally, topics []string) {
	t := newTable(w)
	t.row("TOPIC", "PREDICTED", "ARRIVED")
	for _, topic := range topics {
		t.row(topic, predicted.topics[topic], arrived.topics[topic])
	}
	t.flush()
	t.row("LEVEL", "PREDICTED", "ARRIVED")
	for l := filter.LevelMetadata; l <= filter.LevelRequestResponse; l++ {
		t.row(l.String(), predicted.levels[l.String()], arrived.levels[l.String()])
	}
	t.flush()
	t.row("RULE", "PREDICTED", "ARRIVED")
	for i := range p.NumRules() {
		t.row(p.DescribeRule(i), predicted.rules[i], arrived.rules[i])
	}
	t.flush()
}
