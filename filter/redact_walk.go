package filter

// This file walks a request or response body along a redaction's field
// tree and records an edit for each secret value it finds. Like the rest of
// the rewrite it works on offsets into the original event.

// redactWalk is the walk of one body.
type redactWalk struct {
	l    *editList
	st   *redactState
	r    *Redaction
	b    []byte
	body int // 0 requestObject, 1 responseObject
}

// walkBody redacts the body at b[start:]. A patch's body is the patch as
// sent: a JSON patch is an array of operations, a merge patch an object
// shaped like the resource.
func (w *redactWalk) walkBody(root *pathNode, start int, patch bool) error {
	if patch && start < len(w.b) && w.b[start] == '[' {
		_, err := w.l.forEachElement(w.b, start, func(b []byte, i int) (int, error) { return w.jsonPatchOp(root, i) })
		return err
	}
	_, err := w.value(root, start, true)
	return err
}

// value walks the value at b[i] under the non-leaf node n and returns its
// end. At the root, a list's items, a Table's rows[].object and a watch
// event's object are walked as objects of the resource.
func (w *redactWalk) value(n *pathNode, i int, root bool) (int, error) {
	b := w.b
	if i < len(b) && b[i] == '[' {
		return w.l.forEachElement(b, i, func(b []byte, e int) (int, error) { return w.value(n, e, root) })
	}
	if i >= len(b) || b[i] != '{' {
		return skipValue(b, i, 2)
	}
	l := w.l
	first := len(l.members)
	defer func() { l.members = l.members[:first] }()
	removing := false
	var it objectIter
	it.begin(b, i)
	for {
		ok, err := it.next()
		m := &it.m
		if err != nil {
			return it.pos, err
		}
		if !ok {
			break
		}
		var end int
		remove := false
		c := n.child(b[m.keyStart:m.keyEnd], m.keyEscaped)
		switch {
		case c != nil && c.leaf >= 0:
			end, err = skipValue(b, m.valStart, 2)
			if err == nil {
				remove = w.redact(c.leaf, m.valStart, end)
				removing = removing || remove
			}
		case c != nil:
			end, err = w.value(c, m.valStart, false)
		case root && it.keyIs(m, "items"), root && it.keyIs(m, "object"):
			end, err = w.value(n, m.valStart, true)
		case root && it.keyIs(m, "rows"):
			end, err = l.forEachElement(b, m.valStart, func(b []byte, e int) (int, error) {
				return l.inMember(b, e, "object", func(b []byte, o int) (int, error) { return w.value(n, o, true) })
			})
		default:
			end, err = skipValue(b, m.valStart, 2)
		}
		if err != nil {
			return end, err
		}
		it.valueEnd(end)
		l.members = append(l.members, objMember{start: m.start, end: end, removed: remove})
	}
	if removing {
		ms := l.members[first:]
		for j := range ms {
			if ms[j].removed {
				l.removeMember(ms, j)
			}
		}
	}
	return it.pos, nil
}

// jsonPatchOp redacts one operation of a JSON patch (RFC 6902): its value
// when its path is, or lies below, a redacted field, and the fields within
// its value when the path leads towards them. The path may come after the
// value, so the operation is read twice. "path" and "value" match whatever
// their case, as member names do (pathNode.child).
func (w *redactWalk) jsonPatchOp(root *pathNode, i int) (int, error) {
	b := w.b
	if i >= len(b) || b[i] != '{' {
		return skipValue(b, i, 2)
	}
	var path strSpan
	valStart := -1
	var it objectIter
	it.begin(b, i)
	for {
		ok, err := it.next()
		m := &it.m
		if err != nil || !ok {
			if err != nil {
				return it.pos, err
			}
			break
		}
		var end int
		switch {
		case keyEqualFold(b[m.keyStart:m.keyEnd], m.keyEscaped, "path") && b[m.valStart] == '"':
			end, err = scanStringField(b, m.valStart, &path, "path")
		case keyEqualFold(b[m.keyStart:m.keyEnd], m.keyEscaped, "value"):
			valStart = m.valStart
			end, err = skipValue(b, m.valStart, 2)
		default:
			end, err = skipValue(b, m.valStart, 2)
		}
		if err != nil {
			return end, err
		}
		it.valueEnd(end)
	}
	opEnd := it.pos
	if valStart < 0 || !path.present {
		return opEnd, nil
	}
	n := w.resolvePointer(root, path)
	switch {
	case n == nil:
	case n.leaf >= 0:
		end, err := skipValue(b, valStart, 2)
		if err != nil {
			return end, err
		}
		if w.redact(n.leaf, valStart, end) {
			if _, _, err := w.l.removeMembers(b, i, false, func(k []byte, esc bool) bool { return keyEqualFold(k, esc, "value") }); err != nil {
				return opEnd, err
			}
		}
	default:
		if _, err := w.value(n, valStart, n == root); err != nil {
			return opEnd, err
		}
	}
	return opEnd, nil
}

// resolvePointer follows a JSON pointer (RFC 6901) down the field tree: the
// node its value stands at, a leaf when the pointer reaches or passes a
// redacted field, or nil when it leads away from them all. A segment that
// names no member but could be an array index stays where it is, since
// arrays are looked through. A pointer without its leading '/' is read as
// if it had one: such a patch fails, but its value was still logged.
func (w *redactWalk) resolvePointer(root *pathNode, path strSpan) *pathNode {
	st := w.st
	st.tmp = appendUnescaped(st.tmp[:0], path.raw(w.b))
	p := st.tmp
	if len(p) > 0 && p[0] == '/' {
		p = p[1:]
	}
	n := root
	if len(p) == 0 && string(st.tmp) != "/" {
		return root // "" is the whole document
	}
	for {
		seg := p
		rest := []byte(nil)
		for j, c := range p {
			if c == '/' {
				seg, rest = p[:j], p[j+1:]
				break
			}
		}
		seg = unescapePointerSegment(seg)
		c := n.childNamed(seg)
		switch {
		case c != nil:
			n = c
		case !isArrayIndex(seg):
			return nil
		}
		if n.leaf >= 0 || rest == nil {
			return n
		}
		p = rest
	}
}

// unescapePointerSegment decodes "~1" to '/' and "~0" to '~' in place.
func unescapePointerSegment(seg []byte) []byte {
	out := seg[:0]
	for j := 0; j < len(seg); j++ {
		if seg[j] == '~' && j+1 < len(seg) && (seg[j+1] == '0' || seg[j+1] == '1') {
			out = append(out, "~/"[seg[j+1]-'0'])
			j++
			continue
		}
		out = append(out, seg[j])
	}
	return out
}

// isArrayIndex tells a JSON pointer segment that may index an array: digits,
// or "-" (past the end).
func isArrayIndex(seg []byte) bool {
	if string(seg) == "-" {
		return true
	}
	for _, c := range seg {
		if c < '0' || c > '9' {
			return false
		}
	}
	return len(seg) > 0
}
