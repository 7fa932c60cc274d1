package filter

import (
	"slices"
	"sort"
)

// linearScanMax is the list length up to which a linear scan beats a binary
// search: policies list a handful of users or verbs per rule.
const linearScanMax = 8

// stringSet is an exact, case-sensitive set of strings, as the apiserver's
// hasString. It is looked up with byte-slice views and never allocates.
type stringSet struct {
	items  []string
	sorted bool
}

func newStringSet(list []string) stringSet {
	items := slices.Clone(list)
	if len(items) <= linearScanMax {
		return stringSet{items: items}
	}
	sort.Strings(items)
	return stringSet{items: slices.Compact(items), sorted: true}
}

// any reports whether the set is empty, which in a policy rule means "any value".
func (s *stringSet) any() bool { return len(s.items) == 0 }

func (s *stringSet) has(b []byte) bool { return s.indexOf(b) >= 0 }

// indexOf returns the position of b in s.items, or -1.
func (s *stringSet) indexOf(b []byte) int {
	if !s.sorted {
		for i, it := range s.items {
			if it == string(b) {
				return i
			}
		}
		return -1
	}
	lo, hi := 0, len(s.items)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if s.items[m] < string(b) {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo < len(s.items) && s.items[lo] == string(b) {
		return lo
	}
	return -1
}
