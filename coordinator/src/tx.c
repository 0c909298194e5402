/* Transitions (see tx.h). */
#include "tx.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void co_tx_init(co_tx_t *tx)
{
    memset(tx, 0, sizeof *tx);
    lx_strbuf_init(&tx->log, NULL);
    lx_arena_init(&tx->arena, NULL);
}

void co_tx_release(co_tx_t *tx)
{
    /* Whatever was not handed over (the journal refused the transition). */
    for (size_t i = 0; i < tx->n_changes; i++) {
        co_change_t *c = &tx->changes[i];
        if (c->kind == CO_CH_JOB_ADD)
            co_job_free(&c->job);
        else if (c->kind == CO_CH_JOB_RESTART)
            lx_manifest_destroy(&c->u.job_restart.manifest);
    }
    free(tx->changes);
    free(tx->effects);
    lx_strbuf_release(&tx->log);
    lx_arena_release(&tx->arena);
    memset(tx, 0, sizeof *tx);
}

co_change_t *co_tx_change(co_tx_t *tx, co_change_kind_t kind, co_job_t *job)
{
    if (!co_grow((void **)&tx->changes, &tx->cap_changes, tx->n_changes, sizeof *tx->changes)) {
        tx->failed = true;
        memset(&tx->scratch_change, 0, sizeof tx->scratch_change);
        return &tx->scratch_change;
    }
    co_change_t *c = &tx->changes[tx->n_changes++];
    memset(c, 0, sizeof *c);
    c->kind = kind;
    c->job = job;
    return c;
}

co_effect_t *co_tx_effect(co_tx_t *tx, co_effect_kind_t kind, uint64_t session)
{
    if (!co_grow((void **)&tx->effects, &tx->cap_effects, tx->n_effects, sizeof *tx->effects)) {
        tx->failed = true;
        memset(&tx->scratch_effect, 0, sizeof tx->scratch_effect);
        return &tx->scratch_effect;
    }
    co_effect_t *e = &tx->effects[tx->n_effects++];
    memset(e, 0, sizeof *e);
    e->kind = kind;
    e->session = session;
    return e;
}

const char *co_tx_strdup(co_tx_t *tx, const char *s)
{
    if (!s)
        return NULL;
    char *copy = lx_arena_strdup(&tx->arena, s);
    if (!copy)
        tx->failed = true;
    return copy ? copy : "";
}

void co_tx_log(co_tx_t *tx, lx_log_level_t level, const char *fmt, ...)
{
    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    lx_strbuf_addf(&tx->log, "%d%s\n", (int)level, line);
}

void co_tx_audit(co_tx_t *tx, const co_state_t *s, co_job_t *j, int64_t f, const co_audit_t *a,
                 int confirmed, int disputed)
{
    co_change_t *c = co_tx_change(tx, CO_CH_AUDIT, j);
    c->frame = f;
    c->u.audit.audit = *a;
    for (int k = 0; k < 3; k++)
        c->u.audit.who[k] = a->who[k] ? co_state_name(s, a->who[k]) : NULL;
    c->u.audit.confirmed = confirmed;
    c->u.audit.disputed = disputed;
}

int co_tx_job_state(const co_tx_t *tx, const co_job_t *j)
{
    int state = -1;
    for (size_t i = 0; i < tx->n_changes; i++)
        if (tx->changes[i].kind == CO_CH_JOB_STATE && tx->changes[i].job == j)
            state = (int)tx->changes[i].u.job_state.state;
    return state;
}

uint64_t co_tx_attempts_started(const co_tx_t *tx)
{
    uint64_t n = 0;
    for (size_t i = 0; i < tx->n_changes; i++)
        n += tx->changes[i].kind == CO_CH_ATTEMPT_START;
    return n;
}
