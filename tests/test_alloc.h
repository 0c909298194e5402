/* A test allocator: counts calls, live and total bytes and live blocks,
 * and fails the Nth call (fail_at >= 0) to exercise out-of-memory paths. */
#ifndef LATTICE_TEST_ALLOC_H
#define LATTICE_TEST_ALLOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>

#include "lattice/alloc.h"

typedef struct {
    long calls, fail_at; /* fail_at < 0: never fail */
    size_t live, peak, total;
    long live_blocks;
} counter_t;

typedef struct {
    size_t size;
    _Alignas(16) unsigned char data[];
} hdr_t;

static void *t_counting_alloc(void *user, size_t size)
{
    counter_t *c = user;
    if (c->fail_at >= 0 && c->calls == c->fail_at) {
        c->calls++;
        return NULL;
    }
    c->calls++;
    hdr_t *h = malloc(sizeof *h + (size ? size : 1));
    if (!h)
        return NULL;
    h->size = size;
    c->live += size;
    c->total += size;
    c->live_blocks++;
    if (c->live > c->peak)
        c->peak = c->live;
    return h->data;
}

static void t_counting_free(void *user, void *ptr)
{
    counter_t *c = user;
    if (!ptr)
        return;
    hdr_t *h = (hdr_t *)((unsigned char *)ptr - offsetof(hdr_t, data));
    c->live -= h->size;
    c->live_blocks--;
    free(h);
}

/* The allocator for counter c. */
static inline lx_alloc_t t_alloc_of(counter_t *c)
{
    return (lx_alloc_t){t_counting_alloc, t_counting_free, c};
}

/* Fails each allocation of a piece of code in turn:
 *
 *     t_fail_each_t f = T_FAIL_EACH_INIT;
 *     while (t_fail_each_next(&f)) {
 *         ... the code, allocating through &f.alloc ...
 *     }
 *
 * runs the body first with an allocator that never fails (f.fail_at == -1,
 * the reference run), which counts the allocations into f.total, then once
 * for each of them (f.fail_at = 0 .. f.total - 1) with that one failing.
 * f.c counts the current run. */
typedef struct {
    long fail_at, total;
    counter_t c;
    lx_alloc_t alloc;
} t_fail_each_t;

#define T_FAIL_EACH_INIT                                                                           \
    {                                                                                              \
        .fail_at = -2                                                                              \
    }

static inline bool t_fail_each_next(t_fail_each_t *f)
{
    if (f->fail_at == -1)
        f->total = f->c.calls;
    f->fail_at++;
    if (f->fail_at >= 0 && f->fail_at >= f->total)
        return false;
    f->c = (counter_t){0, f->fail_at, 0, 0, 0, 0};
    f->alloc = t_alloc_of(&f->c);
    return true;
}

#endif
