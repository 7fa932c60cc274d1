package filter

// strSpan locates a JSON string value: raw content between the quotes.
type strSpan struct {
	start, end int
	escaped    bool
	present    bool
}

func (s strSpan) raw(b []byte) []byte { return b[s.start:s.end] }

// valueSpan locates a whole member of an object and its value.
type valueSpan struct {
	member           int // index of the member in its object
	valStart, valEnd int
	present          bool
}

// eventScan is what one pass over an event's top-level object finds.
// Everything is an offset into the event line.
type eventScan struct {
	kind, apiVersion strSpan
	level            strSpan
	auditID, stage   strSpan
	requestURI, verb strSpan

	userSet  bool // "user" has a username, uid, groups or extra
	username strSpan
	groups   []strSpan

	requestObject, responseObject valueSpan
	annotations                   valueSpan

	// from and to bound the event object in the line, white space aside.
	from, to int

	// members holds the [start, end) of every top-level member: removing one
	// needs its neighbours to take the right comma with it.
	members []objMember
}

func (s *eventScan) reset() {
	groups, members := s.groups[:0], s.members[:0]
	*s = eventScan{groups: groups, members: members}
}

// scanEvent finds the fields of the event in line, validating the whole line
// as JSON. It allocates only to grow s's reusable slices.
func (s *eventScan) scan(line []byte) error {
	s.reset()
	var it objectIter
	start := skipSpace(line, 0)
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
		end, err := s.scanMember(&it, m)
		if err != nil {
			return err
		}
		it.valueEnd(end)
		s.members = append(s.members, objMember{start: m.start, end: end})
	}
	if rest := skipSpace(line, it.pos); rest != len(line) {
		return syntaxErr(rest, "data after the event object")
	}
	s.from, s.to = start, it.pos
	return nil
}

// The top-level fields the scanner reads.
type eventField uint8

const (
	fieldOther eventField = iota
	fieldLevel
	fieldStage
	fieldVerb
	fieldRequestURI
	fieldAuditID
	fieldKind
	fieldAPIVersion
	fieldUser
	fieldRequestObject
	fieldResponseObject
	fieldAnnotations
)

var eventFieldNames = [...]string{"", "level", "stage", "verb", "requestURI", "auditID", "kind", "apiVersion", "user", "requestObject", "responseObject", "annotations"}

// fieldOf names a top-level key. Keys are almost never escaped, and a
// switch on the string compiles to a search over the constants rather than
// one comparison per field.
func fieldOf(it *objectIter, m *member) eventField {
	if m.keyEscaped {
		for f := fieldLevel; int(f) < len(eventFieldNames); f++ {
			if it.keyIs(m, eventFieldNames[f]) {
				return f
			}
		}
		return fieldOther
	}
	switch string(it.b[m.keyStart:m.keyEnd]) {
	case "level":
		return fieldLevel
	case "stage":
		return fieldStage
	case "verb":
		return fieldVerb
	case "requestURI":
		return fieldRequestURI
	case "auditID":
		return fieldAuditID
	case "kind":
		return fieldKind
	case "apiVersion":
		return fieldAPIVersion
	case "user":
		return fieldUser
	case "requestObject":
		return fieldRequestObject
	case "responseObject":
		return fieldResponseObject
	case "annotations":
		return fieldAnnotations
	}
	return fieldOther
}

// scanMember scans one top-level member's value and returns its end offset.
func (s *eventScan) scanMember(it *objectIter, m *member) (int, error) {
	end, err := s.scanMemberValue(it, m)
	if err != nil {
		err = tooDeep(err, it.b[m.keyStart:m.keyEnd])
	}
	return end, err
}

func (s *eventScan) scanMemberValue(it *objectIter, m *member) (int, error) {
	b := it.b
	f := fieldOf(it, m)
	var dst *strSpan
	switch f {
	case fieldOther:
		return skipValue(b, m.valStart, 1)
	case fieldUser:
		return s.scanUser(b, m.valStart)
	case fieldRequestObject:
		return scanObjectValue(b, m.valStart, len(s.members), &s.requestObject)
	case fieldResponseObject:
		return scanObjectValue(b, m.valStart, len(s.members), &s.responseObject)
	case fieldAnnotations:
		return scanObjectValue(b, m.valStart, len(s.members), &s.annotations)
	case fieldLevel:
		dst = &s.level
	case fieldStage:
		dst = &s.stage
	case fieldVerb:
		dst = &s.verb
	case fieldRequestURI:
		dst = &s.requestURI
	case fieldAuditID:
		dst = &s.auditID
	case fieldKind:
		dst = &s.kind
	case fieldAPIVersion:
		dst = &s.apiVersion
	}
	return scanStringField(b, m.valStart, dst, eventFieldNames[f])
}

func scanObjectValue(b []byte, i, member int, dst *valueSpan) (int, error) {
	end, err := skipValue(b, i, 1)
	*dst = valueSpan{member: member, valStart: i, valEnd: end, present: true}
	return end, err
}

// scanStringField scans a string value, or null (as absent); any other type
// is an error naming the field.
func scanStringField(b []byte, i int, dst *strSpan, field string) (int, error) {
	if i < len(b) && b[i] == 'n' {
		return scanLiteral(b, i, "null")
	}
	if i >= len(b) || b[i] != '"' {
		return i, &FieldError{Field: field, Offset: i, Msg: "expected a string"}
	}
	end, escaped, err := scanString(b, i)
	*dst = strSpan{start: i + 1, end: end - 1, escaped: escaped, present: true}
	return end, err
}

// scanUser reads the authenticated user. It is "set" when anything in it is:
// the apiserver logs "user":{} for a request without an authenticated user,
// and a rule with users or userGroups never matches such a request.
func (s *eventScan) scanUser(b []byte, i int) (int, error) {
	if i < len(b) && b[i] == 'n' {
		return scanLiteral(b, i, "null")
	}
	if i >= len(b) || b[i] != '{' {
		return i, &FieldError{Field: "user", Offset: i, Msg: "expected an object"}
	}
	var it objectIter
	it.begin(b, i)
	for {
		ok, err := it.next()
		m := &it.m
		if err != nil || !ok {
			return it.pos, err
		}
		var end int
		switch {
		case it.keyIs(m, "username"):
			end, err = scanStringField(b, m.valStart, &s.username, "user.username")
			s.userSet = s.userSet || s.username.end > s.username.start
		case it.keyIs(m, "groups"):
			end, err = s.scanGroups(b, m.valStart)
		default: // uid, extra and anything newer: only whether they are empty matters
			end, err = skipValue(b, m.valStart, 2)
			s.userSet = s.userSet || !isEmptyValue(b[m.valStart:end])
		}
		if err != nil {
			return end, err
		}
		it.valueEnd(end)
	}
}

func (s *eventScan) scanGroups(b []byte, i int) (int, error) {
	if i < len(b) && b[i] == 'n' {
		return scanLiteral(b, i, "null")
	}
	var it arrayIter
	it.begin(b, i)
	for {
		start, ok, err := it.next()
		if err != nil || !ok {
			return it.pos, err
		}
		var g strSpan
		end, err := scanStringField(b, start, &g, "user.groups")
		if err != nil {
			return end, err
		}
		if g.present {
			s.groups = append(s.groups, g)
			s.userSet = true
		}
		it.pos = end
	}
}

// isEmptyValue reports whether a valid JSON value is "", null, {} or [] (with
// any inner white space), which omitempty would not have written.
func isEmptyValue(v []byte) bool {
	if len(v) == 0 || string(v) == `""` || string(v) == "null" {
		return true
	}
	if v[0] != '{' && v[0] != '[' {
		return false
	}
	return skipSpace(v, 1) == len(v)-1
}
