package gen

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/url"
	"sort"
	"strings"
	"testing"

	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"
	"k8s.io/apiserver/pkg/authorization/authorizer"

	"github.com/auditstream/auditstream/internal/reference"
)

// draws is how many events the tests draw: enough for every category to
// come up (the rarest come up about ten times).
const draws = 4000

// parse decodes an event strictly as audit.k8s.io/v1 and rebuilds its attributes.
func parse(t *testing.T, seed uint64, line []byte) (*auditv1.Event, authorizer.Attributes) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	var ev auditv1.Event
	if err := dec.Decode(&ev); err != nil {
		t.Fatalf("seed %d: %v\n%s", seed, err, line)
	}
	attrs, err := reference.Attributes(line)
	if err != nil {
		t.Fatalf("seed %d: reference.Attributes: %v\n%s", seed, err, line)
	}
	return &ev, attrs
}

func checkEvent(t *testing.T, seed uint64, line []byte, ev *auditv1.Event, attrs authorizer.Attributes) {
	t.Helper()
	fail := func(format string, args ...any) {
		t.Helper()
		t.Errorf("seed %d: %s\n%s", seed, fmt.Sprintf(format, args...), line)
	}
	// Encoding the decoded event gives the line back byte for byte: the
	// line is in Go struct order, compact, with encoding/json's escaping.
	if again, err := json.Marshal(ev); err != nil || !bytes.Equal(again, line) {
		fail("not as encoding/json writes it (err %v):\n%s", err, again)
	}
	if ev.Kind != "Event" || ev.APIVersion != "audit.k8s.io/v1" || ev.AuditID == "" {
		fail("type meta or auditID")
	}
	// The logged verb is what the apiserver derived from the request.
	if attrs.GetVerb() != ev.Verb {
		fail("verb %q, attributes %q", ev.Verb, attrs.GetVerb())
	}
	// objectRef is the attributes, plus what the handler filled in from
	// the body after RequestReceived: a create's name, an update's uid and
	// resourceVersion.
	if (ev.ObjectRef != nil) != attrs.IsResourceRequest() {
		fail("objectRef %v for resource request %v", ev.ObjectRef, attrs.IsResourceRequest())
	}
	if ref := ev.ObjectRef; ref != nil {
		if ref.APIGroup != attrs.GetAPIGroup() || ref.APIVersion != attrs.GetAPIVersion() || ref.Resource != attrs.GetResource() ||
			ref.Subresource != attrs.GetSubresource() || ref.Namespace != attrs.GetNamespace() {
			fail("objectRef %+v, attributes %+v", *ref, attrs)
		}
		if ref.Name != attrs.GetName() && (ev.Verb != "create" || attrs.GetName() != "" || ev.Stage == auditv1.StageRequestReceived) {
			fail("objectRef name %q, attributes %q", ref.Name, attrs.GetName())
		}
		if (ref.UID != "" || ref.ResourceVersion != "") && ev.Stage == auditv1.StageRequestReceived {
			fail("enriched objectRef at RequestReceived")
		}
	}
	// What each level and stage carries.
	if ev.RequestObject != nil && ev.Level == auditv1.LevelMetadata {
		fail("requestObject at Metadata")
	}
	if ev.ResponseObject != nil && ev.Level != auditv1.LevelRequestResponse {
		fail("responseObject below RequestResponse")
	}
	if ev.Stage == auditv1.StageRequestReceived {
		if ev.ResponseStatus != nil || ev.Annotations != nil || ev.ImpersonatedUser != nil || ev.RequestObject != nil ||
			ev.ResponseObject != nil || !ev.StageTimestamp.Equal(&ev.RequestReceivedTimestamp) {
			fail("RequestReceived carries more than the request")
		}
	} else if ev.ResponseStatus == nil || ev.ResponseStatus.Code == 0 {
		fail("no response status")
	}
	if attrs.GetUser() == nil && (ev.Stage != auditv1.StageResponseStarted || ev.ResponseStatus.Code != 401) {
		fail("unauthenticated, but not a 401 at ResponseStarted")
	}
	if ev.RequestReceivedTimestamp.IsZero() || ev.StageTimestamp.Before(&ev.RequestReceivedTimestamp) {
		fail("timestamps")
	}
}

func TestEventDeterministic(t *testing.T) {
	for seed := range uint64(50) {
		a := Event(rand.New(rand.NewPCG(seed, 9)))
		b := Event(rand.New(rand.NewPCG(seed, 9)))
		if !bytes.Equal(a, b) {
			t.Fatalf("seed %d: same seed, different events", seed)
		}
	}
}

// TestEvents checks every drawn event against what kube-apiserver writes
// and what the reference accepts, and counts what they exercise: every
// category must come up.
func TestEvents(t *testing.T) {
	counts := map[string]int{}
	for seed := range uint64(draws) {
		line := Event(rand.New(rand.NewPCG(seed, 2)))
		ev, attrs := parse(t, seed, line)
		checkEvent(t, seed, line, ev, attrs)
		for _, c := range categories(t, line, ev, attrs) {
			counts[c]++
		}
	}
	var missing []string
	for _, c := range wantCategories {
		if counts[c] == 0 {
			missing = append(missing, c)
		}
	}
	if len(missing) > 0 {
		t.Errorf("never drawn in %d events: %v", draws, missing)
	}
	if testing.Verbose() {
		keys := make([]string, 0, len(counts))
		for k := range counts {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			t.Logf("%6d %s", counts[k], k)
		}
	}
}

var wantCategories = []string{
	"nonresource", "resource", "core", "grouped", "namespaced", "cluster-scoped", "all-namespaces",
	"path:/healthz", "path:/livez", "path:/metrics", "path:/api", "path:/apis/apps/v1", "path:/version", "path:/openapi/v2",
	"namespaces", "namespaces/status", "namespaces/finalize", "subresource",
	"sub:log", "sub:status", "sub:exec", "sub:scale", "sub:token", "sub:proxy", "sub:binding",
	"verb:get", "verb:list", "verb:watch", "verb:create", "verb:update", "verb:patch", "verb:delete",
	"verb:deletecollection", "verb:proxy", "verb:head", "verb:",
	"create-enriched", "create-generateName",
	"query:watch=true", "query:fieldSelector=metadata.name=", "query:fieldSelector=metadata.name==",
	"query:fieldSelector-other", "query:labelSelector", "query:limit=500&resourceVersion=0", "name-from-fieldSelector",
	"query:name+labelSelector",
	"legacy-watch", "legacy-proxy", "impersonation", "unauthenticated",
	"stage:RequestReceived", "stage:ResponseStarted", "stage:ResponseComplete", "stage:Panic",
	"level:Metadata", "level:Request", "level:RequestResponse", "requestObject", "responseObject",
	"managedFields:requestObject", "managedFields:responseObject", "managedFields:items", "managedFields:table-rows",
	"managedFields:patch", "list-response", "table-response", "json-patch", "delete-options", "status-response",
	"percent-encoded", "escaped-ampersand",
	"code:101", "code:200", "code:201", "code:401", "code:403", "code:404", "code:409", "code:422", "code:500",
	"size:<1K", "size:1K-10K", "size:10K-20K", "size:>=20K",
}

func categories(t *testing.T, line []byte, ev *auditv1.Event, attrs authorizer.Attributes) []string {
	cats := []string{"stage:" + string(ev.Stage), "level:" + string(ev.Level), "verb:" + ev.Verb,
		fmt.Sprintf("code:%d", statusCode(ev))}
	u, err := url.ParseRequestURI(ev.RequestURI)
	if err != nil {
		t.Fatal(err)
	}
	if ref := ev.ObjectRef; ref == nil {
		cats = append(cats, "nonresource", "path:"+u.Path)
	} else {
		cats = append(cats, "resource")
		if ref.APIGroup == "" {
			cats = append(cats, "core")
		} else {
			cats = append(cats, "grouped")
		}
		switch {
		case ref.Namespace != "":
			cats = append(cats, "namespaced")
		case strings.Contains(u.Path, "/namespaces/") || ref.Resource == "namespaces":
		case ref.Resource == "pods" || ref.Resource == "configmaps" || ref.Resource == "leases":
			cats = append(cats, "all-namespaces")
		default:
			cats = append(cats, "cluster-scoped")
		}
		if ref.Resource == "namespaces" {
			cats = append(cats, "namespaces")
			if ref.Subresource != "" {
				cats = append(cats, "namespaces/"+ref.Subresource)
			}
		}
		if ref.Subresource != "" {
			cats = append(cats, "subresource", "sub:"+ref.Subresource)
		}
		if ev.Verb == "create" && attrs.GetName() == "" && ev.Stage != auditv1.StageRequestReceived && ref.Subresource == "" {
			if ref.Name != "" {
				cats = append(cats, "create-enriched")
			} else if statusCode(ev) == 201 {
				cats = append(cats, "create-generateName")
			}
		}
		if (ev.Verb == "list" || ev.Verb == "watch") && attrs.GetName() != "" && !strings.Contains(u.Path, "/watch/") {
			cats = append(cats, "name-from-fieldSelector")
		}
	}
	q := u.Query()
	if q.Get("watch") == "true" {
		cats = append(cats, "query:watch=true")
	}
	if fs := q.Get("fieldSelector"); fs != "" {
		switch {
		case strings.HasPrefix(fs, "metadata.name=="):
			cats = append(cats, "query:fieldSelector=metadata.name==")
		case strings.HasPrefix(fs, "metadata.name="):
			cats = append(cats, "query:fieldSelector=metadata.name=")
		default:
			cats = append(cats, "query:fieldSelector-other")
		}
	}
	if q.Get("labelSelector") != "" {
		cats = append(cats, "query:labelSelector")
		if strings.HasPrefix(q.Get("fieldSelector"), "metadata.name=") {
			cats = append(cats, "query:name+labelSelector")
		}
	}
	if strings.Contains(ev.RequestURI, "limit=500&resourceVersion=0") {
		cats = append(cats, "query:limit=500&resourceVersion=0")
	}
	if strings.HasPrefix(u.Path, "/api/v1/watch/") {
		cats = append(cats, "legacy-watch")
	}
	if strings.HasPrefix(u.Path, "/api/v1/proxy/") {
		cats = append(cats, "legacy-proxy")
	}
	if ev.ImpersonatedUser != nil && ev.ImpersonatedUser.Username != ev.User.Username {
		cats = append(cats, "impersonation")
	}
	if bytes.Contains(line, []byte(`"user":{}`)) {
		cats = append(cats, "unauthenticated")
	}
	if strings.Contains(u.EscapedPath(), "%") {
		cats = append(cats, "percent-encoded")
	}
	if bytes.Contains(line, []byte(`\u0026`)) && strings.Contains(ev.RequestURI, "&") {
		cats = append(cats, "escaped-ampersand")
	}
	if ev.RequestObject != nil {
		cats = append(cats, "requestObject")
		body := generic(t, ev.RequestObject.Raw)
		switch b := body.(type) {
		case []any:
			cats = append(cats, "json-patch")
		case map[string]any:
			if b["kind"] == "DeleteOptions" {
				cats = append(cats, "delete-options")
			}
			if hasManagedFields(b) {
				if ev.Verb == "patch" {
					cats = append(cats, "managedFields:patch")
				} else {
					cats = append(cats, "managedFields:requestObject")
				}
			}
		}
	}
	if ev.ResponseObject != nil {
		cats = append(cats, "responseObject")
		b, _ := generic(t, ev.ResponseObject.Raw).(map[string]any)
		if hasManagedFields(b) {
			cats = append(cats, "managedFields:responseObject")
		}
		if items, ok := b["items"].([]any); ok {
			cats = append(cats, "list-response")
			for _, it := range items {
				if m, ok := it.(map[string]any); ok && hasManagedFields(m) {
					cats = append(cats, "managedFields:items")
					break
				}
			}
		}
		if b["kind"] == "Table" {
			cats = append(cats, "table-response")
			rows, _ := b["rows"].([]any)
			for _, row := range rows {
				if obj, ok := row.(map[string]any)["object"].(map[string]any); ok && hasManagedFields(obj) {
					cats = append(cats, "managedFields:table-rows")
					break
				}
			}
		}
		if b["kind"] == "Status" {
			cats = append(cats, "status-response")
		}
	}
	switch n := len(line); {
	case n < 1024:
		cats = append(cats, "size:<1K")
	case n < 10*1024:
		cats = append(cats, "size:1K-10K")
	case n < 20*1024:
		cats = append(cats, "size:10K-20K")
	default:
		cats = append(cats, "size:>=20K")
	}
	return cats
}

func statusCode(ev *auditv1.Event) int32 {
	if ev.ResponseStatus == nil {
		return 0
	}
	return ev.ResponseStatus.Code
}

func generic(t *testing.T, raw []byte) any {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func hasManagedFields(obj map[string]any) bool {
	md, _ := obj["metadata"].(map[string]any)
	_, ok := md["managedFields"]
	return ok
}

func TestEventOfSize(t *testing.T) {
	for _, size := range []int{500, 800, 1500, 4096, 16 << 10, 40 << 10, 256 << 10} {
		for seed := range uint64(30) {
			line := EventOfSize(rand.New(rand.NewPCG(seed, uint64(size))), size)
			ev, attrs := parse(t, seed, line)
			checkEvent(t, seed, line, ev, attrs)
			lo, hi := size*90/100, size*110/100
			switch {
			case size < 1500:
				lo, hi = size*2/3, size*3/2
			case size < 4096:
				// Some requests with bodies are bigger than this unpadded.
				hi = size * 5 / 4
			}
			if len(line) < lo || len(line) > hi {
				t.Errorf("EventOfSize(%d), seed %d: %d bytes", size, seed, len(line))
			}
		}
	}
}
