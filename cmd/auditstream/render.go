package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/auditstream/auditstream/internal/simulate"
)

// renderReport prints a simulation for people: a summary, then one aligned
// table per breakdown.
func renderReport(w io.Writer, r *simulate.Report) error {
	fmt.Fprintf(w, "Policy %s: %d events read", r.Policy, r.Events)
	if r.Invalid > 0 {
		fmt.Fprintf(w, ", %d not audit events (skipped)", r.Invalid)
	}
	fmt.Fprintf(w, "\nKept %d of %d events (%.1f%%), %s of %s (%.1f%%)\n\n",
		r.Kept.Events, r.In.Events, 100*r.KeptShare.Events, bytesIEC(r.Kept.Bytes), bytesIEC(r.In.Bytes), 100*r.KeptShare.Bytes)

	t := newTable(w)
	t.row("RULE", "MATCHED", "KEPT", "BYTES IN", "BYTES OUT")
	for _, rule := range append(r.Rules, r.NoMatch) {
		t.row(rule.Description, rule.Matched, rule.Kept, bytesIEC(rule.BytesIn), bytesIEC(rule.BytesOut))
	}
	t.flush()
	for _, section := range []struct {
		title string
		rows  []simulate.Row
	}{{"LEVEL", r.Levels}, {"STAGE", r.Stages}} {
		t.row(section.title, "EVENTS", "KEPT", "BYTES IN", "BYTES OUT")
		for _, row := range section.rows {
			t.row(row.Key, row.Events, row.Kept, bytesIEC(row.BytesIn), bytesIEC(row.BytesOut))
		}
		t.flush()
	}
	for _, section := range []struct {
		title string
		rows  []simulate.Row
	}{{"TOPIC", r.Topics}, {"TOP USERS", r.TopUsers}, {"TOP VERBS", r.TopVerbs}, {"TOP RESOURCES", r.TopResource}} {
		t.row(section.title, "KEPT", "BYTES KEPT")
		for _, row := range section.rows {
			t.row(orNone(row.Key), row.Kept, bytesIEC(row.BytesOut))
		}
		t.flush()
	}
	renderRedaction(w, &r.Redaction)
	if len(r.UnusedRules) == 0 {
		fmt.Fprintln(w, "Every rule matched at least one event.")
		return nil
	}
	fmt.Fprintln(w, "Rules that never matched:")
	for _, i := range r.UnusedRules {
		fmt.Fprintln(w, "  "+r.Rules[i].Description)
	}
	return nil
}

// renderComparison prints both reports' rules side by side, then the events
// the policies decide differently.
func renderComparison(w io.Writer, c *simulate.CompareReport) error {
	fmt.Fprintf(w, "A: %s kept %d of %d events, %s\n", c.A.Policy, c.A.Kept.Events, c.A.In.Events, bytesIEC(c.A.Kept.Bytes))
	fmt.Fprintf(w, "B: %s kept %d of %d events, %s\n\n", c.B.Policy, c.B.Kept.Events, c.B.In.Events, bytesIEC(c.B.Kept.Bytes))
	t := newTable(w)
	t.row("A RULE", "MATCHED", "KEPT", "B RULE", "MATCHED", "KEPT")
	rows := max(len(c.A.Rules), len(c.B.Rules)) + 1
	for i := range rows {
		a, b := ruleAt(&c.A, i), ruleAt(&c.B, i)
		t.row(a.Description, blankIfNone(a), keptIfAny(a), b.Description, blankIfNone(b), keptIfAny(b))
	}
	t.flush()
	fmt.Fprintf(w, "%d events decided differently\n", c.Differing)
	if c.Differing == 0 {
		return nil
	}
	t.row("A RULE", "B RULE", "EVENTS")
	for _, p := range c.Pairs {
		t.row(ruleName(p.RuleA), ruleName(p.RuleB), p.Events)
	}
	t.flush()
	t.row("WHERE", "A", "B", "EVENT")
	for _, d := range c.Examples {
		t.row(d.Position, ruleName(d.RuleA)+" "+d.LevelA, ruleName(d.RuleB)+" "+d.LevelB, shorten(d.Event, 100))
	}
	t.flush()
	return nil
}

// ruleAt returns rule i of a report, its no-match row after the last rule,
// and an empty row beyond.
func ruleAt(r *simulate.Report, i int) simulate.RuleRow {
	switch {
	case i < len(r.Rules):
		return r.Rules[i]
	case i == len(r.Rules):
		return r.NoMatch
	}
	return simulate.RuleRow{Index: -2}
}

func blankIfNone(r simulate.RuleRow) any {
	if r.Index == -2 {
		return ""
	}
	return r.Matched
}

func keptIfAny(r simulate.RuleRow) any {
	if r.Index == -2 {
		return ""
	}
	return r.Kept
}

func ruleName(i int) string {
	if i < 0 {
		return "no match"
	}
	return fmt.Sprintf("#%d", i)
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func shorten(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// bytesIEC renders a byte count with binary units, as people read sizes.
func bytesIEC(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// table aligns rows with text/tabwriter and ends each table with a blank line.
type table struct {
	w  io.Writer
	tw *tabwriter.Writer
}

func newTable(w io.Writer) *table {
	return &table{w: w, tw: tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)}
}

func (t *table) row(cells ...any) {
	s := make([]string, len(cells))
	for i, c := range cells {
		s[i] = fmt.Sprint(c)
	}
	fmt.Fprintln(t.tw, strings.Join(s, "\t"))
}

func (t *table) flush() {
	_ = t.tw.Flush()
	fmt.Fprintln(t.w)
}
