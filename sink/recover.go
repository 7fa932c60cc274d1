package sink

import (
	"fmt"
	"runtime/debug"
)

// panicError is a panic inside the sink, turned into the error of the call it
// happened in: a panic in a goroutine nobody recovers takes the whole process
// down, Fluent Bit with it. It is not retryable (classFatal): it is a bug,
// and retrying the same batch would likely hit it again; the plugin still
// keeps the chunk and logs the error.
type panicError struct {
	where string
	value any
}

func (e *panicError) Error() string {
	return fmt.Sprintf("sink: internal error: panic in %s: %v (a bug; the stack is in the log)", e.where, e.value)
}

// recovered logs a recovered panic with its stack, and returns it as an
// error. Call it from the deferred function that recovered r.
func (s *Sink) recovered(where string, r any) error {
	s.log(LogError, fmt.Sprintf("panic in %s: %v\n%s", where, r, debug.Stack()))
	return &panicError{where: where, value: r}
}

// hooks let tests inject failures where the sink runs code of its own in a
// goroutine; all nil outside tests.
type hooks struct {
	beforeWrite func()
	beforeCheck func()
	beforeClose func()
}

func call(hook func()) {
	if hook != nil {
		hook()
	}
}
