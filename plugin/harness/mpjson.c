/*
 * JSON to msgpack for the harness: how Fluent Bit's json parser turns an
 * audit line into a nested record ("Parser json"). Not a validating parser
 * beyond what the harness's own input needs.
 */
#include <ctype.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "mpw.h"

struct jp {
    const char *s;
    size_t n, i;
    int strbin;
    struct mpw *w;
    /* scratch for unescaped strings */
    char *tmp;
    size_t tmpcap;
};

static void jp_ws(struct jp *p)
{
    while (p->i < p->n && (p->s[p->i] == ' ' || p->s[p->i] == '\t' ||
                           p->s[p->i] == '\n' || p->s[p->i] == '\r')) {
        p->i++;
    }
}

static int hex4(const char *s, unsigned *out)
{
    unsigned v = 0;
    for (int k = 0; k < 4; k++) {
        int c = s[k];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= c - '0';
        else if (c >= 'a' && c <= 'f') v |= c - 'a' + 10;
        else if (c >= 'A' && c <= 'F') v |= c - 'A' + 10;
        else return -1;
    }
    *out = v;
    return 0;
}

static size_t utf8(char *dst, unsigned cp)
{
    if (cp < 0x80) { dst[0] = (char) cp; return 1; }
    if (cp < 0x800) { dst[0] = (char) (0xc0 | cp >> 6); dst[1] = (char) (0x80 | (cp & 0x3f)); return 2; }
    if (cp < 0x10000) {
        dst[0] = (char) (0xe0 | cp >> 12);
        dst[1] = (char) (0x80 | ((cp >> 6) & 0x3f));
        dst[2] = (char) (0x80 | (cp & 0x3f));
        return 3;
    }
    dst[0] = (char) (0xf0 | cp >> 18);
    dst[1] = (char) (0x80 | ((cp >> 12) & 0x3f));
    dst[2] = (char) (0x80 | ((cp >> 6) & 0x3f));
    dst[3] = (char) (0x80 | (cp & 0x3f));
    return 4;
}

/* jp_string unescapes the string at p->i (on the opening quote) into p->tmp. */
static int jp_string(struct jp *p, size_t *outlen)
{
    size_t o = 0;
    p->i++; /* opening quote */
    for (;;) {
        if (p->i >= p->n) return -1;
        if (p->tmpcap < o + 8) {
            p->tmpcap = p->tmpcap ? p->tmpcap * 2 : 256;
            p->tmp = realloc(p->tmp, p->tmpcap);
            if (!p->tmp) abort();
        }
        char c = p->s[p->i++];
        if (c == '"') break;
        if (c != '\\') { p->tmp[o++] = c; continue; }
        if (p->i >= p->n) return -1;
        c = p->s[p->i++];
        switch (c) {
        case '"': case '\\': case '/': p->tmp[o++] = c; break;
        case 'b': p->tmp[o++] = '\b'; break;
        case 'f': p->tmp[o++] = '\f'; break;
        case 'n': p->tmp[o++] = '\n'; break;
        case 'r': p->tmp[o++] = '\r'; break;
        case 't': p->tmp[o++] = '\t'; break;
        case 'u': {
            unsigned cp, lo;
            if (p->i + 4 > p->n || hex4(p->s + p->i, &cp)) return -1;
            p->i += 4;
            if (cp >= 0xd800 && cp < 0xdc00 && p->i + 6 <= p->n &&
                p->s[p->i] == '\\' && p->s[p->i + 1] == 'u' &&
                hex4(p->s + p->i + 2, &lo) == 0 && lo >= 0xdc00 && lo < 0xe000) {
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                p->i += 6;
            }
            o += utf8(p->tmp + o, cp);
            break;
        }
        default:
            return -1;
        }
    }
    *outlen = o;
    return 0;
}

static int jp_value(struct jp *p, int depth);

static int jp_container(struct jp *p, int depth, int obj)
{
    /* Count members first: msgpack wants the count before the members. */
    struct jp scan = *p;
    struct mpw sink;
    mpw_init(&sink, 0);
    scan.w = &sink;
    scan.tmp = NULL;
    scan.tmpcap = 0;
    uint32_t count = 0;
    scan.i++;
    jp_ws(&scan);
    if (scan.i < scan.n && scan.s[scan.i] == (obj ? '}' : ']')) {
        scan.i++;
    }
    else {
        for (;;) {
            if (obj) {
                size_t kl;
                jp_ws(&scan);
                if (scan.i >= scan.n || scan.s[scan.i] != '"' || jp_string(&scan, &kl)) goto bad;
                jp_ws(&scan);
                if (scan.i >= scan.n || scan.s[scan.i++] != ':') goto bad;
            }
            if (jp_value(&scan, depth + 1)) goto bad;
            count++;
            jp_ws(&scan);
            if (scan.i >= scan.n) goto bad;
            char c = scan.s[scan.i++];
            if (c == ',') continue;
            if (c == (obj ? '}' : ']')) break;
            goto bad;
        }
    }
    free(scan.tmp);
    mpw_free(&sink);

    if (obj) mpw_map(p->w, count); else mpw_array(p->w, count);
    p->i++;
    for (uint32_t k = 0; k < count; k++) {
        jp_ws(p);
        if (obj) {
            size_t kl;
            jp_string(p, &kl);
            mpw_str(p->w, p->tmp, kl); /* keys are always str */
            jp_ws(p);
            p->i++; /* ':' */
        }
        jp_value(p, depth + 1);
        jp_ws(p);
        p->i++; /* ',' or closing bracket */
    }
    if (count == 0) {
        jp_ws(p);
        p->i++;
    }
    return 0;
bad:
    free(scan.tmp);
    mpw_free(&sink);
    return -1;
}

static int jp_value(struct jp *p, int depth)
{
    if (depth > 512) return -1;
    jp_ws(p);
    if (p->i >= p->n) return -1;
    char c = p->s[p->i];
    if (c == '{' || c == '[') return jp_container(p, depth, c == '{');
    if (c == '"') {
        size_t l;
        if (jp_string(p, &l)) return -1;
        if (p->strbin) mpw_bin(p->w, p->tmp, l); else mpw_str(p->w, p->tmp, l);
        return 0;
    }
    if (p->n - p->i >= 4 && memcmp(p->s + p->i, "true", 4) == 0) { p->i += 4; mpw_bool(p->w, 1); return 0; }
    if (p->n - p->i >= 5 && memcmp(p->s + p->i, "false", 5) == 0) { p->i += 5; mpw_bool(p->w, 0); return 0; }
    if (p->n - p->i >= 4 && memcmp(p->s + p->i, "null", 4) == 0) { p->i += 4; mpw_nil(p->w); return 0; }
    if (c == '-' || isdigit((unsigned char) c)) {
        char num[64];
        size_t k = 0;
        int isfloat = 0;
        while (p->i < p->n && k < sizeof(num) - 1 &&
               strchr("+-0123456789.eE", p->s[p->i])) {
            if (strchr(".eE", p->s[p->i])) isfloat = 1;
            num[k++] = p->s[p->i++];
        }
        num[k] = 0;
        char *end;
        if (!isfloat) {
            long long v = strtoll(num, &end, 10);
            if (*end == 0 && !(v == LLONG_MAX || v == LLONG_MIN)) { mpw_int(p->w, v); return 0; }
        }
        double d = strtod(num, &end);
        if (*end != 0) return -1;
        mpw_double(p->w, d);
        return 0;
    }
    return -1;
}

int mpw_json(struct mpw *w, const char *s, size_t n, int strbin)
{
    struct jp p = {.s = s, .n = n, .strbin = strbin, .w = w};
    int rc = jp_value(&p, 0);
    if (rc == 0) {
        jp_ws(&p);
        if (p.i != p.n) rc = -1;
    }
    free(p.tmp);
    return rc;
}
