#include "lattice/pool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

struct lx_pool {
    const lx_alloc_t *alloc;
    uint32_t n_threads; /* extra threads */
    pthread_t *threads;
    pthread_mutex_t lock;
    pthread_cond_t wake, done;
    uint64_t generation; /* bumped per job */
    uint32_t busy;       /* extra threads still in the current job */
    bool stop;
    /* the current job */
    lx_pool_fn fn;
    void *ctx;
    uint32_t n;
    atomic_uint next;
};

static void s_drain(lx_pool_t *p)
{
    for (;;) {
        uint32_t i = atomic_fetch_add(&p->next, 1);
        if (i >= p->n)
            return;
        p->fn(p->ctx, i);
    }
}

static void *s_worker(void *arg)
{
    lx_pool_t *p = arg;
    uint64_t seen = 0;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (!p->stop && p->generation == seen)
            pthread_cond_wait(&p->wake, &p->lock);
        if (p->stop)
            break;
        seen = p->generation;
        pthread_mutex_unlock(&p->lock);
        s_drain(p);
        pthread_mutex_lock(&p->lock);
        if (--p->busy == 0)
            pthread_cond_signal(&p->done);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

lx_pool_t *lx_pool_new(uint32_t threads, const lx_alloc_t *alloc, lx_error_t *err)
{
    alloc = alloc ? alloc : lx_alloc_default();
    if (threads == 0)
        threads = 1;
    if (threads > 256) {
        lx_fail(err, LX_E_INVALID, "%u threads (at most 256)", threads);
        return NULL;
    }
    lx_pool_t *p = lx_calloc(alloc, 1, sizeof *p);
    if (!p) {
        lx_fail(err, LX_E_NOMEM, "out of memory");
        return NULL;
    }
    p->alloc = alloc;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->wake, NULL);
    pthread_cond_init(&p->done, NULL);
    atomic_init(&p->next, 0);
    p->threads = lx_calloc(alloc, threads, sizeof *p->threads);
    if (!p->threads) {
        lx_pool_destroy(&p);
        lx_fail(err, LX_E_NOMEM, "out of memory");
        return NULL;
    }
    for (uint32_t i = 0; i + 1 < threads; i++) {
        if (pthread_create(&p->threads[i], NULL, s_worker, p) != 0) {
            lx_pool_destroy(&p);
            lx_fail(err, LX_E_INTERNAL, "cannot start a render thread");
            return NULL;
        }
        p->n_threads++;
    }
    return p;
}

void lx_pool_destroy(lx_pool_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    lx_pool_t *p = *self_p;
    pthread_mutex_lock(&p->lock);
    p->stop = true;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->lock);
    for (uint32_t i = 0; i < p->n_threads; i++)
        pthread_join(p->threads[i], NULL);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->wake);
    pthread_cond_destroy(&p->done);
    lx_free(p->alloc, p->threads);
    lx_free(p->alloc, p);
    *self_p = NULL;
}

void lx_pool_run(lx_pool_t *p, uint32_t n, lx_pool_fn fn, void *ctx)
{
    pthread_mutex_lock(&p->lock);
    p->fn = fn;
    p->ctx = ctx;
    p->n = n;
    atomic_store(&p->next, 0);
    p->busy = p->n_threads;
    p->generation++;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->lock);
    s_drain(p);
    pthread_mutex_lock(&p->lock);
    while (p->busy > 0)
        pthread_cond_wait(&p->done, &p->lock);
    pthread_mutex_unlock(&p->lock);
}

uint32_t lx_pool_threads(const lx_pool_t *p)
{
    return p->n_threads + 1;
}
