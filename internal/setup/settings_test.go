package setup

import (
	"strings"
	"testing"
	"time"

	"github.com/auditstream/auditstream/sink"
)

type keys map[string]string

func (k keys) get(key string) string { return k[key] }

func TestRead(t *testing.T) {
	s, err := Read(keys{"policy_file": " p.yaml ", "brokers": "a:1,b:2", "summary_interval": "0", "topic": "x.{stage}"}.get)
	if err != nil {
		t.Fatal(err)
	}
	if s.PolicyFile != "p.yaml" || s.LogKey != "log" || s.SummaryInterval != 0 || len(s.Sink.Brokers) != 2 || s.Sink.Topic != "x.{stage}" {
		t.Errorf("unexpected settings %+v", s)
	}
	s, _ = Read(keys{"policy_file": "p", "brokers": "a:1", "log_key": "message"}.get)
	if s.LogKey != "message" || s.SummaryInterval != time.Minute || s.FilterParallelism != 2 {
		t.Errorf("defaults: %+v", s)
	}
	s, _ = Read(keys{"policy_file": "p", "brokers": "a:1", "filter_parallelism": " 1 "}.get)
	if s.FilterParallelism != 1 {
		t.Errorf("filter_parallelism 1 read as %d", s.FilterParallelism)
	}
	f := func(k keys, want string) {
		t.Helper()
		if _, err := Read(k.get); err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("%v: error %v; want one starting with %q", k, err, want)
		}
	}
	f(keys{"brokers": "a:1"}, "policy_file: required")
	f(keys{"policy_file": "p"}, "brokers:")
	f(keys{"policy_file": "p", "brokers": "a:1", "summary_interval": "-1s"}, "summary_interval: invalid value \"-1s\"")
	f(keys{"policy_file": "p", "brokers": "a:1", "linger": "soon"}, "linger: invalid value \"soon\"")
	for _, v := range []string{"0", "33", "two", "-1"} {
		f(keys{"policy_file": "p", "brokers": "a:1", "filter_parallelism": v}, "filter_parallelism: invalid value \""+v+"\"")
	}
}

func TestKeysAreUnique(t *testing.T) {
	seen := map[string]bool{}
	for _, k := range Keys() {
		if seen[k] {
			t.Errorf("key %q listed twice", k)
		}
		seen[k] = true
	}
	if !seen[KeyPolicyFile] || !seen["brokers"] {
		t.Errorf("keys lack policy_file or brokers: %v", Keys())
	}
}

func TestAppendSinkStats(t *testing.T) {
	got := string(appendSinkStats([]byte("x "), sink.Stats{}))
	if got != "x sent=0" {
		t.Errorf("empty stats: %q", got)
	}
	st := sink.Stats{Topics: map[string]sink.TopicStats{
		"b": {Sent: 2, SentBytes: 20},
		"a": {Sent: 1, Dropped: 3},
	}}
	got = string(appendSinkStats(nil, st))
	if want := "sent{a}=1 dropped{a}=3 sent{b}=2 sent_bytes{b}=20"; got != want {
		t.Errorf("stats %q; want %q", got, want)
	}
}

func TestReadPathKey(t *testing.T) {
	s, err := Read(keys{"policy_file": "p", "brokers": "a:1", "path_key": " file "}.get)
	if err != nil || s.PathKey != "file" {
		t.Fatalf("path_key read as %q (%v); want file", s.PathKey, err)
	}
}
