/*
 * badregister is a negative control for the harness's register guard: a
 * plugin that fills the register struct the way current fluent-bit-go
 * master does, with event_type, which on Fluent Bit < 5.0 lies past the end
 * of the 32-byte allocation. Under "register pre5guard" it must crash.
 */
#include "abi.h"

int FLBPluginRegister(void *p)
{
    struct h_def_v5 *d = p;
    d->type = H_PROXY_OUTPUT_PLUGIN;
    d->proxy = H_PROXY_GOLANG;
    d->flags = 0;
    d->name = "bad";
    d->description = "writes event_type";
    d->event_type = 0;
    return 0;
}

int FLBPluginInit(void *plugin)
{
    (void) plugin;
    return 0;
}
