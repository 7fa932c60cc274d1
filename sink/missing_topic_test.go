package sink

import (
	"context"
	"strings"
	"testing"
	"time"
)

// A topic that does not exist, and that the broker does not create, is
// logged as an error naming it and what to do, once however many attempts;
// Retried counts each waiting event once per call, Resends every attempt.
func TestDeliverMissingTopic(t *testing.T) {
	for _, auto := range []bool{true, false} {
		c := newCluster(t) // kfake does not create topics
		cfg := testConfig(c.ListenAddrs())
		cfg.TopicPanic = "missing"
		cfg.AutoCreateTopics = auto
		cfg.DeliveryTimeout = 1500 * time.Millisecond
		s, rec := newTestSink(t, cfg)
		evs := testEvents(100, 500) // 2 of them Panic
		res, err := s.Deliver(context.Background(), evs)
		if !IsRetryable(err) || res.Acked != 98 {
			t.Fatalf("auto %t: want a retryable error and 98 acked; got %v, %+v", auto, err, res)
		}
		hint := "auto.create.topics.enable"
		if !auto {
			hint = "set auto_create_topics on"
		}
		log := rec.text()
		if n := strings.Count(log, `error: topic "missing" does not exist`); n != 1 || !strings.Contains(log, hint) {
			t.Errorf("auto %t: want one error line naming the topic and %q; got %d:\n%s", auto, hint, n, log)
		}
		st := s.Stats().Topics["missing"]
		if st.Retried != 2 || st.Resends < 4 {
			t.Errorf("auto %t: want Retried 2 (once per event and call) and Resends >= 4; got %+v", auto, st)
		}
	}
}
