// Package e2e runs the auditstream output plugin inside a real Fluent Bit,
// tailing an audit log that is written in bursts and rotated the way
// kube-apiserver rotates it, into the local test Kafka broker, and checks
// what arrives against `auditstream apply` over the same events.
//
// It runs only when FLUENT_BIT_BIN names a fluent-bit binary (CI has no
// Fluent Bit, so the test skips without it):
//
//	FLUENT_BIT_BIN=/path/to/fluent-bit make test-e2e
//
// The plugin's own harness tests (package main) drive the .so the way Fluent
// Bit's Go proxy does; this test is the one that checks the real proxy, the
// real tail input (rotation, offsets, partial reads) and Fluent Bit's
// shutdown (SIGTERM, Grace, the exit hook) together.
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/auditstream/auditstream/internal/fluentbit"
	"github.com/auditstream/auditstream/internal/kafkatest"
)

// stages are the four audit stages, each routed to its own topic.
var stages = [...]string{"RequestReceived", "ResponseStarted", "ResponseComplete", "Panic"}

const (
	// partitions per stage topic: more than one, so that the key (auditID)
	// actually chooses a partition and reading checks every partition.
	partitions = 3
	// grace is Fluent Bit's service grace: the plugin promises to exit
	// within 4s of it (plugin/instance.go, exitTimeout).
	grace = 5 * time.Second
	// clusterName is sent as the "cluster" header, which is checked too.
	clusterName = "e2e-cluster"
	// runTimeout bounds the whole Fluent Bit process: a hang must fail the
	// test, not stall `go test` until its own timeout.
	runTimeout = 3 * time.Minute
	// deliverTimeout bounds the wait for the events written before the
	// last burst to reach Kafka.
	deliverTimeout = 60 * time.Second
)

// burst is a range of lines of examples/audit.log appended in one go, and
// what happens after it.
type burst struct {
	from, to int
	rotate   bool          // rotate audit.log right after this burst
	pause    time.Duration // then wait this long
}

func TestFluentBitTailRotateKafka(t *testing.T) {
	fx := newFixture(t)
	policy := filepath.Join(fx.root, "examples", "policy.yaml")

	logDir := filepath.Join(fx.tmp, "log")
	if err := os.Mkdir(logDir, 0o700); err != nil {
		t.Fatal(err)
	}
	auditLog := filepath.Join(logDir, "audit.log")
	// The file exists before Fluent Bit starts, as kube-apiserver's would,
	// so that every line reaches tail through its file watch.
	if err := os.WriteFile(auditLog, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	metricsURL := fmt.Sprintf("http://127.0.0.1:%d/api/v1/metrics", port)
	fb := fx.startFluentBit(t, fx.config(auditLog, policy, port), runTimeout)
	started := time.Now()

	// Appending before the plugin is up would also work (read_from_head),
	// but then nothing would be written while tail is watching.
	waitFor(t, fb, "[output:auditstream:auditstream] started", 30*time.Second)

	plan := []burst{
		{0, 150, false, 400 * time.Millisecond},
		{150, 400, false, 300 * time.Millisecond},
		// Rotate right after a write, as lumberjack does when a write fills
		// the file: tail may not have read all of it yet, and must finish it
		// through the renamed file, which it watches for rotate_wait (5s,
		// Fluent Bit's default) after the rename.
		{400, 700, true, 0},
		{700, 850, false, 500 * time.Millisecond},
		{850, 950, false, 0},
	}
	// The last burst is written once everything before it is in Kafka, and
	// Fluent Bit is stopped as soon as tail has read it, so that those
	// events are most likely still in a chunk waiting for the next flush
	// (flush: 1) when SIGTERM comes, and reach Kafka only through the flush
	// at shutdown. Waiting for tail first keeps the test deterministic: a
	// line tail has not read at SIGTERM is read only after a restart.
	last := burst{from: 950, to: len(fx.lines)}
	if len(fx.lines) <= last.from {
		t.Fatalf("examples/audit.log has %d lines, want more than %d", len(fx.lines), last.from)
	}

	var written bytes.Buffer // every byte appended, in order, across files
	f := openAppend(t, auditLog)
	rotated, rotatedAt := "", 0
	for _, b := range plan {
		appendLines(t, f, fx.lines[b.from:b.to], &written)
		if b.rotate {
			f.Close()
			rotated, rotatedAt = rotate(t, auditLog), b.to
			f = openAppend(t, auditLog)
		}
		time.Sleep(b.pause)
	}
	t.Logf("wrote lines [0,%d) in %d bursts, rotating %s to %s after line %d",
		plan[len(plan)-1].to, len(plan), filepath.Base(auditLog), filepath.Base(rotated), rotatedAt)

	// Wait until Kafka holds at least as many messages as the policy keeps
	// of what was written so far (more would be duplicates, checked below).
	before := apply(t, fx.art.CLI, policy, fx.tmp, written.Bytes())
	waitDelivered(t, fx.info, fx.topics, len(before), fb)
	t.Logf("%d kept events of the first %d lines in Kafka %v after Fluent Bit started", len(before), last.from, time.Since(started).Round(time.Millisecond))

	appendLines(t, f, fx.lines[last.from:last.to], &written)
	f.Close()
	how := waitTailRead(t, filepath.Join(fx.tmp, "storage"), fx.lines[len(fx.lines)-1], metricsURL, len(fx.lines), fb)
	inKafka := sumOffsets(t, fx.info, fx.topics)

	stopTook := stopFluentBit(t, fb)
	t.Logf("fluent-bit stopped %v after SIGTERM", stopTook.Round(time.Millisecond))
	// Fluent Bit waits at most grace for its flushes, and the plugin's exit
	// hook promises to return within 4s (plugin/instance.go); longer means
	// one of them overran.
	if limit := grace + 4*time.Second; stopTook > limit {
		t.Errorf("fluent-bit took %v to stop after SIGTERM, want at most %v", stopTook.Round(time.Millisecond), limit)
	}
	checkLog(t, fb.Output())
	run := time.Since(started)

	// Fluent Bit is gone, so the topics no longer grow: reading every
	// partition up to its end offset reads everything that will ever arrive.
	expected := apply(t, fx.art.CLI, policy, fx.tmp, written.Bytes())
	if len(expected) == 0 {
		t.Fatal("the policy keeps none of the written events: nothing would be checked")
	}
	received := consume(t, fx.info, fx.topics)
	t.Logf("tail had read every line (%s); %d kept events were in Kafka at SIGTERM, the other %d arrived after it",
		how, inKafka, max(len(expected)-inKafka, 0))
	compare(t, fx.topics, expected, received, len(fx.lines), run)
}

// config is the Fluent Bit pipeline of the tests that tail auditLog
// through policy into the stage topics, close to examples/fluent-bit.yaml
// but with every path in the test's directory and times shortened so that
// the test takes seconds. Its HTTP server, on port, serves the metrics that
// tell when tail has read every line.
func (f *fixture) config(auditLog, policy string, port int) fluentbit.Config {
	return fluentbit.Config{
		Plugin:  f.art.Plugin,
		LogPath: auditLog,
		Dir:     f.tmp,
		Grace:   grace,
		Service: map[string]string{
			"http_server": "on",
			"http_listen": "127.0.0.1",
			"http_port":   strconv.Itoa(port),
		},
		Keys: map[string]string{
			"policy_file":   policy,
			"log_key":       "log",
			"verbosity":     "info",
			"brokers":       strings.Join(f.info.Brokers, ","),
			"topic":         f.unique + ".{stage}",
			"cluster_name":  clusterName,
			"message_key":   "auditID",
			"compression":   "zstd",
			"required_acks": "all",
			// The broker is local and healthy: a flush that needs more
			// than this is a failure, reported sooner than with the
			// default 30s.
			"delivery_timeout": "10s",
		},
	}
}

// readLines returns the lines of path, each with its newline.
func readLines(t *testing.T, path string) [][]byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.SplitAfter(data, []byte("\n"))
	if len(lines[len(lines)-1]) == 0 {
		lines = lines[:len(lines)-1]
	}
	for i, l := range lines {
		if !bytes.HasSuffix(l, []byte("\n")) {
			t.Fatalf("%s: line %d has no newline", path, i+1)
		}
	}
	return lines
}

func openAppend(t *testing.T, path string) *os.File {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// appendLines writes each line with its own write call, as kube-apiserver's
// log backend writes one event per call, and records it in written.
func appendLines(t *testing.T, f *os.File, lines [][]byte, written *bytes.Buffer) {
	t.Helper()
	for _, l := range lines {
		if _, err := f.Write(l); err != nil {
			t.Fatal(err)
		}
		written.Write(l)
	}
}

// rotate does what lumberjack (kube-apiserver's --audit-log-maxsize) does:
// rename the file to name-<timestamp>.ext, then create a new, empty one.
func rotate(t *testing.T, path string) string {
	t.Helper()
	ext := filepath.Ext(path)
	backup := strings.TrimSuffix(path, ext) + "-" + time.Now().UTC().Format("2006-01-02T15-04-05.000") + ext
	if err := os.Rename(path, backup); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	return backup
}

// apply runs `auditstream apply` over data and returns the lines it writes,
// without their newlines: exactly the messages the plugin must produce.
func apply(t *testing.T, cli, policy, dir string, data []byte) [][]byte {
	t.Helper()
	in := filepath.Join(dir, "written.log")
	if err := os.WriteFile(in, data, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(cli, "apply", "--strict", "--policy", policy, in)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("auditstream apply: %v\n%s", err, stderr.String())
	}
	var kept [][]byte
	for l := range bytes.Lines(stdout.Bytes()) {
		kept = append(kept, bytes.TrimSuffix(l, []byte("\n")))
	}
	return kept
}

// freePort returns a loopback TCP port that was free a moment ago, for
// Fluent Bit's HTTP server (a fixed port would clash between parallel runs).
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// waitTailRead waits until Fluent Bit's tail input has read the last line
// written, and says how it knows. Tail writes the raw lines into chunk files
// under storage (storage.type filesystem, uncompressed) as it reads them, so
// the last line shows there at once, long before the next flush; once that
// chunk is flushed and deleted, the records counter of /api/v1/metrics
// (refreshed only every second or so) tells instead.
func waitTailRead(t *testing.T, storage string, lastLine []byte, url string, n int, fb *fluentbit.Process) string {
	t.Helper()
	lastLine = bytes.TrimSuffix(lastLine, []byte("\n"))
	deadline := time.Now().Add(30 * time.Second)
	records, err := 0, error(nil)
	for {
		if inChunk(storage, lastLine) {
			return "its last line was in a chunk file"
		}
		if records, err = tailRecords(url); err == nil && records >= n {
			if records > n {
				t.Errorf("tail read %d records from %d lines", records, n)
			}
			return fmt.Sprintf("metrics: %d records", records)
		}
		if time.Now().After(deadline) {
			t.Fatalf("tail read %d of %d lines in 30s (last error: %v)", records, n, err)
		}
		select {
		case <-fb.Done():
			t.Fatalf("fluent-bit exited (%v) with tail at %d of %d lines", fb.Wait(0), records, n)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// inChunk reports whether a chunk file under storage holds line. Files
// vanish as their chunks are delivered, so errors only mean "not here".
func inChunk(storage string, line []byte) bool {
	found := false
	_ = filepath.WalkDir(storage, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".flb") {
			return nil
		}
		if data, err := os.ReadFile(path); err == nil && bytes.Contains(data, line) {
			found = true
			return filepath.SkipAll
		}
		return nil
	})
	return found
}

// tailRecords returns the records counter of the tail input (tail.0).
func tailRecords(url string) (int, error) {
	m, err := fluentbit.ReadMetrics(url)
	if err != nil {
		return 0, err
	}
	in, ok := m.Input["tail.0"]
	if !ok {
		return 0, fmt.Errorf("%s: no input tail.0", url)
	}
	return in.Records, nil
}

// sumOffsets returns how many messages the topics hold.
func sumOffsets(t *testing.T, info kafkatest.Info, topics map[string]string) int {
	t.Helper()
	offs, err := endOffsets(info, topics)
	if err != nil {
		t.Fatalf("end offsets: %v", err)
	}
	n := 0
	for _, o := range offs {
		n += int(o)
	}
	return n
}

// waitDelivered waits until the topics together hold at least n messages.
func waitDelivered(t *testing.T, info kafkatest.Info, topics map[string]string, n int, fb *fluentbit.Process) {
	t.Helper()
	deadline := time.Now().Add(deliverTimeout)
	have := 0
	for {
		offs, err := endOffsets(info, topics)
		if err == nil {
			have = 0
			for _, o := range offs {
				have += int(o)
			}
			if have >= n {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d kept events in Kafka after %v (last error: %v)", have, n, deliverTimeout, err)
		}
		select {
		case <-fb.Done():
			t.Fatalf("fluent-bit exited (%v) with %d of %d kept events in Kafka", fb.Wait(0), have, n)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

type partitionKey struct {
	topic     string
	partition int
}

// endOffsets returns the end offset of every partition of the topics. The
// sink's producer writes no transaction markers, so an end offset is the
// partition's message count.
func endOffsets(info kafkatest.Info, topics map[string]string) (map[partitionKey]int64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	client := &kafka.Client{Addr: kafka.TCP(info.Brokers...), Timeout: 10 * time.Second}
	req := &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{}}
	for topic := range topics {
		for p := range partitions {
			req.Topics[topic] = append(req.Topics[topic], kafka.LastOffsetOf(p))
		}
	}
	res, err := client.ListOffsets(ctx, req)
	if err != nil {
		return nil, err
	}
	offs := map[partitionKey]int64{}
	for topic, parts := range res.Topics {
		for _, p := range parts {
			if p.Error != nil {
				return nil, fmt.Errorf("%s/%d: %w", topic, p.Partition, p.Error)
			}
			offs[partitionKey{topic, p.Partition}] = p.LastOffset
		}
	}
	if len(offs) != len(topics)*partitions {
		return nil, fmt.Errorf("offsets of %d partitions, want %d", len(offs), len(topics)*partitions)
	}
	return offs, nil
}

// consume reads every partition of the topics from its start to its end
// offset.
func consume(t *testing.T, info kafkatest.Info, topics map[string]string) []kafka.Message {
	t.Helper()
	offs, err := endOffsets(info, topics)
	if err != nil {
		t.Fatalf("end offsets: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var msgs []kafka.Message
	for pk, end := range offs {
		if end == 0 {
			continue
		}
		r := kafka.NewReader(kafka.ReaderConfig{
			Brokers:   info.Brokers,
			Topic:     pk.topic,
			Partition: pk.partition,
			MinBytes:  1,
			MaxBytes:  16 << 20,
			MaxWait:   250 * time.Millisecond,
		})
		if err := r.SetOffset(kafka.FirstOffset); err != nil {
			t.Fatal(err)
		}
		for {
			m, err := r.ReadMessage(ctx)
			if err != nil {
				r.Close()
				t.Fatalf("read %s/%d: %v", pk.topic, pk.partition, err)
			}
			msgs = append(msgs, m)
			if m.Offset >= end-1 {
				break
			}
		}
		r.Close()
	}
	return msgs
}

// event is what the checks need of an audit event.
type event struct {
	Level   string `json:"level"`
	Stage   string `json:"stage"`
	AuditID string `json:"auditID"`
	Verb    string `json:"verb"`
}

// compare checks received against expected: every kept event arrives, byte
// for byte, on its stage's topic with the right key and headers, and nothing
// else arrives but duplicates of kept events (delivery is at-least-once).
func compare(t *testing.T, topics map[string]string, expected [][]byte, received []kafka.Message, written int, took time.Duration) {
	t.Helper()
	topicOf := map[string]string{} // stage -> topic
	for topic, st := range topics {
		topicOf[st] = topic
	}
	type want struct {
		topic string
		ev    event
		n     int // how many times apply wrote this line
	}
	wants := map[string]*want{} // value -> what it must look like
	perStage := map[string]int{}
	for _, line := range expected {
		if w := wants[string(line)]; w != nil {
			w.n++
			perStage[w.ev.Stage]++
			continue
		}
		var ev event
		if err := json.Unmarshal(line, &ev); err != nil {
			t.Fatalf("apply wrote a line that is not JSON: %v: %.200s", err, line)
		}
		topic, ok := topicOf[ev.Stage]
		if !ok {
			t.Fatalf("apply kept an event of stage %q: %.200s", ev.Stage, line)
		}
		wants[string(line)] = &want{topic: topic, ev: ev, n: 1}
		perStage[ev.Stage]++
	}

	got := map[string]int{}
	unexpected, badHeaders := 0, 0
	for i := range received {
		m := &received[i]
		w := wants[string(m.Value)]
		switch {
		case w == nil:
			unexpected++
			if unexpected <= 5 {
				t.Errorf("unexpected message on %s/%d@%d (not a line apply writes): %.300s", m.Topic, m.Partition, m.Offset, m.Value)
			}
			continue
		case w.topic != m.Topic:
			unexpected++
			if unexpected <= 5 {
				t.Errorf("event %s (stage %s) on topic %s, want %s", w.ev.AuditID, w.ev.Stage, m.Topic, w.topic)
			}
			continue
		}
		got[string(m.Value)]++
		if err := checkHeaders(m, w.ev); err != nil {
			badHeaders++
			if badHeaders <= 5 {
				t.Errorf("%s/%d@%d: %v", m.Topic, m.Partition, m.Offset, err)
			}
		}
	}

	missing, duplicates := 0, 0
	for line, w := range wants {
		switch n := got[line]; {
		case n < w.n:
			missing += w.n - n
			if missing <= 5 {
				t.Errorf("missing: event %s stage %s (%d of %d copies arrived)", w.ev.AuditID, w.ev.Stage, n, w.n)
			}
		case n > w.n:
			duplicates += n - w.n
			t.Logf("duplicate: event %s stage %s arrived %d times, written %d", w.ev.AuditID, w.ev.Stage, n, w.n)
		}
	}
	stagesSeen := make([]string, 0, len(perStage))
	for _, st := range stages {
		stagesSeen = append(stagesSeen, fmt.Sprintf("%s=%d", st, perStage[st]))
	}
	t.Logf("events written %d, kept %d (%s), received %d, duplicates %d, missing %d, unexpected %d, bad headers %d, took %v",
		written, len(expected), strings.Join(stagesSeen, " "), len(received), duplicates, missing, unexpected, badHeaders, took.Round(time.Millisecond))
	if missing > 0 || unexpected > 0 || badHeaders > 0 {
		t.Errorf("%d kept events missing, %d unexpected messages, %d with wrong key or headers", missing, unexpected, badHeaders)
	}
}

// checkHeaders checks the message key and the headers every message must
// carry, each exactly once.
func checkHeaders(m *kafka.Message, ev event) error {
	if string(m.Key) != ev.AuditID {
		return fmt.Errorf("key %q, want the auditID %q", m.Key, ev.AuditID)
	}
	want := map[string]string{
		"stage":   ev.Stage,
		"level":   ev.Level,
		"auditID": ev.AuditID,
		"verb":    ev.Verb,
		"cluster": clusterName,
	}
	seen := map[string]int{}
	var errs []error
	for _, h := range m.Headers {
		seen[h.Key]++
		w, ok := want[h.Key]
		switch {
		case !ok:
			errs = append(errs, fmt.Errorf("unexpected header %s=%q", h.Key, h.Value))
		case string(h.Value) != w:
			errs = append(errs, fmt.Errorf("header %s=%q, want %q", h.Key, h.Value, w))
		}
	}
	for k := range want {
		if seen[k] != 1 {
			errs = append(errs, fmt.Errorf("header %s present %d times, want once", k, seen[k]))
		}
	}
	return errors.Join(errs...)
}

// checkLog logs the plugin's lines and Fluent Bit's warnings and errors
// (short with a healthy broker), and fails on the plugin's errors: with a
// reachable broker and a valid configuration it has none to report.
func checkLog(t *testing.T, out string) {
	t.Helper()
	var notable []string
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		l := sc.Text()
		plugin := strings.Contains(l, "[output:auditstream")
		if plugin || strings.Contains(l, "[ warn]") || strings.Contains(l, "[error]") {
			notable = append(notable, l)
		}
		if plugin && strings.Contains(l, "[error]") {
			t.Errorf("plugin error: %s", l)
		}
	}
	t.Logf("plugin lines and Fluent Bit warnings:\n%s", strings.Join(notable, "\n"))
	if slices.ContainsFunc(notable, func(l string) bool { return strings.Contains(l, "exit: ") }) {
		t.Errorf("the plugin's exit hook reported a problem (see above)")
	}
}
