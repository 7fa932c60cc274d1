package policyreload

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tinylib/msgp/msgp"

	"github.com/auditstream/auditstream/internal/pipeline"
	"github.com/auditstream/auditstream/sink"
)

// levelSink records the level each event was shipped at, by flush.
type levelSink struct {
	mu      sync.Mutex
	byChunk map[string][]string // chunk id -> levels, in order
}

func (s *levelSink) Deliver(_ context.Context, events []sink.Event) (sink.Result, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range events {
		id := string(e.AuditID)
		chunk := id[:strings.LastIndexByte(id, '-')]
		s.byChunk[chunk] = append(s.byChunk[chunk], e.Level)
	}
	return sink.Result{Acked: len(events)}, nil
}

func (s *levelSink) Close(context.Context) error { return nil }

func (s *levelSink) levels(chunk string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.byChunk[chunk]
}

const eventsPerChunk = 50

// auditChunk is a Fluent Bit chunk of tail records whose events' audit IDs
// are chunk-N.
func auditChunk(chunk string) []byte {
	var b []byte
	for i := range eventsPerChunk {
		line := fmt.Sprintf(`{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"RequestResponse","auditID":"%s-%03d",`+
			`"stage":"ResponseComplete","requestURI":"/api/v1/namespaces/default/pods","verb":"list",`+
			`"user":{"username":"alice","groups":["system:authenticated"]},"objectRef":{"resource":"pods","namespace":"default","apiVersion":"v1"},`+
			`"requestObject":{"kind":"X"},"responseObject":{"kind":"Y"},`+
			`"requestReceivedTimestamp":"2026-01-01T00:00:00.000000Z","stageTimestamp":"2026-01-01T00:00:00.001000Z"}`, chunk, i)
		b = msgp.AppendArrayHeader(b, 2)
		b = msgp.AppendInt64(b, 1_700_000_000)
		b = msgp.AppendMapHeader(b, 1)
		b = msgp.AppendString(b, "log")
		b = msgp.AppendString(b, line)
	}
	return b
}

// TestReloadUnderRunningFlushes changes the policy under two goroutines that
// flush without pause, as Fluent Bit's workers 2 do, through a ConfigMap
// symlink swap the watch sees, then swaps in an invalid policy. It checks,
// event by event, which policy decided: every chunk by one policy; a chunk
// flushed wholly before a swap by the old policy, wholly after by the new;
// and after the invalid edit, still the last valid one. Run it with -race.
func TestReloadUnderRunningFlushes(t *testing.T) {
	dir := t.TempDir()
	generation := 0
	swapTo := func(content string) {
		generation++
		name := fmt.Sprintf("..2026_12_01_%d", generation)
		if err := os.Mkdir(filepath.Join(dir, name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name, "policy.yaml"), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		tmp := filepath.Join(dir, "..data_tmp")
		if err := os.Symlink(name, tmp); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(dir, "..data")); err != nil {
			t.Fatal(err)
		}
	}
	swapTo(policyAt("Metadata", "first"))
	path := filepath.Join(dir, "policy.yaml")
	if err := os.Symlink(filepath.Join("..data", "policy.yaml"), path); err != nil {
		t.Fatal(err)
	}
	logs := &logBuffer{}
	log := pipeline.NewLogger(logs, pipeline.LevelInfo, "t")
	h, err := Load(path, log)
	if err != nil {
		t.Fatal(err)
	}
	stop := h.Watch(time.Hour) // only the directory watch reloads
	defer stop()

	snk := &levelSink{byChunk: map[string][]string{}}
	p, err := pipeline.New(pipeline.Config{Policy: h.PipelineVersion, Sink: snk, Log: log, FilterParallelism: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(context.Background())

	// A flush: the chunk, and the level of the policy in force before it
	// started and after it returned.
	type flush struct {
		chunk         string
		before, after string
	}
	levelNow := map[string]string{h.Current().SHA256: "Metadata"}
	var levelMu sync.Mutex
	level := func(v *Version) string {
		levelMu.Lock()
		defer levelMu.Unlock()
		return levelNow[v.SHA256]
	}

	var wg sync.WaitGroup
	var flushMu sync.Mutex
	var flushes []flush
	done := make(chan struct{})
	for w := range 2 {
		wg.Go(func() {
			for n := 0; ; n++ {
				select {
				case <-done:
					return
				default:
				}
				id := fmt.Sprintf("w%d-%06d", w, n)
				before := h.Current()
				if out := p.Flush(auditChunk(id)); out != pipeline.Delivered {
					t.Errorf("flush %s: %v", id, out)
					return
				}
				after := h.Current()
				flushMu.Lock()
				flushes = append(flushes, flush{id, level(before), level(after)})
				flushMu.Unlock()
			}
		})
	}
	waitFlushes := func(n int) {
		start := func() int { flushMu.Lock(); defer flushMu.Unlock(); return len(flushes) }()
		waitFor(t, "more flushes", func() bool {
			flushMu.Lock()
			defer flushMu.Unlock()
			return len(flushes) >= start+n
		})
	}

	waitFlushes(10)
	request := policyAt("Request", "second")
	levelMu.Lock()
	levelNow[sha256Hex(request)] = "Request"
	levelMu.Unlock()
	swapTo(request)
	waitFor(t, "the new policy is in force", func() bool { return h.Current().SHA256 == sha256Hex(request) })
	waitFlushes(10)
	swapTo(invalidPolicy)
	waitFor(t, "the invalid policy is refused", func() bool { return h.Stats().Failures == 1 })
	waitFlushes(10)
	close(done)
	wg.Wait()

	var sawMetadata, sawRequest bool
	for _, f := range flushes {
		got := snk.levels(f.chunk)
		if len(got) != eventsPerChunk {
			t.Fatalf("chunk %s: %d events shipped; want %d", f.chunk, len(got), eventsPerChunk)
		}
		for i, lv := range got {
			if lv != got[0] {
				t.Errorf("chunk %s: event %d shipped at %s, event 0 at %s: two policies in one chunk", f.chunk, i, lv, got[0])
			}
			if f.before == f.after && lv != f.before {
				t.Errorf("chunk %s: event %d shipped at %s while only the %s policy was in force", f.chunk, i, lv, f.before)
			}
		}
		sawMetadata = sawMetadata || got[0] == "Metadata"
		sawRequest = sawRequest || got[0] == "Request"
	}
	if !sawMetadata || !sawRequest {
		t.Errorf("chunks shipped by the first policy: %v, by the second: %v; want both", sawMetadata, sawRequest)
	}
	if h.Current().SHA256 != sha256Hex(request) {
		t.Error("the invalid policy replaced the valid one")
	}
	if st := h.Stats(); st.Successes != 1 || st.Failures != 1 {
		t.Errorf("reloads %+v; want 1 success, 1 failure", st)
	}
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
