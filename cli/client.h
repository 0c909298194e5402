/* The CLI's side of the protocol: one request, one reply, with a timeout
 * and retries on a fresh socket (the ZeroMQ guide's Lazy Pirate). */
#ifndef LATTICE_CLI_CLIENT_H
#define LATTICE_CLI_CLIENT_H

#include "lattice/msg.h"

typedef struct cli_client {
    void *ctx, *sock;
    const char *endpoint;
    long timeout_ms;
    int retries;
    lx_arena_t arena; /* the last reply's strings */
} cli_client_t;

/* The endpoint of -c, else $LATTICE_COORDINATOR, else tcp://127.0.0.1:7700. */
const char *cli_endpoint(const char *flag);

/* ctx is a zmq context the caller owns. */
void cli_client_init(cli_client_t *c, void *ctx, const char *endpoint);
void cli_client_close(cli_client_t *c);

/* Sends req and waits for its reply (valid until the next call). An ERROR
 * reply is a reply (LX_OK). LX_E_IO when the coordinator did not answer
 * after every retry; LX_E_BADMSG when the reply does not decode. */
lx_result_t cli_client_call(cli_client_t *c, const lx_msg_t *req, lx_msg_t *reply, lx_error_t *err);

/* Prints jobs as a table, or as a JSON array. */
void cli_print_jobs(const lx_job_recs_t *jobs, bool json);

#endif
