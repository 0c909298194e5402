/* lx_coord_run: the coordinator's event loop. One ROUTER socket, polled
 * with a timeout of a fraction of the heartbeat interval; each message is
 * decoded and routed to the worker sessions (sessions.h) or the client
 * requests (clients.h); then the timers run, and the shell finishes jobs
 * and hands out work (shell.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "clients.h"
#include "lattice/coordinator.h"
#include "lattice/proc.h"
#include "recover.h"
#include "sched.h"
#include "sessions.h"

static double s_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void s_handle(coord_t *c, const co_peer_t *from, const void *data, size_t len)
{
    lx_arena_release(&c->arena);
    lx_arena_init(&c->arena, NULL);
    lx_msg_t m;
    lx_error_t err = {0};
    double now = lx_monotonic_ms();
    if (lx_msg_decode(data, len, &c->arena, &m, &err) != LX_OK) {
        c->bad_messages++;
        co_log(c, LX_LOG_WARN, "event=bad_message bytes=%zu count=%" PRIu64 " error=\"%s\"", len,
               c->bad_messages, err.message);
        co_error(c, from, "bad_message", "%s", err.message);
        return;
    }
    co_link_t *l = co_link_of_peer(c, from);
    if (l)
        l->last_recv = now;
    if (m.type == LX_MSG_HELLO) {
        co_sessions_on_hello(c, from, &m, now);
    } else if (co_clients_takes(m.type)) {
        co_clients_on_message(c, from, &m, now);
    } else if (m.type == LX_MSG_ERROR) {
        co_log(c, LX_LOG_WARN, "event=peer_error code=%s message=\"%s\"", m.code, m.message);
    } else if (!co_sessions_takes(m.type)) {
        c->bad_messages++;
        co_error(c, from, "unexpected", "a coordinator does not take %s", lx_msg_type_name(m.type));
    } else if (!l || !co_state_session(&c->state, l->serial)) {
        co_error(c, from, "hello_first", "unknown session: send HELLO first");
    } else {
        co_sessions_on_message(c, l, &m, now);
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
    co_peer_t from = {zmq_msg_data(&parts[0]), zmq_msg_size(&parts[0]), n == 3, NULL,
                      CO_ROLE_ADMIN};
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

/* Timers: liveness, then the scheduler's (stuck and orphaned work), one
 * decision at a time. */
static void s_timers(coord_t *c, double now)
{
    co_sessions_tick(c, now);
    co_steps(c, co_sched_tick, now, SIZE_MAX);
}

static lx_result_t s_start(coord_t *c, lx_error_t *err)
{
    const lx_coord_config_t *cfg = c->cfg;
    lx_result_t rc = co_journal_open(cfg->state_dir, &c->journal, err);
    double grace = cfg->grace_ms > 0 ? cfg->grace_ms : 2.0 * cfg->liveness * cfg->heartbeat_ms;
    double now = lx_monotonic_ms(), wall = s_wall_ms();
    c->wall_offset = wall - now;
    if (rc == LX_OK) {
        co_tx_t log;
        co_tx_init(&log);
        co_recovered_t got;
        rc = co_recover(&c->state, c->journal, now, wall, grace, &log, &got, err);
        co_commit(c, &log); /* nothing to journal: its log lines */
    }
    if (rc != LX_OK)
        return rc;
    c->sock = zmq_socket(cfg->zmq_ctx, ZMQ_ROUTER);
    int64_t max = (int64_t)cfg->max_message;
    int one = 1, zero = 0;
    if (!c->sock || zmq_setsockopt(c->sock, ZMQ_MAXMSGSIZE, &max, sizeof max) != 0 ||
        zmq_setsockopt(c->sock, ZMQ_ROUTER_MANDATORY, &one, sizeof one) != 0 ||
        zmq_setsockopt(c->sock, ZMQ_LINGER, &zero, sizeof zero) != 0 ||
        zmq_bind(c->sock, cfg->bind) != 0)
        return lx_fail(err, LX_E_IO, "cannot bind '%s': %s", cfg->bind, zmq_strerror(errno));
    /* The resolved endpoint: with port "*" the system picked one. */
    char bound[256] = "";
    size_t blen = sizeof bound;
    zmq_getsockopt(c->sock, ZMQ_LAST_ENDPOINT, bound, &blen);
    co_log(c, LX_LOG_INFO, "event=started bind=%s state=\"%s\" next_attempt=%" PRIu64, bound,
           cfg->state_dir ? cfg->state_dir : ":memory:", c->state.last_attempt + 1);
    return LX_OK;
}

lx_result_t lx_coord_run(const lx_coord_config_t *cfg, lx_error_t *err)
{
    coord_t c = {.cfg = cfg};
    co_state_init(&c.state);
    c.state.policy = (co_policy_t){cfg->chunk, cfg->target_chunk_ms, cfg->forgive_ms};
    lx_strbuf_init(&c.out, NULL);
    lx_arena_init(&c.arena, NULL);
    lx_result_t rc = s_start(&c, err);
    if (rc == LX_OK && cfg->ready)
        cfg->ready(cfg->ready_user);
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
        double now = lx_monotonic_ms();
        s_timers(&c, now);
        co_settle(&c, now);
    }
    if (rc == LX_OK)
        co_log(&c, LX_LOG_INFO, "event=stopped bad_messages=%" PRIu64, c.bad_messages);
    if (c.sock)
        zmq_close(c.sock);
    co_state_release(&c.state);
    free(c.links);
    co_journal_close(&c.journal);
    lx_arena_release(&c.arena);
    lx_strbuf_release(&c.out);
    return rc;
}
