/* Client requests (see clients.h). */
#include "clients.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lattice/digest.h"
#include "lattice/export.h"
#include "lattice/files.h"
#include "lattice/frame_msg.h"
#include "lattice/ir_codec.h"
#include "lattice/progress.h"
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
    if (LX_MSG_HAS(m, shard))
        for (uint32_t i = 0; i < m->shard.n; i++)
            lx_strbuf_addf(&sb, "|%" PRId64, m->shard.v[i]);
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
    else if (LX_MSG_HAS(m, frames) &&
             (m->frames.n != 2 || m->frames.v[0] < 0 || m->frames.v[0] > m->frames.v[1] ||
              m->frames.v[1] > CO_FRAME_MAX))
        snprintf(why, size, "frames must be [a, b] with 0 <= a <= b <= %" PRId64, CO_FRAME_MAX);
    else if (LX_MSG_HAS(m, shard) &&
             (m->shard.n != 2 || m->shard.v[0] < 0 || m->shard.v[0] > m->shard.v[1] ||
              m->shard.v[1] > CO_FRAME_MAX))
        snprintf(why, size, "shard must be [a, b] with 0 <= a <= b <= %" PRId64, CO_FRAME_MAX);
    else if (LX_MSG_HAS(m, shard) && LX_MSG_HAS(m, replace) && m->replace)
        snprintf(why, size,
                 "a shard cannot replace an export: shards of one export run side by side");
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
    /* The patch's paths are the client's: nothing here is read for it. */
    req.no_files = true;
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

/* j planned again with frames [first, last] (its settings otherwise the
 * same); *j_p is freed. NULL with err set. */
static co_job_t *s_replan(co_job_t **j_p, int64_t first, int64_t last, lx_error_t *err)
{
    co_job_t *j = *j_p;
    lx_export_config_t cfg = j->plan.cfg;
    cfg.has_frames = true;
    cfg.first = first;
    cfg.last = last;
    lx_diags_t d;
    lx_diags_init(&d, NULL);
    lx_export_plan_t plan;
    co_job_t *n = NULL;
    if (lx_export_plan(j->program, &cfg, &plan, &d) == LX_OK) {
        lx_program_t *p = j->program;
        j->program = NULL;
        n = co_job_new(&p, &plan, j->out, j->audits != NULL, err);
    } else {
        lx_fail(err, LX_E_INVALID, "frames %lld-%lld do not plan: %s", (long long)first,
                (long long)last, d.count ? d.items[0].message : "out of memory");
    }
    lx_diags_release(&d);
    co_job_free(j_p);
    return n;
}

/* The digits of the frame names of plan's export were its last frame last. */
static int s_digits(const lx_export_plan_t *plan, int64_t last)
{
    lx_export_plan_t p = *plan;
    p.last = last;
    return lx_export_frame_digits(&p);
}

/* Whether a queued or running job writes in out (or around it), said to
 * the client: two would rename files over each other's and interleave
 * one journal. Shards of one export run in coordinators of their own. */
static bool s_busy(coord_t *c, const co_peer_t *from, const char *out)
{
    size_t n_out = strlen(out);
    for (size_t k = 0; k < c->state.n_jobs; k++) {
        const co_job_t *o = c->state.jobs[k];
        size_t n = strlen(o->out), shorter = n < n_out ? n : n_out;
        const char *longer = n < n_out ? out : o->out;
        if (o->state <= CO_J_RUNNING && strncmp(o->out, out, shorter) == 0 &&
            (n == n_out || longer[shorter] == '/')) {
            co_error(c, from, "output_busy",
                     "job %s is %s in '%s'; wait for it, or cancel it first", o->id,
                     co_job_state_names[o->state], o->out);
            return true;
        }
    }
    return false;
}

/* What the job does with what its export directory holds
 * (lattice/progress.h): nothing there, or another export only when asked
 * to replace it (clear: its files go first); foreign files only with
 * force; the same program and settings are one export, whose frames the
 * job's range joins (the job is planned again over both ranges, which
 * must touch or overlap). fresh: the progress journal starts afresh.
 * False after answering the client with an ERROR. */
static bool s_target(coord_t *c, const co_peer_t *from, const lx_msg_t *m, co_job_t **j_p,
                     bool *clear, bool *fresh)
{
    co_job_t *j = *j_p;
    if (s_busy(c, from, m->out))
        return false;
    lx_prior_t pr;
    lx_error_t err = {0};
    if (lx_prior_read(m->out, &pr, &err) != LX_OK) {
        co_error(c, from, "bad_request", "%s", err.message);
        return false;
    }
    bool force = LX_MSG_HAS(m, force) && m->force;
    bool replace = LX_MSG_HAS(m, replace) && m->replace;
    bool ours = pr.journal || pr.manifest || pr.shards;
    char settings[65];
    lx_progress_settings_hash(&j->plan, settings);
    bool same_program = ours && strcmp(pr.program_hash, j->program_hash) == 0;
    /* An export without a journal (made before there was one) is the same
     * export only with the same frames. */
    bool same =
        same_program && (pr.journal || pr.shards ? strcmp(pr.settings_hash, settings) == 0
                                                 : strcmp(pr.config_hash, j->config_hash) == 0);
    int64_t first = j->first, last = j->first + j->n - 1;
    *clear = ours && replace;
    *fresh = !same || replace;
    bool ok = false;
    if (pr.mixed && !replace)
        co_error(c, from, "output_not_empty",
                 "'%s' holds shards of more than one export; `lattice assemble %s` names them, "
                 "--replace removes them",
                 m->out, m->out);
    else if (ours && !same && !replace)
        co_error(c, from, "output_not_empty",
                 "'%s' holds an export of '%s' (frames %" PRId64 "-%" PRId64 ") made %s; choose "
                 "another directory, or pass --replace to remove that export's files first",
                 m->out, pr.project_id, pr.first, pr.last,
                 same_program ? "with other settings" : "from another program");
    else if (!ours && pr.foreign && !force)
        co_error(c, from, "output_not_empty",
                 "'%s' is not empty and holds no export; choose another directory, or pass "
                 "--force to write beside its files (none is deleted)",
                 m->out);
    else if (same && !replace &&
             s_digits(&j->plan, last > pr.last ? last : pr.last) != s_digits(&j->plan, pr.last))
        co_error(c, from, "output_not_empty",
                 "'%s' holds frames %" PRId64 "-%" PRId64 " of this export, named with %d "
                 "digits; frame %" PRId64 " needs %d, which would rename every file: export "
                 "into another directory, or pass --replace to start again",
                 m->out, pr.first, pr.last, s_digits(&j->plan, pr.last), last,
                 s_digits(&j->plan, last));
    else if (same && !replace && (first > pr.last + 1 || last + 1 < pr.first))
        co_error(c, from, "output_not_empty",
                 "'%s' holds frames %" PRId64 "-%" PRId64 " of this export: frames %" PRId64
                 "-%" PRId64 " would leave a gap; ask for frames %" PRId64 "-%" PRId64
                 ", or pass --replace to start again",
                 m->out, pr.first, pr.last, first, last, first < pr.first ? first : pr.first,
                 last > pr.last ? last : pr.last);
    else
        ok = true;
    if (ok && same && !replace && (pr.first < first || pr.last > last)) {
        /* One export, one manifest: the frames OUT holds stay listed. */
        *j_p = s_replan(j_p, first < pr.first ? first : pr.first, last > pr.last ? last : pr.last,
                        &err);
        if (!*j_p) {
            co_error(c, from, "bad_request", "%s", err.message);
            ok = false;
        }
    }
    lx_prior_release(&pr);
    return ok;
}

/* What shard j does with what OUT holds: nothing, this export (its
 * journal or metadata.json, or other shards of it, planned with the same
 * frames), or foreign files with force; never another export, which a
 * shard cannot replace. Its own books say what it resumes (fresh: they
 * are of no use). False after answering the client with an ERROR. */
static bool s_target_shard(coord_t *c, const co_peer_t *from, const lx_msg_t *m, const co_job_t *j,
                           bool *fresh)
{
    if (s_busy(c, from, m->out))
        return false;
    lx_prior_t pr;
    lx_error_t err = {0};
    char own[65] = "";
    if (lx_prior_read(m->out, &pr, &err) != LX_OK ||
        lx_progress_book_config(m->out, j->book, own, &err) != LX_OK) {
        co_error(c, from, "bad_request", "%s", err.message);
        lx_prior_release(&pr);
        return false;
    }
    bool ours = pr.journal || pr.manifest || pr.shards;
    bool same = strcmp(pr.program_hash, j->program_hash) == 0 &&
                strcmp(pr.config_hash, j->config_hash) == 0;
    bool ok = false;
    if (pr.mixed)
        co_error(c, from, "output_not_empty",
                 "'%s' holds shards of more than one export; `lattice assemble %s` names them",
                 m->out, m->out);
    else if (ours && !same)
        co_error(c, from, "output_not_empty",
                 "'%s' holds an export of '%s' (frames %" PRId64 "-%" PRId64 ")%s; a shard "
                 "joins only the same patch, settings and frames: choose another directory",
                 m->out, pr.project_id, pr.first, pr.last,
                 strcmp(pr.program_hash, j->program_hash) == 0 ? " with other settings or frames"
                                                               : "");
    else if (!ours && pr.foreign && !(LX_MSG_HAS(m, force) && m->force))
        co_error(c, from, "output_not_empty",
                 "'%s' is not empty and holds no export; choose another directory, or pass "
                 "--force to write beside its files (none is deleted)",
                 m->out);
    else
        ok = true;
    *fresh = strcmp(own, j->config_hash) != 0;
    lx_prior_release(&pr);
    return ok;
}

/* A new job for the request, its output directory checked and created;
 * NULL after answering the client with an ERROR. */
static co_job_t *s_new_job(coord_t *c, const co_peer_t *from, const lx_msg_t *m,
                           lx_strbuf_t *program, double now, bool *fresh)
{
    co_job_t *j =
        LX_MSG_HAS(m, program) ? s_load(c, from, m, program) : s_compile(c, from, m, program);
    if (!j)
        return NULL;
    lx_error_t err = {0};
    bool clear = false;
    if (lx_out_check(m->out, c->cfg->allow_output, c->cfg->n_allow_output, &err) != LX_OK) {
        co_error(c, from, "bad_request", "%s", err.message);
        co_job_free(&j);
        return NULL;
    }
    if (LX_MSG_HAS(m, shard) && co_job_slice(j, m->shard.v[0], m->shard.v[1], &err) != LX_OK) {
        co_error(c, from, err.code == LX_E_NOMEM ? "internal" : "bad_request", "%s", err.message);
        co_job_free(&j);
        return NULL;
    }
    if (!(j->shard ? s_target_shard(c, from, m, j, fresh)
                   : s_target(c, from, m, &j, &clear, fresh))) {
        co_job_free(&j);
        return NULL;
    }
    if (j->n > c->cfg->max_frames) {
        co_error(c, from, "bad_request",
                 "%" PRId64 " frames: this coordinator takes at most %" PRId64
                 " frames per job (--max-frames)",
                 j->n, c->cfg->max_frames);
        co_job_free(&j);
        return NULL;
    }
    if (program->failed ||
        lx_out_make(m->out, c->cfg->allow_output, c->cfg->n_allow_output, &err) != LX_OK) {
        co_error(c, from, program->failed ? "internal" : "bad_request", "%s",
                 program->failed ? "out of memory" : err.message);
        co_job_free(&j);
        return NULL;
    }
    co_roots_t roots = co_roots_of(c);
    int64_t removed = clear ? co_output_clear(&roots, m->out, &err) : 0;
    if (removed < 0) {
        co_error(c, from, "bad_request", "cannot remove the export in '%s': %s", m->out,
                 err.message);
        co_job_free(&j);
        return NULL;
    }
    if (removed)
        co_log(c, LX_LOG_INFO, "event=export_replaced out=\"%s\" files=%" PRId64, m->out, removed);
    j->stream = LX_MSG_HAS(m, output) && strcmp(m->output, "stream") == 0;
    j->chunk = LX_MSG_HAS(m, chunk) ? (uint32_t)m->chunk : c->cfg->chunk;
    j->progress_ms = LX_MSG_HAS(m, progress_timeout_ms) ? (double)m->progress_timeout_ms
                                                        : c->cfg->progress_timeout_ms;
    j->audit_rate = LX_MSG_HAS(m, audit_rate) ? m->audit_rate : -1;
    j->created = now;
    return j;
}

/* Kept frames become results of the submit's transaction; their messages
 * live in the arena until it is committed. */
typedef struct {
    const co_state_t *s;
    co_job_t *j;
    co_tx_t *tx;
    lx_arena_t *arena;
} keep_t;

static lx_result_t s_keep(void *user, int64_t f, double t_ms, const lx_camera_t *cam,
                          const lx_manifest_file_t *files, const lx_file_stamp_t *stamps,
                          uint32_t n, lx_error_t *err)
{
    (void)stamps;
    keep_t *k = user;
    lx_msg_t *m = lx_arena_calloc(k->arena, 1, sizeof *m);
    lx_file_rec_t *recs = lx_arena_calloc(k->arena, n + 1, sizeof *recs);
    double *camv = lx_arena_calloc(k->arena, LX_CAMERA_VALUES, sizeof *camv);
    if (!m || !recs || !camv)
        return lx_fail(err, LX_E_NOMEM, "out of memory");
    for (uint32_t i = 0; i < n; i++) {
        LX_REC_SET(&recs[i], LX_FILE_REC, key, lx_arena_strdup(k->arena, files[i].key));
        LX_REC_SET(&recs[i], LX_FILE_REC, name, lx_arena_strdup(k->arena, files[i].name));
        LX_REC_SET(&recs[i], LX_FILE_REC, hash, lx_arena_strdup(k->arena, files[i].hash));
        LX_REC_SET(&recs[i], LX_FILE_REC, content, lx_arena_strdup(k->arena, files[i].content));
    }
    lx_camera_to_values(cam, camv);
    m->type = LX_MSG_FRAME;
    LX_MSG_SET(m, job, k->j->id);
    LX_MSG_SET(m, attempt, 0);
    LX_MSG_SET(m, frame, f);
    LX_MSG_SET(m, render_ms, 0.0);
    LX_MSG_SET(m, t_ms, t_ms);
    LX_MSG_SET(m, camera, ((lx_f64s_t){camv, LX_CAMERA_VALUES}));
    LX_MSG_SET(m, files, ((lx_file_recs_t){recs, n}));
    lx_strbuf_t record;
    lx_strbuf_init(&record, NULL);
    lx_result_t rc = k->arena->failed ? lx_fail(err, LX_E_NOMEM, "out of memory")
                                      : co_frame_record(m, &record, err);
    char *copy = rc == LX_OK ? lx_arena_strndup(k->arena, record.buf, record.len) : NULL;
    if (rc == LX_OK && !copy)
        rc = lx_fail(err, LX_E_NOMEM, "out of memory");
    if (rc == LX_OK)
        co_sched_keep(k->s, k->j, m, copy, record.len, k->tx);
    lx_strbuf_release(&record);
    return rc;
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
    bool fresh = true;
    co_job_t *j = s_new_job(c, from, m, &program, now, &fresh);
    if (j) {
        memcpy(j->id, id, sizeof id);
        snprintf(j->owner, sizeof j->owner, "%s", owner);
        snprintf(j->token, sizeof j->token, "%s", m->token);
        memcpy(j->submit_hash, submit_hash, sizeof submit_hash);
        co_job_t *submitted = j;
        co_tx_t tx;
        co_tx_init(&tx);
        lx_arena_t arena;
        lx_arena_init(&arena, NULL);
        keep_t keep = {&c->state, j, &tx, &arena};
        lx_resume_stats_t st = {0};
        lx_error_t err = {0};
        lx_manifest_t *plan = j->manifest;
        co_sched_submit(&c->state, &j, program.buf, program.len, &tx);
        /* The frames the export already holds, intact, are not rendered:
         * a shard's from its own books; the export's from its journal and
         * from the books of shards of it not assembled yet. */
        size_t n_shards = 0;
        char **shards = submitted->shard || fresh ? NULL : lx_shard_names(m->out, &n_shards);
        const char **books = calloc(n_shards + 1, sizeof *books);
        char(*paths)[LX_BOOK_MAX] = calloc(n_shards + 1, sizeof *paths);
        lx_result_t rc = books && paths ? LX_OK : lx_fail(&err, LX_E_NOMEM, "out of memory");
        for (size_t i = 0; rc == LX_OK && i < n_shards; i++) {
            snprintf(paths[i], sizeof *paths, LX_SHARDS_DIR "/%s", shards[i]);
            books[i + 1] = paths[i];
        }
        if (books)
            books[0] = submitted->book;
        if (rc == LX_OK && !fresh)
            rc = lx_resume_scan(plan, m->out, books, n_shards + 1, false, s_keep, &keep, &st, &err);
        for (size_t i = 0; i < n_shards; i++)
            free(shards[i]);
        free(shards);
        free(books);
        free(paths);
        if (rc == LX_OK && !fresh)
            co_tx_log(&tx, LX_LOG_INFO,
                      "event=job_resumed job=%s kept=%" PRId64 " trusted_files=%" PRIu64
                      " rehashed_files=%" PRIu64 " damaged_files=%" PRIu64,
                      submitted->id, st.kept, st.trusted, st.rehashed, st.damaged);
        lx_strbuf_t header;
        lx_strbuf_init(&header, NULL);
        lx_progress_header(submitted->program, &submitted->plan, &header);
        co_roots_t roots = co_roots_of(c);
        if (rc != LX_OK) {
            co_tx_release(&tx);
            co_error(c, from, "internal", "cannot read the progress of '%s': %s", m->out,
                     err.message);
        } else if (!co_commit(c, &tx)) {
            co_error(c, from, "internal", "cannot journal the job (see the coordinator log)");
        } else {
            if (header.failed ||
                co_output_journal(&roots, submitted, header.buf, header.len, fresh, &err) != LX_OK)
                co_log(c, LX_LOG_WARN, "event=progress_journal_failed job=%s error=\"%s\"",
                       submitted->id, header.failed ? "out of memory" : err.message);
            /* A shard leaves its program for `lattice assemble`, and is
             * unsealed while it has frames to render. */
            if (submitted->shard &&
                co_output_shard_start(&roots, submitted, program.buf, program.len,
                                      st.kept < submitted->n, &err) != LX_OK)
                co_log(c, LX_LOG_WARN, "event=shard_start_failed job=%s error=\"%s\"",
                       submitted->id, err.message);
            /* Everything already there: the manifest is written now. */
            co_settle(c, now);
            s_reply_jobs(c, from, submitted, now);
        }
        lx_strbuf_release(&header);
        lx_arena_release(&arena);
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
    /* Another job writing in its directory (one finishing, say) would have
     * files renamed over the ones it reads. */
    if (s_busy(c, from, j->out))
        return;
    if (j->shard) {
        co_error(c, from, "bad_request",
                 "job %s is a shard, which has no metadata.json to repair: submit it again "
                 "(it resumes from its journal), then assemble",
                 j->id);
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
    if (m->type == LX_MSG_CANCEL_JOB && j && j->finisher) {
        co_error(c, from, "busy",
                 "job %s has every frame and its export is being written: it cannot be "
                 "cancelled now, and is done in a moment",
                 j->id);
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
