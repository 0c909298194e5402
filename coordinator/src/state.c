/* The coordinator's state (see state.h). */
#include "state.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "finisher.h"
#include "lattice/digest.h"
#include "lattice/frame_msg.h"
#include "lattice/ir_codec.h"
#include "snapshots.h"

const char *const co_job_state_names[5] = {"queued", "running", "done", "failed", "cancelled"};
const char *const co_frame_state_names[4] = {"pending", "running", "done", "failed"};

bool co_grow(void **items, size_t *cap, size_t n, size_t elem)
{
    if (n < *cap)
        return true;
    size_t grown = *cap ? 2 * *cap : 16;
    void *p = realloc(*items, grown * elem);
    if (!p)
        return false;
    *items = p;
    *cap = grown;
    return true;
}

void co_state_init(co_state_t *s)
{
    memset(s, 0, sizeof *s);
    lx_arena_init(&s->arena, NULL);
    lx_strmap_init(&s->ident_of, &s->arena);
    co_state_intern(s, ""); /* identity 0: nobody */
}

void co_state_release(co_state_t *s)
{
    for (size_t i = 0; i < s->n_jobs; i++)
        co_job_free(&s->jobs[i]);
    free(s->jobs);
    free(s->attempts);
    free(s->sessions);
    free(s->quarantined);
    free(s->idents);
    lx_arena_release(&s->arena);
    memset(s, 0, sizeof *s);
}

uint64_t co_build_id(const char *build)
{
    uint8_t h[16];
    lx_xxh128(build, strlen(build), h);
    uint64_t v;
    memcpy(&v, h, sizeof v);
    return v ? v : 1;
}

co_ident_t co_state_intern(co_state_t *s, const char *name)
{
    uint32_t k = lx_strmap_get(&s->ident_of, name);
    if (k != UINT32_MAX)
        return k;
    size_t cap = s->cap_idents;
    if (!co_grow((void **)&s->idents, &cap, s->n_idents, sizeof *s->idents))
        return 0;
    s->cap_idents = (uint32_t)cap;
    char *copy = lx_arena_strdup(&s->arena, name);
    if (!copy || lx_strmap_put(&s->ident_of, copy, s->n_idents) != 0)
        return 0;
    s->idents[s->n_idents] = (co_identity_t){copy, ""};
    return s->n_idents++;
}

void co_state_label_set(co_state_t *s, co_ident_t who, const char *label)
{
    if (who && who < s->n_idents)
        snprintf(s->idents[who].label, sizeof s->idents[who].label, "%s", label);
}

co_ident_t co_state_ident(const co_state_t *s, const char *name)
{
    uint32_t k = lx_strmap_get(&s->ident_of, name);
    return k == UINT32_MAX ? 0 : k;
}

const char *co_state_name(const co_state_t *s, co_ident_t who)
{
    return who < s->n_idents ? s->idents[who].text : "";
}

const char *co_state_label(const co_state_t *s, co_ident_t who)
{
    if (who >= s->n_idents)
        return "";
    return s->idents[who].label[0] ? s->idents[who].label : s->idents[who].text;
}

co_job_t *co_state_job(const co_state_t *s, const char *id)
{
    for (size_t i = 0; i < s->n_jobs; i++)
        if (strcmp(s->jobs[i]->id, id) == 0)
            return s->jobs[i];
    return NULL;
}

co_job_t *co_state_job_by_token(const co_state_t *s, const char *owner, const char *token)
{
    for (size_t i = 0; i < s->n_jobs; i++)
        if (strcmp(s->jobs[i]->token, token) == 0 && strcmp(s->jobs[i]->owner, owner) == 0)
            return s->jobs[i];
    return NULL;
}

co_attempt_t *co_state_attempt(const co_state_t *s, uint64_t id)
{
    for (size_t i = 0; i < s->n_attempts; i++)
        if (s->attempts[i].id == id)
            return &s->attempts[i];
    return NULL;
}

co_session_t *co_state_session(const co_state_t *s, uint64_t serial)
{
    for (size_t i = 0; serial && i < s->n_sessions; i++)
        if (s->sessions[i].serial == serial)
            return &s->sessions[i];
    return NULL;
}

uint32_t co_state_held(const co_state_t *s, uint64_t serial)
{
    uint32_t held = 0;
    for (size_t i = 0; i < s->n_attempts; i++)
        held += s->attempts[i].session == serial;
    return held;
}

bool co_state_quarantined(const co_state_t *s, co_ident_t who)
{
    for (size_t i = 0; who && i < s->n_quarantined; i++)
        if (s->quarantined[i] == who)
            return true;
    return false;
}

bool co_job_blocked(const co_job_t *j, co_ident_t who, double now)
{
    for (size_t k = 0; k < j->n_blocks; k++)
        if (j->blocks[k].who == who)
            return j->blocks[k].until > now;
    return false;
}

bool co_job_failed_by(const co_job_t *j, int64_t i, co_ident_t who)
{
    const co_frame_t *f = &j->frames[i];
    for (int k = 0; k < f->failures; k++)
        if (f->failed_by[k] == who)
            return true;
    return false;
}

int64_t co_job_warmup_from(const co_job_t *j, int64_t a)
{
    if (j->program->state_horizon == LX_HORIZON_UNBOUNDED)
        return j->snaps && a > 0 ? co_snaps_nearest(j->snaps, a - 1, NULL, NULL) : 0;
    int64_t h = j->program->state_horizon > 1 ? (int64_t)j->program->state_horizon : 1;
    return a - h > 0 ? a - h : 0;
}

int64_t co_job_pending(const co_job_t *j)
{
    return j->n - (int64_t)(j->done + j->running + j->failed);
}

bool co_job_complete(const co_job_t *j) { return (int64_t)j->done == j->n && j->audits_open == 0; }

lx_manifest_file_t *co_frame_files(const lx_msg_t *m, lx_manifest_file_t small[64])
{
    lx_manifest_file_t *fs = m->files.n <= 64 ? small : calloc(m->files.n, sizeof *fs);
    for (uint32_t k = 0; fs && k < m->files.n; k++) {
        const lx_file_rec_t *r = &m->files.v[k];
        fs[k] = (lx_manifest_file_t){r->key, r->name, r->hash, r->content};
    }
    return fs;
}

lx_result_t co_job_manifest_frame(co_job_t *j, const lx_msg_t *m, bool record, lx_error_t *err)
{
    lx_camera_t cam;
    if (!lx_camera_from_values(&m->camera, &cam))
        return lx_fail(err, LX_E_BADMSG, "camera: not a camera");
    if (!isfinite(m->t_ms))
        return lx_fail(err, LX_E_BADMSG, "t_ms: not a finite time");
    lx_manifest_file_t small[64];
    lx_manifest_file_t *fs = co_frame_files(m, small);
    if (!fs)
        return lx_fail(err, LX_E_NOMEM, "out of memory");
    lx_result_t rc =
        record ? lx_manifest_add_frame(j->manifest, m->frame, m->t_ms, &cam, fs, m->files.n, err)
               : lx_manifest_check_frame(j->manifest, m->frame, fs, m->files.n, err);
    if (fs != small)
        free(fs);
    return rc;
}

lx_result_t co_frame_record(const lx_msg_t *m, lx_strbuf_t *out, lx_error_t *err)
{
    lx_file_rec_t small[64];
    lx_file_rec_t *files = m->files.n <= 64 ? small : calloc(m->files.n, sizeof *files);
    if (!files)
        return lx_fail(err, LX_E_NOMEM, "out of memory");
    for (uint32_t i = 0; i < m->files.n; i++) {
        files[i] = m->files.v[i];
        files[i].has &= ~LX_FILE_REC_BIT(bytes);
    }
    lx_msg_t copy = *m;
    copy.files.v = files;
    lx_result_t rc = lx_msg_encode(&copy, out, err);
    if (files != small)
        free(files);
    return rc;
}

co_job_t *co_job_new(lx_program_t **p_p, const lx_export_plan_t *plan, const char *out, bool audits,
                     lx_error_t *err)
{
    if (plan->first < 0 || plan->last < plan->first || plan->last > CO_FRAME_MAX) {
        lx_program_destroy(p_p);
        lx_fail(err, LX_E_INVALID, "frames %lld-%lld: frame numbers go from 0 to %lld",
                (long long)plan->first, (long long)plan->last, (long long)CO_FRAME_MAX);
        return NULL;
    }
    co_job_t *j = calloc(1, sizeof *j);
    if (!j) {
        lx_program_destroy(p_p);
        lx_fail(err, LX_E_NOMEM, "out of memory for a job");
        return NULL;
    }
    j->program = *p_p;
    *p_p = NULL;
    j->plan = *plan;
    j->first = plan->first;
    j->n = plan->last - plan->first + 1;
    j->audit_rate = -1;
    j->frames = calloc((size_t)j->n, sizeof *j->frames);
    j->audits = audits ? calloc((size_t)j->n, sizeof *j->audits) : NULL;
    lx_strbuf_t cfg;
    lx_strbuf_init(&cfg, NULL);
    lx_export_plan_config_json(&j->plan, &cfg);
    j->config_json = lx_strbuf_detach(&cfg);
    j->out = strdup(out);
    lx_progress_book(false, 0, 0, j->book);
    lx_error_t merr = {0};
    j->manifest = lx_manifest_new(j->program, &j->plan, NULL, &merr);
    if (!j->manifest && merr.code != LX_E_NOMEM) {
        co_job_free(&j); /* a program whose files cannot be planned */
        lx_fail(err, merr.code, "%s", merr.message);
        return NULL;
    }
    if (!j->frames || (audits && !j->audits) || !j->config_json || !j->out || !j->manifest) {
        co_job_free(&j);
        lx_fail(err, LX_E_NOMEM, "out of memory for a job of %lld frames",
                (long long)plan->last - plan->first + 1);
        return NULL;
    }
    lx_hex(j->program->program_hash.bytes, 32, j->program_hash);
    lx_hex(j->plan.config_hash.bytes, 32, j->config_hash);
    return j;
}

void co_job_free(co_job_t **j_p)
{
    co_job_t *j = *j_p;
    if (!j)
        return;
    co_snaps_stop(&j->snaps); /* before the program it evaluates */
    unsigned temps;
    co_finisher_join(&j->finisher, &temps, NULL); /* before what it writes from */
    lx_manifest_destroy(&j->manifest);
    lx_program_destroy(&j->program);
    free(j->error);
    free(j->config_json);
    free(j->out);
    free(j->frames);
    free(j->audits);
    free(j->blocks);
    free(j->delivered);
    free(j);
    *j_p = NULL;
}

lx_result_t co_job_slice(co_job_t *j, int64_t a, int64_t b, lx_error_t *err)
{
    if (a < j->plan.first || b > j->plan.last || a > b)
        return lx_fail(err, LX_E_INVALID, "shard %lld-%lld: the export's frames are %lld-%lld",
                       (long long)a, (long long)b, (long long)j->plan.first,
                       (long long)j->plan.last);
    int64_t n = b - a + 1;
    co_frame_t *frames = calloc((size_t)n, sizeof *frames);
    co_audit_t *audits = j->audits ? calloc((size_t)n, sizeof *audits) : NULL;
    if (!frames || (j->audits && !audits)) {
        free(frames);
        free(audits);
        return lx_fail(err, LX_E_NOMEM, "out of memory for a shard of %lld frames", (long long)n);
    }
    free(j->frames);
    free(j->audits);
    j->frames = frames;
    j->audits = audits;
    j->first = a;
    j->n = n;
    j->hint = 0;
    j->shard = a != j->plan.first || b != j->plan.last;
    lx_progress_book(j->shard, a, b, j->book);
    return LX_OK;
}

co_job_t *co_job_load(const void *program, size_t program_len, const char *config, const char *out,
                      bool audits, lx_error_t *err)
{
    lx_program_t *p = NULL;
    if (lx_ir_decode(program, program_len, NULL, &p, err) != LX_OK)
        return NULL;
    lx_diags_t diags;
    lx_diags_init(&diags, NULL);
    lx_export_plan_t plan;
    bool planned = lx_export_plan_json(p, config, &plan, &diags) == LX_OK;
    if (!planned)
        lx_fail(err, LX_E_INVALID, "the config does not plan: %s",
                diags.count ? diags.items[0].message : "out of memory");
    lx_diags_release(&diags);
    co_job_t *j = planned ? co_job_new(&p, &plan, out, audits, err) : NULL;
    lx_program_destroy(&p);
    return j;
}
