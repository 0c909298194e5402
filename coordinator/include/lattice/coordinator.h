/* The coordinator: one ROUTER socket for workers and clients, a scheduler
 * handing out chunks against READY credit, a SQLite journal, manifest
 * assembly (docs/protocol.md).
 *
 * lx_coord_run is an event loop on the calling thread. `lattice-coordinator`
 * runs it from main(); `lattice export` runs it on a thread next to its
 * workers, over inproc://. Process-wide things (the zmq context, the stop
 * flag a signal handler sets) come in through the config. */
#ifndef LATTICE_COORDINATOR_H
#define LATTICE_COORDINATOR_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "lattice/curve.h"
#include "lattice/log.h"
#include "lattice/result.h"

typedef struct lx_coord_config {
    size_t size;
    void *zmq_ctx;              /* required */
    const char *bind;           /* "tcp://0.0.0.0:7700", "inproc://lattice" */
    const char *state_dir;      /* journal + program store; NULL = in memory (embedded export) */
    uint32_t chunk;             /* frames per chunk; 0 = adaptive toward target_chunk_ms */
    double target_chunk_ms;     /* adaptive chunks: 10000 */
    double heartbeat_ms;        /* 1000 */
    uint32_t liveness;          /* silent intervals before a peer is dead: 3 */
    double grace_ms;            /* after a restart, how long in-flight attempts wait for their
                                   workers to re-announce them; 0 = 2 x liveness x heartbeat */
    size_t max_message;         /* bytes (ZMQ_MAXMSGSIZE) */
    double progress_timeout_ms; /* a chunk with no frame for this long is stuck: 600000 */
    double forgive_ms;          /* a worker blocked for a job (3 failed chunks) is forgiven
                                   after: 600000 */
    lx_log_level_t log_level;
    FILE *log;        /* structured lines; NULL = none */
    atomic_int *stop; /* set non-zero to stop; checked every poll */
    /* A file descriptor made readable right after *stop is set (an
     * eventfd), so the loop stops at once instead of at its next tick; 0 =
     * none. */
    int wake_fd;
    /* Called once the socket is bound and the journal is open, before the
     * first message is read (embedded use starts workers after it). */
    void (*ready)(void *user);
    void *ready_user;
    /* Export directories jobs may write into: absolute roots, a job's out
     * must be one of them or below; none = any absolute path (logged as a
     * warning at start). */
    const char *const *allow_output;
    size_t n_allow_output;
    uint32_t max_sessions; /* worker sessions at once: 4096 */
    int64_t max_frames;    /* frames per job: 100000000 */
    /* CURVE (docs/security.md): the coordinator's key pair (an empty
     * curve.public_key: a plain socket) and the allow-list file of the keys
     * it admits, re-read when it changes; both or neither. A bind that
     * needs keys (tcp) is refused without them unless insecure, which is
     * logged as a warning at every start. */
    lx_curve_keypair_t curve;
    const char *allow_file;
    bool insecure;
    /* Serve Prometheus metrics over HTTP on "HOST:PORT" (IPv4; port 0:
     * any, logged as event=metrics), or NULL for none. Unauthenticated:
     * bind it where only the scraper reaches (docs/operations.md). */
    const char *metrics;
} lx_coord_config_t;
#define LX_COORD_CONFIG_INIT                                                                       \
    {                                                                                              \
        .size = sizeof(lx_coord_config_t), .target_chunk_ms = 10000.0, .heartbeat_ms = 1000.0,     \
        .liveness = 3, .max_message = 512u << 20, .progress_timeout_ms = 600000.0,                 \
        .forgive_ms = 600000.0, .log_level = LX_LOG_INFO, .max_sessions = 4096,                    \
        .max_frames = 100000000                                                                    \
    }

/* Runs until *cfg->stop is set. LX_E_IO when the socket cannot be bound
 * or the journal or the allow-list cannot be opened, LX_E_INVALID for a
 * tcp bind without keys or --insecure (message in err); LX_OK after a
 * stop. */
lx_result_t lx_coord_run(const lx_coord_config_t *cfg, lx_error_t *err);

#endif
