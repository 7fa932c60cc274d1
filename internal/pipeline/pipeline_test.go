package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/auditstream/auditstream/sink"
)

func TestFlushRecordFormats(t *testing.T) {
	f := func(name string, v2, wide, parsed bool) {
		t.Run(name, func(t *testing.T) {
			fs := &fakeSink{}
			p, _ := newTestPipeline(t, fs, nil)
			c := &chunkBuilder{v2: v2, wide: wide}
			if v2 {
				c.groupMarker(true)
			}
			lines := []string{
				auditLine(1, "ResponseComplete", "alice", "get", "default", "pods"),
				auditLine(2, "RequestReceived", "alice", "get", "default", "pods"),          // stage omitted
				auditLine(3, "ResponseComplete", "system:kube-proxy", "watch", "", "nodes"), // level None
				auditLine(4, "ResponseComplete", "bob", "get", "ns1", "secrets"),            // Metadata
			}
			for _, l := range lines {
				if parsed {
					c.parsed(l)
				} else {
					c.raw(l)
				}
			}
			if v2 {
				c.groupMarker(false)
			}
			fs.chunk = c.b
			if out := p.Flush(c.b); out != Delivered {
				t.Fatalf("unexpected outcome %s; want delivered", out)
			}
			got := fs.events()
			if len(got) != 2 {
				t.Fatalf("unexpected number of delivered events; got %d; want 2", len(got))
			}
			if fs.aliased {
				t.Fatalf("a header or key field handed to the sink points into the chunk, or a value runs off it")
			}
			// The first event is kept as logged: handed over straight from
			// a raw line, copied from a parsed record's JSON. The second is
			// rewritten.
			if wantViews := 1 - btoi(parsed); fs.views != wantViews {
				t.Fatalf("%d values handed over as views of the chunk; want %d", fs.views, wantViews)
			}
			e := got[0]
			if e.stage != "ResponseComplete" || e.level != "RequestResponse" || e.user != "alice" ||
				e.verb != "get" || e.namespace != "default" || e.resource != "pods" ||
				e.auditID != "00000000-0000-0000-0000-000000000001" {
				t.Fatalf("unexpected first event fields: %+v", e)
			}
			var ev map[string]any
			if err := json.Unmarshal([]byte(e.value), &ev); err != nil || ev["auditID"] != e.auditID {
				t.Fatalf("first event value is not the event: %v %.200s", err, e.value)
			}
			e = got[1]
			if e.level != "Metadata" || e.resource != "secrets" || strings.Contains(e.value, "requestObject") {
				t.Fatalf("secret event not rewritten to Metadata: %+v", e)
			}
			st := p.Stats()
			want := Stats{Chunks: 1, Events: 4, Kept: 2, Dropped: 2, Delivered: 2}
			if parsed {
				want.Parsed = 4
			}
			if st != want {
				t.Fatalf("unexpected stats\ngot  %+v\nwant %+v", st, want)
			}
		})
	}
	f("v2 raw", true, false, false)
	f("v2 raw wide headers", true, true, false)
	f("v1 raw", false, false, false)
	f("v1 raw wide headers", false, true, false)
	f("v2 parsed", true, false, true)
	f("v1 parsed wide headers", false, true, true)
}

// TestFlushSurvivesBadEvents: a record or event that cannot be read goes to
// the dead-letter topic as it was read, in chunk order between the good
// events, with a reason naming where it was and what is wrong; it is
// counted as malformed, logged once per interval, and never fails the chunk.
func TestFlushSurvivesBadEvents(t *testing.T) {
	fs := &fakeSink{}
	p, logs := newTestPipeline(t, fs, nil)
	c := &chunkBuilder{v2: true}
	good1 := auditLine(1, "ResponseComplete", "alice", "get", "default", "pods")
	c.raw(good1)
	cut := `{"kind":"Event","level":"Metadata"`
	for range 50 {
		c.raw(cut)
	}
	c.raw(`not json at all`)
	// A record whose log value is a number is taken as a parsed event,
	// which is not an audit event either.
	c.head(1)
	c.mapHdr(1)
	c.str("log")
	c.b = append(c.b, 0x07)
	good2 := auditLine(2, "ResponseComplete", "alice", "get", "default", "pods")
	c.raw(good2)

	if out := p.Flush(c.b); out != Delivered {
		t.Fatalf("unexpected outcome %s; want delivered", out)
	}
	got := fs.events()
	if len(got) != 54 {
		t.Fatalf("%d events handed to the sink; want 54 (2 kept, 52 dead-lettered)", len(got))
	}
	if got[0].value != good1 || got[0].deadLetter != "" || got[53].value != good2 || got[53].deadLetter != "" {
		t.Fatalf("the good events are not first and last, as in the chunk: %+v, %+v", got[0], got[53])
	}
	for i := 1; i <= 50; i++ {
		if got[i].value != cut || got[i].stage != "" || !strings.HasPrefix(got[i].deadLetter, fmt.Sprintf("record %d of the chunk: ", i)) {
			t.Fatalf("event %d: %+v; want the cut line as read, dead-lettered with its index", i, got[i])
		}
	}
	if got[51].value != "not json at all" || !strings.Contains(got[51].deadLetter, "record 51 of the chunk: ") {
		t.Fatalf("event 51: %+v", got[51])
	}
	if got[52].value != `{"log":7}` || !strings.HasSuffix(got[52].deadLetter, "(the message is the parsed record re-encoded as JSON)") {
		t.Fatalf("event 52: %+v; want the record as JSON, and the reason saying so", got[52])
	}
	st := p.Stats()
	if st.Malformed != 52 || st.Events != 54 || st.DeadLettered != 52 || st.Delivered != 2 || st.Parsed != 1 {
		t.Fatalf("unexpected stats %+v", st)
	}
	// Rate limiting: one line for the cause, the rest counted.
	if n := strings.Count(logs.String(), "malformed audit event"); n != 1 {
		t.Fatalf("malformed events logged %d times; want once:\n%s", n, logs)
	}
	if !strings.Contains(logs.String(), "malformed audit event: record 1 of the chunk: ") {
		t.Fatalf("the line does not say which record:\n%s", logs)
	}
	p.logSummary()
	if !strings.Contains(logs.String(), "malformed audit event: 51 more since the last such message") {
		t.Fatalf("summary does not report the suppressed lines:\n%s", logs)
	}
}

// TestFlushUnreadableChunk: the events before a break in the framing are
// delivered, the bytes from the break on go to the dead-letter topic as one
// message, and the flush fails (a retry would not read more).
func TestFlushUnreadableChunk(t *testing.T) {
	f := func(name string, data []byte, wantDelivered, breakAt int) {
		t.Run(name, func(t *testing.T) {
			fs := &fakeSink{}
			p, logs := newTestPipeline(t, fs, nil)
			if out := p.Flush(data); out != Failed {
				t.Fatalf("unexpected outcome %s; want failed", out)
			}
			got := fs.events()
			if len(got) != wantDelivered+1 {
				t.Fatalf("unexpected delivered count %d; want %d and the tail", len(got), wantDelivered)
			}
			tail := got[len(got)-1]
			if tail.value != string(data[breakAt:]) || !strings.HasPrefix(tail.deadLetter, fmt.Sprintf("unreadable chunk tail at byte %d: chunk: ", breakAt)) {
				t.Fatalf("tail %q, reason %q; want bytes %d on", tail.value, tail.deadLetter, breakAt)
			}
			lost := len(data) - breakAt
			if st := p.Stats(); st.Unreadable != 1 || st.Failures != 1 || st.UnreadableBytes != uint64(lost) || st.DeadLettered != 1 {
				t.Fatalf("unexpected stats %+v", st)
			}
			want := fmt.Sprintf("[error] [output:auditstream:test.0] unreadable chunk: the last %d of its %d bytes, from byte %d, cannot be read as events", lost, len(data), breakAt)
			if !strings.Contains(logs.String(), want) {
				t.Fatalf("no error line %q:\n%s", want, logs)
			}
		})
	}
	good := &chunkBuilder{v2: true}
	good.raw(auditLine(1, "ResponseComplete", "alice", "get", "default", "pods"))
	good.raw(auditLine(2, "ResponseComplete", "alice", "get", "default", "pods"))
	whole := len(good.b)
	good.raw(auditLine(3, "ResponseComplete", "alice", "get", "default", "pods"))
	f("truncated in the third event", good.b[:whole+40], 2, whole)
	f("invalid byte after two events", append(good.b[:whole:whole], 0xc1), 2, whole)
	f("garbage", []byte{0xc1, 0xff, 0x00, 0x13}, 0, 0)
}

func TestFlushDeliveryFailures(t *testing.T) {
	chunk := (&chunkBuilder{v2: true}).raw(auditLine(1, "ResponseComplete", "alice", "get", "default", "pods")).b
	f := func(name string, deliver func(context.Context, []sink.Event) error, want Outcome) {
		t.Run(name, func(t *testing.T) {
			fs := &fakeSink{deliver: deliver}
			p, _ := newTestPipeline(t, fs, func(c *Config) { c.FlushTimeout = 200 * time.Millisecond })
			start := time.Now()
			if out := p.Flush(chunk); out != want {
				t.Fatalf("unexpected outcome %s; want %s", out, want)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Fatalf("flush took %s, past its deadline", d)
			}
		})
	}
	f("broker down", func(context.Context, []sink.Event) error {
		return &sink.DeliveryError{Failed: 1, Total: 1, Retryable: true, Err: errors.New("connection refused")}
	}, Retry)
	f("authentication", func(context.Context, []sink.Event) error {
		return &sink.DeliveryError{Failed: 1, Total: 1, Retryable: false, Err: errors.New("SASL failed")}
	}, Retry) // kept for a retry after the configuration is fixed, never dropped
	f("hangs until the deadline", func(ctx context.Context, _ []sink.Event) error {
		<-ctx.Done()
		return ctx.Err()
	}, Retry)
	f("closed sink", func(context.Context, []sink.Event) error { return sink.ErrClosed }, Retry)
}

func TestFlushConcurrent(t *testing.T) {
	fs := &fakeSink{}
	p, _ := newTestPipeline(t, fs, nil)
	const workers, rounds, perChunk = 4, 50, 20
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range rounds {
				c := &chunkBuilder{v2: r%2 == 0, wide: w%2 == 0}
				for i := range perChunk {
					c.raw(auditLine(w*1_000_000+r*1000+i, "ResponseComplete", "alice", "get", "default", "pods"))
				}
				if out := p.Flush(c.b); out != Delivered {
					panic("unexpected outcome " + out.String())
				}
				clear(c.b) // the host reuses the chunk's memory at once
			}
		}()
	}
	wg.Wait()
	got := fs.events()
	if len(got) != workers*rounds*perChunk {
		t.Fatalf("unexpected delivered count %d", len(got))
	}
	seen := map[string]bool{}
	for _, e := range got {
		var ev struct{ AuditID string }
		if err := json.Unmarshal([]byte(e.value), &ev); err != nil || ev.AuditID != e.auditID || seen[e.auditID] {
			t.Fatalf("event corrupted or duplicated: %v %q %.100s", err, e.auditID, e.value)
		}
		seen[e.auditID] = true
	}
}

// FlushCounted returns each flush's own counts, also while other flushes
// run at once: they add up to the pipeline's counters.
func TestFlushCounted(t *testing.T) {
	fs := &fakeSink{}
	p, _ := newTestPipeline(t, fs, nil)
	const workers = 4
	var wg sync.WaitGroup
	counted := make([]Stats, workers)
	for w := range workers {
		wg.Go(func() {
			c := &chunkBuilder{v2: true}
			// w+1 events kept, w dropped (system:kube-proxy's watches of
			// endpoints are level None in the sample policy).
			for i := range w + 1 {
				c.raw(auditLine(w*100+i, "ResponseComplete", "alice", "get", "default", "pods"))
			}
			for i := range w {
				c.raw(auditLine(w*100+50+i, "ResponseComplete", "system:kube-proxy", "watch", "default", "endpoints"))
			}
			var out Outcome
			if out, counted[w] = p.FlushCounted(c.b, nil); out != Delivered {
				panic("unexpected outcome " + out.String())
			}
		})
	}
	wg.Wait()
	var sum Stats
	for w, c := range counted {
		if c.Chunks != 1 || c.Events != uint64(2*w+1) || c.Kept != uint64(w+1) || c.Dropped != uint64(w) || c.Delivered != uint64(w+1) {
			t.Errorf("flush %d counted %+v; want %d events, %d kept and delivered, %d dropped", w, c, 2*w+1, w+1, w)
		}
		sum.Events += c.Events
		sum.Kept += c.Kept
		sum.Delivered += c.Delivered
	}
	if st := p.Stats(); st.Events != sum.Events || st.Kept != sum.Kept || st.Delivered != sum.Delivered {
		t.Errorf("the flushes' counts add up to %+v; the pipeline counted %+v", sum, st)
	}
}

func TestCloseWaitsForFlushes(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{})
	fs := &fakeSink{deliver: func(ctx context.Context, _ []sink.Event) error {
		close(entered)
		<-release
		return nil
	}}
	p, _ := newTestPipeline(t, fs, nil)
	chunk := (&chunkBuilder{v2: true}).raw(auditLine(1, "ResponseComplete", "alice", "get", "default", "pods")).b
	done := make(chan Outcome)
	go func() { done <- p.Flush(chunk) }()
	<-entered
	closed := make(chan error)
	go func() { closed <- p.Close(context.Background()) }()
	select {
	case <-closed:
		t.Fatal("Close returned while a flush was running")
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	if out := <-done; out != Delivered {
		t.Fatalf("unexpected outcome %s", out)
	}
	if err := <-closed; err != nil || !fs.closed {
		t.Fatalf("close: %v, sink closed %t", err, fs.closed)
	}
	if out := p.Flush(chunk); out != Retry {
		t.Fatalf("flush after close: %s; want retry", out)
	}
}

func TestCloseGivesUpAtDeadline(t *testing.T) {
	fs := &fakeSink{deliver: func(ctx context.Context, _ []sink.Event) error {
		time.Sleep(time.Second)
		return nil
	}}
	p, logs := newTestPipeline(t, fs, nil)
	chunk := (&chunkBuilder{v2: true}).raw(auditLine(1, "ResponseComplete", "alice", "get", "default", "pods")).b
	go p.Flush(chunk)
	time.Sleep(20 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	p.Close(ctx)
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Fatalf("Close took %s past its deadline", d)
	}
	if !strings.Contains(logs.String(), "flushes still running") {
		t.Fatalf("no warning:\n%s", logs)
	}
}

func TestSummaryLine(t *testing.T) {
	fs := &fakeSink{}
	p, logs := newTestPipeline(t, fs, func(c *Config) {
		c.SummaryInterval = 20 * time.Millisecond
		c.SinkSummary = func(b []byte) []byte { return append(b, "sent{k8s-audit.ResponseComplete}=1"...) }
	})
	p.Flush((&chunkBuilder{v2: true}).raw(auditLine(1, "ResponseComplete", "alice", "get", "default", "pods")).b)
	time.Sleep(100 * time.Millisecond)
	want := "[ info] [output:auditstream:test.0] summary: chunks=1 events=1 kept=1 dropped_by_policy=0 malformed=0 " +
		"parsed_records=0 delivered=1 retried_flushes=0 failed_flushes=0 unreadable_chunks=0 dead_lettered=0 dropped_undeliverable=0 " +
		"unreadable_bytes=0 event_panics=0 flush_panics=0 sent{k8s-audit.ResponseComplete}=1"
	if !strings.Contains(logs.String(), want) {
		t.Fatalf("no summary line %q in\n%s", want, logs)
	}
}

// TestOnlyTheKeyFieldIsCopied: besides the audit ID and the verb (headers of
// every message), a flush hands the sink only the field message_key names.
func TestOnlyTheKeyFieldIsCopied(t *testing.T) {
	c := (&chunkBuilder{v2: true}).raw(auditLine(1, "ResponseComplete", "alice", "get", "default", "pods"))
	for _, tc := range []struct {
		key  sink.KeyField
		want delivered
	}{
		{"", delivered{user: "alice", namespace: "default", resource: "pods"}},
		{sink.KeyAuditID, delivered{}},
		{sink.KeyNone, delivered{}},
		{sink.KeyUser, delivered{user: "alice"}},
		{sink.KeyNamespace, delivered{namespace: "default"}},
		{sink.KeyResource, delivered{resource: "pods"}},
	} {
		f := &fakeSink{}
		p, _ := newTestPipeline(t, f, func(c *Config) { c.MessageKey = tc.key })
		if out := p.Flush(c.b); out != Delivered {
			t.Fatalf("key %q: %s", tc.key, out)
		}
		got := f.events()[0]
		if got.auditID != "00000000-0000-0000-0000-000000000001" || got.verb != "get" ||
			got.user != tc.want.user || got.namespace != tc.want.namespace || got.resource != tc.want.resource {
			t.Errorf("key %q: the sink got auditID %q, verb %q, user %q, namespace %q, resource %q; want the audit ID, get, %q, %q, %q",
				tc.key, got.auditID, got.verb, got.user, got.namespace, got.resource, tc.want.user, tc.want.namespace, tc.want.resource)
		}
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
