package main

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/auditstream/auditstream/internal/gen"
	"github.com/auditstream/auditstream/internal/kafkatest"
)

// BenchmarkHarnessFlush measures the built out_auditstream.so as Fluent Bit
// runs it: the C harness flushes 2 MB chunks of tail records (built in C)
// through FLBPluginFlushCtx, from 1 or 2 threads (workers 1 and 2), to the
// real broker of `make kafka-up`; a flush returns after Kafka acknowledged
// every event. One op is one event; events/s and MB/s (chunk bytes) come from
// the harness's own clock around the flush calls, so the process start and
// the plugin's init are not in them:
//
//	go test -run '^$' -bench BenchmarkHarnessFlush -benchtime 100000x ./plugin
//
// Settings match benchmarks' BenchmarkSinkKafka and BenchmarkFlushPath (no
// compression, acks=all, one topic of 6 partitions, a policy that keeps every
// event at its level), so the rates compare with theirs.
func BenchmarkHarnessFlush(b *testing.B) {
	info := kafkatest.Broker(b)
	so, _, _ := artifacts(b)
	dir := b.TempDir()
	pol := writeFile(b, dir, "policy.yaml", "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: RequestResponse\n")
	for _, size := range []int{1 << 10, 10 << 10} {
		r := rand.New(rand.NewPCG(1, 2))
		var lines strings.Builder
		for range 4096 {
			lines.Write(gen.EventOfSize(r, size))
			lines.WriteByte('\n')
		}
		events := writeFile(b, dir, fmt.Sprintf("events-%d.jsonl", size), lines.String())
		perChunk := max(2<<20/size, 1)
		for _, threads := range []int{1, 2} {
			b.Run(fmt.Sprintf("size=%dKB/threads=%d", size>>10, threads), func(b *testing.B) {
				topic := kafkatest.TopicName(b)
				kafkatest.CreateTopic(b, info, topic, 6)
				times := max((b.N+perChunk*threads-1)/(perChunk*threads), 1)
				script := fmt.Sprintf(`load %s
register v511
init bench policy_file=%s brokers=%s topic=%s compression=none summary_interval=0 verbosity=warn
chunk warm v2 fix raw %s 1
chunk c v2 fix raw %s %d
flush bench warm
flush bench c threads=%d times=%d
exit bench
unregister
`, so, pol, strings.Join(info.Brokers, ","), topic, events, events, perChunk, threads, times)
				run := runHarness(b, 10*time.Minute, script)
				run.ok(b)
				res := run.result(b, "flush bench chunk=c")
				if res["ok"] != res["calls"] {
					b.Fatalf("not every flush returned FLB_OK: %v", res)
				}
				sec := float64(atoi(b, res["elapsed_ns"])) / 1e9
				n := float64(atoi(b, res["events"]))
				b.ReportMetric(n/sec, "events/s")
				b.ReportMetric(float64(atoi(b, res["bytes"]))/sec/1e6, "MB/s")
				b.ReportMetric(float64(atoi(b, res["max_ns"]))/1e6, "max_flush_ms")
			})
		}
	}
}
