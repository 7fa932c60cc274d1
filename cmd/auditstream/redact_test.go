package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/auditstream/auditstream/internal/kafkatest"
	"github.com/auditstream/auditstream/internal/readback"
	"github.com/auditstream/auditstream/internal/simulate"
)

// secretLog is a log of two events that carry secrets and one that does not.
const secretLog = `{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"RequestResponse","auditID":"1","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/ns/secrets","verb":"create","user":{"username":"alice"},"requestObject":{"kind":"Secret","data":{"password":"TUFSS0VSLWEtMQ==","user":"YWRtaW4="}},"responseObject":{"kind":"Secret","data":{"password":"TUFSS0VSLWEtMQ==","user":"YWRtaW4="}}}
{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Request","auditID":"2","stage":"ResponseComplete","requestURI":"/apis/authentication.k8s.io/v1/tokenreviews","verb":"create","user":{"username":"alice"},"requestObject":{"spec":{"token":"MARKER-b-2"}}}
{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"RequestResponse","auditID":"3","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/ns/configmaps/c","verb":"get","user":{"username":"alice"},"responseObject":{"data":{"k":"MARKER-not-secret"}}}
`

func writePolicy(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "policy.yaml")
	if err := os.WriteFile(p, []byte("apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: RequestResponse\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// apply redacts by default, as the plugin does, and --redact off gives the
// events as the policy alone writes them.
func TestApplyRedacts(t *testing.T) {
	policy := writePolicy(t)
	code, out, errOut := runCLI(t, secretLog, "apply", "--policy", policy)
	if code != exitOK || errOut != "" {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	for _, secret := range []string{"TUFSS0VSLWEtMQ==", "YWRtaW4=", "MARKER-b-2"} {
		if strings.Contains(out, secret) {
			t.Errorf("secret %s in the output:\n%s", secret, out)
		}
	}
	if !strings.Contains(out, "MARKER-not-secret") || strings.Count(out, `"auditstream.io/redacted":"mask `) != 2 {
		t.Errorf("output:\n%s", out)
	}
	code, out, _ = runCLI(t, secretLog, "apply", "--policy", policy, "--redact", "off")
	if code != exitOK || out != secretLog {
		t.Errorf("--redact off: exit %d, output differs from the input:\n%s", code, out)
	}
	code, _, errOut = runCLI(t, secretLog, "apply", "--policy", policy, "--redact-mode", "hash")
	if code != exitFailure || !strings.Contains(errOut, "--redact-hash-key-file: required") {
		t.Errorf("hash without a key: exit %d, stderr %q", code, errOut)
	}
}

// simulate counts the events and values each field's redaction touched.
func TestSimulateReportsRedaction(t *testing.T) {
	policy := writePolicy(t)
	code, out, errOut := runCLI(t, secretLog, "simulate", "--policy", policy, "-o", "json")
	if code != exitOK {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	var r simulate.Report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	got := map[string][2]int64{}
	for _, f := range r.Redaction.Fields {
		if f.Events > 0 {
			got[f.Field] = [2]int64{f.Events, f.Values}
		}
	}
	want := map[string][2]int64{"secrets:data.*": {1, 4}, "authentication.k8s.io/tokenreviews:spec.token": {1, 1}}
	if r.Redaction.Mode != "mask" || r.Redaction.Events != 2 || len(got) != len(want) {
		t.Fatalf("redaction report %+v", r.Redaction)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: events and values %v; want %v", k, got[k], v)
		}
	}
	_, table, _ := runCLI(t, secretLog, "simulate", "--policy", policy)
	if !strings.Contains(table, "Redaction (mask): 2 kept events had secrets redacted") || !strings.Contains(table, "secrets:data.*") {
		t.Errorf("table:\n%s", table)
	}
	_, table, _ = runCLI(t, secretLog, "simulate", "--policy", policy, "--redact", "off")
	if !strings.Contains(table, "Redaction off.") {
		t.Errorf("table with --redact off:\n%s", table)
	}
}

// ship redacts with the plugin's keys, and verify predicts the redacted
// events: it agrees with what arrived, and with redact=off it does not.
func TestShipRedactsAndVerifyAgrees(t *testing.T) {
	info := kafkatest.Broker(t)
	topic := kafkatest.TopicName(t) + ".{stage}"
	brokers := strings.Join(info.Brokers, ",")
	policy := writePolicy(t)
	log := filepath.Join(t.TempDir(), "audit.log")
	if err := os.WriteFile(log, []byte(secretLog), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCLI(t, "", "ship", "--policy", policy, "--brokers", brokers, "--topic", topic, "--set", "auto_create_topics=on", log)
	if code != exitOK {
		t.Fatalf("ship: exit %d\n%s\n%s", code, out, errOut)
	}
	code, out, errOut = runCLI(t, "", "verify", "--policy", policy, "--brokers", brokers, "--topic", topic, log)
	if code != exitOK || !strings.Contains(out, " 0 missing, 0 duplicates, 0 unexpected") {
		t.Fatalf("verify: exit %d\n%s\n%s", code, out, errOut)
	}
	code, out, _ = runCLI(t, "", "verify", "--policy", policy, "--brokers", brokers, "--topic", topic, "--set", "redact=off", log)
	if code != exitFailure || !strings.Contains(out, " 2 missing") {
		t.Errorf("verify with redact=off: exit %d; want %d and the two secret-bearing events missing\n%s", code, exitFailure, out)
	}
	var topics []string
	for _, st := range []string{"RequestReceived", "ResponseStarted", "ResponseComplete", "Panic"} {
		topics = append(topics, strings.Replace(topic, "{stage}", st, 1))
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	msgs, err := readback.ReadAll(ctx, &kafka.Dialer{Timeout: 10 * time.Second}, info.Brokers, topics)
	if err != nil || len(msgs) != 3 {
		t.Fatalf("read back %d messages: %v", len(msgs), err)
	}
	for _, m := range msgs {
		for _, secret := range []string{"TUFSS0VSLWEtMQ==", "YWRtaW4=", "MARKER-b-2"} {
			if strings.Contains(string(m.Value), secret) {
				t.Errorf("secret %s arrived on %s", secret, m.Topic)
			}
		}
	}
}
