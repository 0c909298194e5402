/* The imperative shell (see shell.h). */
#include "shell.h"

#include <cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "apply.h"
#include "finisher.h"
#include "lattice/files.h"
#include "lattice/proc.h"
#include "lattice/progress.h"
#include "output.h"
#include "sched.h"
#include "snapshots.h"

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

bool co_send(coord_t *c, const co_peer_t *to, const lx_msg_t *m)
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

bool co_send_session(coord_t *c, uint64_t serial, const lx_msg_t *m)
{
    co_link_t *l = co_link_of_session(c, serial);
    if (!l)
        return false;
    l->last_send = lx_monotonic_ms();
    co_peer_t to = {l->ident, l->ident_len, false, NULL, 0};
    return co_send(c, &to, m);
}

void co_error(coord_t *c, const co_peer_t *to, const char *code, const char *fmt, ...)
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

co_link_t *co_link_of_session(coord_t *c, uint64_t serial)
{
    for (size_t i = 0; i < c->n_links; i++)
        if (c->links[i].serial == serial)
            return &c->links[i];
    return NULL;
}

co_link_t *co_link_of_peer(coord_t *c, const co_peer_t *from)
{
    for (size_t i = 0; i < c->n_links; i++)
        if (c->links[i].ident_len == from->ident_len &&
            memcmp(c->links[i].ident, from->ident, from->ident_len) == 0)
            return &c->links[i];
    return NULL;
}

co_link_t *co_link_add(coord_t *c, const co_peer_t *from, double now)
{
    if (from->ident_len > CO_MAX_IDENT)
        return NULL;
    if (!co_grow((void **)&c->links, &c->cap_links, c->n_links, sizeof *c->links))
        return NULL;
    co_link_t *l = &c->links[c->n_links++];
    memset(l, 0, sizeof *l);
    memcpy(l->ident, from->ident, from->ident_len);
    l->ident_len = from->ident_len;
    l->serial = ++c->last_serial;
    l->last_recv = l->last_send = now;
    return l;
}

void co_link_remove(coord_t *c, uint64_t serial)
{
    for (size_t i = 0; i < c->n_links; i++)
        if (c->links[i].serial == serial) {
            c->links[i] = c->links[--c->n_links];
            return;
        }
}

/* ---- effects ------------------------------------------------------------ */

static void s_assign(coord_t *c, const co_effect_t *e)
{
    const co_attempt_t *a = co_state_attempt(&c->state, e->attempt);
    if (!a)
        return;
    const co_job_t *j = a->job;
    int64_t range[2] = {a->first, a->last};
    lx_msg_t m = {.type = LX_MSG_ASSIGN};
    LX_MSG_SET(&m, job, j->id);
    LX_MSG_SET(&m, attempt, a->id);
    LX_MSG_SET(&m, program_hash, j->program_hash);
    LX_MSG_SET(&m, config, j->config_json);
    LX_MSG_SET(&m, config_hash, j->config_hash);
    LX_MSG_SET(&m, frames, ((lx_i64s_t){range, 2}));
    LX_MSG_SET(&m, warmup_from, a->warmup_from);
    const uint8_t *snap;
    size_t snap_len;
    if (j->snaps && a->warmup_from > 0 &&
        co_snaps_nearest(j->snaps, a->warmup_from, &snap, &snap_len) == a->warmup_from &&
        snap_len <= LX_MSG_MAX_BIN)
        LX_MSG_SET(&m, snapshot, ((lx_bytes_t){snap, snap_len}));
    LX_MSG_SET(&m, output, j->stream ? "stream" : "shared");
    if (!j->stream)
        LX_MSG_SET(&m, out, j->out);
    if (a->audit)
        LX_MSG_SET(&m, audit, true);
    co_send_session(c, e->session, &m);
}

/* The one CANCEL builder: stop working on an attempt. */
static void s_cancel(coord_t *c, const co_effect_t *e)
{
    lx_msg_t m = {.type = LX_MSG_CANCEL};
    if (e->job_id)
        LX_MSG_SET(&m, job, e->job_id);
    LX_MSG_SET(&m, attempt, e->attempt);
    co_send_session(c, e->session, &m);
}

static void s_ack(coord_t *c, const co_effect_t *e)
{
    int64_t f = e->frame;
    lx_msg_t m = {.type = LX_MSG_ACK};
    LX_MSG_SET(&m, job, e->job_id);
    LX_MSG_SET(&m, attempt, e->attempt);
    LX_MSG_SET(&m, frames, ((lx_i64s_t){&f, 1}));
    co_send_session(c, e->session, &m);
}

static void s_worker_error(coord_t *c, const co_effect_t *e)
{
    lx_msg_t m = {.type = LX_MSG_ERROR};
    LX_MSG_SET(&m, code, e->code);
    LX_MSG_SET(&m, message, e->message);
    co_send_session(c, e->session, &m);
}

/* j's export is written (rc, err): the job ends, unless it was
 * cancelled meanwhile. */
static void s_finished(coord_t *c, co_job_t *j, lx_result_t rc, const lx_error_t *err,
                       unsigned temps)
{
    if (temps)
        co_log(c, LX_LOG_INFO, "event=temps_removed job=%s files=%u", j->id, temps);
    /* Over already, or (never while it was finishing, by the guards of
     * finisher.h) a frame reopened: co_sched_finish decides again. */
    if (j->state > CO_J_RUNNING || !co_job_complete(j))
        return;
    co_tx_t tx;
    co_tx_init(&tx);
    co_sched_finished(&c->state, j, rc, err->message, &tx);
    co_commit(c, &tx);
}

/* Every frame of j is in: its export is written on a thread of its own
 * (finisher.h; here when none can start), and the job ends when it is. */
static void s_finish(coord_t *c, co_job_t *j)
{
    double now = lx_monotonic_ms();
    char stamp[32];
    time_t t = time(NULL);
    struct tm tm;
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
    unsigned temps = 0;
    lx_error_t err = {0};
    co_roots_t roots = co_roots_of(c);
    char *audit = NULL;
    lx_result_t rc = co_output_audit_json(&c->state, j, &audit, &err);
    if (rc == LX_OK) {
        j->finisher = co_finisher_start(&roots, j, stamp, now - j->created, audit);
        if (j->finisher) {
            co_log(c, LX_LOG_DEBUG, "event=job_finishing job=%s", j->id);
            cJSON_free(audit);
            return;
        }
        rc = co_output_finish(&roots, j, audit, stamp, now - j->created, NULL, &temps, &err);
    }
    cJSON_free(audit);
    s_finished(c, j, rc, &err, temps);
}

/* The jobs whose export has been written end. With stop (the coordinator
 * stopping), every finisher is asked to stop and joined: one that had
 * written its export ends its job, journaled; one stopped leaves it
 * complete, to be written again at the next start. */
static void s_finishers(coord_t *c, bool stop)
{
    for (size_t i = 0; i < c->state.n_jobs; i++) {
        co_job_t *j = c->state.jobs[i];
        if (j->finisher && stop)
            co_finisher_stop(j->finisher);
        if (!j->finisher || (!stop && !co_finisher_done(j->finisher)))
            continue;
        unsigned temps = 0;
        lx_error_t err = {0};
        lx_result_t rc = co_finisher_join(&j->finisher, &temps, &err);
        if (rc == LX_E_CANCELLED)
            co_log(c, LX_LOG_INFO, "event=finish_stopped job=%s (written again at the next start)",
                   j->id);
        else
            s_finished(c, j, rc, &err, temps);
    }
}

static void s_effect(coord_t *c, const co_effect_t *e)
{
    switch (e->kind) {
    case CO_FX_ASSIGN:
        s_assign(c, e);
        break;
    case CO_FX_CANCEL:
        s_cancel(c, e);
        break;
    case CO_FX_ACK:
        s_ack(c, e);
        break;
    case CO_FX_ERROR:
        s_worker_error(c, e);
        break;
    case CO_FX_FINISH:
        s_finish(c, e->job);
        break;
    }
}

static void s_effects(coord_t *c, const co_tx_t *tx)
{
    for (size_t i = 0; i < tx->n_effects; i++)
        s_effect(c, &tx->effects[i]);
}

static void s_print_log(coord_t *c, const lx_strbuf_t *log)
{
    const char *p = log->buf;
    while (*p) {
        const char *nl = strchr(p, '\n');
        int len = (int)(nl ? nl - p : (ptrdiff_t)strlen(p));
        co_log(c, (lx_log_level_t)(p[0] - '0'), "%.*s", len - 1, p + 1);
        p += len + (nl ? 1 : 0);
    }
}

/* A frame opened again (its result withdrawn after an audit, or damaged
 * on disk) is no longer done in its export's progress journal either: a
 * line without files overrides the frame's earlier ones. */
static void s_journal_reopened(coord_t *c, const co_tx_t *tx)
{
    for (size_t i = 0; i < tx->n_changes; i++) {
        const co_change_t *ch = &tx->changes[i];
        if (ch->kind != CO_CH_FRAME_REOPEN || !ch->job)
            continue;
        char line[64];
        int n =
            snprintf(line, sizeof line, "{\"frame\":%" PRId64 ",\"withdrawn\":true}\n", ch->frame);
        co_progress_line(c, ch->job, line, (size_t)n);
    }
}

static void s_append_line(coord_t *c, co_job_t *j, const char *line, size_t len)
{
    lx_error_t err = {0};
    co_roots_t roots = co_roots_of(c);
    if (co_output_journal(&roots, j, line, len, false, &err) != LX_OK)
        co_log(c, LX_LOG_WARN, "event=progress_journal_failed job=%s error=\"%s\"", j->id,
               err.message);
}

void co_progress_line(coord_t *c, co_job_t *j, const char *line, size_t len)
{
    co_batch_t *b = &c->batch;
    if (b->n_tx == 0) {
        s_append_line(c, j, line, len);
        return;
    }
    co_lines_t *l = NULL;
    for (size_t k = 0; k < b->n_lines && !l; k++)
        if (b->lines[k].job == j)
            l = &b->lines[k];
    if (!l && co_grow((void **)&b->lines, &b->cap_lines, b->n_lines, sizeof *b->lines)) {
        l = &b->lines[b->n_lines++];
        l->job = j;
        lx_strbuf_init(&l->text, NULL);
    }
    if (l)
        lx_strbuf_add(&l->text, line, len);
    if (!l || l->text.failed)
        s_append_line(c, j, line, len); /* out of memory: not kept back */
}

/* Keeps e (its strings copied) until the batch is committed; false when
 * memory ran out. */
static bool s_hold_effect(co_batch_t *b, const co_effect_t *e)
{
    if (!co_grow((void **)&b->effects, &b->cap_effects, b->n_effects, sizeof *b->effects))
        return false;
    co_effect_t *h = &b->effects[b->n_effects];
    *h = *e;
    h->job_id = e->job_id ? lx_arena_strdup(&b->arena, e->job_id) : NULL;
    h->code = e->code ? lx_arena_strdup(&b->arena, e->code) : NULL;
    h->message = e->message ? lx_arena_strdup(&b->arena, e->message) : NULL;
    if ((e->job_id && !h->job_id) || (e->code && !h->code) || (e->message && !h->message))
        return false;
    b->n_effects++;
    return true;
}

/* ACKs of one attempt to one session, in the order of their frames. */
static int s_ack_order(const void *pa, const void *pb)
{
    const co_effect_t *a = *(const co_effect_t *const *)pa, *b = *(const co_effect_t *const *)pb;
    if (a->session != b->session)
        return a->session < b->session ? -1 : 1;
    if (a->attempt != b->attempt)
        return a->attempt < b->attempt ? -1 : 1;
    int by_job = strcmp(a->job_id, b->job_id);
    if (by_job)
        return by_job;
    return (a->frame > b->frame) - (a->frame < b->frame);
}

/* The batch's ACKs: one message per session and attempt, listing its
 * frames (a worker forgets every frame an ACK lists). */
static void s_send_acks(coord_t *c, const co_effect_t **acks, size_t n)
{
    qsort(acks, n, sizeof *acks, s_ack_order);
    int64_t frames[CO_BATCH_MAX];
    for (size_t i = 0; i < n;) {
        size_t k = 0;
        const co_effect_t *first = acks[i];
        while (i < n && k < CO_BATCH_MAX && acks[i]->session == first->session &&
               acks[i]->attempt == first->attempt && strcmp(acks[i]->job_id, first->job_id) == 0)
            frames[k++] = acks[i++]->frame;
        lx_msg_t m = {.type = LX_MSG_ACK};
        LX_MSG_SET(&m, job, first->job_id);
        LX_MSG_SET(&m, attempt, first->attempt);
        LX_MSG_SET(&m, frames, ((lx_i64s_t){frames, (uint32_t)k}));
        co_send_session(c, first->session, &m);
    }
}

static void s_batch_clear(co_batch_t *b)
{
    for (size_t k = 0; k < b->n_lines; k++)
        lx_strbuf_release(&b->lines[k].text);
    b->n_lines = b->n_effects = b->n_tx = 0;
    lx_arena_release(&b->arena);
    lx_arena_init(&b->arena, NULL);
}

bool co_flush(coord_t *c)
{
    co_batch_t *b = &c->batch;
    if (b->n_tx == 0)
        return true;
    lx_error_t err = {0};
    double start = lx_monotonic_ms();
    if (co_journal_batch_end(c->journal, &err) != LX_OK) {
        co_log(c, LX_LOG_ERROR,
               "event=journal_error transitions=%zu error=\"%s\" (the coordinator stops: a "
               "restart rebuilds its state from the journal, and the workers send the results "
               "it did not acknowledge again)",
               b->n_tx, err.message);
        c->fatal = LX_E_IO;
        s_batch_clear(b);
        return false;
    }
    co_metrics_commit(&c->metrics, lx_monotonic_ms() - start);
    /* Taken out of the batch before anything is sent: an effect (a
     * FINISH) may commit transitions of its own. */
    size_t n_effects = b->n_effects, n_lines = b->n_lines;
    co_effect_t *effects = b->effects;
    co_lines_t *lines = b->lines;
    lx_arena_t arena = b->arena;
    *b = (co_batch_t){.on = b->on};
    lx_arena_init(&b->arena, NULL);
    const co_effect_t *small[CO_BATCH_MAX], **acks = small;
    if (n_effects > CO_BATCH_MAX && !(acks = malloc(n_effects * sizeof *acks)))
        acks = small; /* out of memory: ACKs one by one */
    size_t n_acks = 0;
    for (size_t i = 0; i < n_effects; i++) {
        if (effects[i].kind == CO_FX_ACK && (acks != small || n_acks < CO_BATCH_MAX))
            acks[n_acks++] = &effects[i];
        else
            s_effect(c, &effects[i]);
    }
    s_send_acks(c, acks, n_acks);
    if (acks != small)
        free(acks);
    for (size_t k = 0; k < n_lines; k++) {
        s_append_line(c, lines[k].job, lines[k].text.buf, lines[k].text.len);
        lx_strbuf_release(&lines[k].text);
    }
    free(effects);
    free(lines);
    lx_arena_release(&arena);
    return true;
}

void co_batch_start(coord_t *c) { c->batch.on = true; }

void co_batch_stop(coord_t *c)
{
    co_flush(c);
    c->batch.on = false;
}

void co_batch_release(coord_t *c)
{
    s_batch_clear(&c->batch);
    free(c->batch.effects);
    free(c->batch.lines);
    lx_arena_release(&c->batch.arena);
    memset(&c->batch, 0, sizeof c->batch);
}

bool co_commit_batched(coord_t *c, co_tx_t *tx)
{
    co_batch_t *b = &c->batch;
    if (!b->on || c->fatal)
        return co_commit(c, tx);
    if (b->n_tx == 0) {
        co_journal_batch_begin(c->journal);
        b->begun = lx_monotonic_ms();
    }
    lx_error_t err = {0};
    bool ok = !tx->failed;
    if (!ok)
        co_log(c, LX_LOG_ERROR, "event=transition_failed error=\"out of memory\"");
    if (ok && co_journal_write(c->journal, tx, c->wall_offset, &err) != LX_OK) {
        co_log(c, LX_LOG_ERROR, "event=journal_error error=\"%s\"", err.message);
        ok = false;
    }
    if (ok) {
        b->n_tx++;
        if (!co_apply(&c->state, tx, &err))
            co_log(c, LX_LOG_ERROR, "event=apply_failed error=\"%s\"", err.message);
        s_print_log(c, &tx->log);
        for (size_t i = 0; i < tx->n_effects; i++)
            if (!s_hold_effect(b, &tx->effects[i])) {
                /* Nothing may be sent before the commit: the batch goes
                 * now, then the rest of this transition's effects. */
                co_flush(c);
                for (; i < tx->n_effects; i++)
                    s_effect(c, &tx->effects[i]);
                break;
            }
        s_journal_reopened(c, tx);
    } else if (b->n_tx == 0) {
        co_journal_batch_end(c->journal, &err); /* nothing joined: nothing to commit */
    }
    co_tx_release(tx);
    if (b->n_tx >= CO_BATCH_MAX || (b->n_tx && lx_monotonic_ms() - b->begun >= CO_BATCH_MS))
        co_flush(c);
    return ok;
}

bool co_commit(coord_t *c, co_tx_t *tx)
{
    /* What this transition sends must not pass a batch that is not
     * durable yet. */
    if (tx->n_changes || tx->n_effects || tx->failed)
        co_flush(c);
    lx_error_t err = {0};
    bool ok = !tx->failed;
    if (!ok)
        co_log(c, LX_LOG_ERROR, "event=transition_failed error=\"out of memory\"");
    double start = lx_monotonic_ms();
    if (ok && co_journal_write(c->journal, tx, c->wall_offset, &err) != LX_OK) {
        co_log(c, LX_LOG_ERROR, "event=journal_error error=\"%s\"", err.message);
        ok = false;
    }
    if (ok)
        co_metrics_commit(&c->metrics, lx_monotonic_ms() - start);
    if (ok) {
        if (!co_apply(&c->state, tx, &err))
            co_log(c, LX_LOG_ERROR, "event=apply_failed error=\"%s\"", err.message);
        s_print_log(c, &tx->log);
        s_effects(c, tx);
        s_journal_reopened(c, tx);
    }
    co_tx_release(tx);
    return ok;
}

void co_steps(coord_t *c, co_step_fn step, double now, size_t max)
{
    for (size_t n = 0; n < max; n++) {
        co_tx_t tx;
        co_tx_init(&tx);
        if (!step(&c->state, now, &tx)) {
            co_tx_release(&tx);
            return;
        }
        if (!co_commit_batched(c, &tx))
            return; /* the journal refused it: the next event tries again */
    }
}

/* A job's snapshot pass, started from the export's snapshot directory
 * when it can be opened (else it keeps snapshots in memory only). */
static void s_snaps_start(coord_t *c, co_job_t *j)
{
    char sub[128];
    snprintf(sub, sizeof sub, LX_PROGRESS_DIR "/snapshots/%.16s-%.16s", j->program_hash,
             j->config_hash);
    co_roots_t roots = co_roots_of(c);
    lx_error_t err = {0};
    int dir = lx_out_open(j->out, roots.v, roots.n, sub, true, &err);
    if (dir < 0)
        co_log(c, LX_LOG_WARN, "event=snapshots_unsaved job=%s error=\"%s\"", j->id, err.message);
    /* From its lowest pending frame: a resumed or rerendered job's pass
     * starts from the nearest snapshot in OUT before it. */
    j->snaps = co_snaps_start(j->program, &j->plan, j->first + j->hint, j->first + j->n - 1, dir,
                              CO_SNAP_BUDGET, &err);
    j->snaps_tried = true;
    if (j->snaps)
        co_log(c, LX_LOG_INFO, "event=snapshots_start job=%s stride=%d", j->id, CO_SNAP_STRIDE);
    else
        co_log(c, LX_LOG_WARN, "event=snapshots_failed job=%s error=\"%s\"", j->id, err.message);
}

/* Warm-up snapshots (snapshots.h): a pass for each running job whose
 * state reaches back to frame 0, the snapshots below the lowest frame a
 * chunk may still start at freed, the passes of jobs that are over
 * stopped. Audits of long-done frames may then warm up from frame 0. */
static void s_snapshots(coord_t *c)
{
    co_state_t *s = &c->state;
    for (size_t i = 0; i < s->n_jobs; i++) {
        co_job_t *j = s->jobs[i];
        /* A finishing job needs no more warm-up: its pass would only take
         * the cores its finisher encodes and evaluates on. */
        if (j->state > CO_J_RUNNING || j->finisher) {
            if (j->snaps) {
                co_snaps_stats_t st;
                co_snaps_stats(j->snaps, &st);
                co_log(c, LX_LOG_INFO,
                       "event=snapshots_stop job=%s from=%" PRId64 " evaluated=%" PRIu64
                       " kept=%" PRIu64 " written=%" PRIu64 " cpu_ms=%.1f error=\"%s\"",
                       j->id, st.started_at, st.evaluated, st.kept, st.written, st.cpu_ms,
                       st.error);
                co_snaps_stop(&j->snaps);
            }
            j->snaps_tried = false; /* a rerender runs a new pass */
        } else if (!j->snaps_tried && co_snaps_wanted(j->program)) {
            s_snaps_start(c, j);
        }
        j->snaps_low = j->first + j->hint;
    }
    for (size_t k = 0; k < s->n_attempts; k++) {
        co_job_t *j = s->attempts[k].job;
        if (j->snaps && s->attempts[k].first < j->snaps_low)
            j->snaps_low = s->attempts[k].first;
    }
    for (size_t i = 0; i < s->n_jobs; i++)
        if (s->jobs[i]->snaps)
            co_snaps_release(s->jobs[i]->snaps, s->jobs[i]->snaps_low);
}

void co_finish_stop(coord_t *c) { s_finishers(c, true); }

void co_settle(coord_t *c, double now)
{
    s_finishers(c, false);
    s_snapshots(c);
    /* A job is finished at most once a round, even if its end cannot be
     * journaled; work goes out until there is none to give. */
    /* Finishing commits one job at a time (its FINISH writes the
     * manifest before the next step is decided): no batch. */
    bool batching = c->batch.on;
    co_batch_stop(c);
    co_steps(c, co_sched_finish, now, c->state.n_jobs + 1);
    /* Assignments are one batch: a thousand workers waiting for a new job
     * cost one commit, and every ASSIGN leaves once its attempt is
     * durable. */
    co_batch_start(c);
    co_steps(c, co_sched_dispatch, now, SIZE_MAX);
    co_batch_stop(c);
    c->batch.on = batching;
}
