package secretgen

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"strings"
)

// traces are the forms a marker m takes in an event as Generate writes it:
// as it is, with its first letter escaped, and base64-encoded as a data
// value holds it.
func traces(m string) []string {
	return []string{m, `\u004d` + m[1:], base64.StdEncoding.EncodeToString([]byte(m)),
		base64.StdEncoding.EncodeToString([]byte("s:" + m)), base64.RawStdEncoding.EncodeToString([]byte(m))}
}

// FindMarker looks for any of markers in out, in any form: as it is, JSON
// escaped, base64-encoded, or within any key or string of out (when it is
// JSON) decoded as JSON, base64 or both, a few levels deep. It returns a
// description of the first trace found, or "".
func FindMarker(out []byte, markers []string) string {
	for _, m := range markers {
		for _, form := range traces(m) {
			if bytes.Contains(out, []byte(form)) {
				return "marker " + m + " as " + form
			}
		}
	}
	var v any
	if json.Unmarshal(out, &v) != nil {
		return ""
	}
	return findIn(v, markers, 0)
}

func findIn(v any, markers []string, depth int) string {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if f := findIn(k, markers, depth); f != "" {
				return f
			}
			if f := findIn(e, markers, depth); f != "" {
				return f
			}
		}
	case []any:
		for _, e := range x {
			if f := findIn(e, markers, depth); f != "" {
				return f
			}
		}
	case string:
		for _, m := range markers {
			if strings.Contains(x, m) {
				return "marker " + m + " in the decoded string " + x
			}
		}
		if depth > 3 {
			return ""
		}
		if d, err := base64.StdEncoding.DecodeString(x); err == nil {
			if f := findIn(string(d), markers, depth+1); f != "" {
				return f
			}
		}
		var inner any
		if json.Unmarshal([]byte(x), &inner) == nil {
			return findIn(inner, markers, depth+1)
		}
	}
	return ""
}
