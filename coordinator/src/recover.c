/* Rebuilding the state from the journal (see recover.h). */
#include "recover.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

typedef struct recover {
    co_state_t *s;
    co_journal_t *journal;
    co_tx_t *log;
    double now, wall; /* monotonic and unix ms */
    co_recovered_t *out;
} recover_t;

/* The job's program, from the store, and its plan, from the resolved
 * config: the same the workers are given. */
static co_job_t *s_job(recover_t *u, const co_journal_job_t *r, lx_error_t *err)
{
    lx_strbuf_t bytes;
    lx_strbuf_init(&bytes, NULL);
    co_job_t *j = NULL;
    if (co_journal_program(u->journal, r->program_hash, &bytes, err) == LX_OK)
        j = co_job_load(bytes.buf, bytes.len, r->config, r->out, r->audit_rate >= 0, err);
    lx_strbuf_release(&bytes);
    if (j && strcmp(j->config_hash, r->config_hash) != 0) {
        lx_fail(err, LX_E_VERIFY, "its config resolves to another hash");
        co_job_free(&j);
    }
    /* A shard renders a slice of its plan's frames. */
    if (j && (r->first != j->first || r->last != j->first + j->n - 1) &&
        co_job_slice(j, r->first, r->last, err) != LX_OK)
        co_job_free(&j);
    return j;
}

static bool s_on_job(void *user, const co_journal_job_t *r)
{
    recover_t *u = user;
    co_state_t *s = u->s;
    lx_error_t err = {0};
    co_job_t *j = s_job(u, r, &err);
    if (!j) {
        co_tx_log(u->log, LX_LOG_ERROR, "event=recover_failed job=%s error=\"%s\"", r->id,
                  err.message);
        return err.code != LX_E_NOMEM;
    }
    snprintf(j->id, sizeof j->id, "%s", r->id);
    snprintf(j->token, sizeof j->token, "%s", r->token);
    snprintf(j->owner, sizeof j->owner, "%s", r->owner);
    snprintf(j->submit_hash, sizeof j->submit_hash, "%s", r->submit_hash);
    for (int k = 0; k < 5; k++)
        if (strcmp(r->state, co_job_state_names[k]) == 0)
            j->state = (co_job_state_t)k;
    j->stream = strcmp(r->output, "stream") == 0;
    j->chunk = r->chunk;
    j->progress_ms = r->progress_ms;
    j->audit_rate = r->audit_rate;
    j->error = r->error ? strdup(r->error) : NULL;
    j->audited = r->audited;
    j->disputed = r->disputed;
    j->rerendered = r->rerendered;
    j->late = r->late;
    j->created = r->created - u->wall + u->now;
    if (!co_grow((void **)&s->jobs, &s->cap_jobs, s->n_jobs, sizeof *s->jobs)) {
        co_job_free(&j);
        return false;
    }
    s->jobs[s->n_jobs++] = j;
    u->out->jobs++;
    return true;
}

/* Frame f of job id, or NULL (a job left out, a frame outside it). */
static co_frame_t *s_frame(recover_t *u, const char *id, int64_t f, co_job_t **j_out)
{
    co_job_t *j = co_state_job(u->s, id);
    *j_out = j;
    return j && f >= j->first && f < j->first + j->n ? &j->frames[f - j->first] : NULL;
}

/* Done only with an accepted result (s_on_result), running only under an
 * attempt still in flight (s_on_attempt): the rest is pending. */
static bool s_on_frame(void *user, const co_journal_frame_t *r)
{
    co_job_t *j;
    co_frame_t *f = s_frame(user, r->job, r->frame, &j);
    if (!f)
        return true;
    f->attempt = r->attempt;
    if (strcmp(r->state, "failed") == 0) {
        f->state = CO_F_FAILED;
        j->failed++;
    }
    return true;
}

static bool s_on_failure(void *user, const co_journal_failure_t *r)
{
    recover_t *u = user;
    co_job_t *j;
    co_frame_t *f = s_frame(u, r->job, r->frame, &j);
    if (!f || f->failures >= CO_MAX_FAILURES)
        return true;
    co_ident_t who = co_state_intern(u->s, r->worker);
    if (!who)
        return false;
    f->failed_by[f->failures++] = who;
    return true;
}

static bool s_on_result(void *user, const co_journal_result_t *r)
{
    recover_t *u = user;
    co_job_t *j;
    co_frame_t *f = s_frame(u, r->job, r->frame, &j);
    if (!f || f->state != CO_F_PENDING)
        return true;
    lx_arena_t arena;
    lx_arena_init(&arena, NULL);
    lx_msg_t m;
    lx_error_t err = {0};
    lx_result_t rc = lx_msg_decode(r->record, r->record_len, &arena, &m, &err);
    if (rc == LX_OK && (m.type != LX_MSG_FRAME || m.frame != r->frame))
        rc = lx_fail(&err, LX_E_BADMSG, "not the FRAME of frame %" PRId64, r->frame);
    if (rc == LX_OK)
        rc = co_job_manifest_frame(j, &m, true, &err);
    if (rc == LX_OK) {
        f->state = CO_F_DONE;
        f->attempt = r->attempt;
        j->done++;
        j->ms_sum += m.render_ms;
        u->out->frames_done++;
    } else {
        co_tx_log(u->log, LX_LOG_WARN,
                  "event=recover_result_skipped job=%s frame=%" PRId64 " error=\"%s\"", j->id,
                  r->frame, err.message);
    }
    lx_arena_release(&arena);
    return rc != LX_E_NOMEM;
}

static bool s_on_audit(void *user, const co_journal_audit_t *r)
{
    recover_t *u = user;
    co_job_t *j;
    if (!s_frame(u, r->job, r->frame, &j) || !j->audits)
        return true;
    co_audit_t *a = &j->audits[r->frame - j->first];
    a->state = (uint8_t)r->state;
    memcpy(a->sig, r->sig, sizeof a->sig);
    a->build = r->build;
    for (int k = 0; k < 3; k++)
        if (r->who[k][0] && !(a->who[k] = co_state_intern(u->s, r->who[k])))
            return false;
    j->audits_open += a->state != CO_A_NONE && a->state != CO_A_DONE;
    return true;
}

static bool s_on_block(void *user, const co_journal_block_t *r)
{
    recover_t *u = user;
    co_job_t *j = co_state_job(u->s, r->job);
    if (!j)
        return true;
    if (!co_grow((void **)&j->blocks, &j->cap_blocks, j->n_blocks, sizeof *j->blocks))
        return false;
    co_block_t *b = &j->blocks[j->n_blocks++];
    b->who = co_state_intern(u->s, r->worker);
    b->failed_chunks = r->failed_chunks;
    b->until = r->until > 0 ? r->until - u->wall + u->now : 0;
    return b->who != 0;
}

static bool s_on_quarantine(void *user, const char *worker)
{
    recover_t *u = user;
    co_state_t *s = u->s;
    co_ident_t who = co_state_intern(s, worker);
    if (!who || !co_grow((void **)&s->quarantined, &s->cap_quarantined, s->n_quarantined,
                         sizeof *s->quarantined))
        return false;
    s->quarantined[s->n_quarantined++] = who;
    return true;
}

static bool s_on_attempt(void *user, const co_journal_attempt_t *r)
{
    recover_t *u = user;
    co_state_t *s = u->s;
    co_job_t *j = co_state_job(s, r->job);
    if (!j || j->state > CO_J_RUNNING || r->first < j->first || r->last >= j->first + j->n)
        return true;
    uint64_t held = 0;
    if (r->audit) {
        uint8_t st = j->audits ? j->audits[r->first - j->first].state : CO_A_NONE;
        held = st == CO_A_RUNNING || st == CO_A_THIRD;
    }
    for (int64_t f = r->first; !r->audit && f <= r->last; f++) {
        co_frame_t *fr = &j->frames[f - j->first];
        if (fr->state == CO_F_PENDING && fr->attempt == r->id) {
            fr->state = CO_F_RUNNING;
            j->running++;
            held++;
        }
    }
    if (!held)
        return true;
    if (!co_grow((void **)&s->attempts, &s->cap_attempts, s->n_attempts, sizeof *s->attempts))
        return false;
    s->attempts[s->n_attempts++] = (co_attempt_t){
        r->id,  j,       r->first, r->last, r->warmup_from, 0, co_state_intern(s, r->worker),
        u->now, r->audit};
    u->out->attempts++;
    return true;
}

lx_result_t co_recover(co_state_t *s, co_journal_t *j, double now, double wall, double grace_ms,
                       co_tx_t *log, co_recovered_t *out, lx_error_t *err)
{
    memset(out, 0, sizeof *out);
    recover_t u = {s, j, log, now, wall, out};
    co_journal_visitor_t v = {&u,         s_on_job,   s_on_frame,      s_on_failure, s_on_result,
                              s_on_audit, s_on_block, s_on_quarantine, s_on_attempt};
    lx_result_t rc = co_journal_load(j, &v, &s->last_attempt, err);
    for (size_t k = 0; k < s->n_jobs; k++) {
        co_job_t *job = s->jobs[k];
        while (job->hint < job->n && job->frames[job->hint].state != CO_F_PENDING)
            job->hint++;
    }
    s->grace_until = now + grace_ms;
    if (rc == LX_OK && out->jobs)
        co_tx_log(log, LX_LOG_INFO,
                  "event=recovered jobs=%" PRIu64 " frames_done=%" PRIu64
                  " attempts_in_flight=%" PRIu64 " grace_ms=%.0f",
                  out->jobs, out->frames_done, out->attempts, grace_ms);
    return rc;
}
