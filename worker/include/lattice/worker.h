/* A worker: connects to a coordinator, pulls chunks with READY credit,
 * renders them with lx_frame_renderer and streams one FRAME per frame
 * (docs/protocol.md, "Sessions").
 *
 * lx_worker_run is the session loop on the calling thread; rendering runs
 * on a second thread so that heartbeats and CANCEL are served while a
 * frame renders. What it does with a chunk is an explicit state machine
 * (worker/src/worker_session.h). `lattice-worker` runs it from main(); `lattice export`
 * runs several next to an embedded coordinator over inproc://. */
#ifndef LATTICE_WORKER_H
#define LATTICE_WORKER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "lattice/log.h"
#include "lattice/result.h"

typedef struct lx_worker_config {
    size_t size;
    void *zmq_ctx;         /* required */
    const char *connect;   /* "tcp://host:7700" */
    const char *name;      /* shown in `lattice workers` */
    uint32_t threads;      /* render and encode threads */
    double heartbeat_ms;   /* 1000 */
    uint32_t liveness;     /* silent intervals before the coordinator is presumed gone: 3 */
    double backoff_ms;     /* first reconnect delay: 1000, doubling */
    double backoff_max_ms; /* 32000 */
    size_t max_message;    /* bytes (ZMQ_MAXMSGSIZE) */
    lx_log_level_t log_level;
    FILE *log;
    /* Set non-zero to drain: finish the frame in hand, report it, give the
     * rest of the chunk back, say GOODBYE and return LX_OK. */
    atomic_int *stop;
    /* Fault injection for tests only (docs/operations.md); NULL in normal
     * use. `lattice-worker` takes it from $LATTICE_WORKER_FAULT:
     *   "fail:F"     rendering frame F fails (render_error); F < 0: every frame
     *   "stall:F"    rendering frame F hangs until cancelled
     *   "corrupt:N"  frames f with f % N == N - 1 get wrong bytes and hashes
     *                (a lying worker, for audits) */
    const char *fault;
} lx_worker_config_t;
#define LX_WORKER_CONFIG_INIT                                                                      \
    {                                                                                              \
        sizeof(lx_worker_config_t), NULL, NULL, "worker", 1, 1000.0, 3, 1000.0, 32000.0,           \
            512u << 20, LX_LOG_INFO, NULL, NULL, NULL                                              \
    }

/* Runs until drained. LX_E_IO when the socket cannot be created. */
lx_result_t lx_worker_run(const lx_worker_config_t *cfg, lx_error_t *err);

/* "lattice VERSION (gcc 12.2.0, x86_64)": what HELLO reports as build. */
const char *lx_worker_build(void);

#endif
