package kafkatest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"testing"
)

// KcatRecord is one message as kcat -J prints it. Key and Payload are nil
// for a null key or value, which kcat tells from an empty one.
type KcatRecord struct {
	Topic     string   `json:"topic"`
	Partition int32    `json:"partition"`
	Key       *string  `json:"key"`
	Payload   *string  `json:"payload"`
	Headers   []string `json:"headers"` // key, value, key, value...
}

// Header returns the value of the first header named key, "" if none is.
func (r KcatRecord) Header(key string) string {
	for i := 0; i+1 < len(r.Headers); i += 2 {
		if r.Headers[i] == key {
			return r.Headers[i+1]
		}
	}
	return ""
}

// Value is the payload, "" for a null one.
func (r KcatRecord) Value() string {
	if r.Payload == nil {
		return ""
	}
	return *r.Payload
}

// KcatConsume reads every message of topic from the start with kcat, a
// client that shares no code with kafka-go, over the PLAINTEXT listener
// broker.
func KcatConsume(t testing.TB, broker, topic string) []KcatRecord {
	t.Helper()
	cmd := Kcat(t, "-C", "-b", broker, "-t", topic, "-o", "beginning", "-e", "-J", "-q")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("kcat -C %s: %v\n%s", topic, err, stderr.String())
	}
	var recs []KcatRecord
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		var r KcatRecord
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("kcat output: %v: %.200s", err, sc.Text())
		}
		recs = append(recs, r)
	}
	return recs
}
