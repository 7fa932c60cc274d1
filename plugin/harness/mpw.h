/*
 * A minimal msgpack writer for building Fluent Bit chunks in the harness.
 * "wide" makes every container header array32/map32 and every string str32,
 * the way Fluent Bit's dynamic encoders reserve headers before they know the
 * count; otherwise the smallest header that fits is used.
 */
#ifndef FLBHARNESS_MPW_H
#define FLBHARNESS_MPW_H

#include <stddef.h>
#include <stdint.h>

struct mpw {
    unsigned char *b;
    size_t len, cap;
    int wide;
};

void mpw_init(struct mpw *w, int wide);
void mpw_free(struct mpw *w);
void mpw_raw(struct mpw *w, const void *p, size_t n);
void mpw_array(struct mpw *w, uint32_t n);
void mpw_map(struct mpw *w, uint32_t n);
void mpw_str(struct mpw *w, const char *s, size_t n);
void mpw_bin(struct mpw *w, const char *s, size_t n);
void mpw_int(struct mpw *w, int64_t v);
void mpw_uint(struct mpw *w, uint64_t v);
void mpw_double(struct mpw *w, double v);
void mpw_bool(struct mpw *w, int v);
void mpw_nil(struct mpw *w);
/* Fluent Bit's EventTime: fixext8 type 0, big-endian seconds and nanoseconds. */
void mpw_eventtime(struct mpw *w, uint32_t sec, uint32_t nsec);

/*
 * mpw_json appends the JSON value in s[0:n] as msgpack (objects as maps,
 * strings unescaped to UTF-8 as str, or bin when strbin is set; integers that
 * fit int64 as ints, other numbers as float64). It returns 0, or -1 when s is
 * not one well-formed JSON value.
 */
int mpw_json(struct mpw *w, const char *s, size_t n, int strbin);

#endif
