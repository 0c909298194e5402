/* The coordinator's scheduler core, driven directly: no sockets, no
 * processes, no clocks. Every row of docs/operations.md's failure table
 * that the scheduler decides has a case here; every transition is also
 * written to a real (in-memory) SQLite journal, and the restart cases
 * rebuild a fresh state from that journal and compare. */
#include <inttypes.h>
#include <math.h>
#include <time.h>
#include <unistd.h>

#include "apply.h"
#include "attempts.h"
#include "journal.h"
#include "lattice/ir_codec.h"
#include "lattice/proc.h"
#include "output.h"
#include "recover.h"
#include "finisher.h"
#include "sched.h"
#include "test.h"

enum { MAX_FX = 512 };

typedef struct fx {
    co_effect_kind_t kind;
    uint64_t session, attempt;
    int64_t frame;
    char code[40];
} fx_t;

typedef struct h {
    co_state_t s;
    co_journal_t *jn;
    double now;
    fx_t fx[MAX_FX]; /* the effects of the last commit */
    size_t n_fx;
    char log[16384]; /* the log lines of the last commit */
    int files;       /* artifact files per FRAME: the job's own set (its manifest's) when
                      * negative, the default; else this many made-up ones (a wrong set) */
    const char *build; /* what the next HELLO says ("test") */
    bool same_content; /* a FRAME's variant changes its file hashes only */
    int64_t slice[2];  /* with sliced, the next job is a shard of these frames */
    bool sliced;
} h_t;

static void h_init(h_t *h)
{
    memset(h, 0, sizeof *h);
    co_state_init(&h->s);
    h->s.policy = (co_policy_t){0, 10000, 60000};
    lx_error_t err = {0};
    CHECK_MSG(co_journal_open(NULL, &h->jn, &err) == LX_OK, "%s", err.message);
    h->now = 1000;
    h->files = -1;
    h->build = "test";
}

static void h_release(h_t *h)
{
    co_state_release(&h->s);
    co_journal_close(&h->jn);
}

/* What the shell does: journal, apply; here the effects are kept for the
 * checks instead of being sent. */
static void h_commit(h_t *h, co_tx_t *tx)
{
    lx_error_t err = {0};
    CHECK(!tx->failed);
    CHECK_MSG(co_journal_write(h->jn, tx, 0, &err) == LX_OK, "journal: %s", err.message);
    CHECK_MSG(co_apply(&h->s, tx, &err), "apply: %s", err.message);
    h->n_fx = 0;
    for (size_t i = 0; i < tx->n_effects && h->n_fx < MAX_FX; i++) {
        const co_effect_t *e = &tx->effects[i];
        fx_t *f = &h->fx[h->n_fx++];
        *f = (fx_t){e->kind, e->session, e->attempt, e->frame, ""};
        snprintf(f->code, sizeof f->code, "%s", e->code ? e->code : "");
    }
    snprintf(h->log, sizeof h->log, "%s", tx->log.buf);
    co_tx_release(tx);
}

static size_t h_count(const h_t *h, co_effect_kind_t kind)
{
    size_t n = 0;
    for (size_t i = 0; i < h->n_fx; i++)
        n += h->fx[i].kind == kind;
    return n;
}

static const fx_t *h_find(const h_t *h, co_effect_kind_t kind)
{
    for (size_t i = 0; i < h->n_fx; i++)
        if (h->fx[i].kind == kind)
            return &h->fx[i];
    return NULL;
}

/* A job of frames [first, first + n - 1] of a patch; chunk 0 = adaptive;
 * audit_rate < 0: no audits. Takes text (from malloc). NULL (nothing
 * submitted) when co_job_new refuses it, with its message in h->log. */
static co_job_t *h_job_text(h_t *h, char *text, size_t len, int64_t first, int64_t n,
                            uint32_t chunk, double audit_rate)
{
    CHECK(text != NULL);
    lx_export_request_t req = LX_EXPORT_REQUEST_INIT;
    req.patch = text;
    req.patch_len = len;
    req.has_frames = true;
    req.first = first;
    req.last = first + (n - 1);
    lx_strbuf_t report, program;
    lx_strbuf_init(&report, NULL);
    lx_strbuf_init(&program, NULL);
    lx_error_t err = {0};
    lx_program_t *p = NULL;
    lx_export_plan_t plan;
    CHECK(lx_export_prepare(&req, NULL, &p, &plan, &report, &err) == LX_OK);
    CHECK(lx_ir_encode(p, &program, &err) == LX_OK);
    co_job_t *j = co_job_new(&p, &plan, "/nonexistent/out", audit_rate >= 0, &err);
    if (!j) {
        snprintf(h->log, sizeof h->log, "%s", err.message);
        lx_strbuf_release(&report);
        lx_strbuf_release(&program);
        free(text);
        return NULL;
    }
    if (h->sliced)
        CHECK_MSG(co_job_slice(j, h->slice[0], h->slice[1], &err) == LX_OK, "%s", err.message);
    snprintf(j->id, sizeof j->id, "j%zu", h->s.n_jobs + 1);
    snprintf(j->token, sizeof j->token, "token-%zu", h->s.n_jobs + 1);
    snprintf(j->submit_hash, sizeof j->submit_hash, "%064d", 0);
    j->chunk = chunk;
    j->progress_ms = 5000;
    j->audit_rate = audit_rate;
    j->created = h->now;
    co_job_t *keep = j;
    co_tx_t tx;
    co_tx_init(&tx);
    co_sched_submit(&h->s, &j, program.buf, program.len, &tx);
    h_commit(h, &tx);
    lx_strbuf_release(&report);
    lx_strbuf_release(&program);
    free(text);
    return keep;
}

/* h_job_text of examples/<example>.patch.json. */
static co_job_t *h_job_at(h_t *h, const char *example, int64_t first, int64_t n, uint32_t chunk,
                          double audit_rate)
{
    char rel[256];
    size_t len = 0;
    snprintf(rel, sizeof rel, "examples/%s.patch.json", example);
    char *text = t_read(rel, &len);
    return h_job_text(h, text, len, first, n, chunk, audit_rate);
}

static co_job_t *h_job(h_t *h, const char *example, int64_t n, uint32_t chunk, double audit_rate)
{
    co_job_t *j = h_job_at(h, example, 0, n, chunk, audit_rate);
    CHECK_MSG(j != NULL, "%s", h->log);
    return j;
}

static void h_hello(h_t *h, uint64_t serial, const char *name, const uint64_t *resumed,
                    uint32_t n_resumed);
static void h_ready(h_t *h, uint64_t serial, uint32_t credit);

/* The usual start: a job, and one worker (session 1) with credit 1. */
static co_job_t *h_start(h_t *h, const char *example, int64_t n, uint32_t chunk, double audit_rate,
                         const char *worker)
{
    h_init(h);
    co_job_t *j = h_job(h, example, n, chunk, audit_rate);
    h_hello(h, 1, worker, NULL, 0);
    h_ready(h, 1, 1);
    return j;
}

/* HELLO from a peer authenticated with key (NULL: unauthenticated). */
static void h_hello_as(h_t *h, uint64_t serial, const char *key, const char *name,
                       const uint64_t *resumed, uint32_t n_resumed)
{
    lx_msg_t m = {.type = LX_MSG_HELLO};
    LX_MSG_SET(&m, name, name);
    LX_MSG_SET(&m, build, h->build);
    LX_MSG_SET(&m, threads, 2);
    if (n_resumed)
        LX_MSG_SET(&m, resumed, ((lx_u64s_t){(uint64_t *)resumed, n_resumed}));
    co_tx_t tx;
    co_tx_init(&tx);
    co_sched_hello(&h->s, serial, key, &m, h->now, &tx);
    h_commit(h, &tx);
}

static void h_hello(h_t *h, uint64_t serial, const char *name, const uint64_t *resumed,
                    uint32_t n_resumed)
{
    h_hello_as(h, serial, NULL, name, resumed, n_resumed);
}

static void h_ready(h_t *h, uint64_t serial, uint32_t credit)
{
    co_tx_t tx;
    co_tx_init(&tx);
    co_sched_ready(&h->s, serial, credit, &tx);
    h_commit(h, &tx);
}

/* One dispatch step: the attempt handed out, or NULL. */
static const co_attempt_t *h_dispatch(h_t *h)
{
    co_tx_t tx;
    co_tx_init(&tx);
    if (!co_sched_dispatch(&h->s, h->now, &tx)) {
        co_tx_release(&tx);
        return NULL;
    }
    h_commit(h, &tx);
    const fx_t *a = h_find(h, CO_FX_ASSIGN);
    CHECK(a != NULL);
    return a ? co_state_attempt(&h->s, a->attempt) : NULL;
}

/* The FRAME of frame f of attempt `attempt` from session `serial`;
 * `variant` changes its content hashes (a wrong result). */
static co_frame_verdict_t h_frame(h_t *h, uint64_t serial, const char *job, uint64_t attempt,
                                  int64_t f, int variant)
{
    static char keys[80][80], names[80][32], hashes[80][65], contents[80][33];
    lx_file_rec_t files[80];
    double camera[17] = {0, 0, 0, 5, 0, 0, 0, 0, 1, 0, 0, 0, -1, 40, 2, 0.1, 100};
    /* The files the job's manifest expects, unless a wrong set is asked for. */
    const co_job_t *j = co_state_job(&h->s, job);
    uint32_t n_planned = 0;
    const lx_export_file_t *planned =
        j && j->manifest ? lx_manifest_files(j->manifest, &n_planned) : NULL;
    int n_files = h->files >= 0 ? h->files : (int)n_planned;
    CHECK(n_files <= 80);
    for (int k = 0; k < n_files && k < 80; k++) {
        if (h->files >= 0)
            snprintf(keys[k], sizeof keys[k], k == 0 ? "rgba" : "mask/l%d", k);
        else
            snprintf(keys[k], sizeof keys[k], "%s", planned[k].key);
        snprintf(names[k], sizeof names[k], "frame_%06" PRId64 ".%s", f,
                 h->files >= 0 ? "png" : planned[k].ext);
        snprintf(hashes[k], sizeof hashes[k], "%032d%032d", variant, k);
        snprintf(contents[k], sizeof contents[k], "%016d%016d", h->same_content ? 0 : variant, k);
        files[k] = (lx_file_rec_t){0};
        LX_REC_SET(&files[k], LX_FILE_REC, key, keys[k]);
        LX_REC_SET(&files[k], LX_FILE_REC, name, names[k]);
        LX_REC_SET(&files[k], LX_FILE_REC, hash, hashes[k]);
        LX_REC_SET(&files[k], LX_FILE_REC, content, contents[k]);
    }
    lx_msg_t m = {.type = LX_MSG_FRAME};
    LX_MSG_SET(&m, job, job);
    LX_MSG_SET(&m, attempt, attempt);
    LX_MSG_SET(&m, frame, f);
    LX_MSG_SET(&m, render_ms, 10.0);
    LX_MSG_SET(&m, t_ms, (double)f * 1000.0 / 24.0);
    LX_MSG_SET(&m, camera, ((lx_f64s_t){camera, 17}));
    LX_MSG_SET(&m, files, ((lx_file_recs_t){files, (uint32_t)n_files}));
    lx_strbuf_t record;
    lx_strbuf_init(&record, NULL);
    lx_error_t err = {0};
    CHECK(lx_msg_encode(&m, &record, &err) == LX_OK);
    co_tx_t tx;
    co_tx_init(&tx);
    co_frame_verdict_t v = co_sched_frame(&h->s, serial, &m, record.buf, record.len, h->now, &tx);
    if (v == CO_FRAME_CANDIDATE)
        co_sched_accept(&h->s, serial, &m, record.buf, record.len, h->now, &tx);
    h_commit(h, &tx);
    lx_strbuf_release(&record);
    return v;
}

/* Every frame of attempt a, delivered by session `serial`. */
static void h_deliver(h_t *h, uint64_t serial, const co_attempt_t *a, int variant)
{
    uint64_t id = a->id;
    int64_t first = a->first, last = a->last;
    const char *job = a->job->id;
    bool audit = a->audit;
    for (int64_t f = first; f <= last; f++) {
        co_frame_verdict_t v = h_frame(h, serial, job, id, f, variant);
        co_frame_verdict_t want = audit ? CO_FRAME_DECIDED : CO_FRAME_CANDIDATE;
        CHECK_MSG(v == want,
                  "frame %" PRId64 " of attempt %" PRIu64 " [%" PRId64 "-%" PRId64
                  "]: verdict %d; %s",
                  f, id, first, last, v, h->log);
    }
}

static void h_chunk_end(h_t *h, uint64_t serial, const co_attempt_t *a, const char *reason)
{
    lx_msg_t m = {.type = reason ? LX_MSG_CHUNK_FAIL : LX_MSG_CHUNK_DONE};
    LX_MSG_SET(&m, job, a->job->id);
    LX_MSG_SET(&m, attempt, a->id);
    if (reason)
        LX_MSG_SET(&m, reason, reason);
    co_tx_t tx;
    co_tx_init(&tx);
    co_sched_chunk_end(&h->s, serial, &m, NULL, h->now, &tx);
    h_commit(h, &tx);
}

static void h_end(h_t *h, uint64_t serial, const char *why)
{
    co_tx_t tx;
    co_tx_init(&tx);
    co_sched_session_end(&h->s, serial, why, h->now, &tx);
    h_commit(h, &tx);
}

static bool h_tick(h_t *h)
{
    co_tx_t tx;
    co_tx_init(&tx);
    if (!co_sched_tick(&h->s, h->now, &tx)) {
        co_tx_release(&tx);
        return false;
    }
    h_commit(h, &tx);
    return true;
}

/* Runs finish: the job's FINISH effect, then a successful manifest. */
static bool h_finish(h_t *h)
{
    co_tx_t tx;
    co_tx_init(&tx);
    if (!co_sched_finish(&h->s, h->now, &tx)) {
        co_tx_release(&tx);
        return false;
    }
    h_commit(h, &tx);
    const fx_t *fin = h_find(h, CO_FX_FINISH);
    if (!fin)
        return true; /* the job failed instead */
    co_job_t *j = NULL;
    for (size_t i = 0; i < h->s.n_jobs; i++)
        if (h->s.jobs[i]->state <= CO_J_RUNNING && co_job_complete(h->s.jobs[i]))
            j = h->s.jobs[i];
    CHECK(j != NULL);
    co_tx_init(&tx);
    co_sched_finished(&h->s, j, LX_OK, NULL, &tx);
    h_commit(h, &tx);
    return true;
}

static int64_t h_frames_in(const co_job_t *j, co_frame_state_t st)
{
    int64_t n = 0;
    for (int64_t i = 0; i < j->n; i++)
        n += j->frames[i].state == st;
    return n;
}

/* ---- restarts: the state a journal rebuilds ------------------------------ */

/* Rebuilds a state from h's journal, as a restarted coordinator does. */
static void h_recover(h_t *h, co_state_t *out, co_recovered_t *got)
{
    co_state_init(out);
    out->policy = h->s.policy;
    co_tx_t log;
    co_tx_init(&log);
    lx_error_t err = {0};
    CHECK_MSG(co_recover(out, h->jn, h->now, h->now, 3000, &log, got, &err) == LX_OK, "%s",
              err.message);
    CHECK_MSG(!strstr(log.log.buf, "recover_failed") && !strstr(log.log.buf, "skipped"), "%s",
              log.log.buf);
    co_tx_release(&log);
}

static void s_same_job(const co_state_t *a, const co_job_t *x, const co_state_t *b,
                       const co_job_t *y)
{
    CHECK_EQ_STR(x->id, y->id);
    CHECK_EQ_INT(x->state, y->state);
    CHECK_EQ_STR(x->error ? x->error : "", y->error ? y->error : "");
    CHECK_EQ_INT(x->n, y->n);
    CHECK_EQ_INT(x->first, y->first);
    CHECK_EQ_INT(x->shard, y->shard);
    CHECK_EQ_STR(x->book, y->book);
    CHECK_EQ_INT(x->done, y->done);
    CHECK_EQ_INT(x->failed, y->failed);
    CHECK_EQ_INT(x->late, y->late);
    CHECK_EQ_INT(x->audited, y->audited);
    CHECK_EQ_INT(x->disputed, y->disputed);
    CHECK_EQ_INT(x->rerendered, y->rerendered);
    CHECK_EQ_INT(x->audits_open, y->audits_open);
    CHECK(x->audit_rate == y->audit_rate);
    CHECK_EQ_INT(x->chunk, y->chunk);
    CHECK(x->progress_ms == y->progress_ms);
    CHECK_EQ_INT(x->stream, y->stream);
    for (int64_t i = 0; i < x->n; i++) {
        const co_frame_t *f = &x->frames[i], *g = &y->frames[i];
        /* running frames are only running under an attempt in flight */
        CHECK_MSG(f->state == g->state, "frame %" PRId64 ": %d != %d", i, f->state, g->state);
        if (f->state == CO_F_DONE)
            CHECK(lx_manifest_has_frame(y->manifest, x->first + i));
        CHECK_EQ_INT(f->failures, g->failures);
        for (int k = 0; k < f->failures && k < g->failures; k++) {
            bool found = false;
            for (int l = 0; l < g->failures; l++)
                found |= strcmp(co_state_name(a, f->failed_by[k]),
                                co_state_name(b, g->failed_by[l])) == 0;
            CHECK(found);
        }
        if (x->audits) {
            const co_audit_t *p = &x->audits[i], *q = &y->audits[i];
            CHECK_EQ_INT(p->state, q->state);
            CHECK(memcmp(p->sig, q->sig, sizeof p->sig) == 0);
            for (int k = 0; k < 3; k++)
                CHECK_EQ_STR(co_state_name(a, p->who[k]), co_state_name(b, q->who[k]));
        }
    }
    CHECK_EQ_INT(x->n_blocks, y->n_blocks);
    for (size_t k = 0; k < x->n_blocks && k < y->n_blocks; k++) {
        CHECK_EQ_STR(co_state_name(a, x->blocks[k].who), co_state_name(b, y->blocks[k].who));
        CHECK_EQ_INT(x->blocks[k].failed_chunks, y->blocks[k].failed_chunks);
        CHECK_MSG(fabs(x->blocks[k].until - y->blocks[k].until) < 1, "%f != %f", x->blocks[k].until,
                  y->blocks[k].until);
    }
}

/* A restart at this point would rebuild the same state: every job, frame,
 * budget, result, block, audit and quarantine, and the attempts in flight
 * (as orphans). */
static void h_check_restart(h_t *h)
{
    co_state_t r;
    co_recovered_t got;
    h_recover(h, &r, &got);
    CHECK_EQ_INT(r.n_jobs, h->s.n_jobs);
    CHECK_EQ_INT(r.last_attempt, h->s.last_attempt);
    for (size_t k = 0; k < r.n_jobs && k < h->s.n_jobs; k++)
        s_same_job(&h->s, h->s.jobs[k], &r, r.jobs[k]);
    CHECK_EQ_INT(r.n_quarantined, h->s.n_quarantined);
    for (size_t k = 0; k < h->s.n_quarantined; k++)
        CHECK(co_state_quarantined(&r,
                                   co_state_ident(&r, co_state_name(&h->s, h->s.quarantined[k]))));
    CHECK_EQ_INT(r.n_attempts, h->s.n_attempts);
    for (size_t k = 0; k < h->s.n_attempts; k++) {
        const co_attempt_t *a = &h->s.attempts[k], *b = co_state_attempt(&r, a->id);
        CHECK(b && b->session == 0 && b->first == a->first && b->last == a->last &&
              b->audit == a->audit && strcmp(b->job->id, a->job->id) == 0);
    }
    co_state_release(&r);
}

/* ---- the happy path ---------------------------------------------------- */

static void test_chunks_credit_and_finish(void)
{
    h_t h;
    h_init(&h);
    co_job_t *j = h_job(&h, "orbit-cards", 10, 4, -1);
    CHECK_EQ_INT(j->state, CO_J_QUEUED);
    CHECK(h_dispatch(&h) == NULL); /* no worker */
    char why[512];
    co_sched_waiting(&h.s, j, h.now, why, sizeof why);
    CHECK_MSG(strstr(why, "no worker is connected") != NULL, "%s", why);
    h_hello(&h, 1, "w1", NULL, 0);
    CHECK(h_dispatch(&h) == NULL); /* no credit yet */
    h_ready(&h, 1, 1);
    const co_attempt_t *a = h_dispatch(&h);
    CHECK(a && a->first == 0 && a->last == 3 && a->session == 1);
    CHECK_EQ_INT(a->warmup_from, 0);
    CHECK_EQ_INT(j->state, CO_J_RUNNING);
    CHECK_EQ_INT(j->running, 4);
    CHECK(h_dispatch(&h) == NULL); /* credit 1, one held */
    uint64_t id = a->id;
    CHECK_EQ_INT(h_frame(&h, 1, j->id, id, 0, 0), CO_FRAME_CANDIDATE);
    CHECK_EQ_INT(h_count(&h, CO_FX_ACK), 1);
    for (int64_t f = 1; f <= 3; f++)
        CHECK_EQ_INT(h_frame(&h, 1, j->id, id, f, 0), CO_FRAME_CANDIDATE);
    /* frame 0 again: already accepted from this attempt, counted once */
    CHECK_EQ_INT(j->done, 4);
    CHECK(co_state_attempt(&h.s, id) == NULL); /* all its frames in: over */
    CHECK_EQ_INT(h_frame(&h, 1, j->id, id, 0, 0), CO_FRAME_DECIDED);
    CHECK_EQ_INT(h_count(&h, CO_FX_ACK), 1);
    CHECK_EQ_INT(j->done, 4);
    CHECK_EQ_INT(j->late, 0);
    a = h_dispatch(&h);
    CHECK(a && a->first == 4 && a->last == 7);
    CHECK_EQ_INT(a->warmup_from, 3); /* stateless: one frame back, for motion */
    h_deliver(&h, 1, a, 0);
    a = h_dispatch(&h);
    CHECK(a && a->first == 8 && a->last == 9);
    h_deliver(&h, 1, a, 0);
    CHECK(co_job_complete(j));
    CHECK(h_finish(&h));
    CHECK_EQ_INT(j->state, CO_J_DONE);
    CHECK(!h_finish(&h));
    h_release(&h);
}

/* A shard (co_job_slice): the plan is the whole export's, only the
 * slice is handed out, each chunk with the warm-up it needs from before
 * the slice, the manifest records only the slice, and a restart rebuilds
 * the slice from the journal. */
static void test_shard_slice(void)
{
    h_t h;
    h_init(&h);
    h.sliced = true;
    h.slice[0] = 10;
    h.slice[1] = 19;
    co_job_t *j = h_job(&h, "orbit-cards", 30, 4, -1);
    CHECK(j->shard && j->first == 10 && j->n == 10);
    CHECK(j->plan.first == 0 && j->plan.last == 29);
    CHECK_EQ_STR(j->book, ".lattice/shards/10-19");
    h_check_restart(&h);
    h_hello(&h, 1, "w1", NULL, 0);
    h_ready(&h, 1, 1);
    const co_attempt_t *a = h_dispatch(&h);
    CHECK(a && a->first == 10 && a->last == 13);
    CHECK_EQ_INT(a->warmup_from, 9); /* the frame before the slice, for motion */
    while (a) {
        CHECK(a->first >= 10 && a->last <= 19);
        h_deliver(&h, 1, a, 0);
        a = h_dispatch(&h);
    }
    CHECK(co_job_complete(j));
    CHECK_EQ_INT(j->done, 10);
    CHECK_EQ_INT(lx_manifest_missing(j->manifest), 20);
    CHECK(lx_manifest_has_frame(j->manifest, 10) && !lx_manifest_has_frame(j->manifest, 9));
    h_check_restart(&h);
    /* The whole range is no shard; outside the plan is refused. */
    lx_error_t err = {0};
    CHECK(co_job_slice(j, 0, 29, &err) == LX_OK && !j->shard);
    CHECK_EQ_STR(j->book, ".lattice");
    CHECK_EQ_INT(co_job_slice(j, 20, 30, &err), LX_E_INVALID);
    CHECK_MSG(strstr(err.message, "the export's frames are 0-29") != NULL, "%s", err.message);
    CHECK(j->first == 0 && j->n == 30);
    h_release(&h);
}

static void test_adaptive_chunks(void)
{
    h_t h;
    h_init(&h);
    h.s.policy.target_chunk_ms = 50; /* results say 10 ms a frame: chunks of 5 */
    co_job_t *j = h_job(&h, "orbit-cards", 40, 0, -1);
    h_hello(&h, 1, "w1", NULL, 0);
    h_hello(&h, 2, "w2", NULL, 0);
    h_ready(&h, 1, 1);
    const co_attempt_t *a = h_dispatch(&h);
    CHECK(a && a->last - a->first + 1 == 2); /* nothing measured yet: 2 */
    h_deliver(&h, 1, a, 0);
    a = h_dispatch(&h);
    CHECK(a && a->last - a->first + 1 == 5);
    h_deliver(&h, 1, a, 0);
    /* Near the end the rest is shared between the 2 workers. */
    while (co_job_pending(j) > 6) {
        a = h_dispatch(&h);
        h_deliver(&h, 1, a, 0);
    }
    int64_t pending = co_job_pending(j);
    a = h_dispatch(&h);
    CHECK_MSG(a && a->last - a->first + 1 == (pending + 1) / 2, "%" PRId64 " pending", pending);
    h_release(&h);
}

/* ---- docs/operations.md, failure by failure ------------------------------ */

/* A worker crashes, is killed or its link is cut: its unfinished frames go
 * back to the queue, nothing counted. */
static void test_worker_dead(void)
{
    h_t h;
    co_job_t *j = h_start(&h, "orbit-cards", 8, 4, -1, "w1");
    const co_attempt_t *a = h_dispatch(&h);
    uint64_t id = a->id;
    h_frame(&h, 1, j->id, id, 0, 0);
    h_end(&h, 1, "dead");
    CHECK(strstr(h.log, "event=worker_dead worker=w1") != NULL);
    CHECK(strstr(h.log, "event=attempt_lost") != NULL);
    CHECK(co_state_attempt(&h.s, id) == NULL);
    CHECK(co_state_session(&h.s, 1) == NULL);
    CHECK_EQ_INT(j->done, 1);
    CHECK_EQ_INT(h_frames_in(j, CO_F_PENDING), 7);
    for (int64_t i = 0; i < j->n; i++)
        CHECK_EQ_INT(j->frames[i].failures, 0);
    h_hello(&h, 2, "w2", NULL, 0);
    h_ready(&h, 2, 1);
    a = h_dispatch(&h);
    CHECK(a && a->first == 1 && a->last == 4 && a->session == 2);
    h_release(&h);
}

/* A worker comes back: attempts it still holds are adopted when nobody
 * took them, cancelled otherwise. */
static void test_worker_returns(void)
{
    h_t h;
    co_job_t *j = h_start(&h, "orbit-cards", 8, 4, -1, "w1");
    uint64_t id = h_dispatch(&h)->id;
    /* It reconnects on a new socket (session 2) before anyone noticed. */
    h_hello(&h, 2, "w1", &id, 1);
    CHECK(strstr(h.log, "event=worker_replaced worker=w1 session=1") != NULL);
    CHECK(co_state_session(&h.s, 1) == NULL);
    const co_attempt_t *a = co_state_attempt(&h.s, id);
    CHECK(a && a->session == 2);
    CHECK_EQ_INT(h_count(&h, CO_FX_CANCEL), 0);
    CHECK_EQ_INT(h_frame(&h, 2, j->id, id, 0, 0), CO_FRAME_CANDIDATE);
    /* Its second reconnect comes after the coordinator gave the work away. */
    h_end(&h, 2, "dead");
    h_hello(&h, 3, "w2", NULL, 0);
    h_ready(&h, 3, 1);
    CHECK(h_dispatch(&h) != NULL);
    h_hello(&h, 4, "w1", &id, 1);
    const fx_t *c = h_find(&h, CO_FX_CANCEL);
    CHECK(c && c->attempt == id && c->session == 4);
    h_release(&h);
}

/* A worker is drained: the rest of its chunk goes back, nothing counted. */
static void test_drain(void)
{
    h_t h;
    co_job_t *j = h_start(&h, "orbit-cards", 8, 4, -1, "w1");
    const co_attempt_t *a = h_dispatch(&h);
    h_frame(&h, 1, j->id, a->id, 0, 0);
    h_chunk_end(&h, 1, a, "interrupted");
    CHECK(strstr(h.log, "event=attempt_failed") != NULL);
    h_end(&h, 1, "left");
    CHECK(strstr(h.log, "event=worker_left worker=w1") != NULL);
    CHECK_EQ_INT(j->done, 1);
    CHECK_EQ_INT(h_frames_in(j, CO_F_PENDING), 7);
    for (int64_t i = 0; i < j->n; i++)
        CHECK_EQ_INT(j->frames[i].failures, 0);
    CHECK_EQ_INT(j->n_blocks, 0);
    h_release(&h);
}

/* A frame fails to render: the frame in hand counts one failure, the
 * worker never gets it again, the rest of the chunk goes back. */
static void test_render_error(void)
{
    h_t h;
    co_job_t *j = h_start(&h, "orbit-cards", 8, 4, -1, "w1");
    const co_attempt_t *a = h_dispatch(&h);
    h_frame(&h, 1, j->id, a->id, 0, 0);
    h_chunk_end(&h, 1, a, "render_error");
    CHECK(strstr(h.log, "event=chunk_failed") != NULL);
    CHECK_EQ_INT(j->frames[1].failures, 1);
    CHECK_EQ_INT(j->frames[2].failures, 0);
    CHECK_EQ_INT(h_frames_in(j, CO_F_PENDING), 7);
    /* Its next chunk starts after the frame it failed. */
    a = h_dispatch(&h);
    CHECK(a && a->first == 2);
    h_check_restart(&h);
    h_release(&h);
}

/* A frame that failed on 3 different workers fails its job: frame 5
 * fails on w1, w2, w3, and the attempt w4 holds is cancelled. */
static void test_budget(void)
{
    h_t h;
    h_init(&h);
    co_job_t *j = h_job(&h, "orbit-cards", 12, 1, -1);
    const char *names[] = {"w1", "w2", "w3", "w4"};
    for (uint64_t k = 1; k <= 4; k++)
        h_hello(&h, k, names[k - 1], NULL, 0);
    /* frames 0-4 done by w4 */
    h_ready(&h, 4, 1);
    for (int f = 0; f < 5; f++) {
        const co_attempt_t *a = h_dispatch(&h);
        CHECK(a && a->first == f);
        h_deliver(&h, 4, a, 0);
    }
    h_ready(&h, 4, 0);
    for (uint64_t k = 1; k <= 3; k++) {
        h_ready(&h, k, 1);
        const co_attempt_t *a = h_dispatch(&h);
        CHECK(a && a->first == 5 && a->session == k);
        if (k == 3) {
            h_ready(&h, 4, 1);
            const co_attempt_t *b = h_dispatch(&h);
            CHECK(b && b->first == 6 && b->session == 4);
        }
        a = co_state_attempt(&h.s, h.s.last_attempt - (k == 3 ? 1 : 0));
        CHECK(a && a->first == 5);
        h_chunk_end(&h, k, a, "render_error");
        CHECK_EQ_INT(j->frames[5].failures, k);
        if (k < 3)
            h_ready(&h, k, 0);
    }
    CHECK_EQ_INT(j->frames[5].state, CO_F_FAILED);
    CHECK_EQ_INT(j->state, CO_J_FAILED);
    CHECK(j->error && strstr(j->error, "3 different workers") != NULL);
    CHECK(strstr(h.log, "event=frame_failed") != NULL);
    const fx_t *c = h_find(&h, CO_FX_CANCEL);
    CHECK(c && c->session == 4);
    h_check_restart(&h);
    CHECK_EQ_INT(h.s.n_attempts, 0);
    CHECK(h_dispatch(&h) == NULL);
    h_release(&h);
}

/* A worker that fails 3 chunks of a job is blocked for it until forgiven;
 * alone, the job says why it waits. */
static void test_blocked(void)
{
    h_t h;
    co_job_t *j = h_start(&h, "orbit-cards", 30, 2, -1, "broken");
    for (int k = 0; k < 3; k++) {
        const co_attempt_t *a = h_dispatch(&h);
        CHECK(a != NULL);
        if (a)
            h_chunk_end(&h, 1, a, "render_error");
    }
    CHECK(strstr(h.log, "event=worker_blocked job=j1 worker=broken for_ms=60000") != NULL);
    CHECK(co_job_blocked(j, h.s.sessions[0].who, h.now));
    CHECK(h_dispatch(&h) == NULL);
    char why[512];
    co_sched_waiting(&h.s, j, h.now, why, sizeof why);
    CHECK_MSG(strstr(why, "1 of 1 are blocked") != NULL, "%s", why);
    h_check_restart(&h);
    /* Forgiven after forgive_ms. */
    h.now += 60001;
    CHECK(h_dispatch(&h) != NULL);
    h_release(&h);
}

/* No connected worker can take what is left: every one failed it. */
static void test_waiting(void)
{
    h_t h;
    co_job_t *j = h_start(&h, "orbit-cards", 2, 1, -1, "w1");
    const co_attempt_t *a = h_dispatch(&h);
    h_deliver(&h, 1, a, 0);
    a = h_dispatch(&h);
    CHECK(a && a->first == 1);
    h_chunk_end(&h, 1, a, "render_error");
    CHECK(h_dispatch(&h) == NULL);
    char why[512];
    co_sched_waiting(&h.s, j, h.now, why, sizeof why);
    CHECK_MSG(strstr(why, "already failed those frames") != NULL, "%s", why);
    h_hello(&h, 2, "w2", NULL, 0);
    co_sched_waiting(&h.s, j, h.now, why, sizeof why);
    CHECK_EQ_STR(why, "");
    h_release(&h);
}

/* A chunk that delivers nothing for the job's progress timeout is stuck:
 * CANCEL, requeued, the frame in hand counts one failure. */
static void test_stuck(void)
{
    h_t h;
    co_job_t *j = h_start(&h, "orbit-cards", 10, 10, -1, "stally");
    const co_attempt_t *a = h_dispatch(&h);
    uint64_t id = a->id;
    for (int64_t f = 0; f < 7; f++)
        h_frame(&h, 1, j->id, id, f, 0);
    h.now += 4999;
    CHECK(!h_tick(&h)); /* each frame restarted the clock */
    h.now += 2;
    CHECK(h_tick(&h));
    CHECK(strstr(h.log, "event=stuck job=j1") != NULL);
    const fx_t *c = h_find(&h, CO_FX_CANCEL);
    CHECK(c && c->attempt == id && c->session == 1);
    CHECK_EQ_INT(j->frames[7].failures, 1);
    CHECK_EQ_INT(j->frames[8].failures, 0);
    CHECK_EQ_INT(h_frames_in(j, CO_F_PENDING), 3);
    CHECK(!h_tick(&h));
    h_check_restart(&h);
    h_release(&h);
}

/* A result for a chunk that was reassigned meanwhile is evidence: kept,
 * counted, and it changes nothing. */
static void test_late_result(void)
{
    h_t h;
    co_job_t *j = h_start(&h, "orbit-cards", 4, 4, -1, "p1");
    uint64_t old = h_dispatch(&h)->id;
    h_end(&h, 1, "dead");
    h_hello(&h, 2, "p2", NULL, 0);
    h_ready(&h, 2, 1);
    const co_attempt_t *b = h_dispatch(&h);
    uint64_t fresh = b->id;
    CHECK(fresh != old);
    /* p1 comes back and sends frame 0 of its old attempt. */
    h_hello(&h, 3, "p1", NULL, 0);
    CHECK_EQ_INT(h_frame(&h, 3, j->id, old, 0, 0), CO_FRAME_LATE);
    CHECK(strstr(h.log, "event=late_result") != NULL);
    CHECK_EQ_INT(h_count(&h, CO_FX_ACK), 1);
    CHECK_EQ_INT(j->late, 1);
    CHECK_EQ_INT(j->frames[0].state, CO_F_RUNNING);
    CHECK_EQ_INT(j->frames[0].attempt, fresh);
    CHECK_EQ_INT(j->done, 0);
    h_check_restart(&h);
    h_deliver(&h, 2, co_state_attempt(&h.s, fresh), 0);
    CHECK_EQ_INT(j->done, 4);
    h_release(&h);
}

/* A result that fails the coordinator's checks: the worker's fault fails
 * its attempt and counts; the coordinator's own trouble does not. */
static void test_rejected(void)
{
    h_t h;
    co_job_t *j = h_start(&h, "orbit-cards", 8, 4, -1, "w1");
    const co_attempt_t *a = h_dispatch(&h);
    uint64_t id = a->id;
    h_frame(&h, 1, j->id, id, 0, 0);
    /* Frame 1: the coordinator's memory ran out. */
    lx_msg_t m = {.type = LX_MSG_FRAME};
    LX_MSG_SET(&m, job, j->id);
    LX_MSG_SET(&m, attempt, id);
    LX_MSG_SET(&m, frame, 1);
    co_tx_t tx;
    co_tx_init(&tx);
    co_sched_reject(&h.s, 1, &m, LX_E_NOMEM, "out of memory", h.now, &tx);
    h_commit(&h, &tx);
    CHECK(strstr(h.log, "event=result_rejected") != NULL);
    CHECK(h_find(&h, CO_FX_ERROR) && strcmp(h_find(&h, CO_FX_ERROR)->code, "result_rejected") == 0);
    CHECK_EQ_INT(h_count(&h, CO_FX_ACK), 1);
    CHECK_EQ_INT(j->frames[1].state, CO_F_PENDING);
    CHECK_EQ_INT(j->frames[1].failures, 0);
    CHECK(co_state_attempt(&h.s, id) != NULL); /* it goes on */
    /* Frame 2: its bytes do not hash to what it says. */
    LX_MSG_SET(&m, frame, 2);
    co_tx_init(&tx);
    co_sched_reject(&h.s, 1, &m, LX_E_VERIFY, "bytes hash to 1234, not 5678", h.now, &tx);
    h_commit(&h, &tx);
    CHECK(co_state_attempt(&h.s, id) == NULL);
    CHECK(h_find(&h, CO_FX_CANCEL) != NULL);
    CHECK_EQ_INT(j->frames[2].failures, 1);
    CHECK_EQ_INT(j->frames[3].failures, 0);
    CHECK_EQ_INT(h_frames_in(j, CO_F_PENDING), 7);
    /* A FRAME whose file set differs from the job's: rejected before any
     * file is touched, the worker's fault. */
    h_ready(&h, 1, 1);
    a = h_dispatch(&h);
    CHECK(a && a->first == 1);
    id = a->id;
    h.files = 1;
    CHECK_EQ_INT(h_frame(&h, 1, j->id, id, 1, 0), CO_FRAME_DECIDED);
    CHECK(h_find(&h, CO_FX_ERROR) != NULL);
    CHECK_EQ_INT(j->frames[1].failures, 1);
    h_check_restart(&h);
    h_release(&h);
}

/* A FRAME for a job or frame that does not exist: ERROR, and ACK so that
 * the worker forgets it. */
static void test_unknown_job(void)
{
    h_t h;
    h_init(&h);
    co_job_t *j = h_job(&h, "orbit-cards", 4, 4, -1);
    h_hello(&h, 1, "w1", NULL, 0);
    CHECK_EQ_INT(h_frame(&h, 1, "nosuch", 7, 0, 0), CO_FRAME_DECIDED);
    CHECK(h_find(&h, CO_FX_ERROR) && strcmp(h_find(&h, CO_FX_ERROR)->code, "unknown_job") == 0);
    CHECK_EQ_INT(h_count(&h, CO_FX_ACK), 1);
    CHECK_EQ_INT(h_frame(&h, 1, j->id, 7, 99, 0), CO_FRAME_DECIDED);
    CHECK_EQ_INT(h_count(&h, CO_FX_ACK), 1);
    h_release(&h);
}

/* Cancelling a job stops its attempts; nothing more is handed out. */
static void test_cancel(void)
{
    h_t h;
    co_job_t *j = h_start(&h, "orbit-cards", 8, 4, -1, "w1");
    uint64_t id = h_dispatch(&h)->id;
    co_tx_t tx;
    co_tx_init(&tx);
    co_sched_cancel(&h.s, j, h.now, &tx);
    h_commit(&h, &tx);
    CHECK_EQ_INT(j->state, CO_J_CANCELLED);
    const fx_t *c = h_find(&h, CO_FX_CANCEL);
    CHECK(c && c->attempt == id);
    CHECK(co_state_attempt(&h.s, id) == NULL);
    CHECK(h_dispatch(&h) == NULL);
    h_check_restart(&h);
    h_release(&h);
}

/* ---- audits ---------------------------------------------------------- */

/* A liar renders everything; honest auditors disagree on its wrong
 * frames, a third opinion settles it, it is quarantined and every frame
 * it rendered that no audit confirmed is rendered again. */
static void test_audit_quarantine(void)
{
    h_t h;
    co_job_t *j = h_start(&h, "orbit-cards", 8, 4, 0, "liar");
    for (int k = 0; k < 2; k++) {
        const co_attempt_t *a = h_dispatch(&h);
        CHECK(a && !a->audit);
        for (int64_t f = a->first; f <= a->last; f++)
            h_frame(&h, 1, j->id, a->id, f, f == 3 ? 9 : 0); /* frame 3 is wrong */
    }
    CHECK_EQ_INT(j->done, 8);
    CHECK_EQ_INT(j->audits_open, 4); /* 0, 3, 4, 7: chunk boundaries */
    CHECK(!co_job_complete(j));
    CHECK(h_dispatch(&h) == NULL); /* a worker never audits itself */
    h_hello(&h, 2, "honest1", NULL, 0);
    h_ready(&h, 2, 1);
    const co_attempt_t *a = h_dispatch(&h);
    CHECK(a && a->audit && a->first == 0);
    CHECK_EQ_INT(h_frame(&h, 2, j->id, a->id, 0, 0), CO_FRAME_DECIDED);
    CHECK_EQ_INT(j->audited, 1);
    a = h_dispatch(&h);
    CHECK(a && a->audit && a->first == 3);
    h_frame(&h, 2, j->id, a->id, 3, 0);
    CHECK(strstr(h.log, "event=audit_disagreement job=j1 frame=3") != NULL);
    CHECK_EQ_INT(j->disputed, 1);
    CHECK_EQ_INT(j->audits[3].state, CO_A_DISPUTED);
    h_check_restart(&h);
    /* The dispute waits for a third worker: honest1 takes the other audits. */
    for (int k = 0; k < 2; k++) {
        a = h_dispatch(&h);
        CHECK(a && a->audit && a->first != 3);
        h_frame(&h, 2, j->id, a->id, a->first, 0);
    }
    CHECK(h_dispatch(&h) == NULL);
    h_hello(&h, 3, "honest2", NULL, 0);
    h_ready(&h, 3, 1);
    a = h_dispatch(&h);
    CHECK(a && a->audit && a->first == 3 && a->session == 3);
    h_frame(&h, 3, j->id, a->id, 3, 0);
    CHECK(strstr(h.log, "event=audit_settled job=j1 frame=3 kept=majority") != NULL);
    CHECK(strstr(h.log, "event=worker_quarantined worker=liar") != NULL);
    CHECK(co_state_quarantined(&h.s, co_state_ident(&h.s, "liar")));
    /* Frames 0, 4 and 7 were confirmed; 1, 2, 3, 5 and 6 go again. */
    CHECK_EQ_INT(j->done, 3);
    CHECK_EQ_INT(j->rerendered, 5);
    CHECK_EQ_INT(h_frames_in(j, CO_F_PENDING), 5);
    h_check_restart(&h);
    /* The liar gets nothing more, the honest ones finish it. */
    h_ready(&h, 1, 1);
    h_ready(&h, 2, 1);
    for (int guard = 0; guard < 40 && !co_job_complete(j); guard++) {
        a = h_dispatch(&h);
        if (!a)
            break;
        CHECK(a->session != 1);
        h_deliver(&h, a->session, a, 0);
    }
    CHECK(co_job_complete(j));
    char why[512];
    co_sched_waiting(&h.s, j, h.now, why, sizeof why);
    CHECK_EQ_STR(why, "");
    CHECK(h_finish(&h));
    CHECK_EQ_INT(j->state, CO_J_DONE);
    h_release(&h);
}

/* Three different answers for one frame: the job fails (journaled). */
static void test_audit_no_majority(void)
{
    h_t h;
    co_job_t *j = h_start(&h, "orbit-cards", 2, 2, 0, "a");
    const co_attempt_t *x = h_dispatch(&h);
    h_deliver(&h, 1, x, 1);
    h_hello(&h, 2, "b", NULL, 0);
    h_ready(&h, 2, 1);
    x = h_dispatch(&h);
    CHECK(x && x->audit && x->first == 0);
    h_frame(&h, 2, j->id, x->id, 0, 2);
    h_hello(&h, 3, "c", NULL, 0);
    h_ready(&h, 3, 1);
    x = h_dispatch(&h); /* b audits frame 1 or c takes the third opinion */
    while (x && !(x->audit && x->first == 0 && x->session == 3)) {
        h_frame(&h, x->session, j->id, x->id, x->first, x->session == 3 ? 1 : 1);
        x = h_dispatch(&h);
    }
    CHECK(x != NULL);
    if (x)
        h_frame(&h, 3, j->id, x->id, 0, 3);
    CHECK(strstr(h.log, "event=audit_no_majority job=j1 frame=0") != NULL);
    CHECK_EQ_INT(j->state, CO_J_FAILED);
    CHECK(j->error && strstr(j->error, "three different results") != NULL);
    h_check_restart(&h);
    h_release(&h);
}

/* ---- restart ---------------------------------------------------------- */

/* More artifact files per frame than any fixed buffer holds (a mask for
 * each of 70 layers): a restart recovers every result, and renders none
 * of them again. */
static void test_restart_many_files(void)
{
    h_t h;
    h_init(&h);
    size_t cap = 32768, len = 0;
    char *text = malloc(cap);
    CHECK(text != NULL);
    if (!text)
        return;
    len += (size_t)snprintf(text + len, cap - len,
                            "{\"format\":\"lattice.patch/1\",\"id\":\"layers\",\"output\":"
                            "{\"width\":32,\"height\":32,\"fps\":24},\"blocks\":[{\"id\":"
                            "\"t\",\"type\":\"InfiniteTimeRoot\"},{\"id\":\"s\",\"type\":"
                            "\"Rect\"}");
    for (int i = 0; i < 70; i++)
        len += (size_t)snprintf(text + len, cap - len,
                                ",{\"id\":\"d%d\",\"type\":\"RenderInstances\"}", i);
    len += (size_t)snprintf(text + len, cap - len, "],\"edges\":[");
    for (int i = 0; i < 70; i++)
        len += (size_t)snprintf(text + len, cap - len,
                                "%s{\"from\":\"s.shape\",\"to\":\"d%d.shape\"}", i ? "," : "", i);
    len += (size_t)snprintf(text + len, cap - len, "]}");
    co_job_t *j = h_job_text(&h, text, len, 0, 12, 3, -1);
    uint32_t n_files = 0;
    lx_manifest_files(j->manifest, &n_files);
    CHECK_EQ_INT(n_files, 75);
    h_hello(&h, 1, "w1", NULL, 0);
    h_ready(&h, 1, 1);
    for (int k = 0; k < 2; k++)
        h_deliver(&h, 1, h_dispatch(&h), 0);
    const co_attempt_t *a = h_dispatch(&h);
    uint64_t inflight = a->id;
    h_frame(&h, 1, j->id, inflight, 6, 0);
    CHECK_EQ_INT(j->done, 7);
    h_check_restart(&h);
    co_state_t r;
    co_recovered_t got;
    h_recover(&h, &r, &got);
    CHECK_EQ_INT(got.frames_done, 7);
    CHECK_EQ_INT(r.jobs[0]->done, 7);
    CHECK_EQ_INT(lx_manifest_missing(r.jobs[0]->manifest), 5);
    /* The worker re-announces its attempt: adopted; a fresh worker gets
     * only the frames nobody has. */
    co_state_release(&h.s);
    h.s = r;
    h_hello(&h, 2, "w1", &inflight, 1);
    a = co_state_attempt(&h.s, inflight);
    CHECK(a && a->session == 2 && a->first == 6);
    h_hello(&h, 3, "fresh", NULL, 0);
    h_ready(&h, 3, 1);
    a = h_dispatch(&h);
    CHECK(a && a->first == 9 && a->last == 11);
    CHECK(h_dispatch(&h) == NULL);
    h_release(&h);
}

/* After the grace period, orphans nobody re-announced go back. */
static void test_restart_grace(void)
{
    h_t h;
    co_job_t *j = h_start(&h, "orbit-cards", 4, 4, -1, "w1");
    uint64_t id = h_dispatch(&h)->id;
    h_frame(&h, 1, j->id, id, 0, 0);
    co_state_t r;
    co_recovered_t got;
    h_recover(&h, &r, &got);
    CHECK_EQ_INT(got.frames_done, 1);
    CHECK_EQ_INT(got.attempts, 1);
    co_state_release(&h.s);
    h.s = r;
    CHECK(!h_tick(&h));
    h.now += 3000;
    CHECK(h_tick(&h));
    CHECK(strstr(h.log, "event=attempt_lost") && strstr(h.log, "reason=restart"));
    CHECK_EQ_INT(h.s.jobs[0]->done, 1);
    CHECK_EQ_INT(h_frames_in(h.s.jobs[0], CO_F_PENDING), 3);
    h_release(&h);
}

/* One coordinator per state directory. */
static void test_journal_lock(void)
{
    char dir[] = "/tmp/lx-test-journal-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    co_journal_t *a = NULL, *b = NULL;
    lx_error_t err = {0};
    CHECK(co_journal_open(dir, &a, &err) == LX_OK);
    CHECK_EQ_INT(co_journal_open(dir, &b, &err), LX_E_IO);
    CHECK(strstr(err.message, "in use by another coordinator") != NULL);
    co_journal_close(&a);
    CHECK(co_journal_open(dir, &b, &err) == LX_OK);
    co_journal_close(&b);
    char path[4200];
    snprintf(path, sizeof path, "rm -rf '%s'", dir);
    CHECK(system(path) == 0);
}

/* A writer that died mid-file leaves a temporary file; it is removed
 * before the manifest is written. */
static void test_finish_removes_temps(void)
{
    h_t h;
    h_init(&h);
    co_job_t *j = h_job(&h, "orbit-cards", 2, 2, -1);
    char dir[] = "/tmp/lx-test-out-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    free(j->out);
    j->out = strdup(dir);
    h_hello(&h, 1, "w1", NULL, 0);
    h_ready(&h, 1, 1);
    h_deliver(&h, 1, h_dispatch(&h), 0);
    char path[4200];
    snprintf(path, sizeof path,
             "mkdir -p '%s/rgba' && touch '%s/rgba/.frame_000000.png.tmp-a1b2c3'"
             " '%s/rgba/.frame_000001.png.a17'",
             dir, dir, dir);
    CHECK(system(path) == 0);
    unsigned temps = 0;
    lx_error_t err = {0};
    co_roots_t anywhere = {NULL, 0};
    /* On a finisher's thread, as the shell does it: meanwhile the job is
     * given nothing and not finished again. */
    j->finisher = co_finisher_start(&anywhere, j, "2026-01-01T00:00:00Z", 1, NULL);
    CHECK(j->finisher != NULL);
    co_tx_t tx;
    co_tx_init(&tx);
    CHECK(!co_sched_finish(&h.s, 0, &tx));
    /* Nor cancelled, failed or given work (a quarantine reopens none of
     * its frames by the same guard): nothing may change under the writer. */
    co_sched_cancel(&h.s, j, 0, &tx);
    co_job_fail(&h.s, j, "late failure", 0, 0, &tx);
    h_ready(&h, 1, 4);
    CHECK(!co_sched_dispatch(&h.s, 0, &tx));
    CHECK_EQ_INT(tx.n_changes, 0);
    CHECK(j->state == CO_J_RUNNING);
    co_tx_release(&tx);
    double deadline = lx_monotonic_ms() + 60000;
    while (j->finisher && !co_finisher_done(j->finisher) && lx_monotonic_ms() < deadline)
        nanosleep(&(struct timespec){0, 1000000}, NULL);
    CHECK_MSG(co_finisher_join(&j->finisher, &temps, &err) == LX_OK, "%s", err.message);
    CHECK(j->finisher == NULL);
    CHECK_EQ_INT(temps, 2);
    snprintf(path, sizeof path, "%s/metadata.json", dir);
    CHECK(access(path, F_OK) == 0);
    /* Stopped (the coordinator stopping): it either had written the export
     * (metadata.json there) or stopped before metadata.json. */
    char meta[4200];
    snprintf(meta, sizeof meta, "%s/metadata.json", dir);
    CHECK(unlink(meta) == 0);
    j->finisher = co_finisher_start(&anywhere, j, "2026-01-01T00:00:00Z", 1, NULL);
    CHECK(j->finisher != NULL);
    if (j->finisher)
        co_finisher_stop(j->finisher);
    lx_result_t src = co_finisher_join(&j->finisher, &temps, &err);
    CHECK_MSG(src == LX_OK ? access(meta, F_OK) == 0
                           : src == LX_E_CANCELLED && access(meta, F_OK) != 0,
              "stopped finisher: %s", lx_error_name(src));
    snprintf(path, sizeof path, "rm -rf '%s'", dir);
    CHECK(system(path) == 0);
    h_release(&h);
}

/* Names each case on stderr, so that a failed check can be placed. */
#define RUN(test) (fprintf(stderr, "-- %s\n", #test), test())

/* ---- trust ------------------------------------------------------------ */

/* Frame numbers near 2^63 are refused; the largest allowed ones run
 * through every way a chunk can end without overflowing anything. */
static void test_frame_bounds(void)
{
    h_t h;
    h_init(&h);
    CHECK(h_job_at(&h, "feedback-trails", INT64_MAX - 1, 2, 2, -1) == NULL);
    CHECK(strstr(h.log, "frame numbers go from 0 to") != NULL);
    CHECK(h_job_at(&h, "feedback-trails", CO_FRAME_MAX, 2, 2, -1) == NULL);
    CHECK_EQ_INT(h.s.n_jobs, 0);
    co_job_t *j = h_job_at(&h, "feedback-trails", CO_FRAME_MAX - 1, 2, 2, -1);
    CHECK(j != NULL);
    h_hello(&h, 1, "w1", NULL, 0);
    h_ready(&h, 1, 1);
    const co_attempt_t *a = h_dispatch(&h);
    CHECK(a && a->first == CO_FRAME_MAX - 1 && a->last == CO_FRAME_MAX);
    h_chunk_end(&h, 1, a, "render_error");
    a = h_dispatch(&h);
    CHECK(a != NULL);
    h_chunk_end(&h, 1, a, NULL); /* CHUNK_DONE with nothing delivered */
    a = h_dispatch(&h);
    CHECK(a != NULL);
    h_end(&h, 1, "left"); /* GOODBYE */
    CHECK_EQ_INT(h.s.n_attempts, 0);
    CHECK_EQ_INT(h_frames_in(j, CO_F_PENDING) + h_frames_in(j, CO_F_FAILED), 2);
    h_check_restart(&h);
    h_release(&h);
}

/* Results and chunk ends count only from the session holding the
 * attempt, whatever another peer learned about it. */
static void test_fencing(void)
{
    h_t h;
    co_job_t *j = h_start(&h, "orbit-cards", 8, 4, 0, "w1");
    const co_attempt_t *a = h_dispatch(&h);
    uint64_t id = a->id;
    h_hello(&h, 2, "thief", NULL, 0);
    CHECK_EQ_INT(h_frame(&h, 2, j->id, id, 0, 7), CO_FRAME_DECIDED);
    CHECK(strstr(h.log, "event=foreign_result") != NULL);
    CHECK(h_find(&h, CO_FX_ERROR) && strcmp(h_find(&h, CO_FX_ERROR)->code, "not_your_attempt") == 0);
    CHECK_EQ_INT(j->frames[0].state, CO_F_RUNNING);
    CHECK_EQ_INT(j->late, 0);
    /* An attempt not handed out yet is nobody's. */
    CHECK_EQ_INT(h_frame(&h, 2, j->id, id + 5, 0, 7), CO_FRAME_DECIDED);
    CHECK_EQ_INT(j->late, 0);
    h_chunk_end(&h, 2, co_state_attempt(&h.s, id), "render_error");
    CHECK(co_state_attempt(&h.s, id) != NULL);
    CHECK_EQ_INT(j->frames[0].failures, 0);
    /* The owner delivers; an audit of frame 0 goes to the thief's
     * session, and the owner cannot answer it in the thief's place. */
    h_deliver(&h, 1, co_state_attempt(&h.s, id), 0);
    CHECK_EQ_INT(j->done, 4);
    h_ready(&h, 1, 0);
    h_ready(&h, 2, 1);
    const co_attempt_t *audit = h_dispatch(&h);
    CHECK(audit && audit->audit && audit->session == 2);
    uint64_t aid = audit->id;
    int64_t af = audit->first;
    CHECK_EQ_INT(h_frame(&h, 1, j->id, aid, af, 0), CO_FRAME_DECIDED);
    CHECK(strstr(h.log, "event=foreign_result") != NULL);
    CHECK(co_state_attempt(&h.s, aid) != NULL);
    CHECK_EQ_INT(j->audited, 0);
    h_check_restart(&h);
    h_release(&h);
}

/* Identity is the key: a name proves nothing, a new name hides nothing. */
static void test_identity_is_key(void)
{
    static const char *const K1 = "k1-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    static const char *const K2 = "k2-bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
    h_t h;
    h_init(&h);
    co_job_t *j = h_job(&h, "orbit-cards", 8, 4, -1);
    h_hello_as(&h, 1, K1, "gpu-01", NULL, 0);
    h_ready(&h, 1, 1);
    const co_attempt_t *a = h_dispatch(&h);
    CHECK(a && a->session == 1);
    uint64_t id = a->id;
    /* Another key under the same name replaces nothing. */
    h_hello_as(&h, 2, K2, "gpu-01", &id, 1);
    CHECK(co_state_session(&h.s, 1) != NULL);
    CHECK_EQ_INT(co_state_attempt(&h.s, id)->session, 1);
    CHECK(h_find(&h, CO_FX_CANCEL) != NULL); /* it is told to drop what it claims */
    /* The same key under another name is another worker of that key. */
    h_hello_as(&h, 3, K1, "gpu-02", NULL, 0);
    CHECK(co_state_session(&h.s, 1) != NULL);
    CHECK_EQ_INT(h.s.sessions[2].who, h.s.sessions[0].who);
    /* The same key and name on a new socket: a reconnect. */
    h_hello_as(&h, 4, K1, "gpu-01", &id, 1);
    CHECK(co_state_session(&h.s, 1) == NULL);
    CHECK_EQ_INT(co_state_attempt(&h.s, id)->session, 4);
    /* Budgets count keys: gpu-02 cannot fail a frame gpu-01 failed. */
    h_chunk_end(&h, 4, co_state_attempt(&h.s, id), "render_error");
    co_ident_t k1 = co_state_ident(&h.s, K1);
    CHECK(k1 != 0 && co_job_failed_by(j, 0, k1));
    h_ready(&h, 3, 1);
    a = h_dispatch(&h);
    CHECK(a && a->session == 3 && a->first != 0);
    h_check_restart(&h);
    h_release(&h);
}

/* Audits compare the bytes delivered (their SHA-256s), never a summary
 * the worker reports, and only between results of one build. */
static void test_audit_bytes_and_builds(void)
{
    h_t h;
    co_job_t *j = h_start(&h, "orbit-cards", 4, 4, 0, "primary");
    const co_attempt_t *a = h_dispatch(&h);
    h_deliver(&h, 1, a, 0);
    CHECK_EQ_INT(j->audits_open, 2); /* frames 0 and 3 */
    h_ready(&h, 1, 0);
    /* A worker of another build never audits it, and the job says why. */
    h.build = "lattice 9.9 (other encoders)";
    h_hello(&h, 2, "stranger", NULL, 0);
    h_ready(&h, 2, 1);
    CHECK(h_dispatch(&h) == NULL);
    char why[512];
    co_sched_waiting(&h.s, j, h.now, why, sizeof why);
    CHECK_MSG(strstr(why, "2 audits wait for a worker of the build") != NULL, "%s", why);
    /* One of the same build audits; its bytes differ while the content
     * summary it reports is the same: that is a disagreement. */
    h.build = "test";
    h.same_content = true;
    h_hello(&h, 3, "auditor", NULL, 0);
    h_ready(&h, 3, 1);
    a = h_dispatch(&h);
    CHECK(a && a->audit && a->session == 3);
    h_frame(&h, 3, j->id, a->id, a->first, 5);
    CHECK(strstr(h.log, "event=audit_disagreement") != NULL);
    CHECK_EQ_INT(j->disputed, 1);
    h_check_restart(&h);
    h_release(&h);
}

/* Shared mode: an attempt file that is a link is never accepted (its
 * target's bytes would land in the export), nor is a file under a
 * symlinked artifact directory. */
static void test_output_links(void)
{
    h_t h;
    co_job_t *j = h_start(&h, "orbit-cards", 2, 2, -1, "w1");
    char dir[] = "/tmp/lx-test-links-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    free(j->out);
    j->out = strdup(dir);
    char cmd[4400];
    char hex[65];
    lx_sha256_hex("secret", 6, hex);
    snprintf(cmd, sizeof cmd,
             "mkdir -p '%s/rgba' '%s.elsewhere' && printf secret > '%s.elsewhere/s' &&"
             " ln -s '%s.elsewhere/s' '%s/rgba/.frame_000000.png.a1' &&"
             " ln -s '%s.elsewhere' '%s/depth'",
             dir, dir, dir, dir, dir, dir, dir);
    CHECK(system(cmd) == 0);
    lx_file_rec_t file = {0};
    LX_REC_SET(&file, LX_FILE_REC, key, "rgba");
    LX_REC_SET(&file, LX_FILE_REC, name, "frame_000000.png");
    LX_REC_SET(&file, LX_FILE_REC, hash, hex);
    LX_REC_SET(&file, LX_FILE_REC, content, "00000000000000000000000000000000");
    lx_msg_t m = {.type = LX_MSG_FRAME};
    LX_MSG_SET(&m, job, j->id);
    LX_MSG_SET(&m, attempt, 1);
    LX_MSG_SET(&m, frame, 0);
    LX_MSG_SET(&m, files, ((lx_file_recs_t){&file, 1}));
    co_roots_t anywhere = {NULL, 0};
    lx_error_t err = {0};
    lx_file_stamp_t stamps[1];
    CHECK(co_output_accept(&anywhere, j, &m, stamps, &err) == LX_E_VERIFY);
    snprintf(cmd, sizeof cmd, "%s/rgba/frame_000000.png", dir);
    CHECK(access(cmd, F_OK) != 0);
    LX_REC_SET(&file, LX_FILE_REC, key, "depth");
    CHECK(co_output_accept(&anywhere, j, &m, stamps, &err) == LX_E_INVALID);
    CHECK(strstr(err.message, "symbolic link") != NULL);
    /* Files a worker names but never wrote are its fault, not the disk's. */
    LX_REC_SET(&file, LX_FILE_REC, key, "normal");
    CHECK(co_output_accept(&anywhere, j, &m, stamps, &err) == LX_E_VERIFY);
    /* Outside the allowed roots nothing is touched at all. */
    const char *roots[] = {"/nonexistent-root"};
    co_roots_t narrow = {roots, 1};
    LX_REC_SET(&file, LX_FILE_REC, key, "rgba");
    CHECK(co_output_accept(&narrow, j, &m, stamps, &err) == LX_E_INVALID);
    snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s.elsewhere'", dir, dir);
    CHECK(system(cmd) == 0);
    h_release(&h);
}

/* The export's storage fails (a worker cannot write, or the coordinator
 * cannot place a file): the job fails at once, nobody is blamed or
 * blocked, and nothing is handed out again. */
static void test_storage_failed(void)
{
    h_t h;
    co_job_t *j = h_start(&h, "orbit-cards", 8, 4, -1, "w1");
    const co_attempt_t *a = h_dispatch(&h);
    h_frame(&h, 1, j->id, a->id, 0, 0);
    lx_msg_t m = {.type = LX_MSG_CHUNK_FAIL};
    LX_MSG_SET(&m, job, j->id);
    LX_MSG_SET(&m, attempt, a->id);
    LX_MSG_SET(&m, reason, "storage");
    LX_MSG_SET(&m, message, "cannot write '/out/rgba/.frame_000001.png.a1': No space left on device");
    /* Unconfirmed (the export looks fine to the coordinator): the worker's
     * trouble, counted against it; no key fails a job by saying so. */
    co_tx_t tx;
    co_tx_init(&tx);
    co_sched_chunk_end(&h.s, 1, &m, NULL, h.now, &tx);
    h_commit(&h, &tx);
    CHECK_EQ_INT(j->state, CO_J_RUNNING);
    CHECK(strstr(h.log, "event=storage_unconfirmed") != NULL);
    CHECK_EQ_INT(j->frames[1].failures, 1);
    h_ready(&h, 1, 1);
    a = h_dispatch(&h);
    CHECK(a != NULL);
    LX_MSG_SET(&m, attempt, a->id);
    /* Confirmed: the job fails at once. */
    co_tx_init(&tx);
    co_sched_chunk_end(&h.s, 1, &m, "'/out' has 12 KiB free", h.now, &tx);
    h_commit(&h, &tx);
    CHECK_EQ_INT(j->state, CO_J_FAILED);
    CHECK(strstr(j->error, "12 KiB free") != NULL);
    CHECK(j->error && strncmp(j->error, "storage: cannot write '/out/rgba/", 33) == 0);
    CHECK(strstr(h.log, "event=worker_blocked") == NULL);
    CHECK_EQ_INT(j->done, 1); /* what was in stays */
    CHECK(h_dispatch(&h) == NULL);
    h_check_restart(&h);
    h_release(&h);

    /* The coordinator's own disk, in stream mode. */
    j = h_start(&h, "orbit-cards", 8, 4, -1, "w1");
    a = h_dispatch(&h);
    uint64_t id = a->id;
    lx_msg_t f = {.type = LX_MSG_FRAME};
    LX_MSG_SET(&f, job, j->id);
    LX_MSG_SET(&f, attempt, id);
    LX_MSG_SET(&f, frame, 0);
    co_tx_init(&tx);
    co_sched_reject(&h.s, 1, &f, LX_E_IO, "cannot write 'rgba/frame_000000.png': Read-only file system",
                    h.now, &tx);
    h_commit(&h, &tx);
    CHECK_EQ_INT(j->state, CO_J_FAILED);
    CHECK(strstr(j->error, "Read-only file system") != NULL);
    CHECK(co_state_attempt(&h.s, id) == NULL);
    CHECK_EQ_INT(j->frames[0].failures, 0);
    CHECK(h_dispatch(&h) == NULL);
    h_check_restart(&h);
    h_release(&h);
}

/* A first FRAME with no files (or any other set than the plan's) is
 * refused and charged to its worker; it never becomes the job's file set,
 * so honest workers' results are accepted after it. */
static void test_poisoned_file_set(void)
{
    h_t h;
    co_job_t *j = h_start(&h, "orbit-cards", 4, 4, -1, "poisoner");
    const co_attempt_t *a = h_dispatch(&h);
    h.files = 0;
    CHECK_EQ_INT(h_frame(&h, 1, j->id, a->id, 0, 0), CO_FRAME_DECIDED);
    CHECK(h_find(&h, CO_FX_ERROR) && strcmp(h_find(&h, CO_FX_ERROR)->code, "result_rejected") == 0);
    CHECK_EQ_INT(j->frames[0].failures, 1);
    CHECK_EQ_INT(j->done, 0);
    h.files = -1;
    h_ready(&h, 1, 0);
    for (uint64_t w = 2; w <= 4; w++) {
        char name[16];
        snprintf(name, sizeof name, "honest%d", (int)w);
        h_hello(&h, w, name, NULL, 0);
        h_ready(&h, w, 1);
    }
    for (int guard = 0; guard < 10 && j->done < 4; guard++) {
        a = h_dispatch(&h);
        CHECK(a && a->session != 1);
        if (a)
            h_deliver(&h, a->session, a, 0);
    }
    CHECK_EQ_INT(j->done, 4);
    CHECK_EQ_INT(j->failed, 0);
    h_check_restart(&h);
    h_release(&h);
}

/* An audit's answer with another file set is no vote: refused and charged
 * to the auditor, the audit waits for another (found by test_coord_fuzz:
 * two liars' malformed answers outvoted an honest primary). */
static void test_audit_malformed_answer(void)
{
    h_t h;
    co_job_t *j = h_start(&h, "orbit-cards", 4, 4, 0, "primary");
    h_deliver(&h, 1, h_dispatch(&h), 0);
    h_ready(&h, 1, 0);
    h_hello(&h, 2, "auditor", NULL, 0);
    h_ready(&h, 2, 1);
    const co_attempt_t *a = h_dispatch(&h);
    CHECK(a && a->audit);
    int64_t f = a->first;
    h.files = 0;
    CHECK_EQ_INT(h_frame(&h, 2, j->id, a->id, f, 0), CO_FRAME_DECIDED);
    CHECK(h_find(&h, CO_FX_ERROR) && strcmp(h_find(&h, CO_FX_ERROR)->code, "result_rejected") == 0);
    CHECK_EQ_INT(j->disputed, 0);
    CHECK_EQ_INT(j->audits[f - j->first].state, CO_A_WANTED);
    h_check_restart(&h);
    h_release(&h);
}

int main(void)
{
    RUN(test_chunks_credit_and_finish);
    RUN(test_shard_slice);
    RUN(test_adaptive_chunks);
    RUN(test_worker_dead);
    RUN(test_worker_returns);
    RUN(test_drain);
    RUN(test_render_error);
    RUN(test_budget);
    RUN(test_blocked);
    RUN(test_waiting);
    RUN(test_stuck);
    RUN(test_late_result);
    RUN(test_rejected);
    RUN(test_unknown_job);
    RUN(test_cancel);
    RUN(test_audit_quarantine);
    RUN(test_audit_no_majority);
    RUN(test_restart_many_files);
    RUN(test_restart_grace);
    RUN(test_journal_lock);
    RUN(test_finish_removes_temps);
    RUN(test_frame_bounds);
    RUN(test_fencing);
    RUN(test_identity_is_key);
    RUN(test_audit_bytes_and_builds);
    RUN(test_output_links);
    RUN(test_storage_failed);
    RUN(test_poisoned_file_set);
    RUN(test_audit_malformed_answer);
    TEST_MAIN_END();
}
