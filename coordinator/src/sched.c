/* The scheduler core's events (see sched.h). */
#include "sched.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "attempts.h"
#include "audit.h"

void co_sched_submit(const co_state_t *s, co_job_t **job_p, const void *program, size_t program_len,
                     co_tx_t *tx)
{
    (void)s;
    co_job_t *j = *job_p;
    *job_p = NULL;
    co_change_t *c = co_tx_change(tx, CO_CH_JOB_ADD, j);
    c->u.job_add.program = program;
    c->u.job_add.program_len = program_len;
    co_tx_log(tx, LX_LOG_INFO,
              "event=job_submitted job=%s project=%s frames=%" PRId64 "-%" PRId64
              " output=%s out=\"%s\" program=%.12s",
              j->id, j->program->patch_id, j->first, j->first + j->n - 1,
              j->stream ? "stream" : "shared", j->out, j->program_hash);
}

static bool s_listed(const lx_msg_t *hello, uint64_t attempt)
{
    for (uint32_t k = 0; hello && LX_MSG_HAS(hello, resumed) && k < hello->resumed.n; k++)
        if (hello->resumed.v[k] == attempt)
            return true;
    return false;
}

/* Session w is over: its attempts go back to the queue, except those a
 * new session of the same worker takes over (listed in its HELLO). */
static void s_close_session(const co_state_t *s, const co_session_t *w, const char *why,
                            const lx_msg_t *hello, double now, co_tx_t *tx)
{
    co_tx_log(tx, LX_LOG_INFO, "event=worker_%s worker=%s session=%" PRIu64 " frames=%" PRIu64, why,
              w->name, w->serial, w->frames);
    for (size_t k = 0; k < s->n_attempts; k++) {
        const co_attempt_t *a = &s->attempts[k];
        if (a->session == w->serial && !s_listed(hello, a->id))
            co_attempt_end(s, a, "lost", why, 0, false, now, tx);
    }
    co_change_t *c = co_tx_change(tx, CO_CH_SESSION_CLOSE, NULL);
    c->session = w->serial;
    c->worker = co_state_name(s, w->who);
    c->u.session_close.why = why;
    c->u.session_close.name = w->name;
}

static void s_error(uint64_t serial, const char *code, co_tx_t *tx, const char *message)
{
    co_effect_t *e = co_tx_effect(tx, CO_FX_ERROR, serial);
    e->code = code;
    e->message = co_tx_strdup(tx, message);
}

/* Whether session w is the worker saying HELLO on another socket: the
 * same identity under the same name (one key may run several workers,
 * told apart by name; a name alone proves nothing). */
static bool s_same_worker(const co_session_t *w, co_ident_t who, const char *name)
{
    return who && w->who == who && strcmp(w->name, name) == 0;
}

void co_sched_hello(const co_state_t *s, uint64_t serial, const char *key, const lx_msg_t *hello,
                    double now, co_tx_t *tx)
{
    const char *ident = key ? key : hello->name;
    if (!ident[0]) {
        s_error(serial, "bad_request", tx, "HELLO needs a name");
        return;
    }
    co_ident_t who = co_state_ident(s, ident);
    /* A second HELLO on one socket starts its session again. */
    const co_session_t *again = co_state_session(s, serial);
    if (again)
        s_close_session(s, again, "replaced", hello, now, tx);
    /* The same worker on another socket: it reconnected, that session is over. */
    for (size_t k = 0; who && k < s->n_sessions; k++)
        if (s_same_worker(&s->sessions[k], who, hello->name) && s->sessions[k].serial != serial)
            s_close_session(s, &s->sessions[k], "replaced", hello, now, tx);
    co_change_t *c = co_tx_change(tx, CO_CH_SESSION_OPEN, NULL);
    c->session = serial;
    c->worker = co_tx_strdup(tx, ident);
    c->u.session_open.name = co_tx_strdup(tx, hello->name);
    c->now = now;
    c->u.session_open.build = co_tx_strdup(tx, hello->build);
    c->u.session_open.threads = (uint32_t)hello->threads;
    uint32_t resumed = LX_MSG_HAS(hello, resumed) ? hello->resumed.n : 0;
    co_tx_log(tx, LX_LOG_INFO,
              "event=worker_joined worker=%s key=%.8s session=%" PRIu64
              " threads=%u build=\"%s\" resumed=%u",
              hello->name, key ? key : "-", serial, (unsigned)hello->threads, hello->build,
              resumed);
    /* Attempts it still holds: adopted when they are its own (orphans of a
     * restart given to its identity, or its previous session's), cancelled
     * otherwise so that it does not work for nothing. */
    for (uint32_t k = 0; k < resumed; k++) {
        const co_attempt_t *a = co_state_attempt(s, hello->resumed.v[k]);
        const co_session_t *owner = a ? co_state_session(s, a->session) : NULL;
        bool adopt = a && ((!owner && who && a->who == who) ||
                           (owner && (owner->serial == serial ||
                                      s_same_worker(owner, who, hello->name))));
        if (adopt && a->session != serial) {
            co_change_t *o = co_tx_change(tx, CO_CH_ATTEMPT_OWNER, a->job);
            o->attempt = a->id;
            o->session = serial;
        } else if (!adopt) {
            co_effect_t *e = co_tx_effect(tx, CO_FX_CANCEL, serial);
            e->job_id = a ? a->job->id : NULL;
            e->attempt = hello->resumed.v[k];
        }
    }
}

void co_sched_ready(const co_state_t *s, uint64_t serial, uint32_t credit, co_tx_t *tx)
{
    if (!co_state_session(s, serial))
        return;
    co_change_t *c = co_tx_change(tx, CO_CH_SESSION_CREDIT, NULL);
    c->session = serial;
    c->u.session_credit.credit = credit;
}

static void s_ack(const lx_msg_t *m, uint64_t serial, co_tx_t *tx)
{
    co_effect_t *e = co_tx_effect(tx, CO_FX_ACK, serial);
    e->job_id = co_tx_strdup(tx, m->job);
    e->attempt = m->attempt;
    e->frame = m->frame;
}

/* The identity of session `serial`, as journaled. */
static const char *s_worker(const co_state_t *s, uint64_t serial)
{
    const co_session_t *w = co_state_session(s, serial);
    return co_state_name(s, w ? w->who : 0);
}

/* The name session `serial` gave in HELLO, for logs. */
static const char *s_label(const co_state_t *s, uint64_t serial)
{
    const co_session_t *w = co_state_session(s, serial);
    return w ? w->name : "";
}

co_frame_verdict_t co_sched_frame(const co_state_t *s, uint64_t serial, const lx_msg_t *m,
                                  const void *record, size_t record_len, double now, co_tx_t *tx)
{
    co_job_t *j = co_state_job(s, m->job);
    int64_t f = m->frame;
    if (!j || f < j->first || f >= j->first + j->n) {
        char why[256];
        snprintf(why, sizeof why, "no frame %" PRId64 " in job '%s'", f, m->job);
        s_error(serial, "unknown_job", tx, why);
        s_ack(m, serial, tx); /* the worker must not keep it forever */
        return CO_FRAME_DECIDED;
    }
    const co_attempt_t *a = co_state_attempt(s, m->attempt);
    if ((a && a->session != serial) || m->attempt > s->last_attempt) {
        /* Fencing is bound to the session: whatever a peer learned of
         * another's attempt (`lattice workers` shows it), it cannot act on
         * it, nor on one not handed out yet. */
        co_tx_log(tx, LX_LOG_WARN,
                  "event=foreign_result job=%s attempt=%" PRIu64 " frame=%" PRId64 " worker=%s",
                  j->id, m->attempt, f, s_label(s, serial));
        s_error(serial, "not_your_attempt", tx, "this session does not hold that attempt");
        s_ack(m, serial, tx);
        return CO_FRAME_DECIDED;
    }
    if (a && a->audit && a->job == j && f == a->first) {
        /* An audit's answer is held to the rules of a result: a malformed
         * one (another file set, a bad camera) is no vote. */
        lx_error_t err = {0};
        if (co_job_manifest_frame(j, m, false, &err) != LX_OK) {
            co_sched_reject(s, serial, m, err.code, err.message, now, tx);
            return CO_FRAME_DECIDED;
        }
        s_ack(m, serial, tx);
        co_audit_on_frame(s, j, a, m, now, tx);
        return CO_FRAME_DECIDED;
    }
    const co_frame_t *fr = &j->frames[f - j->first];
    if (fr->state == CO_F_DONE && fr->attempt == m->attempt) {
        /* The accepted result again (resent after a reconnect, its ACK
         * lost): acknowledged, counted once. */
        s_ack(m, serial, tx);
        return CO_FRAME_DECIDED;
    }
    if (!a || a->job != j || fr->state != CO_F_RUNNING || fr->attempt != m->attempt) {
        /* A superseded attempt's late result: kept as evidence only. */
        co_change_t *c = co_tx_change(tx, CO_CH_EVIDENCE, j);
        c->frame = f;
        c->attempt = m->attempt;
        c->worker = s_worker(s, serial);
        c->u.result.record = record;
        c->u.result.record_len = record_len;
        co_tx_log(tx, LX_LOG_INFO,
                  "event=late_result job=%s attempt=%" PRIu64 " frame=%" PRId64
                  " worker=%s late=%" PRIu64,
                  j->id, m->attempt, f, s_label(s, serial), j->late + 1);
        s_ack(m, serial, tx);
        return CO_FRAME_LATE;
    }
    /* Keys and names are checked before a byte is written: a FRAME must
     * not overwrite another frame's file. */
    lx_error_t err = {0};
    if (co_job_manifest_frame(j, m, false, &err) != LX_OK) {
        co_sched_reject(s, serial, m, err.code, err.message, now, tx);
        return CO_FRAME_DECIDED;
    }
    return CO_FRAME_CANDIDATE;
}

void co_sched_keep(const co_state_t *s, co_job_t *j, const lx_msg_t *m, const void *record,
                   size_t record_len, co_tx_t *tx)
{
    (void)s;
    co_change_t *c = co_tx_change(tx, CO_CH_RESULT, j);
    c->frame = m->frame;
    c->attempt = 0;
    c->worker = "";
    c->u.result.msg = m;
    c->u.result.record = record;
    c->u.result.record_len = record_len;
}

void co_sched_accept(const co_state_t *s, uint64_t serial, const lx_msg_t *m, const void *record,
                     size_t record_len, double now, co_tx_t *tx)
{
    co_job_t *j = co_state_job(s, m->job);
    const co_attempt_t *a = co_state_attempt(s, m->attempt);
    const co_session_t *w = co_state_session(s, serial);
    co_ident_t who = w ? w->who : 0;
    co_change_t *c = co_tx_change(tx, CO_CH_RESULT, j);
    c->frame = m->frame;
    c->attempt = m->attempt;
    c->session = serial;
    c->worker = co_state_name(s, who);
    c->now = now;
    c->u.result.msg = m;
    c->u.result.record = record;
    c->u.result.record_len = record_len;
    s_ack(m, serial, tx);
    co_audit_on_result(s, j, a, m->frame, w, m, tx);
    co_tx_log(tx, LX_LOG_DEBUG,
              "event=frame job=%s attempt=%" PRIu64 " frame=%" PRId64 " render_ms=%.1f worker=%s",
              j->id, m->attempt, m->frame, m->render_ms, s_label(s, serial));
    /* An attempt whose frames are all in is over, even if its CHUNK_DONE
     * is lost (a reconnect): it must not hold credit. */
    for (int64_t g = a->first; g <= a->last; g++) {
        const co_frame_t *fr = &j->frames[g - j->first];
        if (g != m->frame && fr->state == CO_F_RUNNING && fr->attempt == a->id)
            return;
    }
    co_attempt_close(a, "done", "complete", tx);
}

void co_sched_reject(const co_state_t *s, uint64_t serial, const lx_msg_t *m, lx_result_t rc,
                     const char *why, double now, co_tx_t *tx)
{
    co_job_t *j = co_state_job(s, m->job);
    const co_attempt_t *a = co_state_attempt(s, m->attempt);
    const co_session_t *w = co_state_session(s, serial);
    co_tx_log(tx, LX_LOG_WARN,
              "event=result_rejected job=%s attempt=%" PRIu64 " frame=%" PRId64
              " worker=%s error=\"%s\"",
              j->id, m->attempt, m->frame, s_label(s, serial), why);
    char text[700];
    snprintf(text, sizeof text, "frame %" PRId64 ": %s", m->frame, why);
    s_error(serial, "result_rejected", tx, text);
    s_ack(m, serial, tx);
    if (rc == LX_E_IO) {
        /* The export's storage failed (full, read-only, gone): no worker
         * can do better, so the job fails now, nobody blamed, rather than
         * retry forever. Frames already in stay valid for a rerender. */
        co_attempt_release(s, j, a->id, a->first, a->last, 0, now, tx);
        co_sched_storage_failed(s, j, why, a->id, now, tx);
        co_attempt_close(a, "failed", "storage", tx);
        return;
    }
    if (rc == LX_E_NOMEM) {
        /* The coordinator's memory is not the worker's fault: only this
         * frame goes back, and the attempt goes on. */
        co_attempt_release(s, j, a->id, m->frame, m->frame, 0, now, tx);
        return;
    }
    /* A worker that delivers a wrong result fails its attempt, like a
     * render error: the frame in hand counts against it. */
    co_attempt_stop(s, a, "failed", "result_rejected", w ? w->who : a->who, false, now, tx);
}

void co_sched_chunk_end(const co_state_t *s, uint64_t serial, const lx_msg_t *m,
                        const char *storage, double now, co_tx_t *tx)
{
    const co_attempt_t *a = co_state_attempt(s, m->attempt);
    const co_session_t *w = co_state_session(s, serial);
    if (!a || !w || a->session != serial) {
        co_tx_log(tx, LX_LOG_DEBUG, "event=stale_chunk_end attempt=%" PRIu64 " worker=%s",
                  m->attempt, s_label(s, serial));
        return;
    }
    if (m->type == LX_MSG_CHUNK_DONE) {
        co_attempt_end(s, a, "done", "complete", 0, false, now, tx);
        return;
    }
    /* Interruptions never count against a frame's budget. */
    bool interrupted = strcmp(m->reason, "interrupted") == 0 || strcmp(m->reason, "busy") == 0;
    const char *message = LX_MSG_HAS(m, message) ? m->message : "";
    co_tx_log(tx, LX_LOG_WARN,
              "event=chunk_failed job=%s attempt=%" PRIu64 " worker=%s reason=%s message=\"%s\"",
              a->job->id, a->id, w->name, m->reason, message);
    bool confirmed = strcmp(m->reason, "storage") == 0 && storage && !a->audit;
    if (strcmp(m->reason, "storage") == 0 && !confirmed)
        co_tx_log(tx, LX_LOG_WARN,
                  "event=storage_unconfirmed job=%s worker=%s (the export looks writable: "
                  "counted against the worker)",
                  a->job->id, w->name);
    co_attempt_end(s, a, "failed", m->reason, interrupted || confirmed ? 0 : w->who, false, now,
                   tx);
    if (confirmed) {
        char why[1000];
        snprintf(why, sizeof why, "%.600s (%.380s)", message, storage);
        co_sched_storage_failed(s, a->job, why, a->id, now, tx);
    }
}

void co_sched_storage_failed(const co_state_t *s, co_job_t *j, const char *why, uint64_t except,
                             double now, co_tx_t *tx)
{
    char text[1024];
    snprintf(text, sizeof text, "storage: %.1000s", why);
    co_job_fail(s, j, text, except, now, tx);
}

void co_sched_session_end(const co_state_t *s, uint64_t serial, const char *why, double now,
                          co_tx_t *tx)
{
    const co_session_t *w = co_state_session(s, serial);
    if (w)
        s_close_session(s, w, why, NULL, now, tx);
}

bool co_sched_tick(const co_state_t *s, double now, co_tx_t *tx)
{
    /* Stuck work: a worker that heartbeats but delivers no frame for the
     * job's progress timeout is told to stop; the chunk is requeued, a
     * failure of that worker. */
    for (size_t k = 0; k < s->n_attempts; k++) {
        const co_attempt_t *a = &s->attempts[k];
        const co_session_t *w = co_state_session(s, a->session);
        if (!w || now - a->progress <= a->job->progress_ms)
            continue;
        co_tx_log(tx, LX_LOG_WARN,
                  "event=stuck job=%s attempt=%" PRIu64 " worker=%s silent_ms=%.0f", a->job->id,
                  a->id, w->name, now - a->progress);
        co_attempt_stop(s, a, "stuck", "no_progress", w->who, false, now, tx);
        return true;
    }
    /* Attempts nobody re-announced within the grace period are lost. */
    if (now < s->grace_until)
        return false;
    for (size_t k = 0; k < s->n_attempts; k++)
        if (s->attempts[k].session == 0) {
            co_attempt_end(s, &s->attempts[k], "lost", "restart", 0, false, now, tx);
            return true;
        }
    return false;
}

bool co_sched_dispatch(const co_state_t *s, double now, co_tx_t *tx)
{
    for (size_t k = 0; k < s->n_sessions; k++) {
        const co_session_t *w = &s->sessions[k];
        if (w->credit <= w->held || co_state_quarantined(s, w->who))
            continue;
        for (size_t i = 0; i < s->n_jobs; i++) {
            co_job_t *j = s->jobs[i];
            if (j->state <= CO_J_RUNNING && !j->finisher &&
                (co_audit_assign(s, w, j, now, tx) || co_attempt_assign_chunk(s, w, j, now, tx)))
                return true;
        }
    }
    return false;
}

bool co_sched_finish(const co_state_t *s, double now, co_tx_t *tx)
{
    for (size_t i = 0; i < s->n_jobs; i++) {
        co_job_t *j = s->jobs[i];
        if (j->state > CO_J_RUNNING || j->finisher)
            continue; /* over, or its export is being written */
        if (co_job_complete(j)) {
            co_tx_effect(tx, CO_FX_FINISH, 0)->job = j;
            return true;
        }
        /* Failed frames nobody will render again (a repair that left them
         * out): the job cannot complete, so it fails instead of waiting. */
        if (j->failed && co_job_pending(j) == 0 && j->running == 0 && j->audits_open == 0) {
            char why[160];
            snprintf(why, sizeof why, "%" PRIu64 " frames failed", j->failed);
            co_job_fail(s, j, why, 0, now, tx);
            return true;
        }
    }
    return false;
}

void co_sched_finished(const co_state_t *s, co_job_t *j, lx_result_t rc, const char *error,
                       co_tx_t *tx)
{
    (void)s;
    co_change_t *c = co_tx_change(tx, CO_CH_JOB_STATE, j);
    c->u.job_state.state = rc == LX_OK ? CO_J_DONE : CO_J_FAILED;
    c->u.job_state.error = rc == LX_OK ? NULL : co_tx_strdup(tx, error);
    if (rc == LX_OK)
        co_tx_log(tx, LX_LOG_INFO, "event=job_done job=%s frames=%" PRId64 " workers=%u", j->id,
                  j->n, j->workers);
    else
        co_tx_log(tx, LX_LOG_ERROR, "event=job_failed job=%s error=\"%s\"", j->id, error);
}

void co_sched_cancel(const co_state_t *s, co_job_t *j, double now, co_tx_t *tx)
{
    /* A finishing job has every frame: its export is being written, and
     * it ends as soon as it is (a cancelled job could be restarted under
     * the writer's feet). */
    if (j->state > CO_J_RUNNING || j->finisher)
        return;
    co_tx_change(tx, CO_CH_JOB_STATE, j)->u.job_state.state = CO_J_CANCELLED;
    for (size_t k = 0; k < s->n_attempts; k++)
        if (s->attempts[k].job == j)
            co_attempt_stop(s, &s->attempts[k], "cancelled", "job_cancelled", 0, false, now, tx);
    co_tx_log(tx, LX_LOG_INFO, "event=job_cancelled job=%s done=%" PRIu64, j->id, j->done);
}

void co_sched_rerender(const co_state_t *s, co_job_t *j, const uint8_t *redo, lx_manifest_t **fresh,
                       double now, co_tx_t *tx)
{
    (void)s;
    int64_t count = 0;
    for (int64_t i = 0; i < j->n; i++)
        if (redo[i]) {
            co_change_t *c = co_tx_change(tx, CO_CH_FRAME_REOPEN, j);
            c->frame = j->first + i;
            c->u.frame_reopen.fresh_budget = true;
            count++;
        }
    if (count == 0 && !co_job_complete(j)) {
        /* Nothing to render and nothing to write: the job stays as it is. */
        co_tx_log(tx, LX_LOG_INFO, "event=rerender_nothing job=%s state=%s", j->id,
                  co_job_state_names[j->state]);
        lx_manifest_destroy(fresh);
        return;
    }
    co_tx_change(tx, CO_CH_JOB_STATE, j)->u.job_state.state = CO_J_RUNNING;
    co_change_t *c = co_tx_change(tx, CO_CH_JOB_RESTART, j);
    c->now = now;
    c->u.job_restart.manifest = *fresh;
    *fresh = NULL;
    co_tx_log(tx, LX_LOG_INFO, "event=rerender job=%s frames=%" PRId64, j->id, count);
}

/* Audits of j that no connected worker may take. */
static uint64_t s_audits_stuck(const co_state_t *s, const co_job_t *j)
{
    uint64_t stuck = 0;
    for (int64_t i = 0; j->audits && i < j->n; i++) {
        co_audit_state_t st = (co_audit_state_t)j->audits[i].state;
        if (st != CO_A_WANTED && st != CO_A_DISPUTED)
            continue;
        bool taken = false;
        for (size_t k = 0; k < s->n_sessions && !taken; k++)
            taken = !co_state_quarantined(s, s->sessions[k].who) &&
                    co_audit_open_for(j, i, &s->sessions[k]);
        stuck += !taken;
    }
    return stuck;
}

void co_sched_waiting(const co_state_t *s, const co_job_t *j, double now, char *out, size_t size)
{
    out[0] = '\0';
    int64_t pending = co_job_pending(j);
    if (j->state <= CO_J_RUNNING && pending <= 0 && j->running == 0 && j->audits_open) {
        uint64_t stuck = s_audits_stuck(s, j);
        if (stuck)
            snprintf(out, size,
                     "%" PRIu64 " audits wait for a worker of the build that rendered their "
                     "frames (see `lattice workers`), other than the ones that answered",
                     stuck);
        return;
    }
    if (j->state > CO_J_RUNNING || pending <= 0)
        return;
    uint32_t blocked = 0;
    for (size_t k = 0; k < s->n_sessions; k++) {
        co_ident_t who = s->sessions[k].who;
        if (co_job_blocked(j, who, now)) {
            blocked++;
            continue;
        }
        if (co_state_quarantined(s, who))
            continue;
        for (int64_t i = j->hint; i < j->n; i++)
            if (j->frames[i].state == CO_F_PENDING && !co_job_failed_by(j, i, who))
                return; /* this one can take work */
    }
    if (s->n_sessions == 0)
        snprintf(out, size, "no worker is connected; %" PRId64 " frames wait", pending);
    else
        snprintf(out, size,
                 "no connected worker can take the %" PRId64 " waiting frames: %u of %zu are "
                 "blocked for this job, the others already failed those frames or are "
                 "quarantined",
                 pending, blocked, s->n_sessions);
}
