package chaos

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/auditstream/auditstream/internal/gen"
)

// logLine is one line of the audit log a run ships. Every line, hostile or
// not, carries an auditID unique to the run, so that what arrives can be
// traced back to the line it came from (a dead-lettered line that is not
// JSON by its ID in the value).
type logLine struct {
	id      string
	data    []byte
	hostile string // the hostile case, "" for an event as kube-apiserver writes it
}

// bodyMark is in every body of the hostile events the policy lowers to
// Metadata: a message that holds it leaked a body the policy removes.
const bodyMark = "chaos-body-that-must-go"

// hostileCase builds one hostile line around an auditID.
type hostileCase struct {
	name  string
	build func(id string) []byte
}

// eventJSON is an event as kube-apiserver writes it with the given pieces;
// extra is appended inside the object (with its leading comma).
func eventJSON(id, stage, verb, uri, resource, name, extra string) string {
	return `{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"RequestResponse","auditID":"` + id +
		`","stage":"` + stage + `","requestURI":"` + uri + `","verb":"` + verb +
		`","user":{"username":"alice","groups":["system:authenticated"]},"sourceIPs":["10.0.0.1"],` +
		`"userAgent":"kubectl/v1.31.0","objectRef":{"resource":"` + resource + `","namespace":"default","name":"` + name +
		`","apiVersion":"v1"},"responseStatus":{"metadata":{},"code":200}` + extra +
		`,"requestReceivedTimestamp":"2026-01-01T00:00:00.000000Z","stageTimestamp":"2026-01-01T00:00:00.001000Z"}`
}

// secretEvent is a request on a Secret, which the policy logs at Metadata.
func secretEvent(id, extra string) string {
	return eventJSON(id, "ResponseComplete", "get", "/api/v1/namespaces/default/secrets/s1", "secrets", "s1", extra)
}

// hostileCases are the cases of issue 10. hugeLine is the size of the body
// of the longest line (64 MiB in the full suite).
func hostileCases(hugeLine int) []hostileCase {
	mib := strings.Repeat("x", 1<<20)
	return []hostileCase{
		{"deep-nesting-object", func(id string) []byte {
			body := strings.Repeat(`{"a":`, 10000) + "1" + strings.Repeat("}", 10000)
			return []byte(eventJSON(id, "ResponseComplete", "patch", "/api/v1/namespaces/default/configmaps/c1", "configmaps", "c1",
				`,"requestObject":`+body))
		}},
		{"deep-nesting-array", func(id string) []byte {
			body := strings.Repeat("[", 10000) + strings.Repeat("]", 10000)
			return []byte(eventJSON(id, "ResponseComplete", "patch", "/api/v1/namespaces/default/configmaps/c1", "configmaps", "c1",
				`,"requestObject":`+body))
		}},
		{"duplicate-requestObject", func(id string) []byte {
			body := `{"kind":"Secret","data":{"k":"` + bodyMark + `"}}`
			return []byte(secretEvent(id, `,"requestObject":`+body+`,"requestObject":`+body))
		}},
		{"duplicate-stage", func(id string) []byte {
			// The policy omits RequestReceived; the second member is what a
			// last-wins decoder (encoding/json) reads.
			return []byte(strings.Replace(eventJSON(id, "ResponseComplete", "get", "/api/v1/namespaces/default/pods/p1", "pods", "p1", ""),
				`"stage":"ResponseComplete"`, `"stage":"ResponseComplete","stage":"RequestReceived"`, 1))
		}},
		{"case-Stage", func(id string) []byte {
			return []byte(strings.Replace(eventJSON(id, "ResponseComplete", "get", "/api/v1/namespaces/default/pods/p1", "pods", "p1", ""),
				`"stage":`, `"Stage":`, 1))
		}},
		{"case-ResponseObject", func(id string) []byte {
			return []byte(secretEvent(id, `,"ResponseObject":{"kind":"Secret","data":{"k":"`+bodyMark+`"}}`))
		}},
		{"case-RequestObject", func(id string) []byte {
			return []byte(secretEvent(id, `,"RequestObject":{"kind":"Secret","data":{"k":"`+bodyMark+`"}}`))
		}},
		{"1MiB-requestURI-Metadata", func(id string) []byte {
			return []byte(eventJSON(id, "ResponseComplete", "get", "/api/v1/namespaces/default/secrets/s1?x="+mib, "secrets", "s1", ""))
		}},
		{"1MiB-userAgent-Metadata", func(id string) []byte {
			return []byte(strings.Replace(secretEvent(id, ""), `"userAgent":"kubectl/v1.31.0"`, `"userAgent":"`+mib+`"`, 1))
		}},
		{"invalid-utf8", func(id string) []byte {
			return []byte(strings.Replace(eventJSON(id, "ResponseComplete", "get", "/api/v1/namespaces/default/pods/p1", "pods", "p1", ""),
				`"userAgent":"kubectl/v1.31.0"`, "\"userAgent\":\"kubectl\xff\xfe\xc0\"", 1))
		}},
		{"bom", func(id string) []byte {
			return []byte("\xef\xbb\xbf" + eventJSON(id, "ResponseComplete", "get", "/api/v1/namespaces/default/pods/p1", "pods", "p1", ""))
		}},
		{"nul-bytes", func(id string) []byte {
			return []byte(strings.Replace(eventJSON(id, "ResponseComplete", "get", "/api/v1/namespaces/default/pods/p1", "pods", "p1", ""),
				`"userAgent":"kubectl/v1.31.0"`, "\"userAgent\":\"kube\x00ctl\x00\"", 1))
		}},
		{"not-json", func(id string) []byte {
			return []byte("E1202 00:00:00.000000 audit line garbled " + id)
		}},
		{"cut-event", func(id string) []byte {
			ev := eventJSON(id, "ResponseComplete", "get", "/api/v1/namespaces/default/pods/p1", "pods", "p1", "")
			return []byte(ev[:len(ev)/2])
		}},
		{"huge-line", func(id string) []byte {
			// Kept at RequestResponse: too large for Kafka, so truncated
			// (bodies dropped) or dead-lettered, never silently skipped.
			return []byte(eventJSON(id, "ResponseComplete", "get", "/api/v1/namespaces/default/configmaps/c1", "configmaps", "c1",
				`,"responseObject":{"kind":"ConfigMap","data":{"k":"`+strings.Repeat("y", hugeLine)+`"}}`))
		}},
	}
}

// corpus returns n events as kube-apiserver writes them (the generator's,
// with the run's auditIDs) and, if hostile, every hostile case once, mixed in
// at random places. prefix makes the auditIDs unique to the run.
func corpus(seed uint64, prefix string, n int, hostile bool, hugeLine int) []logLine {
	r := rand.New(rand.NewPCG(seed, 0x6368616f73))
	lines := make([]logLine, 0, n+16)
	for i := range n {
		id := fmt.Sprintf("%s-%06d", prefix, i)
		ev := gen.EventOfSize(r, 400+r.IntN(2500))
		lines = append(lines, logLine{id: id, data: withAuditID(ev, id)})
	}
	if hostile {
		for j, c := range hostileCases(hugeLine) {
			id := fmt.Sprintf("%s-h%05d", prefix, j)
			at := r.IntN(len(lines) + 1)
			lines = append(lines[:at], append([]logLine{{id: id, data: c.build(id), hostile: c.name}}, lines[at:]...)...)
		}
	}
	return lines
}

// withAuditID replaces the event's auditID (a UUID, which needs no escaping).
func withAuditID(ev []byte, id string) []byte {
	const key = `"auditID":"`
	i := bytes.Index(ev, []byte(key))
	if i < 0 {
		panic("generated event without auditID")
	}
	i += len(key)
	j := i + bytes.IndexByte(ev[i:], '"')
	out := make([]byte, 0, len(ev)+len(id))
	out = append(out, ev[:i]...)
	out = append(out, id...)
	return append(out, ev[j:]...)
}

// logFile is the lines joined as a log file.
func logFile(lines []logLine) []byte {
	var b bytes.Buffer
	for _, l := range lines {
		b.Write(l.data)
		b.WriteByte('\n')
	}
	return b.Bytes()
}
