/* Jobs: SUBMIT, accepting results (FRAME), the manifest, cancel,
 * rerender and the status records. */
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

void co_job_free(job_t *j)
{
    if (!j)
        return;
    lx_manifest_destroy(&j->manifest);
    lx_program_destroy(&j->p);
    free(j->config_json);
    free(j->out);
    free(j->error);
    free(j->fstate);
    free(j->fattempt);
    free(j->ffail);
    free(j->fby);
    free(j->jw);
    free(j->faudit);
    free(j->fwho);
    free(j->fsig);
    free(j->workers);
    free(j);
}

/* Why none of a job's pending frames can go to any connected worker
 * (empty when some can, or when nothing is pending): a job that cannot
 * finish says so instead of waiting in silence. */
static void s_waiting(const coord_t *c, const job_t *j, char *out, size_t size)
{
    out[0] = '\0';
    int64_t pending = j->n - (int64_t)(j->done + j->running + j->failed);
    if (j->state > J_RUNNING || pending <= 0)
        return;
    double now = lx_monotonic_ms();
    uint32_t live = 0, blocked = 0;
    for (size_t k = 0; k < c->n_workers; k++) {
        const worker_t *w = &c->workers[k];
        if (!w->helloed || w->draining)
            continue;
        live++;
        if (co_blocked(j, w->name, now)) {
            blocked++;
            continue;
        }
        uint64_t who = co_who(w->name);
        for (int64_t i = j->hint; i < j->n; i++)
            if (j->fstate[i] == F_PENDING && !co_failed_by(j, i, who))
                return; /* this one can take work */
    }
    if (live == 0)
        snprintf(out, size, "no worker is connected; %" PRId64 " frames wait", pending);
    else
        snprintf(out, size,
                 "no connected worker can take the %" PRId64 " waiting frames: %u of %u are "
                 "blocked for this job, the others already failed those frames",
                 pending, blocked, live);
}

static void s_job_rec(coord_t *c, const job_t *j, lx_job_rec_t *r, char *waiting, size_t wsize)
{
    s_waiting(c, j, waiting, wsize);
    memset(r, 0, sizeof *r);
#define SET(m, v) LX_REC_SET(r, LX_JOB_REC, m, v)
    SET(job, j->id);
    SET(state, co_job_states[j->state]);
    SET(project, j->p->patch_id);
    SET(out, j->out);
    SET(output, j->stream ? "stream" : "shared");
    SET(first, j->first);
    SET(last, j->first + j->n - 1);
    SET(total, (uint64_t)j->n);
    SET(done, j->done);
    SET(running, j->running);
    SET(failed, j->failed);
    uint64_t active = 0;
    for (size_t i = 0; i < c->n_workers; i++)
        for (size_t k = 0; k < c->n_attempts; k++)
            if (c->attempts[k].job == j && c->attempts[k].worker == c->workers[i].serial) {
                active++;
                break;
            }
    SET(workers, active);
    SET(program_hash, j->program_hash);
    SET(elapsed_ms, floor(lx_monotonic_ms() - j->created));
    if (j->error)
        SET(error, j->error);
    SET(late, j->late);
    SET(audited, j->audited);
    SET(disputed, j->disputed);
    if (j->state <= J_RUNNING && waiting[0])
        SET(waiting, waiting);
#undef SET
}

void co_reply_jobs(coord_t *c, const peer_t *to, job_t *only)
{
    size_t n = only ? 1 : c->n_jobs;
    lx_job_rec_t *recs = calloc(n ? n : 1, sizeof *recs);
    char(*waiting)[512] = calloc(n ? n : 1, sizeof *waiting);
    if (!recs || !waiting) {
        free(recs);
        free(waiting);
        co_error(c, to, "internal", "out of memory");
        return;
    }
    for (size_t i = 0; i < n; i++)
        s_job_rec(c, only ? only : c->jobs[i], &recs[i], waiting[i], sizeof waiting[i]);
    lx_msg_t m = {.type = LX_MSG_JOBS};
    LX_MSG_SET(&m, jobs, ((lx_job_recs_t){recs, (uint32_t)n}));
    co_send(c, to, &m);
    free(recs);
    free(waiting);
}

/* A hash of everything a SUBMIT asks for: the same token with a different
 * request is refused rather than silently answered with the old job. */
static void s_submit_hash(const lx_msg_t *m, char hex[65])
{
    lx_strbuf_t sb;
    lx_strbuf_init(&sb, NULL);
    const char *parts[] = {m->patch, LX_MSG_HAS(m, config) ? m->config : "", m->out,
                           LX_MSG_HAS(m, artifacts) ? m->artifacts : "",
                           LX_MSG_HAS(m, output) ? m->output : "shared"};
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

/* Everything a job derives from its program and plan: frame arrays, the
 * resolved config, the manifest under construction, the hashes. */
lx_result_t co_job_setup(job_t *j, const char *out, lx_error_t *err)
{
    j->first = j->plan.first;
    j->n = j->plan.last - j->plan.first + 1;
    j->fstate = calloc((size_t)j->n, 1);
    j->ffail = calloc((size_t)j->n, 1);
    j->fby = calloc((size_t)j->n, sizeof *j->fby);
    j->fattempt = calloc((size_t)j->n, sizeof *j->fattempt);
    lx_strbuf_t cfg;
    lx_strbuf_init(&cfg, NULL);
    lx_export_plan_config_json(&j->plan, &cfg);
    j->config_json = lx_strbuf_detach(&cfg);
    j->out = strdup(out);
    j->manifest = lx_manifest_new(j->p, &j->plan, NULL, err);
    if (!j->fstate || !j->ffail || !j->fby || !j->fattempt || !j->config_json || !j->out ||
        !j->manifest)
        return lx_fail(err, LX_E_NOMEM, "out of memory for a job of %" PRId64 " frames", j->n);
    lx_hex(j->p->program_hash.bytes, 32, j->program_hash);
    lx_hex(j->plan.config_hash.bytes, 32, j->config_hash);
    j->created = lx_monotonic_ms();
    return LX_OK;
}

void co_on_submit(coord_t *c, const peer_t *from, const lx_msg_t *m)
{
    char submit_hash[65];
    s_submit_hash(m, submit_hash);
    for (size_t i = 0; i < c->n_jobs; i++)
        if (strcmp(c->jobs[i]->token, m->token) == 0) {
            if (strcmp(c->jobs[i]->submit_hash, submit_hash) != 0)
                return co_error(c, from, "token_reused",
                                "token '%s' was already used by job %s for a different request",
                                m->token, c->jobs[i]->id);
            return co_reply_jobs(c, from, c->jobs[i]); /* idempotent */
        }
    const char *output = LX_MSG_HAS(m, output) ? m->output : "shared";
    if (strcmp(output, "shared") != 0 && strcmp(output, "stream") != 0)
        return co_error(c, from, "bad_request", "output must be 'shared' or 'stream', not '%s'",
                        output);
    if (m->out[0] != '/')
        return co_error(c, from, "bad_request",
                        "the output directory must be an absolute path, "
                        "not '%s'",
                        m->out);
    if (LX_MSG_HAS(m, frames) &&
        (m->frames.n != 2 || m->frames.v[0] < 0 || m->frames.v[0] > m->frames.v[1]))
        return co_error(c, from, "bad_request", "frames must be [a, b] with 0 <= a <= b");
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
    job_t *j = calloc(1, sizeof *j);
    lx_strbuf_t report, program;
    lx_strbuf_init(&report, NULL);
    lx_strbuf_init(&program, NULL);
    lx_error_t err = {0};
    lx_result_t rc = j ? lx_export_prepare(&req, NULL, &j->p, &j->plan, &report, &err) : LX_E_NOMEM;
    if (rc == LX_E_DIAG) {
        co_error(c, from, "invalid_patch", "%s", report.buf);
        goto fail;
    }
    if (rc == LX_OK && lx_export_check_target(m->out, j->p->patch_id,
                                              LX_MSG_HAS(m, force) && m->force, &err) != LX_OK) {
        co_error(c, from, "output_not_empty", "%s", err.message);
        goto fail;
    }
    if (rc == LX_OK)
        rc = lx_mkdirs(m->out, &err);
    if (rc == LX_OK)
        rc = lx_ir_encode(j->p, &program, &err);
    if (rc != LX_OK) {
        co_error(c, from, rc == LX_E_INVALID || rc == LX_E_IO ? "bad_request" : "internal", "%s",
                 err.message);
        goto fail;
    }
    if (co_job_setup(j, m->out, &err) != LX_OK) {
        co_error(c, from, "internal", "%s", err.message);
        goto fail;
    }
    char token_hash[65];
    lx_sha256_hex(m->token, strlen(m->token), token_hash);
    snprintf(j->id, sizeof j->id, "j%.12s", token_hash);
    snprintf(j->token, sizeof j->token, "%s", m->token);
    memcpy(j->submit_hash, submit_hash, sizeof submit_hash);
    j->stream = strcmp(output, "stream") == 0;
    j->chunk = LX_MSG_HAS(m, chunk) ? (uint32_t)m->chunk : c->cfg->chunk;
    j->progress_ms = LX_MSG_HAS(m, progress_timeout_ms) ? (double)m->progress_timeout_ms
                                                        : c->cfg->progress_timeout_ms;
    j->audit_rate = -1;
    if (LX_MSG_HAS(m, audit_rate)) {
        if (!(m->audit_rate >= 0 && m->audit_rate <= 1)) {
            co_error(c, from, "bad_request", "the audit rate must be in [0, 1]");
            goto fail;
        }
        j->audit_rate = m->audit_rate;
        j->faudit = calloc((size_t)j->n, 1);
        j->fwho = calloc((size_t)j->n, sizeof *j->fwho);
        j->fsig = calloc((size_t)j->n, sizeof *j->fsig);
        if (!j->faudit || !j->fwho || !j->fsig) {
            co_error(c, from, "internal", "out of memory for audits");
            goto fail;
        }
    }
    if (co_job(c, j->id) || !co_grow((void **)&c->jobs, &c->cap_jobs, c->n_jobs, sizeof *c->jobs)) {
        co_error(c, from, "token_reused", "job id %s is taken; use another token", j->id);
        goto fail;
    }
    bool ok =
        journal_begin(c->journal, &err) == LX_OK &&
        journal_exec(c->journal, &err, "INSERT OR IGNORE INTO programs VALUES(?, ?)", "sb",
                     j->program_hash, program.buf, program.len) == LX_OK &&
        journal_exec(c->journal, &err,
                     "INSERT INTO jobs(id, token, submit_hash, state, project, program_hash,"
                     " config, config_hash, out, output, first, last, chunk, created,"
                     " progress_ms) VALUES(?, ?, ?, 'queued', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                     "sssssssssiiidd", j->id, j->token, j->submit_hash, j->p->patch_id,
                     j->program_hash, j->config_json, j->config_hash, j->out, output, j->first,
                     j->first + j->n - 1, (int64_t)j->chunk, (double)time(NULL),
                     j->progress_ms) == LX_OK;
    for (int64_t f = 0; f < j->n && ok; f++)
        ok = journal_exec(c->journal, &err,
                          "INSERT INTO frames(job, frame, state) VALUES(?, ?, 'pending')", "si",
                          j->id, j->first + f) == LX_OK;
    ok = ok && journal_commit(c->journal, &err) == LX_OK;
    if (!ok) {
        journal_rollback(c->journal);
        co_journal_fail(c, &err);
        co_error(c, from, "internal", "cannot journal the job: %s", err.message);
        goto fail;
    }
    c->jobs[c->n_jobs++] = j;
    co_log(c, LX_LOG_INFO,
           "event=job_submitted job=%s project=%s frames=%" PRId64 "-%" PRId64
           " output=%s out=\"%s\" program=%.12s",
           j->id, j->p->patch_id, j->first, j->first + j->n - 1, output, j->out, j->program_hash);
    co_reply_jobs(c, from, j);
    lx_strbuf_release(&report);
    lx_strbuf_release(&program);
    return;
fail:
    co_job_free(j);
    lx_strbuf_release(&report);
    lx_strbuf_release(&program);
}

void co_finish(coord_t *c, job_t *j)
{
    char stamp[32];
    time_t now = time(NULL);
    struct tm tm;
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
    lx_manifest_run_t run = LX_MANIFEST_RUN_INIT;
    run.workers = j->n_workers;
    run.threads = j->max_threads;
    run.elapsed_ms = floor(lx_monotonic_ms() - j->created);
    run.exported_at = stamp;
    /* What was audited and how it ended: part of the run, not of the
     * deterministic manifest (a one-machine export has no audit). */
    lx_strbuf_t audit;
    lx_strbuf_init(&audit, NULL);
    if (j->audit_rate >= 0) {
        lx_strbuf_addf(&audit,
                       "{\"rate\": %.17g, \"confirmed\": %" PRIu64 ", \"disputed\": %" PRIu64
                       ", \"rerendered\": %" PRIu64 ", \"quarantined\": [",
                       j->audit_rate, j->audited, j->disputed, j->audit_rerendered);
        for (size_t k = 0; k < c->n_quarantined; k++)
            lx_strbuf_addf(&audit, "%s\"%s\"", k ? ", " : "", c->quarantined[k].name);
        lx_strbuf_adds(&audit, "]}");
        run.audit_json = audit.buf;
    }
    lx_error_t err = {0}, jerr = {0};
    /* A process killed mid-write (this coordinator before a restart, a
     * worker in shared mode) leaves a temporary file; the export must not
     * carry it. */
    unsigned temps = lx_remove_stale_temps(j->out);
    if (temps)
        co_log(c, LX_LOG_INFO, "event=temps_removed job=%s files=%u", j->id, temps);
    lx_result_t rc = lx_manifest_write(j->manifest, j->out, &run, &err);
    lx_strbuf_release(&audit);
    j->state = rc == LX_OK ? J_DONE : J_FAILED;
    if (rc != LX_OK)
        j->error = strdup(err.message);
    if (journal_exec(c->journal, &jerr, "UPDATE jobs SET state = ?, error = ? WHERE id = ?", "sss",
                     co_job_states[j->state], j->error, j->id) != LX_OK)
        co_journal_fail(c, &jerr);
    if (rc == LX_OK)
        co_log(c, LX_LOG_INFO,
               "event=job_done job=%s frames=%" PRId64 " workers=%u elapsed_ms=%.0f", j->id, j->n,
               j->n_workers, run.elapsed_ms);
    else
        co_log(c, LX_LOG_ERROR, "event=job_failed job=%s error=\"%s\"", j->id, err.message);
}

/* Checks one file of a current result and, in stream mode, writes it:
 * the coordinator re-hashes every byte it accepts. */
static lx_result_t s_accept_file(const job_t *j, const lx_file_rec_t *f, uint64_t attempt,
                                 lx_error_t *err)
{
    char dir[4400], path[4500], final[4500], name[128], hex[65];
    if ((size_t)snprintf(dir, sizeof dir, "%s/%s", j->out, f->key) >= sizeof dir)
        return lx_fail(err, LX_E_INVALID, "path too long");
    if (j->stream) {
        if (!(f->has & LX_FILE_REC_BIT(bytes)))
            return lx_fail(err, LX_E_INVALID, "%s/%s: stream mode needs the file's bytes", f->key,
                           f->name);
        lx_sha256_hex(f->bytes.data, f->bytes.len, hex);
        if (strcmp(hex, f->hash) != 0)
            return lx_fail(err, LX_E_VERIFY, "%s/%s: bytes hash to %.12s, not %.12s", f->key,
                           f->name, hex, f->hash);
        lx_result_t rc = lx_mkdirs(dir, err);
        return rc == LX_OK ? lx_write_atomic(dir, f->name, f->bytes.data, f->bytes.len, err) : rc;
    }
    /* Shared: the worker wrote the attempt's own file; verified, it is
     * renamed into place, so no other attempt can replace it. */
    if (!lx_attempt_file_name(name, sizeof name, f->name, attempt) ||
        (size_t)snprintf(path, sizeof path, "%s/%s", dir, name) >= sizeof path ||
        (size_t)snprintf(final, sizeof final, "%s/%s", dir, f->name) >= sizeof final)
        return lx_fail(err, LX_E_INVALID, "path too long");
    if (!lx_file_sha256_hex(path, hex))
        return lx_fail(err, LX_E_VERIFY, "%s/%s: cannot read the worker's file", f->key, name);
    if (strcmp(hex, f->hash) != 0)
        return lx_fail(err, LX_E_VERIFY, "%s/%s: file on disk hashes to %.12s, not %.12s", f->key,
                       name, hex, f->hash);
    if (rename(path, final) != 0)
        return lx_fail(err, LX_E_IO, "cannot rename '%s': %s", path, strerror(errno));
    return LX_OK;
}

/* A superseded attempt's files in shared mode: evidence is in the journal,
 * the files themselves go. */
static void s_drop_attempt_files(const job_t *j, const lx_msg_t *m)
{
    for (uint32_t k = 0; !j->stream && k < m->files.n; k++) {
        char name[128], path[4600];
        if (lx_attempt_file_name(name, sizeof name, m->files.v[k].name, m->attempt) &&
            (size_t)snprintf(path, sizeof path, "%s/%s/%s", j->out, m->files.v[k].key, name) <
                sizeof path)
            unlink(path);
    }
}

static void s_ack(coord_t *c, worker_t *w, const lx_msg_t *m)
{
    int64_t f = m->frame;
    lx_msg_t ack = {.type = LX_MSG_ACK};
    LX_MSG_SET(&ack, job, m->job);
    LX_MSG_SET(&ack, attempt, m->attempt);
    LX_MSG_SET(&ack, frames, ((lx_i64s_t){&f, 1}));
    co_send_worker(c, w, &ack);
}

/* The FRAME as journaled: everything but the bytes. */
static lx_result_t s_journal_result(coord_t *c, lx_msg_t *m, const worker_t *w, bool current,
                                    lx_error_t *err)
{
    for (uint32_t i = 0; i < m->files.n; i++)
        m->files.v[i].has &= ~LX_FILE_REC_BIT(bytes);
    lx_strbuf_t rec;
    lx_strbuf_init(&rec, NULL);
    lx_result_t rc = lx_msg_encode(m, &rec, err);
    /* Evidence never replaces a row: a FRAME sent again (after a
     * reconnect) must not demote the accepted result. */
    if (rc == LX_OK && current)
        rc =
            journal_exec(c->journal, err,
                         "INSERT OR REPLACE INTO results(job, frame, attempt, worker, current,"
                         " record) VALUES(?, ?, ?, ?, 1, ?)",
                         "siisb", m->job, m->frame, (int64_t)m->attempt, w->name, rec.buf, rec.len);
    else if (rc == LX_OK)
        rc =
            journal_exec(c->journal, err,
                         "INSERT OR IGNORE INTO results(job, frame, attempt, worker, current,"
                         " record) VALUES(?, ?, ?, ?, 0, ?)",
                         "siisb", m->job, m->frame, (int64_t)m->attempt, w->name, rec.buf, rec.len);
    lx_strbuf_release(&rec);
    return rc;
}

void co_on_frame(coord_t *c, worker_t *w, lx_msg_t *m)
{
    peer_t to = {w->ident, w->ident_len, false};
    job_t *j = co_job(c, m->job);
    int64_t f = m->frame;
    if (!j || f < j->first || f >= j->first + j->n) {
        /* Acknowledged all the same: the worker must not keep it forever. */
        co_error(c, &to, "unknown_job", "no frame %" PRId64 " in job '%s'", f, m->job);
        return s_ack(c, w, m);
    }
    int64_t i = f - j->first;
    attempt_t *a = co_attempt(c, m->attempt);
    lx_error_t err = {0};
    if (a && a->audit && a->job == j && f == a->first) {
        s_ack(c, w, m);
        co_on_audit_frame(c, j, a, m);
        return co_maybe_finish(c, j);
    }
    if (!a || a->job != j || j->fstate[i] != F_RUNNING || j->fattempt[i] != m->attempt) {
        /* A superseded attempt's late result: kept as evidence only. */
        if (s_journal_result(c, m, w, false, &err) != LX_OK)
            co_journal_fail(c, &err);
        s_drop_attempt_files(j, m);
        j->late++;
        co_log(c, LX_LOG_INFO,
               "event=late_result job=%s attempt=%" PRIu64 " frame=%" PRId64
               " worker=%s late=%" PRIu64,
               j->id, m->attempt, f, w->name, j->late);
        return s_ack(c, w, m);
    }
    lx_camera_t cam;
    lx_manifest_file_t files[64], *fs = m->files.n <= 64 ? files : calloc(m->files.n, sizeof *fs);
    lx_result_t rc = fs ? LX_OK : lx_fail(&err, LX_E_NOMEM, "out of memory");
    if (rc == LX_OK && !lx_camera_from_values(&m->camera, &cam))
        rc = lx_fail(&err, LX_E_BADMSG, "camera: not a camera");
    for (uint32_t k = 0; k < m->files.n && rc == LX_OK; k++) {
        const lx_file_rec_t *r = &m->files.v[k];
        fs[k] = (lx_manifest_file_t){r->key, r->name, r->hash, r->content};
    }
    /* Names and keys are checked before a byte is written: a FRAME must not
     * overwrite another frame's file. */
    if (rc == LX_OK)
        rc = lx_manifest_check_frame(j->manifest, f, fs, m->files.n, &err);
    for (uint32_t k = 0; k < m->files.n && rc == LX_OK; k++)
        rc = s_accept_file(j, &m->files.v[k], m->attempt, &err);
    if (rc == LX_OK)
        rc = lx_manifest_add_frame(j->manifest, f, m->t_ms, &cam, fs, m->files.n, &err);
    if (fs != files)
        free(fs);
    if (rc == LX_OK) {
        lx_error_t jerr = {0};
        bool ok = journal_begin(c->journal, &jerr) == LX_OK &&
                  s_journal_result(c, m, w, true, &jerr) == LX_OK &&
                  journal_exec(c->journal, &jerr,
                               "UPDATE frames SET state = 'done' WHERE job = ? AND frame = ?", "si",
                               j->id, f) == LX_OK &&
                  journal_commit(c->journal, &jerr) == LX_OK;
        if (!ok) {
            journal_rollback(c->journal);
            co_journal_fail(c, &jerr);
            return; /* not acknowledged: the worker keeps it and sends it again */
        }
        j->fstate[i] = F_DONE;
        j->running--;
        j->done++;
        a->progress = lx_monotonic_ms();
        co_audit_primary(j, a, i, w, m);
        j->ms_sum += m->render_ms;
        w->frames++;
        bool known = false;
        for (uint32_t k = 0; k < j->n_workers; k++)
            known |= j->workers[k] == w->serial;
        size_t cap = j->cap_workers;
        if (!known && co_grow((void **)&j->workers, &cap, j->n_workers, sizeof *j->workers)) {
            j->cap_workers = (uint32_t)cap;
            j->workers[j->n_workers++] = w->serial;
        }
        if (w->threads > j->max_threads)
            j->max_threads = w->threads;
        co_log(c, LX_LOG_DEBUG,
               "event=frame job=%s attempt=%" PRIu64 " frame=%" PRId64 " render_ms=%.1f worker=%s",
               j->id, m->attempt, f, m->render_ms, w->name);
        s_ack(c, w, m);
        /* An attempt whose frames are all done is over, even if its
         * CHUNK_DONE was lost (a reconnect): it must not hold credit. */
        bool open = false;
        for (int64_t g = a->first; g <= a->last && !open; g++)
            open = j->fstate[g - j->first] == F_RUNNING && j->fattempt[g - j->first] == a->id;
        if (!open)
            co_requeue(c, a, "done", "complete", NULL);
        return co_maybe_finish(c, j);
    }
    /* A result that cannot be accepted counts against the frame's budget;
     * the frame is rendered again. */
    co_log(c, LX_LOG_WARN,
           "event=result_rejected job=%s attempt=%" PRIu64 " frame=%" PRId64
           " worker=%s error=\"%s\"",
           j->id, m->attempt, f, w->name, err.message);
    /* The coordinator's own trouble (disk, memory) is not the worker's. */
    bool failure = rc != LX_E_IO && rc != LX_E_NOMEM;
    lx_error_t jerr = {0};
    bool ok = journal_begin(c->journal, &jerr) == LX_OK &&
              co_release_frames(c, j, a->id, f, f, failure ? w : NULL, &jerr);
    co_transaction_end(c, ok, &jerr);
    co_error(c, &to, "result_rejected", "frame %" PRId64 ": %s", f, err.message);
    s_ack(c, w, m);
}

void co_on_chunk_end(coord_t *c, worker_t *w, const lx_msg_t *m)
{
    attempt_t *a = co_attempt(c, m->attempt);
    if (!a || a->worker != w->serial) {
        co_log(c, LX_LOG_DEBUG, "event=stale_chunk_end attempt=%" PRIu64 " worker=%s", m->attempt,
               w->name);
        return;
    }
    if (m->type == LX_MSG_CHUNK_DONE)
        return co_requeue(c, a, "done", "complete", NULL);
    /* Interruptions never count against a frame's budget. */
    bool interrupted = strcmp(m->reason, "interrupted") == 0 || strcmp(m->reason, "busy") == 0;
    co_log(c, LX_LOG_WARN,
           "event=chunk_failed job=%s attempt=%" PRIu64 " worker=%s reason=%s"
           " message=\"%s\"",
           a->job->id, a->id, w->name, m->reason, LX_MSG_HAS(m, message) ? m->message : "");
    co_requeue(c, a, "failed", m->reason, interrupted ? NULL : w);
}

void co_on_cancel_job(coord_t *c, const peer_t *from, job_t *j)
{
    if (j->state <= J_RUNNING) {
        j->state = J_CANCELLED;
        lx_error_t err = {0};
        if (journal_exec(c->journal, &err, "UPDATE jobs SET state = 'cancelled' WHERE id = ?", "s",
                         j->id) != LX_OK)
            co_journal_fail(c, &err);
        for (size_t i = c->n_attempts; i-- > 0;) {
            attempt_t *a = &c->attempts[i];
            if (a->job != j)
                continue;
            worker_t *w = co_worker_by_serial(c, a->worker);
            if (w) {
                lx_msg_t cancel = {.type = LX_MSG_CANCEL};
                LX_MSG_SET(&cancel, job, j->id);
                LX_MSG_SET(&cancel, attempt, a->id);
                co_send_worker(c, w, &cancel);
            }
            co_requeue(c, a, "cancelled", "job_cancelled", NULL);
        }
        co_log(c, LX_LOG_INFO, "event=job_cancelled job=%s done=%" PRIu64, j->id, j->done);
    }
    co_reply_jobs(c, from, j);
}

/* RERENDER: the frames of a finished job that failed, or whose files are
 * missing or do not match its metadata.json, go back to the queue; only
 * they are rendered again (with warm-up), then the manifest is rewritten. */
void co_on_rerender(coord_t *c, const peer_t *from, job_t *j, const lx_msg_t *m)
{
    unsigned only = LX_REPAIR_MISSING | LX_REPAIR_MISMATCHED | LX_REPAIR_FAILED;
    if (LX_MSG_HAS(m, only) && !lx_repair_parse_only(m->only, &only))
        return co_error(c, from, "bad_request", "--only takes missing, mismatched, failed");
    if (j->state <= J_RUNNING)
        return co_error(c, from, "busy", "job %s is still %s", j->id, co_job_states[j->state]);
    int64_t first = j->first, last = j->first + j->n - 1;
    if (LX_MSG_HAS(m, frames) && m->frames.n == 2) {
        first = m->frames.v[0] > first ? m->frames.v[0] : first;
        last = m->frames.v[1] < last ? m->frames.v[1] : last;
    }
    lx_error_t err = {0};
    lx_repair_scan_t scan = {0};
    lx_manifest_t *fresh = NULL;
    char path[4200];
    snprintf(path, sizeof path, "%s/metadata.json", j->out);
    bool has_manifest = access(path, F_OK) == 0;
    if (has_manifest && (only & (LX_REPAIR_MISSING | LX_REPAIR_MISMATCHED))) {
        fresh = lx_manifest_new(j->p, &j->plan, NULL, &err);
        if (!fresh || lx_repair_scan(j->p, &j->plan, j->out, first, last, only, fresh, &scan,
                                     &err) != LX_OK) {
            lx_manifest_destroy(&fresh);
            return co_error(c, from, "bad_request", "cannot scan %s: %s", j->out, err.message);
        }
    }
    /* Which frames: failed ones (asked for), damaged ones (scanned), and,
     * without a manifest, every frame that is not done. */
    uint8_t *redo = calloc((size_t)j->n, 1);
    if (!redo) {
        lx_manifest_destroy(&fresh);
        free(scan.damaged);
        return co_error(c, from, "internal", "out of memory");
    }
    for (int64_t k = 0; k < scan.n_damaged; k++)
        redo[scan.damaged[k] - j->first] = 1;
    for (int64_t f = first; f <= last; f++) {
        int64_t i = f - j->first;
        if (j->fstate[i] == F_FAILED && (only & LX_REPAIR_FAILED))
            redo[i] = 1;
        if (!has_manifest && j->fstate[i] == F_PENDING)
            redo[i] = 1;
    }
    int64_t count = 0;
    bool ok = journal_begin(c->journal, &err) == LX_OK;
    for (int64_t i = 0; i < j->n && ok; i++) {
        if (!redo[i])
            continue;
        count++;
        ok = journal_exec(c->journal, &err,
                          "UPDATE frames SET state = 'pending', failures = 0, failed_by = ''"
                          " WHERE job = ? AND frame = ?",
                          "si", j->id, j->first + i) == LX_OK &&
             journal_exec(c->journal, &err,
                          "UPDATE results SET current = 0 WHERE job = ? AND frame = ?", "si", j->id,
                          j->first + i) == LX_OK;
    }
    ok = ok && journal_exec(c->journal, &err,
                            "UPDATE jobs SET state = 'running', error = NULL WHERE id = ?", "s",
                            j->id) == LX_OK;
    co_transaction_end(c, ok, &err);
    if (ok) {
        for (int64_t i = 0; i < j->n; i++) {
            if (!redo[i])
                continue;
            j->done -= j->fstate[i] == F_DONE;
            j->failed -= j->fstate[i] == F_FAILED;
            j->fstate[i] = F_PENDING;
            j->ffail[i] = 0;
            if (i < j->hint)
                j->hint = i;
        }
        if (fresh) {
            lx_manifest_destroy(&j->manifest);
            j->manifest = fresh;
            fresh = NULL;
        }
        free(j->error);
        j->error = NULL;
        j->state = count ? J_RUNNING : J_DONE;
        j->created = lx_monotonic_ms();
        co_log(c, LX_LOG_INFO,
               "event=rerender job=%s frames=%" PRId64 " missing_files=%" PRIu64
               " mismatched_files=%" PRIu64 " checked_files=%" PRIu64,
               j->id, count, scan.missing, scan.mismatched, scan.checked);
        if (!count && has_manifest)
            co_log(c, LX_LOG_INFO, "event=rerender_nothing job=%s", j->id);
    }
    lx_manifest_destroy(&fresh);
    free(scan.damaged);
    free(redo);
    if (ok && j->state == J_DONE && !count)
        co_finish(c, j); /* nothing to render: the manifest is written again as it is */
    co_reply_jobs(c, from, j);
}
