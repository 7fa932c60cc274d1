package chunk

import (
	"bytes"
	"errors"
	"io"
	"math"
	"reflect"
	"strings"
	"testing"
)

const line = `{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata"}`

// formatCases are single-event chunks in every supported encoding.
var formatCases = []struct {
	name      string
	chunk     []byte
	sec, nsec int64
	meta      []byte // nil for [ts, record]
	body      []byte
}{
	{"v2 fixext8 array32", eventV2(fixext8Time(1700000000, 123456789), empty, logBody(line)),
		1700000000, 123456789, empty, logBody(line)},
	{"v2 ext8", eventV2(ext8Time(1700000001, 5), empty, logBody(line)),
		1700000001, 5, empty, logBody(line)},
	{"v1 fixext8", eventV1(fixext8Time(1700000002, 7), logBody(line)),
		1700000002, 7, nil, logBody(line)},
	{"v1 ext8", eventV1(ext8Time(1700000003, 0), logBody(line)),
		1700000003, 0, nil, logBody(line)},
	{"v1 fixint", eventV1([]byte{0x2a}, logBody(line)), 42, 0, nil, logBody(line)},
	{"v1 uint8", eventV1(u8(200), logBody(line)), 200, 0, nil, logBody(line)},
	{"v1 uint16", eventV1(u16(60000), logBody(line)), 60000, 0, nil, logBody(line)},
	{"v1 uint32", eventV1(u32(1700000004), logBody(line)), 1700000004, 0, nil, logBody(line)},
	{"v1 uint64", eventV1(u64(1700000005), logBody(line)), 1700000005, 0, nil, logBody(line)},
	{"v1 int8", eventV1(i8(100), logBody(line)), 100, 0, nil, logBody(line)},
	{"v1 int16", eventV1(i16(30000), logBody(line)), 30000, 0, nil, logBody(line)},
	{"v1 int32", eventV1(i32(1700000006), logBody(line)), 1700000006, 0, nil, logBody(line)},
	{"v1 int64", eventV1(i64(1700000007), logBody(line)), 1700000007, 0, nil, logBody(line)},
	{"v2 int64", eventV2(i64(1700000008), empty, logBody(line)), 1700000008, 0, empty, logBody(line)},
	{"v1 float64", eventV1(f64(1700000009.5), logBody(line)), 1700000009, 500000000, nil, logBody(line)},
	{"v2 float32", eventV2(f32(1.25), empty, logBody(line)), 1, 250000000, empty, logBody(line)},
	{"ext seconds past 2038", eventV1(fixext8Time(0x80000000, 1), logBody(line)),
		0x80000000, 1, nil, logBody(line)},
	{"v2 metadata non-empty", eventV2(fixext8Time(1, 2),
		cat(mapHdr(fix, 2), s("k"), s("v"), s("n"), []byte{0x01}), logBody(line)),
		1, 2, cat(mapHdr(fix, 2), s("k"), s("v"), s("n"), []byte{0x01}), logBody(line)},
	{"outer fixarray, header array16", cat(arrHdr(fix, 2), arrHdr(16, 2), fixext8Time(3, 4), empty, logBody(line)),
		3, 4, empty, logBody(line)},
	{"outer array16, header array32", cat(arrHdr(16, 2), arrHdr(32, 2), fixext8Time(5, 6), empty, logBody(line)),
		5, 6, empty, logBody(line)},
	{"outer array32 v1", cat(arrHdr(32, 2), fixext8Time(7, 8), logBody(line)),
		7, 8, nil, logBody(line)},
	{"map16 metadata, map32 body", eventV2(fixext8Time(9, 0), mapHdr(16, 0),
		cat(mapHdr(32, 1), s("log"), str(8, line))),
		9, 0, mapHdr(16, 0), cat(mapHdr(32, 1), s("log"), str(8, line))},
	{"map32 metadata, map16 body, str16 key", eventV2(fixext8Time(10, 0),
		cat(mapHdr(32, 1), s("a"), bin(8, "b")), cat(mapHdr(16, 1), str(16, "log"), str(16, line))),
		10, 0, cat(mapHdr(32, 1), s("a"), bin(8, "b")), cat(mapHdr(16, 1), str(16, "log"), str(16, line))},
	{"str32 key, bin16 value", eventV2(fixext8Time(11, 0), empty,
		cat(mapHdr(fix, 1), str(32, "log"), bin(16, line))),
		11, 0, empty, cat(mapHdr(fix, 1), str(32, "log"), bin(16, line))},
	{"bin8 key, bin32 value", eventV2(fixext8Time(12, 0), empty,
		cat(mapHdr(fix, 1), bin(8, "log"), bin(32, line))),
		12, 0, empty, cat(mapHdr(fix, 1), bin(8, "log"), bin(32, line))},
	{"str8 key, bin8 value", eventV1(fixext8Time(13, 0),
		cat(mapHdr(fix, 1), str(8, "log"), bin(8, line))),
		13, 0, nil, cat(mapHdr(fix, 1), str(8, "log"), bin(8, line))},
}

func TestReaderFormats(t *testing.T) {
	for _, tc := range formatCases {
		t.Run(tc.name, func(t *testing.T) {
			var r Reader
			r.Reset(tc.chunk)
			rec, err := r.Next()
			if err != nil {
				t.Fatalf("Next: %v", err)
			}
			if rec.Seconds != tc.sec || rec.Nanoseconds != tc.nsec {
				t.Errorf("timestamp = %d.%09d, want %d.%09d", rec.Seconds, rec.Nanoseconds, tc.sec, tc.nsec)
			}
			if rec.Group != NotGroup || rec.IsGroupMarker() {
				t.Errorf("Group = %d, want NotGroup", rec.Group)
			}
			if (rec.Metadata == nil) != (tc.meta == nil) || !bytes.Equal(rec.Metadata, tc.meta) {
				t.Errorf("Metadata = % x, want % x", rec.Metadata, tc.meta)
			}
			if !bytes.Equal(rec.Body, tc.body) {
				t.Errorf("Body = % x, want % x", rec.Body, tc.body)
			}
			if rec.Offset != 0 {
				t.Errorf("Offset = %d, want 0", rec.Offset)
			}
			val, found, err := LookupString(rec.Body, "log")
			if err != nil || !found || string(val) != line {
				t.Errorf("LookupString(log) = %q, %v, %v", val, found, err)
			}
			if _, err := r.Next(); !errors.Is(err, io.EOF) {
				t.Errorf("second Next: %v, want io.EOF", err)
			}
			if r.Offset() != len(tc.chunk) || r.Events() != 1 || r.GroupMarkers() != 0 {
				t.Errorf("Offset, Events, GroupMarkers = %d, %d, %d", r.Offset(), r.Events(), r.GroupMarkers())
			}
		})
	}
}

// groupedChunk is a chunk with group markers around and between records,
// in both event formats and all timestamp encodings that can carry -1/-2.
// The bodies of normal events are {"log": "line N"}.
func groupedChunk() (chunk []byte, bounds []int) {
	groupMeta := cat(mapHdr(fix, 1), s("schema"), s("otlp"))
	groupBody := cat(mapHdr(fix, 1), s("resource"), cat(mapHdr(fix, 1), s("service"), s("api")))
	events := [][]byte{
		eventV2(fixext8Time(extGroupStart, 0), groupMeta, groupBody),
		eventV2(fixext8Time(100, 1), empty, logBody("line 0")),
		eventV2(ext8Time(101, 2), empty, logBody("line 1")),
		eventV2(fixext8Time(extGroupEnd, 0), empty, empty),
		eventV1(i8(-1), empty),
		eventV1(u32(102), logBody("line 2")),
		eventV1(f64(-2), empty),
		eventV2(f64(103.25), empty, logBody("line 3")),
	}
	bounds = []int{0}
	for _, e := range events {
		chunk = append(chunk, e...)
		bounds = append(bounds, len(chunk))
	}
	return chunk, bounds
}

func TestReaderSkipsGroupMarkers(t *testing.T) {
	chunk, bounds := groupedChunk()
	var r Reader
	r.Reset(chunk)
	var got []string
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		v, _, err := LookupString(rec.Body, "log")
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, string(v))
	}
	want := "line 0,line 1,line 2,line 3"
	if strings.Join(got, ",") != want {
		t.Errorf("records = %q, want %q", got, want)
	}
	if r.GroupMarkers() != 4 || r.Events() != 8 || r.Offset() != bounds[len(bounds)-1] {
		t.Errorf("GroupMarkers, Events, Offset = %d, %d, %d; want 4, 8, %d",
			r.GroupMarkers(), r.Events(), r.Offset(), bounds[len(bounds)-1])
	}
	if _, err := r.Next(); !errors.Is(err, io.EOF) {
		t.Errorf("Next after EOF: %v", err)
	}
}

func TestReaderReadGroups(t *testing.T) {
	chunk, bounds := groupedChunk()
	r := Reader{ReadGroups: true}
	r.Reset(chunk)
	want := []Group{GroupStart, NotGroup, NotGroup, GroupEnd, GroupStart, NotGroup, GroupEnd, NotGroup}
	for i, g := range want {
		rec, err := r.Next()
		if err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		if rec.Group != g || rec.IsGroupMarker() != (g != NotGroup) {
			t.Errorf("event %d: Group = %d, want %d", i, rec.Group, g)
		}
		if rec.Offset != bounds[i] {
			t.Errorf("event %d: Offset = %d, want %d", i, rec.Offset, bounds[i])
		}
	}
	if _, err := r.Next(); !errors.Is(err, io.EOF) {
		t.Errorf("Next at end: %v", err)
	}
	if r.GroupMarkers() != 4 {
		t.Errorf("GroupMarkers = %d", r.GroupMarkers())
	}
}

func TestReaderViewsAliasInput(t *testing.T) {
	chunk := eventV2(fixext8Time(1, 0), cat(mapHdr(fix, 1), s("m"), s("x")), logBody("abc"))
	var r Reader
	r.Reset(chunk)
	rec, err := r.Next()
	if err != nil {
		t.Fatal(err)
	}
	val, _, _ := LookupString(rec.Body, "log")
	mustWithin(t, chunk, rec.Body)
	mustWithin(t, chunk, rec.Metadata)
	mustWithin(t, chunk, val)
	if cap(rec.Body) != len(rec.Body) || cap(rec.Metadata) != len(rec.Metadata) || cap(val) != len(val) {
		t.Errorf("views are not capped: appending to one would overwrite the chunk")
	}
	chunk[len(chunk)-1] = 'Z' // the views see the change: nothing was copied
	if string(val) != "abZ" || rec.Body[len(rec.Body)-1] != 'Z' {
		t.Errorf("views do not alias the chunk: %q", val)
	}
}

func TestReaderErrors(t *testing.T) {
	good := eventV2(fixext8Time(1, 0), empty, logBody("next"))
	cases := []struct {
		name    string
		event   []byte // followed by good
		offset  int
		msg     string // the full error message, with the offset
		skipped bool
	}{
		{"event not an array", s("x"), 0,
			"chunk: event 0 at offset 0: event: unexpected msgpack type 0xa1 (str), want array [header or timestamp, record]", true},
		{"event of 3 elements", cat(arrHdr(fix, 3), []byte{1}, empty, empty), 0,
			"chunk: event 0 at offset 0: event: array of 3 elements, want 2", true},
		{"header of 1 element", cat(arrHdr(fix, 2), arrHdr(fix, 1), []byte{1}, empty), 1,
			"chunk: event 0 at offset 1: header: array of 1 elements, want 2 [timestamp, metadata]", true},
		{"bool timestamp", eventV2(mtrue, empty, empty), 6,
			"chunk: event 0 at offset 6: timestamp: unexpected msgpack type 0xc3 (bool), want timestamp (ext 0, integer or float)", true},
		{"string timestamp v1", eventV1(s("now"), empty), 1,
			"chunk: event 0 at offset 1: timestamp: unexpected msgpack type 0xa3 (str), want timestamp (ext 0, integer or float)", true},
		{"ext type 5", eventV1(cat([]byte{0xd7, 0x05}, make([]byte, 8)), empty), 1,
			"chunk: event 0 at offset 1: timestamp: msgpack ext type 5, want 0 (Fluent Bit event time)", true},
		{"ext 0 of 4 bytes", eventV1(cat([]byte{0xd6, 0x00}, make([]byte, 4)), empty), 1,
			"chunk: event 0 at offset 1: timestamp: ext 0 of 4 bytes, want 8", true},
		{"negative int", eventV1(i8(-5), empty), 1,
			"chunk: event 0 at offset 1: timestamp: negative timestamp -5 (only -1 and -2, the group markers, are negative)", true},
		{"negative ext", eventV1(fixext8Time(0xfffffffd, 0), empty), 1,
			"", true}, // 0xfffffffd is year 2106, not negative: accepted (checked below)
		{"uint64 overflow", eventV1(u64(math.MaxUint64), empty), 1,
			"chunk: event 0 at offset 1: timestamp: integer 18446744073709551615 out of range", true},
		{"NaN", eventV1(f64(math.NaN()), empty), 1,
			"chunk: event 0 at offset 1: timestamp: float NaN out of range", true},
		{"negative float", eventV1(f64(-0.5), empty), 1,
			"chunk: event 0 at offset 1: timestamp: negative timestamp -0.5 (only -1 and -2, the group markers, are negative)", true},
		{"metadata array", eventV2(fixext8Time(1, 0), arrHdr(fix, 0), empty), 16,
			"chunk: event 0 at offset 16: metadata: unexpected msgpack type 0x90 (array), want map", true},
		{"body string", eventV1(fixext8Time(1, 0), s("x")), 11,
			"chunk: event 0 at offset 11: record: unexpected msgpack type 0xa1 (str), want map", true},
		{"body nil", eventV1(fixext8Time(1, 0), mnil), 11,
			"chunk: event 0 at offset 11: record: unexpected msgpack type 0xc0 (nil), want map", true},
		{"invalid byte in body", eventV1(fixext8Time(1, 0), cat(mapHdr(fix, 1), s("k"), []byte{0xc1})), 14,
			"chunk: event 0 at offset 14: record: invalid msgpack byte 0xc1", false},
		{"invalid byte as event", []byte{0xc1}, 0,
			"chunk: event 0 at offset 0: event: invalid msgpack byte 0xc1", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			chunk := cat(tc.event, good)
			var r Reader
			r.Reset(chunk)
			rec, err := r.Next()
			if tc.msg == "" {
				if err != nil {
					t.Fatalf("Next: %v", err)
				}
				if rec.Seconds != 0xfffffffd {
					t.Errorf("Seconds = %d", rec.Seconds)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Next: %v (%T), want *Error", err, err)
			}
			if e.Error() != tc.msg {
				t.Errorf("message\n got %s\nwant %s", e.Error(), tc.msg)
			}
			if e.Offset != tc.offset || e.Event != 0 || e.Skipped != tc.skipped {
				t.Errorf("Offset, Event, Skipped = %d, %d, %v; want %d, 0, %v", e.Offset, e.Event, e.Skipped, tc.offset, tc.skipped)
			}
			rec, err2 := r.Next()
			if tc.skipped {
				// The reader moved past the bad event to the good one.
				if err2 != nil {
					t.Fatalf("Next after skipped error: %v", err2)
				}
				if v, _, _ := LookupString(rec.Body, "log"); string(v) != "next" || rec.Offset != len(tc.event) {
					t.Errorf("record after skip = %q at %d", v, rec.Offset)
				}
				if r.Events() != 2 {
					t.Errorf("Events = %d, want 2", r.Events())
				}
			} else if !errors.Is(err2, err) {
				t.Errorf("Next after fatal error = %v, want the same error", err2)
			}
		})
	}
}

func TestReaderTruncatedErrorIs(t *testing.T) {
	for _, tc := range []struct {
		name  string
		chunk []byte
		want  string
	}{
		{"string cut", cut(eventV1(fixext8Time(1, 0), logBody(line)), 3),
			"chunk: event 0 at offset 16: record: truncated: the data ends inside a msgpack object"},
		{"map count larger than the data", eventV1(fixext8Time(1, 0), mapHdr(32, 1000000)),
			"chunk: event 0 at offset 16: record: truncated: the data ends inside a msgpack object"},
		{"array32 count larger than the data", cat(arrHdr(32, 2), arrHdr(32, 0xffffffff)),
			"chunk: event 0 at offset 5: header: array of 4294967295 elements, want 2 [timestamp, metadata]"},
	} {
		var r Reader
		r.Reset(tc.chunk)
		_, err := r.Next()
		var e *Error
		if !errors.As(err, &e) || e.Skipped || err.Error() != tc.want {
			t.Errorf("%s: Next = %v, want fatal %s", tc.name, err, tc.want)
		}
	}
}

// cut drops the last n bytes of b.
func cut(b []byte, n int) []byte { return b[:len(b)-n] }

// TestReaderTruncation cuts a valid chunk at every byte offset: at event
// boundaries the reader ends with io.EOF after the complete events; inside
// an event it returns a fatal ErrTruncated after the complete events.
func TestReaderTruncation(t *testing.T) {
	chunk, bounds := groupedChunk()
	normalsBefore := func(cut int) int { // records (not markers) in chunk[:cut]
		n := 0
		for i, want := range []bool{false, true, true, false, false, true, false, true} {
			if bounds[i+1] <= cut && want {
				n++
			}
		}
		return n
	}
	isBound := map[int]bool{}
	for _, b := range bounds {
		isBound[b] = true
	}
	var r Reader
	for cut := 0; cut <= len(chunk); cut++ {
		r.Reset(chunk[:cut])
		n := 0
		var err error
		for i := 0; ; i++ {
			if i > cut+1 {
				t.Fatalf("cut %d: reader loops", cut)
			}
			_, err = r.Next()
			if err != nil {
				break
			}
			n++
		}
		if n != normalsBefore(cut) {
			t.Errorf("cut %d: %d records, want %d", cut, n, normalsBefore(cut))
		}
		if isBound[cut] {
			if !errors.Is(err, io.EOF) {
				t.Errorf("cut %d (event boundary): %v, want io.EOF", cut, err)
			}
			continue
		}
		var e *Error
		if !errors.Is(err, ErrTruncated) || !errors.As(err, &e) || e.Skipped {
			t.Errorf("cut %d: %v, want a fatal ErrTruncated", cut, err)
			continue
		}
		if e.Offset < r.Offset() || e.Offset > cut {
			t.Errorf("cut %d: error offset %d outside [%d, %d]", cut, e.Offset, r.Offset(), cut)
		}
		if _, err2 := r.Next(); !errors.Is(err2, err) {
			t.Errorf("cut %d: error is not sticky: %v", cut, err2)
		}
	}
}

func TestReaderEmptyAndReset(t *testing.T) {
	var r Reader
	if _, err := r.Next(); !errors.Is(err, io.EOF) {
		t.Errorf("zero Reader: %v, want io.EOF", err)
	}
	r.Reset([]byte{0xc1})
	if _, err := r.Next(); err == nil || errors.Is(err, io.EOF) {
		t.Fatalf("bad chunk: %v", err)
	}
	chunk, _ := groupedChunk()
	r.ReadGroups = true
	r.Reset(chunk) // clears the sticky error and the counters, keeps ReadGroups
	rec, err := r.Next()
	if err != nil || rec.Group != GroupStart || r.Events() != 1 {
		t.Errorf("after Reset: %v, %v, Events %d", rec.Group, err, r.Events())
	}
}

func TestReaderZeroAllocs(t *testing.T) {
	chunk, _ := groupedChunk()
	for i := 0; i < 50; i++ {
		chunk = append(chunk, formatCases[i%len(formatCases)].chunk...)
	}
	var r Reader
	n := 0
	allocs := testing.AllocsPerRun(100, func() {
		r.Reset(chunk)
		n = 0
		for {
			rec, err := r.Next()
			if err != nil {
				if !errors.Is(err, io.EOF) {
					t.Fatal(err)
				}
				break
			}
			if _, ok, _ := LookupString(rec.Body, "log"); ok {
				n++
			}
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per chunk, want 0", allocs)
	}
	if n != 54 {
		t.Errorf("%d records with a log key, want 54", n)
	}
}

// TestReaderSeek: a reader that starts at an event in the middle of a chunk,
// told how many events precede it, reads and numbers the rest as a reader
// that started at the beginning.
func TestReaderSeek(t *testing.T) {
	var data []byte
	for i := range 6 {
		if i == 4 {
			data = append(data, eventV1(mtrue, empty)...) // a timestamp that is not one: skipped
			continue
		}
		data = append(data, eventV1(fixext8Time(uint32(100+i), 0), logBody("x"))...)
	}
	type step struct {
		off, event int
		err        bool
	}
	walk := func(r *Reader) (steps []step) {
		for {
			rec, err := r.Next()
			if errors.Is(err, io.EOF) {
				return steps
			}
			var ce *Error
			if errors.As(err, &ce) {
				steps = append(steps, step{ce.Offset, ce.Event, true})
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			steps = append(steps, step{rec.Offset, r.Events() - 1, false})
		}
	}
	var all Reader
	all.Reset(data)
	want := walk(&all)
	if len(want) != 6 || !want[4].err || want[4].event != 4 {
		t.Fatalf("the sequential read: %+v; want 6 steps, the fifth an error on event 4", want)
	}
	off := 0
	for k := range 3 { // skip the first three events as split does
		var err error
		if off, err = EventEnd(data, off); err != nil {
			t.Fatalf("event %d: %v", k, err)
		}
	}
	var part Reader
	part.Reset(data)
	part.Seek(off, 3)
	if got := walk(&part); !reflect.DeepEqual(got, want[3:]) {
		t.Errorf("after Seek: %+v; want %+v", got, want[3:])
	}
}
