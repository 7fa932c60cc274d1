package benchmarks

// TestShipVsKcat times `auditstream ship` against `kcat -P` (librdkafka)
// producing the same generated audit log to the local broker, whole
// processes from start to exit (process start, metadata and the final flush
// included): wall time and the CPU (utime + stime) of each process. ship
// runs with its defaults and a policy that keeps every event, so it does
// all of its work (parse, rewrite, redact, route by stage, key by auditID,
// headers); kcat sends each line keyed by its auditID with four fixed
// headers. Both use the same compression (snappy, then none) and acks=all,
// to fresh topics of 6 partitions. The two take turns, round after round;
// the table shows medians and the median of the rounds' ratios. It runs
// with the end-to-end benchmark's gate:
//
//	make bench-ship
//
// AUDITSTREAM_BENCH_SHIP_EVENTS (default 100000) and
// AUDITSTREAM_BENCH_SHIP_ROUNDS (default 5) scale it.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/auditstream/auditstream/internal/buildtest"
	"github.com/auditstream/auditstream/internal/kafkatest"
)

const (
	envBenchShipEvents = "AUDITSTREAM_BENCH_SHIP_EVENTS"
	envBenchShipRounds = "AUDITSTREAM_BENCH_SHIP_ROUNDS"
)

// keepEverythingPolicy logs every event at the level it was logged with.
const keepEverythingPolicy = `apiVersion: audit.k8s.io/v1
kind: Policy
rules:
  - level: RequestResponse
`

// processRun is one timed process.
type processRun struct {
	wall, cpu time.Duration
}

func TestShipVsKcat(t *testing.T) {
	if os.Getenv(envBenchE2E) != "1" {
		t.Skipf("a benchmark of a minute or more: runs with %s=1 (make bench-ship)", envBenchE2E)
	}
	events, rounds := envInt(t, envBenchShipEvents, 100000), envInt(t, envBenchShipRounds, 5)
	info := kafkatest.Broker(t)
	dir := t.TempDir()
	cli, err := buildtest.BuildCLI(dir)
	if err != nil {
		t.Fatal(err)
	}
	policy := filepath.Join(dir, "keep-everything.yaml")
	if err := os.WriteFile(policy, []byte(keepEverythingPolicy), 0o600); err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(dir, "audit.log")
	median := writeE2ELog(t, logPath, events)
	kcatInput := writeKcatLines(t, logPath, filepath.Join(dir, "kcat-input"))

	codecs := []string{"snappy", "none"}
	// runs[codec][0] are ship's rounds, runs[codec][1] kcat's.
	runs := make([][2][]processRun, len(codecs))
	for round := range rounds {
		for c, codec := range codecs {
			prefix := fmt.Sprintf("%s-r%d-%s", kafkatest.TopicName(t), round, codec)
			k := runKcatProcess(t, info, prefix+"-kcat", codec, kcatInput, events)
			s := runShipProcess(t, info, cli, policy, prefix, codec, logPath, events)
			t.Logf("round %d %-6s ship wall %v cpu %v; kcat wall %v cpu %v", round+1, codec,
				s.wall.Round(time.Millisecond), s.cpu, k.wall.Round(time.Millisecond), k.cpu)
			runs[c][0] = append(runs[c][0], s)
			runs[c][1] = append(runs[c][1], k)
		}
	}

	var out strings.Builder
	fmt.Fprintf(&out, "ship vs kcat -P: %d events of median size %d bytes (%.2f GB), acks all, 6 partitions; whole processes; %d rounds, medians\n\n",
		events, median, float64(fileSize(t, logPath))/1e9, rounds)
	fmt.Fprintf(&out, "| compression | program | wall s | CPU s | events/s | ship/kcat events/s | ship/kcat CPU |\n")
	fmt.Fprintf(&out, "|---|---|--:|--:|--:|--:|--:|\n")
	for c, codec := range codecs {
		ship, kcat := runs[c][0], runs[c][1]
		var rateRatios, cpuRatios []float64
		for i := range ship {
			rateRatios = append(rateRatios, kcat[i].wall.Seconds()/ship[i].wall.Seconds())
			cpuRatios = append(cpuRatios, ship[i].cpu.Seconds()/kcat[i].cpu.Seconds())
		}
		for p, name := range []string{"auditstream ship", "kcat -P"} {
			wall := e2eMedian(processField(runs[c][p], func(r processRun) time.Duration { return r.wall }))
			cpu := e2eMedian(processField(runs[c][p], func(r processRun) time.Duration { return r.cpu }))
			ratios := "| |"
			if p == 0 {
				ratios = fmt.Sprintf("%.2fx | %.2fx |", e2eMedian(rateRatios), e2eMedian(cpuRatios))
			}
			fmt.Fprintf(&out, "| %s | %s | %.2f | %.2f | %.0f | %s\n", codec, name, wall, cpu, float64(events)/wall, ratios)
		}
	}
	fmt.Fprintf(&out, "\nship/kcat events/s is the median of the rounds' kcat wall / ship wall (target: at least 0.8x).\n")
	fmt.Print("\n" + out.String())
}

func processField(rs []processRun, f func(processRun) time.Duration) []float64 {
	xs := make([]float64, len(rs))
	for i, r := range rs {
		xs[i] = f(r).Seconds()
	}
	return xs
}

// runProcess times cmd from start to exit: its wall time and the CPU its
// process used (utime + stime, every thread).
func runProcess(t *testing.T, cmd *exec.Cmd) processRun {
	t.Helper()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(cmd.Args, " "), err, stderr.String())
	}
	wall := time.Since(start)
	if strings.Contains(stderr.String(), "ERROR") {
		t.Fatalf("%s reported errors:\n%s", cmd.Args[0], stderr.String())
	}
	return processRun{wall: wall, cpu: cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()}
}

// runShipProcess ships the log with ship's defaults but for compression,
// acks, and topics under prefix, and checks that every event arrived.
func runShipProcess(t *testing.T, info kafkatest.Info, cli, policy, prefix, codec, logPath string, events int) processRun {
	t.Helper()
	topics := stageTopics(prefix)
	for _, tp := range topics {
		kafkatest.CreateTopic(t, info, tp, e2ePartitions)
	}
	cmd := exec.Command(cli, "ship", "--policy", policy, "--brokers", strings.Join(info.Brokers, ","),
		"--topic", prefix+".{stage}", "--set", "dead_letter_topic="+prefix+".dead-letter",
		"--set", "compression="+codec, "--set", "required_acks=all", logPath)
	r := runProcess(t, cmd)
	checkDelivered(t, info, "ship", topics, events)
	return r
}

// runKcatProcess produces the key<TAB>line input with kcat -P to topic and
// checks that every line arrived.
func runKcatProcess(t *testing.T, info kafkatest.Info, topic, codec, input string, events int) processRun {
	t.Helper()
	kafkatest.CreateTopic(t, info, topic, e2ePartitions)
	args := []string{"-P", "-b", info.Brokers[0], "-t", topic, "-K", "\t", "-l",
		"-H", "stage=ResponseComplete", "-H", "level=RequestResponse", "-H", "verb=update",
		"-H", "auditID=4f3a6c1e-0000-4000-8000-000000000001"}
	for i := 0; i < len(kcatProducerArgs); i += 2 {
		arg := kcatProducerArgs[i+1]
		if strings.HasPrefix(arg, "compression.codec=") {
			arg = "compression.codec=" + codec
		}
		args = append(args, kcatProducerArgs[i], arg)
	}
	r := runProcess(t, kafkatest.KcatDirect(t, append(args, input)...))
	checkDelivered(t, info, "kcat", []string{topic}, events)
	return r
}

func checkDelivered(t *testing.T, info kafkatest.Info, who string, topics []string, events int) {
	t.Helper()
	n, err := endOffsetSum(info, topics)
	if err != nil {
		t.Fatal(err)
	}
	if n != events {
		t.Fatalf("%s delivered %d of %d events", who, n, events)
	}
}

// writeKcatLines writes each line of the log as auditID<TAB>line, kcat -K's
// input, to path.
func writeKcatLines(t *testing.T, logPath, path string) string {
	t.Helper()
	in, err := os.Open(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	s := bufio.NewScanner(in)
	s.Buffer(nil, 64<<20)
	for s.Scan() {
		var ev struct{ AuditID string }
		if err := json.Unmarshal(s.Bytes(), &ev); err != nil {
			t.Fatal(err)
		}
		w.WriteString(ev.AuditID)
		w.WriteByte('\t')
		w.Write(s.Bytes())
		w.WriteByte('\n')
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}
