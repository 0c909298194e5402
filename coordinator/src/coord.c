/* The coordinator's event loop: sessions, scheduling, results, manifest.
 *
 * Single-threaded: one ROUTER socket, polled with a timeout of a fraction
 * of the heartbeat interval. Every transition is journaled (journal.h)
 * before the message that depends on it is sent. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "journal.h"
#include "lattice/coordinator.h"
#include "lattice/digest.h"
#include "lattice/files.h"
#include "lattice/proc.h"
#include "lattice/frame_msg.h"
#include "lattice/ir_codec.h"
#include "lattice/manifest.h"
#include "lattice/repair.h"


enum { F_PENDING, F_RUNNING, F_DONE, F_FAILED };
/* Audit states of a frame. */
enum { A_NONE, A_WANTED, A_RUNNING, A_DISPUTED, A_THIRD, A_DONE };
enum { J_QUEUED, J_RUNNING, J_DONE, J_FAILED, J_CANCELLED };
static const char *const JOB_STATES[] = {"queued", "running", "done", "failed", "cancelled"};

/* A frame fails at most this many times (render errors) before its job fails. */
enum { MAX_FRAME_FAILURES = 3, MAX_IDENT = 255 };

typedef struct worker {
    uint8_t ident[MAX_IDENT];
    size_t ident_len;
    uint64_t serial; /* this session's number, for logs */
    char name[129], build[257];
    uint32_t threads;
    uint32_t ready; /* chunks it wants to hold, by its last READY (credit) */
    double last_recv, last_send;
    bool helloed, draining;
    uint64_t frames;
} worker_t;

typedef struct job {
    char id[16], token[129], submit_hash[65];
    int state;
    lx_program_t *p;
    lx_export_plan_t plan;
    char program_hash[65], config_hash[65];
    char *config_json, *out, *error;
    bool stream;
    uint32_t chunk;
    int64_t first, n;   /* frames first .. first + n - 1 */
    uint8_t *fstate;    /* per frame */
    uint64_t *fattempt; /* the frame's current attempt */
    uint8_t *ffail;     /* distinct workers that failed the frame so far */
    uint64_t (*fby)[MAX_FRAME_FAILURES]; /* which ones (hashes of their names) */
    int64_t hint;       /* no pending frame below first + hint */
    uint64_t done, running, failed;
    double ms_sum;      /* render_ms of completed frames, for adaptive chunks */
    double created;
    lx_manifest_t *manifest;
    uint64_t *workers; /* serials of workers that delivered results */
    uint32_t n_workers, cap_workers, max_threads;
    uint64_t late;        /* results of superseded attempts, kept as evidence */
    /* Audits (--audit RATE; rate < 0: off). Per frame: its state, and who
     * rendered it with which content signature: primary, auditor, third. */
    double audit_rate;
    uint8_t *faudit;
    uint64_t (*fwho)[3];
    uint8_t (*fsig)[3][16];
    uint64_t audits_open, audited, disputed, audit_rerendered;
    double progress_ms;   /* an attempt with no frame for this long is stuck */
    struct job_worker {   /* failed chunks per worker, and blocks */
        uint64_t who;
        char name[129];
        uint32_t failed_chunks;
        double blocked_until;
    } *jw;
    size_t n_jw, cap_jw;
} job_t;

typedef struct attempt {
    uint64_t id;
    job_t *job;
    int64_t first, last;
    uint64_t worker; /* serial of the worker it was given to (0: nobody, after a restart) */
    double progress; /* when it was assigned or last delivered a frame */
    bool audit;      /* renders frame `first` again only to compare content hashes */
} attempt_t;

typedef struct coord {
    const lx_coord_config_t *cfg;
    void *sock;
    journal_t *journal;
    worker_t *workers;
    size_t n_workers, cap_workers;
    job_t **jobs;
    size_t n_jobs, cap_jobs;
    attempt_t *attempts; /* in flight */
    size_t n_attempts, cap_attempts;
    uint64_t next_attempt, next_serial;
    lx_strbuf_t out;   /* encoding buffer, reused */
    lx_arena_t arena;  /* the decoded message's strings */
    uint64_t bad_messages;
    double t0;
    double grace_ms, grace_until; /* after a restart: orphaned attempts wait until then */
    struct quarantine {          /* workers an audit caught: never given work again */
        uint64_t who;
        char name[129];
    } *quarantined;
    size_t n_quarantined, cap_quarantined;
} coord_t;

/* ---- clock and log ---------------------------------------------------- */

static void s_log(coord_t *c, lx_log_level_t level, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static void s_log(coord_t *c, lx_log_level_t level, const char *fmt, ...)
{
    if (!c->cfg->log || level > c->cfg->log_level)
        return;
    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    lx_log_line(c->cfg->log, c->cfg->log_level, level, "%s", line);
}

/* Room for one more element in a growing array. */
static bool s_grow(void **items, size_t *cap, size_t n, size_t elem)
{
    if (n < *cap)
        return true;
    size_t grown = *cap ? *cap * 2 : 16;
    void *p = realloc(*items, grown * elem);
    if (!p)
        return false;
    *items = p;
    *cap = grown;
    return true;
}

/* ---- sending ---------------------------------------------------------- */

typedef struct peer {
    const uint8_t *ident;
    size_t ident_len;
    bool delimiter; /* the peer is a REQ socket: an empty frame follows the identity */
} peer_t;

static bool s_send(coord_t *c, const peer_t *to, const lx_msg_t *m)
{
    c->out.len = 0;
    lx_error_t err = {0};
    if (lx_msg_encode(m, &c->out, &err) != LX_OK) {
        s_log(c, LX_LOG_ERROR, "event=encode_failed type=%s error=\"%s\"",
              lx_msg_type_name(m->type), err.message);
        return false;
    }
    bool ok = zmq_send(c->sock, to->ident, to->ident_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) >= 0 &&
              (!to->delimiter || zmq_send(c->sock, "", 0, ZMQ_SNDMORE | ZMQ_DONTWAIT) >= 0) &&
              zmq_send(c->sock, c->out.buf, c->out.len, ZMQ_DONTWAIT) >= 0;
    if (!ok)
        s_log(c, LX_LOG_DEBUG, "event=send_failed type=%s error=\"%s\"", lx_msg_type_name(m->type),
              zmq_strerror(errno));
    return ok;
}

static bool s_send_worker(coord_t *c, worker_t *w, const lx_msg_t *m)
{
    peer_t to = {w->ident, w->ident_len, false};
    w->last_send = lx_monotonic_ms();
    return s_send(c, &to, m);
}

static void s_error(coord_t *c, const peer_t *to, const char *code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

static void s_error(coord_t *c, const peer_t *to, const char *code, const char *fmt, ...)
{
    char text[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    lx_msg_t m = {.type = LX_MSG_ERROR};
    LX_MSG_SET(&m, code, code);
    LX_MSG_SET(&m, message, text);
    s_send(c, to, &m);
}

/* ---- workers ---------------------------------------------------------- */

static worker_t *s_worker_by_ident(coord_t *c, const peer_t *from)
{
    for (size_t i = 0; i < c->n_workers; i++)
        if (c->workers[i].ident_len == from->ident_len &&
            memcmp(c->workers[i].ident, from->ident, from->ident_len) == 0)
            return &c->workers[i];
    return NULL;
}

static worker_t *s_worker_by_serial(coord_t *c, uint64_t serial)
{
    for (size_t i = 0; i < c->n_workers; i++)
        if (c->workers[i].serial == serial)
            return &c->workers[i];
    return NULL;
}

static job_t *s_job(coord_t *c, const char *id)
{
    for (size_t i = 0; i < c->n_jobs; i++)
        if (strcmp(c->jobs[i]->id, id) == 0)
            return c->jobs[i];
    return NULL;
}

static attempt_t *s_attempt(coord_t *c, uint64_t id)
{
    for (size_t i = 0; i < c->n_attempts; i++)
        if (c->attempts[i].id == id)
            return &c->attempts[i];
    return NULL;
}

static void s_journal_fail(coord_t *c, const lx_error_t *err)
{
    s_log(c, LX_LOG_ERROR, "event=journal_error error=\"%s\"", err->message);
}

static uint64_t s_who(const char *name)
{
    uint8_t h[16];
    lx_xxh128(name, strlen(name), h);
    uint64_t v;
    memcpy(&v, h, sizeof v);
    return v ? v : 1;
}

static struct job_worker *s_job_worker(job_t *j, const char *name)
{
    uint64_t who = s_who(name);
    for (size_t k = 0; k < j->n_jw; k++)
        if (j->jw[k].who == who)
            return &j->jw[k];
    if (!s_grow((void **)&j->jw, &j->cap_jw, j->n_jw, sizeof *j->jw))
        return NULL;
    struct job_worker *x = &j->jw[j->n_jw++];
    memset(x, 0, sizeof *x);
    x->who = who;
    snprintf(x->name, sizeof x->name, "%s", name);
    return x;
}

static bool s_blocked(const job_t *j, const char *name, double now)
{
    uint64_t who = s_who(name);
    for (size_t k = 0; k < j->n_jw; k++)
        if (j->jw[k].who == who)
            return j->jw[k].blocked_until > now;
    return false;
}

static bool s_failed_by(const job_t *j, int64_t i, uint64_t who)
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
    s_log(c, LX_LOG_WARN, "event=worker_blocked job=%s worker=%s for_ms=%.0f", j->id, w->name,
          c->cfg->forgive_ms);
}

/* Frames [first, last] still running under attempt id go back to the
 * queue, inside the caller's transaction. With a worker to blame, the
 * first of them (the one it was rendering: workers render in order) counts
 * one failure; a frame out of budget fails, and so does its job. */
static bool s_release_frames(coord_t *c, job_t *j, uint64_t id, int64_t first, int64_t last,
                             const worker_t *blame, lx_error_t *err)
{
    bool ok = true;
    uint64_t who = blame ? s_who(blame->name) : 0;
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
        if (in_hand && !s_failed_by(j, i, who)) {
            j->fby[i][j->ffail[i]++] = who;
            if (j->ffail[i] >= MAX_FRAME_FAILURES) {
                st = F_FAILED;
                j->failed++;
                s_log(c, LX_LOG_ERROR, "event=frame_failed job=%s frame=%" PRId64
                      " workers=%d", j->id, f, MAX_FRAME_FAILURES);
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
        ok = journal_exec(c->journal, err, "UPDATE jobs SET state = 'failed', error = ? WHERE id = ?",
                          "ss", j->error, j->id) == LX_OK;
        s_log(c, LX_LOG_ERROR, "event=job_failed job=%s failed_frames=%" PRIu64, j->id, j->failed);
    }
    return ok;
}

static void s_transaction_end(coord_t *c, bool ok, lx_error_t *err)
{
    if (ok && journal_commit(c->journal, err) == LX_OK)
        return;
    journal_rollback(c->journal);
    s_journal_fail(c, err);
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
static void s_requeue(coord_t *c, attempt_t *a, const char *state, const char *reason,
                      const worker_t *blame)
{
    job_t *j = a->job;
    lx_error_t err = {0};
    if (blame)
        s_blame_chunk(c, j, blame);
    if (a->audit)
        s_audit_abandoned(j, a);
    bool ok = journal_begin(c->journal, &err) == LX_OK &&
              s_release_frames(c, j, a->id, a->first, a->last, blame, &err) &&
              journal_exec(c->journal, &err, "UPDATE attempts SET state = ?, reason = ? WHERE id = ?",
                           "ssi", state, reason, (int64_t)a->id) == LX_OK;
    s_transaction_end(c, ok, &err);
    s_log(c, LX_LOG_INFO, "event=attempt_%s job=%s attempt=%" PRIu64 " frames=%" PRId64 "-%" PRId64
          " reason=%s", state, j->id, a->id, a->first, a->last, reason);
    *a = c->attempts[--c->n_attempts];
}

static void s_worker_gone(coord_t *c, worker_t *w, const char *why)
{
    s_log(c, LX_LOG_INFO, "event=worker_%s worker=%s session=%" PRIu64 " frames=%" PRIu64, why,
          w->name, w->serial, w->frames);
    for (size_t i = c->n_attempts; i-- > 0;)
        if (c->attempts[i].worker == w->serial)
            s_requeue(c, &c->attempts[i], "lost", why, NULL);
    lx_error_t err = {0};
    if (w->helloed &&
        journal_exec(c->journal, &err, "UPDATE workers SET state = ?, last_seen = ? WHERE name = ?",
                     "sds", why, lx_monotonic_ms() - c->t0, w->name) != LX_OK)
        s_journal_fail(c, &err);
    *w = c->workers[--c->n_workers];
}

/* ---- scheduling ------------------------------------------------------- */

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
    s_log(c, LX_LOG_INFO, "event=%s job=%s attempt=%" PRIu64 " frames=%" PRId64 "-%" PRId64
          " warmup_from=%" PRId64 " worker=%s", a->audit ? "assign_audit" : "assign", j->id,
          a->id, a->first, a->last, warm, w->name);
    s_send_worker(c, w, &m);
}

static bool s_assign(coord_t *c, worker_t *w, job_t *j)
{
    int64_t i = j->hint;
    while (i < j->n && j->fstate[i] != F_PENDING)
        i++;
    j->hint = i;
    if (s_blocked(j, w->name, lx_monotonic_ms()))
        return false;
    /* A worker is never given a frame it failed: the next pending frame
     * it has not failed starts its chunk, the next one it has ends it. */
    uint64_t who = s_who(w->name);
    while (i < j->n && (j->fstate[i] != F_PENDING || s_failed_by(j, i, who)))
        i++;
    if (i >= j->n)
        return false;
    int64_t want = s_chunk_size(c, j), k = i;
    while (k < j->n && k - i < want && j->fstate[k] == F_PENDING && !s_failed_by(j, k, who))
        k++;
    if (!s_grow((void **)&c->attempts, &c->cap_attempts, c->n_attempts, sizeof *c->attempts))
        return false;
    attempt_t a = {++c->next_attempt, j, j->first + i, j->first + k - 1, w->serial,
                   lx_monotonic_ms(), false};
    int64_t warm = s_warmup_from(j, a.first);
    lx_error_t err = {0};
    bool ok = journal_begin(c->journal, &err) == LX_OK &&
              journal_exec(c->journal, &err,
                           "INSERT INTO attempts(id, job, first, last, warmup_from, worker, state)"
                           " VALUES(?, ?, ?, ?, ?, ?, 'running')",
                           "isiiis", (int64_t)a.id, j->id, a.first, a.last, warm, w->name) == LX_OK &&
              journal_exec(c->journal, &err,
                           "UPDATE frames SET state = 'running', attempt = ? WHERE job = ? AND"
                           " frame BETWEEN ? AND ?",
                           "isii", (int64_t)a.id, j->id, a.first, a.last) == LX_OK &&
              journal_exec(c->journal, &err,
                           "UPDATE jobs SET state = 'running' WHERE id = ? AND state = 'queued'",
                           "s", j->id) == LX_OK &&
              journal_commit(c->journal, &err) == LX_OK;
    if (!ok) {
        journal_rollback(c->journal);
        s_journal_fail(c, &err);
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

/* ---- audits ----------------------------------------------------------- */

static void s_finish(coord_t *c, job_t *j);

static bool s_quarantined(const coord_t *c, const char *name)
{
    uint64_t who = s_who(name);
    for (size_t k = 0; k < c->n_quarantined; k++)
        if (c->quarantined[k].who == who)
            return true;
    return false;
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

static void s_maybe_finish(coord_t *c, job_t *j)
{
    if ((int64_t)j->done == j->n && j->audits_open == 0 && j->state <= J_RUNNING)
        s_finish(c, j);
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
          journal_exec(c->journal, err, "UPDATE frames SET state = 'pending' WHERE job = ? AND"
                       " frame = ?", "si", j->id, j->first + i) == LX_OK &&
          journal_exec(c->journal, err, "UPDATE results SET current = 0 WHERE job = ? AND"
                       " frame = ?", "si", j->id, j->first + i) == LX_OK;
}

/* An audit caught `name` (the minority of 2 of 3): it gets no more work,
 * its chunks in flight are cancelled, and every frame it rendered that no
 * audit confirmed is rendered again by others. */
static void s_quarantine(coord_t *c, uint64_t who, const char *name, int64_t frame)
{
    for (size_t k = 0; k < c->n_quarantined; k++)
        if (c->quarantined[k].who == who)
            return;
    if (s_grow((void **)&c->quarantined, &c->cap_quarantined, c->n_quarantined,
               sizeof *c->quarantined)) {
        c->quarantined[c->n_quarantined].who = who;
        snprintf(c->quarantined[c->n_quarantined++].name, 129, "%s", name);
    }
    s_log(c, LX_LOG_ERROR, "event=worker_quarantined worker=%s frame=%" PRId64, name, frame);
    for (size_t k = c->n_attempts; k-- > 0;) {
        attempt_t *a = &c->attempts[k];
        worker_t *w = s_worker_by_serial(c, a->worker);
        if (!w || s_who(w->name) != who)
            continue;
        lx_msg_t cancel = {.type = LX_MSG_CANCEL};
        LX_MSG_SET(&cancel, job, a->job->id);
        LX_MSG_SET(&cancel, attempt, a->id);
        s_send_worker(c, w, &cancel);
        s_requeue(c, a, "cancelled", "quarantined", NULL);
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
            s_log(c, LX_LOG_WARN, "event=audit_rerender job=%s frames=%" PRIu64 " worker=%s",
                  j->id, redo, name);
    }
    s_transaction_end(c, ok, &err);
}

/* A primary result of frame i was accepted: remember who said what, and
 * whether it is to be audited. */
static void s_audit_primary(job_t *j, const attempt_t *a, int64_t i, const worker_t *w,
                            const lx_msg_t *m)
{
    if (!j->faudit)
        return;
    j->fwho[i][0] = s_who(w->name);
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
    uint64_t who = s_who(w->name);
    int64_t i = 0;
    for (; i < j->n; i++)
        if ((j->faudit[i] == A_WANTED && j->fwho[i][0] != who) ||
            (j->faudit[i] == A_DISPUTED && j->fwho[i][0] != who && j->fwho[i][1] != who))
            break;
    if (i == j->n || !s_grow((void **)&c->attempts, &c->cap_attempts, c->n_attempts,
                             sizeof *c->attempts))
        return false;
    int64_t f = j->first + i;
    attempt_t a = {++c->next_attempt, j, f, f, w->serial, lx_monotonic_ms(), true};
    int64_t warm = s_warmup_from(j, f);
    lx_error_t err = {0};
    if (journal_exec(c->journal, &err,
                     "INSERT INTO attempts(id, job, first, last, warmup_from, worker, state,"
                     " reason) VALUES(?, ?, ?, ?, ?, ?, 'audit', 'audit')",
                     "isiiis", (int64_t)a.id, j->id, f, f, warm, w->name) != LX_OK) {
        s_journal_fail(c, &err);
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
static void s_on_audit_frame(coord_t *c, job_t *j, attempt_t *a, const lx_msg_t *m)
{
    int64_t f = a->first, i = f - j->first;
    uint8_t sig[16];
    s_signature(m, sig);
    uint8_t state = j->faudit[i];
    a->audit = false; /* answered: ending it below must not reopen the audit */
    s_requeue(c, a, "done", "audit", NULL);
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
        s_log(c, LX_LOG_WARN, "event=audit_disagreement job=%s frame=%" PRId64, j->id, f);
        return;
    }
    if (state != A_THIRD)
        return; /* the audit was called off meanwhile (a quarantine) */
    memcpy(j->fsig[i][2], sig, 16);
    bool primary_ok = memcmp(sig, j->fsig[i][0], 16) == 0;
    bool auditor_ok = memcmp(sig, j->fsig[i][1], 16) == 0;
    if (primary_ok || auditor_ok) {
        j->faudit[i] = A_DONE;
        j->audits_open--;
        j->audited += primary_ok;
        /* The minority: the auditor, or the worker whose result was kept,
         * which s_quarantine then renders again. */
        uint64_t liar = primary_ok ? j->fwho[i][1] : j->fwho[i][0];
        char name[129] = "?";
        for (size_t k = 0; k < c->n_workers; k++)
            if (s_who(c->workers[k].name) == liar)
                snprintf(name, sizeof name, "%s", c->workers[k].name);
        if (!primary_ok)
            j->faudit[i] = A_WANTED, j->audits_open++; /* reset by the quarantine below */
        s_quarantine(c, liar, name, f);
        s_log(c, LX_LOG_WARN, "event=audit_settled job=%s frame=%" PRId64 " kept=%s", j->id, f,
              primary_ok ? "primary" : "majority");
        return;
    }
    j->faudit[i] = A_DONE;
    j->audits_open--;
    j->failed++;
    j->state = J_FAILED;
    free(j->error);
    j->error = strdup("an audit found three different results for one frame");
    s_log(c, LX_LOG_ERROR, "event=audit_no_majority job=%s frame=%" PRId64, j->id, f);
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
static void s_dispatch(coord_t *c)
{
    for (size_t wi = 0; wi < c->n_workers; wi++) {
        worker_t *w = &c->workers[wi];
        if (!w->helloed || w->draining || s_quarantined(c, w->name))
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

/* ---- jobs ------------------------------------------------------------- */

static void s_job_free(job_t *j)
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
        if (s_blocked(j, w->name, now)) {
            blocked++;
            continue;
        }
        uint64_t who = s_who(w->name);
        for (int64_t i = j->hint; i < j->n; i++)
            if (j->fstate[i] == F_PENDING && !s_failed_by(j, i, who))
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
    SET(state, JOB_STATES[j->state]);
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

static void s_reply_jobs(coord_t *c, const peer_t *to, job_t *only)
{
    size_t n = only ? 1 : c->n_jobs;
    lx_job_rec_t *recs = calloc(n ? n : 1, sizeof *recs);
    char(*waiting)[512] = calloc(n ? n : 1, sizeof *waiting);
    if (!recs || !waiting) {
        free(recs);
        free(waiting);
        s_error(c, to, "internal", "out of memory");
        return;
    }
    for (size_t i = 0; i < n; i++)
        s_job_rec(c, only ? only : c->jobs[i], &recs[i], waiting[i], sizeof waiting[i]);
    lx_msg_t m = {.type = LX_MSG_JOBS};
    LX_MSG_SET(&m, jobs, ((lx_job_recs_t){recs, (uint32_t)n}));
    s_send(c, to, &m);
    free(recs);
    free(waiting);
}

static void s_hash_hex(const void *data, size_t len, char hex[65])
{
    lx_digest_t d;
    if (lx_sha256(data, len, &d) == LX_OK)
        lx_hex(d.bytes, 32, hex);
    else
        hex[0] = '\0';
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
    s_hash_hex(sb.buf, sb.len, hex);
    lx_strbuf_release(&sb);
}

/* Everything a job derives from its program and plan: frame arrays, the
 * resolved config, the manifest under construction, the hashes. */
static lx_result_t s_job_setup(job_t *j, const char *out, lx_error_t *err)
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
    if (!j->fstate || !j->ffail || !j->fby || !j->fattempt || !j->config_json || !j->out || !j->manifest)
        return lx_fail(err, LX_E_NOMEM, "out of memory for a job of %" PRId64 " frames", j->n);
    lx_hex(j->p->program_hash.bytes, 32, j->program_hash);
    lx_hex(j->plan.config_hash.bytes, 32, j->config_hash);
    j->created = lx_monotonic_ms();
    return LX_OK;
}

static void s_on_submit(coord_t *c, const peer_t *from, const lx_msg_t *m)
{
    char submit_hash[65];
    s_submit_hash(m, submit_hash);
    for (size_t i = 0; i < c->n_jobs; i++)
        if (strcmp(c->jobs[i]->token, m->token) == 0) {
            if (strcmp(c->jobs[i]->submit_hash, submit_hash) != 0)
                return s_error(c, from, "token_reused",
                               "token '%s' was already used by job %s for a different request",
                               m->token, c->jobs[i]->id);
            return s_reply_jobs(c, from, c->jobs[i]); /* idempotent */
        }
    const char *output = LX_MSG_HAS(m, output) ? m->output : "shared";
    if (strcmp(output, "shared") != 0 && strcmp(output, "stream") != 0)
        return s_error(c, from, "bad_request", "output must be 'shared' or 'stream', not '%s'",
                       output);
    if (m->out[0] != '/')
        return s_error(c, from, "bad_request", "the output directory must be an absolute path, "
                       "not '%s'", m->out);
    if (LX_MSG_HAS(m, frames) && (m->frames.n != 2 || m->frames.v[0] < 0 ||
                                  m->frames.v[0] > m->frames.v[1]))
        return s_error(c, from, "bad_request", "frames must be [a, b] with 0 <= a <= b");
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
        s_error(c, from, "invalid_patch", "%s", report.buf);
        goto fail;
    }
    if (rc == LX_OK &&
        lx_export_check_target(m->out, j->p->patch_id, LX_MSG_HAS(m, force) && m->force, &err) !=
            LX_OK) {
        s_error(c, from, "output_not_empty", "%s", err.message);
        goto fail;
    }
    if (rc == LX_OK)
        rc = lx_mkdirs(m->out, &err);
    if (rc == LX_OK)
        rc = lx_ir_encode(j->p, &program, &err);
    if (rc != LX_OK) {
        s_error(c, from, rc == LX_E_INVALID || rc == LX_E_IO ? "bad_request" : "internal", "%s",
                err.message);
        goto fail;
    }
    if (s_job_setup(j, m->out, &err) != LX_OK) {
        s_error(c, from, "internal", "%s", err.message);
        goto fail;
    }
    char token_hash[65];
    s_hash_hex(m->token, strlen(m->token), token_hash);
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
            s_error(c, from, "bad_request", "the audit rate must be in [0, 1]");
            goto fail;
        }
        j->audit_rate = m->audit_rate;
        j->faudit = calloc((size_t)j->n, 1);
        j->fwho = calloc((size_t)j->n, sizeof *j->fwho);
        j->fsig = calloc((size_t)j->n, sizeof *j->fsig);
        if (!j->faudit || !j->fwho || !j->fsig) {
            s_error(c, from, "internal", "out of memory for audits");
            goto fail;
        }
    }
    if (s_job(c, j->id) ||
        !s_grow((void **)&c->jobs, &c->cap_jobs, c->n_jobs, sizeof *c->jobs)) {
        s_error(c, from, "token_reused", "job id %s is taken; use another token", j->id);
        goto fail;
    }
    bool ok = journal_begin(c->journal, &err) == LX_OK &&
              journal_exec(c->journal, &err, "INSERT OR IGNORE INTO programs VALUES(?, ?)", "sb",
                           j->program_hash, program.buf, program.len) == LX_OK &&
              journal_exec(c->journal, &err,
                           "INSERT INTO jobs(id, token, submit_hash, state, project, program_hash,"
                           " config, config_hash, out, output, first, last, chunk, created,"
                           " progress_ms) VALUES(?, ?, ?, 'queued', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                           "sssssssssiiidd", j->id, j->token, j->submit_hash, j->p->patch_id,
                           j->program_hash, j->config_json, j->config_hash, j->out, output,
                           j->first, j->first + j->n - 1, (int64_t)j->chunk, (double)time(NULL),
                           j->progress_ms) == LX_OK;
    for (int64_t f = 0; f < j->n && ok; f++)
        ok = journal_exec(c->journal, &err,
                          "INSERT INTO frames(job, frame, state) VALUES(?, ?, 'pending')", "si",
                          j->id, j->first + f) == LX_OK;
    ok = ok && journal_commit(c->journal, &err) == LX_OK;
    if (!ok) {
        journal_rollback(c->journal);
        s_journal_fail(c, &err);
        s_error(c, from, "internal", "cannot journal the job: %s", err.message);
        goto fail;
    }
    c->jobs[c->n_jobs++] = j;
    s_log(c, LX_LOG_INFO, "event=job_submitted job=%s project=%s frames=%" PRId64 "-%" PRId64
          " output=%s out=\"%s\" program=%.12s", j->id, j->p->patch_id, j->first,
          j->first + j->n - 1, output, j->out, j->program_hash);
    s_reply_jobs(c, from, j);
    lx_strbuf_release(&report);
    lx_strbuf_release(&program);
    return;
fail:
    s_job_free(j);
    lx_strbuf_release(&report);
    lx_strbuf_release(&program);
}

static void s_finish(coord_t *c, job_t *j)
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
        lx_strbuf_addf(&audit, "{\"rate\": %.17g, \"confirmed\": %" PRIu64 ", \"disputed\": %" PRIu64
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
        s_log(c, LX_LOG_INFO, "event=temps_removed job=%s files=%u", j->id, temps);
    lx_result_t rc = lx_manifest_write(j->manifest, j->out, &run, &err);
    lx_strbuf_release(&audit);
    j->state = rc == LX_OK ? J_DONE : J_FAILED;
    if (rc != LX_OK)
        j->error = strdup(err.message);
    if (journal_exec(c->journal, &jerr, "UPDATE jobs SET state = ?, error = ? WHERE id = ?", "sss",
                     JOB_STATES[j->state], j->error, j->id) != LX_OK)
        s_journal_fail(c, &jerr);
    if (rc == LX_OK)
        s_log(c, LX_LOG_INFO, "event=job_done job=%s frames=%" PRId64 " workers=%u elapsed_ms=%.0f",
              j->id, j->n, j->n_workers, run.elapsed_ms);
    else
        s_log(c, LX_LOG_ERROR, "event=job_failed job=%s error=\"%s\"", j->id, err.message);
}

/* Checks one file of a current result and, in stream mode, writes it:
 * the coordinator re-hashes every byte it accepts. */
static lx_result_t s_accept_file(const job_t *j, const lx_file_rec_t *f, lx_error_t *err)
{
    char dir[4400], path[4500], hex[65];
    if ((size_t)snprintf(dir, sizeof dir, "%s/%s", j->out, f->key) >= sizeof dir)
        return lx_fail(err, LX_E_INVALID, "path too long");
    if (j->stream) {
        if (!(f->has & LX_FILE_REC_BIT(bytes)))
            return lx_fail(err, LX_E_INVALID, "%s/%s: stream mode needs the file's bytes", f->key,
                           f->name);
        s_hash_hex(f->bytes.data, f->bytes.len, hex);
        if (strcmp(hex, f->hash) != 0)
            return lx_fail(err, LX_E_VERIFY, "%s/%s: bytes hash to %.12s, not %.12s", f->key,
                           f->name, hex, f->hash);
        lx_result_t rc = lx_mkdirs(dir, err);
        return rc == LX_OK ? lx_write_atomic(dir, f->name, f->bytes.data, f->bytes.len, err) : rc;
    }
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, f->name) >= sizeof path)
        return lx_fail(err, LX_E_INVALID, "path too long");
    size_t len = 0;
    char *data = lx_read_file(path, LX_MSG_MAX_BIN, &len, lx_alloc_default());
    if (!data)
        return lx_fail(err, LX_E_IO, "%s/%s: cannot read the worker's file", f->key, f->name);
    s_hash_hex(data, len, hex);
    lx_free(lx_alloc_default(), data);
    if (strcmp(hex, f->hash) != 0)
        return lx_fail(err, LX_E_VERIFY, "%s/%s: file on disk hashes to %.12s, not %.12s", f->key,
                       f->name, hex, f->hash);
    return LX_OK;
}

static void s_ack(coord_t *c, worker_t *w, const lx_msg_t *m)
{
    int64_t f = m->frame;
    lx_msg_t ack = {.type = LX_MSG_ACK};
    LX_MSG_SET(&ack, job, m->job);
    LX_MSG_SET(&ack, attempt, m->attempt);
    LX_MSG_SET(&ack, frames, ((lx_i64s_t){&f, 1}));
    s_send_worker(c, w, &ack);
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
        rc = journal_exec(c->journal, err,
                          "INSERT OR REPLACE INTO results(job, frame, attempt, worker, current,"
                          " record) VALUES(?, ?, ?, ?, 1, ?)",
                          "siisb", m->job, m->frame, (int64_t)m->attempt, w->name, rec.buf,
                          rec.len);
    else if (rc == LX_OK)
        rc = journal_exec(c->journal, err,
                          "INSERT OR IGNORE INTO results(job, frame, attempt, worker, current,"
                          " record) VALUES(?, ?, ?, ?, 0, ?)",
                          "siisb", m->job, m->frame, (int64_t)m->attempt, w->name, rec.buf,
                          rec.len);
    lx_strbuf_release(&rec);
    return rc;
}

static void s_on_frame(coord_t *c, worker_t *w, lx_msg_t *m)
{
    peer_t to = {w->ident, w->ident_len, false};
    job_t *j = s_job(c, m->job);
    int64_t f = m->frame;
    if (!j || f < j->first || f >= j->first + j->n) {
        /* Acknowledged all the same: the worker must not keep it forever. */
        s_error(c, &to, "unknown_job", "no frame %" PRId64 " in job '%s'", f, m->job);
        return s_ack(c, w, m);
    }
    int64_t i = f - j->first;
    attempt_t *a = s_attempt(c, m->attempt);
    lx_error_t err = {0};
    if (a && a->audit && a->job == j && f == a->first) {
        s_ack(c, w, m);
        s_on_audit_frame(c, j, a, m);
        return s_maybe_finish(c, j);
    }
    if (!a || a->job != j || j->fstate[i] != F_RUNNING || j->fattempt[i] != m->attempt) {
        /* A superseded attempt's late result: kept as evidence only. */
        if (s_journal_result(c, m, w, false, &err) != LX_OK)
            s_journal_fail(c, &err);
        j->late++;
        s_log(c, LX_LOG_INFO, "event=late_result job=%s attempt=%" PRIu64 " frame=%" PRId64
              " worker=%s late=%" PRIu64, j->id, m->attempt, f, w->name, j->late);
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
        rc = s_accept_file(j, &m->files.v[k], &err);
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
            s_journal_fail(c, &jerr);
            return; /* not acknowledged: the worker keeps it and sends it again */
        }
        j->fstate[i] = F_DONE;
        j->running--;
        j->done++;
        a->progress = lx_monotonic_ms();
        s_audit_primary(j, a, i, w, m);
        j->ms_sum += m->render_ms;
        w->frames++;
        bool known = false;
        for (uint32_t k = 0; k < j->n_workers; k++)
            known |= j->workers[k] == w->serial;
        size_t cap = j->cap_workers;
        if (!known && s_grow((void **)&j->workers, &cap, j->n_workers, sizeof *j->workers)) {
            j->cap_workers = (uint32_t)cap;
            j->workers[j->n_workers++] = w->serial;
        }
        if (w->threads > j->max_threads)
            j->max_threads = w->threads;
        s_log(c, LX_LOG_DEBUG, "event=frame job=%s attempt=%" PRIu64 " frame=%" PRId64
              " render_ms=%.1f worker=%s", j->id, m->attempt, f, m->render_ms, w->name);
        s_ack(c, w, m);
        /* An attempt whose frames are all done is over, even if its
         * CHUNK_DONE was lost (a reconnect): it must not hold credit. */
        bool open = false;
        for (int64_t g = a->first; g <= a->last && !open; g++)
            open = j->fstate[g - j->first] == F_RUNNING && j->fattempt[g - j->first] == a->id;
        if (!open)
            s_requeue(c, a, "done", "complete", NULL);
        return s_maybe_finish(c, j);
    }
    /* A result that cannot be accepted counts against the frame's budget;
     * the frame is rendered again. */
    s_log(c, LX_LOG_WARN, "event=result_rejected job=%s attempt=%" PRIu64 " frame=%" PRId64
          " worker=%s error=\"%s\"", j->id, m->attempt, f, w->name, err.message);
    /* The coordinator's own trouble (disk, memory) is not the worker's. */
    bool failure = rc != LX_E_IO && rc != LX_E_NOMEM;
    lx_error_t jerr = {0};
    bool ok = journal_begin(c->journal, &jerr) == LX_OK &&
              s_release_frames(c, j, a->id, f, f, failure ? w : NULL, &jerr);
    s_transaction_end(c, ok, &jerr);
    s_error(c, &to, "result_rejected", "frame %" PRId64 ": %s", f, err.message);
    s_ack(c, w, m);
}

static void s_on_chunk_end(coord_t *c, worker_t *w, const lx_msg_t *m)
{
    attempt_t *a = s_attempt(c, m->attempt);
    if (!a || a->worker != w->serial) {
        s_log(c, LX_LOG_DEBUG, "event=stale_chunk_end attempt=%" PRIu64 " worker=%s", m->attempt,
              w->name);
        return;
    }
    if (m->type == LX_MSG_CHUNK_DONE)
        return s_requeue(c, a, "done", "complete", NULL);
    /* Interruptions never count against a frame's budget. */
    bool interrupted = strcmp(m->reason, "interrupted") == 0 || strcmp(m->reason, "busy") == 0;
    s_log(c, LX_LOG_WARN, "event=chunk_failed job=%s attempt=%" PRIu64 " worker=%s reason=%s"
          " message=\"%s\"", a->job->id, a->id, w->name, m->reason,
          LX_MSG_HAS(m, message) ? m->message : "");
    s_requeue(c, a, "failed", m->reason, interrupted ? NULL : w);
}

static bool s_resumes(const lx_msg_t *m, uint64_t attempt)
{
    for (uint32_t k = 0; LX_MSG_HAS(m, resumed) && k < m->resumed.n; k++)
        if (m->resumed.v[k] == attempt)
            return true;
    return false;
}

static void s_on_hello(coord_t *c, const peer_t *from, const lx_msg_t *m)
{
    /* A worker that reconnects has a new socket identity: its old session
     * is over. Attempts it resumes are kept for the new session (orphaned
     * here, adopted below); the rest go back to the queue. */
    for (size_t i = c->n_workers; i-- > 0;) {
        worker_t *o = &c->workers[i];
        if (strcmp(o->name, m->name) != 0 ||
            (o->ident_len == from->ident_len && memcmp(o->ident, from->ident, o->ident_len) == 0))
            continue;
        for (size_t k = 0; k < c->n_attempts; k++)
            if (c->attempts[k].worker == o->serial && s_resumes(m, c->attempts[k].id))
                c->attempts[k].worker = 0;
        s_worker_gone(c, o, "replaced");
    }
    worker_t *w = s_worker_by_ident(c, from);
    if (!w) {
        if (!s_grow((void **)&c->workers, &c->cap_workers, c->n_workers, sizeof *c->workers) ||
            from->ident_len > MAX_IDENT)
            return;
        w = &c->workers[c->n_workers++];
        memset(w, 0, sizeof *w);
        memcpy(w->ident, from->ident, from->ident_len);
        w->ident_len = from->ident_len;
        w->serial = ++c->next_serial;
    }
    snprintf(w->name, sizeof w->name, "%s", m->name);
    snprintf(w->build, sizeof w->build, "%s", m->build);
    w->threads = (uint32_t)m->threads;
    w->helloed = true;
    w->draining = false;
    w->ready = 0;
    w->last_recv = w->last_send = lx_monotonic_ms();
    lx_error_t err = {0};
    if (journal_exec(c->journal, &err,
                     "INSERT INTO workers(name, build, threads, first_seen, last_seen, state)"
                     " VALUES(?, ?, ?, ?, ?, 'alive') ON CONFLICT(name) DO UPDATE SET"
                     " build = excluded.build, threads = excluded.threads,"
                     " last_seen = excluded.last_seen, state = 'alive'",
                     "ssidd", w->name, w->build, (int64_t)w->threads, w->last_recv - c->t0,
                     w->last_recv - c->t0) != LX_OK)
        s_journal_fail(c, &err);
    s_log(c, LX_LOG_INFO, "event=worker_joined worker=%s session=%" PRIu64 " threads=%u"
          " build=\"%s\" resumed=%u", w->name, w->serial, w->threads, w->build,
          LX_MSG_HAS(m, resumed) ? m->resumed.n : 0);
    /* In-flight attempts it still holds: adopt those nobody else has, and
     * cancel the rest so that it does not work for nothing. */
    for (uint32_t k = 0; LX_MSG_HAS(m, resumed) && k < m->resumed.n; k++) {
        attempt_t *a = s_attempt(c, m->resumed.v[k]);
        worker_t *owner = a ? s_worker_by_serial(c, a->worker) : NULL;
        if (a && (!owner || owner == w)) {
            a->worker = w->serial;
            continue;
        }
        lx_msg_t cancel = {.type = LX_MSG_CANCEL};
        LX_MSG_SET(&cancel, attempt, m->resumed.v[k]);
        s_send_worker(c, w, &cancel);
    }
}

static void s_on_cancel_job(coord_t *c, const peer_t *from, job_t *j)
{
    if (j->state <= J_RUNNING) {
        j->state = J_CANCELLED;
        lx_error_t err = {0};
        if (journal_exec(c->journal, &err, "UPDATE jobs SET state = 'cancelled' WHERE id = ?", "s",
                         j->id) != LX_OK)
            s_journal_fail(c, &err);
        for (size_t i = c->n_attempts; i-- > 0;) {
            attempt_t *a = &c->attempts[i];
            if (a->job != j)
                continue;
            worker_t *w = s_worker_by_serial(c, a->worker);
            if (w) {
                lx_msg_t cancel = {.type = LX_MSG_CANCEL};
                LX_MSG_SET(&cancel, job, j->id);
                LX_MSG_SET(&cancel, attempt, a->id);
                s_send_worker(c, w, &cancel);
            }
            s_requeue(c, a, "cancelled", "job_cancelled", NULL);
        }
        s_log(c, LX_LOG_INFO, "event=job_cancelled job=%s done=%" PRIu64, j->id, j->done);
    }
    s_reply_jobs(c, from, j);
}

/* RERENDER: the frames of a finished job that failed, or whose files are
 * missing or do not match its metadata.json, go back to the queue; only
 * they are rendered again (with warm-up), then the manifest is rewritten. */
static void s_on_rerender(coord_t *c, const peer_t *from, job_t *j, const lx_msg_t *m)
{
    unsigned only = LX_REPAIR_MISSING | LX_REPAIR_MISMATCHED | LX_REPAIR_FAILED;
    if (LX_MSG_HAS(m, only) && !lx_repair_parse_only(m->only, &only))
        return s_error(c, from, "bad_request", "--only takes missing, mismatched, failed");
    if (j->state <= J_RUNNING)
        return s_error(c, from, "busy", "job %s is still %s", j->id, JOB_STATES[j->state]);
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
            return s_error(c, from, "bad_request", "cannot scan %s: %s", j->out, err.message);
        }
    }
    /* Which frames: failed ones (asked for), damaged ones (scanned), and,
     * without a manifest, every frame that is not done. */
    uint8_t *redo = calloc((size_t)j->n, 1);
    if (!redo) {
        lx_manifest_destroy(&fresh);
        free(scan.damaged);
        return s_error(c, from, "internal", "out of memory");
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
                          "UPDATE results SET current = 0 WHERE job = ? AND frame = ?", "si",
                          j->id, j->first + i) == LX_OK;
    }
    ok = ok && journal_exec(c->journal, &err,
                            "UPDATE jobs SET state = 'running', error = NULL WHERE id = ?", "s",
                            j->id) == LX_OK;
    s_transaction_end(c, ok, &err);
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
        s_log(c, LX_LOG_INFO, "event=rerender job=%s frames=%" PRId64 " missing_files=%" PRIu64
              " mismatched_files=%" PRIu64 " checked_files=%" PRIu64, j->id, count, scan.missing,
              scan.mismatched, scan.checked);
        if (!count && has_manifest)
            s_log(c, LX_LOG_INFO, "event=rerender_nothing job=%s", j->id);
    }
    lx_manifest_destroy(&fresh);
    free(scan.damaged);
    free(redo);
    if (ok && j->state == J_DONE && !count)
        s_finish(c, j); /* nothing to render: the manifest is written again as it is */
    s_reply_jobs(c, from, j);
}

static void s_reply_workers(coord_t *c, const peer_t *to)
{
    lx_worker_rec_t *recs = calloc(c->n_workers ? c->n_workers : 1, sizeof *recs);
    lx_strbuf_t *blocked = calloc(c->n_workers ? c->n_workers : 1, sizeof *blocked);
    if (!recs || !blocked) {
        free(recs);
        free(blocked);
        return s_error(c, to, "internal", "out of memory");
    }
    double now = lx_monotonic_ms();
    uint32_t n = 0;
    for (size_t i = 0; i < c->n_workers; i++) {
        const worker_t *w = &c->workers[i];
        if (!w->helloed)
            continue;
        lx_worker_rec_t *r = &recs[n++];
        const attempt_t *a = NULL;
        for (size_t k = 0; k < c->n_attempts && !a; k++)
            if (c->attempts[k].worker == w->serial)
                a = &c->attempts[k];
#define SET(m, v) LX_REC_SET(r, LX_WORKER_REC, m, v)
        SET(name, w->name);
        SET(build, w->build);
        SET(threads, w->threads);
        /* Blocked for some jobs: named, and the state says so when idle. */
        lx_strbuf_t *b = &blocked[n - 1];
        lx_strbuf_init(b, NULL);
        for (size_t k = 0; k < c->n_jobs; k++)
            if (c->jobs[k]->state <= J_RUNNING && s_blocked(c->jobs[k], w->name, now))
                lx_strbuf_addf(b, "%s%s", b->len ? "," : "", c->jobs[k]->id);
        if (b->len)
            SET(blocked, b->buf);
        SET(state, s_quarantined(c, w->name) ? "quarantined"
                   : w->draining                ? "draining"
                   : a                          ? "busy"
                   : b->len                     ? "blocked"
                                                : "idle");
        if (a) {
            SET(job, a->job->id);
            SET(attempt, a->id);
        }
        SET(frames, w->frames);
        SET(seen_ms, floor(now - w->last_recv));
#undef SET
    }
    lx_msg_t m = {.type = LX_MSG_WORKER_LIST};
    LX_MSG_SET(&m, workers, ((lx_worker_recs_t){recs, n}));
    s_send(c, to, &m);
    for (uint32_t i = 0; i < n; i++)
        lx_strbuf_release(&blocked[i]);
    free(blocked);
    free(recs);
}

/* ---- restart ---------------------------------------------------------- */

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
        rc = s_job_setup(j, journal_col_text(r, 7), &err);
    if (rc == LX_OK && strcmp(j->config_hash, journal_col_text(r, 6)) != 0)
        rc = lx_fail(&err, LX_E_VERIFY, "its config resolves to another hash");
    if (rc == LX_OK && !s_grow((void **)&c->jobs, &c->cap_jobs, c->n_jobs, sizeof *c->jobs))
        rc = lx_fail(&err, LX_E_NOMEM, "out of memory");
    lx_strbuf_release(&program);
    if (rc != LX_OK) {
        s_log(c, LX_LOG_ERROR, "event=recover_failed job=%s error=\"%s\"", id, err.message);
        s_job_free(j);
        return true;
    }
    snprintf(j->id, sizeof j->id, "%s", id);
    snprintf(j->token, sizeof j->token, "%s", journal_col_text(r, 1));
    snprintf(j->submit_hash, sizeof j->submit_hash, "%s", journal_col_text(r, 2));
    for (int k = 0; k < 5; k++)
        if (strcmp(state, JOB_STATES[k]) == 0)
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
            files[k] = (lx_manifest_file_t){m.files.v[k].key, m.files.v[k].name,
                                            m.files.v[k].hash, m.files.v[k].content};
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
        s_log(u->c, LX_LOG_WARN, "event=recover_result_skipped job=%s error=\"%s\"", j->id,
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
    job_t *j = s_job(c, journal_col_text(r, 1));
    if (!j || j->state > J_RUNNING ||
        !s_grow((void **)&c->attempts, &c->cap_attempts, c->n_attempts, sizeof *c->attempts))
        return true;
    attempt_t a = {(uint64_t)journal_col_int(r, 0), j, journal_col_int(r, 2),
                   journal_col_int(r, 3), 0, lx_monotonic_ms(), false};
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

static lx_result_t s_recover(coord_t *c, lx_error_t *err)
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
                          "s",
                          u.job->id);
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
        s_log(c, LX_LOG_INFO, "event=recovered jobs=%" PRIu64 " frames_done=%" PRIu64
              " attempts_in_flight=%" PRIu64 " grace_ms=%.0f", u.jobs, u.results, u.attempts,
              c->grace_ms);
    c->grace_until = lx_monotonic_ms() + c->grace_ms;
    return rc;
}

/* ---- the loop --------------------------------------------------------- */

static void s_handle(coord_t *c, const peer_t *from, const void *data, size_t len)
{
    lx_arena_release(&c->arena);
    lx_arena_init(&c->arena, NULL);
    lx_msg_t m;
    lx_error_t err = {0};
    if (lx_msg_decode(data, len, &c->arena, &m, &err) != LX_OK) {
        c->bad_messages++;
        s_log(c, LX_LOG_WARN, "event=bad_message bytes=%zu count=%" PRIu64 " error=\"%s\"", len,
              c->bad_messages, err.message);
        return s_error(c, from, "bad_message", "%s", err.message);
    }
    worker_t *w = s_worker_by_ident(c, from);
    if (w)
        w->last_recv = lx_monotonic_ms();
    switch (m.type) {
    case LX_MSG_HELLO:
        return s_on_hello(c, from, &m);
    case LX_MSG_SUBMIT:
        return s_on_submit(c, from, &m);
    case LX_MSG_STATUS:
    case LX_MSG_WATCH: {
        job_t *j = LX_MSG_HAS(&m, job) ? s_job(c, m.job) : NULL;
        if (LX_MSG_HAS(&m, job) && !j)
            return s_error(c, from, "unknown_job", "no job '%s'", m.job);
        return s_reply_jobs(c, from, j);
    }
    case LX_MSG_CANCEL_JOB: {
        job_t *j = s_job(c, m.job);
        return j ? s_on_cancel_job(c, from, j) : s_error(c, from, "unknown_job", "no job '%s'", m.job);
    }
    case LX_MSG_WORKERS:
        return s_reply_workers(c, from);
    case LX_MSG_RERENDER: {
        job_t *j = s_job(c, m.job);
        return j ? s_on_rerender(c, from, j, &m)
                 : s_error(c, from, "unknown_job", "no job '%s'", m.job);
    }
    case LX_MSG_ERROR:
        s_log(c, LX_LOG_WARN, "event=peer_error worker=%s code=%s message=\"%s\"",
              w ? w->name : "?", m.code, m.message);
        return;
    default:
        break;
    }
    bool from_worker = m.type == LX_MSG_READY || m.type == LX_MSG_PROGRAM_GET ||
                       m.type == LX_MSG_FRAME || m.type == LX_MSG_CHUNK_DONE ||
                       m.type == LX_MSG_CHUNK_FAIL || m.type == LX_MSG_GOODBYE ||
                       m.type == LX_MSG_HEARTBEAT;
    if (!from_worker) {
        c->bad_messages++;
        return s_error(c, from, "unexpected", "a coordinator does not take %s",
                       lx_msg_type_name(m.type));
    }
    if (!w || !w->helloed)
        return s_error(c, from, "hello_first", "unknown session: send HELLO first");
    switch (m.type) {
    case LX_MSG_READY:
        w->ready = (uint32_t)m.credit;
        return;
    case LX_MSG_PROGRAM_GET: {
        lx_strbuf_t bytes;
        lx_strbuf_init(&bytes, NULL);
        if (journal_program(c->journal, m.program_hash, &bytes) != LX_OK) {
            lx_strbuf_release(&bytes);
            return s_error(c, from, "not_found", "no program %s", m.program_hash);
        }
        lx_msg_t p = {.type = LX_MSG_PROGRAM};
        LX_MSG_SET(&p, program_hash, m.program_hash);
        LX_MSG_SET(&p, program, ((lx_bytes_t){(const uint8_t *)bytes.buf, bytes.len}));
        s_send_worker(c, w, &p);
        lx_strbuf_release(&bytes);
        return;
    }
    case LX_MSG_FRAME:
        return s_on_frame(c, w, &m);
    case LX_MSG_CHUNK_DONE:
    case LX_MSG_CHUNK_FAIL:
        return s_on_chunk_end(c, w, &m);
    case LX_MSG_GOODBYE:
        return s_worker_gone(c, w, "left");
    default:
        return; /* HEARTBEAT: being here was the point */
    }
}

/* Reads one message (identity, optional empty delimiter, payload); false
 * when none is waiting. */
static bool s_recv(coord_t *c)
{
    zmq_msg_t parts[3];
    int n = 0;
    bool more = true, excess = false;
    while (more) {
        zmq_msg_t part;
        zmq_msg_init(&part);
        if (zmq_msg_recv(&part, c->sock, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&part);
            break;
        }
        more = zmq_msg_more(&part);
        if (n < 3)
            parts[n++] = part;
        else {
            excess = true;
            zmq_msg_close(&part);
        }
    }
    if (n == 0)
        return false;
    peer_t from = {zmq_msg_data(&parts[0]), zmq_msg_size(&parts[0]), n == 3};
    if (n < 2 || excess || (n == 3 && zmq_msg_size(&parts[1]) != 0)) {
        c->bad_messages++;
        s_log(c, LX_LOG_WARN, "event=bad_envelope parts=%d count=%" PRIu64, n, c->bad_messages);
    } else {
        zmq_msg_t *payload = &parts[n - 1];
        s_handle(c, &from, zmq_msg_data(payload), zmq_msg_size(payload));
    }
    for (int i = 0; i < n; i++)
        zmq_msg_close(&parts[i]);
    return true;
}

static void s_timers(coord_t *c)
{
    double now = lx_monotonic_ms(), hb = c->cfg->heartbeat_ms;
    /* Stuck work: a worker that heartbeats but delivers no frame for the
     * job's progress timeout is told to stop, and the chunk is requeued
     * (a failure of that worker). */
    for (size_t i = c->n_attempts; i-- > 0;) {
        attempt_t *a = &c->attempts[i];
        worker_t *w = a->worker ? s_worker_by_serial(c, a->worker) : NULL;
        if (!w || now - a->progress <= a->job->progress_ms)
            continue;
        lx_msg_t cancel = {.type = LX_MSG_CANCEL};
        LX_MSG_SET(&cancel, job, a->job->id);
        LX_MSG_SET(&cancel, attempt, a->id);
        s_send_worker(c, w, &cancel);
        s_log(c, LX_LOG_WARN, "event=stuck job=%s attempt=%" PRIu64 " worker=%s silent_ms=%.0f",
              a->job->id, a->id, w->name, now - a->progress);
        s_requeue(c, a, "stuck", "no_progress", w);
    }
    /* Attempts nobody re-announced within the grace period are lost. */
    if (now >= c->grace_until)
        for (size_t i = c->n_attempts; i-- > 0;)
            if (c->attempts[i].worker == 0)
                s_requeue(c, &c->attempts[i], "lost", "restart", NULL);
    for (size_t i = c->n_workers; i-- > 0;) {
        worker_t *w = &c->workers[i];
        if (now - w->last_recv > hb * c->cfg->liveness) {
            s_worker_gone(c, w, "dead");
            continue;
        }
        if (now - w->last_send >= hb) {
            lx_msg_t m = {.type = LX_MSG_HEARTBEAT};
            s_send_worker(c, w, &m);
        }
    }
}

lx_result_t lx_coord_run(const lx_coord_config_t *cfg, lx_error_t *err)
{
    coord_t c = {.cfg = cfg, .t0 = lx_monotonic_ms()};
    lx_strbuf_init(&c.out, NULL);
    lx_arena_init(&c.arena, NULL);
    lx_result_t rc = journal_open(cfg->state_dir, &c.journal, err);
    c.grace_ms = cfg->grace_ms > 0 ? cfg->grace_ms : 2.0 * cfg->liveness * cfg->heartbeat_ms;
    if (rc == LX_OK)
        rc = s_recover(&c, err);
    if (rc == LX_OK) {
        c.next_attempt = journal_max_attempt(c.journal);
        c.sock = zmq_socket(cfg->zmq_ctx, ZMQ_ROUTER);
        int64_t max = (int64_t)cfg->max_message;
        int one = 1, zero = 0;
        if (!c.sock || zmq_setsockopt(c.sock, ZMQ_MAXMSGSIZE, &max, sizeof max) != 0 ||
            zmq_setsockopt(c.sock, ZMQ_ROUTER_MANDATORY, &one, sizeof one) != 0 ||
            zmq_setsockopt(c.sock, ZMQ_LINGER, &zero, sizeof zero) != 0 ||
            zmq_bind(c.sock, cfg->bind) != 0)
            rc = lx_fail(err, LX_E_IO, "cannot bind '%s': %s", cfg->bind, zmq_strerror(errno));
    }
    if (rc == LX_OK) {
        /* The resolved endpoint: with port "*" the system picked one. */
        char bound[256] = "";
        size_t blen = sizeof bound;
        zmq_getsockopt(c.sock, ZMQ_LAST_ENDPOINT, bound, &blen);
        s_log(&c, LX_LOG_INFO, "event=started bind=%s state=\"%s\" next_attempt=%" PRIu64,
              bound, cfg->state_dir ? cfg->state_dir : ":memory:", c.next_attempt + 1);
        if (cfg->ready)
            cfg->ready(cfg->ready_user);
    }
    long tick = (long)(cfg->heartbeat_ms / 4 > 10 ? cfg->heartbeat_ms / 4 : 10);
    while (rc == LX_OK && !atomic_load(cfg->stop)) {
        zmq_pollitem_t item = {c.sock, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&item, 1, tick) < 0 && errno != EINTR) {
            rc = lx_fail(err, LX_E_IO, "poll: %s", zmq_strerror(errno));
            break;
        }
        /* Everything that arrived is read before liveness is judged: a
         * busy loop must not declare waiting workers dead. */
        while (s_recv(&c))
            ;
        s_timers(&c);
        s_dispatch(&c);
    }
    if (rc == LX_OK)
        s_log(&c, LX_LOG_INFO, "event=stopped bad_messages=%" PRIu64, c.bad_messages);
    if (c.sock)
        zmq_close(c.sock);
    for (size_t i = 0; i < c.n_jobs; i++)
        s_job_free(c.jobs[i]);
    free(c.jobs);
    free(c.workers);
    free(c.attempts);
    journal_close(&c.journal);
    lx_arena_release(&c.arena);
    lx_strbuf_release(&c.out);
    return rc;
}
