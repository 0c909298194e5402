/* A test allocator: counts calls, live and total bytes and live blocks,
 * and fails the Nth call (fail_at >= 0) to exercise out-of-memory paths. */
#ifndef LATTICE_TEST_ALLOC_H
#define LATTICE_TEST_ALLOC_H

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

#endif
