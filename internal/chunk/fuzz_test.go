package chunk

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"testing"

	"github.com/tinylib/msgp/msgp"
)

// FuzzReader feeds arbitrary chunks to the Reader, EventEnd, LookupString
// and AppendJSON: nothing may panic or loop, every view must lie inside the
// input, EventEnd must find the event boundaries Next finds and break where
// it breaks, and AppendJSON's output must be valid JSON whenever it
// succeeds.
func FuzzReader(f *testing.F) {
	for _, tc := range formatCases {
		f.Add(tc.chunk)
	}
	grouped, _ := groupedChunk()
	f.Add(grouped)
	parsed, _ := toMsgpack(f, auditLine, 32, true)
	f.Add(cat(eventV2(fixext8Time(1, 2), empty, parsed), eventV1(u32(3), logBody(auditLine))))
	f.Add(cat(eventV1(mtrue, empty), eventV1(fixext8Time(1, 0), cat(mapHdr(fix, 1), s("k"), []byte{0xc1}))))
	f.Add(cat(eventV2(f64(-1), empty, empty), eventV1(cat([]byte{0xd6, 0xff}, be32(5)), empty)))

	f.Fuzz(func(t *testing.T, data []byte) {
		bounds, broken := map[int]bool{}, -1
		for off := 0; off < len(data); {
			end, err := EventEnd(data, off)
			if err != nil {
				broken = off
				break
			}
			bounds[end] = true
			off = end
		}
		var r Reader
		r.ReadGroups = len(data)%2 == 1 // exercise both modes
		r.Reset(data)
		last := 0
		for i := 0; ; i++ {
			if i > len(data) {
				t.Fatalf("more than %d events from %d bytes: the reader loops", i, len(data))
			}
			rec, err := r.Next()
			if errors.Is(err, io.EOF) {
				if r.Offset() != len(data) || broken >= 0 {
					t.Fatalf("io.EOF at offset %d of %d; EventEnd broke at %d", r.Offset(), len(data), broken)
				}
				break
			}
			var ce *Error
			isErr := errors.As(err, &ce)
			switch {
			case isErr && !ce.Skipped && r.Offset() != broken:
				t.Fatalf("Next broke at the event at %d, EventEnd at %d", r.Offset(), broken)
			case (err == nil || isErr && ce.Skipped) && !bounds[r.Offset()]:
				t.Fatalf("Next moved to %d, not an event end EventEnd found", r.Offset())
			}
			if err != nil {
				var e *Error
				if !errors.As(err, &e) {
					t.Fatalf("error %v is %T, not *Error", err, err)
				}
				if e.Offset < last || e.Offset > len(data) || e.Event < 0 {
					t.Fatalf("error offset %d outside [%d, %d] or event %d: %v", e.Offset, last, len(data), e.Event, e)
				}
				if !e.Skipped {
					if _, err2 := r.Next(); !errors.Is(err2, err) {
						t.Fatalf("fatal error not sticky: %v then %v", err, err2)
					}
					break
				}
				if r.Offset() <= last {
					t.Fatalf("skipped event did not advance: %d -> %d", last, r.Offset())
				}
				last = r.Offset()
				continue
			}
			if rec.Offset < last || r.Offset() <= rec.Offset {
				t.Fatalf("record at %d, previous end %d, new end %d", rec.Offset, last, r.Offset())
			}
			last = r.Offset()
			checkMap(t, data, rec.Body)
			if rec.Metadata != nil {
				checkMap(t, data, rec.Metadata)
			}
			if val, _, _ := LookupString(rec.Body, "log"); !within(rec.Body, val) {
				t.Fatalf("LookupString view outside the record")
			}
			if out, err := AppendJSON(nil, rec.Body); err == nil && !json.Valid(out) {
				t.Fatalf("AppendJSON wrote invalid JSON %q", out)
			}
		}

		// The record functions on the raw input too.
		if val, _, _ := LookupString(data, "log"); !within(data, val) {
			t.Fatalf("LookupString view outside the input")
		}
		if out, err := AppendJSON([]byte("x"), data); err == nil {
			if !json.Valid(out[1:]) {
				t.Fatalf("AppendJSON wrote invalid JSON %q", out)
			}
		} else if string(out) != "x" {
			t.Fatalf("AppendJSON error left output %q", out)
		}
	})
}

// checkMap checks that view lies inside data and is exactly one msgpack map.
func checkMap(t *testing.T, data, view []byte) {
	t.Helper()
	if !within(data, view) {
		t.Fatalf("view outside the input")
	}
	if msgp.NextType(view) != msgp.MapType {
		t.Fatalf("view % x is not a map", view)
	}
	if rest, err := msgp.Skip(view); err != nil || len(rest) != 0 {
		t.Fatalf("view is not exactly one value: %v, %d bytes left", err, len(rest))
	}
}

// FuzzJSONString checks string escaping against encoding/json.
func FuzzJSONString(f *testing.F) {
	f.Add([]byte("<a&b>\"\\\n\x01\u2028é\xff"))
	f.Fuzz(func(t *testing.T, s []byte) {
		want, _ := json.Marshal(string(s))
		if got := appendJSONString(nil, s); !bytes.Equal(got, want) {
			t.Fatalf("%q: got %s, want %s", s, got, want)
		}
	})
}
