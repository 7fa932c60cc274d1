package sink

import (
	"bytes"
	"sort"
)

// truncatedKey is the annotation kube-apiserver's truncate backend
// (plugin/pkg/audit/truncate) adds to an event whose bodies it dropped.
const truncatedKey = "audit.k8s.io/truncated"

// appendTruncated appends to dst the audit event ev with its top-level
// requestObject and responseObject members removed and the annotation
// "audit.k8s.io/truncated":"true" added, as kube-apiserver's truncate backend
// does, and returns the extended buffer. It edits the bytes: every other byte of
// the event, whitespace and key order included, is kept. The annotation is put
// where encoding/json would put it (annotations keys are sorted), or, when the
// event has no annotations, a final "annotations" member is added, which is
// where the apiserver writes it. ok is false, and dst unchanged, when ev is not
// a JSON object.
func appendTruncated(dst, ev []byte) (out []byte, ok bool) {
	members, end, ok := scanObject(ev, 0)
	if !ok || skipWS(ev, end) != len(ev) {
		return dst, false
	}
	var edits []edit
	annotations := -1
	removed := make([]bool, len(members))
	kept := len(members)
	for i, m := range members {
		switch string(ev[m.keyStart+1 : m.keyEnd-1]) {
		case "requestObject", "responseObject":
			removed[i] = true
			kept--
		case "annotations":
			annotations = i
		}
	}
	edits = appendRemovals(edits, members, removed)
	if annotations >= 0 {
		e, ok := annotate(ev, members[annotations], truncatedKey, "true")
		if !ok {
			return dst, false
		}
		edits = append(edits, e)
	} else {
		// ev[end-1] is the closing brace of the event.
		add := `"annotations":{"` + truncatedKey + `":"true"}`
		if kept > 0 {
			add = "," + add
		}
		edits = append(edits, edit{start: end - 1, end: end - 1, text: add})
	}
	return applyEdits(dst, ev, edits), true
}

// member is the position of one member of a JSON object: the key with its
// quotes in [keyStart, keyEnd), the value in [valueStart, valueEnd).
type member struct {
	keyStart, keyEnd, valueStart, valueEnd int
}

// edit replaces b[start:end] with text.
type edit struct {
	start, end int
	text       string
}

// appendRemovals appends the edits that delete the members marked removed,
// each run of adjacent ones with one separating comma: from the end of the
// member before the run, or, for a run at the start, up to the next key.
func appendRemovals(edits []edit, members []member, removed []bool) []edit {
	for a := 0; a < len(members); a++ {
		if !removed[a] {
			continue
		}
		b := a
		for b+1 < len(members) && removed[b+1] {
			b++
		}
		switch {
		case a > 0:
			edits = append(edits, edit{start: members[a-1].valueEnd, end: members[b].valueEnd})
		case b+1 < len(members):
			edits = append(edits, edit{start: members[0].keyStart, end: members[b+1].keyStart})
		default:
			edits = append(edits, edit{start: members[0].keyStart, end: members[b].valueEnd})
		}
		a = b
	}
	return edits
}

// annotate returns the edit that sets the annotation key to value (both
// needing no JSON escaping) in the annotations member m (an object or null),
// where encoding/json's sorted map keys would put it.
func annotate(ev []byte, m member, key, value string) (edit, bool) {
	entry := `"` + key + `":"` + value + `"`
	if bytes.Equal(ev[m.valueStart:m.valueEnd], []byte("null")) {
		return edit{start: m.valueStart, end: m.valueEnd, text: "{" + entry + "}"}, true
	}
	inner, end, ok := scanObject(ev, m.valueStart)
	if !ok || end != m.valueEnd {
		return edit{}, false
	}
	for _, a := range inner {
		switch bytes.Compare(ev[a.keyStart+1:a.keyEnd-1], []byte(key)) {
		case 0:
			return edit{start: a.valueStart, end: a.valueEnd, text: `"` + value + `"`}, true
		case 1:
			return edit{start: a.keyStart, end: a.keyStart, text: entry + ","}, true
		}
	}
	if len(inner) == 0 {
		return edit{start: m.valueEnd - 1, end: m.valueEnd - 1, text: entry}, true
	}
	return edit{start: m.valueEnd - 1, end: m.valueEnd - 1, text: "," + entry}, true
}

// applyEdits appends b with edits applied; edits must not overlap.
func applyEdits(dst, b []byte, edits []edit) []byte {
	sort.Slice(edits, func(i, j int) bool { return edits[i].start < edits[j].start })
	pos := 0
	for _, e := range edits {
		dst = append(dst, b[pos:e.start]...)
		dst = append(dst, e.text...)
		pos = e.end
	}
	return append(dst, b[pos:]...)
}

// scanObject reads the JSON object that starts (after whitespace) at b[i] and
// returns its members and the index just past its closing brace.
func scanObject(b []byte, i int) (members []member, end int, ok bool) {
	i = skipWS(b, i)
	if i >= len(b) || b[i] != '{' {
		return nil, 0, false
	}
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == '}' {
		return nil, i + 1, true
	}
	for i < len(b) {
		var m member
		m.keyStart = i
		if m.keyEnd, ok = skipString(b, i); !ok {
			return nil, 0, false
		}
		i = skipWS(b, m.keyEnd)
		if i >= len(b) || b[i] != ':' {
			return nil, 0, false
		}
		m.valueStart = skipWS(b, i+1)
		if m.valueEnd, ok = skipValue(b, m.valueStart); !ok {
			return nil, 0, false
		}
		members = append(members, m)
		i = skipWS(b, m.valueEnd)
		if i >= len(b) {
			break
		}
		switch b[i] {
		case ',':
			i = skipWS(b, i+1)
		case '}':
			return members, i + 1, true
		default:
			return nil, 0, false
		}
	}
	return nil, 0, false
}

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index just past the string that starts at b[i].
// It jumps from quote to quote (bytes.IndexByte) rather than reading each
// byte, as it crosses the megabyte-long strings of the events that need
// truncating: a quote ends the string when an even number of backslashes
// precedes it.
func skipString(b []byte, i int) (int, bool) {
	if i >= len(b) || b[i] != '"' {
		return 0, false
	}
	start := i + 1
	for i = start; ; i++ {
		q := bytes.IndexByte(b[i:], '"')
		if q < 0 {
			return 0, false
		}
		i += q
		backslashes := 0
		for j := i - 1; j >= start && b[j] == '\\'; j-- {
			backslashes++
		}
		if backslashes%2 == 0 {
			return i + 1, true
		}
	}
}

// skipValue returns the index just past the value that starts at b[i]. It
// checks only what it needs to find the end: nesting and strings.
func skipValue(b []byte, i int) (int, bool) {
	if i >= len(b) {
		return 0, false
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				var ok bool
				if i, ok = skipString(b, i); !ok {
					return 0, false
				}
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1, true
				}
			}
			i++
		}
		return 0, false
	default:
		start := i
		for i < len(b) && b[i] != ',' && b[i] != '}' && b[i] != ']' && b[i] != ' ' && b[i] != '\t' && b[i] != '\n' && b[i] != '\r' {
			i++
		}
		return i, i > start
	}
}
