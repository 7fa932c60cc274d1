package filter

import "bytes"

// This file rebuilds the request attributes the policy saw from a logged
// event, following k8s.io/apiserver's RequestInfoFactory.NewRequestInfo on
// the event's requestURI. objectRef is not used: the apiserver fills some of
// its fields in after the policy ran (the name of a create, for one).

// maxSegments is how many leading path segments the algorithm can look at:
// apis/{group}/{version}/watch/namespaces/{ns}/{resource}/{name}/{subresource}.
const maxSegments = 9

// pathParts are the "/"-separated segments of a decoded path with leading and
// trailing slashes trimmed, as the apiserver's splitPath returns them.
type pathParts struct {
	n   int // the total number of segments
	seg [maxSegments][]byte
}

func (p *pathParts) split(path []byte) {
	p.n = 0
	start, end := 0, len(path)
	for start < end && path[start] == '/' {
		start++
	}
	for end > start && path[end-1] == '/' {
		end--
	}
	if start == end {
		return
	}
	s := path[start:end]
	for {
		i := bytes.IndexByte(s, '/')
		if p.n < maxSegments {
			if i < 0 {
				p.seg[p.n] = s
			} else {
				p.seg[p.n] = s[:i]
			}
		}
		p.n++
		if i < 0 {
			return
		}
		s = s[i+1:]
	}
}

// errNoKind is NewRequestInfo's error for /api/v1/watch and the like. The
// apiserver rejects such requests before auditing them, so a log never holds one.
var errNoKind = &FieldError{Field: "requestURI", Offset: -1, Msg: "unable to determine kind and namespace from url"}

// resolveResource fills the resource attributes of a from the decoded path.
// getLike says whether the request's method was GET or HEAD, the only case in
// which a name can come from a fieldSelector; it returns whether to look there.
func resolveResource(a *Attributes, parts *pathParts, getLike bool) (nameFromQuery bool, err error) {
	seg := &parts.seg
	if parts.n < 3 {
		return false, nil
	}
	i := 0
	switch string(seg[0]) {
	case "api":
	case "apis":
		if parts.n < 4 {
			return false, nil
		}
		a.APIGroup = seg[1]
		i = 1
	default:
		return false, nil
	}
	i++
	a.ResourceRequest = true
	a.APIVersion = seg[i]
	i++

	viaPathPrefix, proxy := false, false
	switch string(seg[i]) {
	case "proxy", "watch":
		if parts.n-i < 2 {
			return false, errNoKind
		}
		viaPathPrefix, proxy = true, string(seg[i]) == "proxy"
		i++
	}

	if string(seg[i]) == "namespaces" {
		if parts.n-i > 1 {
			a.Namespace = seg[i+1]
			if parts.n-i > 2 && string(seg[i+2]) != "status" && string(seg[i+2]) != "finalize" {
				i += 2
			}
		}
	}

	// The remaining segments read resource/name/subresource/ignored...
	rest := parts.n - i
	if rest >= 3 && !proxy {
		a.Subresource = seg[i+2]
	}
	if rest >= 2 {
		a.Name = seg[i+1]
	}
	if rest >= 1 {
		a.Resource = seg[i]
	}
	return len(a.Name) == 0 && getLike && !viaPathPrefix, nil
}

// isGetLike tells whether the HTTP method behind verb was GET or HEAD. The
// method is rebuilt from the logged verb: get, list, watch and proxy come from
// GET (or HEAD); the other Kubernetes verbs from other methods; anything else
// is the lower-cased method itself, as logged for non-resource requests.
func isGetLike(verb []byte) bool {
	switch string(verb) {
	case "get", "list", "watch", "proxy":
		return true
	case "create", "update", "patch", "delete", "deletecollection":
		return false
	}
	return equalFoldASCII(verb, "get") || equalFoldASCII(verb, "head")
}

func equalFoldASCII(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range b {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}
