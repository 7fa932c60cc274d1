package pipeline

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"unsafe"

	"github.com/tinylib/msgp/msgp"

	"github.com/auditstream/auditstream/filter"
	"github.com/auditstream/auditstream/internal/testenv"
	"github.com/auditstream/auditstream/sink"
)

func compilePolicy(t testing.TB) *filter.Policy {
	t.Helper()
	p, warnings, err := filter.Compile([]byte(testenv.Policy))
	if err != nil || len(warnings) > 0 {
		t.Fatalf("cannot compile the test policy: %v %v", err, warnings)
	}
	return p
}

// auditLine returns one audit event as kube-apiserver writes it.
func auditLine(i int, stage, user, verb, ns, resource string) string {
	uri := "/api/v1/namespaces/" + ns + "/" + resource
	if ns == "" {
		uri = "/api/v1/" + resource
	}
	return fmt.Sprintf(`{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"RequestResponse",`+
		`"auditID":"00000000-0000-0000-0000-%012d","stage":%q,"requestURI":%q,"verb":%q,`+
		`"user":{"username":%q,"groups":["system:authenticated"]},"sourceIPs":["10.0.0.1"],`+
		`"objectRef":{"resource":%q,"namespace":%q,"apiVersion":"v1"},"responseStatus":{"metadata":{},"code":200},`+
		`"requestObject":{"kind":"X","spec":{"n":%d}},"responseObject":{"kind":"X","status":{"ok":true}},`+
		`"requestReceivedTimestamp":"2026-01-01T00:00:00.000000Z","stageTimestamp":"2026-01-01T00:00:00.001000Z"}`,
		i, stage, uri, verb, user, resource, ns, i)
}

// chunkBuilder writes Fluent Bit chunks: v2 is [[ts, {}], record], else
// [ts, record]; wide uses array32/map32/str32 headers everywhere.
type chunkBuilder struct {
	b        []byte
	v2, wide bool
	n        int
}

func (c *chunkBuilder) arr(n uint32) {
	if c.wide {
		c.b = append(c.b, 0xdd)
		c.b = binary.BigEndian.AppendUint32(c.b, n)
		return
	}
	c.b = msgp.AppendArrayHeader(c.b, n)
}

func (c *chunkBuilder) mapHdr(n uint32) {
	if c.wide {
		c.b = append(c.b, 0xdf)
		c.b = binary.BigEndian.AppendUint32(c.b, n)
		return
	}
	c.b = msgp.AppendMapHeader(c.b, n)
}

func (c *chunkBuilder) str(s string) {
	if c.wide {
		c.b = append(c.b, 0xdb)
		c.b = binary.BigEndian.AppendUint32(c.b, uint32(len(s)))
		c.b = append(c.b, s...)
		return
	}
	c.b = msgp.AppendString(c.b, s)
}

func (c *chunkBuilder) head(sec uint32) {
	c.arr(2)
	if c.v2 {
		c.arr(2)
	}
	c.b = append(c.b, 0xd7, 0x00)
	c.b = binary.BigEndian.AppendUint32(c.b, sec)
	c.b = binary.BigEndian.AppendUint32(c.b, 0)
	if c.v2 {
		c.mapHdr(0)
	}
}

// raw adds a tail-without-parser record {"log": line}.
func (c *chunkBuilder) raw(line string) *chunkBuilder {
	c.head(1_700_000_000 + uint32(c.n))
	c.n++
	c.mapHdr(1)
	c.str("log")
	c.str(line)
	return c
}

// parsed adds the event as a parsed map, as "Parser json" produces it.
func (c *chunkBuilder) parsed(line string) *chunkBuilder {
	var v map[string]any
	if err := json.Unmarshal([]byte(line), &v); err != nil {
		panic(err)
	}
	c.head(1_700_000_000 + uint32(c.n))
	c.n++
	var err error
	if c.b, err = msgp.AppendIntf(c.b, v); err != nil {
		panic(err)
	}
	return c
}

// groupMarker adds a group start (-1) or end (-2) marker.
func (c *chunkBuilder) groupMarker(start bool) *chunkBuilder {
	sec := uint32(0xfffffffe)
	if start {
		sec = 0xffffffff
	}
	c.head(sec)
	c.mapHdr(0)
	return c
}

// delivered is one event as the fake sink saw it, copied.
type delivered struct {
	value, auditID, verb, user, namespace, resource string
	stage, level                                    string
	deadLetter                                      string
}

// fakeSink records what it is given and answers with deliver's result.
type fakeSink struct {
	mu      sync.Mutex
	got     []delivered
	calls   int
	closed  bool
	deliver func(ctx context.Context, events []sink.Event) error
	// chunk is the flushed chunk: only an event's value may point into it,
	// as a whole (views counts those), never its other fields, which are
	// views of memory the next event reuses.
	chunk   []byte
	aliased bool
	views   int
}

func (f *fakeSink) Deliver(ctx context.Context, events []sink.Event) (sink.Result, error) {
	f.mu.Lock()
	f.calls++
	for _, e := range events {
		for _, b := range [][]byte{e.AuditID, e.Verb, e.User, e.Namespace, e.Resource} {
			if overlaps(b, f.chunk) {
				f.aliased = true
			}
		}
		if overlaps(e.Value, f.chunk) {
			f.views++
			if !overlaps(e.Value[:1], f.chunk) || !overlaps(e.Value[len(e.Value)-1:], f.chunk) {
				f.aliased = true // runs off the chunk's ends
			}
		}
	}
	deliver := f.deliver
	f.mu.Unlock()
	if deliver != nil {
		if err := deliver(ctx, events); err != nil {
			return sink.Result{}, err
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, e := range events {
		f.got = append(f.got, delivered{string(e.Value), string(e.AuditID), string(e.Verb),
			string(e.User), string(e.Namespace), string(e.Resource), e.Stage, e.Level, e.DeadLetter})
	}
	return resultOf(events), nil
}

// resultOf is the Result of a sink that takes every event: to the
// dead-letter topic those that ask for it.
func resultOf(events []sink.Event) sink.Result {
	var r sink.Result
	for _, e := range events {
		if e.DeadLetter != "" {
			r.DeadLettered++
		} else {
			r.Acked++
		}
	}
	return r
}

func (f *fakeSink) Close(context.Context) error {
	f.mu.Lock()
	f.closed = true
	f.mu.Unlock()
	return nil
}

func (f *fakeSink) events() []delivered {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]delivered(nil), f.got...)
}

func overlaps(a, b []byte) bool {
	if len(a) == 0 || len(b) == 0 {
		return false
	}
	a0, b0 := uintptr(unsafe.Pointer(&a[0])), uintptr(unsafe.Pointer(&b[0]))
	return a0 < b0+uintptr(len(b)) && b0 < a0+uintptr(len(a))
}

// syncBuffer is a concurrency-safe log destination for tests.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// newTestPipeline returns a pipeline over the test policy and f.
func newTestPipeline(t testing.TB, f *fakeSink, mod func(*Config)) (*Pipeline, *syncBuffer) {
	t.Helper()
	pol := compilePolicy(t)
	logs := &syncBuffer{}
	cfg := Config{
		NewProcessor: func() Processor { return pol.NewProcessor() },
		Sink:         f,
		IsRetryable:  sink.IsRetryable,
		Log:          NewLogger(logs, LevelDebug, "output:auditstream:test.0"),
	}
	if mod != nil {
		mod(&cfg)
	}
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close(context.Background()) })
	return p, logs
}
