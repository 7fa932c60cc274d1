package chunk

import "github.com/tinylib/msgp/msgp"

// extView is a msgp.Extension that keeps a view of the ext payload instead of
// copying it, so that msgp.ReadExtensionBytes can read ext values without
// allocating. Its type must be set to the expected ext type before the read.
type extView struct {
	typ  int8
	data []byte
}

func (e *extView) ExtensionType() int8               { return e.typ }
func (e *extView) Len() int                          { return len(e.data) }
func (e *extView) MarshalBinaryTo(b []byte) error    { copy(b, e.data); return nil }
func (e *extView) UnmarshalBinary(data []byte) error { e.data = data; return nil }

// isExt reports whether the value at the start of b is an ext value. msgp
// reports some ext types (time, complex) as pseudo-types of their own.
func isExt(t msgp.Type) bool {
	switch t {
	case msgp.ExtensionType, msgp.TimeType, msgp.Complex64Type, msgp.Complex128Type:
		return true
	}
	return false
}

// peekExtType returns the type byte of the ext value at the start of b. The
// type sits after the lead byte and the length field, whose width depends
// on the lead byte; msgp does not export this.
func peekExtType(b []byte) (int8, bool) {
	var at int
	switch {
	case len(b) == 0:
		return 0, false
	case b[0] >= 0xd4 && b[0] <= 0xd8: // fixext 1, 2, 4, 8, 16
		at = 1
	case b[0] == 0xc7: // ext8
		at = 2
	case b[0] == 0xc8: // ext16
		at = 3
	case b[0] == 0xc9: // ext32
		at = 5
	default:
		return 0, false
	}
	if len(b) <= at {
		return 0, false
	}
	return int8(b[at]), true
}

// readExt reads the ext value at the start of b into v, whatever its type:
// v.typ and v.data are set, v.data being a view into b.
func readExt(b []byte, v *extView) (rest []byte, err error) {
	typ, ok := peekExtType(b)
	if !ok {
		return b, wrongType(b, "ext")
	}
	v.typ = typ
	rest, err = msgp.ReadExtensionBytes(b, v)
	if err != nil {
		return b, cause(err, b, "ext")
	}
	return rest, nil
}
