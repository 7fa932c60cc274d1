package main

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/auditstream/auditstream/internal/kafkatest"
	"github.com/auditstream/auditstream/internal/testenv"
)

var stages = []string{"RequestReceived", "ResponseStarted", "ResponseComplete", "Panic"}

// kind is one shape of event in the Kafka scenario and where it must end.
type kind struct {
	stage, user, verb, ns, resource string
	level                           string // "" if the policy drops it
}

var kinds = []kind{
	{"ResponseComplete", "alice", "get", "default", "pods", "RequestResponse"},
	{"ResponseComplete", "bob", "get", "ns1", "secrets", "Metadata"},
	{"ResponseStarted", "alice", "create", "default", "pods", "RequestResponse"},
	{"Panic", "carol", "delete", "ns2", "configmaps", "RequestResponse"},
	{"ResponseComplete", "system:kube-proxy", "watch", "default", "endpoints", ""},
	{"RequestReceived", "alice", "get", "default", "pods", ""},
}

// TestHarnessKafka drives two instances of the .so from several threads with
// every chunk layout, against the real broker, and reads back what arrived:
// each kept event exactly as often as its chunk was flushed, on its stage's
// topic, at the policy's level, intact although the harness poisons every
// chunk the moment a flush returns.
func TestHarnessKafka(t *testing.T) {
	info := kafkatest.Broker(t)
	so, _, _ := artifacts(t)
	dir := t.TempDir()
	pol := writeFile(t, dir, "policy.yaml", testenv.Policy)

	prefix := kafkatest.TopicName(t)
	for _, inst := range []string{"raw", "parsed"} {
		for _, st := range stages {
			kafkatest.CreateTopic(t, info, prefix+"-"+inst+"."+st, 1)
		}
	}

	// One events file per chunk, so that each chunk's audit IDs are its own.
	type chunkSpec struct {
		name, inst, format, width, kind string
		events, threads, times          int
		markers                         bool
	}
	specs := []chunkSpec{
		{"v2fix", "raw", "v2", "fix", "raw", 120, 2, 3, true},
		{"v1wide", "raw", "v1", "wide", "rawextra", 60, 1, 1, false},
		{"v1int", "raw", "v1int", "fix", "raw", 30, 1, 1, false},
		{"v1float", "raw", "v1float", "wide", "raw", 30, 2, 1, false},
		{"parsed", "parsed", "v2", "wide", "parsed", 60, 2, 2, false},
		{"parsedbin", "parsed", "v1", "fix", "parsedbin", 30, 1, 1, false},
		// Over 128 KB: filtered in two parts (filter_parallelism), on
		// goroutines of a flush that came in through cgo.
		{"v2big", "raw", "v2", "fix", "raw", 400, 2, 1, true},
		{"parsedbig", "parsed", "v1", "wide", "parsed", 300, 1, 1, false},
	}
	type want struct {
		kind  kind
		times int
		line  string
	}
	wants := map[string]*want{} // by audit ID
	perTopic := map[string]int{}
	var script strings.Builder
	fmt.Fprintf(&script, "load %s\nregister v511\n", so)
	for _, inst := range []string{"raw", "parsed"} {
		fmt.Fprintf(&script, "init %s instance_name=%s policy_file=%s brokers=%s topic=%s-%s.{stage} linger=1ms summary_interval=0\n",
			inst, inst, pol, strings.Join(info.Brokers, ","), prefix, inst)
	}
	for _, s := range specs {
		var lines strings.Builder
		for i := range s.events {
			k := kinds[i%len(kinds)]
			id := fmt.Sprintf("%s-%04d", s.name, i)
			line := auditLine(id, k.stage, k.user, k.verb, k.ns, k.resource)
			lines.WriteString(line + "\n")
			if k.level != "" {
				wants[id] = &want{kind: k, times: s.threads * s.times, line: line}
				perTopic[prefix+"-"+s.inst+"."+k.stage] += s.threads * s.times
			}
		}
		if strings.HasSuffix(s.name, "big") && lines.Len() < 128<<10 {
			t.Fatalf("chunk %s holds %d bytes of events: too few to be filtered in parts", s.name, lines.Len())
		}
		file := writeFile(t, dir, s.name+".jsonl", lines.String())
		markers := ""
		if s.markers {
			markers = " markers"
		}
		fmt.Fprintf(&script, "chunk %s %s %s %s %s %d%s\n", s.name, s.format, s.width, s.kind, file, s.events, markers)
	}
	// A chunk cut inside its last event: the events before the cut are
	// delivered, then FLB_ERROR.
	script.WriteString("truncate cut v1wide 100\n")
	for _, s := range specs {
		fmt.Fprintf(&script, "flush %s %s threads=%d times=%d\n", s.inst, s.name, s.threads, s.times)
	}
	script.WriteString("flush raw cut\nexit raw\nexit parsed\nunregister\n")
	// The cut chunk repeats v1wide's first 59 events (the 60th is cut).
	for i := range 59 {
		if w := wants[fmt.Sprintf("v1wide-%04d", i)]; w != nil {
			w.times++
			perTopic[prefix+"-raw."+w.kind.stage]++
		}
	}

	r := runHarness(t, 3*time.Minute, script.String())
	r.ok(t)
	for _, s := range specs {
		res := r.result(t, "flush "+s.inst+" chunk="+s.name)
		if res["ok"] != res["calls"] {
			t.Fatalf("chunk %s: %v; want every flush FLB_OK", s.name, res)
		}
	}
	if res := r.result(t, "flush raw chunk=cut"); res["error"] != "1" {
		t.Fatalf("cut chunk: %v; want FLB_ERROR", res)
	}
	for _, inst := range []string{"raw", "parsed"} {
		if ex := r.result(t, "exit "+inst); ex["rc"] != "1" {
			t.Fatalf("exit %s: %v", inst, ex)
		}
	}

	// Read every topic back.
	got := map[string]int{}
	for topic, n := range perTopic {
		for _, m := range consume(t, info.Brokers, topic, n) {
			var ev struct {
				AuditID, Stage, Level, Verb string
				User                        struct{ Username string }
				RequestObject               any
			}
			if err := json.Unmarshal(m.Value, &ev); err != nil {
				t.Fatalf("topic %s: a message is not JSON (%v): %.200q", topic, err, m.Value)
			}
			w := wants[ev.AuditID]
			if w == nil {
				t.Fatalf("topic %s: unexpected event %s", topic, ev.AuditID)
			}
			got[ev.AuditID]++
			wantTopic := topic[:strings.LastIndexByte(topic, '.')+1] + w.kind.stage
			if topic != wantTopic || ev.Level != w.kind.level || ev.Stage != w.kind.stage || string(m.Key) != ev.AuditID {
				t.Fatalf("event %s on %s at level %s, key %q; want %s at %s", ev.AuditID, topic, ev.Level, m.Key, wantTopic, w.kind.level)
			}
			if w.kind.level == "RequestResponse" && !sameJSON(t, m.Value, []byte(w.line)) {
				t.Fatalf("event %s changed on the way:\n got %s\nwant %s", ev.AuditID, m.Value, w.line)
			}
			if w.kind.level == "Metadata" && ev.RequestObject != nil {
				t.Fatalf("event %s at Metadata kept its requestObject", ev.AuditID)
			}
		}
	}
	for id, w := range wants {
		if got[id] != w.times {
			t.Errorf("event %s arrived %d times; want %d", id, got[id], w.times)
		}
	}
	if !strings.Contains(r.stderr, "[error] [output:auditstream:raw] unreadable chunk: ") {
		t.Errorf("the cut chunk was not logged")
	}
	for _, inst := range []string{"raw", "parsed"} {
		if !strings.Contains(r.stderr, "[ info] [output:auditstream:"+inst+"] summary: chunks=") {
			t.Errorf("no summary line for %s at exit", inst)
		}
	}
}

// consume reads n messages from partition 0 of topic, failing after 30 s.
func consume(t *testing.T, brokers []string, topic string, n int) []kafka.Message {
	t.Helper()
	rd := kafka.NewReader(kafka.ReaderConfig{Brokers: brokers, Topic: topic, Partition: 0, MaxBytes: 10 << 20, MaxWait: 100 * time.Millisecond})
	defer rd.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out []kafka.Message
	for len(out) < n {
		m, err := rd.ReadMessage(ctx)
		if err != nil {
			t.Fatalf("topic %s: read %d of %d messages: %v", topic, len(out), n, err)
		}
		out = append(out, m)
	}
	// Nothing more may follow.
	short, cancel2 := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel2()
	if m, err := rd.ReadMessage(short); err == nil {
		t.Fatalf("topic %s: more than %d messages, e.g. %.100q", topic, n, m.Value)
	}
	return out
}

func sameJSON(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

// TestHarnessDeadLetters: through the built .so, a line that is not an
// audit event goes to the dead-letter topic as it was read, with its place
// in the chunk in the error header, between the good events that still
// arrive; the bytes after a break in a chunk's framing go there as one
// message, and the flush returns FLB_ERROR.
func TestHarnessDeadLetters(t *testing.T) {
	info := kafkatest.Broker(t)
	so, _, _ := artifacts(t)
	dir := t.TempDir()
	pol := writeFile(t, dir, "policy.yaml", testenv.Policy)
	prefix := kafkatest.TopicName(t)
	kafkatest.CreateTopic(t, info, prefix+".ResponseComplete", 1)
	kafkatest.CreateTopic(t, info, prefix+".dead", 1)
	good := func(i int) string {
		return auditLine(fmt.Sprintf("dl-%d", i), "ResponseComplete", "alice", "get", "default", "pods")
	}
	bad := `{"kind":"Event","apiVersion":"audit.k8s.io/v1","verb":7}`
	events := writeFile(t, dir, "events.jsonl", good(0)+"\n"+bad+"\n"+good(1)+"\n")
	script := fmt.Sprintf(`load %s
register v511
init dl policy_file=%s brokers=%s topic=%s.{stage} dead_letter_topic=%s.dead linger=1ms summary_interval=0
chunk c v2 fix raw %s 3
truncate cut c 10
flush dl c
flush dl cut
exit dl
unregister
`, so, pol, strings.Join(info.Brokers, ","), prefix, prefix, events)
	r := runHarness(t, 2*time.Minute, script)
	r.ok(t)
	if res := r.result(t, "flush dl chunk=c"); res["ok"] != "1" {
		t.Fatalf("chunk with a bad line: %v; want FLB_OK", res)
	}
	if res := r.result(t, "flush dl chunk=cut"); res["error"] != "1" {
		t.Fatalf("cut chunk: %v; want FLB_ERROR", res)
	}
	// The good events of both chunks, but the last one of the cut chunk.
	if n := len(consume(t, info.Brokers, prefix+".ResponseComplete", 3)); n != 3 {
		t.Fatalf("%d good events arrived; want 3", n)
	}
	dead := consume(t, info.Brokers, prefix+".dead", 3)
	header := func(m kafka.Message) string {
		for _, h := range m.Headers {
			if h.Key == "error" {
				return string(h.Value)
			}
		}
		return ""
	}
	// The bad line twice (once per chunk), the cut chunk's tail once.
	for _, m := range dead[:2] {
		if string(m.Value) != bad || !strings.HasPrefix(header(m), "record 1 of the chunk: ") {
			t.Fatalf("dead-lettered %q with error %q; want the bad line, named record 1", m.Value, header(m))
		}
	}
	if tail := dead[2]; !strings.HasPrefix(header(tail), "unreadable chunk tail at byte ") || len(tail.Value) == 0 {
		t.Fatalf("tail dead-lettered as %q with error %q", tail.Value, header(tail))
	}
	if !strings.Contains(r.stderr, "cannot be read as events (sent to the dead-letter topic as one message)") {
		t.Errorf("the cut chunk's lost bytes were not logged:\n%s", r.stderr)
	}
}
