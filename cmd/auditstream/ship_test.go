package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/auditstream/auditstream/internal/kafkatest"
	"github.com/auditstream/auditstream/internal/simulate"
)

// ship delivers the real logs to the real broker through the plugin's
// pipeline; what arrives is what simulate predicts and apply writes,
// checked by verify.
func TestShipAndVerify(t *testing.T) {
	info := kafkatest.Broker(t)
	topic := kafkatest.TopicName(t) + ".{stage}"
	brokers := strings.Join(info.Brokers, ",")
	policy := "../../examples/policy.yaml"
	logs := []string{testdata + "audit2rbac-demo-full.v1beta1.jsonl", testdata + "falco-k8s-audit-traces.jsonl"}

	code, sim, _ := runCLI(t, "", append([]string{"simulate", "-o", "json", "--topic", topic, "--policy", policy}, logs...)...)
	if code != exitOK {
		t.Fatalf("simulate: exit %d", code)
	}
	var want simulate.Report
	if err := json.Unmarshal([]byte(sim), &want); err != nil {
		t.Fatal(err)
	}
	if want.Kept.Events == 0 {
		t.Fatal("the policy keeps none of the logs' events: nothing would be checked")
	}

	// Keyed by user, not the default audit ID: verify checks every key.
	code, out, errOut := runCLI(t, "", append([]string{"ship", "--policy", policy, "--brokers", brokers, "--topic", topic,
		"--set", "auto_create_topics=on", "--set", "message_key=user", "--chunk-events", "100"}, logs...)...)
	if code != exitOK {
		t.Fatalf("ship: exit %d\n%s\n%s", code, out, errOut)
	}
	wantLine := "shipped: 808 events read, " + itoa(want.Kept.Events) + " kept"
	if !strings.Contains(out, wantLine) || !strings.Contains(out, itoa(want.Kept.Events)+" sent to Kafka") {
		t.Errorf("ship summary %q; want %q and as many sent", out, wantLine)
	}

	code, out, errOut = runCLI(t, "", append([]string{"verify", "--policy", policy, "--brokers", brokers, "--topic", topic,
		"--set", "message_key=user"}, logs...)...)
	if code != exitOK || !strings.Contains(out, " 0 missing, 0 duplicates, 0 unexpected, 0 on the wrong topic, 0 with the wrong key") {
		t.Fatalf("verify: exit %d\n%s\n%s", code, out, errOut)
	}
	// verify checks keys: under message_key auditID every key is wrong.
	code, out, _ = runCLI(t, "", append([]string{"verify", "--policy", policy, "--brokers", brokers, "--topic", topic}, logs...)...)
	if code != exitFailure || !strings.Contains(out, " 0 on the wrong topic, "+itoa(want.Kept.Events)+" with the wrong key") {
		t.Errorf("verify under another message_key: exit %d; want %d and every key wrong\n%s", code, exitFailure, out)
	}
	for _, tp := range want.Topics {
		if !strings.Contains(out, tp.Key) {
			t.Errorf("verify output lacks topic %s", tp.Key)
		}
	}

	// verify can fail: another policy keeps other events.
	code, out, _ = runCLI(t, "", append([]string{"verify", "--policy", testdata + "audit2rbac-demo-policy.v1.yaml", "--brokers", brokers, "--topic", topic}, logs...)...)
	if code != exitFailure {
		t.Errorf("verify with another policy: exit %d; want %d\n%s", code, exitFailure, out)
	}

	// One log shipped again (a tail glob that re-read a rotated file):
	// verify counts the repeated (auditID, stage) pairs, and names some.
	code, out, errOut = runCLI(t, "", "ship", "--policy", policy, "--brokers", brokers, "--topic", topic,
		"--set", "message_key=user", logs[1])
	if code != exitOK {
		t.Fatalf("ship again: exit %d\n%s\n%s", code, out, errOut)
	}
	code, out, _ = runCLI(t, "", append([]string{"verify", "--policy", policy, "--brokers", brokers, "--topic", topic,
		"--set", "message_key=user"}, logs...)...)
	if code != exitOK || !regexp.MustCompile(`\n[1-9][0-9]* \(auditID, stage\) pairs arrived more often than the log holds them; the most repeated: \S+ \S+ [0-9]+ times \(logged [0-9]+\)`).MatchString(out) {
		t.Errorf("verify after shipping a log twice: exit %d; want %d and the repeated pairs\n%s", code, exitOK, out)
	}
}

// A line that is not an audit event goes to the dead-letter topic, and ship
// says so and exits 1; the good events still arrive.
func TestShipDeadLettersMalformedLines(t *testing.T) {
	info := kafkatest.Broker(t)
	prefix := kafkatest.TopicName(t)
	lines, err := os.ReadFile(testdata + "audit2rbac-demo.v1.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	log := filepath.Join(t.TempDir(), "audit.log")
	if err := os.WriteFile(log, append([]byte("not an audit event\n"), lines...), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCLI(t, "", "ship", "--policy", testdata+"audit2rbac-demo-policy.v1.yaml",
		"--brokers", strings.Join(info.Brokers, ","), "--topic", prefix+".{stage}",
		"--set", "auto_create_topics=on", "--set", "dead_letter_topic="+prefix+".dead", log)
	if code != exitFailure || !strings.Contains(out, "37 sent to Kafka") || !strings.Contains(out, "1 dead-lettered") ||
		!strings.Contains(errOut, "1 events were dead-lettered (1 lines are not audit events)") {
		t.Fatalf("exit %d; want %d, 37 sent and 1 dead-lettered\nstdout %s\nstderr %s", code, exitFailure, out, errOut)
	}
}

func TestShipUndeliverable(t *testing.T) {
	code, out, errOut := runCLI(t, "", "ship", "--policy", "../../examples/policy.yaml", "--brokers", "127.0.0.1:1",
		"--set", "delivery_timeout=200ms", "--retry-timeout", "1s", testdata+"audit2rbac-demo.v1.jsonl")
	if code != exitFailure || !strings.Contains(errOut, "still not delivered after 1s") || !strings.Contains(out, "0 sent to Kafka") {
		t.Errorf("exit %d\nstdout %s\nstderr %s", code, out, errOut)
	}
}

func TestShipRejectsUnknownKeys(t *testing.T) {
	code, _, errOut := runCLI(t, "", "ship", "--policy", "p", "--brokers", "b:1", "--set", "compressoin=zstd")
	if code != exitFailure || !strings.Contains(errOut, `unknown key "compressoin"`) {
		t.Errorf("exit %d, stderr %q", code, errOut)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
