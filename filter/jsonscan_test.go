package filter

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// skipValueCases are JSON texts, valid and not, around the corners of the
// grammar that skipValue checks.
var skipValueCases = []string{
	`{}`, `[]`, `{"a":1}`, `[1,2,3]`, `{"a":{"b":[{},[],{"c":null}]}}`, `[[[[]]]]`,
	`"x"`, `"\u00e9\n\"\\"`, `-0`, `1.5e-3`, `0.0`, `true`, `false`, `null`,
	`{"a" : [ 1 , { "b" : true } ] }`, "{\n\t\"a\":1\r\n}",
	`{`, `}`, `[`, `]`, `{"a"}`, `{"a":}`, `{"a":1,}`, `[1,]`, `[1 2]`, `{"a":1 "b":2}`,
	`{1:2}`, `{"a":1]`, `[1}`, `01`, `1.`, `-`, `1e`, `.5`, `tru`, `nul`, `falsy`,
	`"abc`, `"\x"`, `"\u12g4"`, "\"a\x01b\"", `[{"a":[1,{"b":"c"}],"d":` + "\x00" + `}]`,
	`{"a":1}}`, `[]]`, `{"a":[}`, `{"":""}`, `[""]`,
}

// TestSkipValueAgreesWithEncodingJSON: a whole text skipValue accepts is one
// that encoding/json accepts, and the other way round.
func TestSkipValueAgreesWithEncodingJSON(t *testing.T) {
	for _, c := range skipValueCases {
		checkSkipValue(t, []byte(c))
	}
	deep := strings.Repeat("[", maxDepth) + strings.Repeat("]", maxDepth)
	if _, err := skipValue([]byte(deep), 0, 0); err != nil {
		t.Errorf("nesting of %d refused: %v", maxDepth, err)
	}
	if _, err := skipValue([]byte("["+deep+"]"), 0, 0); err == nil || !strings.Contains(err.Error(), msgTooDeep) {
		t.Errorf("nesting of %d: err = %v; want nesting too deep", maxDepth+1, err)
	}
}

func FuzzSkipValue(f *testing.F) {
	for _, c := range skipValueCases {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if bytes.Count(b, []byte("["))+bytes.Count(b, []byte("{")) >= maxDepth {
			return // deeper than skipValue's bound: refused on purpose
		}
		checkSkipValue(t, b)
	})
}

func checkSkipValue(t *testing.T, b []byte) {
	t.Helper()
	end, err := skipValue(b, skipSpace(b, 0), 0)
	ok := err == nil && skipSpace(b, end) == len(b)
	if want := json.Valid(b); ok != want {
		t.Errorf("skipValue(%q): end %d, err %v; encoding/json says valid = %v", b, end, err, want)
	}
	if err != nil && (end < 0 || end > len(b)) {
		t.Errorf("skipValue(%q): error offset %d outside the text", b, end)
	}
}
