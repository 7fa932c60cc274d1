package sink

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	auditinternal "k8s.io/apiserver/pkg/apis/audit"
	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"
	"k8s.io/apiserver/pkg/audit"
	"k8s.io/apiserver/plugin/pkg/audit/truncate"
)

func TestAppendTruncated(t *testing.T) {
	f := func(in, want string) {
		t.Helper()
		prefix := []byte("keep:")
		got, ok := appendTruncated(prefix, []byte(in))
		if !ok {
			t.Errorf("appendTruncated(%s): not ok", in)
			return
		}
		if string(got) != "keep:"+want {
			t.Errorf("appendTruncated(%s)\ngot  %s\nwant keep:%s", in, got, want)
		}
		if !json.Valid(got[len(prefix):]) {
			t.Errorf("invalid JSON: %s", got[len(prefix):])
		}
	}
	const ann = `"annotations":{"audit.k8s.io/truncated":"true"}`
	f(`{"a":1,"requestObject":{"x":[1,"}"]},"responseObject":{"y":"\"{"},"b":2}`, `{"a":1,"b":2,`+ann+`}`)
	f(`{"requestObject":{},"a":1}`, `{"a":1,`+ann+`}`)
	f(`{"requestObject":{},"responseObject":null,"a":1}`, `{"a":1,`+ann+`}`)
	f(`{"requestObject":{},"responseObject":null}`, `{`+ann+`}`)
	f(`{}`, `{`+ann+`}`)
	f(`{"a":1,"responseObject":{"k":"v"}}`, `{"a":1,`+ann+`}`)
	// Whitespace is kept where nothing is removed.
	f("{ \"a\" : 1 ,\n \"requestObject\" : { } , \"b\" : [ ] }", "{ \"a\" : 1 , \"b\" : [ ] ,"+ann+"}")
	// The annotation goes where encoding/json's sorted map keys put it.
	f(`{"a":1,"annotations":{"apiserver.latency.k8s.io/total":"1s","authorization.k8s.io/decision":"allow"}}`,
		`{"a":1,"annotations":{"apiserver.latency.k8s.io/total":"1s","audit.k8s.io/truncated":"true","authorization.k8s.io/decision":"allow"}}`)
	f(`{"annotations":{"a":"1"},"z":0}`, `{"annotations":{"a":"1","audit.k8s.io/truncated":"true"},"z":0}`)
	f(`{"annotations":{"b":"1"}}`, `{"annotations":{"audit.k8s.io/truncated":"true","b":"1"}}`)
	f(`{"annotations":{}}`, `{"annotations":{"audit.k8s.io/truncated":"true"}}`)
	f(`{"annotations":null}`, `{"annotations":{"audit.k8s.io/truncated":"true"}}`)
	f(`{"annotations":{"audit.k8s.io/truncated":"false"}}`, `{"annotations":{"audit.k8s.io/truncated":"true"}}`)
	// A nested requestObject is not the event's.
	f(`{"o":{"requestObject":1}}`, `{"o":{"requestObject":1},`+ann+`}`)

	for _, bad := range []string{``, `[]`, `{"a":}`, `{"a":1`, `{"a":"x}`, `{"a":1} x`, `{"annotations":[1]}`, `{a:1}`} {
		if out, ok := appendTruncated([]byte("keep"), []byte(bad)); ok || string(out) != "keep" {
			t.Errorf("appendTruncated(%q) = %q, %t; want dst unchanged and false", bad, out, ok)
		}
	}
}

// skipString finds a string's closing quote behind any run of backslashes.
func TestSkipString(t *testing.T) {
	for _, c := range []struct {
		in  string
		end int // 0: not a (terminated) string
	}{
		{`"" x`, 2}, {`"a" x`, 3}, {`"\\" x`, 4}, {`"\"" x`, 4}, {`"\\\"" x`, 6}, {`"a\\\\\"b" x`, 10},
		{`"\"`, 0}, {`"\\\"`, 0}, {`"abc`, 0}, {`x"`, 0}, {``, 0},
	} {
		end, ok := skipString([]byte(c.in), 0)
		if ok != (c.end > 0) || end != c.end {
			t.Errorf("skipString(%s) = %d, %t; want %d", c.in, end, ok, c.end)
		}
	}
}

// The bytes appendTruncated makes from an event the apiserver encoded are the
// bytes the apiserver's own truncate backend would have written.
func TestAppendTruncatedMatchesAPIServer(t *testing.T) {
	encoder := audit.Codecs.LegacyCodec(auditv1.SchemeGroupVersion)
	encode := func(ev *auditinternal.Event) []byte {
		t.Helper()
		b, err := runtime.Encode(encoder, ev)
		if err != nil {
			t.Fatalf("encode: %v", err)
		}
		return bytes.TrimSuffix(b, []byte("\n"))
	}
	body := &runtime.Unknown{Raw: []byte(`{"kind":"ConfigMap","apiVersion":"v1","data":{"k":"` + string(bytes.Repeat([]byte("x"), 2000)) + `"}}`), ContentType: runtime.ContentTypeJSON}
	ts := metav1.NewMicroTime(time.Date(2026, 11, 26, 11, 34, 5, 123456000, time.UTC))
	base := func() *auditinternal.Event {
		return &auditinternal.Event{
			Level: auditinternal.LevelRequestResponse, AuditID: types.UID("4f3a6c1e-0000-4000-8000-000000000001"),
			Stage: auditinternal.StageResponseComplete, RequestURI: "/api/v1/namespaces/default/configmaps/x?a=<b>&c", Verb: "update",
			SourceIPs: []string{"10.0.0.1"}, UserAgent: "kubectl/v1.34.0 \u00e9",
			ObjectRef:                &auditinternal.ObjectReference{Resource: "configmaps", Namespace: "default", Name: "x", APIVersion: "v1"},
			ResponseStatus:           &metav1.Status{Code: 200},
			RequestReceivedTimestamp: ts, StageTimestamp: ts,
		}
	}
	cases := map[string]func(*auditinternal.Event){
		"both bodies, no annotations": func(e *auditinternal.Event) { e.RequestObject, e.ResponseObject = body, body },
		"request only, annotations": func(e *auditinternal.Event) {
			e.Level = auditinternal.LevelRequest
			e.RequestObject = body
			e.Annotations = map[string]string{"authorization.k8s.io/decision": "allow", "apiserver.latency.k8s.io/etcd": "1s", "z": "<&>"}
		},
		"response only, annotation after": func(e *auditinternal.Event) {
			e.ResponseObject = body
			e.Annotations = map[string]string{"zz": "1"}
		},
		"no bodies": func(e *auditinternal.Event) {
			e.Annotations = map[string]string{"pod-security.kubernetes.io/enforce-policy": "restricted:latest"}
			e.UserAgent = string(bytes.Repeat([]byte("a"), 3000))
		},
	}
	for name, mod := range cases {
		t.Run(name, func(t *testing.T) {
			ev := base()
			mod(ev)
			in := encode(ev)

			var got []*auditinternal.Event
			backend := truncate.NewBackend(captureBackend{&got}, truncate.Config{MaxEventSize: 1000, MaxBatchSize: 1 << 20}, auditv1.SchemeGroupVersion)
			backend.ProcessEvents(ev)
			if len(got) != 1 {
				// Still too large for the apiserver: check our edit anyway
				// against its truncation rule applied by hand.
				tr := *ev
				tr.RequestObject, tr.ResponseObject = nil, nil
				tr.Annotations = map[string]string{"audit.k8s.io/truncated": "true"}
				for k, v := range ev.Annotations {
					tr.Annotations[k] = v
				}
				got = append(got, &tr)
			}
			want := encode(got[0])
			out, ok := appendTruncated(nil, in)
			if !ok || !bytes.Equal(out, want) {
				t.Errorf("appendTruncated differs from the apiserver\ngot  %.400s\nwant %.400s", out, want)
			}
		})
	}
}

type captureBackend struct{ events *[]*auditinternal.Event }

func (c captureBackend) ProcessEvents(evs ...*auditinternal.Event) bool {
	*c.events = append(*c.events, evs...)
	return true
}
func (captureBackend) Run(<-chan struct{}) error { return nil }
func (captureBackend) Shutdown()                 {}
func (captureBackend) String() string            { return "capture" }

// FuzzAppendTruncated checks, for any input:
//   - it never panics;
//   - when it reports ok for valid JSON, the output is valid JSON with no
//     top-level requestObject or responseObject and the annotation set;
//   - dst is kept as a prefix.
func FuzzAppendTruncated(f *testing.F) {
	f.Add([]byte(`{"a":1,"requestObject":{"x":[1,"}"]},"responseObject":{},"annotations":{"b":"c"}}`))
	f.Add([]byte(`{"annotations":null}`))
	f.Add([]byte(`{"requestObject":{},"responseObject":null}`))
	f.Add(testEvent(1, StageResponseComplete, "RequestResponse", 2000).Value)
	f.Fuzz(func(t *testing.T, in []byte) {
		out, ok := appendTruncated([]byte("pre"), in)
		if !bytes.HasPrefix(out, []byte("pre")) {
			t.Fatalf("dst lost")
		}
		if !ok || !json.Valid(in) {
			return
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(out[3:], &m); err != nil {
			t.Fatalf("invalid output %q from %q: %v", out[3:], in, err)
		}
		if _, ok := m["requestObject"]; ok {
			t.Fatalf("requestObject kept: %q", out[3:])
		}
		if _, ok := m["responseObject"]; ok {
			t.Fatalf("responseObject kept: %q", out[3:])
		}
		var ann map[string]json.RawMessage
		if err := json.Unmarshal(m["annotations"], &ann); err != nil || string(ann[truncatedKey]) != `"true"` {
			t.Fatalf("annotation missing (%v): %q", err, out[3:])
		}
	})
}
