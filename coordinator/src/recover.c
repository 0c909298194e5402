/* Restart: rebuilding jobs, frames, results and in-flight attempts from
 * the journal. */
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

/* Rebuilding from the journal after a restart: jobs, frame states,
 * accepted results (into the manifest) and the attempts that were in
 * flight. Those are orphans (worker 0) until a worker re-announces them in
 * HELLO.resumed; after the grace period they go back to the queue. */
typedef struct recover {
    coord_t *c;
    job_t *job;
    lx_error_t err;
    uint64_t jobs, frames_done, results, attempts;
} recover_t;

static bool s_recover_job(void *user, journal_row_t *r)
{
    recover_t *u = user;
    coord_t *c = u->c;
    job_t *j = calloc(1, sizeof *j);
    lx_strbuf_t program;
    lx_strbuf_init(&program, NULL);
    lx_error_t err = {0};
    const char *id = journal_col_text(r, 0), *state = journal_col_text(r, 3);
    lx_result_t rc = j ? LX_OK : lx_fail(&err, LX_E_NOMEM, "out of memory");
    if (rc == LX_OK && journal_program(c->journal, journal_col_text(r, 4), &program) != LX_OK)
        rc = lx_fail(&err, LX_E_NOTFOUND, "program %.12s is not in the store",
                     journal_col_text(r, 4));
    if (rc == LX_OK)
        rc = lx_ir_decode(program.buf, program.len, NULL, &j->p, &err);
    lx_export_config_t cfg;
    lx_export_config_init(&cfg);
    lx_diags_t diags;
    lx_diags_init(&diags, NULL);
    const char *config = journal_col_text(r, 5);
    if (rc == LX_OK && (lx_export_config_load_json(&cfg, config, strlen(config), &diags) != LX_OK ||
                        lx_export_plan(j->p, &cfg, &j->plan, &diags) != LX_OK))
        rc = lx_fail(&err, LX_E_INVALID, "its config no longer plans");
    lx_diags_release(&diags);
    if (rc == LX_OK)
        rc = co_job_setup(j, journal_col_text(r, 7), &err);
    if (rc == LX_OK && strcmp(j->config_hash, journal_col_text(r, 6)) != 0)
        rc = lx_fail(&err, LX_E_VERIFY, "its config resolves to another hash");
    if (rc == LX_OK && !co_grow((void **)&c->jobs, &c->cap_jobs, c->n_jobs, sizeof *c->jobs))
        rc = lx_fail(&err, LX_E_NOMEM, "out of memory");
    lx_strbuf_release(&program);
    if (rc != LX_OK) {
        co_log(c, LX_LOG_ERROR, "event=recover_failed job=%s error=\"%s\"", id, err.message);
        co_job_free(j);
        return true;
    }
    snprintf(j->id, sizeof j->id, "%s", id);
    snprintf(j->token, sizeof j->token, "%s", journal_col_text(r, 1));
    snprintf(j->submit_hash, sizeof j->submit_hash, "%s", journal_col_text(r, 2));
    for (int k = 0; k < 5; k++)
        if (strcmp(state, co_job_states[k]) == 0)
            j->state = k;
    j->stream = strcmp(journal_col_text(r, 8), "stream") == 0;
    j->chunk = (uint32_t)journal_col_int(r, 9);
    if (*journal_col_text(r, 10))
        j->error = strdup(journal_col_text(r, 10));
    j->progress_ms = journal_col_double(r, 11);
    if (j->progress_ms <= 0)
        j->progress_ms = c->cfg->progress_timeout_ms;
    c->jobs[c->n_jobs++] = j;
    u->jobs++;
    return true;
}

static bool s_recover_frame(void *user, journal_row_t *r)
{
    recover_t *u = user;
    job_t *j = u->job;
    int64_t i = journal_col_int(r, 0) - j->first;
    if (i < 0 || i >= j->n)
        return true;
    const char *state = journal_col_text(r, 1);
    j->fattempt[i] = (uint64_t)journal_col_int(r, 2);
    /* failed_by: the hashes of the workers that failed it, "%016llx," each. */
    const char *by = journal_col_text(r, 4);
    for (int k = 0; k < MAX_FRAME_FAILURES && strlen(by) >= 17 * (size_t)(k + 1); k++) {
        j->fby[i][k] = strtoull(by + 17 * k, NULL, 16);
        j->ffail[i] = (uint8_t)(k + 1);
    }
    /* Done only with an accepted result (s_recover_result); running only
     * under an attempt still in flight (s_recover_attempt). */
    if (strcmp(state, "failed") == 0) {
        j->fstate[i] = F_FAILED;
        j->failed++;
    } else {
        j->fstate[i] = F_PENDING;
    }
    return true;
}

static bool s_recover_result(void *user, journal_row_t *r)
{
    recover_t *u = user;
    job_t *j = u->job;
    size_t len = 0;
    const void *blob = journal_col_blob(r, 0, &len);
    lx_arena_t arena;
    lx_arena_init(&arena, NULL);
    lx_msg_t m;
    lx_camera_t cam;
    lx_error_t err = {0};
    lx_manifest_file_t files[64];
    int64_t i = -1;
    if (lx_msg_decode(blob, len, &arena, &m, &err) == LX_OK && m.type == LX_MSG_FRAME &&
        m.files.n <= 64 && lx_camera_from_values(&m.camera, &cam)) {
        for (uint32_t k = 0; k < m.files.n; k++)
            files[k] = (lx_manifest_file_t){m.files.v[k].key, m.files.v[k].name, m.files.v[k].hash,
                                            m.files.v[k].content};
        i = m.frame - j->first;
        if (i < 0 || i >= j->n ||
            lx_manifest_add_frame(j->manifest, m.frame, m.t_ms, &cam, files, m.files.n, &err) !=
                LX_OK)
            i = -1;
    }
    if (i >= 0 && j->fstate[i] == F_PENDING) {
        j->fstate[i] = F_DONE;
        j->done++;
        j->ms_sum += m.render_ms;
        u->results++;
    } else {
        co_log(u->c, LX_LOG_WARN, "event=recover_result_skipped job=%s error=\"%s\"", j->id,
               err.message[0] ? err.message : "not a frame of the job");
    }
    lx_arena_release(&arena);
    return true;
}

static bool s_recover_late(void *user, journal_row_t *r)
{
    ((job_t *)user)->late = (uint64_t)journal_col_int(r, 0);
    return false;
}

static bool s_recover_attempt(void *user, journal_row_t *r)
{
    recover_t *u = user;
    coord_t *c = u->c;
    job_t *j = co_job(c, journal_col_text(r, 1));
    if (!j || j->state > J_RUNNING ||
        !co_grow((void **)&c->attempts, &c->cap_attempts, c->n_attempts, sizeof *c->attempts))
        return true;
    attempt_t a = {(uint64_t)journal_col_int(r, 0),
                   j,
                   journal_col_int(r, 2),
                   journal_col_int(r, 3),
                   0,
                   lx_monotonic_ms(),
                   false};
    uint64_t held = 0;
    for (int64_t f = a.first; f <= a.last; f++) {
        int64_t i = f - j->first;
        if (i >= 0 && i < j->n && j->fstate[i] == F_PENDING && j->fattempt[i] == a.id) {
            j->fstate[i] = F_RUNNING;
            j->running++;
            held++;
        }
    }
    if (held) {
        c->attempts[c->n_attempts++] = a;
        u->attempts++;
    }
    return true;
}

lx_result_t co_recover(coord_t *c, lx_error_t *err)
{
    recover_t u = {.c = c};
    lx_result_t rc = journal_each(c->journal, err, s_recover_job, &u,
                                  "SELECT id, token, submit_hash, state, program_hash, config,"
                                  " config_hash, out, output, chunk, error, progress_ms FROM jobs"
                                  " ORDER BY created, rowid",
                                  "");
    for (size_t k = 0; k < c->n_jobs && rc == LX_OK; k++) {
        u.job = c->jobs[k];
        rc = journal_each(c->journal, err, s_recover_frame, &u,
                          "SELECT frame, state, attempt, failures, failed_by FROM frames"
                          " WHERE job = ?",
                          "s", u.job->id);
        if (rc == LX_OK)
            rc = journal_each(c->journal, err, s_recover_result, &u,
                              "SELECT record FROM results WHERE job = ? AND current = 1", "s",
                              u.job->id);
        if (rc == LX_OK)
            rc = journal_each(c->journal, err, s_recover_late, u.job,
                              "SELECT count(*) FROM results WHERE job = ? AND current = 0", "s",
                              u.job->id);
    }
    if (rc == LX_OK)
        rc = journal_each(c->journal, err, s_recover_attempt, &u,
                          "SELECT id, job, first, last FROM attempts WHERE state = 'running'", "");
    if (u.jobs)
        co_log(c, LX_LOG_INFO,
               "event=recovered jobs=%" PRIu64 " frames_done=%" PRIu64
               " attempts_in_flight=%" PRIu64 " grace_ms=%.0f",
               u.jobs, u.results, u.attempts, c->grace_ms);
    c->grace_until = lx_monotonic_ms() + c->grace_ms;
    return rc;
}
