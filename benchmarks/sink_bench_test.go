package benchmarks

// Benchmarks of the sink against the real broker of `make kafka-up` (they
// skip without one). BenchmarkSinkKafka is the sink alone; BenchmarkSinkVsKcat
// runs kcat -P (librdkafka) on the same lines to the same broker in turns with
// the sink, so that the README can show both rates and their ratio:
//
//	go test -run '^$' -bench 'SinkKafka|SinkVsKcat' -benchtime 200000x ./benchmarks
//
// Both produce uncompressed with acks=all to a topic of 6 partitions, keyed by
// auditID, with four headers per message. One op is one event. kcat's rate
// excludes its process start and metadata lookup (measured on a one-line run
// in each round and subtracted).

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/auditstream/auditstream/internal/gen"
	"github.com/auditstream/auditstream/internal/kafkatest"
	"github.com/auditstream/auditstream/sink"
)

// kcatProducerArgs are the librdkafka settings of kcat -P: acks=all and no
// compression as the sink; batches up to 10000 messages or 1 MB (the sink's
// batch_bytes); linger.ms=5, librdkafka's default, which costs kcat nothing
// as it produces asynchronously (the sink's Deliver waits, so its linger is 0).
var kcatProducerArgs = []string{
	"-X", "acks=all",
	"-X", "compression.codec=none",
	"-X", "linger.ms=5",
	"-X", "batch.num.messages=10000",
	"-X", "batch.size=1000000",
	"-X", "enable.idempotence=false",
}

// benchEvents returns n realistic events of about size bytes, all of stage
// ResponseComplete (so one topic), with the fields the sink routes on.
func benchEvents(b *testing.B, n, size int) []sink.Event {
	r := rand.New(rand.NewPCG(1, 2))
	evs := make([]sink.Event, 0, n)
	for len(evs) < n {
		line := gen.EventOfSize(r, size)
		var f struct {
			AuditID, Verb, Level string
			User                 struct{ Username string }
			ObjectRef            *struct{ Namespace, Resource string }
		}
		if err := json.Unmarshal(line, &f); err != nil {
			b.Fatal(err)
		}
		e := sink.Event{Value: line, Stage: sink.StageResponseComplete, Level: f.Level,
			AuditID: []byte(f.AuditID), Verb: []byte(f.Verb), User: []byte(f.User.Username)}
		if f.ObjectRef != nil {
			e.Namespace, e.Resource = []byte(f.ObjectRef.Namespace), []byte(f.ObjectRef.Resource)
		}
		evs = append(evs, e)
	}
	return evs
}

func avgValue(evs []sink.Event) int64 {
	var n int64
	for _, e := range evs {
		n += int64(len(e.Value))
	}
	return n / int64(len(evs))
}

// BenchmarkSinkKafka is the sink alone: events/s, MB/s and allocations per
// event, for one to four concurrent Deliver calls.
func BenchmarkSinkKafka(b *testing.B) {
	info := kafkatest.Broker(b)
	for _, size := range []int{1 << 10, 10 << 10} {
		evs := benchEvents(b, 4096, size)
		for _, workers := range []int{1, 2, 4} {
			b.Run(fmt.Sprintf("size=%dKB/workers=%d", size>>10, workers), func(b *testing.B) {
				benchSink(b, info, evs, chunkFor(size), workers, nil)
			})
		}
	}
}

// benchSink delivers b.N events, in chunks of chunk events, from workers
// goroutines, to a new topic, reports the usual per-event figures and
// events/s, and returns the rate. tune, if not nil, adjusts the config.
func benchSink(b *testing.B, info kafkatest.Info, evs []sink.Event, chunk, workers int, tune func(*sink.Config)) float64 {
	s := benchSinkFor(b, info, kafkatest.TopicName(b), tune)
	b.SetBytes(avgValue(evs))
	b.ReportAllocs()
	b.ResetTimer()
	if err := deliverAll(s, evs, b.N, chunk, workers); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	rate := float64(b.N) / b.Elapsed().Seconds()
	b.ReportMetric(rate, "events/s")
	return rate
}

// BenchmarkSinkVsKcat runs kcat -P and the sink in turns on the same events,
// five rounds of b.N/5 events each, to the same topic, and reports the median
// rate of each and the median of the per-round ratios (x_kcat, the sink's rate
// over kcat's): on a shared machine whose load drifts, only runs side by side
// compare. ns/op is the sink's median time per event.
func BenchmarkSinkVsKcat(b *testing.B) {
	info := kafkatest.Broker(b)
	for _, size := range []int{1 << 10, 10 << 10} {
		evs := benchEvents(b, 4096, size)
		for _, workers := range []int{1, 2, 4} {
			b.Run(fmt.Sprintf("size=%dKB/workers=%d", size>>10, workers), func(b *testing.B) {
				const rounds = 5
				n := max(b.N/rounds, 1)
				topic := kafkatest.TopicName(b)
				s := benchSinkFor(b, info, topic, nil)
				lines := writeKcatInput(b, evs, n)
				oneLine := writeKcatInput(b, evs, 1)
				var sinkRates, kcatRates, ratios []float64
				for range rounds {
					// kcat's fixed cost (process start, metadata, final
					// flush) is measured on one line and taken off, so
					// that kcat's rate is its producing rate alone, the
					// harder comparison for the sink.
					fixed := runKcat(b, info, topic, oneLine)
					kt := max(runKcat(b, info, topic, lines)-fixed, time.Millisecond)
					start := time.Now()
					if err := deliverAll(s, evs, n, chunkFor(size), workers); err != nil {
						b.Fatal(err)
					}
					st := time.Since(start)
					sinkRates = append(sinkRates, float64(n)/st.Seconds())
					kcatRates = append(kcatRates, float64(n)/kt.Seconds())
					ratios = append(ratios, kt.Seconds()/st.Seconds())
				}
				b.ReportMetric(1e9/median(sinkRates), "ns/op")
				b.ReportMetric(median(sinkRates), "sink_events/s")
				b.ReportMetric(median(kcatRates), "kcat_events/s")
				b.ReportMetric(median(sinkRates)*float64(avgValue(evs))/1e6, "sink_MB/s")
				b.ReportMetric(median(kcatRates)*float64(avgValue(evs))/1e6, "kcat_MB/s")
				b.ReportMetric(median(ratios), "x_kcat")
			})
		}
	}
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

// chunkFor is the number of events in one Deliver call: a Fluent Bit chunk
// is about 2 MB, the batch one flush hands over.
func chunkFor(size int) int { return max(2<<20/size, 1) }

// benchSinkFor creates topic (6 partitions) and a sink that sends every stage
// to it uncompressed, connected before it returns, as kcat's own start is
// (nearly) negligible at benchmark sizes.
func benchSinkFor(b *testing.B, info kafkatest.Info, topic string, tune func(*sink.Config)) *sink.Sink {
	kafkatest.CreateTopic(b, info, topic, 6)
	cfg := sink.DefaultConfig()
	cfg.Brokers = info.Brokers
	cfg.Topic = topic
	cfg.Compression = sink.CompressionNone
	if tune != nil {
		tune(&cfg)
	}
	s, err := sink.New(cfg, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close(context.Background()) })
	if _, err := s.Deliver(context.Background(), []sink.Event{{Value: []byte("{}"), Stage: sink.StagePanic, Level: "Metadata"}}); err != nil {
		b.Fatal(err)
	}
	return s
}

// deliverAll delivers n events (cycling through evs) in chunks from workers
// goroutines.
func deliverAll(s *sink.Sink, evs []sink.Event, n, chunk, workers int) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	var failed atomic.Value
	for range workers {
		wg.Go(func() {
			batch := make([]sink.Event, 0, chunk)
			for {
				end := next.Add(int64(chunk))
				start := end - int64(chunk)
				if start >= int64(n) {
					return
				}
				batch = batch[:0]
				for i := start; i < min(end, int64(n)); i++ {
					batch = append(batch, evs[i%int64(len(evs))])
				}
				if _, err := s.Deliver(context.Background(), batch); err != nil {
					failed.Store(err)
					return
				}
			}
		})
	}
	wg.Wait()
	err, _ := failed.Load().(error)
	return err
}

// writeKcatInput writes n key<TAB>value lines for kcat -P -K.
func writeKcatInput(b *testing.B, evs []sink.Event, n int) string {
	path := filepath.Join(b.TempDir(), fmt.Sprintf("lines-%d", n))
	var buf bytes.Buffer
	for i := range n {
		e := evs[i%len(evs)]
		buf.Write(e.AuditID)
		buf.WriteByte('\t')
		buf.Write(e.Value)
		buf.WriteByte('\n')
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		b.Fatal(err)
	}
	return path
}

// runKcat times kcat -P producing the lines of path to topic.
func runKcat(b *testing.B, info kafkatest.Info, topic, path string) time.Duration {
	args := append([]string{"-P", "-b", info.Brokers[0], "-t", topic, "-K", "\t", "-l",
		// The sink's four headers, at typical sizes (kcat's are per run,
		// not per message).
		"-H", "stage=ResponseComplete", "-H", "level=RequestResponse", "-H", "verb=update",
		"-H", "auditID=4f3a6c1e-0000-4000-8000-000000000001"}, kcatProducerArgs...)
	args = append(args, path)
	cmd := kafkatest.Kcat(b, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		b.Fatalf("kcat: %v\n%s", err, stderr.String())
	}
	took := time.Since(start)
	if strings.Contains(stderr.String(), "ERROR") || strings.Contains(stderr.String(), "failed") {
		b.Fatalf("kcat reported errors:\n%s", stderr.String())
	}
	return took
}
