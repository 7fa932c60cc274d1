/*
 * badregister is a negative control for the harness's register guard: a
 * plugin that fills the register struct the way current fluent-bit-go
 * master does, with event_type, which on Fluent Bit < 5.0 lies past the end
 * of the 32-byte allocation. Under "register pre5guard" it must crash.
 */
struct def_v5 {
    int type;
    int proxy;
    int flags;
    char *name;
    char *description;
    int event_type;
};

int FLBPluginRegister(void *p)
{
    struct def_v5 *d = p;
    d->type = 2;
    d->proxy = 11;
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
