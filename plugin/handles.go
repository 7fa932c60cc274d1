package main

/*
#include <stdlib.h>

// The head of Fluent Bit's struct flbgo_output_plugin (src/proxy/go/go.h)
// and struct flb_plugin_proxy_context (include/fluent-bit/flb_plugin_proxy.h)
// up to the field the plugin writes: the proxy passes remote_context back,
// untouched, to FLBPluginFlushCtx and FLBPluginExitCtx.
struct auditstream_proxy_context {
	void *remote_context;
};
struct auditstream_go_output_plugin {
	char *name;
	void *api;
	void *o_ins;
	struct auditstream_proxy_context *context;
};
*/
import "C"

import (
	"sync"
	"unsafe"
)

// handles maps the opaque context each running instance gave Fluent Bit to
// the instance. It replaces fluent-bit-go's FLBPluginSetContext, whose map
// has no delete: under hot reload (same process, same Go runtime, a new
// instance per reload) every closed instance, with its policy, producer and
// buffers, would stay reachable for ever. The exit path removes an
// instance's entry, so the table holds exactly the running instances; it is
// the plugin's only package-level state.
var handles = handleTable{m: map[uintptr]*instance{}}

type handleTable struct {
	mu sync.RWMutex
	m  map[uintptr]*instance
}

// register stores in for the proxy plugin struct plugin (Fluent Bit's
// flbgo_output_plugin, during FLBPluginInit) and writes its handle into the
// instance's proxy context. The handle is one byte of C memory: an address
// that no other live instance has, that Go's garbage collector never looks
// at, and that the cgo pointer rules let C keep.
func (h *handleTable) register(plugin unsafe.Pointer, in *instance) {
	token := C.malloc(1)
	h.mu.Lock()
	h.m[uintptr(token)] = in
	h.mu.Unlock()
	(*C.struct_auditstream_go_output_plugin)(plugin).context.remote_context = token
}

// lookup returns the instance behind a handle, or nil.
func (h *handleTable) lookup(ctx unsafe.Pointer) *instance {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.m[uintptr(ctx)]
}

// release forgets a handle and frees it. Fluent Bit passes no context to
// the plugin after its exit hook, so the address may be reused at once.
func (h *handleTable) release(ctx unsafe.Pointer) {
	h.mu.Lock()
	_, ok := h.m[uintptr(ctx)]
	delete(h.m, uintptr(ctx))
	h.mu.Unlock()
	if ok {
		C.free(ctx)
	}
}

// len is the number of running instances.
func (h *handleTable) len() int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return len(h.m)
}
