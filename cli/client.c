/* Lazy Pirate requests to the coordinator (see client.h). */
#include "client.h"

#include <cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "cli.h"

const char *cli_endpoint(const char *flag)
{
    const char *env = getenv("LATTICE_COORDINATOR");
    return flag ? flag : env && *env ? env : "tcp://127.0.0.1:7700";
}

void cli_client_init(cli_client_t *c, void *ctx, const char *endpoint)
{
    memset(c, 0, sizeof *c);
    c->ctx = ctx;
    c->endpoint = endpoint;
    c->timeout_ms = 5000;
    c->watch_ms = 200;
    c->retries = 3;
    lx_arena_init(&c->arena, NULL);
}

/* Closes the socket (and its monitor), keeping the keys. */
static void s_close(cli_client_t *c)
{
    if (c->monitor)
        zmq_close(c->monitor);
    if (c->sock)
        zmq_close(c->sock);
    c->monitor = c->sock = NULL;
}

void cli_client_close(cli_client_t *c)
{
    s_close(c);
    memset(&c->curve, 0, sizeof c->curve);
    lx_arena_release(&c->arena);
}

const char *const cli_key_help =
    "  --secret-key FILE    this client's key pair (default: $LATTICE_SECRET_KEY)\n"
    "  --server-key KEY     the coordinator's public key, a .public file or its 40\n"
    "                       characters (default: $LATTICE_SERVER_KEY)\n"
    "  --insecure           talk to a tcp coordinator that runs --insecure\n"
    "                       (no authentication or encryption)\n";

bool cli_key_opt(int argc, char **argv, int *i, cli_key_opts_t *o)
{
    const char *a = argv[*i];
    bool v = *i + 1 < argc;
    if (strcmp(a, "--secret-key") == 0 && v)
        o->secret_key = argv[++*i];
    else if (strcmp(a, "--server-key") == 0 && v)
        o->server_key = argv[++*i];
    else if (strcmp(a, "--insecure") == 0)
        o->insecure = true;
    else
        return false;
    return true;
}

static const char *s_env(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

bool cli_client_keys(cli_client_t *c, const cli_key_opts_t *o, const char *cmd)
{
    const char *secret = o->secret_key, *server = o->server_key;
    if (!o->insecure) {
        secret = secret ? secret : s_env("LATTICE_SECRET_KEY");
        server = server ? server : s_env("LATTICE_SERVER_KEY");
    }
    lx_error_t err = {0};
    if (lx_curve_client_keys(c->endpoint, secret, server, o->insecure, &c->curve, c->server_key,
                             &err) != LX_OK) {
        fprintf(stderr, "lattice %s: %s\n", cmd, err.message);
        if (!secret && !server && !o->insecure)
            fprintf(stderr, "lattice %s: (the keys may also come from LATTICE_SECRET_KEY and "
                            "LATTICE_SERVER_KEY)\n",
                    cmd);
        return false;
    }
    if (o->insecure && lx_curve_endpoint_needs_keys(c->endpoint))
        fprintf(stderr, "lattice %s: warning: --insecure: '%s' is neither authenticated nor "
                        "encrypted\n",
                cmd, c->endpoint);
    return true;
}

/* With CURVE, a monitor of the socket's handshakes: a coordinator that
 * refuses this key says so at once instead of leaving the request
 * unanswered. */
static lx_result_t s_monitor(cli_client_t *c, lx_error_t *err)
{
    char addr[64];
    snprintf(addr, sizeof addr, "inproc://lattice-cli-monitor-%p", c->sock);
    int zero = 0;
    if (zmq_socket_monitor(c->sock, addr,
                           ZMQ_EVENT_HANDSHAKE_FAILED_AUTH | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL) !=
            0 ||
        !(c->monitor = zmq_socket(c->ctx, ZMQ_PAIR)) ||
        zmq_setsockopt(c->monitor, ZMQ_LINGER, &zero, sizeof zero) != 0 ||
        zmq_connect(c->monitor, addr) != 0)
        return lx_fail(err, LX_E_IO, "cannot watch the handshake: %s", zmq_strerror(errno));
    return LX_OK;
}

static lx_result_t s_open(cli_client_t *c, lx_error_t *err)
{
    if (c->sock)
        return LX_OK;
    c->sock = zmq_socket(c->ctx, ZMQ_DEALER);
    if (!c->sock)
        return lx_fail(err, LX_E_IO, "cannot make a socket: %s", zmq_strerror(errno));
    lx_result_t rc = LX_OK;
    if (c->curve.public_key[0]) {
        rc = lx_curve_set_client(c->sock, &c->curve, c->server_key, err);
        if (rc == LX_OK)
            rc = s_monitor(c, err);
    }
    if (rc == LX_OK)
        rc = lx_curve_set_handshake(c->sock, LX_CURVE_HANDSHAKE_MS, err);
    if (rc != LX_OK)
        return rc;
    int zero = 0;
    int64_t max = (int64_t)LX_MSG_MAX_BYTES;
    if (zmq_setsockopt(c->sock, ZMQ_LINGER, &zero, sizeof zero) != 0 ||
        zmq_setsockopt(c->sock, ZMQ_MAXMSGSIZE, &max, sizeof max) != 0 ||
        zmq_connect(c->sock, c->endpoint) != 0)
        return lx_fail(err, LX_E_IO, "cannot connect to '%s': %s", c->endpoint,
                       zmq_strerror(errno));
    return LX_OK;
}

/* What a handshake event says: the coordinator refused this key (ZAP
 * status 400), or it does not speak CURVE at all (--insecure). */
typedef enum { HANDSHAKE_OTHER, HANDSHAKE_REFUSED, HANDSHAKE_PLAIN } handshake_t;

static handshake_t s_handshake_event(cli_client_t *c)
{
    zmq_msg_t ev, addr;
    zmq_msg_init(&ev);
    zmq_msg_init(&addr);
    handshake_t what = HANDSHAKE_OTHER;
    if (zmq_msg_recv(&ev, c->monitor, ZMQ_DONTWAIT) >= 0 && zmq_msg_size(&ev) == 6) {
        uint16_t event;
        uint32_t value;
        memcpy(&event, zmq_msg_data(&ev), sizeof event);
        memcpy(&value, (const char *)zmq_msg_data(&ev) + 2, sizeof value);
        if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)
            what = HANDSHAKE_REFUSED;
        else if (event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL &&
                 value == ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH)
            what = HANDSHAKE_PLAIN;
    }
    while (zmq_msg_more(&ev) && zmq_msg_recv(&addr, c->monitor, ZMQ_DONTWAIT) >= 0 &&
           zmq_msg_more(&addr))
        ;
    zmq_msg_close(&ev);
    zmq_msg_close(&addr);
    return what;
}

lx_result_t cli_client_call(cli_client_t *c, const lx_msg_t *req, lx_msg_t *reply, lx_error_t *err)
{
    lx_strbuf_t bytes;
    lx_strbuf_init(&bytes, NULL);
    lx_result_t rc = lx_msg_encode(req, &bytes, err);
    for (int attempt = 0; rc == LX_OK && attempt < c->retries; attempt++) {
        if ((rc = s_open(c, err)) != LX_OK)
            break;
        if (zmq_send(c->sock, bytes.buf, bytes.len, 0) < 0) {
            rc = lx_fail(err, LX_E_IO, "send: %s", zmq_strerror(errno));
            break;
        }
        zmq_pollitem_t it[2] = {{c->sock, 0, ZMQ_POLLIN, 0}, {c->monitor, 0, ZMQ_POLLIN, 0}};
        double until = cli_clock_ms(NULL) + (double)c->timeout_ms;
        handshake_t failed = HANDSHAKE_OTHER;
        for (;;) {
            long left = (long)(until - cli_clock_ms(NULL));
            if (left <= 0 || zmq_poll(it, c->monitor ? 2 : 1, left) <= 0 ||
                (it[0].revents & ZMQ_POLLIN))
                break;
            if (c->monitor && (it[1].revents & ZMQ_POLLIN) &&
                (failed = s_handshake_event(c)) != HANDSHAKE_OTHER)
                break;
        }
        if (failed == HANDSHAKE_REFUSED) {
            rc = lx_fail(err, LX_E_IO,
                         "the coordinator at '%s' refused this key (%.8s...): it is not in its "
                         "allow-list",
                         c->endpoint, c->curve.public_key);
            break;
        }
        if (failed == HANDSHAKE_PLAIN) {
            rc = lx_fail(err, LX_E_IO,
                         "the coordinator at '%s' does not use CURVE (it runs --insecure: pass "
                         "--insecure too)",
                         c->endpoint);
            break;
        }
        if (it[0].revents & ZMQ_POLLIN) {
            zmq_msg_t msg;
            zmq_msg_init(&msg);
            if (zmq_msg_recv(&msg, c->sock, 0) >= 0) {
                lx_arena_release(&c->arena);
                lx_arena_init(&c->arena, NULL);
                rc = lx_msg_decode(zmq_msg_data(&msg), zmq_msg_size(&msg), &c->arena, reply, err);
                zmq_msg_close(&msg);
                lx_strbuf_release(&bytes);
                return rc;
            }
            zmq_msg_close(&msg);
        }
        /* No answer: a fresh socket drops whatever the old one still holds. */
        s_close(c);
        rc = LX_OK;
    }
    lx_strbuf_release(&bytes);
    if (rc == LX_OK)
        rc = lx_fail(err, LX_E_IO, "no answer from the coordinator at '%s' (%d tries of %ld ms)%s",
                     c->endpoint, c->retries, c->timeout_ms,
                     c->curve.public_key[0] ? "; is --server-key its public key?" : "");
    return rc;
}

void cli_print_jobs(const lx_job_recs_t *jobs, bool json)
{
    if (!json) {
        printf("%-14s %-10s %9s %9s %7s %7s  %s\n", "JOB", "STATE", "DONE", "TOTAL", "FAILED",
               "WORKERS", "OUTPUT");
        for (uint32_t i = 0; i < jobs->n; i++) {
            const lx_job_rec_t *j = &jobs->v[i];
            printf("%-14s %-10s %9" PRIu64 " %9" PRIu64 " %7" PRIu64 " %7" PRIu64 "  %s%s%s\n",
                   j->job, j->state, j->done, j->total, j->failed, j->workers, j->out ? j->out : "",
                   j->error ? "  error: " : "", j->error ? j->error : "");
            if (j->waiting)
                printf("%-14s waiting: %s\n", "", j->waiting);
        }
        return;
    }
    cJSON *arr = cJSON_CreateArray();
    for (uint32_t i = 0; i < jobs->n; i++) {
        const lx_job_rec_t *j = &jobs->v[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "job", j->job);
        cJSON_AddStringToObject(o, "state", j->state);
        if (j->project)
            cJSON_AddStringToObject(o, "project", j->project);
        if (j->out)
            cJSON_AddStringToObject(o, "out", j->out);
        if (j->output)
            cJSON_AddStringToObject(o, "output", j->output);
        cJSON *fr = cJSON_AddArrayToObject(o, "frames");
        cJSON_AddItemToArray(fr, cJSON_CreateNumber((double)j->first));
        cJSON_AddItemToArray(fr, cJSON_CreateNumber((double)j->last));
        cJSON_AddNumberToObject(o, "total", (double)j->total);
        cJSON_AddNumberToObject(o, "done", (double)j->done);
        cJSON_AddNumberToObject(o, "running", (double)j->running);
        cJSON_AddNumberToObject(o, "failed", (double)j->failed);
        cJSON_AddNumberToObject(o, "workers", (double)j->workers);
        if (j->program_hash)
            cJSON_AddStringToObject(o, "programHash", j->program_hash);
        cJSON_AddNumberToObject(o, "elapsedMs", j->elapsed_ms);
        if (j->error)
            cJSON_AddStringToObject(o, "error", j->error);
        if (j->waiting)
            cJSON_AddStringToObject(o, "waiting", j->waiting);
        cJSON_AddNumberToObject(o, "lateResults", (double)j->late);
        cJSON_AddNumberToObject(o, "audited", (double)j->audited);
        cJSON_AddNumberToObject(o, "disputed", (double)j->disputed);
        cJSON_AddItemToArray(arr, o);
    }
    cli_print_json(&arr);
}
