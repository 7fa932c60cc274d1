package main

import (
	"os"
	"runtime/debug"

	"github.com/auditstream/auditstream/internal/pipeline"
)

// recoverExport, deferred first thing in every export, turns a panic into
// the return code code and logs it with its stack: a Go panic that crossed
// into C would abort Fluent Bit and every other pipeline it runs. in points
// at the export's instance variable, nil until known, so the lines carry the
// instance's name when there is one.
func recoverExport(export string, in **instance, rc *int, code int) {
	r := recover()
	if r == nil {
		return
	}
	var log *pipeline.Logger
	if in != nil && *in != nil {
		log = (*in).log
	}
	if log == nil || !log.Enabled(pipeline.LevelError) {
		log = pipeline.NewLogger(os.Stderr, pipeline.LevelError, "output:auditstream")
	}
	log.Errorf("%s: panic (a bug; please report it with the stack below): %v", export, r)
	log.Lines(pipeline.LevelError, string(debug.Stack()))
	*rc = code
}

// safeFlush is flush for FLBPluginFlushCtx: a panic that escapes the
// pipeline's own recovery (which dead-letters an event whose filtering
// panics, and retries a flush that panics elsewhere) is logged with the
// instance's name and keeps the chunk for a retry (FLB_RETRY), since its
// good events may not have been delivered; FLB_ERROR would drop them.
func (in *instance) safeFlush(data []byte) (rc int) {
	defer recoverExport("FLBPluginFlushCtx", &in, &rc, flbRetry)
	return in.flush(data)
}
