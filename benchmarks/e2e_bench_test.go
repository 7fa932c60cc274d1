package benchmarks

// TestE2EInsideFluentBit measures the plugin inside a real Fluent Bit against
// Fluent Bit's own baselines, on one generated audit log, in one run:
//
//	tail -> null                       Fluent Bit's ingestion ceiling
//	tail -> kafka                      out_kafka (librdkafka) shipping the raw lines, no policy
//	tail -> json + Lua -> kafka        what a user without the plugin would run: the json
//	                                   parser, examples/policy.yaml as a Lua filter
//	                                   (testdata/policy.lua), out_kafka with format json
//	tail -> auditstream                the .so with workers 1 and 2, examples/policy.yaml
//
// each with the buffering of examples/fluent-bit.yaml (storage.type
// filesystem, its storage.* keys) and with memory buffering bounded by
// mem_buf_limit, as AUDITSTREAM_BENCH_E2E_STORAGE (memory, filesystem or
// both, the default) selects. With both bounds every pipeline moves at
// tail's pace, so rates barely differ; "unbounded" (or "all") adds memory
// buffering without a limit, where each output runs at its own ceiling.
//
// The runs take turns, round after round, so that a neighbour's load on the
// shared cores falls on all of them alike; the tables show medians. Each run
// starts a fresh Fluent Bit (and an empty storage.path) and ends when every
// expected event has arrived: for null, when the output has counted every
// line (Fluent Bit's HTTP metrics); for Kafka, when the topics' end offsets
// add up to every line (out_kafka) or to the events the policy keeps
// (`auditstream apply` on the same log). The Lua filter must keep exactly
// those too: a run also ends once every line is either dropped by the filter
// or in Kafka, and the benchmark fails if the counts differ. It is not part
// of `make test` and runs only with AUDITSTREAM_BENCH_E2E=1 and
// FLUENT_BIT_BIN set:
//
//	make bench-e2e FLUENT_BIT_BIN=/path/to/fluent-bit
//
// AUDITSTREAM_BENCH_E2E_EVENTS (default 200000) and
// AUDITSTREAM_BENCH_E2E_ROUNDS (default 2) scale it.

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/auditstream/auditstream/internal/buildtest"
	"github.com/auditstream/auditstream/internal/fluentbit"
	"github.com/auditstream/auditstream/internal/gen"
	"github.com/auditstream/auditstream/internal/kafkatest"
	"github.com/auditstream/auditstream/internal/testenv"
)

// Environment variables of the benchmark.
const (
	envBenchE2E        = "AUDITSTREAM_BENCH_E2E"
	envBenchE2EEvents  = "AUDITSTREAM_BENCH_E2E_EVENTS"
	envBenchE2ERounds  = "AUDITSTREAM_BENCH_E2E_ROUNDS"
	envBenchE2EStorage = "AUDITSTREAM_BENCH_E2E_STORAGE"
)

const (
	// e2eEventSize is the generated events' target size, the flush-path
	// benchmarks' 1 KB.
	e2eEventSize = 1 << 10
	// e2ePartitions per topic, for out_kafka and the plugin alike.
	e2ePartitions = 6
	// e2eRunTimeout bounds one Fluent Bit run: a stall fails the benchmark
	// instead of hanging it.
	e2eRunTimeout = 10 * time.Minute
)

// Names of the variants the summary lines compare.
const (
	e2eNull        = "tail -> null"
	e2eKafkaRaw    = "tail -> out_kafka (raw lines)"
	e2eJSONLua     = "tail -> json+Lua+out_kafka"
	e2eAuditstream = "tail -> auditstream workers "
)

// e2eVariant is one pipeline measured.
type e2eVariant struct {
	name string
	// output writes the outputs section's entry; topic is the run's unique
	// topic prefix.
	output func(b *e2eBench, topic string) string
	// topics are the topics the run's output produces to, to create and
	// count (none for null).
	topics func(topic string) []string
	// expected is how many events the run must deliver.
	expected func(b *e2eBench) int
	// jsonLua puts the json parser on tail and testdata/policy.lua between
	// tail and the output.
	jsonLua bool
}

// e2eResult is one run's measurements.
type e2eResult struct {
	wall, fbCPU, brokerCPU time.Duration
	peakRSS                int64 // bytes
	delivered              int
	// queueFull counts out_kafka's "internal queue is full" warnings: each
	// is a second it sleeps before producing again, which makes its wall
	// time vary from run to run.
	queueFull int
}

// e2eBench holds what every run shares.
type e2eBench struct {
	t        *testing.T
	bin      string
	plugin   string
	policy   string
	luaPath  string
	logPath  string
	info     kafkatest.Info
	events   int // lines of the log
	kept     int // events the policy keeps
	broker   func() time.Duration
	storages []e2eStorage
}

func TestE2EInsideFluentBit(t *testing.T) {
	if os.Getenv(envBenchE2E) != "1" {
		t.Skipf("a benchmark of minutes: runs with %s=1 (make bench-e2e)", envBenchE2E)
	}
	bin := os.Getenv(fluentbit.EnvBin)
	if bin == "" {
		t.Fatalf("%s=1 needs %s, a fluent-bit binary with the tail, null, lua and kafka plugins", envBenchE2E, fluentbit.EnvBin)
	}
	version, err := fluentbit.Version(bin)
	if err != nil {
		t.Fatal(err)
	}
	storages, err := parseE2EStorage(os.Getenv(envBenchE2EStorage))
	if err != nil {
		t.Fatalf("%s: %v", envBenchE2EStorage, err)
	}
	events, rounds := envInt(t, envBenchE2EEvents, 200000), envInt(t, envBenchE2ERounds, 2)
	info := kafkatest.Broker(t)
	brokerCPU, err := kafkatest.BrokerCPU()
	if err != nil {
		testenv.Missing(t, "broker CPU: %v", err)
	}
	root, err := testenv.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	art, err := buildtest.Build(dir)
	if err != nil {
		t.Fatal(err)
	}
	b := &e2eBench{t: t, bin: bin, plugin: art.Plugin, policy: filepath.Join(root, "examples", "policy.yaml"),
		luaPath: filepath.Join(root, "benchmarks", "testdata", "policy.lua"),
		logPath: filepath.Join(dir, "audit.log"), info: info, events: events, broker: brokerCPU, storages: storages}
	median := writeE2ELog(t, b.logPath, events)
	b.kept = countKept(t, art.CLI, b.policy, b.logPath)
	if b.kept == 0 {
		t.Fatal("the policy keeps none of the generated events: the plugin would have nothing to send")
	}

	policyKept := func(b *e2eBench) int { return b.kept }
	everyLine := func(b *e2eBench) int { return b.events }
	oneTopic := func(p string) []string { return []string{p} }
	variants := []e2eVariant{
		{name: e2eNull, output: nullOutput, topics: func(string) []string { return nil }, expected: everyLine},
		{name: e2eKafkaRaw, output: kafkaOutput, topics: oneTopic, expected: everyLine},
		{name: e2eJSONLua, output: kafkaJSONOutput, topics: oneTopic, expected: policyKept, jsonLua: true},
		{name: e2eAuditstream + "1", output: auditstreamOutput(1), topics: stageTopics, expected: policyKept},
		{name: e2eAuditstream + "2", output: auditstreamOutput(2), topics: stageTopics, expected: policyKept},
	}
	// results[storage][variant] are the rounds' results.
	results := make([][][]e2eResult, len(storages))
	for s := range storages {
		results[s] = make([][]e2eResult, len(variants))
	}
	for round := range rounds {
		for s, st := range storages {
			for i, v := range variants {
				r := b.run(v, st, fmt.Sprintf("%s-r%d-s%d-v%d", kafkatest.TopicName(t), round, s, i))
				t.Logf("round %d %-10s %-32s %v", round+1, st.name, v.name, r)
				results[s][i] = append(results[s][i], r)
			}
		}
	}

	var out strings.Builder
	fmt.Fprintf(&out, "%s; %d events of median size %d bytes (%.2f GB), policy keeps %d; %d rounds, medians\n",
		version, events, median, float64(fileSize(t, b.logPath))/1e9, b.kept, rounds)
	for s, st := range storages {
		b.table(&out, st, variants, results[s])
	}
	// Printed rather than logged, so that it shows without -v as the
	// benchmarks' tables do.
	fmt.Print("\n" + out.String())
	for s, st := range storages {
		for i, v := range variants {
			for _, r := range results[s][i] {
				if r.delivered != v.expected(b) {
					why := ""
					if v.jsonLua {
						why = " (testdata/policy.lua decides otherwise than examples/policy.yaml)"
					}
					t.Errorf("%s, %s: delivered %d of %d expected events%s", st.name, v.name, r.delivered, v.expected(b), why)
				}
			}
		}
	}
}

// table writes one storage type's table and the comparisons under it. CPU
// per event is Fluent Bit's CPU over the input events, the same log for
// every variant, whatever each keeps.
func (b *e2eBench) table(out *strings.Builder, st e2eStorage, variants []e2eVariant, results [][]e2eResult) {
	fmt.Fprintf(out, "\n%s\n\n", st.heading)
	fmt.Fprintf(out, "| pipeline | events/s | (slowest-fastest round) | Fluent Bit CPU s | CPU µs/input event | broker CPU s | peak RSS MB | delivered/expected |\n")
	fmt.Fprintf(out, "|---|--:|--:|--:|--:|--:|--:|--:|\n")
	meds := map[string]e2eResult{}
	perEvent := func(r e2eResult) float64 { return float64(r.fbCPU.Microseconds()) / float64(b.events) }
	for i, v := range variants {
		m := medianResult(results[i])
		meds[v.name] = m
		slowest := slices.MaxFunc(results[i], func(a, b e2eResult) int { return int(a.wall - b.wall) })
		fastest := slices.MinFunc(results[i], func(a, b e2eResult) int { return int(a.wall - b.wall) })
		fmt.Fprintf(out, "| %s | %.0f | %.0f-%.0f | %.2f | %.2f | %.2f | %.0f | %d/%d |\n", v.name, float64(b.events)/m.wall.Seconds(),
			float64(b.events)/slowest.wall.Seconds(), float64(b.events)/fastest.wall.Seconds(), m.fbCPU.Seconds(), perEvent(m),
			m.brokerCPU.Seconds(), float64(m.peakRSS)/(1<<20), m.delivered, v.expected(b))
	}
	null, kafkaRaw, lua := meds[e2eNull], meds[e2eKafkaRaw], meds[e2eJSONLua]
	fmt.Fprintf(out, "\n")
	for _, v := range variants {
		if !strings.HasPrefix(v.name, e2eAuditstream) {
			continue
		}
		m := meds[v.name]
		fmt.Fprintf(out, "%s: plugin CPU %.2f µs per input event (Fluent Bit CPU minus tail -> null's); "+
			"Fluent Bit CPU %.2fx tail -> null's, %.2fx out_kafka's; events/s %.2fx tail -> null's, %.2fx out_kafka's\n",
			v.name, float64((m.fbCPU-null.fbCPU).Microseconds())/float64(b.events),
			m.fbCPU.Seconds()/null.fbCPU.Seconds(), m.fbCPU.Seconds()/kafkaRaw.fbCPU.Seconds(),
			null.wall.Seconds()/m.wall.Seconds(), kafkaRaw.wall.Seconds()/m.wall.Seconds())
	}
	w2 := meds[e2eAuditstream+"2"]
	fmt.Fprintf(out, "%s: Fluent Bit CPU %.2f µs per input event; auditstream workers 2 %.2f µs, "+
		"%.1fx less CPU per event than json+Lua+out_kafka (target: at least 5x)\n",
		e2eJSONLua, perEvent(lua), perEvent(w2), lua.fbCPU.Seconds()/w2.fbCPU.Seconds())
	fmt.Fprintf(out, "peak RSS: auditstream workers 2 %.2fx out_kafka's (target with storage.type filesystem: at most 1.2x)\n",
		float64(w2.peakRSS)/float64(kafkaRaw.peakRSS))
}

func (r e2eResult) String() string {
	return fmt.Sprintf("wall %v, Fluent Bit CPU %v, broker CPU %v, peak RSS %d MB, delivered %d, queue-full sleeps %d",
		r.wall.Round(time.Millisecond), r.fbCPU, r.brokerCPU, r.peakRSS>>20, r.delivered, r.queueFull)
}

// run starts a Fluent Bit with v's pipeline buffering as st says, waits
// until v's expected events have arrived, reads its CPU time and peak RSS,
// then stops it.
func (b *e2eBench) run(v e2eVariant, st e2eStorage, topic string) e2eResult {
	t := b.t
	t.Helper()
	topics := v.topics(topic)
	for _, tp := range topics {
		kafkatest.CreateTopic(t, b.info, tp, e2ePartitions)
	}
	dir := t.TempDir()
	port := benchFreePort(t)
	cfg := filepath.Join(dir, "fluent-bit.yaml")
	if err := os.WriteFile(cfg, []byte(b.config(dir, port, st, v, topic)), 0o600); err != nil {
		t.Fatal(err)
	}
	want := v.expected(b)
	ctx, cancel := context.WithTimeout(context.Background(), e2eRunTimeout)
	defer cancel()
	broker0 := b.broker()
	start := time.Now()
	fb, err := fluentbit.StartContext(ctx, b.bin, cfg)
	if err != nil {
		t.Fatal(err)
	}
	pid := fb.Process().Pid
	metricsURL := fmt.Sprintf("http://127.0.0.1:%d/api/v1/metrics", port)
	delivered := 0
	for delivered < want {
		if topics == nil {
			delivered, err = nullRecords(metricsURL)
		} else {
			delivered, err = endOffsetSum(b.info, topics)
		}
		if delivered >= want {
			break
		}
		if v.jsonLua && err == nil {
			// A filter that keeps fewer than the policy would never reach
			// want: stop once every line is dropped or delivered, and let
			// the count check below fail.
			var settled bool
			if settled, err = filterSettled(metricsURL, b.events, delivered); settled {
				break
			}
		}
		select {
		case <-fb.Done():
			t.Fatalf("%s: fluent-bit exited (%v) with %d of %d events delivered (last error: %v)\n%s",
				v.name, fb.Wait(0), delivered, want, err, fb.Output())
		case <-ctx.Done():
			t.Fatalf("%s: %d of %d events delivered after %v (last error: %v)\n%s",
				v.name, delivered, want, e2eRunTimeout, err, fb.Output())
		case <-time.After(50 * time.Millisecond):
		}
	}
	r := e2eResult{wall: time.Since(start), brokerCPU: b.broker() - broker0, delivered: delivered}
	if r.fbCPU, err = kafkatest.ProcessCPU(pid); err != nil {
		t.Fatal(err)
	}
	if r.peakRSS, err = peakRSS(pid); err != nil {
		t.Fatal(err)
	}
	r.queueFull = strings.Count(fb.Output(), "internal queue is full")
	if err := fb.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := fb.Wait(30 * time.Second); err != nil {
		t.Fatalf("%s: fluent-bit stop: %v\n%s", v.name, err, fb.Output())
	}
	// Anything past the expected count (a duplicate) shows once the output
	// has stopped.
	if topics != nil {
		if r.delivered, err = endOffsetSum(b.info, topics); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

// filterSettled reports whether tail has read all lines and each is either
// dropped by the filter or among the delivered ones.
func filterSettled(url string, lines, delivered int) (bool, error) {
	m, err := fluentbit.ReadMetrics(url)
	if err != nil {
		return false, err
	}
	read, dropped := 0, 0
	for _, in := range m.Input {
		read += in.Records
	}
	for _, f := range m.Filter {
		dropped += f.DropRecords
	}
	return read >= lines && dropped+delivered >= lines, nil
}

// writeE2ELog writes n generated events of about e2eEventSize bytes, one a
// line, and returns their median size.
func writeE2ELog(t *testing.T, path string, n int) int {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	r := rand.New(rand.NewPCG(1, 2))
	sizes := make([]int, n)
	for i := range n {
		line := gen.EventOfSize(r, e2eEventSize)
		sizes[i] = len(line)
		w.Write(line)
		w.WriteByte('\n')
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	slices.Sort(sizes)
	return sizes[n/2]
}

// countKept runs `auditstream apply` with the policy on the log: the events
// it writes are those the plugin must deliver.
func countKept(t *testing.T, cli, policy, log string) int {
	t.Helper()
	cmd := exec.Command(cli, "apply", "--strict", "--policy", policy, log)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := bufio.NewScanner(out)
	s.Buffer(nil, 64<<20)
	n := 0
	for s.Scan() {
		n++
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("auditstream apply: %v\n%s", err, stderr.String())
	}
	return n
}

// nullRecords returns the records the null output has processed.
func nullRecords(url string) (int, error) {
	m, err := fluentbit.ReadMetrics(url)
	if err != nil {
		return 0, err
	}
	o, ok := m.Output["null.0"]
	if !ok {
		return 0, fmt.Errorf("no null.0 among the outputs of %s", url)
	}
	return o.ProcRecords, nil
}

// endOffsetSum returns the messages in every partition of topics: their
// end offsets, as the topics are new.
func endOffsetSum(info kafkatest.Info, topics []string) (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	client := &kafka.Client{Addr: kafka.TCP(info.Brokers...), Timeout: 5 * time.Second}
	req := &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{}}
	for _, topic := range topics {
		for p := range e2ePartitions {
			req.Topics[topic] = append(req.Topics[topic], kafka.LastOffsetOf(p))
		}
	}
	res, err := client.ListOffsets(ctx, req)
	if err != nil {
		return 0, err
	}
	n, parts := 0, 0
	for topic, ps := range res.Topics {
		for _, p := range ps {
			if p.Error != nil {
				return 0, fmt.Errorf("%s/%d: %w", topic, p.Partition, p.Error)
			}
			n += int(p.LastOffset)
			parts++
		}
	}
	if parts != len(topics)*e2ePartitions {
		return 0, fmt.Errorf("offsets of %d partitions, want %d", parts, len(topics)*e2ePartitions)
	}
	return n, nil
}

// peakRSS reads VmHWM of /proc/<pid>/status, in bytes.
func peakRSS(pid int) (int64, error) {
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(raw)) {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("/proc/%d/status: no VmHWM", pid)
}

func medianResult(rs []e2eResult) e2eResult {
	pick := func(f func(e2eResult) float64) float64 {
		xs := make([]float64, len(rs))
		for i, r := range rs {
			xs[i] = f(r)
		}
		return e2eMedian(xs)
	}
	return e2eResult{
		wall:      time.Duration(pick(func(r e2eResult) float64 { return float64(r.wall) })),
		fbCPU:     time.Duration(pick(func(r e2eResult) float64 { return float64(r.fbCPU) })),
		brokerCPU: time.Duration(pick(func(r e2eResult) float64 { return float64(r.brokerCPU) })),
		peakRSS:   int64(pick(func(r e2eResult) float64 { return float64(r.peakRSS) })),
		delivered: int(pick(func(r e2eResult) float64 { return float64(r.delivered) })),
	}
}

// e2eMedian is the median of xs, the mean of the middle two for an even
// count: with the default two rounds, their mean rather than the slower.
func e2eMedian(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 0 {
		return (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return s[len(s)/2]
}

func envInt(t *testing.T, name string, def int) int {
	t.Helper()
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		t.Fatalf("%s=%q: want a positive integer", name, s)
	}
	return n
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}

// benchFreePort returns a loopback TCP port that was free a moment ago, for
// Fluent Bit's HTTP server.
func benchFreePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
