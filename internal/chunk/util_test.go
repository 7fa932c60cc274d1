package chunk

import (
	"testing"
	"unsafe"
)

// within reports whether view lies inside data's memory (an empty view
// always does).
func within(data, view []byte) bool {
	if len(view) == 0 {
		return true
	}
	if len(data) == 0 {
		return false
	}
	lo := uintptr(unsafe.Pointer(unsafe.SliceData(data)))
	hi := lo + uintptr(len(data))
	v := uintptr(unsafe.Pointer(unsafe.SliceData(view)))
	return v >= lo && v+uintptr(len(view)) <= hi
}

func mustWithin(t *testing.T, data, view []byte) {
	t.Helper()
	if !within(data, view) {
		t.Errorf("view of %d bytes is not inside the input", len(view))
	}
}
