/*
 * What the harness's command files share: result output and the table of
 * named chunks that the chunk commands (chunks.c) build and flush uses.
 */
#ifndef FLBHARNESS_H
#define FLBHARNESS_H

#include <stddef.h>

/* out prints one result line on stdout and flushes it. */
void out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

struct chunk {
    char name[64];
    unsigned char *data;
    size_t size;
    long events;
};

/* find_chunk returns the chunk called name; with create, a new or emptied one. */
struct chunk *find_chunk(const char *name, int create);

int cmd_chunk(char **a, int n);
int cmd_dump(const char *name, const char *path);
int cmd_hex(const char *name, const char *hex);
int cmd_random(const char *name, unsigned seed, size_t len);
int cmd_truncate(const char *name, const char *src, size_t drop);
int cmd_concat(const char *name, const char *a, const char *b);

#endif
