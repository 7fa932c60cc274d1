package sink

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// A record the broker rejects for its content (INVALID_RECORD,
// CORRUPT_MESSAGE) rejects its whole batch: the sink resends the batch's
// messages alone, and dead-letters only the one rejected alone; the rest of
// the batch is delivered and Deliver succeeds.
func TestDeliverBadRecordDeadLetters(t *testing.T) {
	for _, code := range []*kerr.Error{kerr.InvalidRecord, kerr.CorruptMessage} {
		t.Run(code.Message, func(t *testing.T) {
			c := newCluster(t)
			c.ControlKey(int16(kmsg.Produce), func(req kmsg.Request) (kmsg.Response, error, bool) {
				c.KeepControl()
				return failPartitions(req, func(topic string, _ int32, records []byte) (int16, *string) {
					if topic != "dlq" && bytes.Contains(records, []byte("BAD-RECORD")) {
						return code.Code, nil
					}
					return 0, nil
				})
			})
			cfg := testConfig(c.ListenAddrs())
			cfg.DeadLetterTopic = "dlq"
			cfg.Compression = CompressionNone // so that the fake broker sees the marker
			s, rec := newTestSink(t, cfg)
			evs := testEvents(8, 700)
			for i := range evs {
				evs[i].Stage = StageResponseComplete
				evs[i].AuditID = []byte("one-partition")
			}
			evs[3].Value = bytes.Replace(evs[3].Value, []byte(`"verb"`), []byte(`"BAD-RECORD":1,"verb"`), 1)
			res, err := s.Deliver(context.Background(), evs)
			if err != nil {
				t.Fatalf("Deliver: %v", err)
			}
			if res != (Result{Acked: 7, DeadLettered: 1}) {
				t.Errorf("unexpected result %+v", res)
			}
			dead := consume(t, c.ListenAddrs(), 1, "dlq")
			if dead[0].value != string(evs[3].Value) || dead[0].headers[HeaderOriginalTopic] != stageTopics[2] ||
				!strings.Contains(dead[0].headers[HeaderError], code.Message) && !strings.Contains(dead[0].headers[HeaderError], "Invalid Message") &&
					!strings.Contains(dead[0].headers[HeaderError], "Invalid Record") {
				t.Errorf("unexpected dead letter %v %.60s", dead[0].headers, dead[0].value)
			}
			if recs := consume(t, c.ListenAddrs(), 7, stageTopics[2]); len(recs) != 7 {
				t.Errorf("the rest of the batch was not delivered")
			}
			if st := s.Stats().Topics[stageTopics[2]]; st.Sent != 7 || st.DeadLettered != 1 || st.Dropped != 0 || st.Refused != 0 {
				t.Errorf("unexpected stats %+v", st)
			}
			if !strings.Contains(rec.text(), "warn: dead-lettered 1 event(s)") {
				t.Errorf("dead letter not logged:\n%s", rec.text())
			}
		})
	}
}

// Without a dead-letter topic, records the broker rejects are dropped,
// counted and logged once per cause; Deliver succeeds for the rest.
func TestDeliverBadRecordDrops(t *testing.T) {
	c := newCluster(t)
	c.ControlKey(int16(kmsg.Produce), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		return failPartitions(req, failTopic(stageTopics[3], kerr.InvalidRecord.Code))
	})
	cfg := testConfig(c.ListenAddrs())
	cfg.DeadLetterTopic = ""
	s, rec := newTestSink(t, cfg)
	for range 3 {
		res, err := s.Deliver(context.Background(), testEvents(100, 700))
		if err != nil {
			t.Fatalf("Deliver: %v", err)
		}
		if res != (Result{Acked: 98, Dropped: 2}) {
			t.Errorf("unexpected result %+v", res)
		}
	}
	if st := s.Stats().Topics[stageTopics[3]]; st.Dropped != 6 {
		t.Errorf("unexpected stats %+v", st)
	}
	if n := strings.Count(rec.text(), "warn: dropped"); n != 1 {
		t.Errorf("want one log line for the cause; got %d:\n%s", n, rec.text())
	}
}

// Every other broker refusal says nothing against one event: the events are
// neither dead-lettered nor dropped, Deliver returns a retryable error at
// once (not after delivery_timeout) naming the topic, the refusal is logged
// as an error with the topic and counted in Stats.Refused.
func TestDeliverRefusalKeepsBatch(t *testing.T) {
	for _, code := range []*kerr.Error{
		kerr.TopicAuthorizationFailed, kerr.InvalidTopicException, kerr.PolicyViolation,
		kerr.UnsupportedVersion, kerr.UnknownServerError, kerr.InvalidTimestamp,
	} {
		t.Run(code.Message, func(t *testing.T) {
			c := newCluster(t)
			c.ControlKey(int16(kmsg.Produce), func(req kmsg.Request) (kmsg.Response, error, bool) {
				c.KeepControl()
				return failPartitions(req, failTopic(stageTopics[3], code.Code))
			})
			cfg := testConfig(c.ListenAddrs())
			cfg.DeadLetterTopic = "dlq"
			cfg.DeliveryTimeout = 20 * time.Second
			s, rec := newTestSink(t, cfg)
			evs := testEvents(200, 700) // 4 of them Panic
			start := time.Now()
			res, err := s.Deliver(context.Background(), evs)
			var de *DeliveryError
			if !errors.As(err, &de) || !de.Retryable || !IsRetryable(err) {
				t.Fatalf("want a retryable *DeliveryError; got %v", err)
			}
			if took := time.Since(start); took > 5*time.Second {
				t.Errorf("Deliver took %s to give up on a refusal", took)
			}
			if de.Failed != 4 || res != (Result{Acked: 196}) {
				t.Errorf("failed %d, result %+v; want 4 failed, 196 acked", de.Failed, res)
			}
			if !strings.Contains(err.Error(), `"`+stageTopics[3]+`"`) {
				t.Errorf("error does not name the topic: %v", err)
			}
			st := s.Stats().Topics[stageTopics[3]]
			if st.Refused != 4 || st.DeadLettered != 0 || st.Dropped != 0 || st.Sent != 0 {
				t.Errorf("unexpected stats %+v", st)
			}
			log := rec.text()
			if !strings.Contains(log, "error: kafka refused 1 event(s) of topic \""+stageTopics[3]+"\"") {
				t.Errorf("refusal not logged as an error naming the topic:\n%s", log)
			}
			if strings.Contains(log, "dead-lettered") || strings.Contains(log, "dropped") {
				t.Errorf("refused events were dead-lettered or dropped:\n%s", log)
			}
			// The next call is refused again, and logged no more often.
			if _, err := s.Deliver(context.Background(), evs); !IsRetryable(err) {
				t.Errorf("second call: want a retryable error; got %v", err)
			}
			if n := strings.Count(rec.text(), "error: kafka refused"); n != 1 {
				t.Errorf("want one log line a minute per cause; got %d", n)
			}
		})
	}
}

// TOPIC_AUTHORIZATION_FAILED from kfake's authorizer rather than injected:
// a SASL user allowed to write to every topic but the Panic one. Its events
// are kept and the call fails at once with a retryable error; the others are
// delivered.
func TestDeliverTopicNotAuthorized(t *testing.T) {
	allow := func(op kmsg.ACLOperation, prefix string) kfake.ACL {
		return kfake.ACL{Resource: kmsg.ACLResourceTypeTopic, Name: prefix, Pattern: kmsg.ACLResourcePatternTypePrefixed, Operation: op, Allow: true}
	}
	c := newCluster(t, kfake.EnableSASL(), kfake.EnableACLs(), kfake.Superuser("PLAIN", "admin", "admin-pw"),
		kfake.User("PLAIN", "fluent", "fluent-pw",
			allow(kmsg.ACLOperationDescribe, "k8s-audit."),
			allow(kmsg.ACLOperationWrite, "k8s-audit.Re"),
			allow(kmsg.ACLOperationWrite, "k8s-audit.dead-letter")))
	cfg := testConfig(c.ListenAddrs())
	cfg.DeliveryTimeout = 20 * time.Second
	cfg.SASL = SASLConfig{Mechanism: SASLPlain, Username: "fluent", PasswordEnv: "TEST_SINK_PASSWORD"}
	t.Setenv("TEST_SINK_PASSWORD", "fluent-pw")
	s, rec := newTestSink(t, cfg)
	start := time.Now()
	res, err := s.Deliver(context.Background(), testEvents(100, 600)) // 2 of them Panic
	var de *DeliveryError
	if !errors.As(err, &de) || !de.Retryable || !strings.Contains(err.Error(), "Topic Authorization Failed") {
		t.Fatalf("want a retryable DeliveryError for TOPIC_AUTHORIZATION_FAILED; got %v", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("took %s to give up", took)
	}
	if de.Failed != 2 || res != (Result{Acked: 98}) {
		t.Errorf("failed %d, result %+v; want 2 failed, 98 acked", de.Failed, res)
	}
	if st := s.Stats().Topics[stageTopics[3]]; st.Refused != 2 || st.DeadLettered+st.Dropped != 0 {
		t.Errorf("unexpected stats %+v", st)
	}
	if !strings.Contains(rec.text(), "WRITE and DESCRIBE") {
		t.Errorf("the log does not say what to do:\n%s", rec.text())
	}
	// Check, at start, says the same of a topic the user may not describe.
	cfg.TopicPanic = "forbidden"
	s2, _ := newTestSink(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s2.Check(ctx); err == nil || IsRetryable(err) || !strings.Contains(err.Error(), `topic "forbidden"`) ||
		!strings.Contains(err.Error(), "WRITE and DESCRIBE") {
		t.Errorf("Check: want a refusal naming the topic and what to do; got %v", err)
	}
	t.Logf("error: %v", err)
}
