package kafkatest

import (
	"encoding/json"
	"testing"
)

// A line as kcat -J prints it decodes with its null payload told from an
// empty one, and its headers found by name.
func TestKcatRecordDecode(t *testing.T) {
	const line = `{"topic":"t","partition":2,"offset":7,"tstype":"create","ts":1,"broker":1,` +
		`"headers":["stage","ResponseComplete","auditID","a-1","stage","Panic"],"key":"a-1","payload":null}`
	var r KcatRecord
	if err := json.Unmarshal([]byte(line), &r); err != nil {
		t.Fatal(err)
	}
	if r.Topic != "t" || r.Partition != 2 || r.Key == nil || *r.Key != "a-1" {
		t.Errorf("topic %q partition %d key %v; want t, 2, a-1", r.Topic, r.Partition, r.Key)
	}
	if r.Payload != nil || r.Value() != "" {
		t.Errorf("payload %v value %q; want nil and empty for a null payload", r.Payload, r.Value())
	}
	for key, want := range map[string]string{"stage": "ResponseComplete", "auditID": "a-1", "level": ""} {
		if got := r.Header(key); got != want {
			t.Errorf("Header(%q) = %q, want %q", key, got, want)
		}
	}
	var empty KcatRecord
	if err := json.Unmarshal([]byte(`{"payload":""}`), &empty); err != nil {
		t.Fatal(err)
	}
	if empty.Payload == nil || empty.Value() != "" {
		t.Errorf("an empty payload decoded as %v", empty.Payload)
	}
}
