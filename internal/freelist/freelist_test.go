package freelist

import "testing"

// A list gives back what it kept, in any order, keeps no more than its
// bound, and says when it has nothing.
func TestList(t *testing.T) {
	l := New[int](2)
	if _, ok := l.Get(); ok {
		t.Fatal("an empty list gave a value")
	}
	l.Put(1)
	l.Put(2)
	l.Put(3) // beyond the bound: dropped
	got := 0
	for {
		v, ok := l.Get()
		if !ok {
			break
		}
		got += v
	}
	if got != 3 {
		t.Fatalf("the list gave back values summing to %d; want 1+2", got)
	}
}
