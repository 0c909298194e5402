/* The coordinator's event loop: envelopes, worker sessions, heartbeats,
 * message dispatch. Single-threaded: one ROUTER socket, polled with a
 * timeout of a fraction of the heartbeat interval. Every transition is
 * journaled (journal.h) before the message that depends on it is sent. */
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

const char *const co_job_states[5] = {"queued", "running", "done", "failed", "cancelled"};

void co_log(coord_t *c, lx_log_level_t level, const char *fmt, ...)
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
bool co_grow(void **items, size_t *cap, size_t n, size_t elem)
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

bool co_send(coord_t *c, const peer_t *to, const lx_msg_t *m)
{
    c->out.len = 0;
    lx_error_t err = {0};
    if (lx_msg_encode(m, &c->out, &err) != LX_OK) {
        co_log(c, LX_LOG_ERROR, "event=encode_failed type=%s error=\"%s\"",
               lx_msg_type_name(m->type), err.message);
        return false;
    }
    bool ok = zmq_send(c->sock, to->ident, to->ident_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) >= 0 &&
              (!to->delimiter || zmq_send(c->sock, "", 0, ZMQ_SNDMORE | ZMQ_DONTWAIT) >= 0) &&
              zmq_send(c->sock, c->out.buf, c->out.len, ZMQ_DONTWAIT) >= 0;
    if (!ok)
        co_log(c, LX_LOG_DEBUG, "event=send_failed type=%s error=\"%s\"", lx_msg_type_name(m->type),
               zmq_strerror(errno));
    return ok;
}

bool co_send_worker(coord_t *c, worker_t *w, const lx_msg_t *m)
{
    peer_t to = {w->ident, w->ident_len, false};
    w->last_send = lx_monotonic_ms();
    return co_send(c, &to, m);
}

void co_error(coord_t *c, const peer_t *to, const char *code, const char *fmt, ...)
{
    char text[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    lx_msg_t m = {.type = LX_MSG_ERROR};
    LX_MSG_SET(&m, code, code);
    LX_MSG_SET(&m, message, text);
    co_send(c, to, &m);
}

static worker_t *s_worker_by_ident(coord_t *c, const peer_t *from)
{
    for (size_t i = 0; i < c->n_workers; i++)
        if (c->workers[i].ident_len == from->ident_len &&
            memcmp(c->workers[i].ident, from->ident, from->ident_len) == 0)
            return &c->workers[i];
    return NULL;
}

worker_t *co_worker_by_serial(coord_t *c, uint64_t serial)
{
    for (size_t i = 0; i < c->n_workers; i++)
        if (c->workers[i].serial == serial)
            return &c->workers[i];
    return NULL;
}

job_t *co_job(coord_t *c, const char *id)
{
    for (size_t i = 0; i < c->n_jobs; i++)
        if (strcmp(c->jobs[i]->id, id) == 0)
            return c->jobs[i];
    return NULL;
}

attempt_t *co_attempt(coord_t *c, uint64_t id)
{
    for (size_t i = 0; i < c->n_attempts; i++)
        if (c->attempts[i].id == id)
            return &c->attempts[i];
    return NULL;
}

void co_journal_fail(coord_t *c, const lx_error_t *err)
{
    co_log(c, LX_LOG_ERROR, "event=journal_error error=\"%s\"", err->message);
}

void co_transaction_end(coord_t *c, bool ok, lx_error_t *err)
{
    if (ok && journal_commit(c->journal, err) == LX_OK)
        return;
    journal_rollback(c->journal);
    co_journal_fail(c, err);
}

static void s_worker_gone(coord_t *c, worker_t *w, const char *why)
{
    co_log(c, LX_LOG_INFO, "event=worker_%s worker=%s session=%" PRIu64 " frames=%" PRIu64, why,
           w->name, w->serial, w->frames);
    for (size_t i = c->n_attempts; i-- > 0;)
        if (c->attempts[i].worker == w->serial)
            co_requeue(c, &c->attempts[i], "lost", why, NULL);
    lx_error_t err = {0};
    if (w->helloed &&
        journal_exec(c->journal, &err, "UPDATE workers SET state = ?, last_seen = ? WHERE name = ?",
                     "sds", why, lx_monotonic_ms() - c->t0, w->name) != LX_OK)
        co_journal_fail(c, &err);
    *w = c->workers[--c->n_workers];
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
        if (!co_grow((void **)&c->workers, &c->cap_workers, c->n_workers, sizeof *c->workers) ||
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
        co_journal_fail(c, &err);
    co_log(c, LX_LOG_INFO,
           "event=worker_joined worker=%s session=%" PRIu64 " threads=%u"
           " build=\"%s\" resumed=%u",
           w->name, w->serial, w->threads, w->build, LX_MSG_HAS(m, resumed) ? m->resumed.n : 0);
    /* In-flight attempts it still holds: adopt those nobody else has, and
     * cancel the rest so that it does not work for nothing. */
    for (uint32_t k = 0; LX_MSG_HAS(m, resumed) && k < m->resumed.n; k++) {
        attempt_t *a = co_attempt(c, m->resumed.v[k]);
        worker_t *owner = a ? co_worker_by_serial(c, a->worker) : NULL;
        if (a && (!owner || owner == w)) {
            a->worker = w->serial;
            continue;
        }
        lx_msg_t cancel = {.type = LX_MSG_CANCEL};
        LX_MSG_SET(&cancel, attempt, m->resumed.v[k]);
        co_send_worker(c, w, &cancel);
    }
}

static void s_reply_workers(coord_t *c, const peer_t *to)
{
    lx_worker_rec_t *recs = calloc(c->n_workers ? c->n_workers : 1, sizeof *recs);
    lx_strbuf_t *blocked = calloc(c->n_workers ? c->n_workers : 1, sizeof *blocked);
    if (!recs || !blocked) {
        free(recs);
        free(blocked);
        return co_error(c, to, "internal", "out of memory");
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
            if (c->jobs[k]->state <= J_RUNNING && co_blocked(c->jobs[k], w->name, now))
                lx_strbuf_addf(b, "%s%s", b->len ? "," : "", c->jobs[k]->id);
        if (b->len)
            SET(blocked, b->buf);
        SET(state, co_quarantined(c, w->name) ? "quarantined"
                   : w->draining              ? "draining"
                   : a                        ? "busy"
                   : b->len                   ? "blocked"
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
    co_send(c, to, &m);
    for (uint32_t i = 0; i < n; i++)
        lx_strbuf_release(&blocked[i]);
    free(blocked);
    free(recs);
}

static void s_handle(coord_t *c, const peer_t *from, const void *data, size_t len)
{
    lx_arena_release(&c->arena);
    lx_arena_init(&c->arena, NULL);
    lx_msg_t m;
    lx_error_t err = {0};
    if (lx_msg_decode(data, len, &c->arena, &m, &err) != LX_OK) {
        c->bad_messages++;
        co_log(c, LX_LOG_WARN, "event=bad_message bytes=%zu count=%" PRIu64 " error=\"%s\"", len,
               c->bad_messages, err.message);
        return co_error(c, from, "bad_message", "%s", err.message);
    }
    worker_t *w = s_worker_by_ident(c, from);
    if (w)
        w->last_recv = lx_monotonic_ms();
    switch (m.type) {
    case LX_MSG_HELLO:
        return s_on_hello(c, from, &m);
    case LX_MSG_SUBMIT:
        return co_on_submit(c, from, &m);
    case LX_MSG_STATUS:
    case LX_MSG_WATCH: {
        job_t *j = LX_MSG_HAS(&m, job) ? co_job(c, m.job) : NULL;
        if (LX_MSG_HAS(&m, job) && !j)
            return co_error(c, from, "unknown_job", "no job '%s'", m.job);
        return co_reply_jobs(c, from, j);
    }
    case LX_MSG_CANCEL_JOB: {
        job_t *j = co_job(c, m.job);
        return j ? co_on_cancel_job(c, from, j)
                 : co_error(c, from, "unknown_job", "no job '%s'", m.job);
    }
    case LX_MSG_WORKERS:
        return s_reply_workers(c, from);
    case LX_MSG_RERENDER: {
        job_t *j = co_job(c, m.job);
        return j ? co_on_rerender(c, from, j, &m)
                 : co_error(c, from, "unknown_job", "no job '%s'", m.job);
    }
    case LX_MSG_ERROR:
        co_log(c, LX_LOG_WARN, "event=peer_error worker=%s code=%s message=\"%s\"",
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
        return co_error(c, from, "unexpected", "a coordinator does not take %s",
                        lx_msg_type_name(m.type));
    }
    if (!w || !w->helloed)
        return co_error(c, from, "hello_first", "unknown session: send HELLO first");
    switch (m.type) {
    case LX_MSG_READY:
        w->ready = (uint32_t)m.credit;
        return;
    case LX_MSG_PROGRAM_GET: {
        lx_strbuf_t bytes;
        lx_strbuf_init(&bytes, NULL);
        if (journal_program(c->journal, m.program_hash, &bytes) != LX_OK) {
            lx_strbuf_release(&bytes);
            return co_error(c, from, "not_found", "no program %s", m.program_hash);
        }
        lx_msg_t p = {.type = LX_MSG_PROGRAM};
        LX_MSG_SET(&p, program_hash, m.program_hash);
        LX_MSG_SET(&p, program, ((lx_bytes_t){(const uint8_t *)bytes.buf, bytes.len}));
        co_send_worker(c, w, &p);
        lx_strbuf_release(&bytes);
        return;
    }
    case LX_MSG_FRAME:
        return co_on_frame(c, w, &m);
    case LX_MSG_CHUNK_DONE:
    case LX_MSG_CHUNK_FAIL:
        return co_on_chunk_end(c, w, &m);
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
        co_log(c, LX_LOG_WARN, "event=bad_envelope parts=%d count=%" PRIu64, n, c->bad_messages);
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
        worker_t *w = a->worker ? co_worker_by_serial(c, a->worker) : NULL;
        if (!w || now - a->progress <= a->job->progress_ms)
            continue;
        lx_msg_t cancel = {.type = LX_MSG_CANCEL};
        LX_MSG_SET(&cancel, job, a->job->id);
        LX_MSG_SET(&cancel, attempt, a->id);
        co_send_worker(c, w, &cancel);
        co_log(c, LX_LOG_WARN, "event=stuck job=%s attempt=%" PRIu64 " worker=%s silent_ms=%.0f",
               a->job->id, a->id, w->name, now - a->progress);
        co_requeue(c, a, "stuck", "no_progress", w);
    }
    /* Attempts nobody re-announced within the grace period are lost. */
    if (now >= c->grace_until)
        for (size_t i = c->n_attempts; i-- > 0;)
            if (c->attempts[i].worker == 0)
                co_requeue(c, &c->attempts[i], "lost", "restart", NULL);
    for (size_t i = c->n_workers; i-- > 0;) {
        worker_t *w = &c->workers[i];
        if (now - w->last_recv > hb * c->cfg->liveness) {
            s_worker_gone(c, w, "dead");
            continue;
        }
        if (now - w->last_send >= hb) {
            lx_msg_t m = {.type = LX_MSG_HEARTBEAT};
            co_send_worker(c, w, &m);
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
        rc = co_recover(&c, err);
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
        co_log(&c, LX_LOG_INFO, "event=started bind=%s state=\"%s\" next_attempt=%" PRIu64, bound,
               cfg->state_dir ? cfg->state_dir : ":memory:", c.next_attempt + 1);
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
        co_dispatch(&c);
    }
    if (rc == LX_OK)
        co_log(&c, LX_LOG_INFO, "event=stopped bad_messages=%" PRIu64, c.bad_messages);
    if (c.sock)
        zmq_close(c.sock);
    for (size_t i = 0; i < c.n_jobs; i++)
        co_job_free(c.jobs[i]);
    free(c.jobs);
    free(c.workers);
    free(c.attempts);
    journal_close(&c.journal);
    lx_arena_release(&c.arena);
    lx_strbuf_release(&c.out);
    return rc;
}
