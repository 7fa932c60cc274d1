/* The msgpack writer declared in mpw.h. */
#include "mpw.h"

#include <stdlib.h>
#include <string.h>

void mpw_init(struct mpw *w, int wide)
{
    memset(w, 0, sizeof(*w));
    w->wide = wide;
}

void mpw_free(struct mpw *w)
{
    free(w->b);
    memset(w, 0, sizeof(*w));
}

static void grow(struct mpw *w, size_t n)
{
    if (w->len + n <= w->cap) {
        return;
    }
    size_t cap = w->cap ? w->cap : 4096;
    while (cap < w->len + n) {
        cap *= 2;
    }
    w->b = realloc(w->b, cap);
    if (!w->b) {
        abort(); /* a harness out of memory has nothing useful to report */
    }
    w->cap = cap;
}

void mpw_raw(struct mpw *w, const void *p, size_t n)
{
    grow(w, n);
    memcpy(w->b + w->len, p, n);
    w->len += n;
}

static void put8(struct mpw *w, unsigned v)
{
    unsigned char c = (unsigned char) v;
    mpw_raw(w, &c, 1);
}

static void put16(struct mpw *w, uint16_t v)
{
    unsigned char b[2] = {v >> 8, v};
    mpw_raw(w, b, 2);
}

static void put32(struct mpw *w, uint32_t v)
{
    unsigned char b[4] = {v >> 24, v >> 16, v >> 8, v};
    mpw_raw(w, b, 4);
}

static void put64(struct mpw *w, uint64_t v)
{
    put32(w, (uint32_t) (v >> 32));
    put32(w, (uint32_t) v);
}

static void header(struct mpw *w, uint32_t n, unsigned fix, unsigned fixmax,
                   unsigned c16, unsigned c32)
{
    if (w->wide) {
        put8(w, c32);
        put32(w, n);
    }
    else if (n <= fixmax) {
        put8(w, fix | n);
    }
    else if (n <= 0xffff) {
        put8(w, c16);
        put16(w, (uint16_t) n);
    }
    else {
        put8(w, c32);
        put32(w, n);
    }
}

void mpw_array(struct mpw *w, uint32_t n) { header(w, n, 0x90, 15, 0xdc, 0xdd); }
void mpw_map(struct mpw *w, uint32_t n) { header(w, n, 0x80, 15, 0xde, 0xdf); }

void mpw_str(struct mpw *w, const char *s, size_t n)
{
    if (w->wide) {
        put8(w, 0xdb);
        put32(w, (uint32_t) n);
    }
    else if (n <= 31) {
        put8(w, 0xa0 | (unsigned) n);
    }
    else if (n <= 0xff) {
        put8(w, 0xd9);
        put8(w, (unsigned) n);
    }
    else if (n <= 0xffff) {
        put8(w, 0xda);
        put16(w, (uint16_t) n);
    }
    else {
        put8(w, 0xdb);
        put32(w, (uint32_t) n);
    }
    mpw_raw(w, s, n);
}

void mpw_bin(struct mpw *w, const char *s, size_t n)
{
    if (w->wide || n > 0xffff) {
        put8(w, 0xc6);
        put32(w, (uint32_t) n);
    }
    else if (n <= 0xff) {
        put8(w, 0xc4);
        put8(w, (unsigned) n);
    }
    else {
        put8(w, 0xc5);
        put16(w, (uint16_t) n);
    }
    mpw_raw(w, s, n);
}

void mpw_uint(struct mpw *w, uint64_t v)
{
    if (v <= 0x7f) {
        put8(w, (unsigned) v);
    }
    else if (v <= 0xff) {
        put8(w, 0xcc);
        put8(w, (unsigned) v);
    }
    else if (v <= 0xffff) {
        put8(w, 0xcd);
        put16(w, (uint16_t) v);
    }
    else if (v <= 0xffffffffu) {
        put8(w, 0xce);
        put32(w, (uint32_t) v);
    }
    else {
        put8(w, 0xcf);
        put64(w, v);
    }
}

void mpw_int(struct mpw *w, int64_t v)
{
    if (v >= 0) {
        mpw_uint(w, (uint64_t) v);
    }
    else if (v >= -32) {
        put8(w, (unsigned) (v & 0xff));
    }
    else if (v >= -128) {
        put8(w, 0xd0);
        put8(w, (unsigned) (v & 0xff));
    }
    else if (v >= -32768) {
        put8(w, 0xd1);
        put16(w, (uint16_t) v);
    }
    else if (v >= INT32_MIN) {
        put8(w, 0xd2);
        put32(w, (uint32_t) v);
    }
    else {
        put8(w, 0xd3);
        put64(w, (uint64_t) v);
    }
}

void mpw_double(struct mpw *w, double v)
{
    uint64_t u;
    memcpy(&u, &v, 8);
    put8(w, 0xcb);
    put64(w, u);
}

void mpw_bool(struct mpw *w, int v) { put8(w, v ? 0xc3 : 0xc2); }
void mpw_nil(struct mpw *w) { put8(w, 0xc0); }

void mpw_eventtime(struct mpw *w, uint32_t sec, uint32_t nsec)
{
    put8(w, 0xd7);
    put8(w, 0x00);
    put32(w, sec);
    put32(w, nsec);
}
