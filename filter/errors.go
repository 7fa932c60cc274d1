package filter

import (
	"errors"
	"strconv"
)

// FieldError says which field of an event is wrong and why.
type FieldError struct {
	Field  string // JSON path of the field, e.g. "requestURI" or "user.groups"
	Offset int    // byte offset of the value in the event, -1 if the field is missing
	Msg    string
}

func (e *FieldError) Error() string {
	if e.Offset < 0 {
		return e.Field + ": " + e.Msg
	}
	return e.Field + " (offset " + strconv.Itoa(e.Offset) + "): " + e.Msg
}

// ErrNotAuditEvent is wrapped by the errors for JSON that is not an audit
// event at all (another kind, another API group), as opposed to a broken one.
var ErrNotAuditEvent = errors.New("not an audit event")

type notAuditEventError struct{ FieldError }

func (e *notAuditEventError) Unwrap() error { return ErrNotAuditEvent }

func (e *notAuditEventError) Error() string { return "not an audit event: " + e.FieldError.Error() }
