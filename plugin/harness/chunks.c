/*
 * The harness's chunk commands: Fluent Bit chunks built in C from JSON-lines
 * files, in each record format and header width Fluent Bit has used, and
 * broken ones (hex, random bytes, truncated, concatenated).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "mpw.h"

#define MAX_CHUNKS 64

static struct chunk chunks[MAX_CHUNKS];

struct chunk *find_chunk(const char *name, int create)
{
    for (int i = 0; i < MAX_CHUNKS; i++) {
        if (chunks[i].name[0] && strcmp(chunks[i].name, name) == 0) {
            if (create) {
                free(chunks[i].data);
                chunks[i].data = NULL;
            }
            return &chunks[i];
        }
    }
    if (!create) {
        return NULL;
    }
    for (int i = 0; i < MAX_CHUNKS; i++) {
        if (!chunks[i].name[0]) {
            snprintf(chunks[i].name, sizeof(chunks[i].name), "%s", name);
            return &chunks[i];
        }
    }
    return NULL;
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc(n + 1);
    if (fread(b, 1, n, f) != (size_t) n) {
        fclose(f);
        free(b);
        return NULL;
    }
    fclose(f);
    b[n] = 0;
    *len = n;
    return b;
}

static void write_record(struct mpw *w, const char *kind, const char *line, size_t n, long i)
{
    if (strcmp(kind, "raw") == 0) {
        mpw_map(w, 1);
        mpw_str(w, "log", 3);
        mpw_str(w, line, n);
    }
    else if (strcmp(kind, "rawextra") == 0) {
        /* in_tail with Path_Key and Offset_Key: "log" is not the first key. */
        mpw_map(w, 3);
        mpw_str(w, "file", 4);
        mpw_str(w, "/var/log/kubernetes/audit/audit.log", 35);
        mpw_str(w, "offset", 6);
        mpw_int(w, i * 1000);
        mpw_str(w, "log", 3);
        mpw_str(w, line, n);
    }
    else {
        if (mpw_json(w, line, n, strcmp(kind, "parsedbin") == 0) != 0) {
            fprintf(stderr, "flbharness: line %ld is not JSON\n", i);
            exit(2);
        }
    }
}

static void write_marker(struct mpw *w, uint32_t sec, int start)
{
    mpw_array(w, 2);
    mpw_array(w, 2);
    mpw_eventtime(w, sec, 0);
    if (start) {
        mpw_map(w, 1);
        mpw_str(w, "schema", 6);
        mpw_str(w, "otlp", 4);
    }
    else {
        mpw_map(w, 0);
    }
    mpw_map(w, 0);
}

int cmd_chunk(char **a, int n)
{
    if (n < 6) {
        out("chunk error=usage");
        return -1;
    }
    const char *name = a[0], *format = a[1], *width = a[2], *kind = a[3], *file = a[4];
    long count = atol(a[5]);
    int markers = n > 6 && strcmp(a[6], "markers") == 0;
    size_t flen;
    char *text = read_file(file, &flen);
    if (!text) {
        out("chunk %s error=cannot read %s", name, file);
        return -1;
    }
    /* split into lines */
    size_t nlines = 0, cap = 64;
    char **lines = malloc(cap * sizeof(*lines));
    size_t *lens = malloc(cap * sizeof(*lens));
    for (char *p = text; p < text + flen;) {
        char *e = memchr(p, '\n', text + flen - p);
        size_t l = e ? (size_t) (e - p) : (size_t) (text + flen - p);
        if (l > 0) {
            if (nlines == cap) {
                cap *= 2;
                lines = realloc(lines, cap * sizeof(*lines));
                lens = realloc(lens, cap * sizeof(*lens));
            }
            lines[nlines] = p;
            lens[nlines++] = l;
        }
        p += l + 1;
    }
    if (nlines == 0) {
        out("chunk %s error=no lines in %s", name, file);
        return -1;
    }
    struct mpw w;
    mpw_init(&w, strcmp(width, "wide") == 0);
    int v2 = strcmp(format, "v2") == 0;
    if (markers && v2) {
        write_marker(&w, 0xffffffffu, 1);
    }
    uint32_t sec = 1790000000u;
    for (long i = 0; i < count; i++) {
        const char *line = lines[i % nlines];
        size_t l = lens[i % nlines];
        mpw_array(&w, 2);
        if (v2) {
            mpw_array(&w, 2);
            mpw_eventtime(&w, sec + (uint32_t) i, (uint32_t) (i % 1000) * 1000);
            mpw_map(&w, 0);
        }
        else if (strcmp(format, "v1int") == 0) {
            mpw_uint(&w, sec + i);
        }
        else if (strcmp(format, "v1float") == 0) {
            mpw_double(&w, sec + i + 0.25);
        }
        else {
            mpw_eventtime(&w, sec + (uint32_t) i, 0);
        }
        write_record(&w, kind, line, l, i);
    }
    if (markers && v2) {
        write_marker(&w, 0xfffffffeu, 0);
    }
    struct chunk *ch = find_chunk(name, 1);
    ch->data = w.b;
    ch->size = w.len;
    ch->events = count;
    free(lines);
    free(lens);
    free(text);
    out("chunk %s events=%ld bytes=%zu", name, count, ch->size);
    return 0;
}

int cmd_dump(const char *name, const char *path)
{
    struct chunk *ch = find_chunk(name, 0);
    FILE *f = ch ? fopen(path, "wb") : NULL;
    if (!f || fwrite(ch->data, 1, ch->size, f) != ch->size) {
        out("dump %s error=cannot write %s", name, path);
        if (f) fclose(f);
        return -1;
    }
    fclose(f);
    out("dump %s bytes=%zu", name, ch->size);
    return 0;
}

int cmd_hex(const char *name, const char *hex)
{
    size_t n = strlen(hex) / 2;
    struct chunk *ch = find_chunk(name, 1);
    ch->data = malloc(n ? n : 1);
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        sscanf(hex + 2 * i, "%2x", &v);
        ch->data[i] = (unsigned char) v;
    }
    ch->size = n;
    ch->events = 0;
    out("hex %s bytes=%zu", name, n);
    return 0;
}

int cmd_random(const char *name, unsigned seed, size_t len)
{
    struct chunk *ch = find_chunk(name, 1);
    ch->data = malloc(len ? len : 1);
    for (size_t i = 0; i < len; i++) {
        seed = seed * 1103515245u + 12345u;
        ch->data[i] = (unsigned char) (seed >> 16);
    }
    ch->size = len;
    ch->events = 0;
    out("random %s bytes=%zu", name, len);
    return 0;
}

int cmd_truncate(const char *name, const char *src, size_t drop)
{
    struct chunk *s = find_chunk(src, 0);
    if (!s || drop > s->size) {
        out("truncate %s error=bad source", name);
        return -1;
    }
    size_t n = s->size - drop;
    unsigned char *copy = malloc(n ? n : 1);
    memcpy(copy, s->data, n);
    long events = s->events;
    struct chunk *ch = find_chunk(name, 1);
    ch->data = copy;
    ch->size = n;
    ch->events = events;
    out("truncate %s bytes=%zu", name, n);
    return 0;
}

int cmd_concat(const char *name, const char *a, const char *b)
{
    struct chunk *x = find_chunk(a, 0), *y = find_chunk(b, 0);
    if (!x || !y) {
        out("concat %s error=unknown chunk", name);
        return -1;
    }
    size_t n = x->size + y->size;
    unsigned char *d = malloc(n ? n : 1);
    memcpy(d, x->data, x->size);
    memcpy(d + x->size, y->data, y->size);
    long events = x->events + y->events;
    struct chunk *ch = find_chunk(name, 1);
    ch->data = d;
    ch->size = n;
    ch->events = events;
    out("concat %s bytes=%zu", name, n);
    return 0;
}
