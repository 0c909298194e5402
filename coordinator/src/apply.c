/* Applying transitions (see apply.h). */
#include "apply.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool s_audit_open(uint8_t state) { return state != CO_A_NONE && state != CO_A_DONE; }

static void s_pending(co_job_t *j, int64_t i)
{
    j->frames[i].state = CO_F_PENDING;
    if (i < j->hint)
        j->hint = i;
}

static bool s_job_add(co_state_t *s, co_change_t *c)
{
    if (!co_grow((void **)&s->jobs, &s->cap_jobs, s->n_jobs, sizeof *s->jobs))
        return false;
    s->jobs[s->n_jobs++] = c->job;
    c->job = NULL; /* the state owns it now */
    return true;
}

static bool s_job_state(co_change_t *c)
{
    co_job_t *j = c->job;
    j->state = c->u.job_state.state;
    free(j->error);
    j->error = c->u.job_state.error ? strdup(c->u.job_state.error) : NULL;
    return !c->u.job_state.error || j->error;
}

static void s_job_restart(co_change_t *c)
{
    co_job_t *j = c->job;
    if (c->u.job_restart.manifest) {
        lx_manifest_destroy(&j->manifest);
        j->manifest = c->u.job_restart.manifest;
        c->u.job_restart.manifest = NULL;
    }
    j->created = c->now;
}

/* Session serial holds one attempt more (+1) or less (-1): dispatch
 * reads the count instead of counting every attempt for every session. */
static void s_hold(co_state_t *s, uint64_t serial, int d)
{
    co_session_t *w = co_state_session(s, serial);
    if (w && (d > 0 || w->held > 0))
        w->held = (uint32_t)((int64_t)w->held + d);
}

static bool s_attempt_start(co_state_t *s, const co_change_t *c)
{
    if (!co_grow((void **)&s->attempts, &s->cap_attempts, s->n_attempts, sizeof *s->attempts))
        return false;
    co_job_t *j = c->job;
    co_attempt_t *a = &s->attempts[s->n_attempts++];
    *a = (co_attempt_t){c->attempt,
                        j,
                        c->u.attempt_start.first,
                        c->u.attempt_start.last,
                        c->u.attempt_start.warmup_from,
                        c->session,
                        co_state_intern(s, c->worker),
                        c->now,
                        c->u.attempt_start.audit};
    if (c->attempt > s->last_attempt)
        s->last_attempt = c->attempt;
    s_hold(s, a->session, +1);
    if (a->audit)
        return true;
    for (int64_t f = a->first; f <= a->last; f++) {
        co_frame_t *fr = &j->frames[f - j->first];
        fr->state = CO_F_RUNNING;
        fr->attempt = a->id;
        j->running++;
    }
    while (j->hint < j->n && j->frames[j->hint].state != CO_F_PENDING)
        j->hint++;
    return true;
}

static void s_attempt_end(co_state_t *s, const co_change_t *c)
{
    for (size_t i = 0; i < s->n_attempts; i++)
        if (s->attempts[i].id == c->attempt) {
            s_hold(s, s->attempts[i].session, -1);
            s->attempts[i] = s->attempts[--s->n_attempts];
            return;
        }
}

static void s_frame_release(co_state_t *s, const co_change_t *c)
{
    co_job_t *j = c->job;
    int64_t i = c->frame - j->first;
    co_frame_t *f = &j->frames[i];
    if (f->state == CO_F_RUNNING)
        j->running--;
    co_ident_t who = c->worker ? co_state_intern(s, c->worker) : 0;
    if (who && f->failures < CO_MAX_FAILURES && !co_job_failed_by(j, i, who))
        f->failed_by[f->failures++] = who;
    if (c->u.frame_release.failed) {
        f->state = CO_F_FAILED;
        j->failed++;
    } else {
        s_pending(j, i);
    }
}

static void s_frame_reopen(const co_change_t *c)
{
    co_job_t *j = c->job;
    int64_t i = c->frame - j->first;
    co_frame_t *f = &j->frames[i];
    if (f->state == CO_F_DONE)
        j->done--;
    else if (f->state == CO_F_FAILED)
        j->failed--;
    else if (f->state == CO_F_RUNNING)
        j->running--;
    s_pending(j, i);
    if (c->u.frame_reopen.fresh_budget)
        f->failures = 0;
    if (j->audits) {
        if (s_audit_open(j->audits[i].state))
            j->audits_open--;
        memset(&j->audits[i], 0, sizeof j->audits[i]);
    }
    if (c->u.frame_reopen.for_audit)
        j->rerendered++;
}

static bool s_result(co_state_t *s, const co_change_t *c, lx_error_t *err)
{
    co_job_t *j = c->job;
    co_frame_t *f = &j->frames[c->frame - j->first];
    if (f->state == CO_F_DONE) /* a second result for one frame: counted once */
        return co_job_manifest_frame(j, c->u.result.msg, true, err) == LX_OK;
    if (f->state == CO_F_RUNNING)
        j->running--;
    f->state = CO_F_DONE;
    f->attempt = c->attempt;
    j->done++;
    j->ms_sum += c->u.result.msg->render_ms;
    co_attempt_t *a = co_state_attempt(s, c->attempt);
    if (a)
        a->progress = c->now;
    co_session_t *w = co_state_session(s, c->session);
    if (w) {
        w->frames++;
        if (w->threads > j->max_threads)
            j->max_threads = w->threads;
        bool known = false;
        for (uint32_t k = 0; k < j->workers && !known; k++)
            known = j->delivered[k] == w->serial;
        size_t cap = j->cap_delivered;
        if (!known && co_grow((void **)&j->delivered, &cap, j->workers, sizeof *j->delivered)) {
            j->cap_delivered = (uint32_t)cap;
            j->delivered[j->workers++] = w->serial;
        }
    }
    return co_job_manifest_frame(j, c->u.result.msg, true, err) == LX_OK;
}

static void s_audit(co_state_t *s, const co_change_t *c)
{
    co_job_t *j = c->job;
    co_audit_t *a = &j->audits[c->frame - j->first];
    bool was_open = s_audit_open(a->state);
    *a = c->u.audit.audit;
    for (int k = 0; k < 3; k++)
        a->who[k] = c->u.audit.who[k] ? co_state_intern(s, c->u.audit.who[k]) : 0;
    bool open = s_audit_open(a->state);
    if (open && !was_open)
        j->audits_open++;
    else if (was_open && !open)
        j->audits_open--;
    j->audited += (uint64_t)c->u.audit.confirmed;
    j->disputed += (uint64_t)c->u.audit.disputed;
}

static bool s_quarantine(co_state_t *s, const co_change_t *c)
{
    co_ident_t who = co_state_intern(s, c->worker);
    if (co_state_quarantined(s, who))
        return true;
    if (!co_grow((void **)&s->quarantined, &s->cap_quarantined, s->n_quarantined,
                 sizeof *s->quarantined))
        return false;
    s->quarantined[s->n_quarantined++] = who;
    return true;
}

static bool s_block(co_state_t *s, const co_change_t *c)
{
    co_job_t *j = c->job;
    co_ident_t who = co_state_intern(s, c->worker);
    co_block_t *b = NULL;
    for (size_t k = 0; k < j->n_blocks && !b; k++)
        if (j->blocks[k].who == who)
            b = &j->blocks[k];
    if (!b) {
        if (!co_grow((void **)&j->blocks, &j->cap_blocks, j->n_blocks, sizeof *j->blocks))
            return false;
        b = &j->blocks[j->n_blocks++];
        b->who = who;
    }
    b->failed_chunks = c->u.block.failed_chunks;
    b->until = c->u.block.until;
    return true;
}

static bool s_session_open(co_state_t *s, const co_change_t *c)
{
    if (!co_grow((void **)&s->sessions, &s->cap_sessions, s->n_sessions, sizeof *s->sessions))
        return false;
    co_session_t *w = &s->sessions[s->n_sessions++];
    memset(w, 0, sizeof *w);
    w->serial = c->session;
    w->who = co_state_intern(s, c->worker);
    co_state_label_set(s, w->who, c->u.session_open.name);
    snprintf(w->name, sizeof w->name, "%s", c->u.session_open.name);
    snprintf(w->build, sizeof w->build, "%s", c->u.session_open.build);
    w->build_id = co_build_id(w->build);
    w->threads = c->u.session_open.threads;
    /* A second HELLO on one socket keeps its serial, and the attempts it
     * resumed keep pointing at it. */
    w->held = co_state_held(s, w->serial);
    return w->who != 0;
}

static void s_session_close(co_state_t *s, const co_change_t *c)
{
    for (size_t i = 0; i < s->n_sessions; i++)
        if (s->sessions[i].serial == c->session) {
            s->sessions[i] = s->sessions[--s->n_sessions];
            return;
        }
}

bool co_apply(co_state_t *s, co_tx_t *tx, lx_error_t *err)
{
    bool ok = true;
    for (size_t i = 0; i < tx->n_changes; i++) {
        co_change_t *c = &tx->changes[i];
        bool done = true;
        switch (c->kind) {
        case CO_CH_JOB_ADD:
            done = s_job_add(s, c);
            break;
        case CO_CH_JOB_STATE:
            done = s_job_state(c);
            break;
        case CO_CH_JOB_RESTART:
            s_job_restart(c);
            break;
        case CO_CH_ATTEMPT_START:
            done = s_attempt_start(s, c);
            break;
        case CO_CH_ATTEMPT_END:
            s_attempt_end(s, c);
            break;
        case CO_CH_ATTEMPT_OWNER: {
            co_attempt_t *a = co_state_attempt(s, c->attempt);
            if (a) {
                s_hold(s, a->session, -1);
                a->session = c->session;
                s_hold(s, a->session, +1);
            }
            break;
        }
        case CO_CH_FRAME_RELEASE:
            s_frame_release(s, c);
            break;
        case CO_CH_FRAME_REOPEN:
            s_frame_reopen(c);
            break;
        case CO_CH_RESULT:
            done = s_result(s, c, err);
            break;
        case CO_CH_EVIDENCE:
            c->job->late++;
            break;
        case CO_CH_AUDIT:
            s_audit(s, c);
            break;
        case CO_CH_QUARANTINE:
            done = s_quarantine(s, c);
            break;
        case CO_CH_BLOCK:
            done = s_block(s, c);
            break;
        case CO_CH_SESSION_OPEN:
            done = s_session_open(s, c);
            break;
        case CO_CH_SESSION_CLOSE:
            s_session_close(s, c);
            break;
        case CO_CH_SESSION_CREDIT: {
            co_session_t *w = co_state_session(s, c->session);
            if (w)
                w->credit = c->u.session_credit.credit;
            break;
        }
        }
        if (!done && ok) {
            ok = false;
            if (c->kind != CO_CH_RESULT || err->code == LX_OK)
                lx_fail(err, LX_E_NOMEM, "out of memory applying a transition");
        }
    }
    return ok;
}
