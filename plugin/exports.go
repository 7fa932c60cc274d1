package main

/*
#include <stddef.h>
*/
import "C"

import (
	"os"
	"unsafe"

	"github.com/fluent/fluent-bit-go/output"

	"github.com/auditstream/auditstream/internal/pipeline"
)

const (
	pluginName        = "auditstream"
	pluginDescription = "Kubernetes audit events to Kafka, filtered by an audit.k8s.io/v1 Policy"
)

// FLBPluginRegister fills Fluent Bit's registration struct. The pinned
// fluent-bit-go writes only type, proxy, flags, name and description, the
// five fields every Fluent Bit version has (up to 4.2.2 the struct is just
// those, 32 bytes of malloc): event_type (4.2.3, 5.0.0) and config_map
// (5.1.1) stay as Fluent Bit's calloc left them, 0 = logs and none.
//
//export FLBPluginRegister
func FLBPluginRegister(def unsafe.Pointer) (rc int) {
	defer recoverExport("FLBPluginRegister", nil, &rc, -1)
	return output.FLBPluginRegister(def, pluginName, pluginDescription)
}

// FLBPluginInit starts one [OUTPUT] instance. plugin is the proxy's struct,
// shared by every instance and rewritten before each Init, so nothing keeps
// it: the keys are read now, and the instance's handle is written into the
// proxy context it points to (handles.go).
//
//export FLBPluginInit
func FLBPluginInit(plugin unsafe.Pointer) (rc int) {
	defer recoverExport("FLBPluginInit", nil, &rc, flbError)
	get := func(key string) string { return output.FLBPluginConfigKey(plugin, key) }
	in, err := newInstance(get, os.Stderr, buildPipeline)
	if err != nil {
		return flbError
	}
	handles.register(plugin, in)
	in.log.Infof("started")
	return flbOK
}

// FLBPluginFlushCtx delivers one chunk. data and tag belong to Fluent Bit and
// are freed when this returns: the chunk is read in place, and the pipeline
// copies what the producer needs before it sees it. With workers N, N threads
// call this at once for the same instance. length is size_t, as the proxy
// declares it (fluent-bit-go's examples say int).
//
//export FLBPluginFlushCtx
func FLBPluginFlushCtx(ctx, data unsafe.Pointer, length C.size_t, tag *C.char) (rc int) {
	// A panic keeps the chunk (FLB_RETRY): its good events may not have
	// been delivered yet.
	defer recoverExport("FLBPluginFlushCtx", nil, &rc, flbRetry)
	in := lookup(ctx)
	if in == nil {
		return flbError
	}
	if data == nil || length == 0 {
		return flbOK
	}
	return in.safeFlush(unsafe.Slice((*byte)(data), int(length)))
}

// FLBPluginExitCtx closes one instance: it waits for its running flushes,
// then flushes and closes its producer, within Fluent Bit's grace period.
// Fluent Bit calls it instead of FLBPluginExit, once per instance, at
// shutdown and for every instance of the old configuration at a hot reload.
// The handle is released whatever happens, so that a closed instance is not
// kept alive by the process that goes on running.
//
//export FLBPluginExitCtx
func FLBPluginExitCtx(ctx unsafe.Pointer) (rc int) {
	var in *instance
	defer recoverExport("FLBPluginExitCtx", &in, &rc, flbError)
	defer handles.release(ctx)
	if in = lookup(ctx); in == nil {
		return flbOK // an instance whose init failed has nothing to close
	}
	return in.exit()
}

// FLBPluginExit is the legacy exit hook, which Fluent Bit calls only when
// FLBPluginExitCtx is missing. Every instance closes in its ExitCtx, and
// there is nothing global to release.
//
//export FLBPluginExit
func FLBPluginExit() int { return flbOK }

// FLBPluginUnregister frees the name and description FLBPluginRegister
// allocated, when Fluent Bit tears the plugin down.
//
//export FLBPluginUnregister
func FLBPluginUnregister(def unsafe.Pointer) {
	var rc int
	defer recoverExport("FLBPluginUnregister", nil, &rc, 0)
	output.FLBPluginUnregister(def)
}

// lookup returns the instance behind a proxy context, or nil (logged).
func lookup(ctx unsafe.Pointer) *instance {
	in := handles.lookup(ctx)
	if in == nil {
		pipeline.NewLogger(os.Stderr, pipeline.LevelError, "output:auditstream").
			Errorf("called with a context that no successful FLBPluginInit returned")
		return nil
	}
	return in
}
