package filter

// Result is the outcome of processing one event.
type Result struct {
	// Kept is false when the policy drops the event: level None, or its stage omitted.
	Kept bool
	// Decision is the policy's decision for the event's request.
	Decision Decision
	// Stage is the event's stage as logged.
	Stage Stage
	// LoggedLevel is the level the event was logged at; Level is the level it
	// is rewritten to: the lower of LoggedLevel and Decision.Level, since
	// bodies that were never logged cannot come back.
	LoggedLevel Level
	Level       Level
}

// Fields are views of the last event a Processor handled, for message keys
// and headers. They are valid until the Processor's next call.
type Fields struct {
	AuditID []byte
	// Attrs holds the verb and username too.
	Attrs Attributes
}

// Processor decides and rewrites events with one Policy. It owns the scratch
// memory of one event at a time, so it is not safe for concurrent use: give
// each goroutine its own. Reused, it allocates nothing in steady state.
type Processor struct {
	policy *Policy
	scan   eventScan
	parts  pathParts
	edits  editList
	fields Fields
	// scratch holds decoded strings (JSON-unescaped fields, the decoded path,
	// a selector's name). It is sized before use so that appends never move
	// it: views into it stay valid until the next call.
	scratch []byte
	groups  [][]byte
	// redactSt is redaction's scratch (redact.go).
	redactSt redactState
	// labels caches label selector verdicts (selectorcache.go).
	labels selectorCache
}

// NewProcessor returns a Processor that applies p.
func (p *Policy) NewProcessor() *Processor { return &Processor{policy: p} }

// AppendEvent decides the audit event in line (one JSON object, surrounding
// white space allowed) and, when the policy keeps it, appends the rewritten
// event to dst without a trailing newline. It returns the extended dst, or
// dst unchanged when the event is dropped or on error. Every byte of the
// event that the rewrite does not touch is copied as it was. line is neither
// modified nor retained.
func (pr *Processor) AppendEvent(dst, line []byte) ([]byte, Result, error) {
	out, view, res, err := pr.AppendEventOrView(dst, line)
	return append(out, view...), res, err
}

// AppendEventOrView is AppendEvent without the copy when the policy keeps an
// event exactly as it was logged: view is then the event within line (white
// space around it excluded), a view that is valid as long as line is, and
// dst is returned as it was. Otherwise view is nil and the rewritten event
// is appended to dst, as AppendEvent does.
func (pr *Processor) AppendEventOrView(dst, line []byte) (out, view []byte, res Result, err error) {
	res, err = pr.decide(line)
	if err != nil || !res.Kept {
		return dst, nil, res, err
	}
	if err := pr.planRewrite(line, res); err != nil {
		return dst, nil, res, err
	}
	if len(pr.edits.edits) == 0 {
		return dst, line[pr.scan.from:pr.scan.to:pr.scan.to], res, nil
	}
	return pr.edits.apply(dst, line, pr.scan.from, pr.scan.to), nil, res, nil
}

// Decide decides the audit event in line without rewriting it.
func (pr *Processor) Decide(line []byte) (Result, error) { return pr.decide(line) }

// Fields returns views of the last event handled; see Fields.
func (pr *Processor) Fields() *Fields { return &pr.fields }

func (pr *Processor) decide(line []byte) (Result, error) {
	s := &pr.scan
	pr.fields = Fields{}
	pr.redactSt.total = 0
	if err := s.scan(line); err != nil {
		return Result{}, err
	}
	if err := s.checkAuditEvent(line); err != nil {
		return Result{}, err
	}
	var res Result
	var ok bool
	if res.LoggedLevel, ok = parseLevel(s.level.raw(line)); !ok {
		return Result{}, &FieldError{Field: "level", Offset: s.level.start - 1, Msg: "unknown level " + quote(s.level.raw(line))}
	}
	if res.Stage, ok = parseStage(s.stage.raw(line)); !ok {
		return Result{}, &FieldError{Field: "stage", Offset: s.stage.start - 1, Msg: "unknown stage " + quote(s.stage.raw(line))}
	}
	if err := pr.rebuildAttributes(line); err != nil {
		return Result{}, err
	}
	res.Decision = pr.policy.Decide(&pr.fields.Attrs)
	res.Level = min(res.LoggedLevel, res.Decision.Level)
	res.Kept = res.Decision.Level != LevelNone && !res.Decision.Omits(res.Stage)
	return res, nil
}

// rebuildAttributes decodes the fields the policy reads into scratch and
// derives the request attributes from them.
func (pr *Processor) rebuildAttributes(line []byte) error {
	s := &pr.scan
	// JSON-unescaping never lengthens a string. The URI then takes its
	// length again, and so do the decoded path and a field selector; a
	// selector's value may take three times it (fields.UnescapeValue turns
	// each invalid UTF-8 byte into a three-byte U+FFFD).
	need := s.verb.end - s.verb.start + s.username.end - s.username.start +
		s.auditID.end - s.auditID.start + 6*(s.requestURI.end-s.requestURI.start)
	for _, g := range s.groups {
		need += g.end - g.start
	}
	if cap(pr.scratch) < need {
		pr.scratch = make([]byte, 0, need+need/2)
	}
	sc := pr.scratch[:0]
	var uri []byte
	f := &pr.fields
	var verb, username []byte
	sc, verb = decodeInto(sc, line, s.verb)
	sc, username = decodeInto(sc, line, s.username)
	sc, f.AuditID = decodeInto(sc, line, s.auditID)
	sc, uri = decodeInto(sc, line, s.requestURI)
	pr.groups = pr.groups[:0]
	for _, g := range s.groups {
		var v []byte
		sc, v = decodeInto(sc, line, g)
		pr.groups = append(pr.groups, v)
	}

	a := &f.Attrs
	*a = Attributes{HasUser: s.userSet, Username: username, Groups: pr.groups, Verb: verb}
	var rawQuery []byte
	var err error
	if sc, a.Path, rawQuery, err = splitRequestURI(sc, uri); err != nil {
		return err
	}
	pr.parts.split(a.Path)
	lookInQuery, err := resolveResource(a, &pr.parts, isGetLike(verb))
	if err != nil {
		return err
	}
	if lookInQuery {
		if name, ok := nameFromQuery(sc, rawQuery, &pr.labels); ok {
			a.Name = name
		}
	}
	return nil
}

// decodeInto returns the decoded value of a string field: a view of line
// when it has no escapes, else its unescaped copy appended to sc.
func decodeInto(sc, line []byte, s strSpan) ([]byte, []byte) {
	if !s.escaped {
		return sc, s.raw(line)
	}
	start := len(sc)
	sc = appendUnescaped(sc, s.raw(line))
	return sc, sc[start:]
}

// checkAuditEvent tells JSON that is not an audit event from a broken event.
func (s *eventScan) checkAuditEvent(line []byte) error {
	if s.kind.present && string(s.kind.raw(line)) != "Event" {
		return &notAuditEventError{FieldError{Field: "kind", Offset: s.kind.start - 1, Msg: "expected \"Event\", got " + quote(s.kind.raw(line))}}
	}
	if s.apiVersion.present {
		switch string(s.apiVersion.raw(line)) {
		case "audit.k8s.io/v1", "audit.k8s.io/v1beta1":
		default:
			return &notAuditEventError{FieldError{Field: "apiVersion", Offset: s.apiVersion.start - 1, Msg: "expected audit.k8s.io/v1 or v1beta1, got " + quote(s.apiVersion.raw(line))}}
		}
	}
	for _, f := range [...]struct {
		name string
		span *strSpan
	}{{"level", &s.level}, {"stage", &s.stage}, {"requestURI", &s.requestURI}, {"verb", &s.verb}} {
		if !f.span.present {
			if !s.kind.present && !s.level.present && !s.stage.present {
				return &notAuditEventError{FieldError{Field: f.name, Offset: -1, Msg: "missing"}}
			}
			return &FieldError{Field: f.name, Offset: -1, Msg: "missing"}
		}
	}
	return nil
}

// planRewrite lists in pr.edits what rewriting the event to res.Level
// changes; none when the event is kept as it was logged.
func (pr *Processor) planRewrite(line []byte, res Result) error {
	s := &pr.scan
	l := &pr.edits
	l.reset()
	if res.Level != res.LoggedLevel {
		// The logged level's value, quotes included: it parsed, so it has no escapes.
		l.add(s.level.start-1, s.level.end+1, levelJSON[res.Level])
	}
	// Every copy of a body or of the annotations is edited alike: a
	// consumer may read any one of them (see copySpan).
	for _, c := range s.copies {
		switch {
		case c.field == fieldRequestObject && res.Level < LevelRequest,
			c.field == fieldResponseObject && res.Level < LevelRequestResponse:
			s.members[c.member].removed = true
		case c.field == fieldAnnotations && res.Level < LevelRequest && res.LoggedLevel >= LevelRequest:
			all, err := l.removeRequestAnnotations(line, c.valStart)
			if err != nil {
				return err
			}
			s.members[c.member].removed = all
		}
	}
	for i := range s.members {
		if s.members[i].removed {
			l.removeMember(s.members, i)
		}
	}
	if res.Decision.OmitManagedFields {
		for _, c := range s.copies {
			// A patch body is the patch as sent, not an object: the
			// apiserver leaves it alone, and so must we.
			strip := c.field == fieldRequestObject && res.Level >= LevelRequest && string(pr.fields.Attrs.Verb) != "patch" ||
				c.field == fieldResponseObject && res.Level >= LevelRequestResponse
			if !strip {
				continue
			}
			if err := l.stripManagedFields(line, c.valStart); err != nil {
				return err
			}
		}
	}
	return pr.planRedaction(line, res)
}

var levelJSON = [...]string{`"None"`, `"Metadata"`, `"Request"`, `"RequestResponse"`}

// quote renders a bounded excerpt of bad input for an error message.
func quote(b []byte) string {
	const maxExcerpt = 64
	if len(b) > maxExcerpt {
		return `"` + string(b[:maxExcerpt]) + `..."`
	}
	return `"` + string(b) + `"`
}
