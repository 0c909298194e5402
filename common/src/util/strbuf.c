#include "lattice/strbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static char s_empty[1];

void lx_strbuf_init(lx_strbuf_t *sb, const lx_alloc_t *alloc)
{
    memset(sb, 0, sizeof *sb);
    sb->alloc = alloc ? alloc : lx_alloc_default();
    sb->buf = s_empty;
}

void lx_strbuf_release(lx_strbuf_t *sb)
{
    if (sb->buf != s_empty)
        lx_free(sb->alloc, sb->buf);
    lx_strbuf_init(sb, sb->alloc);
}

static bool s_reserve(lx_strbuf_t *sb, size_t extra)
{
    if (sb->failed)
        return false;
    if (sb->len + extra + 1 <= sb->cap)
        return true;
    size_t cap = sb->cap ? sb->cap : 64;
    while (cap < sb->len + extra + 1) {
        if (cap > ((size_t)-1) / 2) {
            sb->failed = true;
            return false;
        }
        cap *= 2;
    }
    char *p = lx_malloc(sb->alloc, cap);
    if (!p) {
        sb->failed = true;
        return false;
    }
    memcpy(p, sb->buf, sb->len + 1);
    if (sb->buf != s_empty)
        lx_free(sb->alloc, sb->buf);
    sb->buf = p;
    sb->cap = cap;
    return true;
}

void lx_strbuf_add(lx_strbuf_t *sb, const void *data, size_t len)
{
    if (!s_reserve(sb, len))
        return;
    memcpy(sb->buf + sb->len, data, len);
    sb->len += len;
    sb->buf[sb->len] = '\0';
}

void lx_strbuf_adds(lx_strbuf_t *sb, const char *s)
{
    lx_strbuf_add(sb, s, strlen(s));
}

void lx_strbuf_addf(lx_strbuf_t *sb, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || !s_reserve(sb, (size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf(sb->buf + sb->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    sb->len += (size_t)n;
}

char *lx_strbuf_detach(lx_strbuf_t *sb)
{
    char *p = NULL;
    if (!sb->failed) {
        if (sb->buf == s_empty) {
            p = lx_malloc(sb->alloc, 1);
            if (p)
                p[0] = '\0';
        } else {
            p = sb->buf;
            sb->buf = s_empty;
        }
    }
    lx_strbuf_release(sb);
    return p;
}
