package reference

import "reflect"

// JSONEqual reports whether a and b hold the same JSON value: objects compare
// as unordered sets of members (for a duplicated key the last one counts),
// strings by their decoded value (so "\u0026" equals "&"), and numbers by
// their literal text (1.0 does not equal 1). The strict number rule suits
// its purpose: both implementations it compares are meant to copy numbers
// through unchanged. Invalid JSON is equal to nothing.
func JSONEqual(a, b []byte) bool {
	va, err := decodeGeneric(a)
	if err != nil {
		return false
	}
	vb, err := decodeGeneric(b)
	if err != nil {
		return false
	}
	return reflect.DeepEqual(va, vb)
}
