//go:build harnessstats

package main

/*
#include <stddef.h>
*/
import "C"

import "runtime"

// FLBHarnessRuntimeStats reports the Go runtime's goroutines and heap in use
// after a full collection, and the running instances in the handle table, so
// that the harness can show that hot reloads do not grow them. Only the harness's test build has it (tag harnessstats):
// Fluent Bit never calls it, and the shipped .so does not export it.
//
//export FLBHarnessRuntimeStats
func FLBHarnessRuntimeStats(goroutines, heapInuse, instances *C.longlong) {
	// Two cycles: the first runs finalizers and clears sync.Pools into
	// their victim caches, the second frees what those held.
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	*goroutines = C.longlong(runtime.NumGoroutine())
	*heapInuse = C.longlong(ms.HeapInuse)
	*instances = C.longlong(handles.len())
}
