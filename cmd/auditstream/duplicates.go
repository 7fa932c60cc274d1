package main

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// eventKey is how a consumer de-duplicates audit events: (auditID, stage),
// the message's auditID and stage headers.
type eventKey struct{ auditID, stage string }

// duplicate is an event that arrived more often than the log holds it.
type duplicate struct {
	key             eventKey
	arrived, logged int
}

// maxWorstDuplicates is how many duplicated events the report names.
const maxWorstDuplicates = 5

// duplicates returns the (auditID, stage) pairs that arrived more often
// than the log holds them (a retried chunk, or a tail that read a file
// twice), the most repeated first, ties by audit ID.
func duplicates(logged, arrived map[eventKey]int) []duplicate {
	var d []duplicate
	for k, n := range arrived {
		if n > max(logged[k], 1) {
			d = append(d, duplicate{k, n, logged[k]})
		}
	}
	slices.SortFunc(d, func(a, b duplicate) int {
		if c := cmp.Compare(b.arrived-b.logged, a.arrived-a.logged); c != 0 {
			return c
		}
		return cmp.Or(cmp.Compare(a.key.auditID, b.key.auditID), cmp.Compare(a.key.stage, b.key.stage))
	})
	return d
}

// describeDuplicates says how many (auditID, stage) pairs arrived more than
// once and names the worst few; empty when there are none.
func describeDuplicates(d []duplicate) string {
	if len(d) == 0 {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d (auditID, stage) pairs arrived more often than the log holds them; the most repeated:", len(d))
	for i, x := range d[:min(len(d), maxWorstDuplicates)] {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, " %s %s %d times (logged %d)", x.key.auditID, x.key.stage, x.arrived, x.logged)
	}
	return b.String()
}
