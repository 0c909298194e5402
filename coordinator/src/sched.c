/* Scheduling: chunks against READY credit, attempts and their ends,
 * failure budgets and blocks, audits and quarantine. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "coord_internal.h"
#include "lattice/coordinator.h"
#include "lattice/digest.h"
#include "lattice/files.h"
#include "lattice/frame_msg.h"
#include "lattice/ir_codec.h"
#include "lattice/manifest.h"
#include "lattice/proc.h"
#include "lattice/repair.h"

uint64_t co_who(const char *name)
{
    uint8_t h[16];
    lx_xxh128(name, strlen(name), h);
    uint64_t v;
    memcpy(&v, h, sizeof v);
    return v ? v : 1;
}

static struct job_worker *s_job_worker(job_t *j, const char *name)
{
    uint64_t who = co_who(name);
    for (size_t k = 0; k < j->n_jw; k++)
        if (j->jw[k].who == who)
            return &j->jw[k];
    if (!co_grow((void **)&j->jw, &j->cap_jw, j->n_jw, sizeof *j->jw))
        return NULL;
    struct job_worker *x = &j->jw[j->n_jw++];
    memset(x, 0, sizeof *x);
    x->who = who;
    snprintf(x->name, sizeof x->name, "%s", name);
    return x;
}

bool co_blocked(const job_t *j, const char *name, double now)
{
    uint64_t who = co_who(name);
    for (size_t k = 0; k < j->n_jw; k++)
        if (j->jw[k].who == who)
            return j->jw[k].blocked_until > now;
    return false;
}

bool co_failed_by(const job_t *j, int64_t i, uint64_t who)
{
    for (int k = 0; k < j->ffail[i]; k++)
        if (j->fby[i][k] == who)
            return true;
    return false;
}

/* A chunk of job j failed on worker w: after 3, w is blocked for j until
 * the configured forgiveness has passed. */
static void s_blame_chunk(coord_t *c, job_t *j, const worker_t *w)
{
    struct job_worker *x = s_job_worker(j, w->name);
    if (!x || ++x->failed_chunks < MAX_FRAME_FAILURES)
        return;
    x->failed_chunks = 0;
    x->blocked_until = lx_monotonic_ms() + c->cfg->forgive_ms;
    co_log(c, LX_LOG_WARN, "event=worker_blocked job=%s worker=%s for_ms=%.0f", j->id, w->name,
           c->cfg->forgive_ms);
}

/* Frames [first, last] still running under attempt id go back to the
 * queue, inside the caller's transaction. With a worker to blame, the
 * first of them (the one it was rendering: workers render in order) counts
 * one failure; a frame out of budget fails, and so does its job. */
bool co_release_frames(coord_t *c, job_t *j, uint64_t id, int64_t first, int64_t last,
                       const worker_t *blame, lx_error_t *err)
{
    bool ok = true;
    uint64_t who = blame ? co_who(blame->name) : 0;
    for (int64_t f = first; f <= last && ok; f++) {
        int64_t i = f - j->first;
        if (j->fstate[i] != F_RUNNING || j->fattempt[i] != id)
            continue;
        j->running--;
        int st = F_PENDING;
        /* Budget: 3 failures on distinct workers. The same worker failing
         * a frame again does not count (it is not given that frame again). */
        bool in_hand = blame != NULL;
        blame = NULL; /* only the frame in hand failed; the rest were not reached */
        if (in_hand && !co_failed_by(j, i, who)) {
            j->fby[i][j->ffail[i]++] = who;
            if (j->ffail[i] >= MAX_FRAME_FAILURES) {
                st = F_FAILED;
                j->failed++;
                co_log(c, LX_LOG_ERROR, "event=frame_failed job=%s frame=%" PRId64 " workers=%d",
                       j->id, f, MAX_FRAME_FAILURES);
            }
        }
        j->fstate[i] = (uint8_t)st;
        if (st == F_PENDING && i < j->hint)
            j->hint = i;
        char by[3 * 17 + 1] = "";
        for (int k = 0; k < j->ffail[i]; k++)
            snprintf(by + 17 * k, sizeof by - 17 * (size_t)k, "%016llx,",
                     (unsigned long long)j->fby[i][k]);
        ok = journal_exec(c->journal, err,
                          "UPDATE frames SET state = ?, failures = ?, failed_by = ? WHERE job = ?"
                          " AND frame = ?",
                          "sissi", st == F_FAILED ? "failed" : "pending", (int64_t)j->ffail[i], by,
                          j->id, f) == LX_OK;
    }
    if (ok && j->failed && j->state <= J_RUNNING) {
        j->state = J_FAILED;
        free(j->error);
        j->error = strdup("frames failed on 3 different workers; see the coordinator log "
                          "(event=frame_failed)");
        ok = journal_exec(c->journal, err,
                          "UPDATE jobs SET state = 'failed', error = ? WHERE id = ?", "ss",
                          j->error, j->id) == LX_OK;
        co_log(c, LX_LOG_ERROR, "event=job_failed job=%s failed_frames=%" PRIu64, j->id, j->failed);
    }
    return ok;
}

/* An audit attempt ended without a result: its frame waits for another. */
static void s_audit_abandoned(job_t *j, const attempt_t *a)
{
    int64_t i = a->first - j->first;
    if (!j->faudit || i < 0 || i >= j->n)
        return;
    if (j->faudit[i] == A_RUNNING)
        j->faudit[i] = A_WANTED;
    else if (j->faudit[i] == A_THIRD)
        j->faudit[i] = A_DISPUTED;
}

/* Ends attempt a (state: done, failed, lost, cancelled): its unfinished
 * frames go back to the queue, and it is forgotten. */
void co_requeue(coord_t *c, attempt_t *a, const char *state, const char *reason,
                const worker_t *blame)
{
    job_t *j = a->job;
    lx_error_t err = {0};
    if (blame)
        s_blame_chunk(c, j, blame);
    if (a->audit)
        s_audit_abandoned(j, a);
    bool ok =
        journal_begin(c->journal, &err) == LX_OK &&
        co_release_frames(c, j, a->id, a->first, a->last, blame, &err) &&
        journal_exec(c->journal, &err, "UPDATE attempts SET state = ?, reason = ? WHERE id = ?",
                     "ssi", state, reason, (int64_t)a->id) == LX_OK;
    co_transaction_end(c, ok, &err);
    co_log(c, LX_LOG_INFO,
           "event=attempt_%s job=%s attempt=%" PRIu64 " frames=%" PRId64 "-%" PRId64 " reason=%s",
           state, j->id, a->id, a->first, a->last, reason);
    *a = c->attempts[--c->n_attempts];
}

static int64_t s_chunk_size(coord_t *c, const job_t *j)
{
    if (j->chunk)
        return j->chunk;
    /* Adaptive: toward the target chunk time, measured from completed
     * frames; near the end, the rest is split across the workers so that
     * no single worker is left with a long tail. */
    int64_t n = 2;
    if (j->done)
        n = (int64_t)(c->cfg->target_chunk_ms / fmax(j->ms_sum / (double)j->done, 1e-3));
    n = n < 1 ? 1 : n > 1024 ? 1024 : n;
    int64_t active = 0;
    for (size_t i = 0; i < c->n_workers; i++)
        active += c->workers[i].helloed && !c->workers[i].draining;
    int64_t pending = j->n - (int64_t)(j->done + j->running + j->failed);
    int64_t share = active ? (pending + active - 1) / active : pending;
    return n < share ? n : share > 0 ? share : 1;
}

/* The first frame a worker evaluates for chunk [a, ..]: state_horizon
 * frames before a (one at least, for the motion of frame a), or the
 * timeline start when the horizon is unbounded (ARCHITECTURE.md §6). */
static int64_t s_warmup_from(const job_t *j, int64_t a)
{
    if (j->p->state_horizon == LX_HORIZON_UNBOUNDED)
        return 0;
    int64_t h = j->p->state_horizon > 1 ? (int64_t)j->p->state_horizon : 1;
    return a - h > 0 ? a - h : 0;
}

/* ASSIGN for attempt a (already journaled). */
static void s_send_assign(coord_t *c, worker_t *w, const attempt_t *a, int64_t warm)
{
    const job_t *j = a->job;
    int64_t range[2] = {a->first, a->last};
    lx_msg_t m = {.type = LX_MSG_ASSIGN};
    LX_MSG_SET(&m, job, j->id);
    LX_MSG_SET(&m, attempt, a->id);
    LX_MSG_SET(&m, program_hash, j->program_hash);
    LX_MSG_SET(&m, config, j->config_json);
    LX_MSG_SET(&m, config_hash, j->config_hash);
    LX_MSG_SET(&m, frames, ((lx_i64s_t){range, 2}));
    LX_MSG_SET(&m, warmup_from, warm);
    LX_MSG_SET(&m, output, j->stream ? "stream" : "shared");
    if (!j->stream)
        LX_MSG_SET(&m, out, j->out);
    if (a->audit)
        LX_MSG_SET(&m, audit, true);
    co_log(c, LX_LOG_INFO,
           "event=%s job=%s attempt=%" PRIu64 " frames=%" PRId64 "-%" PRId64 " warmup_from=%" PRId64
           " worker=%s",
           a->audit ? "assign_audit" : "assign", j->id, a->id, a->first, a->last, warm, w->name);
    co_send_worker(c, w, &m);
}

static bool s_assign(coord_t *c, worker_t *w, job_t *j)
{
    int64_t i = j->hint;
    while (i < j->n && j->fstate[i] != F_PENDING)
        i++;
    j->hint = i;
    if (co_blocked(j, w->name, lx_monotonic_ms()))
        return false;
    /* A worker is never given a frame it failed: the next pending frame
     * it has not failed starts its chunk, the next one it has ends it. */
    uint64_t who = co_who(w->name);
    while (i < j->n && (j->fstate[i] != F_PENDING || co_failed_by(j, i, who)))
        i++;
    if (i >= j->n)
        return false;
    int64_t want = s_chunk_size(c, j), k = i;
    while (k < j->n && k - i < want && j->fstate[k] == F_PENDING && !co_failed_by(j, k, who))
        k++;
    if (!co_grow((void **)&c->attempts, &c->cap_attempts, c->n_attempts, sizeof *c->attempts))
        return false;
    attempt_t a = {++c->next_attempt, j,    j->first + i, j->first + k - 1, w->serial,
                   lx_monotonic_ms(), false};
    int64_t warm = s_warmup_from(j, a.first);
    lx_error_t err = {0};
    bool ok =
        journal_begin(c->journal, &err) == LX_OK &&
        journal_exec(c->journal, &err,
                     "INSERT INTO attempts(id, job, first, last, warmup_from, worker, state)"
                     " VALUES(?, ?, ?, ?, ?, ?, 'running')",
                     "isiiis", (int64_t)a.id, j->id, a.first, a.last, warm, w->name) == LX_OK &&
        journal_exec(c->journal, &err,
                     "UPDATE frames SET state = 'running', attempt = ? WHERE job = ? AND"
                     " frame BETWEEN ? AND ?",
                     "isii", (int64_t)a.id, j->id, a.first, a.last) == LX_OK &&
        journal_exec(c->journal, &err,
                     "UPDATE jobs SET state = 'running' WHERE id = ? AND state = 'queued'", "s",
                     j->id) == LX_OK &&
        journal_commit(c->journal, &err) == LX_OK;
    if (!ok) {
        journal_rollback(c->journal);
        co_journal_fail(c, &err);
        return false;
    }
    for (int64_t f = i; f < k; f++) {
        j->fstate[f] = F_RUNNING;
        j->fattempt[f] = a.id;
    }
    j->running += (uint64_t)(k - i);
    if (j->state == J_QUEUED)
        j->state = J_RUNNING;
    c->attempts[c->n_attempts++] = a;
    s_send_assign(c, w, &a, warm);
    return true;
}

static bool s_quarantined_who(const coord_t *c, uint64_t who)
{
    for (size_t k = 0; k < c->n_quarantined; k++)
        if (c->quarantined[k].who == who)
            return true;
    return false;
}

bool co_quarantined(const coord_t *c, const char *name)
{
    return s_quarantined_who(c, co_who(name));
}

/* What workers are compared on: XXH3-128 over the result's content hashes
 * (ARCHITECTURE.md §5: content survives a different zlib). */
static void s_signature(const lx_msg_t *m, uint8_t sig[16])
{
    lx_strbuf_t sb;
    lx_strbuf_init(&sb, NULL);
    for (uint32_t k = 0; k < m->files.n; k++)
        lx_strbuf_addf(&sb, "%s:%s\n", m->files.v[k].key, m->files.v[k].content);
    lx_xxh128(sb.buf, sb.len, sig);
    lx_strbuf_release(&sb);
}

/* Every chunk-boundary frame, and a share `rate` of the others chosen by a
 * hash of (job, frame), so the choice does not depend on timing. */
static bool s_audit_selected(const job_t *j, const attempt_t *a, int64_t f)
{
    if (j->audit_rate < 0)
        return false;
    if (f == a->first || f == a->last)
        return true;
    char key[96];
    int n = snprintf(key, sizeof key, "%s:%lld", j->id, (long long)f);
    uint8_t h[16];
    lx_xxh128(key, (size_t)n, h);
    uint64_t v;
    memcpy(&v, h, sizeof v);
    return (double)(v >> 11) / 9007199254740992.0 < j->audit_rate;
}

void co_maybe_finish(coord_t *c, job_t *j)
{
    if ((int64_t)j->done == j->n && j->audits_open == 0 && j->state <= J_RUNNING)
        co_finish(c, j);
}

/* Frame i goes back to the queue: its accepted result no longer counts. */
static void s_unaccept(coord_t *c, job_t *j, int64_t i, lx_error_t *err, bool *ok)
{
    if (j->faudit[i] != A_NONE && j->faudit[i] != A_DONE)
        j->audits_open--;
    j->faudit[i] = A_NONE;
    j->fstate[i] = F_PENDING;
    j->done--;
    j->audit_rerendered++;
    if (i < j->hint)
        j->hint = i;
    *ok = *ok &&
          journal_exec(c->journal, err,
                       "UPDATE frames SET state = 'pending' WHERE job = ? AND"
                       " frame = ?",
                       "si", j->id, j->first + i) == LX_OK &&
          journal_exec(c->journal, err,
                       "UPDATE results SET current = 0 WHERE job = ? AND"
                       " frame = ?",
                       "si", j->id, j->first + i) == LX_OK;
}

/* An audit caught `name` (the minority of 2 of 3): it gets no more work,
 * its chunks in flight are cancelled, and every frame it rendered that no
 * audit confirmed is rendered again by others. */
static void s_quarantine(coord_t *c, uint64_t who, const char *name, int64_t frame)
{
    /* Already quarantined: listed once, but whatever of its work is still
     * open (a frame an audit just settled against it) is queued again. */
    if (!s_quarantined_who(c, who)) {
        if (co_grow((void **)&c->quarantined, &c->cap_quarantined, c->n_quarantined,
                    sizeof *c->quarantined)) {
            c->quarantined[c->n_quarantined].who = who;
            snprintf(c->quarantined[c->n_quarantined++].name, 129, "%s", name);
        }
        co_log(c, LX_LOG_ERROR, "event=worker_quarantined worker=%s frame=%" PRId64, name, frame);
    }
    for (size_t k = c->n_attempts; k-- > 0;) {
        attempt_t *a = &c->attempts[k];
        worker_t *w = co_worker_by_serial(c, a->worker);
        if (!w || co_who(w->name) != who)
            continue;
        lx_msg_t cancel = {.type = LX_MSG_CANCEL};
        LX_MSG_SET(&cancel, job, a->job->id);
        LX_MSG_SET(&cancel, attempt, a->id);
        co_send_worker(c, w, &cancel);
        co_requeue(c, a, "cancelled", "quarantined", NULL);
    }
    lx_error_t err = {0};
    bool ok = journal_begin(c->journal, &err) == LX_OK;
    for (size_t k = 0; k < c->n_jobs; k++) {
        job_t *j = c->jobs[k];
        if (!j->faudit || j->state > J_RUNNING)
            continue;
        uint64_t redo = 0;
        for (int64_t i = 0; i < j->n; i++) {
            if (j->faudit[i] == A_RUNNING && j->fwho[i][1] == who)
                j->faudit[i] = A_WANTED;
            if (j->faudit[i] == A_THIRD && j->fwho[i][2] == who)
                j->faudit[i] = A_DISPUTED;
            if (j->fstate[i] == F_DONE && j->fwho[i][0] == who && j->faudit[i] != A_DONE) {
                s_unaccept(c, j, i, &err, &ok);
                redo++;
            }
        }
        if (redo)
            co_log(c, LX_LOG_WARN, "event=audit_rerender job=%s frames=%" PRIu64 " worker=%s",
                   j->id, redo, name);
    }
    co_transaction_end(c, ok, &err);
}

/* A primary result of frame i was accepted: remember who said what, and
 * whether it is to be audited. */
void co_audit_primary(job_t *j, const attempt_t *a, int64_t i, const worker_t *w, const lx_msg_t *m)
{
    if (!j->faudit)
        return;
    j->fwho[i][0] = co_who(w->name);
    s_signature(m, j->fsig[i][0]);
    j->faudit[i] = A_NONE;
    if (s_audit_selected(j, a, j->first + i)) {
        j->faudit[i] = A_WANTED;
        j->audits_open++;
    }
}

/* Hands worker w one frame to render again for comparison: a frame
 * another worker rendered (and, for a dispute, not the auditor either). */
static bool s_assign_audit(coord_t *c, worker_t *w, job_t *j)
{
    if (!j->faudit || !j->audits_open || j->state > J_RUNNING)
        return false;
    uint64_t who = co_who(w->name);
    int64_t i = 0;
    for (; i < j->n; i++)
        if ((j->faudit[i] == A_WANTED && j->fwho[i][0] != who) ||
            (j->faudit[i] == A_DISPUTED && j->fwho[i][0] != who && j->fwho[i][1] != who))
            break;
    if (i == j->n ||
        !co_grow((void **)&c->attempts, &c->cap_attempts, c->n_attempts, sizeof *c->attempts))
        return false;
    int64_t f = j->first + i;
    attempt_t a = {++c->next_attempt, j, f, f, w->serial, lx_monotonic_ms(), true};
    int64_t warm = s_warmup_from(j, f);
    lx_error_t err = {0};
    if (journal_exec(c->journal, &err,
                     "INSERT INTO attempts(id, job, first, last, warmup_from, worker, state,"
                     " reason) VALUES(?, ?, ?, ?, ?, ?, 'audit', 'audit')",
                     "isiiis", (int64_t)a.id, j->id, f, f, warm, w->name) != LX_OK) {
        co_journal_fail(c, &err);
        return false;
    }
    bool third = j->faudit[i] == A_DISPUTED;
    j->faudit[i] = third ? A_THIRD : A_RUNNING;
    j->fwho[i][third ? 2 : 1] = who;
    c->attempts[c->n_attempts++] = a;
    s_send_assign(c, w, &a, warm);
    return true;
}

/* The result of an audit attempt: equal content confirms; a disagreement
 * goes to a third worker, and 2 of 3 decide who is quarantined. */
void co_on_audit_frame(coord_t *c, job_t *j, attempt_t *a, const lx_msg_t *m)
{
    int64_t f = a->first, i = f - j->first;
    uint8_t sig[16];
    s_signature(m, sig);
    uint8_t state = j->faudit[i];
    a->audit = false; /* answered: ending it below must not reopen the audit */
    co_requeue(c, a, "done", "audit", NULL);
    if (state == A_RUNNING) {
        if (memcmp(sig, j->fsig[i][0], 16) == 0) {
            j->faudit[i] = A_DONE;
            j->audits_open--;
            j->audited++;
            return;
        }
        memcpy(j->fsig[i][1], sig, 16);
        j->faudit[i] = A_DISPUTED;
        j->disputed++;
        co_log(c, LX_LOG_WARN, "event=audit_disagreement job=%s frame=%" PRId64, j->id, f);
        return;
    }
    if (state != A_THIRD)
        return; /* the audit was called off meanwhile (a quarantine) */
    memcpy(j->fsig[i][2], sig, 16);
    bool primary_ok = memcmp(sig, j->fsig[i][0], 16) == 0;
    bool auditor_ok = memcmp(sig, j->fsig[i][1], 16) == 0;
    if (primary_ok || auditor_ok) {
        /* The kept result is confirmed; a wrong one stays open, and the
         * quarantine of the worker that rendered it queues it again. */
        if (primary_ok) {
            j->faudit[i] = A_DONE;
            j->audits_open--;
            j->audited++;
        }
        uint64_t liar = primary_ok ? j->fwho[i][1] : j->fwho[i][0];
        char name[129] = "?";
        for (size_t k = 0; k < c->n_workers; k++)
            if (co_who(c->workers[k].name) == liar)
                snprintf(name, sizeof name, "%s", c->workers[k].name);
        s_quarantine(c, liar, name, f);
        co_log(c, LX_LOG_WARN, "event=audit_settled job=%s frame=%" PRId64 " kept=%s", j->id, f,
               primary_ok ? "primary" : "majority");
        return;
    }
    j->faudit[i] = A_DONE;
    j->audits_open--;
    j->failed++;
    j->state = J_FAILED;
    free(j->error);
    j->error = strdup("an audit found three different results for one frame");
    co_log(c, LX_LOG_ERROR, "event=audit_no_majority job=%s frame=%" PRId64, j->id, f);
}

static uint32_t s_held(const coord_t *c, const worker_t *w)
{
    uint32_t held = 0;
    for (size_t k = 0; k < c->n_attempts; k++)
        held += c->attempts[k].worker == w->serial;
    return held;
}

/* Work goes out only against credit: what the worker's last READY asked
 * for, less the attempts it holds. Credit frees itself when an attempt
 * ends, however it ends (CHUNK_DONE, all frames in, lost, cancelled). */
void co_dispatch(coord_t *c)
{
    for (size_t wi = 0; wi < c->n_workers; wi++) {
        worker_t *w = &c->workers[wi];
        if (!w->helloed || w->draining || co_quarantined(c, w->name))
            continue;
        uint32_t held = s_held(c, w);
        uint32_t credit = w->ready > held ? w->ready - held : 0;
        for (size_t ji = 0; ji < c->n_jobs && credit > 0; ji++) {
            job_t *j = c->jobs[ji];
            while (credit > 0 && j->state <= J_RUNNING &&
                   (s_assign_audit(c, w, j) || s_assign(c, w, j)))
                credit--;
        }
    }
}
