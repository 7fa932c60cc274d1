package sink

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	authnv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	auditinternal "k8s.io/apiserver/pkg/apis/audit"
	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"
	"k8s.io/apiserver/pkg/audit"
)

func TestAppendShortened(t *testing.T) {
	long := func(c string, n int) string { return strings.Repeat(c, n) }
	marker := func(n int) string { return fmt.Sprintf("...[truncated, was %d bytes]", n) }
	f := func(in string, limit int, want string) {
		t.Helper()
		got, ok := appendShortened([]byte("keep:"), []byte(in), limit)
		if !ok {
			t.Errorf("appendShortened(%.80s, %d): not ok", in, limit)
			return
		}
		if string(got) != "keep:"+want {
			t.Errorf("appendShortened(%.80s, %d)\ngot  %s\nwant keep:%s", in, limit, got, want)
		}
		if !json.Valid(got[5:]) {
			t.Errorf("invalid JSON: %s", got[5:])
		}
		if limit > 0 && len(got)-5 > limit {
			t.Errorf("appendShortened(%.80s, %d): %d bytes", in, limit, len(got)-5)
		}
	}
	ann := func(fields string) string {
		return `"annotations":{"auditstream.io/truncated-fields":"` + fields + `"}`
	}

	// Only as much as needed, userAgent first: at limit 2000, 1000 bytes
	// of userAgent (and the annotation's reserve) go, the URI stays.
	in := `{"requestURI":"/api/` + long("p", 1000) + `","userAgent":"` + long("u", 2000) + `"}`
	keep := 2000 - (len(in) + shortenedAnnotationReserve - 2000) - len(marker(2000))
	f(in, 2000, `{"requestURI":"/api/`+long("p", 1000)+`","userAgent":"`+long("u", keep)+marker(2000)+`",`+ann("userAgent")+`}`)
	// userAgent cannot go below minKept: then the URI is cut too, by what
	// is still missing.
	need := len(in) + shortenedAnnotationReserve - 1000 - (2000 - minKept - len(marker(2000)))
	keep = 1005 - len(marker(1005)) - need
	f(in, 1000, `{"requestURI":"`+("/api/" + long("p", 1000))[:keep]+marker(1005)+`","userAgent":"`+long("u", minKept)+marker(2000)+`",`+ann("userAgent,requestURI")+`}`)
	// limit 0: every field cut to minKept; short ones are left alone.
	f(`{"userAgent":"`+long("u", 400)+`","objectRef":{"resource":"pods","name":"`+long("n", 300)+`","subresource":"`+long("s", 200)+`"},"annotations":null}`, 0,
		`{"userAgent":"`+long("u", minKept)+marker(400)+`","objectRef":{"resource":"pods","name":"`+long("n", minKept)+marker(300)+`","subresource":"`+long("s", 200)+`"},`+ann("userAgent,objectRef.name")+`}`)
	// The annotation goes in sorted, beside the others, and replaces an
	// earlier one.
	f(`{"userAgent":"`+long("u", 400)+`","annotations":{"a":"1","z":"2"}}`, 0,
		`{"userAgent":"`+long("u", minKept)+marker(400)+`","annotations":{"a":"1","auditstream.io/truncated-fields":"userAgent","z":"2"}}`)
	f(`{"userAgent":"`+long("u", 400)+`","annotations":{"auditstream.io/truncated-fields":"x"}}`, 0,
		`{"userAgent":"`+long("u", minKept)+marker(400)+`","annotations":{"auditstream.io/truncated-fields":"userAgent"}}`)
	// Lists: every long string of user.extra and of the impersonated
	// user's groups; whitespace and other members unchanged.
	f(`{ "user" : {"username":"`+long("x", 300)+`", "extra" : {"a":["`+long("a", 300)+`", "b"], "b":[], "c":null}},"impersonatedUser":{"groups":["g","`+long("g", 300)+`"]} }`, 0,
		`{ "user" : {"username":"`+long("x", 300)+`", "extra" : {"a":["`+long("a", minKept)+marker(300)+`", "b"], "b":[], "c":null}},"impersonatedUser":{"groups":["g","`+long("g", minKept)+marker(300)+`"]} ,`+ann("user.extra,impersonatedUser.groups")+`}`)
	// A cut never splits an escape, a surrogate pair or a UTF-8 sequence.
	for _, c := range []string{`\"`, `\u0026`, `\ud83d\ude00`, "é", "😀", `\\`} {
		for pad := range 12 {
			in := `{"userAgent":"` + long("u", minKept-pad) + long(c, 100) + `"}`
			got, ok := appendShortened(nil, []byte(in), 0)
			var ev auditv1.Event
			if err := json.Unmarshal(got, &ev); !ok || err != nil || strings.ContainsRune(ev.UserAgent, '\uFFFD') {
				t.Errorf("cut %q after %d: %v, %s", c, minKept-pad, err, got)
				continue
			}
			var orig auditv1.Event
			_ = json.Unmarshal([]byte(in), &orig)
			if p := strings.TrimSuffix(ev.UserAgent, marker(len(in)-len(`{"userAgent":""}`))); p == ev.UserAgent || !strings.HasPrefix(orig.UserAgent, p) {
				t.Errorf("cut %q after %d: %q is no prefix and marker", c, minKept-pad, ev.UserAgent)
			}
		}
	}

	for _, bad := range []string{``, `[]`, `{"userAgent":"x"}`, `{"userAgent":1,"requestURI":null}`, `{"userAgent":"` + long("u", 400) + `"`,
		`{"userAgent":"` + long("u", 400) + `","annotations":[]}`, `{"user":{"extra":[]}}`} {
		if out, ok := appendShortened([]byte("keep"), []byte(bad), 0); ok || string(out) != "keep" {
			t.Errorf("appendShortened(%.80q) = %.80q, %t; want dst unchanged and false", bad, out, ok)
		}
	}
}

// Events the apiserver encodes, at every level, with one or all of their
// client-chosen strings at the size kube-apiserver accepts (1 MiB of
// headers), shrink to a small limit and keep everything else.
func TestAppendShortenedHugeEvents(t *testing.T) {
	const limit = 4096
	huge := strings.Repeat("x", 1<<20-100)
	cases := map[string]func(*auditinternal.Event){
		"userAgent": func(e *auditinternal.Event) { e.UserAgent = huge },
		"requestURI": func(e *auditinternal.Event) {
			e.RequestURI = "/api/v1/namespaces/default/configmaps?labelSelector=" + huge
		},
		"name": func(e *auditinternal.Event) {
			e.ObjectRef.Name = huge
			e.RequestURI = "/api/v1/namespaces/default/configmaps/" + huge
			e.ResponseStatus = &metav1.Status{Code: 404, Status: "Failure", Reason: metav1.StatusReasonNotFound, Message: `configmaps "` + huge + `" not found`,
				Details: &metav1.StatusDetails{Name: huge, Kind: "configmaps"}}
		},
		"create": func(e *auditinternal.Event) {
			e.Verb = "create"
			e.ObjectRef.Name, e.ObjectRef.UID, e.ObjectRef.ResourceVersion = huge, types.UID(huge), huge
			e.ResponseStatus = &metav1.Status{Code: 422, Status: "Failure", Reason: metav1.StatusReasonInvalid, Message: "invalid " + huge,
				Details: &metav1.StatusDetails{Name: huge, Causes: []metav1.StatusCause{{Type: "FieldValueInvalid", Message: huge, Field: "metadata.name"}, {Message: "m", Field: huge}}}}
		},
		"user.extra": func(e *auditinternal.Event) {
			e.User.Extra = map[string]authnv1.ExtraValue{"scopes": {"a", huge}, "session": {"s"}}
		},
		"impersonation": func(e *auditinternal.Event) {
			e.ImpersonatedUser = &authnv1.UserInfo{Username: "admin" + huge, UID: huge, Groups: []string{"system:masters", huge},
				Extra: map[string]authnv1.ExtraValue{"k": {huge}}}
		},
		"all": func(e *auditinternal.Event) {
			e.UserAgent, e.RequestURI = huge, "/api?"+huge
			e.User.Extra = map[string]authnv1.ExtraValue{"k": {huge}}
			e.ImpersonatedUser = &authnv1.UserInfo{Username: "u", Groups: []string{huge}}
		},
	}
	for _, level := range []auditinternal.Level{auditinternal.LevelMetadata, auditinternal.LevelRequest, auditinternal.LevelRequestResponse} {
		for name, mod := range cases {
			t.Run(string(level)+"/"+name, func(t *testing.T) {
				ev := hugeTestEvent(level)
				mod(ev)
				in := encodeEvent(t, ev)
				if level != auditinternal.LevelMetadata {
					in, _ = appendTruncated(nil, in)
				}
				out, ok := appendShortened(nil, in, limit)
				if !ok || len(out) > limit {
					t.Fatalf("not shortened to %d: ok %t, %d bytes", limit, ok, len(out))
				}
				fields := checkShortened(t, in, out)
				if len(fields) == 0 {
					t.Errorf("no field listed in %s", shortenedKey)
				}
				var got auditv1.Event
				_ = json.Unmarshal(out, &got)
				if got.AuditID != ev.AuditID || got.Verb != ev.Verb || got.User.Username != ev.User.Username ||
					got.ObjectRef.Resource != "configmaps" || got.ObjectRef.Namespace != "default" ||
					got.ResponseStatus.Code != ev.ResponseStatus.Code || !got.StageTimestamp.Equal(&ev.StageTimestamp) {
					t.Errorf("who, what, when or status lost: %s", out)
				}
			})
		}
	}
}

func hugeTestEvent(level auditinternal.Level) *auditinternal.Event {
	ts := metav1.NewMicroTime(time.Date(2026, 11, 26, 11, 34, 5, 123456000, time.UTC))
	ev := &auditinternal.Event{
		Level: level, AuditID: types.UID("4f3a6c1e-0000-4000-8000-000000000002"),
		Stage: auditinternal.StageResponseComplete, RequestURI: "/api/v1/namespaces/default/configmaps/x", Verb: "get",
		User:      authnv1.UserInfo{Username: "alice", Groups: []string{"system:authenticated"}},
		SourceIPs: []string{"10.0.0.1"}, UserAgent: "kubectl/v1.34.0",
		ObjectRef:                &auditinternal.ObjectReference{Resource: "configmaps", Namespace: "default", Name: "x", APIVersion: "v1"},
		ResponseStatus:           &metav1.Status{Code: 200},
		RequestReceivedTimestamp: ts, StageTimestamp: ts,
		Annotations: map[string]string{"authorization.k8s.io/decision": "allow"},
	}
	if level != auditinternal.LevelMetadata {
		ev.RequestObject = &runtime.Unknown{Raw: []byte(`{"kind":"ConfigMap","apiVersion":"v1","data":{"k":"` + strings.Repeat("d", 5000) + `"}}`), ContentType: runtime.ContentTypeJSON}
	}
	return ev
}

func encodeEvent(t testing.TB, ev *auditinternal.Event) []byte {
	t.Helper()
	b, err := runtime.Encode(audit.Codecs.LegacyCodec(auditv1.SchemeGroupVersion), ev)
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	return bytes.TrimSuffix(b, []byte("\n"))
}

var shortenedValue = regexp.MustCompile(`(?s)^(.*)\.\.\.\[truncated, was \d+ bytes\]$`)

// checkShortened checks that out, appendShortened's output for the event
// in, is valid JSON and, when in decodes as an audit/v1 Event, that out does
// too, with every field equal but the shortenable strings, each either equal
// or a prefix of the original followed by the marker, and the annotation
// listing at least the fields that changed. It returns the listed fields.
func checkShortened(t testing.TB, in, out []byte) []string {
	t.Helper()
	if !json.Valid(out) {
		t.Fatalf("invalid output %q", out)
	}
	var before, after auditv1.Event
	if json.Unmarshal(in, &before) != nil {
		return nil
	}
	if err := json.Unmarshal(out, &after); err != nil {
		t.Fatalf("output is no audit/v1 Event: %v\n%q", err, out)
	}
	var listed []string
	if v, ok := after.Annotations[shortenedKey]; ok {
		listed = strings.Split(v, ",")
	}
	for _, name := range listed {
		if !slices.ContainsFunc(shortenable[:], func(f shortenableField) bool { return f.name == name }) {
			t.Errorf("unknown field %q listed", name)
		}
	}
	b, a := shortenableStrings(&before), shortenableStrings(&after)
	if len(b) != len(a) {
		t.Fatalf("shortenable strings changed in number: %d, %d\n%q", len(b), len(a), out)
	}
	for i := range b {
		if *a[i].value == *b[i].value {
			continue
		}
		m := shortenedValue.FindStringSubmatch(*a[i].value)
		if m == nil || !strings.HasPrefix(*b[i].value, m[1]) {
			t.Errorf("%s is not a prefix and the marker: %.100q", a[i].field, *a[i].value)
		}
		if !slices.Contains(listed, a[i].field) {
			t.Errorf("%s changed but is not listed in %v", a[i].field, listed)
		}
		*a[i].value, *b[i].value = "", ""
	}
	delete(after.Annotations, shortenedKey)
	delete(before.Annotations, shortenedKey)
	if len(after.Annotations) == 0 {
		after.Annotations = nil
	}
	if len(before.Annotations) == 0 {
		before.Annotations = nil
	}
	if !reflect.DeepEqual(before, after) {
		t.Errorf("fields that are not shortenable changed\nin  %q\nout %q", in, out)
	}
	return listed
}

type namedString struct {
	field string
	value *string
}

// shortenableStrings returns pointers to the strings of e that
// appendShortened may cut, in an order that depends only on e's shape.
func shortenableStrings(e *auditv1.Event) []namedString {
	out := []namedString{{"userAgent", &e.UserAgent}, {"requestURI", &e.RequestURI}}
	if e.ObjectRef != nil {
		out = append(out, namedString{"objectRef.name", &e.ObjectRef.Name}, namedString{"objectRef.subresource", &e.ObjectRef.Subresource},
			namedString{"objectRef.uid", (*string)(&e.ObjectRef.UID)}, namedString{"objectRef.resourceVersion", &e.ObjectRef.ResourceVersion})
	}
	if st := e.ResponseStatus; st != nil {
		out = append(out, namedString{"responseStatus.message", &st.Message})
		if d := st.Details; d != nil {
			out = append(out, namedString{"responseStatus.details.name", &d.Name})
			for i := range d.Causes {
				out = append(out, namedString{"responseStatus.details.causes", &d.Causes[i].Message},
					namedString{"responseStatus.details.causes", &d.Causes[i].Field})
			}
		}
	}
	extra := func(field string, m map[string]authnv1.ExtraValue) {
		for _, k := range slices.Sorted(maps.Keys(m)) {
			for i := range m[k] {
				out = append(out, namedString{field, &m[k][i]})
			}
		}
	}
	extra("user.extra", e.User.Extra)
	if u := e.ImpersonatedUser; u != nil {
		extra("impersonatedUser.extra", u.Extra)
		for i := range u.Groups {
			out = append(out, namedString{"impersonatedUser.groups", &u.Groups[i]})
		}
		out = append(out, namedString{"impersonatedUser.uid", &u.UID}, namedString{"impersonatedUser.username", &u.Username})
	}
	return out
}

// FuzzAppendShortened checks, for any input and limit:
//   - it never panics, and dst is kept as a prefix;
//   - for valid JSON, the output is valid JSON that differs from the input
//     only in the shortenable strings, each a prefix of the original and
//     the marker, and in the annotation (see checkShortened);
//   - an output over its limit has every field cut to minKept, as with
//     limit 0.
func FuzzAppendShortened(f *testing.F) {
	f.Add([]byte(`{"userAgent":"`+strings.Repeat(`é\"\u0026\ud83d\ude00`, 40)+`","annotations":{"a":"b"}}`), uint16(300))
	f.Add([]byte(`{"user":{"extra":{"a":["`+strings.Repeat("a", 300)+`"]}},"impersonatedUser":{"username":"`+strings.Repeat("u", 300)+`","groups":["`+strings.Repeat("g", 300)+`"]}}`), uint16(0))
	f.Add([]byte(`{"requestURI":"`+strings.Repeat("/p", 300)+`","objectRef":{"name":"`+strings.Repeat("n", 300)+`"},"responseStatus":{"code":404,"message":"`+strings.Repeat("m", 300)+`"},"annotations":null}`), uint16(700))
	f.Add([]byte(`{"objectRef":{"uid":"`+strings.Repeat("u", 300)+`","resourceVersion":"`+strings.Repeat("1", 300)+`"},"responseStatus":{"details":{"name":"`+strings.Repeat("n", 300)+`","causes":[{"message":"`+strings.Repeat("m", 300)+`","field":"`+strings.Repeat("f", 300)+`"},null]}}}`), uint16(900))
	f.Add(testEvent(1, StageResponseComplete, "Metadata", 0).Value, uint16(0))
	f.Fuzz(func(t *testing.T, in []byte, limit uint16) {
		out, ok := appendShortened([]byte("pre"), in, int(limit))
		if !bytes.HasPrefix(out, []byte("pre")) {
			t.Fatalf("dst lost")
		}
		if !ok {
			if len(out) != 3 {
				t.Fatalf("not ok but dst changed")
			}
			return
		}
		if !json.Valid(in) {
			return
		}
		checkShortened(t, in, out[3:])
		if limit > 0 && len(out)-3 > int(limit) {
			if all, _ := appendShortened(nil, in, 0); !bytes.Equal(out[3:], all) {
				t.Fatalf("over limit %d, yet not every field cut to minKept:\n%q\n%q", limit, out[3:], all)
			}
		}
	})
}

// The cost of bringing a Metadata event with a 1 MiB URI and user agent
// under 64 KiB: paid only by such events, never by the others.
func BenchmarkAppendShortened(b *testing.B) {
	ev := hugeTestEvent(auditinternal.LevelMetadata)
	ev.UserAgent = strings.Repeat("u", 1<<20)
	ev.RequestURI = "/api/v1/namespaces/default/configmaps?x=" + strings.Repeat("q", 1<<20)
	in := encodeEvent(b, ev)
	dst := make([]byte, 0, len(in))
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		out, ok := appendShortened(dst[:0], in, 64<<10)
		if !ok || len(out) > 64<<10 {
			b.Fatalf("not shortened: %t, %d", ok, len(out))
		}
	}
}
