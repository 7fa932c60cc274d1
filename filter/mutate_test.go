package filter_test

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"slices"
	"strings"
)

// The fields an event may hold only once and under their exact name: what
// the decision, the message key and the audit-event check read.
var (
	uniqueTopFields  = []string{"level", "stage", "verb", "requestURI", "auditID", "kind", "apiVersion", "user"}
	uniqueUserFields = []string{"username", "groups", "uid", "extra"}
)

// rawMember is one member of an object, its key as raw JSON string content.
type rawMember struct {
	key string
	val json.RawMessage
}

// splitObject returns the members of a JSON object, keys re-encoded.
func splitObject(obj []byte) ([]rawMember, bool) {
	dec := json.NewDecoder(bytes.NewReader(obj))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, false
	}
	var ms []rawMember
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, false
		}
		k, _ := json.Marshal(tok.(string))
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, false
		}
		ms = append(ms, rawMember{key: string(k[1 : len(k)-1]), val: v})
	}
	return ms, true
}

func joinObject(ms []rawMember) []byte {
	b := []byte{'{'}
	for i, m := range ms {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = append(b, m.key...)
		b = append(b, `":`...)
		b = append(b, m.val...)
	}
	return append(b, '}')
}

// keyVariant returns another raw spelling of the ASCII key k, and whether
// it still decodes to k exactly (only an escape added) rather than to a
// case variant that encoding/json reads as k.
func keyVariant(r *rand.Rand, k string) (string, bool) {
	b := []rune(k)
	exact := true
	switch r.IntN(4) {
	case 0, 1: // flip the case of one letter
		i := r.IntN(len(b))
		for range len(b) {
			if c := b[i]; c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' {
				b[i] ^= 0x20
				exact = false
				break
			}
			i = (i + 1) % len(b)
		}
	case 2: // the runes that fold to s and k
		for i, c := range b {
			if c == 's' || c == 'S' {
				b[i], exact = 'ſ', false
				break
			}
			if c == 'k' || c == 'K' {
				b[i], exact = 'K', false
				break
			}
		}
	}
	var sb strings.Builder
	esc := -1
	if exact || r.IntN(2) == 0 {
		esc = r.IntN(len(b))
	}
	for i, c := range b {
		if i == esc && c < 0x80 {
			sb.WriteString(`\u00`)
			sb.WriteString(strings.ToUpper(string("0123456789abcdef"[c>>4]) + string("0123456789abcdef"[c&15])))
			continue
		}
		sb.WriteRune(c)
	}
	return sb.String(), exact
}

// A secret body and the annotations a Metadata event must not have.
const (
	secretBody         = `{"kind":"Secret","apiVersion":"v1","metadata":{"name":"s","managedFields":[{"manager":"m"}]},"data":{"password":"aHVudGVyMg=="}}`
	requestAnnotations = `{"patch.webhook.admission.k8s.io/round_0_index_0":"{\"op\":\"add\"}","audit.k8s.io/truncated":"true"}`
)

// mutate injects one duplicate or case variant into the event ev: a member
// copied, renamed or added under another spelling of its key, a body or
// annotations added under any spelling, or the same inside "user".
// ambiguous tells that the result has a decision field twice or under a
// variant key, which the filter must refuse.
func mutate(r *rand.Rand, ev []byte) (out []byte, ambiguous, ok bool) {
	ms, ok := splitObject(ev)
	if !ok || len(ms) == 0 {
		return nil, false, false
	}
	at := r.IntN(len(ms) + 1)
	switch r.IntN(6) {
	case 0: // a body under some spelling of its key
		name := []string{"requestObject", "responseObject"}[r.IntN(2)]
		k, _ := keyVariant(r, name)
		ms = slices.Insert(ms, at, rawMember{k, json.RawMessage(secretBody)})
	case 1: // annotations under some spelling
		k, _ := keyVariant(r, "annotations")
		ms = slices.Insert(ms, at, rawMember{k, json.RawMessage(requestAnnotations)})
	case 2: // inside user
		for i := range ms {
			if ms[i].key != "user" {
				continue
			}
			inner, ok := splitObject(ms[i].val)
			if !ok || len(inner) == 0 {
				return nil, false, false
			}
			inner, ambiguous = mutateMembers(r, inner, uniqueUserFields)
			ms[i].val = joinObject(inner)
			return joinObject(ms), ambiguous, true
		}
		return nil, false, false
	default:
		ms, ambiguous = mutateMembers(r, ms, uniqueTopFields)
	}
	return joinObject(ms), ambiguous, true
}

// mutateMembers copies a member, renames it or adds a copy under another
// spelling; ambiguous when that member is one of unique and is then held
// twice or under a variant key.
func mutateMembers(r *rand.Rand, ms []rawMember, unique []string) ([]rawMember, bool) {
	i := r.IntN(len(ms))
	m := ms[i]
	isUnique := slices.Contains(unique, m.key)
	k, exact := keyVariant(r, m.key)
	switch r.IntN(3) {
	case 0:
		return slices.Insert(ms, r.IntN(len(ms)+1), m), isUnique
	case 1:
		ms[i].key = k
		return ms, isUnique && !exact
	}
	return slices.Insert(ms, r.IntN(len(ms)+1), rawMember{k, m.val}), isUnique
}
