package sink

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/segmentio/kafka-go"
)

// shortenedKey is the annotation appendShortened adds to an event it edited:
// the comma-separated names of the fields it shortened, in shortenable's
// order. It is in a domain the project owns so that it can never be mistaken
// for one kube-apiserver writes.
const shortenedKey = "auditstream.io/truncated-fields"

// minKept is the shortest prefix, in bytes of the JSON-encoded value, that
// appendShortened keeps of a value it shortens: enough to show the path and
// query a URI starts with, or a user agent's product and version.
const minKept = 256

// shortenedMarker ends every shortened value, with the length of the whole
// JSON-encoded value before it was cut, so that an analyst sees that it was
// cut and by how much.
const (
	shortenedMarkerStart = "...[truncated, was "
	shortenedMarkerEnd   = " bytes]"
)

// fieldShape says how a shortenable field holds its strings.
type fieldShape uint8

const (
	shapeString     fieldShape = iota // a string
	shapeStrings                      // an array of strings
	shapeExtraLists                   // an object of arrays of strings (UserInfo.extra)
	shapeCauses                       // an array of StatusCause objects: their message and field
)

// shortenableField is an event field whose strings the client chooses and
// can make as large as kube-apiserver accepts.
type shortenableField struct {
	name  string   // as listed in the annotation
	path  []string // object keys from the event down to the field
	shape fieldShape
}

// shortenable lists, in the order appendShortened shortens them, the fields
// a client can make large. kube-apiserver accepts up to 1 MiB of request
// line and headers (MaxHeaderBytes in k8s.io/apiserver's secure serving)
// and 3 MiB of body, and copies into the event:
//   - userAgent, the User-Agent header. The apiserver cuts it at 1024 bytes
//     (maxUserAgentLength in k8s.io/apiserver/pkg/audit), but older ones and
//     other producers do not; it says least about the request, so it goes
//     first.
//   - requestURI, the request line: up to 1 MiB of path and query.
//   - objectRef.name and objectRef.subresource, parsed from that path;
//     objectRef.uid and objectRef.resourceVersion: on a create these and the
//     name come from the body's metadata (up to 3 MiB; LogRequestObject in
//     k8s.io/apiserver/pkg/audit), before validation rejects them.
//   - responseStatus message and details (name, causes' message and field),
//     which echo the name, the URI or the body's fields in errors
//     ("configmaps \"...\" not found"); the apiserver copies them whole into
//     the event (AuditContext.LogResponseObject). responseStatus.code is kept.
//   - user.extra values: set by an authenticating front proxy from its
//     X-Remote-Extra-* headers, or by a token webhook or claim mapping from
//     what the client presented.
//   - impersonatedUser: the Impersonate-Extra-*, Impersonate-Group,
//     Impersonate-Uid and Impersonate-User headers, all client-chosen. The
//     impersonated username is who acted, so it is cut last.
//
// Never shortened: auditID (a client may send its own Audit-ID, kept whole
// by the apiserver, but it joins an event's stages and is also the message
// key and a header, so cutting the value's copy would neither save enough
// nor leave the event findable), verb, stage, level and the timestamps
// (short, server-set), user.username and user.groups (who made the
// request, decided by an authenticator, not by the request), objectRef
// resource, namespace, apiGroup and apiVersion (what was acted on, bounded
// by the API's names), sourceIPs (each a parsed IP address, so nothing to
// cut; only their number is client-chosen, through X-Forwarded-For, and
// dropping addresses would hide hops while a marker entry would not parse
// as an address: such an event is dead-lettered), and annotations:
// they record the decisions of the authorizer and the admission chain, which
// the cluster's operator configures, and the apiserver's own truncation
// keeps them too.
var shortenable = [...]shortenableField{
	{"userAgent", []string{"userAgent"}, shapeString},
	{"requestURI", []string{"requestURI"}, shapeString},
	{"objectRef.name", []string{"objectRef", "name"}, shapeString},
	{"objectRef.subresource", []string{"objectRef", "subresource"}, shapeString},
	{"objectRef.uid", []string{"objectRef", "uid"}, shapeString},
	{"objectRef.resourceVersion", []string{"objectRef", "resourceVersion"}, shapeString},
	{"responseStatus.message", []string{"responseStatus", "message"}, shapeString},
	{"responseStatus.details.name", []string{"responseStatus", "details", "name"}, shapeString},
	{"responseStatus.details.causes", []string{"responseStatus", "details", "causes"}, shapeCauses},
	{"user.extra", []string{"user", "extra"}, shapeExtraLists},
	{"impersonatedUser.extra", []string{"impersonatedUser", "extra"}, shapeExtraLists},
	{"impersonatedUser.groups", []string{"impersonatedUser", "groups"}, shapeStrings},
	{"impersonatedUser.uid", []string{"impersonatedUser", "uid"}, shapeString},
	{"impersonatedUser.username", []string{"impersonatedUser", "username"}, shapeString},
}

// shortenedAnnotationReserve bounds the bytes the annotation adds to an
// event: a new annotations member holding it with every field listed.
var shortenedAnnotationReserve = func() int {
	names := make([]string, len(shortenable))
	for i, f := range &shortenable {
		names[i] = f.name
	}
	return len(`,"annotations":{"`+shortenedKey+`":""}`) + len(strings.Join(names, ","))
}()

// appendShortened appends to dst the audit event ev with its client-chosen
// strings (see shortenable) shortened until the event is at most limit
// bytes, and the annotation "auditstream.io/truncated-fields" listing the
// fields it cut, and returns the extended buffer. Fields are cut in
// shortenable's order, each only as far as needed but never below minKept
// bytes; a cut value keeps its start and ends with shortenedMarker. Like
// appendTruncated it edits the bytes: the rest of the event is unchanged,
// and a cut never splits an escape sequence (a surrogate pair included) or a
// UTF-8 sequence, so valid JSON stays valid.
//
// The result may still exceed limit when the fields cannot give enough; with
// limit 0 every field is cut to minKept. ok is false, and dst unchanged, when
// ev is not a JSON object or no field was long enough to cut.
func appendShortened(dst, ev []byte, limit int) (out []byte, ok bool) {
	members, end, ok := scanObject(ev, 0)
	if !ok || skipWS(ev, end) != len(ev) {
		return dst, false
	}
	// Reserving the annotation's largest size keeps the result within
	// limit whichever fields end up listed, for at most a few dozen bytes
	// cut more than needed.
	need := len(ev) + shortenedAnnotationReserve - limit
	var edits []edit
	var names []string
	for _, f := range &shortenable {
		if need <= 0 {
			break
		}
		cut := false
		for _, s := range fieldStrings(ev, members, f) {
			if need <= 0 {
				break
			}
			if e, saved, ok := shortenString(ev, s, need); ok {
				edits = append(edits, e)
				need -= saved
				cut = true
			}
		}
		if cut {
			names = append(names, f.name)
		}
	}
	if len(names) == 0 {
		return dst, false
	}
	value := strings.Join(names, ",")
	if annotations, ok := lastMember(ev, members, "annotations"); ok {
		e, ok := annotate(ev, annotations, shortenedKey, value)
		if !ok {
			return dst, false
		}
		edits = append(edits, e)
	} else {
		// ev[end-1] is the closing brace of the event; members is not
		// empty, since a field was found.
		edits = append(edits, edit{start: end - 1, end: end - 1, text: `,"annotations":{"` + shortenedKey + `":"` + value + `"}`})
	}
	return applyEdits(dst, ev, edits), true
}

// shortenString returns the edit that replaces the end of the JSON string
// ev[s.start:s.end] (quotes included) with the marker, keeping as much as
// still lets it save need bytes but at least minKept, and the bytes saved.
// ok is false when cutting would save nothing.
func shortenString(ev []byte, s span, need int) (e edit, saved int, ok bool) {
	content := ev[s.start+1 : s.end-1]
	marker := shortenedMarkerStart + strconv.Itoa(len(content)) + shortenedMarkerEnd
	keep := max(len(content)-len(marker)-need, minKept)
	if keep+len(marker) >= len(content) {
		return edit{}, 0, false
	}
	n := safePrefix(content, keep)
	return edit{start: s.start + 1 + n, end: s.end - 1, text: marker}, len(content) - n - len(marker), true
}

// safePrefix returns the length of the longest prefix of the JSON string
// content s, at most n bytes, that ends between two characters: not inside
// an escape sequence, a \uXXXX surrogate pair or a UTF-8 sequence.
func safePrefix(s []byte, n int) int {
	i := 0
	for i < len(s) {
		step := 1
		switch {
		case s[i] == '\\' && i+1 < len(s) && s[i+1] == 'u':
			step = 6
			if isSurrogateEscape(s[i:], 'd', "89ab") && isSurrogateEscape(s[min(i+6, len(s)):], 'd', "cdef") {
				step = 12
			}
		case s[i] == '\\':
			step = 2
		case s[i] >= utf8.RuneSelf:
			_, step = utf8.DecodeRune(s[i:])
		}
		if i+step > n {
			break
		}
		i += step
	}
	return i
}

// isSurrogateEscape reports whether s starts with \uXYZZ where X is d or D
// and Y one of second (either case): the half of a surrogate pair second
// selects.
func isSurrogateEscape(s []byte, first byte, second string) bool {
	return len(s) >= 6 && s[0] == '\\' && s[1] == 'u' && s[2]|0x20 == first &&
		strings.IndexByte(second, s[3]|0x20) >= 0
}

// span is the position of a JSON value: b[start:end].
type span struct{ start, end int }

// fieldStrings returns the positions of the strings of field f in the event
// whose top-level members are members. A path that is missing, or holds
// something else than f's shape (null, a number), gives none: there is
// nothing to cut there.
func fieldStrings(ev []byte, members []member, f shortenableField) []span {
	var m member
	for i, key := range f.path {
		var ok bool
		if m, ok = lastMember(ev, members, key); !ok {
			return nil
		}
		if i < len(f.path)-1 {
			var end int
			if members, end, ok = scanObject(ev, m.valueStart); !ok || end != m.valueEnd {
				return nil
			}
		}
	}
	switch f.shape {
	case shapeString:
		if ev[m.valueStart] == '"' {
			return []span{{m.valueStart, m.valueEnd}}
		}
	case shapeStrings:
		return arrayStrings(ev, m.valueStart, nil)
	case shapeCauses:
		var out []span
		for _, c := range arrayValues(ev, m.valueStart, nil) {
			fields, end, ok := scanObject(ev, c.start)
			if !ok || end != c.end {
				continue
			}
			for _, key := range [...]string{"message", "field"} {
				if f, ok := lastMember(ev, fields, key); ok && ev[f.valueStart] == '"' {
					out = append(out, span{f.valueStart, f.valueEnd})
				}
			}
		}
		return out
	case shapeExtraLists:
		lists, end, ok := scanObject(ev, m.valueStart)
		if !ok || end != m.valueEnd {
			return nil
		}
		var out []span
		for _, l := range lists {
			out = arrayStrings(ev, l.valueStart, out)
		}
		return out
	}
	return nil
}

// lastMember returns the member of members whose key is key, the last one
// if the key repeats: the one encoding/json keeps.
func lastMember(ev []byte, members []member, key string) (member, bool) {
	for i := len(members) - 1; i >= 0; i-- {
		m := members[i]
		if string(ev[m.keyStart+1:m.keyEnd-1]) == key {
			return m, true
		}
	}
	return member{}, false
}

// arrayStrings appends to out the positions of the strings in the JSON array
// that starts at b[i]; it appends nothing if b[i] is not an array.
func arrayStrings(b []byte, i int, out []span) []span {
	for _, v := range arrayValues(b, i, nil) {
		if b[v.start] == '"' {
			out = append(out, v)
		}
	}
	return out
}

// arrayValues appends to out the positions of the values in the JSON array
// that starts at b[i]; it appends nothing if b[i] is not an array.
func arrayValues(b []byte, i int, out []span) []span {
	if i >= len(b) || b[i] != '[' {
		return out
	}
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == ']' {
		return out
	}
	for i < len(b) {
		end, ok := skipValue(b, i)
		if !ok {
			return out
		}
		out = append(out, span{i, end})
		i = skipWS(b, end)
		if i >= len(b) || b[i] != ',' {
			return out
		}
		i = skipWS(b, i+1)
	}
	return out
}

// shorten cuts the client-chosen strings of message m so that it fits
// MaxMessageBytes, and reports whether it now does; if not, m.Value is
// unchanged, so that a dead letter keeps the start of the event as it was.
// A message that fits already is here because the broker refused it, with a
// limit (the topic's max.message.bytes) the sink does not know: its strings
// are cut as far as minKept, and the broker judges again.
func (s *Sink) shorten(m *kafka.Message, meta *msgMeta) bool {
	overhead := int(meta.size) - len(m.Value)
	limit := 0
	if int(meta.size) > s.cfg.MaxMessageBytes {
		limit = s.cfg.MaxMessageBytes - overhead
	}
	v, ok := appendShortened(make([]byte, 0, len(m.Value)+shortenedAnnotationReserve), m.Value, limit)
	if !ok {
		return false // nothing to cut
	}
	// Set even when the cut is not enough: the dead letter then says the
	// event was too large even after truncation.
	meta.shortened = true
	if overhead+len(v) > s.cfg.MaxMessageBytes {
		return false
	}
	m.Value = v
	meta.size = messageSize(m)
	if !meta.truncated {
		// Counted once per event, whether bodies, strings or both went.
		s.counters[meta.origin].truncated.Add(1)
	}
	return true
}
