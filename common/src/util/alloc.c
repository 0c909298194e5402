#include "lattice/alloc.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *s_libc_alloc(void *user, size_t size)
{
    (void)user;
    return malloc(size ? size : 1);
}

static void s_libc_free(void *user, void *ptr)
{
    (void)user;
    free(ptr);
}

static const lx_alloc_t s_libc = {s_libc_alloc, s_libc_free, NULL};

const lx_alloc_t *lx_alloc_default(void)
{
    return &s_libc;
}

void *lx_malloc(const lx_alloc_t *a, size_t size)
{
    return a->alloc(a->user, size);
}

void *lx_calloc(const lx_alloc_t *a, size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size)
        return NULL;
    /* libc's calloc knows when its memory is fresh from the kernel, hence
     * zero already, and leaves it untouched: a large array costs address
     * space, not memory, until it is written (a manifest of millions of
     * frames). memset would bring in every page. */
    size_t total = n * size;
    if (a->alloc == s_libc_alloc)
        return calloc(1, total ? total : 1);
    void *p = a->alloc(a->user, total);
    if (p)
        memset(p, 0, total);
    return p;
}

void lx_free(const lx_alloc_t *a, void *ptr)
{
    if (ptr)
        a->free(a->user, ptr);
}

struct lx_arena_chunk {
    lx_arena_chunk_t *next;
    size_t cap;
    _Alignas(16) unsigned char data[];
};

enum { ARENA_CHUNK = 64 * 1024 };

void lx_arena_init(lx_arena_t *arena, const lx_alloc_t *alloc)
{
    memset(arena, 0, sizeof *arena);
    arena->alloc = alloc ? alloc : lx_alloc_default();
}

void lx_arena_release(lx_arena_t *arena)
{
    lx_arena_chunk_t *c = arena->head;
    while (c) {
        lx_arena_chunk_t *next = c->next;
        lx_free(arena->alloc, c);
        c = next;
    }
    arena->head = NULL;
    arena->used = arena->cap = arena->total = 0;
}

void *lx_arena_calloc(lx_arena_t *arena, size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size) {
        arena->failed = true;
        return NULL;
    }
    size_t bytes = (n * size + 15) & ~(size_t)15;
    if (bytes == 0)
        bytes = 16;
    if (!arena->head || arena->cap - arena->used < bytes) {
        size_t cap = bytes > ARENA_CHUNK ? bytes : ARENA_CHUNK;
        lx_arena_chunk_t *c = cap > SIZE_MAX - sizeof(lx_arena_chunk_t)
                                  ? NULL
                                  : lx_malloc(arena->alloc, sizeof *c + cap);
        if (!c) {
            arena->failed = true;
            return NULL;
        }
        c->next = arena->head;
        c->cap = cap;
        arena->head = c;
        arena->used = 0;
        arena->cap = cap;
        arena->total += cap;
    }
    void *p = arena->head->data + arena->used;
    arena->used += bytes;
    memset(p, 0, bytes);
    return p;
}

char *lx_arena_strndup(lx_arena_t *arena, const char *s, size_t len)
{
    char *p = lx_arena_calloc(arena, len + 1, 1);
    if (p)
        memcpy(p, s, len);
    return p;
}

char *lx_arena_strdup(lx_arena_t *arena, const char *s)
{
    return lx_arena_strndup(arena, s, strlen(s));
}

char *lx_arena_printf(lx_arena_t *arena, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        arena->failed = true;
        return NULL;
    }
    char *p = lx_arena_calloc(arena, (size_t)n + 1, 1);
    if (!p)
        return NULL;
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

int lx_arena_grow(lx_arena_t *arena, void **items, size_t count, size_t *cap, size_t elem)
{
    size_t ncap = *cap ? *cap * 2 : 8;
    void *p = lx_arena_calloc(arena, ncap, elem);
    if (!p)
        return -1;
    if (count)
        memcpy(p, *items, count * elem);
    *items = p;
    *cap = ncap;
    return 0;
}
