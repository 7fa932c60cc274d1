package chunk

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"math/rand"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/tinylib/msgp/msgp"
)

func TestAppendJSONValues(t *testing.T) {
	cases := []struct {
		name string
		in   []byte
		want string
	}{
		{"empty map", empty, `{}`},
		{"map32 of one", cat(mapHdr(32, 1), s("a"), []byte{0x01}), `{"a":1}`},
		{"key order kept", cat(mapHdr(16, 3), s("z"), []byte{1}, s("a"), []byte{2}, s("m"), []byte{3}), `{"z":1,"a":2,"m":3}`},
		{"duplicate keys kept", cat(mapHdr(fix, 2), s("k"), []byte{1}, s("k"), []byte{2}), `{"k":1,"k":2}`},
		{"key widths", cat(mapHdr(fix, 4), str(8, "a"), []byte{1}, str(16, "b"), []byte{2}, str(32, "c"), []byte{3}, bin(8, "d"), []byte{4}), `{"a":1,"b":2,"c":3,"d":4}`},
		{"integer keys", cat(mapHdr(fix, 3), []byte{0x07}, mtrue, i8(-3), mfalse, u64(math.MaxUint64), mnil), `{"7":true,"-3":false,"18446744073709551615":null}`},
		{"str and bin values", cat(arrHdr(fix, 6), s("a"), str(8, "b"), str(16, "c"), str(32, "d"), bin(8, "e"), bin(32, "f")), `["a","b","c","d","e","f"]`},
		{"array widths", cat(arrHdr(32, 2), arrHdr(16, 1), arrHdr(fix, 0), arrHdr(fix, 0)), `[[[]],[]]`},
		{"integers", cat(arrHdr(fix, 12), []byte{0x00}, []byte{0x7f}, []byte{0xe0}, i8(math.MinInt8), i16(math.MinInt16),
			i32(math.MinInt32), i64(math.MinInt64), i64(math.MaxInt64), u8(255), u16(65535), u32(math.MaxUint32), u64(math.MaxUint64)),
			`[0,127,-32,-128,-32768,-2147483648,-9223372036854775808,9223372036854775807,255,65535,4294967295,18446744073709551615]`},
		{"float64", cat(arrHdr(fix, 8), f64(0), f64(1), f64(-1.5), f64(0.1), f64(1e21), f64(1e20), f64(1e-7), f64(123456789.125)),
			`[0,1,-1.5,0.1,1e+21,100000000000000000000,1e-7,123456789.125]`},
		{"float32 keeps its precision", cat(arrHdr(fix, 3), f32(0.1), f32(3.4028235e38), f32(1e-7)), `[0.1,3.4028235e+38,1e-7]`},
		{"negative zero", f64(math.Copysign(0, -1)), `-0`},
		{"bool and nil", cat(arrHdr(fix, 3), mtrue, mfalse, mnil), `[true,false,null]`},
		{"escaping", s("<a&b>\"\\\n\x01\u2028é"), `"\u003ca\u0026b\u003e\"\\\n\u0001\u2028é"`},
		{"invalid UTF-8", bin(8, "a\xffb\xc3"), `"a\ufffdb\ufffd"`},
		{"event time", cat([]byte{0xd7, 0x00}, be32(1700000000), be32(5)), `1700000000.000000005`},
		{"event time as ext8", ext8Time(1, 999999999), `1.999999999`},
		{"msgpack timestamp 32", cat([]byte{0xd6, 0xff}, be32(1700000000)), `"2023-11-14T22:13:20Z"`},
		{"msgpack timestamp 96", cat([]byte{0xc7, 12, 0xff}, be32(500), i64(1700000000)[1:]), `"2023-11-14T22:13:20.0000005Z"`},
		{"other ext", []byte{0xd5, 0x09, 0xab, 0xcd}, `{"type":9,"data":"q80="}`},
		{"empty ext8", []byte{0xc7, 0x00, 0x03}, `{"type":3,"data":""}`},
		{"ext 0 of 4 bytes", cat([]byte{0xd6, 0x00}, be32(1)), `{"type":0,"data":"AAAAAQ=="}`},
		{"nested", cat(mapHdr(32, 2), s("a"), cat(mapHdr(fix, 1), s("b"), cat(arrHdr(fix, 2), mnil, empty)), s("c"), f64(2.5)),
			`{"a":{"b":[null,{}]},"c":2.5}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			prefix := []byte("prefix:")
			got, err := AppendJSON(prefix, tc.in)
			if err != nil {
				t.Fatalf("AppendJSON: %v", err)
			}
			if !bytes.HasPrefix(got, prefix) {
				t.Fatalf("dst prefix lost: %q", got)
			}
			if g := string(got[len(prefix):]); g != tc.want {
				t.Errorf("\n got %s\nwant %s", g, tc.want)
			}
			if !json.Valid(got[len(prefix):]) {
				t.Errorf("invalid JSON %s", got[len(prefix):])
			}
		})
	}
}

func TestAppendJSONErrors(t *testing.T) {
	deep := func(n int) []byte { return append(bytes.Repeat([]byte{0x91}, n-1), 0x90) }
	cases := []struct {
		name string
		in   []byte
		msg  string
	}{
		{"empty", nil, "chunk: at offset 0: record: truncated: the data ends inside a msgpack object"},
		{"trailing bytes", cat(empty, []byte{0x01}), "chunk: at offset 1: record: bytes left after the value"},
		{"NaN", cat(mapHdr(fix, 1), s("x"), f64(math.NaN())), "chunk: at offset 3: record: float NaN is not representable in JSON"},
		{"+Inf float32", cat(arrHdr(fix, 1), f32(float32(math.Inf(1)))), "chunk: at offset 1: record: float +Inf is not representable in JSON"},
		{"array key", cat(mapHdr(fix, 1), arrHdr(fix, 0), []byte{1}), "chunk: at offset 1: record: unexpected msgpack type 0x90 (array), want map key (str, bin or integer)"},
		{"float key", cat(mapHdr(fix, 1), f64(1), []byte{1}), "chunk: at offset 1: record: unexpected msgpack type 0xcb (float64), want map key (str, bin or integer)"},
		{"invalid byte", cat(arrHdr(fix, 2), []byte{1}, []byte{0xc1}), "chunk: at offset 2: record: invalid msgpack byte 0xc1, want a msgpack value"},
		{"truncated string", cut(cat(arrHdr(fix, 1), str(8, "abc")), 1), "chunk: at offset 1: record: truncated: the data ends inside a msgpack object"},
		{"truncated map", cat(mapHdr(32, 2), s("a")), "chunk: at offset 7: record: truncated: the data ends inside a msgpack object"},
		{"missing key", mapHdr(fix, 1), "chunk: at offset 1: record: truncated: the data ends inside a msgpack object"},
		{"event time nanoseconds", fixext8Time(1, 1e9), "chunk: at offset 0: record: event time with 1000000000 nanoseconds"},
		{"too deep", deep(maxJSONDepth + 1), "chunk: at offset 10001: record: nesting deeper than 10001 levels"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dst := []byte("keep")
			got, err := AppendJSON(dst, tc.in)
			if err == nil {
				t.Fatalf("no error; output %s", got)
			}
			if err.Error() != tc.msg {
				t.Errorf("message\n got %s\nwant %s", err, tc.msg)
			}
			if string(got) != "keep" {
				t.Errorf("dst = %q, want it unchanged", got)
			}
		})
	}
	// Exactly the limit is fine; encoding/json reads back one level less.
	got, err := AppendJSON(nil, deep(maxJSONDepth))
	if err != nil || len(got) != 2*maxJSONDepth {
		t.Errorf("depth %d: %v, %d bytes", maxJSONDepth, err, len(got))
	}
	if got, err := AppendJSON(nil, deep(maxJSONDepth-1)); err != nil || !json.Valid(got) {
		t.Errorf("depth %d: %v, valid %v", maxJSONDepth-1, err, json.Valid(got))
	}
}

// TestAppendJSONAuditEvent converts a parsed audit event in the forms Fluent
// Bit's JSON parser produces and checks the output byte for byte against
// encoding/json's encoding of the same values in the same key order, and
// semantically against the original line.
func TestAppendJSONAuditEvent(t *testing.T) {
	var orig any
	dec := json.NewDecoder(strings.NewReader(auditLine))
	dec.UseNumber()
	if err := dec.Decode(&orig); err != nil {
		t.Fatal(err)
	}
	for _, width := range []int{fix, 16, 32} {
		for _, binStr := range []bool{false, true} {
			mp, want := toMsgpack(t, auditLine, width, binStr)
			got, err := AppendJSON(nil, mp)
			if err != nil {
				t.Fatalf("width %d bin %v: %v", width, binStr, err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("width %d bin %v:\n got %s\nwant %s", width, binStr, got, want)
			}
			var back any
			dec := json.NewDecoder(bytes.NewReader(got))
			dec.UseNumber()
			if err := dec.Decode(&back); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(back, normalise(orig)) {
				t.Errorf("width %d bin %v: decoded output differs from the line", width, binStr)
			}
		}
	}
}

// normalise rewrites json.Numbers the way encoding/json prints the value
// they hold (1.0 → 1, 1e-07 → 1e-7), so that decoded trees compare.
func normalise(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			v[k] = normalise(e)
		}
	case []any:
		for i, e := range v {
			v[i] = normalise(e)
		}
	case json.Number:
		if _, err := v.Int64(); err == nil {
			return v
		}
		if _, err := v.Float64(); err == nil && strings.ContainsAny(string(v), ".eE") {
			f, _ := v.Float64()
			b, _ := json.Marshal(f)
			return json.Number(b)
		}
	}
	return v
}

// TestAppendJSONRandomMaps builds random nested maps, encodes them with
// msgp's writer, and compares AppendJSON's output, decoded, with
// json.Marshal of the same map, decoded.
func TestAppendJSONRandomMaps(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for i := 0; i < 2000; i++ {
		m := randomMap(rng, 0)
		mp, err := msgp.AppendIntf(nil, m)
		if err != nil {
			t.Fatal(err)
		}
		got, err := AppendJSON(nil, mp)
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		ref, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		if a, b := decodeNumbers(t, got), decodeNumbers(t, ref); !reflect.DeepEqual(a, b) {
			t.Fatalf("case %d:\n got %s\nwant %s", i, got, ref)
		}
	}
}

func decodeNumbers(t *testing.T, b []byte) any {
	t.Helper()
	var v any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("%v in %s", err, b)
	}
	return v
}

func randomMap(rng *rand.Rand, depth int) map[string]any {
	m := map[string]any{}
	for n := rng.Intn(6); n > 0; n-- {
		m[randomString(rng, false)] = randomValue(rng, depth+1)
	}
	return m
}

func randomValue(rng *rand.Rand, depth int) any {
	k := rng.Intn(12)
	if depth > 4 && k >= 10 {
		k = 0
	}
	switch k {
	case 0:
		return randomString(rng, true)
	case 1:
		return rng.Int63() - rng.Int63()
	case 2:
		return []int64{0, -1, 127, 128, -32, -33, math.MinInt64, math.MaxInt64}[rng.Intn(8)]
	case 3:
		return rng.Uint64()
	case 4:
		return math.Float64frombits(rng.Uint64()&^(0x7ff<<52) | uint64(rng.Intn(0x7ff))<<52) // finite
	case 5:
		return rng.NormFloat64() * math.Pow(10, float64(rng.Intn(60)-30))
	case 6:
		return float32(rng.NormFloat64() * math.Pow(10, float64(rng.Intn(40)-20)))
	case 7:
		return rng.Intn(2) == 0
	case 8:
		return nil
	case 9:
		return []any{}
	case 10:
		a := make([]any, rng.Intn(5))
		for i := range a {
			a[i] = randomValue(rng, depth+1)
		}
		return a
	default:
		return randomMap(rng, depth)
	}
}

// randomString returns a short string of characters that need escaping,
// with invalid UTF-8 if invalid is set. Map keys are valid UTF-8, so that
// two keys never become the same after invalid bytes turn into U+FFFD.
func randomString(rng *rand.Rand, invalid bool) string {
	const alphabet = "ab<>&\"\\\x00\x1f\x7f é☃\u2028\u2029\xff\xc3"
	var b strings.Builder
	for n := rng.Intn(8); n > 0; n-- {
		if rng.Intn(4) == 0 && invalid {
			b.WriteByte(alphabet[rng.Intn(len(alphabet))]) // may split a rune: invalid UTF-8
		} else {
			b.WriteRune([]rune("abc<é☃\u2028")[rng.Intn(7)])
		}
	}
	return b.String()
}

// TestJSONStringMatchesEncodingJSON checks every single byte and assorted
// strings against json.Marshal.
func TestJSONStringMatchesEncodingJSON(t *testing.T) {
	var inputs []string
	for c := 0; c < 256; c++ {
		inputs = append(inputs, string([]byte{byte(c)}), "x"+string([]byte{byte(c)})+"y")
	}
	inputs = append(inputs, "", "plain", "\u2028\u2029", "\U0001F600", "\xed\xa0\x80", "\xf4\x90\x80\x80", "a\xe2\x80", string(utf8.RuneError))
	for _, in := range inputs {
		want, _ := json.Marshal(in)
		if got := appendJSONString(nil, []byte(in)); !bytes.Equal(got, want) {
			t.Errorf("%q: got %s, want %s", in, got, want)
		}
	}
}

func TestJSONFloatMatchesEncodingJSON(t *testing.T) {
	floats := []float64{0, 1, -1, 0.1, 1e-6, 9.999999e-7, 1e-7, 1e20, 1e21, 9.999999999999999e20, 123.456, -2.5e-300,
		math.MaxFloat64, math.SmallestNonzeroFloat64, 1e-9, 5e-324, 1.0 / 3}
	rng := rand.New(rand.NewSource(2))
	for i := 0; i < 5000; i++ {
		floats = append(floats, math.Float64frombits(rng.Uint64()))
	}
	for _, f := range floats {
		if math.IsNaN(f) || math.IsInf(f, 0) {
			continue
		}
		want, _ := json.Marshal(f)
		if got, err := appendJSONFloat(nil, f, 64); err != nil || !bytes.Equal(got, want) {
			t.Errorf("float64 %v: got %s, want %s", f, got, want)
		}
		f32 := float32(f)
		if math.IsInf(float64(f32), 0) {
			continue
		}
		want, _ = json.Marshal(f32)
		if got, err := appendJSONFloat(nil, float64(f32), 32); err != nil || !bytes.Equal(got, want) {
			t.Errorf("float32 %v: got %s, want %s", f32, got, want)
		}
	}
}

func TestAppendJSONZeroAllocs(t *testing.T) {
	mp, _ := toMsgpack(t, auditLine, 32, false)
	dst := make([]byte, 0, 2*len(auditLine))
	allocs := testing.AllocsPerRun(100, func() {
		var err error
		if dst, err = AppendJSON(dst[:0], mp); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations, want 0", allocs)
	}
}

func TestAppendJSONErrorType(t *testing.T) {
	_, err := AppendJSON(nil, cut(str(8, "abc"), 1))
	var e *Error
	if !errors.As(err, &e) || e.Event != -1 || !errors.Is(err, ErrTruncated) {
		t.Errorf("err = %#v", err)
	}
}
