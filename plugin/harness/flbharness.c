/*
 * flbharness loads a Go output plugin (.so) and drives it the way Fluent
 * Bit's Go proxy does (src/flb_plugin_proxy.c and src/proxy/go/go.c):
 *
 *   dlopen(RTLD_LAZY) -> FLBPluginRegister(def) -> per [OUTPUT] instance:
 *   FLBPluginInit(plugin) -> FLBPluginFlushCtx(remote_context, data, size, tag)
 *   from one or more threads -> FLBPluginExitCtx(remote_context) ->
 *   FLBPluginUnregister(def).
 *
 * A hot reload (SIGHUP with hot_reload on) runs this again in the same
 * process, interleaved: the new context's FLBPluginPreRegister(1) and
 * FLBPluginRegister with its own def, while the old instances still flush;
 * then the old FLBPluginOutputPreExit(1), ExitCtx and Unregister; only then
 * the new FLBPluginInit. Each register is a generation with its own def and
 * flbgo_output_plugin; an instance belongs to the generation that was newest
 * at its init, and unregister tears down the oldest generation still alive.
 *
 * It reads commands from stdin, one per line, and prints one result line per
 * command on stdout; the plugin's own logs go to stderr. Chunks are built
 * here, in C, from JSON-lines files, in each record format Fluent Bit has
 * used. Every chunk and tag handed to a flush is a fresh heap copy that is
 * overwritten with 0xA5 and freed as soon as the flush returns, so a plugin
 * that keeps a reference past the return ships garbage, which a test sees.
 *
 * Commands (chunk commands in chunks.c):
 *   load SO | register pre5|pre5guard|v5|v511|v511canary | init LABEL [key=value]... |
 *   chunk NAME v2|v1|v1int|v1float fix|wide raw|rawextra|parsed|parsedbin FILE COUNT [markers] |
 *   dump NAME FILE | hex NAME [HEX] | random NAME SEED LEN | truncate NAME SRC DROPBYTES | concat NAME A B |
 *   flush LABEL CHUNK [threads=T] [times=K] | exit LABEL [reload] | exitlegacy | unregister |
 *   sleep MS | stats LABEL
 *
 * "register ABI reload" and "exit LABEL reload" pass hot_reloading = 1 to the
 * optional FLBPluginPreRegister and FLBPluginOutputPreExit. "stats" prints
 * the process's open descriptors, threads and RSS, and, when the plugin
 * exports FLBHarnessRuntimeStats (only a build with the harnessstats tag
 * does), its Go runtime's goroutines and heap in use after a GC and its
 * running instances.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "abi.h"
#include "harness.h"

_Static_assert(sizeof(struct h_def_pre5) == 32, "proxy def up to 4.2.2 is 32 bytes on LP64");
_Static_assert(sizeof(struct h_def_v5) == 40, "proxy def of 4.2.3 to 5.1.0 is 40 bytes on LP64");
_Static_assert(sizeof(struct h_def_v511) == 48, "5.1.1 proxy def is 48 bytes on LP64");
_Static_assert(offsetof(struct h_go_output_plugin, context) == 24, "flbgo_output_plugin.context");

#define MAX_INST 16
#define MAX_PROPS 64
#define MAX_GEN 4

struct prop {
    char *key;
    char *val;
};

/*
 * gen is one registration of the .so: what flb_plugin_proxy_create and
 * proxy_go_output_register make per Fluent Bit context (one at start, one
 * more per hot reload).
 */
struct gen {
    void *def;     /* what FLBPluginRegister filled */
    int def_abi;   /* 0 pre5, 1 v5, 2 v511 */
    void *guard_map;
    struct h_go_output_plugin *plugin;
    long seq;      /* registration order: unregister takes the lowest */
    int live;
};

/* inst plays struct flb_output_instance: the o_ins the plugin hands back to api. */
struct inst {
    char label[64];
    struct prop props[MAX_PROPS];
    int nprops;
    struct h_proxy_context *ctx;
    struct gen *gen;
    int live;
};

static struct {
    void *so;
    int (*reg)(void *def);
    int (*init)(struct h_go_output_plugin *);
    int (*flush)(const void *, size_t, const char *);
    int (*flush_ctx)(void *, const void *, size_t, char *);
    int (*exit)(void);
    int (*exit_ctx)(void *);
    void (*unreg)(void *def);
    int (*pre_register)(int hot_reloading);
    void (*pre_exit)(int shutdown_by_hot_reloading);
    void (*runtime_stats)(long long *goroutines, long long *heap_inuse, long long *instances);

    struct gen gens[MAX_GEN];
    struct gen *cur; /* the newest generation: init uses it */
    long seq;
    struct h_api api;

    struct inst insts[MAX_INST];
} H;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

void out(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
}

/* ---- the flb_api table -------------------------------------------------- */

/* Case-insensitive like flb_config_prop_get; an unset key is NULL, as in Fluent Bit. */
static const char *api_output_get_property(const char *key, void *o_ins)
{
    struct inst *in = o_ins;
    for (int i = 0; i < in->nprops; i++) {
        if (strcasecmp(in->props[i].key, key) == 0) {
            return in->props[i].val;
        }
    }
    return NULL;
}

static void api_unexpected(void)
{
    fprintf(stderr, "flbharness: plugin called an flb_api function it was not expected to\n");
    abort();
}

static void api_init(void)
{
    H.api.output_get_property = api_output_get_property;
    H.api.input_get_property = (void *) api_unexpected;
    H.api.output_get_cmt_instance = (void *) api_unexpected;
    H.api.input_get_cmt_instance = (void *) api_unexpected;
    H.api.log_print = (void *) api_unexpected;
    H.api.input_log_check = (void *) api_unexpected;
    H.api.output_log_check = (void *) api_unexpected;
    H.api.custom_get_property = (void *) api_unexpected;
    H.api.custom_log_check = (void *) api_unexpected;
}

/* ---- lookups ------------------------------------------------------------ */

static struct inst *find_inst(const char *label, int create)
{
    for (int i = 0; i < MAX_INST; i++) {
        if (H.insts[i].label[0] && strcmp(H.insts[i].label, label) == 0) {
            return &H.insts[i];
        }
    }
    if (!create) {
        return NULL;
    }
    for (int i = 0; i < MAX_INST; i++) {
        if (!H.insts[i].label[0]) {
            snprintf(H.insts[i].label, sizeof(H.insts[i].label), "%s", label);
            return &H.insts[i];
        }
    }
    return NULL;
}

/* ---- lifecycle ---------------------------------------------------------- */

static int cmd_load(const char *path)
{
    H.so = dlopen(path, RTLD_LAZY);
    if (!H.so) {
        out("load error=%s", dlerror());
        return -1;
    }
    H.reg = dlsym(H.so, "FLBPluginRegister");
    H.init = dlsym(H.so, "FLBPluginInit");
    H.flush = dlsym(H.so, "FLBPluginFlush");
    H.flush_ctx = dlsym(H.so, "FLBPluginFlushCtx");
    H.exit = dlsym(H.so, "FLBPluginExit");
    H.exit_ctx = dlsym(H.so, "FLBPluginExitCtx");
    H.unreg = dlsym(H.so, "FLBPluginUnregister");
    H.pre_register = dlsym(H.so, "FLBPluginPreRegister");
    H.pre_exit = dlsym(H.so, "FLBPluginOutputPreExit");
    H.runtime_stats = dlsym(H.so, "FLBHarnessRuntimeStats");
    out("load ok register=%d init=%d flush=%d flush_ctx=%d exit=%d exit_ctx=%d unregister=%d",
        H.reg != NULL, H.init != NULL, H.flush != NULL, H.flush_ctx != NULL,
        H.exit != NULL, H.exit_ctx != NULL, H.unreg != NULL);
    return 0;
}

/*
 * alloc_def allocates g's register struct as the given Fluent Bit does. With
 * "pre5guard" the 32 bytes end exactly where an inaccessible page starts, so
 * a write past them faults at once instead of corrupting the heap silently.
 */
static void *alloc_def(struct gen *g, const char *abi)
{
    if (strcmp(abi, "pre5") == 0) {
        g->def_abi = 0;
        return malloc(sizeof(struct h_def_pre5));
    }
    if (strcmp(abi, "pre5guard") == 0) {
        long page = sysconf(_SC_PAGESIZE);
        unsigned char *m = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE,
                                MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED || mprotect(m + page, page, PROT_NONE) != 0) {
            return NULL;
        }
        g->guard_map = m;
        g->def_abi = 0;
        memset(m, 0, page);
        return m + page - sizeof(struct h_def_pre5);
    }
    if (strcmp(abi, "v5") == 0) {
        g->def_abi = 1;
        return calloc(1, sizeof(struct h_def_v5));
    }
    if (strcmp(abi, "v511") == 0) {
        g->def_abi = 2;
        return calloc(1, sizeof(struct h_def_v511));
    }
    if (strcmp(abi, "v511canary") == 0) {
        /* Not what Fluent Bit does: canaries in the fields a pre-5.0 plugin
         * must leave alone show whether it wrote them (even with 0). */
        struct h_def_v511 *d = calloc(1, sizeof(*d));
        d->event_type = 0x5a5a;
        d->config_map = (void *) 0x5a5a;
        g->def_abi = 2;
        return d;
    }
    return NULL;
}

/* free_def releases g's register struct, however alloc_def made it. */
static void free_def(struct gen *g)
{
    if (g->guard_map) {
        munmap(g->guard_map, 2 * sysconf(_SC_PAGESIZE));
    }
    else {
        free(g->def);
    }
    g->def = NULL;
    g->guard_map = NULL;
}

/*
 * cmd_register is flb_plugin_proxy_register plus proxy_go_output_register
 * for a new generation; reload is Fluent Bit's config->hot_reloading.
 */
static int cmd_register(const char *abi, int reload)
{
    if (!H.reg || !H.init) {
        out("register error=missing FLBPluginRegister or FLBPluginInit");
        return -1;
    }
    struct gen *g = NULL;
    for (int i = 0; i < MAX_GEN && !g; i++) {
        if (!H.gens[i].live) {
            g = &H.gens[i];
        }
    }
    if (!g) {
        out("register error=more than %d generations alive", MAX_GEN);
        return -1;
    }
    memset(g, 0, sizeof(*g));
    void *def = alloc_def(g, abi);
    if (!def) {
        out("register error=unknown abi %s", abi);
        return -1;
    }
    if (H.pre_register && H.pre_register(reload) == -1) {
        out("register error=FLBPluginPreRegister(%d) refused", reload);
        free_def(g);
        return -1;
    }
    /* flb_plugin_proxy_create sets the type before calling register. */
    ((struct h_def_pre5 *) def)->type = H_PROXY_OUTPUT_PLUGIN;
    int rc = H.reg(def);
    g->def = def;
    struct h_def_pre5 *d = def;
    char extra[128] = "";
    if (g->def_abi == 1) {
        snprintf(extra, sizeof(extra), " event_type=%d", ((struct h_def_v5 *) def)->event_type);
    }
    else if (g->def_abi == 2) {
        struct h_def_v511 *d511 = def;
        snprintf(extra, sizeof(extra), " event_type=%d config_map=%s", d511->event_type,
                 d511->config_map == NULL ? "nil" : d511->config_map == (void *) 0x5a5a ? "canary" : "set");
    }
    out("register rc=%d abi=%s type=%d proxy=%d flags=%d name=%s description_len=%zu%s", rc, abi,
        d->type, d->proxy, d->flags, d->name ? d->name : "(nil)",
        d->description ? strlen(d->description) : 0, extra);
    if (rc == -1) {
        free_def(g);
        return -1;
    }
    /* proxy_go_output_register: one flbgo_output_plugin for the whole .so. */
    g->plugin = calloc(1, sizeof(*g->plugin));
    g->plugin->cb_init = H.init;
    g->plugin->cb_flush = H.flush;
    g->plugin->cb_flush_ctx = H.flush_ctx;
    g->plugin->cb_exit = H.exit;
    g->plugin->cb_exit_ctx = H.exit_ctx;
    g->plugin->name = strdup(d->name ? d->name : "");
    g->seq = ++H.seq;
    g->live = 1;
    H.cur = g;
    return 0;
}

static void free_props(struct inst *in)
{
    for (int i = 0; i < in->nprops; i++) {
        free(in->props[i].key);
        free(in->props[i].val);
    }
    in->nprops = 0;
}

static int cmd_init(char *label, char **kv, int nkv)
{
    struct inst *in = find_inst(label, 1);
    if (!in || !H.cur || !H.cur->live) {
        out("init %s error=no room or not registered", label);
        return -1;
    }
    if (in->live) {
        out("init %s error=instance is running", label);
        return -1;
    }
    /* A label whose instance exited is a new instance (after a reload). */
    free_props(in);
    for (int i = 0; i < nkv && in->nprops < MAX_PROPS; i++) {
        char *eq = strchr(kv[i], '=');
        if (!eq) {
            continue;
        }
        *eq = 0;
        in->props[in->nprops].key = strdup(kv[i]);
        /* Fluent Bit stores an empty value as unset. */
        in->props[in->nprops].val = eq[1] ? strdup(eq + 1) : NULL;
        in->nprops++;
    }
    in->ctx = calloc(1, sizeof(*in->ctx));
    in->gen = H.cur;
    /* proxy_go_output_init overwrites the shared struct for this instance. */
    struct h_go_output_plugin *plugin = in->gen->plugin;
    plugin->api = &H.api;
    plugin->o_ins = in;
    plugin->context = in->ctx;
    double t0 = now_s();
    int rc = plugin->cb_init(plugin);
    double t1 = now_s();
    in->live = rc > 0;
    out("init %s rc=%d remote_context=%s ms=%.1f", label, rc,
        in->ctx->remote_context ? "set" : "nil", (t1 - t0) * 1e3);
    if (!in->live) {
        free(in->ctx);
        in->ctx = NULL;
    }
    return 0;
}

struct flush_job {
    pthread_barrier_t *start;
    struct inst *in;
    struct chunk *ch;
    int times;
    long rc_count[4]; /* error, ok, retry, other */
    double max_s;
};

static void *flush_thread(void *arg)
{
    struct flush_job *j = arg;
    static const char tag[] = "kube.audit";
    struct h_go_output_plugin *plugin = j->in->gen->plugin;
    pthread_barrier_wait(j->start);
    for (int k = 0; k < j->times; k++) {
        unsigned char *data = malloc(j->ch->size ? j->ch->size : 1);
        memcpy(data, j->ch->data, j->ch->size);
        char *tagbuf = malloc(sizeof(tag));
        memcpy(tagbuf, tag, sizeof(tag));
        double t0 = now_s();
        int rc;
        if (plugin->cb_flush_ctx) {
            rc = plugin->cb_flush_ctx(j->in->ctx->remote_context, data, j->ch->size, tagbuf);
        }
        else {
            rc = plugin->cb_flush(data, j->ch->size, tagbuf);
        }
        double dt = now_s() - t0;
        /* The chunk is Fluent Bit's: it is reused or freed right after the flush. */
        memset(data, 0xA5, j->ch->size);
        memset(tagbuf, 0xA5, sizeof(tag));
        free(data);
        free(tagbuf);
        j->rc_count[(rc >= 0 && rc <= 2) ? rc : 3]++;
        if (dt > j->max_s) {
            j->max_s = dt;
        }
    }
    return NULL;
}

static int cmd_flush(const char *label, const char *chunk, int threads, int times)
{
    struct inst *in = find_inst(label, 0);
    struct chunk *ch = find_chunk(chunk, 0);
    if (!in || !in->live || !ch) {
        out("flush %s error=unknown or dead instance, or unknown chunk %s", label, chunk);
        return -1;
    }
    if (threads < 1) threads = 1;
    if (times < 1) times = 1;
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, threads + 1);
    struct flush_job *jobs = calloc(threads, sizeof(*jobs));
    pthread_t *tids = calloc(threads, sizeof(*tids));
    for (int i = 0; i < threads; i++) {
        jobs[i] = (struct flush_job){.start = &start, .in = in, .ch = ch, .times = times};
        pthread_create(&tids[i], NULL, flush_thread, &jobs[i]);
    }
    pthread_barrier_wait(&start);
    double t0 = now_s();
    long rc[4] = {0};
    double max_s = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(tids[i], NULL);
        for (int k = 0; k < 4; k++) rc[k] += jobs[i].rc_count[k];
        if (jobs[i].max_s > max_s) max_s = jobs[i].max_s;
    }
    double elapsed = now_s() - t0;
    pthread_barrier_destroy(&start);
    long calls = (long) threads * times;
    out("flush %s chunk=%s threads=%d calls=%ld ok=%ld retry=%ld error=%ld other=%ld "
        "events=%ld bytes=%zu elapsed_ns=%.0f max_ns=%.0f",
        label, chunk, threads, calls, rc[1], rc[2], rc[0], rc[3], ch->events * calls,
        ch->size * calls, elapsed * 1e9, max_s * 1e9);
    free(jobs);
    free(tids);
    return 0;
}

/*
 * cmd_exit is flb_proxy_output_cb_exit: the optional FLBPluginOutputPreExit
 * with config->shutdown_by_hot_reloading, then proxy_go_output_destroy.
 */
static int cmd_exit(const char *label, int reload)
{
    struct inst *in = find_inst(label, 0);
    if (!in || !in->live) {
        out("exit %s error=unknown or dead instance", label);
        return -1;
    }
    struct h_go_output_plugin *plugin = in->gen->plugin;
    double t0 = now_s();
    int rc;
    if (H.pre_exit) {
        H.pre_exit(reload);
    }
    /* proxy_go_output_destroy: ExitCtx if exported, else the legacy Exit. */
    if (plugin->cb_exit_ctx) {
        rc = plugin->cb_exit_ctx(in->ctx->remote_context);
    }
    else if (plugin->cb_exit) {
        rc = plugin->cb_exit();
    }
    else {
        rc = 0;
    }
    double dt = now_s() - t0;
    in->live = 0;
    free(in->ctx); /* flb_proxy_output_cb_exit frees the proxy context */
    in->ctx = NULL;
    out("exit %s rc=%d ms=%.1f", label, rc, dt * 1e3);
    return 0;
}

static int cmd_exitlegacy(void)
{
    int rc = H.exit ? H.exit() : -100;
    out("exitlegacy rc=%d", rc);
    return 0;
}

/* cmd_unregister is flb_proxy_output_cb_destroy for the oldest generation. */
static int cmd_unregister(void)
{
    struct gen *g = NULL;
    for (int i = 0; i < MAX_GEN; i++) {
        if (H.gens[i].live && (!g || H.gens[i].seq < g->seq)) {
            g = &H.gens[i];
        }
    }
    if (!g) {
        out("unregister error=nothing registered");
        return -1;
    }
    for (int i = 0; i < MAX_INST; i++) {
        if (H.insts[i].live && H.insts[i].gen == g) {
            out("unregister error=instance %s of this generation is running", H.insts[i].label);
            return -1;
        }
    }
    if (H.unreg) {
        H.unreg(g->def);
    }
    free(g->plugin->name);
    free(g->plugin);
    g->plugin = NULL;
    free_def(g);
    g->live = 0;
    if (H.cur == g) {
        H.cur = NULL;
    }
    out("unregister ok");
    return 0;
}

/* count_fds counts this process's open file descriptors. */
static long count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d) {
        return -1;
    }
    long n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] != '.') {
            n++;
        }
    }
    closedir(d);
    return n - 1; /* the directory stream's own */
}

/* status_kb reads a "Key: N" line of /proc/self/status. */
static long status_field(const char *key)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) {
        return -1;
    }
    char line[256];
    long v = -1;
    size_t kl = strlen(key);
    while (fgets(line, sizeof(line), f)) {
        if (strncmp(line, key, kl) == 0 && line[kl] == ':') {
            v = atol(line + kl + 1);
            break;
        }
    }
    fclose(f);
    return v;
}

static int cmd_stats(const char *label)
{
    long long goroutines = -1, heap = -1, instances = -1;
    if (H.runtime_stats) {
        H.runtime_stats(&goroutines, &heap, &instances);
    }
    out("stats %s fds=%ld threads=%ld rss_kb=%ld goroutines=%lld heap_inuse=%lld instances=%lld", label,
        count_fds(), status_field("Threads"), status_field("VmRSS"), goroutines, heap, instances);
    return 0;
}

/* ---- driver ------------------------------------------------------------- */

static void usage(void)
{
    fprintf(stderr, "usage: flbharness < script (see the comment at the top of flbharness.c)\n");
}

static int kvint(char **a, int n, const char *key, int def)
{
    size_t kl = strlen(key);
    for (int i = 0; i < n; i++) {
        if (strncmp(a[i], key, kl) == 0 && a[i][kl] == '=') {
            return atoi(a[i] + kl + 1);
        }
    }
    return def;
}

int main(int argc, char **argv)
{
    (void) argv;
    if (argc > 1) {
        usage();
        return 2;
    }
    api_init();
    char *line = NULL;
    size_t cap = 0;
    ssize_t got;
    int failed = 0;
    while ((got = getline(&line, &cap, stdin)) > 0) {
        char *a[256];
        int n = 0;
        for (char *tok = strtok(line, " \t\r\n"); tok && n < 256; tok = strtok(NULL, " \t\r\n")) {
            a[n++] = tok;
        }
        if (n == 0 || a[0][0] == '#') {
            continue;
        }
        const char *c = a[0];
        int rc = 0;
        if (strcmp(c, "load") == 0 && n == 2) rc = cmd_load(a[1]);
        else if (strcmp(c, "register") == 0 && (n == 2 || n == 3))
            rc = cmd_register(a[1], n == 3 && strcmp(a[2], "reload") == 0);
        else if (strcmp(c, "init") == 0 && n >= 2) rc = cmd_init(a[1], a + 2, n - 2);
        else if (strcmp(c, "chunk") == 0) rc = cmd_chunk(a + 1, n - 1);
        else if (strcmp(c, "dump") == 0 && n == 3) rc = cmd_dump(a[1], a[2]);
        else if (strcmp(c, "hex") == 0 && (n == 2 || n == 3)) rc = cmd_hex(a[1], n == 3 ? a[2] : "");
        else if (strcmp(c, "random") == 0 && n == 4) rc = cmd_random(a[1], (unsigned) atol(a[2]), (size_t) atol(a[3]));
        else if (strcmp(c, "truncate") == 0 && n == 4) rc = cmd_truncate(a[1], a[2], (size_t) atol(a[3]));
        else if (strcmp(c, "concat") == 0 && n == 4) rc = cmd_concat(a[1], a[2], a[3]);
        else if (strcmp(c, "flush") == 0 && n >= 3)
            rc = cmd_flush(a[1], a[2], kvint(a + 3, n - 3, "threads", 1), kvint(a + 3, n - 3, "times", 1));
        else if (strcmp(c, "exit") == 0 && (n == 2 || n == 3))
            rc = cmd_exit(a[1], n == 3 && strcmp(a[2], "reload") == 0);
        else if (strcmp(c, "exitlegacy") == 0) rc = cmd_exitlegacy();
        else if (strcmp(c, "unregister") == 0) rc = cmd_unregister();
        else if (strcmp(c, "stats") == 0 && n == 2) rc = cmd_stats(a[1]);
        else if (strcmp(c, "sleep") == 0 && n == 2) usleep((useconds_t) atol(a[1]) * 1000);
        else {
            out("error unknown command %s", c);
            rc = -1;
        }
        if (rc != 0) {
            failed = 1;
        }
    }
    free(line);
    out("done failed=%d", failed);
    return failed;
}
