package chunk

import (
	"errors"
	"io"
	"testing"
	"time"
)

func TestAppendTailEventRoundTrip(t *testing.T) {
	ts := time.Unix(1764158400, 123456789)
	lines := []string{`{"a":1}`, "", string(make([]byte, 70000))}
	var data []byte
	for _, l := range lines {
		data = AppendTailEvent(data, ts, "log", []byte(l))
	}
	var r Reader
	r.Reset(data)
	for i, want := range lines {
		rec, err := r.Next()
		if err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		if rec.Seconds != ts.Unix() || rec.Nanoseconds != int64(ts.Nanosecond()) || rec.Metadata == nil {
			t.Errorf("event %d: header %d.%d metadata %v", i, rec.Seconds, rec.Nanoseconds, rec.Metadata)
		}
		got, found, err := LookupString(rec.Body, "log")
		if err != nil || !found || string(got) != want {
			t.Errorf("event %d: log %v %v, %d bytes; want %d", i, err, found, len(got), len(want))
		}
	}
	if _, err := r.Next(); !errors.Is(err, io.EOF) {
		t.Errorf("after the last event: %v", err)
	}
}
