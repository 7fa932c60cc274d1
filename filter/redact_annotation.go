package filter

import "strconv"

// RedactedAnnotation is the event annotation that lists what redaction
// replaced or removed, for example
// "mask requestObject:secrets:data.*=2 responseObject:secrets:data.*=2":
// the mode, then for each body and field how many values.
const RedactedAnnotation = "auditstream.io/redacted"

// appendRedactedValue appends the annotation's value, quoted.
func appendRedactedValue(dst []byte, r *Redaction, st *redactState) []byte {
	dst = append(dst, '"')
	dst = append(dst, r.mode.String()...)
	for body, counts := range st.perBody {
		for leaf, n := range counts {
			if n == 0 {
				continue
			}
			dst = append(dst, ' ')
			dst = append(dst, bodyNames[body]...)
			dst = append(dst, ':')
			// Labels hold no quotes or control characters (parseRedactField
			// refuses them), only the backslashes of "\.".
			for _, c := range []byte(r.labels[leaf]) {
				if c == '\\' {
					dst = append(dst, '\\')
				}
				dst = append(dst, c)
			}
			dst = append(dst, '=')
			dst = strconv.AppendInt(dst, int64(n), 10)
		}
	}
	return append(dst, '"')
}

var bodyNames = [...]string{"requestObject", "responseObject"}

// addRedactedAnnotation sets the annotation on the event: it replaces one
// already there (an event redacted before), else it goes first in the
// annotations, which are created when the event has none. An event with
// several annotations members (see copySpan) gets it in each.
func (pr *Processor) addRedactedAnnotation(line []byte) error {
	s := &pr.scan
	st := &pr.redactSt
	found := false
	for _, c := range s.copies {
		if c.field != fieldAnnotations {
			continue
		}
		found = true
		if err := pr.setRedactedAnnotation(line, c.valStart); err != nil {
			return err
		}
	}
	if !found {
		n := len(st.out)
		st.out = append(st.out, `,"annotations":{"`+RedactedAnnotation+`":`...)
		st.out = appendRedactedValue(st.out, pr.policy.redact, st)
		st.out = append(st.out, '}')
		pr.edits.addBytes(s.to-1, s.to-1, st.out[n:])
	}
	return nil
}

// setRedactedAnnotation sets the annotation in the annotations member whose
// value starts at start: an object, or null.
func (pr *Processor) setRedactedAnnotation(line []byte, start int) error {
	st := &pr.redactSt
	l := &pr.edits
	n := len(st.out)
	if line[start] != '{' { // null
		end, err := skipValue(line, start, 1)
		if err != nil {
			return err
		}
		st.out = append(st.out, `{"`+RedactedAnnotation+`":`...)
		st.out = appendRedactedValue(st.out, pr.policy.redact, st)
		st.out = append(st.out, '}')
		l.addBytes(start, end, st.out[n:])
		return nil
	}
	var it objectIter
	it.begin(line, start)
	for {
		ok, err := it.next()
		m := &it.m
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		end, err := skipValue(line, m.valStart, 2)
		if err != nil {
			return err
		}
		if it.keyIs(m, RedactedAnnotation) {
			st.out = appendRedactedValue(st.out, pr.policy.redact, st)
			l.addBytes(m.valStart, end, st.out[n:])
			return nil
		}
		it.valueEnd(end)
	}
	st.out = append(st.out, `"`+RedactedAnnotation+`":`...)
	st.out = appendRedactedValue(st.out, pr.policy.redact, st)
	if it.count >= 0 { // count is the index of the last member
		st.out = append(st.out, ',')
	}
	l.addBytes(start+1, start+1, st.out[n:])
	return nil
}
