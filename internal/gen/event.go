package gen

import (
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"time"

	authnv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"
)

// Event returns a random audit.k8s.io/v1 Event as kube-apiserver's log
// backend writes it: one JSON object, keys in Go struct order, encoding/json
// escaping, no trailing newline. Events with a request or response body
// are padded to a size drawn between 0.5 KB and 40 KB.
func Event(r *rand.Rand) []byte {
	return newEvent(r, options{})
}

// EventOfSize returns a random event of about approxBytes bytes (within 5%
// where it can). From 1.5 KB up it is an event whose bodies are padded to
// the size (a ResponseComplete at level Request or RequestResponse); below,
// it is the event closest in size among a few drawn, usually a
// Metadata-level one.
func EventOfSize(r *rand.Rand, approxBytes int) []byte {
	opts := options{target: approxBytes, bodies: approxBytes >= 1500}
	var best []byte
	for range 16 {
		ev := newEvent(r, opts)
		if best == nil || abs(len(ev)-approxBytes) < abs(len(best)-approxBytes) {
			best = ev
		}
		if abs(len(best)-approxBytes) <= approxBytes/20 {
			break
		}
	}
	return best
}

func abs(n int) int { return max(n, -n) }

type options struct {
	// target is the approximate size of the line; 0 draws one for events
	// with bodies.
	target int
	// bodies forces a request whose event carries bodies.
	bodies bool
}

// epoch is the start of the month events are drawn in.
var epoch = time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)

func newEvent(r *rand.Rand, opts options) []byte {
	now := epoch.Add(time.Duration(r.Int64N(30*24*3600*1e6)) * time.Microsecond)
	g := objects{r: r, now: now}
	var q *httpRequest
	if !opts.bodies && chance(r, 0.15) {
		q = drawNonResourceRequest(r)
	} else {
		q = drawResourceRequest(r, opts.bodies)
	}
	ri := q.info

	ev := &auditv1.Event{
		TypeMeta:                 metav1.TypeMeta{Kind: "Event", APIVersion: "audit.k8s.io/v1"},
		AuditID:                  types.UID(uuid(r)),
		RequestURI:               q.uri,
		Verb:                     ri.Verb,
		SourceIPs:                pick(r, [][]string{{"10.0.0.12"}, {"172.18.0.1"}, {"::1"}, {"192.168.1.5", "10.0.0.1"}}),
		RequestReceivedTimestamp: metav1.NewMicroTime(now),
	}

	// Who: the authenticated user is what the policy sees; an impersonated
	// user is only logged.
	id := pick(r, identities)
	unauthenticated := !opts.bodies && chance(r, 0.05)
	var impersonated *identity
	if !unauthenticated && chance(r, 0.08) {
		id = identityNamed(pick(r, impersonators))
		other := pick(r, identities)
		for other.name == id.name {
			other = pick(r, identities)
		}
		impersonated = &other
	}
	if !unauthenticated {
		ev.User = userInfo(id)
		ev.UserAgent = id.agent
		switch {
		case chance(r, 0.05):
			ev.UserAgent = ""
		case chance(r, 0.03):
			ev.UserAgent = "kubectl-tree/0.4.3 (Ünïcode ≠ ascii; +https://example.com/?a=1&b=<2>)"
		}
	}

	// When: the stage, and what happened by then.
	longRunning := q.longRunning()
	stage := auditv1.StageResponseComplete
	switch {
	case unauthenticated:
		// Failed authentication is logged once, at ResponseStarted.
		stage = auditv1.StageResponseStarted
	case opts.bodies:
	case longRunning:
		stage = pickWeighted(r, []weighted[auditv1.Stage]{{25, auditv1.StageRequestReceived},
			{35, auditv1.StageResponseStarted}, {35, auditv1.StageResponseComplete}, {5, auditv1.StagePanic}})
	default:
		stage = pickWeighted(r, []weighted[auditv1.Stage]{{30, auditv1.StageRequestReceived},
			{65, auditv1.StageResponseComplete}, {5, auditv1.StagePanic}})
	}
	ev.Stage = stage
	ev.Level = pickWeighted(r, []weighted[auditv1.Level]{{45, auditv1.LevelMetadata}, {20, auditv1.LevelRequest},
		{35, auditv1.LevelRequestResponse}})
	if opts.bodies {
		// Request only where the request has a body.
		ev.Level = auditv1.LevelRequestResponse
		if q.action != "get" && q.action != "list" && chance(r, 0.2) {
			ev.Level = auditv1.LevelRequest
		}
	}
	out := drawOutcome(r, q, id, impersonated, unauthenticated, stage, opts.bodies)

	latency := time.Duration(1+r.IntN(40)) * time.Millisecond
	switch {
	case stage == auditv1.StageRequestReceived:
		latency = 0
	case stage == auditv1.StageResponseComplete && ri.Verb == "watch":
		latency = time.Duration(1+r.IntN(466)) * time.Second
	case chance(r, 0.05):
		latency = time.Duration(500+r.IntN(3000)) * time.Millisecond
	}
	ev.StageTimestamp = metav1.NewMicroTime(now.Add(latency))

	if ri.IsResourceRequest {
		ev.ObjectRef = &auditv1.ObjectReference{Resource: ri.Resource, Namespace: ri.Namespace, Name: ri.Name,
			APIGroup: ri.APIGroup, APIVersion: ri.APIVersion, Subresource: ri.Subresource}
	}
	if stage == auditv1.StageRequestReceived {
		// Emitted before impersonation, authorization and the handler.
		return finish(ev, nil, nil, nil, opts)
	}
	if impersonated != nil {
		ev.ImpersonatedUser = ptr(userInfo(*impersonated))
	}
	ev.Annotations = annotations(r, q, id, impersonated, unauthenticated, out, ev.Level, latency)

	// The handler logs the request body and fills objectRef's empty fields
	// from it, even at level Metadata.
	var reqBody any
	if out.handled && q.res != nil && (stage == auditv1.StageResponseComplete || stage == auditv1.StagePanic) {
		reqBody = g.requestBody(q)
		if ob, ok := reqBody.(*obj); ok && q.action != "patch" {
			enrich(ev.ObjectRef, ob)
		}
	}
	if ev.Level == auditv1.LevelMetadata {
		reqBody = nil
	}

	// The response: a Status is copied into responseStatus at every level;
	// the object itself is only logged at RequestResponse.
	var respBody any
	var grow grower
	switch {
	case out.status != nil:
		ev.ResponseStatus = responseStatus(out.status)
		if stage == auditv1.StageResponseComplete {
			respBody = asObject(out.status)
		}
	case stage == auditv1.StageResponseComplete && out.handled && !longRunning:
		var uid string
		if ev.ObjectRef != nil {
			uid = string(ev.ObjectRef.UID)
		}
		respBody, grow = g.responseBody(q, uid)
		ev.ResponseStatus = &metav1.Status{Code: int32(out.code)}
		if s, ok := respBody.(*metav1.Status); ok {
			ev.ResponseStatus = responseStatus(s)
		}
	default:
		ev.ResponseStatus = &metav1.Status{Code: int32(out.code)}
	}
	if ev.Level != auditv1.LevelRequestResponse {
		respBody, grow = nil, nil
	}
	if grow == nil && respBody == nil {
		if ob, ok := reqBody.(*obj); ok {
			grow = func(n int) { g.growObject(ob, n) }
		}
	}
	return finish(ev, reqBody, respBody, grow, opts)
}

// finish encodes the event, padding its bodies towards the target size.
func finish(ev *auditv1.Event, reqBody, respBody any, grow grower, opts options) []byte {
	target := opts.target
	if target == 0 && (reqBody != nil || respBody != nil) {
		target = -1 // drawn below, once the event is known to carry a body
	}
	for range 6 {
		ev.RequestObject, ev.ResponseObject = unknown(reqBody), unknown(respBody)
		line, err := json.Marshal(ev)
		if err != nil {
			panic(err)
		}
		if target < 0 {
			target = logUniformFromLine(line)
		}
		deficit := target - len(line)
		if grow == nil || deficit < max(64, target/100) {
			return line
		}
		grow(deficit)
	}
	line, err := json.Marshal(ev)
	if err != nil {
		panic(err)
	}
	return line
}

// logUniformFromLine draws a target size between 0.5 KB and 40 KB from the
// event's own bytes, so that the size does not shift the random stream
// (events stay reproducible whether or not they get padded).
func logUniformFromLine(line []byte) int {
	var h uint64 = 14695981039346656037
	for _, c := range line {
		h = (h ^ uint64(c)) * 1099511628211
	}
	return logUniform(rand.New(rand.NewPCG(h, 0)), 500, 40000)
}

func unknown(body any) *runtime.Unknown {
	if body == nil {
		return nil
	}
	raw, err := json.Marshal(body)
	if err != nil {
		panic(err)
	}
	return &runtime.Unknown{Raw: raw}
}

// enrich fills objectRef's empty fields from the request body, as the
// apiserver's LogRequestObject does: a create's objectRef gets the new
// object's name, an update's the uid and resourceVersion it was read at.
func enrich(ref *auditv1.ObjectReference, body *obj) {
	mdv, ok := body.get("metadata")
	md, isObj := mdv.(*obj)
	if !ok || !isObj {
		return
	}
	str := func(k string) string {
		v, _ := md.get(k)
		s, _ := v.(string)
		return s
	}
	if ref.Namespace == "" {
		ref.Namespace = str("namespace")
	}
	if ref.Name == "" {
		ref.Name = str("name")
	}
	if ref.UID == "" {
		ref.UID = types.UID(str("uid"))
	}
	if ref.ResourceVersion == "" {
		ref.ResourceVersion = str("resourceVersion")
	}
}

func identityNamed(name string) identity {
	for _, id := range identities {
		if id.name == name {
			return id
		}
	}
	panic("gen: no identity " + name)
}

func userInfo(id identity) authnv1.UserInfo {
	u := authnv1.UserInfo{Username: id.name, UID: id.uid, Groups: id.groups}
	if len(id.extra) > 0 {
		u.Extra = map[string]authnv1.ExtraValue{}
		for k, v := range id.extra {
			u.Extra[k] = v
		}
	}
	return u
}

func ptr[T any](v T) *T { return &v }

// outcome is how the request ended, as far as the event can tell.
type outcome struct {
	// status is the Status the request was answered with when it failed.
	status *metav1.Status
	// code is the HTTP status code of a successful request.
	code int
	// handled: the request reached its handler, which decoded the body.
	handled bool
	// forbidden: the authorizer denied it.
	forbidden bool
}

func drawOutcome(r *rand.Rand, q *httpRequest, id identity, imp *identity, unauthenticated bool, stage auditv1.Stage, bodies bool) outcome {
	ri := q.info
	switch {
	case unauthenticated:
		return outcome{status: unauthorized()}
	case stage == auditv1.StagePanic:
		return outcome{status: panicked(), handled: true}
	}
	effective := id
	if imp != nil {
		effective = *imp
	}
	if !bodies && effective.name != "system:admin" && effective.name != "system:apiserver" && chance(r, 0.06) {
		return outcome{status: forbidden(ri, effective.name), forbidden: true}
	}
	if q.res == nil {
		return outcome{code: http.StatusOK, handled: true}
	}
	fail := func(p float64) bool { return !bodies && chance(r, p) }
	switch q.action {
	case "create":
		switch {
		case fail(0.08) && q.bodyName != "":
			return outcome{status: alreadyExists(ri, q.bodyName), handled: true}
		case fail(0.06):
			return outcome{status: invalid(ri, q.res.kind, q.bodyName), handled: true}
		}
		return outcome{code: http.StatusCreated, handled: true}
	case "get", "head", "patch", "delete":
		if fail(0.1) {
			return outcome{status: notFound(ri), handled: true}
		}
	case "update":
		if fail(0.1) {
			return outcome{status: conflict(ri), handled: true}
		}
	case "legacyproxy", "options":
		return outcome{status: pathNotFound()}
	case "sub":
		switch ri.Subresource {
		case "exec", "attach", "portforward":
			return outcome{code: http.StatusSwitchingProtocols, handled: true}
		case "binding", "eviction", "token":
			return outcome{code: http.StatusCreated, handled: true}
		}
	}
	return outcome{code: http.StatusOK, handled: true}
}
