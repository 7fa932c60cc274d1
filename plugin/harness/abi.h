/*
 * The structs Fluent Bit's Go proxy shares with a Go output plugin, written
 * out for the harness. They mirror (they are not copied from) Fluent Bit's
 *
 *   include/fluent-bit/flb_plugin_proxy.h  struct flb_plugin_proxy_def,
 *                                          struct flb_plugin_proxy_context
 *   src/proxy/go/go.h                      struct flbgo_output_plugin
 *   include/fluent-bit/flb_api.h           struct flb_api
 *
 * as read at tags v4.2.2 (no event_type, malloc), v4.2.3 and v5.0.0
 * (event_type, calloc) and v5.1.1 (event_type + config_map, calloc). Only
 * the layout matters: a field's offset and width is what the plugin sees,
 * names are ours. "pre5" below means every release before event_type came:
 * up to 4.2.2 (it was added in 5.0.0 and backported to 4.2.3).
 */
#ifndef FLBHARNESS_ABI_H
#define FLBHARNESS_ABI_H

#include <stddef.h>

/* Return codes of flush and init (flb_output.h, fluent-bit-go flb_plugin.h). */
#define H_FLB_ERROR 0
#define H_FLB_OK    1
#define H_FLB_RETRY 2

#define H_PROXY_OUTPUT_PLUGIN 2
#define H_PROXY_GOLANG        11

/*
 * struct flb_plugin_proxy_def up to Fluent Bit 4.2.2: 32 bytes on LP64,
 * allocated with flb_malloc(sizeof) in flb_plugin_proxy_create, so a plugin
 * writing a sixth field writes past the allocation.
 */
struct h_def_pre5 {
    int type;
    int proxy;
    int flags;
    char *name;
    char *description;
};

/* Fluent Bit 4.2.3 to 5.1.0: event_type appended; flb_calloc. 40 bytes. */
struct h_def_v5 {
    int type;
    int proxy;
    int flags;
    char *name;
    char *description;
    int event_type;
};

/* Fluent Bit 5.1.1: config_map appended; flb_calloc. 48 bytes. */
struct h_def_v511 {
    int type;
    int proxy;
    int flags;
    char *name;
    char *description;
    int event_type;
    void *config_map;
};

/*
 * struct flb_api: a table of function pointers, of which a Go output plugin
 * built on fluent-bit-go calls only the first. The others are filled with
 * stubs that abort, so a plugin that starts using one is noticed.
 */
struct h_api {
    const char *(*output_get_property)(const char *key, void *o_ins);
    const char *(*input_get_property)(const char *key, void *i_ins);
    void *(*output_get_cmt_instance)(void *o_ins);
    void *(*input_get_cmt_instance)(void *i_ins);
    void (*log_print)(int, const char *, int, const char *, ...);
    int (*input_log_check)(void *i_ins, int);
    int (*output_log_check)(void *o_ins, int);
    const char *(*custom_get_property)(const char *key, void *c_ins);
    int (*custom_log_check)(void *c_ins, int);
};

/*
 * struct flb_plugin_proxy_context: one per [OUTPUT] instance. The plugin's
 * FLBPluginInit stores its handle in remote_context during init, and
 * the proxy passes remote_context back to FLBPluginFlushCtx and ExitCtx.
 */
struct h_proxy_context {
    void *remote_context;
    void *proxy; /* struct flb_plugin_proxy *: never read by the plugin */
};

/*
 * struct flbgo_output_plugin: ONE per loaded .so, not per instance. The proxy
 * overwrites api/o_ins/context before each instance's FLBPluginInit, so a
 * plugin must not keep this pointer past Init.
 */
struct h_go_output_plugin {
    char *name;
    struct h_api *api;
    void *o_ins;
    struct h_proxy_context *context;

    int (*cb_init)(struct h_go_output_plugin *);
    int (*cb_flush)(const void *data, size_t size, const char *tag);
    int (*cb_flush_ctx)(void *remote_ctx, const void *data, size_t size, char *tag);
    int (*cb_exit)(void);
    int (*cb_exit_ctx)(void *remote_ctx);
};

#endif
