/* Handing out and ending attempts (see attempts.h). */
#include "attempts.h"

#include <inttypes.h>
#include <math.h>

#include "snapshots.h"

static int64_t s_chunk_size(const co_state_t *s, const co_job_t *j)
{
    if (j->chunk)
        return j->chunk;
    /* Adaptive: toward the target chunk time, measured from accepted
     * frames; near the end the rest is shared among the workers, so that
     * no single worker is left with a long tail. */
    int64_t n = 2;
    if (j->done)
        n = (int64_t)(s->policy.target_chunk_ms / fmax(j->ms_sum / (double)j->done, 1e-3));
    n = n < 1 ? 1 : n > 1024 ? 1024 : n;
    int64_t active = (int64_t)s->n_sessions, pending = co_job_pending(j);
    int64_t share = active ? (pending + active - 1) / active : pending;
    return n < share ? n : share > 0 ? share : 1;
}

void co_attempt_start(const co_state_t *s, co_job_t *j, const co_session_t *w, int64_t first,
                      int64_t last, bool audit, double now, co_tx_t *tx)
{
    uint64_t id = s->last_attempt + 1 + co_tx_attempts_started(tx);
    int64_t warm = co_job_warmup_from(j, first);
    co_change_t *c = co_tx_change(tx, CO_CH_ATTEMPT_START, j);
    c->attempt = id;
    c->session = w->serial;
    c->worker = co_state_name(s, w->who);
    c->now = now;
    c->u.attempt_start.first = first;
    c->u.attempt_start.last = last;
    c->u.attempt_start.warmup_from = warm;
    c->u.attempt_start.audit = audit;
    if (j->state == CO_J_QUEUED && co_tx_job_state(tx, j) < 0)
        co_tx_change(tx, CO_CH_JOB_STATE, j)->u.job_state.state = CO_J_RUNNING;
    co_effect_t *e = co_tx_effect(tx, CO_FX_ASSIGN, w->serial);
    e->attempt = id;
    e->job = j;
    e->job_id = j->id;
    co_tx_log(tx, LX_LOG_INFO,
              "event=%s job=%s attempt=%" PRIu64 " frames=%" PRId64 "-%" PRId64
              " warmup_from=%" PRId64 " worker=%s",
              audit ? "assign_audit" : "assign", j->id, id, first, last, warm, w->name);
}

bool co_attempt_assign_chunk(const co_state_t *s, const co_session_t *w, co_job_t *j, double now,
                             co_tx_t *tx)
{
    if (co_job_blocked(j, w->who, now))
        return false;
    /* A worker is never given a frame it failed: the next pending frame it
     * has not failed starts its chunk, the next one it has failed ends it. */
    int64_t i = j->hint;
    while (i < j->n && (j->frames[i].state != CO_F_PENDING || co_job_failed_by(j, i, w->who)))
        i++;
    if (i >= j->n)
        return false;
    /* A chunk waits for the snapshot pass to get near it rather than warm
     * up from the timeline start (snapshots.h). */
    if (j->snaps && !co_snaps_ready(j->snaps, j->first + i - 1))
        return false;
    int64_t want = s_chunk_size(s, j), k = i;
    while (k < j->n && k - i < want && j->frames[k].state == CO_F_PENDING &&
           !co_job_failed_by(j, k, w->who))
        k++;
    co_attempt_start(s, j, w, j->first + i, j->first + k - 1, false, now, tx);
    return true;
}

/* A chunk of j failed on worker who: at the budget's count, who is
 * blocked for j until the policy's forgiveness has passed. */
static void s_blame_chunk(const co_state_t *s, co_job_t *j, co_ident_t who, double now, co_tx_t *tx)
{
    const co_block_t *b = NULL;
    for (size_t k = 0; k < j->n_blocks && !b; k++)
        if (j->blocks[k].who == who)
            b = &j->blocks[k];
    uint32_t failed = (b ? b->failed_chunks : 0) + 1;
    co_change_t *c = co_tx_change(tx, CO_CH_BLOCK, j);
    c->worker = co_state_name(s, who);
    if (failed < CO_MAX_FAILURES) {
        c->u.block.failed_chunks = failed;
        c->u.block.until = b ? b->until : 0;
        return;
    }
    c->u.block.failed_chunks = 0;
    c->u.block.until = now + s->policy.forgive_ms;
    co_tx_log(tx, LX_LOG_WARN, "event=worker_blocked job=%s worker=%s for_ms=%.0f", j->id,
              co_state_label(s, who), s->policy.forgive_ms);
}

/* An audit attempt ended without a result: its frame waits for another
 * auditor (the first auditor of a dispute stays on record). */
static void s_audit_abandoned(const co_state_t *s, co_job_t *j, const co_attempt_t *a, co_tx_t *tx)
{
    co_audit_t rec = j->audits[a->first - j->first];
    if (rec.state == CO_A_RUNNING) {
        rec.state = CO_A_WANTED;
        rec.who[1] = 0;
    } else if (rec.state == CO_A_THIRD) {
        rec.state = CO_A_DISPUTED;
        rec.who[2] = 0;
    } else {
        return;
    }
    co_tx_audit(tx, s, j, a->first, &rec, 0, 0);
}

void co_attempt_end(const co_state_t *s, const co_attempt_t *a, const char *state,
                    const char *reason, co_ident_t blame, bool keep_audit, double now, co_tx_t *tx)
{
    co_job_t *j = a->job;
    if (blame)
        s_blame_chunk(s, j, blame, now, tx);
    if (!a->audit)
        co_attempt_release(s, j, a->id, a->first, a->last, blame, now, tx);
    else if (!keep_audit && j->audits)
        s_audit_abandoned(s, j, a, tx);
    co_attempt_close(a, state, reason, tx);
}

void co_attempt_close(const co_attempt_t *a, const char *state, const char *reason, co_tx_t *tx)
{
    co_job_t *j = a->job;
    co_change_t *c = co_tx_change(tx, CO_CH_ATTEMPT_END, j);
    c->attempt = a->id;
    c->u.attempt_end.state = state;
    c->u.attempt_end.reason = co_tx_strdup(tx, reason);
    co_tx_log(tx, LX_LOG_INFO,
              "event=attempt_%s job=%s attempt=%" PRIu64 " frames=%" PRId64 "-%" PRId64
              " reason=%s",
              state, j->id, a->id, a->first, a->last, reason);
}

void co_attempt_release(const co_state_t *s, co_job_t *j, uint64_t id, int64_t first, int64_t last,
                        co_ident_t blame, double now, co_tx_t *tx)
{
    bool in_hand = blame != 0, failed_any = false;
    /* Indexes, clipped to the job: no frame arithmetic can overflow. */
    int64_t lo = first > j->first ? first - j->first : 0;
    int64_t hi = last - j->first < j->n ? last - j->first : j->n - 1;
    for (int64_t i = lo; i <= hi; i++) {
        int64_t f = j->first + i;
        if (j->frames[i].state != CO_F_RUNNING || j->frames[i].attempt != id)
            continue;
        /* Only the frame in hand failed; the rest were not reached. The
         * same worker failing a frame again does not count (it is never
         * given that frame again). */
        co_ident_t who = 0;
        if (in_hand && !co_job_failed_by(j, i, blame))
            who = blame;
        in_hand = false;
        bool failed = who && j->frames[i].failures + 1 >= CO_MAX_FAILURES;
        co_change_t *c = co_tx_change(tx, CO_CH_FRAME_RELEASE, j);
        c->frame = f;
        c->worker = who ? co_state_name(s, who) : NULL;
        c->u.frame_release.failed = failed;
        if (failed) {
            co_tx_log(tx, LX_LOG_ERROR, "event=frame_failed job=%s frame=%" PRId64 " workers=%d",
                      j->id, f, CO_MAX_FAILURES);
            failed_any = true;
        }
    }
    if (failed_any)
        co_job_fail(s, j,
                    "frames failed on 3 different workers; see the coordinator log "
                    "(event=frame_failed)",
                    id, now, tx);
}

void co_job_fail(const co_state_t *s, co_job_t *j, const char *error, uint64_t except, double now,
                 co_tx_t *tx)
{
    /* A finishing job has every frame; its finisher decides how it ends. */
    if (j->state > CO_J_RUNNING || co_tx_job_state(tx, j) > CO_J_RUNNING || j->finisher)
        return;
    co_change_t *c = co_tx_change(tx, CO_CH_JOB_STATE, j);
    c->u.job_state.state = CO_J_FAILED;
    c->u.job_state.error = co_tx_strdup(tx, error);
    co_tx_log(tx, LX_LOG_ERROR, "event=job_failed job=%s error=\"%s\"", j->id, error);
    /* Nothing of a failed job is worth rendering any more. */
    for (size_t k = 0; k < s->n_attempts; k++)
        if (s->attempts[k].job == j && s->attempts[k].id != except)
            co_attempt_stop(s, &s->attempts[k], "cancelled", "job_failed", 0, false, now, tx);
}

void co_attempt_stop(const co_state_t *s, const co_attempt_t *a, const char *state,
                     const char *reason, co_ident_t blame, bool keep_audit, double now, co_tx_t *tx)
{
    if (a->session) {
        co_effect_t *e = co_tx_effect(tx, CO_FX_CANCEL, a->session);
        e->job_id = a->job->id;
        e->attempt = a->id;
    }
    co_attempt_end(s, a, state, reason, blame, keep_audit, now, tx);
}
