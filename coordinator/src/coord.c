/* lx_coord_run: the coordinator's event loop. One ROUTER socket and, with
 * CURVE, the ZAP handler (zap.h), polled with a timeout of a fraction of
 * the heartbeat interval; each message is authenticated (its key, and the
 * role the allow-list gives it), decoded, checked against the role its
 * type needs, and routed to the worker sessions (sessions.h) or the
 * client requests (clients.h); then the timers run, and the shell
 * finishes jobs and hands out work (shell.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "clients.h"
#include "lattice/metrics_http.h"
#include "lattice/coordinator.h"
#include "lattice/files.h"
#include "lattice/proc.h"
#include "recover.h"
#include "sched.h"
#include "sessions.h"
#include "zap.h"

/* Who may do what. zap is NULL when the socket is not CURVE (inproc://,
 * ipc:// and --insecure tcp): every peer is then an admin. */
typedef struct auth {
    co_zap_t *zap;
} auth_t;

static double s_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* The role a message type needs (co_role_t bits); 0: none (an ERROR, or
 * a type the coordinator never takes, answered `unexpected`). */
static unsigned s_role_needed(lx_msg_type_t type)
{
    switch (type) {
    case LX_MSG_HELLO:
    case LX_MSG_READY:
    case LX_MSG_PROGRAM_GET:
    case LX_MSG_FRAME:
    case LX_MSG_CHUNK_DONE:
    case LX_MSG_CHUNK_FAIL:
    case LX_MSG_GOODBYE:
    case LX_MSG_HEARTBEAT:
        return CO_ROLE_WORKER;
    case LX_MSG_SUBMIT:
    case LX_MSG_STATUS:
    case LX_MSG_WATCH:
    case LX_MSG_CANCEL_JOB:
    case LX_MSG_RERENDER:
        return CO_ROLE_CLIENT;
    case LX_MSG_WORKERS:
        return CO_ROLE_ALL_JOBS;
    default:
        return 0;
    }
}

static const char *s_role_name(unsigned role)
{
    return role == CO_ROLE_ADMIN    ? "admin"
           : role == CO_ROLE_WORKER ? "worker"
           : role == CO_ROLE_CLIENT ? "client"
                                    : "none";
}

/* Whether from may send a message of this type; if not, it is answered
 * ERROR{forbidden}, counted and logged. */
static bool s_permitted(coord_t *c, const co_peer_t *from, lx_msg_type_t type)
{
    unsigned need = s_role_needed(type);
    if ((from->role & need) == need)
        return true;
    uint64_t forbidden = ++c->metrics.rejected[CO_REJ_FORBIDDEN];
    const char *needs = need == CO_ROLE_WORKER   ? "a worker key"
                        : need == CO_ROLE_CLIENT ? "a client or admin key"
                                                 : "an admin key";
    co_log(c, LX_LOG_WARN, "event=forbidden type=%s key=%.8s... role=%s count=%" PRIu64,
           lx_msg_type_name(type), from->key ? from->key : "(none)", s_role_name(from->role),
           forbidden);
    co_error(c, from, "forbidden", "forbidden: %s needs %s; this key is a %s key in the allow-list",
             lx_msg_type_name(type), needs, s_role_name(from->role));
    return false;
}

static void s_handle(coord_t *c, const co_peer_t *from, const void *data, size_t len)
{
    lx_arena_release(&c->arena);
    lx_arena_init(&c->arena, NULL);
    lx_msg_t m;
    lx_error_t err = {0};
    double now = lx_monotonic_ms();
    if (c->fatal)
        return; /* the journal failed: nothing more is decided */
    if (lx_msg_decode(data, len, &c->arena, &m, &err) != LX_OK) {
        co_log(c, LX_LOG_WARN, "event=bad_message bytes=%zu count=%" PRIu64 " error=\"%s\"", len,
               ++c->metrics.rejected[CO_REJ_BAD_MESSAGE], err.message);
        co_error(c, from, "bad_message", "%s", err.message);
        return;
    }
    if (!s_permitted(c, from, m.type))
        return;
    /* Only FRAMEs join a batch: anything else may answer or act on what
     * the batch decided, so it is committed (and its ACKs sent) first. */
    if (m.type != LX_MSG_FRAME)
        co_flush(c);
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
        c->metrics.rejected[CO_REJ_UNEXPECTED]++;
        co_error(c, from, "unexpected", "a coordinator does not take %s", lx_msg_type_name(m.type));
    } else if (!l || !co_state_session(&c->state, l->serial)) {
        c->metrics.rejected[CO_REJ_HELLO_FIRST]++;
        co_error(c, from, "hello_first", "unknown session: send HELLO first");
    } else {
        co_sessions_on_message(c, l, &m, now);
    }
}

/* Reads one message (identity, optional empty delimiter, payload); false
 * when none is waiting. With CURVE, the peer is the key its handshake
 * proved (libzmq attaches the user-id the ZAP handler gave it to every
 * message) and the role the allow-list gives that key now: a key removed
 * from the list since the handshake has its messages dropped. */
static bool s_recv(coord_t *c, auth_t *a)
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
        co_log(c, LX_LOG_WARN, "event=bad_envelope parts=%d count=%" PRIu64, n,
               ++c->metrics.rejected[CO_REJ_BAD_ENVELOPE]);
    } else {
        zmq_msg_t *payload = &parts[n - 1];
        if (a->zap) {
            from.key = zmq_msg_gets(payload, "User-Id");
            if (!from.key || !co_zap_role(a->zap, c, from.key, lx_monotonic_ms(), &from.role))
                from.key = NULL;
        }
        if (!a->zap || from.key)
            s_handle(c, &from, zmq_msg_data(payload), zmq_msg_size(payload));
    }
    for (int i = 0; i < n; i++)
        zmq_msg_close(&parts[i]);
    return true;
}

/* Timers: liveness, then the scheduler's (stuck and orphaned work), one
 * decision at a time. */
static void s_timers(coord_t *c, auth_t *a, double now)
{
    if (a->zap)
        co_zap_reload(a->zap, c, now);
    co_sessions_tick(c, now);
    co_steps(c, co_sched_tick, now, SIZE_MAX);
}

/* The security options, checked before anything is opened. */
static lx_result_t s_check_security(const lx_coord_config_t *cfg, lx_error_t *err)
{
    bool keys = cfg->curve.public_key[0] != '\0';
    if (keys != (cfg->allow_file != NULL))
        return lx_fail(err, LX_E_INVALID,
                       "%s: CURVE needs both the coordinator's key pair (--secret-key FILE) and "
                       "the keys it admits (--allow FILE)",
                       keys ? "--allow is missing" : "--secret-key is missing");
    if (keys && cfg->insecure)
        return lx_fail(err, LX_E_INVALID, "--insecure and --secret-key exclude each other");
    if (keys && !lx_curve_available())
        return lx_fail(err, LX_E_INVALID, "this libzmq has no CURVE (built without libsodium)");
    if (!keys && !cfg->insecure && lx_curve_endpoint_needs_keys(cfg->bind))
        return lx_fail(err, LX_E_INVALID,
                       "'%s' needs CURVE authentication: give --secret-key FILE and --allow FILE "
                       "(lattice keygen makes them; docs/security.md), or --insecure to accept "
                       "anyone who can reach the port",
                       cfg->bind);
    return LX_OK;
}

static lx_result_t s_start(coord_t *c, auth_t *a, lx_error_t *err)
{
    const lx_coord_config_t *cfg = c->cfg;
    lx_result_t rc = s_check_security(cfg, err);
    if (rc != LX_OK)
        return rc;
    /* Output roots: existing directories, written as lx_out_check wants. */
    for (size_t k = 0; k < cfg->n_allow_output; k++) {
        char root[LX_PATH_MAX];
        if ((rc = lx_out_root_resolve(cfg->allow_output[k], root, err)) != LX_OK)
            return rc;
    }
    if (cfg->n_allow_output == 0 && strncmp(cfg->bind, "inproc://", 9) != 0)
        co_log(c, LX_LOG_WARN,
               "event=output_unrestricted jobs may write into any absolute directory this user "
               "can write (give --allow-output ROOT)");
    rc = co_journal_open(cfg->state_dir, &c->journal, err);
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
    /* The ZAP handler first: a CURVE handshake that finds none is let in. */
    if (cfg->curve.public_key[0]) {
        if (!(a->zap = co_zap_new(cfg->zmq_ctx, cfg->allow_file, err)))
            return err->code;
        co_zap_describe(a->zap, c);
    }
    c->sock = zmq_socket(cfg->zmq_ctx, ZMQ_ROUTER);
    if (!c->sock)
        return lx_fail(err, LX_E_IO, "cannot make a socket: %s", zmq_strerror(errno));
    if (a->zap && (rc = lx_curve_set_server(c->sock, &cfg->curve, err)) != LX_OK)
        return rc;
    /* A connection that has not finished its handshake in time is dropped:
     * idle, unauthenticated connections do not pile up. */
    if ((rc = lx_curve_set_handshake(c->sock, LX_CURVE_HANDSHAKE_MS, err)) != LX_OK)
        return rc;
    int64_t max = (int64_t)cfg->max_message;
    /* A burst of connections (workers reconnecting after a restart, or a
     * flood) waits in the kernel's queue instead of being refused. */
    int one = 1, zero = 0, backlog = 1024;
    if (zmq_setsockopt(c->sock, ZMQ_MAXMSGSIZE, &max, sizeof max) != 0 ||
        zmq_setsockopt(c->sock, ZMQ_BACKLOG, &backlog, sizeof backlog) != 0 ||
        zmq_setsockopt(c->sock, ZMQ_ROUTER_MANDATORY, &one, sizeof one) != 0 ||
        zmq_setsockopt(c->sock, ZMQ_LINGER, &zero, sizeof zero) != 0 ||
        zmq_bind(c->sock, cfg->bind) != 0)
        return lx_fail(err, LX_E_IO, "cannot bind '%s': %s", cfg->bind, zmq_strerror(errno));
    /* The resolved endpoint: with port "*" the system picked one. */
    char bound[256] = "";
    size_t blen = sizeof bound;
    zmq_getsockopt(c->sock, ZMQ_LAST_ENDPOINT, bound, &blen);
    if (cfg->insecure && lx_curve_endpoint_needs_keys(cfg->bind))
        co_log(c, LX_LOG_WARN,
               "event=insecure bind=%s warning=\"--insecure: no authentication or encryption; "
               "anyone who can reach this port can submit, read and cancel jobs, list the "
               "workers, join as a worker and read the frames\"",
               bound);
    co_log(c, LX_LOG_INFO,
           "event=started bind=%s state=\"%s\" next_attempt=%" PRIu64 " auth=%s handshake_ms=%d",
           bound, cfg->state_dir ? cfg->state_dir : ":memory:", c->state.last_attempt + 1,
           a->zap ? "curve" : "none", LX_CURVE_HANDSHAKE_MS);
    return LX_OK;
}

static void s_render_metrics(void *user, lx_strbuf_t *out)
{
    const coord_t *c = user;
    co_metrics_render(&c->metrics, &c->state, out);
}

lx_result_t lx_coord_run(const lx_coord_config_t *cfg, lx_error_t *err)
{
    coord_t c = {.cfg = cfg};
    auth_t auth = {0};
    co_state_init(&c.state);
    c.state.policy = (co_policy_t){cfg->chunk, cfg->target_chunk_ms, cfg->forgive_ms};
    lx_strbuf_init(&c.out, NULL);
    lx_arena_init(&c.arena, NULL);
    lx_arena_init(&c.batch.arena, NULL);
    lx_result_t rc = s_start(&c, &auth, err);
    lx_metrics_http_t *http = NULL;
    if (rc == LX_OK && cfg->metrics) {
        if ((http = lx_metrics_http_new(cfg->metrics, s_render_metrics, &c, err)))
            co_log(&c, LX_LOG_INFO, "event=metrics addr=%.*s:%u path=/metrics",
                   (int)(strrchr(cfg->metrics, ':') - cfg->metrics), cfg->metrics,
                   (unsigned)lx_metrics_http_port(http));
        else
            rc = err->code;
    }
    if (rc == LX_OK && cfg->ready)
        cfg->ready(cfg->ready_user);
    long tick = (long)(cfg->heartbeat_ms / 4 > 10 ? cfg->heartbeat_ms / 4 : 10);
    while (rc == LX_OK && !atomic_load(cfg->stop)) {
        zmq_pollitem_t items[4] = {{c.sock, 0, ZMQ_POLLIN, 0}};
        int n_items = 1;
        if (cfg->wake_fd > 0)
            items[n_items++] = (zmq_pollitem_t){NULL, cfg->wake_fd, ZMQ_POLLIN, 0};
        if (auth.zap)
            items[n_items++] = (zmq_pollitem_t){co_zap_socket(auth.zap), 0, ZMQ_POLLIN, 0};
        if (http)
            items[n_items++] = (zmq_pollitem_t){NULL, lx_metrics_http_fd(http), ZMQ_POLLIN, 0};
        if (zmq_poll(items, n_items, tick) < 0 && errno != EINTR) {
            rc = lx_fail(err, LX_E_IO, "poll: %s", zmq_strerror(errno));
            break;
        }
        /* Handshakes waiting for a verdict are answered first: they cost
         * the peers time, messages of admitted peers do not go away. */
        if (auth.zap)
            co_zap_serve(auth.zap, &c, lx_monotonic_ms());
        /* Everything that arrived is read before liveness is judged: a
         * busy loop must not declare waiting workers dead. */
        co_batch_start(&c);
        while (!c.fatal && s_recv(&c, &auth))
            ;
        co_batch_stop(&c);
        if (c.fatal) {
            rc = lx_fail(err, c.fatal, "the journal could not commit a batch of results (see "
                                       "the log); restart the coordinator: it recovers from the "
                                       "journal");
            break;
        }
        double now = lx_monotonic_ms();
        s_timers(&c, &auth, now);
        co_settle(&c, now);
        /* Scrapes are answered once the loop's work is done (and timed-out
         * connections dropped on every tick). */
        if (http)
            lx_metrics_http_run(http);
    }
    /* Exports being written stop soon (a long video must not outlast a
     * supervisor's grace period); those already written end, journaled. */
    co_finish_stop(&c);
    if (rc == LX_OK)
        co_log(&c, LX_LOG_INFO, "event=stopped bad_messages=%" PRIu64 " forbidden=%" PRIu64,
               c.metrics.rejected[CO_REJ_BAD_MESSAGE] + c.metrics.rejected[CO_REJ_BAD_ENVELOPE] +
                   c.metrics.rejected[CO_REJ_UNEXPECTED],
               c.metrics.rejected[CO_REJ_FORBIDDEN]);
    lx_metrics_http_destroy(&http);
    if (c.sock)
        zmq_close(c.sock);
    co_zap_destroy(&auth.zap);
    co_batch_release(&c);
    co_state_release(&c.state);
    free(c.links);
    co_journal_close(&c.journal);
    lx_arena_release(&c.arena);
    lx_strbuf_release(&c.out);
    return rc;
}
