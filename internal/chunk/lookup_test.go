package chunk

import (
	"errors"
	"testing"
)

func TestLookupString(t *testing.T) {
	long := string(make([]byte, 70000)) // needs str32 / bin32
	cases := []struct {
		name   string
		record []byte
		key    string
		want   string
		found  bool
		errIs  error  // nil, ErrTruncated or ErrNotString
		errMsg string // full message when not empty
	}{
		{"fixstr", cat(mapHdr(fix, 1), s("log"), s("v")), "log", "v", true, nil, ""},
		{"str8 key and value", cat(mapHdr(fix, 1), str(8, "log"), str(8, "v8")), "log", "v8", true, nil, ""},
		{"str16", cat(mapHdr(16, 1), str(16, "log"), str(16, "v16")), "log", "v16", true, nil, ""},
		{"str32", cat(mapHdr(32, 1), str(32, "log"), str(32, long)), "log", long, true, nil, ""},
		{"bin8", cat(mapHdr(fix, 1), bin(8, "log"), bin(8, "b8")), "log", "b8", true, nil, ""},
		{"bin16", cat(mapHdr(fix, 1), bin(16, "log"), bin(16, "b16")), "log", "b16", true, nil, ""},
		{"bin32", cat(mapHdr(fix, 1), bin(32, "log"), bin(32, long)), "log", long, true, nil, ""},
		{"empty value", cat(mapHdr(fix, 1), s("log"), s("")), "log", "", true, nil, ""},
		{"empty key", cat(mapHdr(fix, 1), s(""), s("x")), "", "x", true, nil, ""},
		{"not first, skipping nested values", cat(mapHdr(fix, 4),
			s("a"), cat(mapHdr(fix, 1), s("log"), s("nested, not top level")),
			s("b"), cat(arrHdr(16, 3), []byte{1}, f64(2), mnil),
			s("c"), fixext8Time(1, 2),
			s("log"), s("top")), "log", "top", true, nil, ""},
		{"absent", cat(mapHdr(fix, 2), s("a"), s("1"), s("b"), s("2")), "log", "", false, nil, ""},
		{"only nested", cat(mapHdr(fix, 1), s("x"), cat(mapHdr(fix, 1), s("log"), s("v"))), "log", "", false, nil, ""},
		{"case-sensitive", cat(mapHdr(fix, 1), s("Log"), s("v")), "log", "", false, nil, ""},
		{"prefix is not a match", cat(mapHdr(fix, 1), s("logs"), s("v")), "log", "", false, nil, ""},
		{"integer keys are skipped", cat(mapHdr(fix, 2), []byte{0x07}, s("seven"), s("log"), s("v")), "log", "v", true, nil, ""},
		{"nil key is skipped", cat(mapHdr(fix, 2), mnil, s("x"), s("log"), s("v")), "log", "v", true, nil, ""},
		{"first duplicate wins", cat(mapHdr(fix, 2), s("log"), s("first"), s("log"), s("second")), "log", "first", true, nil, ""},
		{"empty map", empty, "log", "", false, nil, ""},
		{"value is a map", cat(mapHdr(fix, 1), s("log"), empty), "log", "", true, ErrNotString,
			`chunk: at offset 5: key "log": value is not a string: msgpack type 0x80 (map)`},
		{"value is an int", cat(mapHdr(fix, 1), s("log"), []byte{0x01}), "log", "", true, ErrNotString, ""},
		{"value is nil", cat(mapHdr(fix, 1), s("log"), mnil), "log", "", true, ErrNotString, ""},
		{"not a map", s("log"), "log", "", false, nil,
			"chunk: at offset 0: record: unexpected msgpack type 0xa3 (str), want map"},
		{"empty input", nil, "log", "", false, ErrTruncated, ""},
		{"truncated value", cut(cat(mapHdr(fix, 1), s("log"), str(8, "value")), 1), "log", "", true, ErrTruncated,
			`chunk: at offset 5: key "log": truncated: the data ends inside a msgpack object`},
		{"truncated key", cut(cat(mapHdr(fix, 1), str(16, "log"), s("v")), 3), "log", "", false, ErrTruncated, ""},
		{"count larger than the entries", cat(mapHdr(32, 3), s("a"), s("b")), "log", "", false, ErrTruncated,
			"chunk: at offset 9: record: truncated: the data ends inside a msgpack object"},
		{"invalid byte in a skipped value", cat(mapHdr(fix, 2), s("a"), []byte{0xc1}, s("log"), s("v")), "log", "", false, nil,
			"chunk: at offset 3: record: invalid msgpack byte 0xc1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			val, found, err := LookupString(tc.record, tc.key)
			if string(val) != tc.want || found != tc.found {
				t.Errorf("= %.20q, %v; want %.20q, %v", val, found, tc.want, tc.found)
			}
			mustWithin(t, tc.record, val)
			wantErr := tc.errIs != nil || tc.errMsg != ""
			if (err != nil) != wantErr {
				t.Fatalf("err = %v, want error: %v", err, wantErr)
			}
			if tc.errIs != nil && !errors.Is(err, tc.errIs) {
				t.Errorf("err = %v, want errors.Is %v", err, tc.errIs)
			}
			if tc.errMsg != "" && err.Error() != tc.errMsg {
				t.Errorf("message\n got %s\nwant %s", err, tc.errMsg)
			}
			var e *Error
			if err != nil && (!errors.As(err, &e) || e.Event != -1) {
				t.Errorf("err = %#v, want *Error with Event -1", err)
			}
		})
	}
}

func TestLookupStringZeroAllocs(t *testing.T) {
	record := cat(mapHdr(32, 3), s("a"), cat(arrHdr(fix, 2), s("x"), s("y")), bin(8, "b"), []byte{1}, s("log"), str(32, line))
	allocs := testing.AllocsPerRun(1000, func() {
		if v, ok, err := LookupString(record, "log"); !ok || err != nil || len(v) != len(line) {
			t.Fatal("lookup failed")
		}
		if _, ok, _ := LookupString(record, "missing"); ok {
			t.Fatal("found a missing key")
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations, want 0", allocs)
	}
}
