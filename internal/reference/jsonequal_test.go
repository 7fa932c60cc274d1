package reference

import "testing"

func TestJSONEqual(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{`{"a":1,"b":[1,2]}`, ` {"b":[1,2],"a":1}` + "\n", true},
		{`{"a":"&"}`, `{"a":"\u0026"}`, true},
		{`{"a":1,"a":2}`, `{"a":2}`, true},
		{`{"a":1.0}`, `{"a":1}`, false},
		{`{"a":[1,2]}`, `{"a":[2,1]}`, false},
		{`{"a":null}`, `{}`, false},
		{`{"a":{}}`, `{"a":[]}`, false},
		{`{"a":1}`, `{"a":1}{}`, false},
		{`{"a":1`, `{"a":1`, false},
		{`"x"`, `"x"`, true},
	} {
		if got := JSONEqual([]byte(tc.a), []byte(tc.b)); got != tc.want {
			t.Errorf("JSONEqual(%s, %s) = %v", tc.a, tc.b, got)
		}
	}
}
