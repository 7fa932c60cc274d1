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
	// Err is the kind of problem, for errors.Is: ErrTooDeep, ErrAmbiguous,
	// or nil.
	Err error
}

func (e *FieldError) Unwrap() error { return e.Err }

func (e *FieldError) Error() string {
	if e.Offset < 0 {
		return e.Field + ": " + e.Msg
	}
	return e.Field + " (offset " + strconv.Itoa(e.Offset) + "): " + e.Msg
}

// ErrTooDeep is wrapped by the error for an event nested deeper than
// kube-apiserver can log one: a member's value more than 10000 levels deep.
var ErrTooDeep = errors.New("nesting too deep")

// ErrAmbiguous is wrapped by the error for an event with a member that
// decoders read differently: a member the policy decision depends on that
// appears twice, or under a key that differs from its name only by case
// (encoding/json matches keys case-insensitively, Python's json does not).
var ErrAmbiguous = errors.New("ambiguous member")

// ErrNotAuditEvent is wrapped by the errors for JSON that is not an audit
// event at all (another kind, another API group), as opposed to a broken one.
var ErrNotAuditEvent = errors.New("not an audit event")

type notAuditEventError struct{ FieldError }

func (e *notAuditEventError) Unwrap() error { return ErrNotAuditEvent }

func (e *notAuditEventError) Error() string { return "not an audit event: " + e.FieldError.Error() }

// tooDeep names the member whose value nests too deep in err, the error of
// scanning its value, when that is the reason; other errors are returned as
// they are. key is the member's raw key.
func tooDeep(err error, key []byte) error {
	var se *SyntaxError
	if !errors.As(err, &se) || se.Msg != msgTooDeep {
		return err
	}
	return &FieldError{Field: string(key), Offset: se.Offset,
		Msg: "nesting deeper than " + strconv.Itoa(maxBodyDepth) + " levels", Err: ErrTooDeep}
}
