// Package freelist keeps reusable buffers between flushes.
//
// A sync.Pool is emptied by every garbage collection, and each flush after
// one then allocates, clears and faults in a chunk's worth of fresh memory
// (a few percent of the plugin's CPU inside Fluent Bit). A List keeps up to
// a fixed number of values until they are taken, whatever the collector
// does; values beyond that go to the collector.
package freelist

// List is a bounded free list, safe for concurrent use. The zero value
// keeps nothing; make one with New.
type List[T any] struct{ c chan T }

// New returns a list that keeps up to n values.
func New[T any](n int) List[T] { return List[T]{c: make(chan T, n)} }

// Get takes a kept value, if there is one.
func (l List[T]) Get() (v T, ok bool) {
	select {
	case v = <-l.c:
		return v, true
	default:
		return v, false
	}
}

// Put keeps v, unless the list is full.
func (l List[T]) Put(v T) {
	select {
	case l.c <- v:
	default:
	}
}
