/* Growable NUL-terminated string (git's strbuf, reduced).
 *
 * Invariant: buf is never NULL after lx_strbuf_init() and always
 * NUL-terminated; len excludes the NUL. On allocation failure the buffer
 * keeps its old content and `failed` is set; callers check it once at the
 * end instead of after every append. */
#ifndef LATTICE_STRBUF_H
#define LATTICE_STRBUF_H

#include <stdbool.h>
#include <stddef.h>

#include "lattice/alloc.h"

typedef struct lx_strbuf {
    char *buf;
    size_t len, cap;
    bool failed;
    const lx_alloc_t *alloc;
} lx_strbuf_t;

void lx_strbuf_init(lx_strbuf_t *sb, const lx_alloc_t *alloc);
void lx_strbuf_release(lx_strbuf_t *sb);
void lx_strbuf_add(lx_strbuf_t *sb, const void *data, size_t len);
void lx_strbuf_adds(lx_strbuf_t *sb, const char *s);
void lx_strbuf_addf(lx_strbuf_t *sb, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Hands the string to the caller (free with lx_free(alloc, p)); NULL when
 * an append had failed. The buffer is re-initialized. */
char *lx_strbuf_detach(lx_strbuf_t *sb);

#endif
