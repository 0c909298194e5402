/* Client requests (see clients.h). */
#include "clients.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lattice/digest.h"
#include "lattice/files.h"
#include "lattice/ir_codec.h"
#include "output.h"
#include "sched.h"

bool co_clients_takes(lx_msg_type_t type)
{
    return type == LX_MSG_SUBMIT || type == LX_MSG_STATUS || type == LX_MSG_WATCH ||
           type == LX_MSG_CANCEL_JOB || type == LX_MSG_WORKERS || type == LX_MSG_RERENDER;
}

/* ---- records -------------------------------------------------------------- */

static void s_job_rec(const co_state_t *s, const co_job_t *j, double now, lx_job_rec_t *r,
                      char *waiting, size_t wsize)
{
    co_sched_waiting(s, j, now, waiting, wsize);
    memset(r, 0, sizeof *r);
#define SET(m, v) LX_REC_SET(r, LX_JOB_REC, m, v)
    SET(job, j->id);
    SET(state, co_job_state_names[j->state]);
    SET(project, j->program->patch_id);
    SET(out, j->out);
    SET(output, j->stream ? "stream" : "shared");
    SET(first, j->first);
    SET(last, j->first + j->n - 1);
    SET(total, (uint64_t)j->n);
    SET(done, j->done);
    SET(running, j->running);
    SET(failed, j->failed);
    uint64_t active = 0;
    for (size_t i = 0; i < s->n_sessions; i++)
        for (size_t k = 0; k < s->n_attempts; k++)
            if (s->attempts[k].job == j && s->attempts[k].session == s->sessions[i].serial) {
                active++;
                break;
            }
    SET(workers, active);
    SET(program_hash, j->program_hash);
    SET(elapsed_ms, floor(now - j->created));
    if (j->error)
        SET(error, j->error);
    SET(late, j->late);
    SET(audited, j->audited);
    SET(disputed, j->disputed);
    if (j->state <= CO_J_RUNNING && waiting[0])
        SET(waiting, waiting);
#undef SET
}

/* Whether peer p may see and act on job j: its own (submitted with its
 * key), or any with the admin role. */
static bool s_may(const co_peer_t *p, const co_job_t *j)
{
    return (p->role & CO_ROLE_ALL_JOBS) || strcmp(j->owner, p->key ? p->key : "") == 0;
}

/* JOBS: every job `to` may see, or only `only`. */
static void s_reply_jobs(coord_t *c, const co_peer_t *to, const co_job_t *only, double now)
{
    size_t n = 0, cap = only ? 1 : c->state.n_jobs;
    lx_job_rec_t *recs = calloc(cap ? cap : 1, sizeof *recs);
    char(*waiting)[512] = calloc(cap ? cap : 1, sizeof *waiting);
    if (!recs || !waiting)
        co_error(c, to, "internal", "out of memory");
    for (size_t i = 0; recs && waiting && i < cap; i++) {
        const co_job_t *j = only ? only : c->state.jobs[i];
        if (s_may(to, j)) {
            s_job_rec(&c->state, j, now, &recs[n], waiting[n], sizeof waiting[n]);
            n++;
        }
    }
    lx_msg_t m = {.type = LX_MSG_JOBS};
    LX_MSG_SET(&m, jobs, ((lx_job_recs_t){recs, (uint32_t)n}));
    if (recs && waiting)
        co_send(c, to, &m);
    free(recs);
    free(waiting);
}

static void s_reply_workers(coord_t *c, const co_peer_t *to, double now)
{
    const co_state_t *s = &c->state;
    size_t n = s->n_sessions;
    lx_worker_rec_t *recs = calloc(n ? n : 1, sizeof *recs);
    lx_strbuf_t *blocked = calloc(n ? n : 1, sizeof *blocked);
    if (!recs || !blocked) {
        free(recs);
        free(blocked);
        co_error(c, to, "internal", "out of memory");
        return;
    }
    for (size_t i = 0; i < n; i++) {
        const co_session_t *w = &s->sessions[i];
        const co_link_t *l = co_link_of_session(c, w->serial);
        lx_worker_rec_t *r = &recs[i];
        const co_attempt_t *a = NULL;
        for (size_t k = 0; k < s->n_attempts && !a; k++)
            if (s->attempts[k].session == w->serial)
                a = &s->attempts[k];
#define SET(m, v) LX_REC_SET(r, LX_WORKER_REC, m, v)
        SET(name, w->name);
        SET(build, w->build);
        SET(threads, w->threads);
        /* Blocked for some jobs: named, and the state says so when idle. */
        lx_strbuf_t *b = &blocked[i];
        lx_strbuf_init(b, NULL);
        for (size_t k = 0; k < s->n_jobs; k++)
            if (s->jobs[k]->state <= CO_J_RUNNING && co_job_blocked(s->jobs[k], w->who, now))
                lx_strbuf_addf(b, "%s%s", b->len ? "," : "", s->jobs[k]->id);
        if (b->len)
            SET(blocked, b->buf);
        SET(state, co_state_quarantined(s, w->who) ? "quarantined"
                   : a                             ? "busy"
                   : b->len                        ? "blocked"
                                                   : "idle");
        if (a) {
            SET(job, a->job->id);
            SET(attempt, a->id);
        }
        SET(frames, w->frames);
        SET(seen_ms, l ? floor(now - l->last_recv) : 0);
#undef SET
    }
    lx_msg_t m = {.type = LX_MSG_WORKER_LIST};
    LX_MSG_SET(&m, workers, ((lx_worker_recs_t){recs, (uint32_t)n}));
    co_send(c, to, &m);
    for (size_t i = 0; i < n; i++)
        lx_strbuf_release(&blocked[i]);
    free(blocked);
    free(recs);
}

/* ---- SUBMIT ---------------------------------------------------------------- */

/* A hash of everything a SUBMIT asks for: the same token with a different
 * request is refused rather than silently answered with the old job. */
static void s_submit_hash(const lx_msg_t *m, char hex[65])
{
    lx_strbuf_t sb;
    lx_strbuf_init(&sb, NULL);
    char program[65] = "";
    if (LX_MSG_HAS(m, program))
        lx_sha256_hex(m->program.data, m->program.len, program);
    const char *parts[] = {
        LX_MSG_HAS(m, patch) ? m->patch : program, LX_MSG_HAS(m, config) ? m->config : "", m->out,
        LX_MSG_HAS(m, artifacts) ? m->artifacts : "", LX_MSG_HAS(m, output) ? m->output : "shared"};
    for (size_t i = 0; i < sizeof parts / sizeof *parts; i++) {
        lx_strbuf_adds(&sb, parts[i]);
        lx_strbuf_add(&sb, "", 1);
    }
    if (LX_MSG_HAS(m, frames))
        for (uint32_t i = 0; i < m->frames.n; i++)
            lx_strbuf_addf(&sb, "%" PRId64 ",", m->frames.v[i]);
    lx_strbuf_addf(&sb, "|%" PRIu64, LX_MSG_HAS(m, chunk) ? m->chunk : 0);
    lx_sha256_hex(sb.buf, sb.len, hex);
    lx_strbuf_release(&sb);
}

/* Checks a SUBMIT that asks for a new job: false, with the reason in
 * why, when it is a bad request. */
static bool s_submit_ok(const coord_t *c, const lx_msg_t *m, char *why, size_t size)
{
    /* The output directory first: nothing is created for a refused job,
     * and none is reached through a link or outside the allowed roots. */
    lx_error_t err = {0};
    if (lx_out_check(m->out, c->cfg->allow_output, c->cfg->n_allow_output, &err) != LX_OK) {
        snprintf(why, size, "%s", err.message);
        return false;
    }
    const char *output = LX_MSG_HAS(m, output) ? m->output : "shared";
    if (LX_MSG_HAS(m, patch) == LX_MSG_HAS(m, program))
        snprintf(why, size, "a SUBMIT carries a patch or a compiled program, and only one");
    else if (LX_MSG_HAS(m, program) &&
             (!LX_MSG_HAS(m, config) || LX_MSG_HAS(m, frames) || LX_MSG_HAS(m, artifacts)))
        snprintf(why, size,
                 "a compiled program comes with its resolved config, which holds "
                 "the frames and artifacts");
    else if (strcmp(output, "shared") != 0 && strcmp(output, "stream") != 0)
        snprintf(why, size, "output must be 'shared' or 'stream', not '%s'", output);
    else if (LX_MSG_HAS(m, frames) && (m->frames.n != 2 || m->frames.v[0] < 0 ||
                                       m->frames.v[0] > m->frames.v[1] ||
                                       m->frames.v[1] > CO_FRAME_MAX))
        snprintf(why, size, "frames must be [a, b] with 0 <= a <= b <= %" PRId64, CO_FRAME_MAX);
    else if (LX_MSG_HAS(m, audit_rate) && !(m->audit_rate >= 0 && m->audit_rate <= 1))
        snprintf(why, size, "the audit rate must be in [0, 1]");
    else
        return true;
    return false;
}

/* The job a SUBMIT's patch compiles to, planned with its config and
 * overrides; its program's IR bytes into `program`. NULL after answering
 * the client with an ERROR. */
static co_job_t *s_compile(coord_t *c, const co_peer_t *from, const lx_msg_t *m,
                           lx_strbuf_t *program)
{
    lx_export_request_t req = LX_EXPORT_REQUEST_INIT;
    req.patch = m->patch;
    req.patch_len = strlen(m->patch);
    req.patch_name = LX_MSG_HAS(m, source) ? m->source : "patch";
    if (LX_MSG_HAS(m, config)) {
        req.config = m->config;
        req.config_len = strlen(m->config);
        req.config_name = "config";
    }
    if (LX_MSG_HAS(m, frames)) {
        req.has_frames = true;
        req.first = m->frames.v[0];
        req.last = m->frames.v[1];
    }
    req.artifacts = LX_MSG_HAS(m, artifacts) ? m->artifacts : NULL;
    lx_strbuf_t report;
    lx_strbuf_init(&report, NULL);
    lx_error_t err = {0};
    lx_program_t *p = NULL;
    lx_export_plan_t plan;
    lx_result_t rc = lx_export_prepare(&req, NULL, &p, &plan, &report, &err);
    if (rc == LX_E_DIAG)
        co_error(c, from, "invalid_patch", "%s", report.buf);
    lx_strbuf_release(&report);
    if (rc == LX_OK)
        rc = lx_ir_encode(p, program, &err);
    co_job_t *j =
        rc == LX_OK ? co_job_new(&p, &plan, m->out, LX_MSG_HAS(m, audit_rate), &err) : NULL;
    lx_program_destroy(&p);
    if (!j && rc != LX_E_DIAG)
        co_error(c, from, rc == LX_E_INVALID ? "bad_request" : "internal", "%s", err.message);
    return j;
}

/* The job a SUBMIT's compiled program makes with its resolved config (an
 * embedded `lattice export`, which compiled the patch already). */
static co_job_t *s_load(coord_t *c, const co_peer_t *from, const lx_msg_t *m, lx_strbuf_t *program)
{
    lx_error_t err = {0};
    co_job_t *j = co_job_load(m->program.data, m->program.len, m->config, m->out,
                              LX_MSG_HAS(m, audit_rate), &err);
    if (!j)
        co_error(c, from, err.code == LX_E_NOMEM ? "internal" : "bad_request", "program: %s",
                 err.message);
    else
        lx_strbuf_add(program, m->program.data, m->program.len);
    return j;
}

/* A new job for the request, its output directory checked and created;
 * NULL after answering the client with an ERROR. */
static co_job_t *s_new_job(coord_t *c, const co_peer_t *from, const lx_msg_t *m,
                           lx_strbuf_t *program, double now)
{
    co_job_t *j =
        LX_MSG_HAS(m, program) ? s_load(c, from, m, program) : s_compile(c, from, m, program);
    if (!j)
        return NULL;
    if (j->n > c->cfg->max_frames) {
        co_error(c, from, "bad_request",
                 "%" PRId64 " frames: this coordinator takes at most %" PRId64
                 " frames per job (--max-frames)",
                 j->n, c->cfg->max_frames);
        co_job_free(&j);
        return NULL;
    }
    lx_error_t err = {0};
    if (lx_export_check_target(m->out, j->program->patch_id, LX_MSG_HAS(m, force) && m->force,
                               &err) != LX_OK) {
        co_error(c, from, "output_not_empty", "%s", err.message);
        co_job_free(&j);
        return NULL;
    }
    if (program->failed || lx_out_make(m->out, c->cfg->allow_output, c->cfg->n_allow_output,
                                       &err) != LX_OK) {
        co_error(c, from, program->failed ? "internal" : "bad_request", "%s",
                 program->failed ? "out of memory" : err.message);
        co_job_free(&j);
        return NULL;
    }
    j->stream = LX_MSG_HAS(m, output) && strcmp(m->output, "stream") == 0;
    j->chunk = LX_MSG_HAS(m, chunk) ? (uint32_t)m->chunk : c->cfg->chunk;
    j->progress_ms = LX_MSG_HAS(m, progress_timeout_ms) ? (double)m->progress_timeout_ms
                                                        : c->cfg->progress_timeout_ms;
    j->audit_rate = LX_MSG_HAS(m, audit_rate) ? m->audit_rate : -1;
    j->created = now;
    return j;
}

static void s_on_submit(coord_t *c, const co_peer_t *from, const lx_msg_t *m, double now)
{
    char submit_hash[65];
    s_submit_hash(m, submit_hash);
    const char *owner = from->key ? from->key : "";
    const co_job_t *old = co_state_job_by_token(&c->state, owner, m->token);
    if (old && strcmp(old->submit_hash, submit_hash) != 0) {
        co_error(c, from, "token_reused",
                 "token '%s' was already used by job %s for a different request", m->token,
                 old->id);
        return;
    }
    if (old) {
        s_reply_jobs(c, from, old, now); /* idempotent */
        return;
    }
    char why[4400];
    if (!s_submit_ok(c, m, why, sizeof why)) {
        co_error(c, from, "bad_request", "%s", why);
        return;
    }
    /* The id comes from the owner's key and the token: two clients may
     * pick the same token. */
    char token_hash[65], id[16];
    lx_strbuf_t idsrc;
    lx_strbuf_init(&idsrc, NULL);
    if (owner[0])
        lx_strbuf_addf(&idsrc, "%s:", owner);
    lx_strbuf_adds(&idsrc, m->token);
    lx_sha256_hex(idsrc.buf ? idsrc.buf : "", idsrc.len, token_hash);
    lx_strbuf_release(&idsrc);
    snprintf(id, sizeof id, "j%.12s", token_hash);
    if (co_state_job(&c->state, id)) {
        co_error(c, from, "token_reused", "job id %s is taken; use another token", id);
        return;
    }
    lx_strbuf_t program;
    lx_strbuf_init(&program, NULL);
    co_job_t *j = s_new_job(c, from, m, &program, now);
    if (j) {
        memcpy(j->id, id, sizeof id);
        snprintf(j->owner, sizeof j->owner, "%s", owner);
        snprintf(j->token, sizeof j->token, "%s", m->token);
        memcpy(j->submit_hash, submit_hash, sizeof submit_hash);
        co_job_t *submitted = j;
        co_tx_t tx;
        co_tx_init(&tx);
        co_sched_submit(&c->state, &j, program.buf, program.len, &tx);
        if (co_commit(c, &tx))
            s_reply_jobs(c, from, submitted, now);
        else
            co_error(c, from, "internal", "cannot journal the job (see the coordinator log)");
    }
    lx_strbuf_release(&program);
}

/* ---- RERENDER ------------------------------------------------------------------ */

static void s_on_rerender(coord_t *c, const co_peer_t *from, co_job_t *j, const lx_msg_t *m,
                          double now)
{
    unsigned only = LX_REPAIR_MISSING | LX_REPAIR_MISMATCHED | LX_REPAIR_FAILED;
    if (LX_MSG_HAS(m, only) && !lx_repair_parse_only(m->only, &only)) {
        co_error(c, from, "bad_request", "--only takes missing, mismatched, failed");
        return;
    }
    if (j->state <= CO_J_RUNNING) {
        co_error(c, from, "busy", "job %s is still %s", j->id, co_job_state_names[j->state]);
        return;
    }
    int64_t first = j->first, last = j->first + j->n - 1;
    if (LX_MSG_HAS(m, frames) && m->frames.n == 2) {
        first = m->frames.v[0] > first ? m->frames.v[0] : first;
        last = m->frames.v[1] < last ? m->frames.v[1] : last;
    }
    uint8_t *redo = NULL;
    lx_manifest_t *fresh = NULL;
    lx_repair_scan_t scan;
    lx_error_t err = {0};
    if (co_output_rerender_scan(j, only, first, last, &redo, &fresh, &scan, &err) != LX_OK) {
        co_error(c, from, "bad_request", "cannot scan %s: %s", j->out, err.message);
        return;
    }
    co_log(c, LX_LOG_INFO,
           "event=rerender_scan job=%s missing_files=%" PRIu64 " mismatched_files=%" PRIu64
           " checked_files=%" PRIu64,
           j->id, scan.missing, scan.mismatched, scan.checked);
    co_tx_t tx;
    co_tx_init(&tx);
    co_sched_rerender(&c->state, j, redo, &fresh, now, &tx);
    co_commit(c, &tx);
    free(redo);
    /* A job with nothing to render writes its manifest again at once. */
    co_settle(c, now);
    s_reply_jobs(c, from, j, now);
}

/* ---- dispatch ---------------------------------------------------------------- */

void co_clients_on_message(coord_t *c, const co_peer_t *from, const lx_msg_t *m, double now)
{
    if (m->type == LX_MSG_SUBMIT) {
        s_on_submit(c, from, m, now);
        return;
    }
    if (m->type == LX_MSG_WORKERS) {
        s_reply_workers(c, from, now);
        return;
    }
    co_job_t *j = LX_MSG_HAS(m, job) ? co_state_job(&c->state, m->job) : NULL;
    /* Another client's job is no business of this one: it does not exist. */
    if (j && !s_may(from, j))
        j = NULL;
    if (LX_MSG_HAS(m, job) && !j) {
        co_error(c, from, "unknown_job", "no job '%s'", m->job);
        return;
    }
    if (m->type == LX_MSG_CANCEL_JOB) {
        co_tx_t tx;
        co_tx_init(&tx);
        co_sched_cancel(&c->state, j, now, &tx);
        co_commit(c, &tx);
    } else if (m->type == LX_MSG_RERENDER) {
        s_on_rerender(c, from, j, m, now);
        return;
    }
    s_reply_jobs(c, from, j, now); /* STATUS, WATCH, CANCEL_JOB */
}
