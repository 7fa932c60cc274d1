package filter

import (
	"math/bits"
	"unicode/utf8"
)

// strSpan locates a JSON string value: raw content between the quotes.
type strSpan struct {
	start, end int
	escaped    bool
	present    bool
}

func (s strSpan) raw(b []byte) []byte { return b[s.start:s.end] }

// copySpan locates a top-level member that the rewrite edits: a body or
// the annotations, under its own key or any key that encoding/json reads as
// it (fold.go), once per member, since a consumer may read any of them.
type copySpan struct {
	field    eventField // fieldRequestObject, fieldResponseObject or fieldAnnotations
	member   int        // index of the member in the event
	valStart int
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

	// copies lists the bodies and annotations, in the event's order.
	copies []copySpan

	// seen has bit f set once the member of each unique field f is found.
	seen uint16

	// from and to bound the event object in the line, white space aside.
	from, to int

	// members holds the [start, end) of every top-level member: removing one
	// needs its neighbours to take the right comma with it.
	members []objMember
}

func (s *eventScan) reset() {
	groups, members, copies := s.groups[:0], s.members[:0], s.copies[:0]
	*s = eventScan{groups: groups, members: members, copies: copies}
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

// unique tells the fields the decision, the message key or the check that
// the line is an audit event reads: an event must hold each at most once,
// under its exact name, or a consumer could read another value than the
// one the policy decided on. The others are bodies and annotations, each
// copy of which the rewrite edits.
func (f eventField) unique() bool { return f != fieldOther && f < fieldRequestObject }

// fieldOf names a top-level key, and tells whether the key is the field's
// name exactly rather than a variant that encoding/json reads as it. Keys
// are almost never escaped, and a switch on the string compiles to a search
// over the constants rather than one comparison per field.
func fieldOf(it *objectIter, m *member) (f eventField, exact bool) {
	raw := it.b[m.keyStart:m.keyEnd]
	if m.keyEscaped {
		for f := fieldLevel; int(f) < len(eventFieldNames); f++ {
			if it.keyIs(m, eventFieldNames[f]) {
				return f, true
			}
		}
		return foldedField(raw, true), false
	}
	switch string(raw) {
	case "level":
		return fieldLevel, true
	case "stage":
		return fieldStage, true
	case "verb":
		return fieldVerb, true
	case "requestURI":
		return fieldRequestURI, true
	case "auditID":
		return fieldAuditID, true
	case "kind":
		return fieldKind, true
	case "apiVersion":
		return fieldAPIVersion, true
	case "user":
		return fieldUser, true
	case "requestObject":
		return fieldRequestObject, true
	case "responseObject":
		return fieldResponseObject, true
	case "annotations":
		return fieldAnnotations, true
	case "objectRef", "sourceIPs", "userAgent", "responseStatus", "requestReceivedTimestamp",
		"stageTimestamp", "impersonatedUser", "metadata", "timestamp":
		// The other members of audit.k8s.io v1 and v1beta1 events: no
		// spelling of a field the scanner reads, so not worth folding.
		return fieldOther, true
	}
	return foldedField(raw, false), false
}

// foldedField names the field a key that is no field's exact name is read
// as by encoding/json, or fieldOther. Most events have a dozen such keys
// (objectRef, sourceIPs, ...), so a key that starts with an ASCII letter is
// only matched against the fields whose names start with that letter.
func foldedField(raw []byte, escaped bool) eventField {
	if len(raw) == 0 {
		return fieldOther
	}
	candidates := uint16(1<<len(eventFieldNames)-1) &^ (1 << fieldOther)
	if c := raw[0]; c < utf8.RuneSelf && c != '\\' {
		candidates = fieldsByInitial[lowerASCII(c)]
	}
	plain := !escaped && isASCII(raw) // then only a key as long as a name can match it
	for ; candidates != 0; candidates &= candidates - 1 {
		f := eventField(bits.TrailingZeros16(candidates))
		if name := eventFieldNames[f]; (!plain || len(raw) == len(name)) && keyFolds(raw, escaped, name) {
			return f
		}
	}
	return fieldOther
}

// fieldsByInitial has bit f set, at the lower-case first letter of field
// f's name, for each field. It is never written after initialisation.
var fieldsByInitial = func() (t [utf8.RuneSelf]uint16) {
	for f := fieldLevel; int(f) < len(eventFieldNames); f++ {
		t[lowerASCII(eventFieldNames[f][0])] |= 1 << f
	}
	return t
}()

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
	f, exact := fieldOf(it, m)
	if f.unique() {
		if !exact || s.seen&(1<<f) != 0 {
			return m.start, ambiguous(exact, it, m, eventFieldNames[f], eventFieldNames[f])
		}
		s.seen |= 1 << f
	}
	var dst *strSpan
	switch f {
	case fieldOther:
		return skipValue(b, m.valStart, 1)
	case fieldUser:
		return s.scanUser(b, m.valStart)
	case fieldRequestObject, fieldResponseObject, fieldAnnotations:
		s.copies = append(s.copies, copySpan{field: f, member: len(s.members), valStart: m.valStart})
		return skipValue(b, m.valStart, 1)
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

// ambiguous is the error for member m of a field that an event holds at
// most once: seen before (exact), or under a key that is only a variant of
// name that encoding/json reads as it. path names the field.
func ambiguous(exact bool, it *objectIter, m *member, name, path string) error {
	key := it.b[m.keyStart:m.keyEnd]
	msg := "ambiguous member " + quote(key) + ": appears more than once"
	if !exact {
		msg = "ambiguous member " + quote(key) + ": differs from \"" + name + "\" only by case"
	}
	return &FieldError{Field: path, Offset: m.start, Msg: msg, Err: ErrAmbiguous}
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
	var seen uint16
	for {
		ok, err := it.next()
		m := &it.m
		if err != nil || !ok {
			return it.pos, err
		}
		f, exact := userFieldOf(&it, m)
		if f != userOther {
			if !exact || seen&(1<<f) != 0 {
				return m.start, ambiguous(exact, &it, m, userFieldNames[f], userFieldPaths[f])
			}
			seen |= 1 << f
		}
		var end int
		switch f {
		case userUsername:
			end, err = scanStringField(b, m.valStart, &s.username, "user.username")
			s.userSet = s.userSet || s.username.end > s.username.start
		case userGroups:
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

// The members of "user" that the decision reads: the username and groups,
// and the uid and extra, which tell an authenticated user from none.
type userField uint8

const (
	userUsername userField = iota
	userGroups
	userUID
	userExtra
	userOther
)

var (
	userFieldNames = [...]string{"username", "groups", "uid", "extra"}
	userFieldPaths = [...]string{"user.username", "user.groups", "user.uid", "user.extra"}
)

// userFieldOf names a member of "user" as fieldOf names a top-level one.
func userFieldOf(it *objectIter, m *member) (f userField, exact bool) {
	for f := range userFieldNames {
		if it.keyIs(m, userFieldNames[f]) {
			return userField(f), true
		}
	}
	raw := it.b[m.keyStart:m.keyEnd]
	for f := range userFieldNames {
		if keyFolds(raw, m.keyEscaped, userFieldNames[f]) {
			return userField(f), false
		}
	}
	return userOther, false
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
