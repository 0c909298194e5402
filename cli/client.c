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
    c->retries = 3;
    lx_arena_init(&c->arena, NULL);
}

void cli_client_close(cli_client_t *c)
{
    if (c->sock)
        zmq_close(c->sock);
    c->sock = NULL;
    lx_arena_release(&c->arena);
}

static lx_result_t s_open(cli_client_t *c, lx_error_t *err)
{
    if (c->sock)
        return LX_OK;
    c->sock = zmq_socket(c->ctx, ZMQ_DEALER);
    int zero = 0;
    int64_t max = (int64_t)LX_MSG_MAX_BYTES;
    if (!c->sock || zmq_setsockopt(c->sock, ZMQ_LINGER, &zero, sizeof zero) != 0 ||
        zmq_setsockopt(c->sock, ZMQ_MAXMSGSIZE, &max, sizeof max) != 0 ||
        zmq_connect(c->sock, c->endpoint) != 0)
        return lx_fail(err, LX_E_IO, "cannot connect to '%s': %s", c->endpoint,
                       zmq_strerror(errno));
    return LX_OK;
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
        zmq_pollitem_t it = {c->sock, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&it, 1, c->timeout_ms) > 0) {
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
        zmq_close(c->sock);
        c->sock = NULL;
        rc = LX_OK;
    }
    lx_strbuf_release(&bytes);
    if (rc == LX_OK)
        rc = lx_fail(err, LX_E_IO, "no answer from the coordinator at '%s' (%d tries of %ld ms)",
                     c->endpoint, c->retries, c->timeout_ms);
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
