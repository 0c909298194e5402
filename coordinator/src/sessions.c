/* Worker sessions (see sessions.h). */
#include "sessions.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "output.h"
#include "sched.h"

/* Sessions whose worker reconnected on another socket are over: their
 * sockets go too. */
static void s_drop_replaced(coord_t *c)
{
    for (size_t i = c->n_links; i-- > 0;)
        if (!co_state_session(&c->state, c->links[i].serial))
            c->links[i] = c->links[--c->n_links];
}

void co_sessions_on_hello(coord_t *c, const co_peer_t *from, const lx_msg_t *m, double now)
{
    co_link_t *l = co_link_of_peer(c, from);
    if (!l && c->state.n_sessions >= c->cfg->max_sessions) {
        co_log(c, LX_LOG_WARN, "event=session_refused worker=%s sessions=%zu", m->name,
               c->state.n_sessions);
        co_error(c, from, "busy", "this coordinator serves %u worker sessions at most",
                 (unsigned)c->cfg->max_sessions);
        return;
    }
    if (!l && !(l = co_link_add(c, from, now))) {
        co_error(c, from, "internal", "cannot take another session");
        return;
    }
    uint64_t serial = l->serial;
    size_t before = c->state.n_sessions;
    co_tx_t tx;
    co_tx_init(&tx);
    co_sched_hello(&c->state, serial, from->key, m, now, &tx);
    /* A HELLO adds one session; anything else means some were replaced,
     * and only then are the links looked through (a thousand workers
     * joining must not cost a thousand squared). */
    if (co_commit(c, &tx) && c->state.n_sessions != before + 1)
        s_drop_replaced(c);
}

/* One session's end: its work goes back, its socket is forgotten. */
static void s_end(coord_t *c, uint64_t serial, const char *why, double now)
{
    co_tx_t tx;
    co_tx_init(&tx);
    co_sched_session_end(&c->state, serial, why, now, &tx);
    co_commit(c, &tx);
    co_link_remove(c, serial);
}

static void s_on_frame(coord_t *c, co_link_t *l, const lx_msg_t *m, double now)
{
    lx_strbuf_t record;
    lx_strbuf_init(&record, NULL);
    lx_error_t err = {0};
    if (co_frame_record(m, &record, &err) != LX_OK) {
        /* Not acknowledged: the worker keeps it and sends it again. */
        co_log(c, LX_LOG_ERROR, "event=record_failed error=\"%s\"", err.message);
        lx_strbuf_release(&record);
        return;
    }
    co_tx_t tx;
    co_tx_init(&tx);
    co_frame_verdict_t v =
        co_sched_frame(&c->state, l->serial, m, record.buf, record.len, now, &tx);
    co_job_t *j = co_state_job(&c->state, m->job);
    co_roots_t roots = co_roots_of(c);
    lx_file_stamp_t small[64];
    lx_file_stamp_t *stamps = m->files.n <= 64 ? small : calloc(m->files.n, sizeof *stamps);
    bool accepted = false;
    if (v == CO_FRAME_CANDIDATE && !stamps) {
        co_log(c, LX_LOG_ERROR, "event=record_failed error=\"out of memory\"");
        co_tx_release(&tx);
        lx_strbuf_release(&record);
        return; /* not acknowledged: sent again */
    }
    if (v == CO_FRAME_CANDIDATE) {
        accepted = co_output_accept(&roots, j, m, stamps, &err) == LX_OK;
        if (accepted)
            co_sched_accept(&c->state, l->serial, m, record.buf, record.len, now, &tx);
        else
            co_sched_reject(&c->state, l->serial, m, err.code, err.message, now, &tx);
    }
    bool committed = co_commit_batched(c, &tx);
    if (committed)
        c->metrics.results[v == CO_FRAME_LATE      ? CO_RES_LATE
                           : v == CO_FRAME_DECIDED ? CO_RES_OTHER
                           : accepted              ? CO_RES_ACCEPTED
                                                   : CO_RES_REJECTED]++;
    /* A superseded attempt's files are removed once its result is kept
     * as evidence (committed: the batch goes now; late results are
     * rare); an accepted one is remembered in the export's own journal,
     * so that the export can resume without this coordinator. */
    if (committed && v == CO_FRAME_LATE && co_flush(c))
        co_output_drop_attempt(&roots, j, m);
    if (committed && accepted) {
        lx_strbuf_t line;
        lx_strbuf_init(&line, NULL);
        if (co_output_frame_line(m, stamps, &line, &err) == LX_OK)
            co_progress_line(c, j, line.buf, line.len);
        else
            co_log(c, LX_LOG_WARN,
                   "event=progress_journal_failed job=%s frame=%" PRId64 " error=\"%s\"", j->id,
                   m->frame, err.message);
        lx_strbuf_release(&line);
    }
    if (stamps != small)
        free(stamps);
    lx_strbuf_release(&record);
}

static void s_on_program_get(coord_t *c, co_link_t *l, const lx_msg_t *m)
{
    lx_strbuf_t bytes;
    lx_strbuf_init(&bytes, NULL);
    lx_error_t err = {0};
    co_peer_t to = {l->ident, l->ident_len, false, NULL, 0};
    if (co_journal_program(c->journal, m->program_hash, &bytes, &err) != LX_OK)
        co_error(c, &to, "not_found", "no program %s", m->program_hash);
    else {
        lx_msg_t p = {.type = LX_MSG_PROGRAM};
        LX_MSG_SET(&p, program_hash, m->program_hash);
        LX_MSG_SET(&p, program, ((lx_bytes_t){(const uint8_t *)bytes.buf, bytes.len}));
        co_send_session(c, l->serial, &p);
    }
    lx_strbuf_release(&bytes);
}

bool co_sessions_takes(lx_msg_type_t type)
{
    return type == LX_MSG_READY || type == LX_MSG_PROGRAM_GET || type == LX_MSG_FRAME ||
           type == LX_MSG_CHUNK_DONE || type == LX_MSG_CHUNK_FAIL || type == LX_MSG_GOODBYE ||
           type == LX_MSG_HEARTBEAT;
}

void co_sessions_on_message(coord_t *c, co_link_t *l, const lx_msg_t *m, double now)
{
    co_tx_t tx;
    co_tx_init(&tx);
    switch (m->type) {
    case LX_MSG_READY:
        co_sched_ready(&c->state, l->serial, (uint32_t)m->credit, &tx);
        break;
    case LX_MSG_CHUNK_DONE:
    case LX_MSG_CHUNK_FAIL: {
        /* A worker's word that the export's disk failed is checked here. */
        char seen[600];
        const co_job_t *j = LX_MSG_HAS(m, reason) && strcmp(m->reason, "storage") == 0
                                ? co_state_job(&c->state, m->job)
                                : NULL;
        co_roots_t roots = co_roots_of(c);
        bool failing = j && co_output_storage_failing(&roots, j, seen, sizeof seen);
        co_sched_chunk_end(&c->state, l->serial, m, failing ? seen : NULL, now, &tx);
        break;
    }
    case LX_MSG_PROGRAM_GET:
        s_on_program_get(c, l, m);
        break;
    case LX_MSG_FRAME:
        s_on_frame(c, l, m, now);
        break;
    case LX_MSG_GOODBYE:
        s_end(c, l->serial, "left", now);
        break;
    default:
        break; /* HEARTBEAT: being here was the point */
    }
    co_commit(c, &tx);
}

void co_sessions_tick(coord_t *c, double now)
{
    double hb = c->cfg->heartbeat_ms;
    for (size_t i = c->n_links; i-- > 0;) {
        co_link_t *l = &c->links[i];
        if (now - l->last_recv > hb * c->cfg->liveness) {
            s_end(c, l->serial, "dead", now);
            continue;
        }
        if (now - l->last_send >= hb) {
            lx_msg_t m = {.type = LX_MSG_HEARTBEAT};
            co_send_session(c, l->serial, &m);
        }
    }
}
