#include "finisher.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct co_finisher {
    pthread_t thread;
    co_roots_t roots;
    const co_job_t *job;
    char exported_at[32];
    double elapsed_ms;
    char *audit_json;
    /* Written by the thread before it sets done. */
    lx_result_t rc;
    unsigned temps;
    lx_error_t err;
    atomic_bool done;
    atomic_bool stop; /* co_finisher_stop */
};

static void *s_main(void *arg)
{
    co_finisher_t *f = arg;
    f->rc = co_output_finish(&f->roots, f->job, f->audit_json, f->exported_at, f->elapsed_ms,
                             &f->stop, &f->temps, &f->err);
    atomic_store_explicit(&f->done, true, memory_order_release);
    return NULL;
}

co_finisher_t *co_finisher_start(const co_roots_t *roots, const co_job_t *j,
                                 const char *exported_at, double elapsed_ms, const char *audit_json)
{
    co_finisher_t *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    f->roots = *roots;
    f->job = j;
    snprintf(f->exported_at, sizeof f->exported_at, "%s", exported_at);
    f->elapsed_ms = elapsed_ms;
    f->audit_json = audit_json ? strdup(audit_json) : NULL;
    atomic_init(&f->done, false);
    atomic_init(&f->stop, false);
    if ((audit_json && !f->audit_json) || pthread_create(&f->thread, NULL, s_main, f) != 0) {
        free(f->audit_json);
        free(f);
        return NULL;
    }
    return f;
}

void co_finisher_stop(co_finisher_t *f) { atomic_store(&f->stop, true); }

bool co_finisher_done(const co_finisher_t *f)
{
    return atomic_load_explicit(&f->done, memory_order_acquire);
}

lx_result_t co_finisher_join(co_finisher_t **self_p, unsigned *temps, lx_error_t *err)
{
    co_finisher_t *f = self_p ? *self_p : NULL;
    if (!f)
        return LX_OK;
    pthread_join(f->thread, NULL);
    lx_result_t rc = f->rc;
    *temps = f->temps;
    if (rc != LX_OK && err)
        *err = f->err;
    free(f->audit_json);
    free(f);
    *self_p = NULL;
    return rc;
}
