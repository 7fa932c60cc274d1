package filter

import (
	"bytes"
	"unicode/utf8"

	"k8s.io/apimachinery/pkg/labels"
)

// This file finds the name a list or watch names through its query, e.g.
// ?fieldSelector=metadata.name%3Dfoo, as NewRequestInfo does: the query is
// decoded into ListOptions, and if that succeeds and the field selector
// requires metadata.name to equal a valid path segment, that is the name.

// listOptionsQuery holds the first value of each query parameter whose
// decoding can fail, as url.Values keeps them (raw, still percent-encoded).
type listOptionsQuery struct {
	fieldSelector, labelSelector, limit, timeoutSeconds []byte
	hasFieldSelector, hasLabel, hasLimit, hasTimeout    bool
}

// parse walks the pairs of a raw query as url.ParseQuery does: pairs with a
// semicolon or a malformed escape in key or value are skipped.
func (q *listOptionsQuery) parse(raw []byte) {
	*q = listOptionsQuery{}
	for len(raw) > 0 {
		pair := raw
		if i := bytes.IndexByte(raw, '&'); i >= 0 {
			pair, raw = raw[:i], raw[i+1:]
		} else {
			raw = nil
		}
		if len(pair) == 0 || bytes.IndexByte(pair, ';') >= 0 {
			continue
		}
		key, value := pair, []byte(nil)
		if i := bytes.IndexByte(pair, '='); i >= 0 {
			key, value = pair[:i], pair[i+1:]
		}
		if !validPercentEncoding(key) || !validPercentEncoding(value) {
			continue
		}
		switch {
		case !q.hasFieldSelector && queryComponentEquals(key, "fieldSelector"):
			q.fieldSelector, q.hasFieldSelector = value, true
		case !q.hasLabel && queryComponentEquals(key, "labelSelector"):
			q.labelSelector, q.hasLabel = value, true
		case !q.hasLimit && queryComponentEquals(key, "limit"):
			q.limit, q.hasLimit = value, true
		case !q.hasTimeout && queryComponentEquals(key, "timeoutSeconds"):
			q.timeoutSeconds, q.hasTimeout = value, true
		}
	}
}

// nameFromQuery returns the name the query's field selector pins, if any: a
// view of the query, or, when the selector has escapes, decoded into
// scratch's spare capacity. ok is false when there is none or the query
// would not decode into ListOptions (a bad limit, say), which leaves the
// name empty. labels answers whether a label selector parses.
func nameFromQuery(scratch, rawQuery []byte, labels *selectorCache) (name []byte, ok bool) {
	if !mayHaveFieldSelector(rawQuery) {
		return nil, false
	}
	var q listOptionsQuery
	q.parse(rawQuery)
	if !q.hasFieldSelector {
		return nil, false
	}
	if q.hasLimit && !validInt64(scratch, q.limit) || q.hasTimeout && !validInt64(scratch, q.timeoutSeconds) {
		return nil, false
	}
	selector := q.fieldSelector
	if nextEscape(selector, true) >= 0 {
		start := len(scratch)
		scratch, _ = appendPercentDecoded(scratch, selector, true)
		selector = scratch[start:]
	}
	name, ok = exactNameMatch(scratch, selector)
	if !ok || len(name) == 0 || !isPathSegmentName(name) {
		return nil, false
	}
	if q.hasLabel && !labels.valid(q.labelSelector) {
		return nil, false
	}
	return name, true
}

// validLabelSelector tells whether the raw query value parses as a label
// selector, as decoding ListOptions parses it. It is checked only for the
// rare list that both names an object through its field selector and
// selects labels, so it uses apimachinery's parser, which allocates.
func validLabelSelector(raw []byte) bool {
	s, _ := appendPercentDecoded(nil, raw, true)
	_, err := labels.Parse(string(s))
	return err == nil
}

// mayHaveFieldSelector is false when no key of the raw query can decode to
// "fieldSelector": the word is not there as it is, and nothing is
// percent-encoded. Most lists and watches are then settled without parsing
// their query.
func mayHaveFieldSelector(rawQuery []byte) bool {
	return bytes.IndexByte(rawQuery, '%') >= 0 || bytes.Contains(rawQuery, []byte("fieldSelector"))
}

// validInt64 tells whether the decoded query value raw parses with
// strconv.ParseInt(s, 10, 64). scratch only lends spare capacity for decoding.
func validInt64(scratch, raw []byte) bool {
	s, _ := appendPercentDecoded(scratch[len(scratch):], raw, true)
	if len(s) > 0 && (s[0] == '+' || s[0] == '-') {
		neg := s[0] == '-'
		s = s[1:]
		return validDigits(s, neg)
	}
	return validDigits(s, false)
}

func validDigits(s []byte, neg bool) bool {
	if len(s) == 0 {
		return false
	}
	const maxInt64 = 1<<63 - 1
	var n uint64
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
		n = n*10 + uint64(c-'0')
		if n > maxInt64+1 {
			return false
		}
	}
	return n <= maxInt64 || neg && n == maxInt64+1
}

// exactNameMatch parses a field selector as fields.ParseSelector does and
// returns the value of its metadata.name= (or ==) requirement. The apiserver
// sorts the terms first, so with several such terms the one that sorts first
// wins. ok is false if the selector does not parse or pins no name. The name
// is a view of selector, or, when it has escapes, its unescaped value
// appended to scratch.
func exactNameMatch(scratch, selector []byte) (name []byte, ok bool) {
	var best []byte // the raw term that sorts first among the matches
	var bestRHS []byte
	for rest := selector; ; {
		term, more := nextTerm(rest)
		if len(term) > 0 {
			lhs, op, rhs, found := splitTerm(term)
			if !found || !validSelectorValue(rhs) {
				return nil, false
			}
			if op != "!=" && string(lhs) == "metadata.name" && (best == nil || string(term) < string(best)) {
				best, bestRHS = term, rhs
			}
		}
		if more == nil {
			break
		}
		rest = more
	}
	if best == nil {
		return nil, false
	}
	if bytes.IndexByte(bestRHS, '\\') < 0 {
		return bestRHS, true // nothing to unescape: a view will do
	}
	start := len(scratch)
	scratch = appendSelectorValue(scratch, bestRHS)
	return scratch[start:], true
}

// nextTerm cuts the selector at the first comma not escaped by a backslash;
// more is nil after the last term.
func nextTerm(s []byte) (term, more []byte) {
	inSlash := false
	for i, c := range s {
		switch {
		case inSlash:
			inSlash = false
		case c == '\\':
			inSlash = true
		case c == ',':
			return s[:i], s[i+1:]
		}
	}
	return s, nil
}

// splitTerm finds the first operator as the apiserver does, trying "!=",
// "==" and "=" at each byte: the first '=' is an operator, with the '=' after
// it, and a '!' is one only when an '=' follows.
func splitTerm(term []byte) (lhs []byte, op string, rhs []byte, ok bool) {
	for i := 0; i < len(term); i++ {
		switch term[i] {
		case '!':
			if i+1 < len(term) && term[i+1] == '=' {
				return term[:i], "!=", term[i+2:], true
			}
		case '=':
			if i+1 < len(term) && term[i+1] == '=' {
				return term[:i], "==", term[i+2:], true
			}
			return term[:i], "=", term[i+1:], true
		}
	}
	return nil, "", nil, false
}

// validSelectorValue mirrors fields.UnescapeValue's errors: only \\, \, and \=
// are escapes, and bare ',' or '=' are not allowed.
func validSelectorValue(v []byte) bool {
	inSlash := false
	for _, c := range v {
		switch {
		case inSlash:
			if c != '\\' && c != ',' && c != '=' {
				return false
			}
			inSlash = false
		case c == '\\':
			inSlash = true
		case c == ',' || c == '=':
			return false
		}
	}
	return !inSlash
}

// appendSelectorValue appends the unescaped value of a selector value that
// has escapes. Like fields.UnescapeValue it re-encodes such a value rune by
// rune, so invalid UTF-8 in it becomes U+FFFD; exactNameMatch keeps a value
// without escapes byte for byte, as that function does.
func appendSelectorValue(dst, v []byte) []byte {
	for i := 0; i < len(v); {
		r, size := utf8.DecodeRune(v[i:])
		if r == '\\' {
			i += size
			r, size = utf8.DecodeRune(v[i:])
		}
		dst = utf8.AppendRune(dst, r)
		i += size
	}
	return dst
}

// isPathSegmentName mirrors content.IsPathSegmentName: not "." or "..", and
// no "/" or "%".
func isPathSegmentName(name []byte) bool {
	return string(name) != "." && string(name) != ".." && !bytes.ContainsAny(name, "/%")
}
