package main

import "testing"

func TestDuplicates(t *testing.T) {
	a, b, c := eventKey{"a", "ResponseComplete"}, eventKey{"b", "ResponseStarted"}, eventKey{"c", "ResponseComplete"}
	logged := map[eventKey]int{a: 1, b: 1, c: 2}
	arrived := map[eventKey]int{a: 3, b: 2, c: 2}
	d := duplicates(logged, arrived)
	// c arrived as often as it was logged (an audit ID a client reused):
	// not a duplicate.
	if len(d) != 2 || d[0].key != a || d[1].key != b {
		t.Fatalf("duplicates %+v; want a (twice too many) then b", d)
	}
	want := "2 (auditID, stage) pairs arrived more often than the log holds them; the most repeated: " +
		"a ResponseComplete 3 times (logged 1), b ResponseStarted 2 times (logged 1)"
	if got := describeDuplicates(d); got != want {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
	if got := describeDuplicates(duplicates(logged, logged)); got != "" {
		t.Fatalf("no duplicates described as %q", got)
	}
}
