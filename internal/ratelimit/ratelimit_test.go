package ratelimit

import (
	"testing"
	"time"
)

func TestAllow(t *testing.T) {
	l := New[string](time.Minute)
	now := time.Unix(1_800_000_000, 0)
	if n, ok := l.Allow("a", 1, now); !ok || n != 1 {
		t.Fatalf("first occurrence: %d, %t; want 1, true", n, ok)
	}
	for range 5 {
		if _, ok := l.Allow("a", 2, now.Add(30*time.Second)); ok {
			t.Fatal("logged again within the interval")
		}
	}
	if _, ok := l.Allow("b", 1, now); !ok {
		t.Error("another key is held back")
	}
	if n, ok := l.Allow("a", 1, now.Add(time.Minute)); !ok || n != 11 {
		t.Errorf("after the interval: %d, %t; want 11 (10 held back and this one), true", n, ok)
	}
}

func TestDrain(t *testing.T) {
	l := New[int](time.Minute)
	now := time.Unix(1_800_000_000, 0)
	l.Allow(1, 1, now) // logged
	l.Allow(1, 3, now) // held back
	l.Allow(2, 1, now) // logged
	got := map[int]uint64{}
	l.Drain(func(k int, n uint64) { got[k] = n })
	if len(got) != 1 || got[1] != 3 {
		t.Fatalf("drained %v; want only key 1 with 3", got)
	}
	l.Drain(func(k int, n uint64) { t.Errorf("drained %d again (%d)", k, n) })
	// Drained occurrences are not reported twice by the next line.
	if n, ok := l.Allow(1, 1, now.Add(time.Minute)); !ok || n != 1 {
		t.Errorf("next line: %d, %t; want 1, true", n, ok)
	}
}

func TestKeysAreBounded(t *testing.T) {
	l := New[int](time.Minute)
	now := time.Unix(1_800_000_000, 0)
	for k := range 10 * maxKeys {
		l.Allow(k, 1, now.Add(time.Duration(k)*time.Minute))
	}
	if len(l.keys) > maxKeys {
		t.Errorf("%d keys kept; want at most %d", len(l.keys), maxKeys)
	}
	// A key with occurrences held back is never forgotten.
	l.Allow(-1, 1, now.Add(time.Duration(10*maxKeys)*time.Minute))
	l.Allow(-1, 1, now.Add(time.Duration(10*maxKeys)*time.Minute))
	for k := range 2 * maxKeys {
		l.Allow(1_000_000+k, 1, now.Add(time.Duration(10*maxKeys+k)*time.Minute))
	}
	got := uint64(0)
	l.Drain(func(k int, n uint64) {
		if k == -1 {
			got = n
		}
	})
	if got != 1 {
		t.Errorf("the held-back occurrence of key -1 was lost: drained %d", got)
	}
}

func TestAllowAllocatesNothingForKnownKeys(t *testing.T) {
	l := New[uint8](time.Minute)
	now := time.Unix(1_800_000_000, 0)
	l.Allow(3, 1, now)
	if a := testing.AllocsPerRun(100, func() { l.Allow(3, 1, now) }); a != 0 {
		t.Errorf("%v allocations per occurrence of a known key; want 0", a)
	}
}
