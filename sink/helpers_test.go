package sink

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// stageTopics are the default topics, one per stage.
var stageTopics = []string{
	"k8s-audit.RequestReceived", "k8s-audit.ResponseStarted", "k8s-audit.ResponseComplete", "k8s-audit.Panic",
}

// testEvent builds an audit event in the apiserver's key order whose JSON is
// about size bytes (at least ~600), padded inside requestObject.
func testEvent(i int, stage, level string, size int) Event {
	auditID := fmt.Sprintf("00000000-0000-4000-8000-%012d", i)
	verb := []string{"get", "create", "update", "delete", "watch"}[i%5]
	ns := []string{"default", "kube-system", ""}[i%3]
	head := fmt.Sprintf(`{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":%q,"auditID":%q,"stage":%q,`+
		`"requestURI":"/api/v1/namespaces/%s/configmaps/cm-%d","verb":%q,`+
		`"user":{"username":"system:serviceaccount:kube-system:ctrl-%d","groups":["system:serviceaccounts","system:authenticated"]},`+
		`"sourceIPs":["10.0.0.%d"],"userAgent":"kube-controller-manager/v1.34.0","objectRef":{"resource":"configmaps","namespace":%q,"name":"cm-%d","apiVersion":"v1"},`+
		`"responseStatus":{"metadata":{},"code":200},`,
		level, auditID, stage, ns, i, verb, i%7, i%250, ns, i)
	tail := `"requestReceivedTimestamp":"2026-11-26T11:34:05.123456Z","stageTimestamp":"2026-11-26T11:34:05.133456Z",` +
		`"annotations":{"authorization.k8s.io/decision":"allow","authorization.k8s.io/reason":"RBAC: allowed"}}`
	body := ""
	if level != "Metadata" {
		pad := max(size-len(head)-len(tail)-60, 0)
		body = `"requestObject":{"kind":"ConfigMap","data":{"k":"` + strings.Repeat("x", pad) + `"}},`
	}
	return Event{
		Value:     []byte(head + body + tail),
		Stage:     stage,
		Level:     level,
		AuditID:   []byte(auditID),
		Verb:      []byte(verb),
		User:      []byte(fmt.Sprintf("system:serviceaccount:kube-system:ctrl-%d", i%7)),
		Namespace: []byte(ns),
		Resource:  []byte("configmaps"),
	}
}

// testEvents returns n events cycling through the stages (Panic rarely).
func testEvents(n, size int) []Event {
	evs := make([]Event, n)
	for i := range evs {
		stage := []string{StageRequestReceived, StageResponseComplete, StageResponseStarted, StageResponseComplete}[i%4]
		if i%50 == 49 {
			stage = StagePanic
		}
		evs[i] = testEvent(i, stage, "RequestResponse", size)
	}
	return evs
}

// newCluster starts a kfake cluster with the stage topics (3 partitions), the
// dead-letter topics "dlq" and the default one (1 partition), and any extra
// topics.
func newCluster(t testing.TB, opts ...kfake.Opt) *kfake.Cluster {
	t.Helper()
	opts = append([]kfake.Opt{kfake.NumBrokers(1), kfake.SeedTopics(3, stageTopics...), kfake.SeedTopics(1, "dlq", DefaultDeadLetterTopic)}, opts...)
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		t.Fatalf("cannot start kfake: %v", err)
	}
	t.Cleanup(c.Close)
	return c
}

// testConfig returns a config for brokers with short timeouts.
func testConfig(brokers []string) Config {
	cfg := DefaultConfig()
	cfg.Brokers = brokers
	cfg.DeliveryTimeout = 5 * time.Second
	return cfg
}

// logRecorder is a Logger that keeps lines for assertions.
type logRecorder struct {
	mu    sync.Mutex
	lines []string
}

func (l *logRecorder) log(level LogLevel, msg string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, level.String()+": "+msg)
}

func (l *logRecorder) text() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

func newTestSink(t testing.TB, cfg Config) (*Sink, *logRecorder) {
	t.Helper()
	rec := &logRecorder{}
	s, err := New(cfg, rec.log)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.Close(ctx)
	})
	return s, rec
}

// consumed is one record read back.
type consumed struct {
	topic     string
	partition int32
	key       string
	value     string
	headers   map[string]string
}

// consume reads n records from topics with an independent client (franz-go),
// failing the test if they do not arrive within 10 s.
func consume(t testing.TB, brokers []string, n int, topics ...string) []consumed {
	t.Helper()
	return consumeWith(t, nil, brokers, n, topics...)
}

// consumeWith is consume with more client options (SASL, say).
func consumeWith(t testing.TB, opts []kgo.Opt, brokers []string, n int, topics ...string) []consumed {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topics...),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(200 * time.Millisecond)}, opts...)...)
	if err != nil {
		t.Fatalf("consumer: %v", err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var out []consumed
	for len(out) < n {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("consumed %d of %d records before the timeout", len(out), n)
		}
		fs.EachRecord(func(r *kgo.Record) {
			c := consumed{topic: r.Topic, partition: r.Partition, key: string(r.Key), value: string(r.Value), headers: map[string]string{}}
			for _, h := range r.Headers {
				c.headers[h.Key] = string(h.Value)
			}
			out = append(out, c)
		})
	}
	return out
}

// produceError answers a produce request with code for every partition.
func produceError(req kmsg.Request, code int16) kmsg.Response {
	resp, _, _ := failPartitions(req, func(string, int32, []byte) (int16, *string) { return code, nil })
	return resp
}

// failPartitions lets a fake broker refuse some partitions of a produce
// request: answer gives a partition's error code and message (0: accept).
// The sink sends one request per broker, with a batch per partition, and the
// fake broker can only answer a request whole or let it through: a request
// whose partitions all fail is answered with their codes; one that mixes
// them with accepted ones loses its failing partitions and goes through, so
// that the broker writes the others and its answer omits the failing ones,
// which the sink then sends again, on their own, and is answered their codes.
func failPartitions(req kmsg.Request, answer func(topic string, partition int32, records []byte) (int16, *string)) (kmsg.Response, error, bool) {
	r := req.(*kmsg.ProduceRequest)
	failing, total := 0, 0
	for _, t := range r.Topics {
		for _, p := range t.Partitions {
			total++
			if code, _ := answer(t.Topic, p.Partition, p.Records); code != 0 {
				failing++
			}
		}
	}
	switch failing {
	case 0:
		return nil, nil, false
	case total:
		resp := r.ResponseKind().(*kmsg.ProduceResponse)
		for _, t := range r.Topics {
			rt := kmsg.NewProduceResponseTopic()
			rt.Topic, rt.TopicID = t.Topic, t.TopicID
			for _, p := range t.Partitions {
				rp := kmsg.NewProduceResponseTopicPartition()
				rp.Partition = p.Partition
				rp.ErrorCode, rp.ErrorMessage = answer(t.Topic, p.Partition, p.Records)
				rt.Partitions = append(rt.Partitions, rp)
			}
			resp.Topics = append(resp.Topics, rt)
		}
		return resp, nil, true
	}
	topics := r.Topics[:0]
	for _, t := range r.Topics {
		parts := t.Partitions[:0]
		for _, p := range t.Partitions {
			if code, _ := answer(t.Topic, p.Partition, p.Records); code == 0 {
				parts = append(parts, p)
			}
		}
		if t.Partitions = parts; len(parts) > 0 {
			topics = append(topics, t)
		}
	}
	r.Topics = topics
	return nil, nil, false
}

// failTopic is a failPartitions answer: code for every partition of topic.
func failTopic(topic string, code int16) func(string, int32, []byte) (int16, *string) {
	return func(t string, _ int32, _ []byte) (int16, *string) {
		if t == topic {
			return code, nil
		}
		return 0, nil
	}
}

// byAuditID counts consumed records per auditID header.
func byAuditID(recs []consumed) map[string]int {
	m := map[string]int{}
	for _, r := range recs {
		m[r.headers[HeaderAuditID]]++
	}
	return m
}
