package filter

import (
	"bytes"
	"strconv"
)

// splitRequestURI does what url.ParseRequestURI does with the apiserver's
// logged req.URL.RequestURI(): it rejects control characters, cuts the query
// at the first '?', and percent-decodes the path. The path is a view of uri
// when it has no escapes, else decoded onto dst, which is returned grown.
func splitRequestURI(dst, uri []byte) (grown, path, rawQuery []byte, err error) {
	for i, c := range uri {
		if c < 0x20 || c == 0x7f {
			return dst, nil, nil, &FieldError{Field: "requestURI", Offset: -1, Msg: "invalid control character at byte " + strconv.Itoa(i)}
		}
	}
	if len(uri) == 0 {
		return dst, nil, nil, &FieldError{Field: "requestURI", Offset: -1, Msg: "empty"}
	}
	if string(uri) == "*" {
		return dst, uri, nil, nil
	}
	if uri[0] != '/' {
		return dst, nil, nil, &FieldError{Field: "requestURI", Offset: -1, Msg: "not an absolute path"}
	}
	path = uri
	if q := bytes.IndexByte(uri, '?'); q >= 0 {
		path, rawQuery = uri[:q], uri[q+1:]
	}
	if nextEscape(path, false) < 0 {
		return dst, path, rawQuery, nil
	}
	start := len(dst)
	dst, ok := appendPercentDecoded(dst, path, false)
	if !ok {
		return dst[:start], nil, nil, &FieldError{Field: "requestURI", Offset: -1, Msg: "invalid percent-encoding in path"}
	}
	return dst, dst[start:], rawQuery, nil
}

// appendPercentDecoded appends s with %XX escapes decoded (and, in a query
// component, '+' as a space) to dst; ok is false on a malformed escape, as
// url.PathUnescape and url.QueryUnescape fail.
func appendPercentDecoded(dst, s []byte, query bool) ([]byte, bool) {
	for len(s) > 0 {
		// Most paths and selectors have no escapes: copy each plain run whole.
		i := nextEscape(s, query)
		if i < 0 {
			return append(dst, s...), true
		}
		dst = append(dst, s[:i]...)
		if s[i] == '+' {
			dst = append(dst, ' ')
			s = s[i+1:]
			continue
		}
		if i+2 >= len(s) || hexVal(s[i+1]) < 0 || hexVal(s[i+2]) < 0 {
			return dst, false
		}
		dst = append(dst, byte(hexVal(s[i+1])<<4|hexVal(s[i+2])))
		s = s[i+3:]
	}
	return dst, true
}

// nextEscape returns the index of the first '%' of s (or '+', in a query
// component), or -1.
func nextEscape(s []byte, query bool) int {
	if !query {
		return bytes.IndexByte(s, '%')
	}
	return bytes.IndexAny(s, "%+")
}

// queryComponentEquals reports whether the query component raw, decoded,
// equals name. It does not allocate; malformed escapes never compare equal.
func queryComponentEquals(raw []byte, name string) bool {
	k := 0
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch c {
		case '%':
			if i+2 >= len(raw) || hexVal(raw[i+1]) < 0 || hexVal(raw[i+2]) < 0 {
				return false
			}
			c = byte(hexVal(raw[i+1])<<4 | hexVal(raw[i+2]))
			i += 2
		case '+':
			c = ' '
		}
		if k >= len(name) || name[k] != c {
			return false
		}
		k++
	}
	return k == len(name)
}

func validPercentEncoding(s []byte) bool {
	for {
		i := bytes.IndexByte(s, '%')
		if i < 0 {
			return true
		}
		if i+2 >= len(s) || hexVal(s[i+1]) < 0 || hexVal(s[i+2]) < 0 {
			return false
		}
		s = s[i+3:]
	}
}
