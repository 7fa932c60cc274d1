package sink

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	authnv1 "k8s.io/api/authentication/v1"
	"k8s.io/apimachinery/pkg/types"
	auditinternal "k8s.io/apiserver/pkg/apis/audit"
)

// sinkEvent is ev, encoded by the apiserver's codec, as the pipeline hands
// it to the sink.
func sinkEvent(t testing.TB, ev *auditinternal.Event) Event {
	t.Helper()
	return Event{
		Value: encodeEvent(t, ev), Stage: string(ev.Stage), Level: string(ev.Level),
		AuditID: []byte(ev.AuditID), Verb: []byte(ev.Verb), User: []byte(ev.User.Username),
		Namespace: []byte(ev.ObjectRef.Namespace), Resource: []byte(ev.ObjectRef.Resource),
	}
}

// hugeClientEvents returns events at every level and two stages whose
// client-chosen strings are as large as kube-apiserver's 1 MiB header limit
// lets them be, each listed with the field it makes huge.
func hugeClientEvents(t testing.TB) (evs []Event, fields []string) {
	t.Helper()
	huge := strings.Repeat("h", 1<<20-200)
	mods := map[string]func(*auditinternal.Event){
		"userAgent":  func(e *auditinternal.Event) { e.UserAgent = huge },
		"requestURI": func(e *auditinternal.Event) { e.RequestURI = "/api/v1/namespaces/default/configmaps?x=" + huge },
		"user.extra": func(e *auditinternal.Event) { e.User.Extra = map[string]authnv1.ExtraValue{"k": {huge}} },
		"impersonatedUser.extra": func(e *auditinternal.Event) {
			e.ImpersonatedUser = &authnv1.UserInfo{Username: "bob", Extra: map[string]authnv1.ExtraValue{"k": {huge}}}
		},
	}
	n := 0
	for _, level := range []auditinternal.Level{auditinternal.LevelMetadata, auditinternal.LevelRequest, auditinternal.LevelRequestResponse} {
		for _, stage := range []auditinternal.Stage{auditinternal.StageRequestReceived, auditinternal.StageResponseComplete} {
			for field, mod := range mods {
				ev := hugeTestEvent(level)
				ev.Stage = stage
				ev.AuditID = types.UID(fmt.Sprintf("00000000-0000-4000-8000-%012d", n))
				n++
				mod(ev)
				evs = append(evs, sinkEvent(t, ev))
				fields = append(fields, field)
			}
		}
	}
	return evs, fields
}

// An event too large for max_message_bytes even without its bodies (or with
// none, at level Metadata) goes to its stage topic with its client-chosen
// strings shortened, not to the dead-letter topic.
func TestShrinkShortensClientStrings(t *testing.T) {
	cfg := testConfig([]string{"127.0.0.1:1"})
	cfg.MaxMessageBytes = 4096
	cfg.DeadLetterTopic = "dlq"
	s, _ := newTestSink(t, cfg)
	evs, fields := hugeClientEvents(t)
	var res Result
	b := s.build(evs, &res)
	if len(b.msgs) != len(evs) || res.Dropped != 0 {
		t.Fatalf("%d messages, %d dropped; want %d, 0", len(b.msgs), res.Dropped, len(evs))
	}
	byID := map[string]int{}
	for i := range evs {
		byID[string(evs[i].AuditID)] = i
	}
	for i := range b.msgs {
		m, meta := &b.msgs[i], &b.meta[i]
		e := &evs[byID[string(m.Key)]]
		if meta.dead || m.Topic != cfg.TopicFor(e.Stage) {
			t.Errorf("%s (%s, %s) sent to %q (dead %t); want its stage topic", m.Key, e.Level, fields[byID[string(m.Key)]], m.Topic, meta.dead)
			continue
		}
		if int(messageSize(m)) > cfg.MaxMessageBytes {
			t.Errorf("%s: %d bytes", m.Key, messageSize(m))
		}
		in := e.Value
		if e.Level != "Metadata" {
			in, _ = appendTruncated(nil, in)
		}
		listed := checkShortened(t, in, m.Value)
		if want := fields[byID[string(m.Key)]]; len(listed) != 1 || listed[0] != want {
			t.Errorf("%s: fields %v listed; want %s", m.Key, listed, want)
		}
	}
	if st := s.Stats().Topics[cfg.TopicFor(StageResponseComplete)]; st.Truncated != uint64(len(evs)/2) {
		t.Errorf("truncated %d; want each event counted once, %d", st.Truncated, len(evs)/2)
	}
}

// Only an event that shortening cannot bring under the limit is
// dead-lettered: here, one whose sourceIPs (never shortened) are too many.
func TestShrinkDeadLettersWhatCannotFit(t *testing.T) {
	cfg := testConfig([]string{"127.0.0.1:1"})
	cfg.MaxMessageBytes = 4096
	cfg.DeadLetterTopic = "dlq"
	s, _ := newTestSink(t, cfg)
	ev := hugeTestEvent(auditinternal.LevelMetadata)
	ev.UserAgent = strings.Repeat("u", 10000)
	for i := range 1000 {
		ev.SourceIPs = append(ev.SourceIPs, fmt.Sprintf("10.0.%d.%d", i/250, i%250))
	}
	var res Result
	b := s.build([]Event{sinkEvent(t, ev)}, &res)
	if len(b.msgs) != 1 || !b.meta[0].dead {
		t.Fatalf("not dead-lettered: %+v", b.meta)
	}
	for _, h := range b.msgs[0].Headers {
		if h.Key == HeaderError && string(h.Value) != "event too large for max_message_bytes even after truncation" {
			t.Errorf("error header %q", h.Value)
		}
	}
	if v := b.msgs[0].Value; !bytes.HasPrefix(encodeEvent(t, ev), v) {
		t.Errorf("dead letter is not the start of the event: %.200s", v)
	}
}

// A message within max_message_bytes that the broker refuses (its topic's
// max.message.bytes is lower, and unknown to the sink) is shortened as far as
// the fields allow, then dead-lettered if refused again.
func TestShrinkBrokerRefused(t *testing.T) {
	cfg := testConfig([]string{"127.0.0.1:1"})
	cfg.DeadLetterTopic = "dlq"
	s, _ := newTestSink(t, cfg)
	ev := hugeTestEvent(auditinternal.LevelMetadata)
	ev.UserAgent = strings.Repeat("u", 10000)
	ev.RequestURI = "/api/v1/namespaces/default/configmaps/x?" + strings.Repeat("q", 5000)
	in := sinkEvent(t, ev)
	var res Result
	b := s.build([]Event{in}, &res)
	if !bytes.Equal(b.msgs[0].Value, in.Value) {
		t.Fatalf("event within max_message_bytes changed")
	}
	if !s.shrink(b, 0) || b.meta[0].dead {
		t.Fatalf("refused event not kept for its stage topic")
	}
	want, _ := appendShortened(nil, in.Value, 0)
	if got := b.msgs[0].Value; !bytes.Equal(got, want) {
		t.Errorf("not shortened to minKept\ngot  %.300s\nwant %.300s", got, want)
	}
	if checkShortened(t, in.Value, b.msgs[0].Value); b.meta[0].size != messageSize(&b.msgs[0]) {
		t.Errorf("size %d not updated", b.meta[0].size)
	}
	if !s.shrink(b, 0) || !b.meta[0].dead || b.msgs[0].Topic != "dlq" {
		t.Errorf("refused again: not dead-lettered: %+v", b.meta[0])
	}
}
