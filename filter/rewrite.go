package filter

// edit replaces line[start:end] with repl ("" removes it), then replBytes:
// a replacement built for this event (a redaction marker) is a view of the
// Processor's scratch rather than a string, which would cost an allocation.
type edit struct {
	start, end int
	repl       string
	replBytes  []byte
}

// editList collects the edits of one event. Removals may nest or overlap (a
// member removed with its neighbour's comma); apply resolves that.
type editList struct {
	edits   []edit
	members []objMember // scratch for removeMembers
}

// objMember is a member of an object by its [start, end) in the event.
type objMember struct {
	start, end int
	removed    bool
}

func (l *editList) reset() { l.edits = l.edits[:0] }

func (l *editList) add(start, end int, repl string) {
	l.edits = append(l.edits, edit{start: start, end: end, repl: repl})
}

// addBytes is add with a replacement that is a view: it must stay unchanged
// until apply.
func (l *editList) addBytes(start, end int, repl []byte) {
	l.edits = append(l.edits, edit{start: start, end: end, replBytes: repl})
}

// removeMember removes member i of an object, taking exactly one comma with
// it so the object stays valid whatever else goes: after the last kept member
// before it if there is one (", key":v), else up to the next member's start
// ("key":v, ), else alone.
func (l *editList) removeMember(members []objMember, i int) {
	for j := i - 1; j >= 0; j-- {
		if !members[j].removed {
			l.add(members[j].end, members[i].end, "")
			return
		}
	}
	if i+1 < len(members) {
		l.add(members[i].start, members[i+1].start, "")
		return
	}
	l.add(members[i].start, members[i].end, "")
}

// apply appends line[from:to] with the edits applied to dst.
func (l *editList) apply(dst, line []byte, from, to int) []byte {
	sortEdits(l.edits)
	pos := from
	for _, e := range l.edits {
		if e.end < pos || e.end == pos && e.start < e.end {
			continue // inside a removal already applied; an insertion (start == end) at pos is not
		}
		if e.start < pos {
			e.start = pos
		}
		dst = append(dst, line[pos:e.start]...)
		dst = append(dst, e.repl...)
		dst = append(dst, e.replBytes...)
		pos = e.end
	}
	return append(dst, line[pos:to]...)
}

// sortEdits orders edits by start, the widest first at equal starts. Edits
// arrive almost sorted, so insertion sort is linear in practice and, unlike
// sort.Slice, allocates nothing.
func sortEdits(e []edit) {
	for i := 1; i < len(e); i++ {
		for j := i; j > 0 && (e[j].start < e[j-1].start || e[j].start == e[j-1].start && e[j].end > e[j-1].end); j-- {
			e[j], e[j-1] = e[j-1], e[j]
		}
	}
}

// stripManagedFields removes metadata.managedFields from the object at
// b[start:], from each element of its items and from each rows[].object of a
// Table, as the apiserver's omitManagedFields does for request and response
// objects. Other values (null, a string) are left alone.
func (l *editList) stripManagedFields(b []byte, start int) error {
	if start >= len(b) || b[start] != '{' {
		return nil
	}
	// Each member's value is walked once: the helpers below return where the
	// value they looked into ends.
	var it objectIter
	it.begin(b, start)
	table, rowsBeforeTable := false, false
	for {
		ok, err := it.next()
		m := &it.m
		if err != nil || !ok {
			if err == nil && rowsBeforeTable && table {
				// rows came before kind: walk every rows member again now
				// that the kind is known (one stripped already is stripped
				// again to no effect: apply skips an edit it has applied).
				_, err = l.inMember(b, start, "rows", func(b []byte, i int) (int, error) {
					return l.forEachElement(b, i, l.stripRowObject)
				})
			}
			return err
		}
		var end int
		switch {
		case it.keyIs(m, "metadata"):
			end, err = l.removeKey(b, m.valStart, "managedFields")
		case it.keyIs(m, "items"):
			end, err = l.forEachElement(b, m.valStart, l.stripMetadata)
		case it.keyIs(m, "rows") && table:
			end, err = l.forEachElement(b, m.valStart, l.stripRowObject)
		case it.keyIs(m, "rows"):
			rowsBeforeTable = true
			end, err = skipValue(b, m.valStart, 2)
		default:
			if it.keyIs(m, "kind") {
				table = b[m.valStart] == '"' && string(b[m.valStart:min(len(b), m.valStart+7)]) == `"Table"`
			}
			end, err = skipValue(b, m.valStart, 2)
		}
		if err != nil {
			return err
		}
		it.valueEnd(end)
	}
}

// The helpers below look into the value at b[start:] and return its end, so
// that their callers need not skip it again.

// stripMetadata removes metadata.managedFields of the object at b[start:].
func (l *editList) stripMetadata(b []byte, start int) (int, error) {
	return l.inMember(b, start, "metadata", func(b []byte, i int) (int, error) { return l.removeKey(b, i, "managedFields") })
}

// stripRowObject strips a Table row's object.
func (l *editList) stripRowObject(b []byte, start int) (int, error) {
	return l.inMember(b, start, "object", l.stripMetadata)
}

// inMember calls fn with the value offset of each member named key of the
// object at b[start:]; it only skips a value that is not an object.
func (l *editList) inMember(b []byte, start int, key string, fn func([]byte, int) (int, error)) (int, error) {
	if start >= len(b) || b[start] != '{' {
		return skipValue(b, start, 2)
	}
	var it objectIter
	it.begin(b, start)
	for {
		ok, err := it.next()
		m := &it.m
		if err != nil || !ok {
			return it.pos, err
		}
		var end int
		if it.keyIs(m, key) {
			end, err = fn(b, m.valStart)
		} else {
			end, err = skipValue(b, m.valStart, 2)
		}
		if err != nil {
			return end, err
		}
		it.valueEnd(end)
	}
}

// forEachElement calls fn with the offset of each element of the array at
// b[start:]; it only skips a value that is not an array.
func (l *editList) forEachElement(b []byte, start int, fn func([]byte, int) (int, error)) (int, error) {
	if start >= len(b) || b[start] != '[' {
		return skipValue(b, start, 2)
	}
	var it arrayIter
	it.begin(b, start)
	for {
		i, ok, err := it.next()
		if err != nil || !ok {
			return it.pos, err
		}
		end, err := fn(b, i)
		if err != nil {
			return end, err
		}
		it.pos = end
	}
}

// removeKey removes every member named key from the object at b[start:],
// and returns the offset after the value there.
func (l *editList) removeKey(b []byte, start int, key string) (int, error) {
	end, _, err := l.removeMembers(b, start, false, func(k []byte, escaped bool) bool { return keyEquals(k, escaped, key) })
	return end, err
}

// removeMembers removes the members of the object at b[start:] whose raw key
// match accepts, taking the right commas with them, and returns the offset after
// the value there. all reports that every member matched (there was at
// least one); with unlessAll nothing is then edited, for the caller to
// remove the whole object. A value that is not an object is only skipped.
func (l *editList) removeMembers(b []byte, start int, unlessAll bool, match func(key []byte, escaped bool) bool) (end int, all bool, err error) {
	if start >= len(b) || b[start] != '{' {
		end, err = skipValue(b, start, 2)
		return end, false, err
	}
	first := len(l.members)
	defer func() { l.members = l.members[:first] }()
	var it objectIter
	it.begin(b, start)
	found, kept := false, false
	for {
		ok, err := it.next()
		m := &it.m
		if err != nil {
			return it.pos, false, err
		}
		if !ok {
			break
		}
		end, err := skipValue(b, m.valStart, 2)
		if err != nil {
			return end, false, err
		}
		it.valueEnd(end)
		matched := match(b[m.keyStart:m.keyEnd], m.keyEscaped)
		found, kept = found || matched, kept || !matched
		l.members = append(l.members, objMember{start: m.start, end: end, removed: matched})
	}
	all = found && !kept
	if !found || all && unlessAll {
		return it.pos, all, nil
	}
	ms := l.members[first:]
	for j := range ms {
		if ms[j].removed {
			l.removeMember(ms, j)
		}
	}
	return it.pos, all, nil
}

// requestAnnotationPrefix starts the keys of the only admission annotations
// kube-apiserver records at level Request: a mutating webhook's patch
// (patch.webhook.admission.k8s.io/round_{n}_index_{m}). An event logged at
// Metadata never has them, so lowering an event to Metadata drops them.
const requestAnnotationPrefix = "patch.webhook.admission.k8s.io/"

// truncatedAnnotation marks an event whose bodies the apiserver's truncate
// backend dropped to fit its size limit. That backend leaves Metadata events
// alone, and an event lowered to Metadata has no bodies left to drop, so the
// mark goes with the lowering too.
const truncatedAnnotation = "audit.k8s.io/truncated"

// removeRequestAnnotations removes from the annotations object at b[start:]
// the annotations an event logged at Metadata cannot have. It reports
// whether that removes them all, in which case nothing is edited: the caller
// removes the whole member, as the apiserver omits an empty annotations map.
func (l *editList) removeRequestAnnotations(b []byte, start int) (all bool, err error) {
	_, all, err = l.removeMembers(b, start, true, func(k []byte, escaped bool) bool {
		return keyHasPrefix(k, escaped, requestAnnotationPrefix) || keyEquals(k, escaped, truncatedAnnotation)
	})
	return all, err
}
