package simulate

import (
	"cmp"
	"slices"
	"strings"

	"github.com/auditstream/auditstream/filter"
)

// TopN is how many users, verbs and resources the report ranks.
const TopN = 10

// Simulator accumulates the outcome of events. It is not safe for concurrent use.
type Simulator struct {
	policy     *filter.Policy
	policyName string
	topic      func(filter.Stage) string
	pr         *filter.Processor
	buf        []byte

	events, invalid int64
	in, kept        Count
	rules           []RuleRow
	noMatch         RuleRow
	levels          [4]Row
	stages          [filter.NumStages + 1]Row
	topics          map[string]*Row
	users           map[string]*Row
	verbs           map[string]*Row
	resources       map[string]*Row
	// redacted counts, per field of the policy's redaction, the kept events
	// and values it redacted.
	redacted       []RedactRow
	redactedEvents int64
}

// New returns a Simulator for the policy; topic names the Kafka topic an
// event of each stage is sent to.
func New(p *filter.Policy, policyName string, topic func(filter.Stage) string) *Simulator {
	s := &Simulator{
		policy: p, policyName: policyName, topic: topic, pr: p.NewProcessor(),
		rules:  make([]RuleRow, p.NumRules()),
		topics: map[string]*Row{}, users: map[string]*Row{}, verbs: map[string]*Row{}, resources: map[string]*Row{},
	}
	for i := range s.rules {
		s.rules[i] = RuleRow{Index: i, Description: p.DescribeRule(i)}
	}
	s.noMatch = RuleRow{Index: -1, Description: "(no rule matched: None)"}
	if r := p.Redaction(); r != nil {
		s.redacted = make([]RedactRow, len(r.Fields()))
		for i, f := range r.Fields() {
			s.redacted[i].Field = f
		}
	}
	return s
}

// Add accounts for one line of the log. It returns the rewritten event (nil
// if dropped; valid until the next call), the result, and the line's error
// if it is not an audit event.
func (s *Simulator) Add(line []byte) ([]byte, filter.Result, error) {
	s.events++
	var res filter.Result
	var err error
	s.buf, res, err = s.pr.AppendEvent(s.buf[:0], line)
	if err != nil {
		s.invalid++
		return nil, res, err
	}
	in := int64(len(line))
	out := int64(0)
	if res.Kept {
		out = int64(len(s.buf))
	}
	s.in.Events++
	s.in.Bytes += in
	rule := &s.noMatch
	if res.Decision.Rule >= 0 {
		rule = &s.rules[res.Decision.Rule]
	}
	rule.Matched++
	rule.BytesIn += in
	add(&s.levels[res.Decision.Level], res.Decision.Level.String(), res.Kept, in, out)
	add(&s.stages[res.Stage], res.Stage.String(), res.Kept, in, out)
	if !res.Kept {
		return nil, res, nil
	}
	rule.Kept++
	rule.BytesOut += out
	s.kept.Events++
	s.kept.Bytes += out
	f := s.pr.Fields()
	addTo(s.topics, s.topic(res.Stage), out)
	addTo(s.users, string(f.Attrs.Username), out)
	addTo(s.verbs, string(f.Attrs.Verb), out)
	addTo(s.resources, resourceKey(&f.Attrs), out)
	if counts, total := s.pr.RedactedFields(); total > 0 {
		s.redactedEvents++
		for i, n := range counts {
			if n > 0 {
				s.redacted[i].Events++
				s.redacted[i].Values += int64(n)
			}
		}
	}
	return s.buf, res, nil
}

func add(r *Row, key string, kept bool, in, out int64) {
	r.Key = key
	r.Events++
	r.BytesIn += in
	if kept {
		r.Kept++
		r.BytesOut += out
	}
}

// addTo counts a kept event under key; only kept bytes rank users, verbs
// and resources, since they are what the SIEM receives and pays for.
func addTo(m map[string]*Row, key string, out int64) {
	r := m[key]
	if r == nil {
		r = &Row{Key: key}
		m[key] = r
	}
	r.Events++
	r.Kept++
	r.BytesOut += out
}

// resourceKey names what a request was about: group/resource/subresource,
// or the URL path of a non-resource request.
func resourceKey(a *filter.Attributes) string {
	if !a.ResourceRequest {
		return string(a.Path)
	}
	var b strings.Builder
	if len(a.APIGroup) > 0 {
		b.Write(a.APIGroup)
		b.WriteByte('/')
	}
	b.Write(a.Resource)
	if len(a.Subresource) > 0 {
		b.WriteByte('/')
		b.Write(a.Subresource)
	}
	return b.String()
}

// Report returns the totals so far.
func (s *Simulator) Report() Report {
	r := Report{
		Policy: s.policyName, Events: s.events, Invalid: s.invalid, In: s.in, Kept: s.kept,
		Rules: slices.Clone(s.rules), NoMatch: s.noMatch,
		Topics: ranked(s.topics, 0), TopUsers: ranked(s.users, TopN), TopVerbs: ranked(s.verbs, TopN),
		TopResource: ranked(s.resources, TopN), UnusedRules: []int{},
		Redaction: RedactionReport{Events: s.redactedEvents, Fields: slices.Clone(s.redacted)},
	}
	if p := s.policy.Redaction(); p != nil {
		r.Redaction.Mode = p.Mode().String()
	} else {
		r.Redaction.Mode = "off"
		r.Redaction.Fields = []RedactRow{}
	}
	if s.in.Events > 0 {
		r.KeptShare.Events = float64(s.kept.Events) / float64(s.in.Events)
	}
	if s.in.Bytes > 0 {
		r.KeptShare.Bytes = float64(s.kept.Bytes) / float64(s.in.Bytes)
	}
	for _, l := range s.levels {
		if l.Events > 0 {
			r.Levels = append(r.Levels, l)
		}
	}
	for _, st := range s.stages {
		if st.Events > 0 {
			r.Stages = append(r.Stages, st)
		}
	}
	for _, rule := range s.rules {
		if rule.Matched == 0 {
			r.UnusedRules = append(r.UnusedRules, rule.Index)
		}
	}
	return r
}

// ranked returns the rows by kept bytes, largest first, at most n (0: all).
func ranked(m map[string]*Row, n int) []Row {
	rows := make([]Row, 0, len(m))
	for _, r := range m {
		rows = append(rows, *r)
	}
	slices.SortFunc(rows, func(a, b Row) int {
		if c := cmp.Compare(b.BytesOut, a.BytesOut); c != 0 {
			return c
		}
		return strings.Compare(a.Key, b.Key)
	})
	if n > 0 && len(rows) > n {
		rows = rows[:n]
	}
	return rows
}
