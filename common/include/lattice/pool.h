/* A fixed pool of worker threads for data-parallel loops.
 *
 * lx_pool_run() calls fn(ctx, i) exactly once for every i in [0, n) and
 * returns when all calls are done; the calling thread works too. Which
 * thread runs which i is unspecified, so fn must make each i's output
 * independent of the others. The pool owns its threads from lx_pool_new()
 * to lx_pool_destroy(); one job runs at a time (lx_pool_run is not
 * reentrant). */
#ifndef LATTICE_POOL_H
#define LATTICE_POOL_H

#include <stdint.h>

#include "lattice/alloc.h"
#include "lattice/result.h"

typedef struct lx_pool lx_pool_t;
typedef void (*lx_pool_fn)(void *ctx, uint32_t i);

/* threads = total workers including the caller (1 = no extra threads). */
lx_pool_t *lx_pool_new(uint32_t threads, const lx_alloc_t *alloc, lx_error_t *err);
void lx_pool_destroy(lx_pool_t **self_p);
void lx_pool_run(lx_pool_t *pool, uint32_t n, lx_pool_fn fn, void *ctx);
uint32_t lx_pool_threads(const lx_pool_t *pool);

#endif
