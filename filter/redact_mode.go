package filter

import "encoding/hex"

// redact records that the value b[start:end] of field leaf is redacted, and
// replaces it by the mode's marker (a null stays). It reports whether the member that holds
// the value must go instead (RedactRemove), which only its caller can do.
func (w *redactWalk) redact(leaf, start, end int) (remove bool) {
	if w.b[start] == 'n' {
		// null holds nothing, and in a merge patch it deletes the key:
		// what it says is worth keeping.
		return false
	}
	st := w.st
	st.counts[leaf]++
	st.perBody[w.body][leaf]++
	st.total++
	switch w.r.mode {
	case RedactRemove:
		return true
	case RedactHash:
		n := len(st.out)
		st.out = w.appendHashMarker(st.out, w.b[start:end])
		w.l.addBytes(start, end, st.out[n:])
	default:
		w.l.add(start, end, `"`+RedactMarker+`"`)
	}
	return false
}

// appendHashMarker appends "hmac-sha256:<hex>" (quoted) for the value v: of
// a string its decoded content, so that equal strings written with
// different escapes give equal markers; of any other value its JSON text.
func (w *redactWalk) appendHashMarker(dst, v []byte) []byte {
	st := w.st
	msg := v
	if len(v) >= 2 && v[0] == '"' {
		st.tmp = appendUnescaped(st.tmp[:0], v[1:len(v)-1])
		msg = st.tmp
	}
	st.mac.Reset()
	st.mac.Write(msg)
	st.sum = st.mac.Sum(st.sum[:0])
	dst = append(dst, `"`+hashMarkerPrefix...)
	dst = hex.AppendEncode(dst, st.sum)
	return append(dst, '"')
}
