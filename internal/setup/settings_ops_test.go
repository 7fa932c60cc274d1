package setup

import (
	"strings"
	"testing"
	"time"
)

func TestReadOperationKeys(t *testing.T) {
	s, err := Read(keys{"policy_file": "p", "brokers": "a:1"}.get)
	if err != nil {
		t.Fatal(err)
	}
	if s.ReloadInterval != time.Minute || s.MetricsListen != "" || s.InstanceName != "auditstream" {
		t.Errorf("defaults: reload %v, metrics %q, instance %q", s.ReloadInterval, s.MetricsListen, s.InstanceName)
	}
	s, err = Read(keys{"policy_file": "p", "brokers": "a:1", "policy_reload_interval": "0",
		"metrics_listen": " 127.0.0.1:2021 ", "instance_name": "kafka-main"}.get)
	if err != nil {
		t.Fatal(err)
	}
	if s.ReloadInterval != 0 || s.MetricsListen != "127.0.0.1:2021" || s.InstanceName != "kafka-main" {
		t.Errorf("reload %v, metrics %q, instance %q", s.ReloadInterval, s.MetricsListen, s.InstanceName)
	}
	for k, want := range map[string]string{
		"policy_reload_interval": `policy_reload_interval: invalid value "-5s"`,
		"metrics_listen":         `metrics_listen: invalid value "-5s"`,
	} {
		_, err := Read(keys{"policy_file": "p", "brokers": "a:1", k: "-5s"}.get)
		if err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("%s -5s: %v; want %q", k, err, want)
		}
	}
	if _, err := Read(keys{"policy_file": "p", "brokers": "a:1", "metrics_listen": "127.0.0.1"}.get); err == nil {
		t.Error("metrics_listen without a port accepted")
	}
}
