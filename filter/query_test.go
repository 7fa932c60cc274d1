package filter

import (
	"math/rand/v2"
	"testing"

	"k8s.io/apimachinery/pkg/fields"
)

// TestExactNameMatchAgreesWithFields: the name a field selector pins, and
// whether it parses at all, are what fields.ParseSelector and
// RequiresExactMatch("metadata.name") say, on selectors built from the
// characters that matter to the parser.
func TestExactNameMatchAgreesWithFields(t *testing.T) {
	cases := []string{
		"metadata.name=a", "metadata.name==a", "metadata.name!=a", "metadata.name!a=b",
		"=a", "metadata.name=", "!", "a!", "metadata.name=a,metadata.name=b",
		"metadata.name=b,metadata.name=a", `metadata.name=a\,b`, `metadata.name=a\`, "metadata.name=a=b",
		"spec.nodeName=n,metadata.name==x", "metadata.name!==a", "", ",", "metadata.name",
	}
	parts := []string{"metadata.name", "a", "b", "=", "==", "!=", "!", ",", `\`, `\,`, `\=`, "é", "/"}
	r := rand.New(rand.NewPCG(7, 11))
	for range 20000 {
		var s string
		for range r.IntN(6) {
			s += parts[r.IntN(len(parts))]
		}
		cases = append(cases, s)
	}
	for _, sel := range cases {
		name, ok := exactNameMatch(nil, []byte(sel))
		var want string
		wantOK := false
		if parsed, err := fields.ParseSelector(sel); err == nil {
			want, wantOK = parsed.RequiresExactMatch("metadata.name")
		}
		if ok != wantOK || string(name) != want {
			t.Fatalf("selector %q: name %q, %v; fields says %q, %v", sel, name, ok, want, wantOK)
		}
	}
}
