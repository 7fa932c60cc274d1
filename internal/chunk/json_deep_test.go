package chunk

import (
	"bytes"
	"runtime/debug"
	"testing"
)

// deepRecord is a record nested levels deep, maps and arrays in turn, as
// Fluent Bit's JSON parser stores a deeply nested body, and its JSON.
func deepRecord(levels int) (record, want []byte) {
	var closing []byte
	for i := range levels - 1 {
		if i%2 == 0 {
			record = append(record, 0x81, 0xa1, 'a') // {"a":
			want, closing = append(want, `{"a":`...), append(closing, '}')
		} else {
			record = append(record, 0x91) // [
			want, closing = append(want, '['), append(closing, ']')
		}
	}
	want = append(want, "{}"...)
	for i := len(closing) - 1; i >= 0; i-- {
		want = append(want, closing[i])
	}
	return append(record, 0x80), want // {}
}

// A record nested as deeply as AppendJSON writes costs neither a call per
// level nor an allocation: it converts with the goroutine stack capped far
// below what a recursive walk of 10001 levels takes (a stack overflow is
// fatal, so the cap is the test).
func TestAppendJSONDeepRecordStack(t *testing.T) {
	rec, want := deepRecord(maxJSONDepth)
	dst := make([]byte, 0, 2*len(rec)+16)
	defer debug.SetMaxStack(debug.SetMaxStack(256 << 10))
	done := make(chan []byte)
	var err error
	go func() { // a fresh goroutine, whose stack starts small
		var out []byte
		out, err = AppendJSON(dst, rec)
		done <- out
	}()
	out := <-done
	if err != nil || !bytes.Equal(out, want) {
		t.Fatalf("depth %d: %v, output as expected: %v", maxJSONDepth, err, bytes.Equal(out, want))
	}
	if allocs := testing.AllocsPerRun(10, func() { _, _ = AppendJSON(dst, rec) }); allocs != 0 {
		t.Errorf("%v allocations per record; want 0", allocs)
	}
}
