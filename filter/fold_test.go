package filter

import (
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

// goReads reports whether encoding/json reads the member with raw key
// rawKey into a struct field named name.
func goReads(t *testing.T, rawKey, name string) bool {
	t.Helper()
	typ := reflect.StructOf([]reflect.StructField{{Name: "F", Type: reflect.TypeFor[*string](), Tag: reflect.StructTag(`json:"` + name + `"`)}})
	v := reflect.New(typ)
	if err := json.Unmarshal([]byte(`{"`+rawKey+`":"x"}`), v.Interface()); err != nil {
		t.Fatalf("key %q: %v", rawKey, err)
	}
	return !v.Elem().Field(0).IsNil()
}

// keyFolds matches keys exactly as encoding/json does: for every field name
// the scanner knows, its spellings in other cases, with the runes that fold
// to ASCII letters, with escapes, and near misses.
func TestKeyFoldsAgreesWithEncodingJSON(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	spell := func(c byte) string {
		switch r.IntN(8) {
		case 0:
			return string(c ^ 0x20)
		case 1:
			return `\u00` + strings.ToLower(string("0123456789ABCDEF"[c>>4])+string("0123456789ABCDEF"[c&15]))
		case 2:
			return map[byte]string{'s': "ſ", 'S': "ſ", 'k': "K", 'K': "K", 'i': "ı", 'I': "İ"}[c] + ""
		case 3:
			return `\u` + map[bool]string{true: "017f", false: "212A"}[c == 's' || c == 'S']
		case 4:
			return string(c) + "x" // a near miss
		}
		return string(c)
	}
	names := append(eventFieldNames[1:], userFieldNames[:]...)
	checked, matched := 0, 0
	for _, name := range names {
		for range 300 {
			var b strings.Builder
			for i := range len(name) {
				s := spell(name[i])
				if s == "" {
					s = string(name[i])
				}
				b.WriteString(s)
			}
			raw := b.String()
			want := goReads(t, raw, name)
			got := keyFolds([]byte(raw), strings.Contains(raw, `\`), name)
			if got != want {
				t.Errorf("keyFolds(%q, %q) = %v; encoding/json reads it: %v", raw, name, got, want)
			}
			checked++
			if want {
				matched++
			}
		}
	}
	if matched == 0 || matched == checked {
		t.Fatalf("degenerate sample: %d of %d keys match", matched, checked)
	}
}
