package chaos

import (
	"strings"
	"testing"

	"github.com/auditstream/auditstream/filter"
	"github.com/auditstream/auditstream/internal/testenv"
	"github.com/auditstream/auditstream/sink"
)

// TestLedger checks the ledger itself, without a broker: each way a line
// can go wrong is counted where it belongs, and a run where everything is
// where it should be balances. It runs in every go test.
func TestLedger(t *testing.T) {
	p, _, err := filter.Compile([]byte(testenv.Policy))
	if err != nil {
		t.Fatal(err)
	}
	pod := func(id string) []byte {
		return []byte(eventJSON(id, "ResponseComplete", "get", "/api/v1/namespaces/default/pods/p1", "pods", "p1",
			`,"responseObject":{"kind":"Pod"}`))
	}
	lines := []logLine{
		{id: "cx-t-000000", data: pod("cx-t-000000")},
		{id: "cx-t-000001", data: []byte(secretEvent("cx-t-000001", ""))},
		{id: "cx-t-000002", data: []byte(strings.Replace(string(pod("cx-t-000002")), "alice", "system:kube-proxy", 1))},
		{id: "cx-t-h00003", data: []byte("garbage cx-t-h00003"), hostile: "not-json"},
	}
	rt := topicsFor("t")
	exps := expect(p, lines)
	if exps[0].fate != toStage || exps[1].fate != toStage || exps[2].fate != dropped || exps[3].fate != toDeadLetter {
		t.Fatalf("fates %v %v %v %v: want stage, stage, dropped, dead-letter", exps[0].fate, exps[1].fate, exps[2].fate, exps[3].fate)
	}
	on := func(topic string, value []byte, id string) arrival {
		return arrival{topic: topic, value: value, headers: map[string]string{sink.HeaderAuditID: id}}
	}
	dead := func(value []byte, why string) arrival {
		a := arrival{topic: rt.deadLetter, value: value, headers: map[string]string{}}
		if why != "" {
			a.headers[sink.HeaderError] = why
		}
		return a
	}
	complete := rt.stage["ResponseComplete"]
	good := []arrival{
		on(complete, lines[0].data, lines[0].id),
		on(complete, []byte(secretEvent("cx-t-000001", "")), lines[1].id),
		dead(lines[3].data, "not an audit event"),
	}
	tests := []struct {
		name     string
		arrivals []arrival
		want     verdict
	}{
		{"balanced", good, verdict{}},
		{"lost", good[1:], verdict{Lost: 1}},
		{"undecidable line not dead-lettered", good[:2], verdict{Lost: 1}},
		{"duplicate", append(good[:3:3], good[0]), verdict{Duplicates: 1}},
		{"dead-lettered instead of sent", append(good[1:3:3], dead(lines[0].data, "too large")), verdict{}},
		{"dead-lettered without a reason", append(good[:3:3], dead(lines[0].data, "")), verdict{Duplicates: 1, Unexpected: 1}},
		{"dropped line sent", append(good[:3:3], on(complete, lines[2].data, lines[2].id)), verdict{Unexpected: 1}},
		{"wrong stage topic", append(good[1:3:3], on(rt.stage["Panic"], lines[0].data, lines[0].id)), verdict{Unexpected: 1}},
		{"unknown message", append(good[:3:3], on(complete, []byte(`{"x":1}`), "")), verdict{Unexpected: 1}},
		{"body at Metadata", append(good[:1:1], on(complete, []byte(secretEvent("cx-t-000001", `,"RequestObject":{"k":"`+bodyMark+`"}`)), lines[1].id), good[2]),
			verdict{Leaked: 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := check(exps, rt, tc.arrivals)
			got := verdict{Lost: v.Lost, Duplicates: v.Duplicates, Unexpected: v.Unexpected, Leaked: v.Leaked}
			if got.String() != tc.want.String() {
				t.Errorf("got %s\nwant %s\n%s", got.String(), tc.want.String(), strings.Join(v.details, "\n"))
			}
			if v.ok() != (tc.want.Lost == 0 && tc.want.Unexpected == 0 && tc.want.Leaked == 0) {
				t.Errorf("ok() = %v for %s", v.ok(), v)
			}
		})
	}
}
