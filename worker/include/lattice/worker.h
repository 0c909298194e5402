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

#include "lattice/curve.h"
#include "lattice/export.h"
#include "lattice/log.h"
#include "lattice/result.h"

/* Renders frame f of the chunk in hand with fr, the session's renderer
 * for it, into *out, which must stay valid until the next call of the
 * session; returns LX_OK, or an error that ends the chunk with CHUNK_FAIL
 * render_error. Called on the session's render thread, one frame at a
 * time; sessions that share `user` call it concurrently. *abort becomes
 * non-zero when the session no longer waits for the frame (CANCEL, drain):
 * a render that may take long can stop then and fail. The default,
 * lx_frame_renderer_render, ignores it: a frame in hand is finished.
 * Tests wrap the real renderer to make a worker fail, stall or lie
 * (tests/tools/lx_faulty_worker.c). */
typedef lx_result_t (*lx_worker_render_fn)(void *user, lx_frame_renderer_t *fr, int64_t f,
                                           const atomic_int *abort, const lx_frame_result_t **out,
                                           lx_error_t *err);

/* Where a worker's rendering time went, summed over the frames it
 * rendered (wall ms): the frame renderer's stages (encode is the wall time
 * of the parallel stage; convert, hash and each artifact's encode are
 * summed over its threads) and writing the files. Artifacts past the
 * first LX_WORKER_TIMED_ARTIFACTS keys are summed under "other". Filled by
 * the worker's render thread: read it once lx_worker_run has returned. */
enum { LX_WORKER_TIMED_ARTIFACTS = 16 };
typedef struct lx_worker_timings {
    uint64_t frames;
    uint64_t warmup; /* frames evaluated only to get to rendered ones */
    lx_stage_times_t stages;
    double write;
    uint32_t n_artifacts;
    struct {
        char key[96];
        double encode;
    } artifacts[LX_WORKER_TIMED_ARTIFACTS];
} lx_worker_timings_t;

/* Adds t's sums to sum, artifacts by key (several workers' timings). */
void lx_worker_timings_add(lx_worker_timings_t *sum, const lx_worker_timings_t *t);

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
    /* A file descriptor made readable right after *stop is set (an
     * eventfd), so the drain starts at once instead of at the next tick;
     * 0 = none. */
    int wake_fd;
    lx_worker_render_fn render; /* NULL: lx_frame_renderer_render */
    void *render_user;
    /* Export directories this worker writes into (absolute roots); an
     * ASSIGN whose out is elsewhere fails as a bad assignment. None = any. */
    const char *const *allow_output;
    size_t n_allow_output;
    /* CURVE (docs/security.md): the worker's key pair and the coordinator's
     * public key (Z85); an empty curve.public_key: a plain socket. A
     * connect that needs keys (tcp) is refused without them unless
     * insecure. */
    lx_curve_keypair_t curve;
    char server_key[LX_CURVE_KEY_CHARS + 1];
    bool insecure;
    /* Serve this worker's Prometheus metrics on "HOST:PORT" (IPv4; port 0:
     * any, logged as event=metrics), or NULL for none. */
    const char *metrics;
    /* Summed stage times of the frames rendered (caller-owned), or NULL. */
    lx_worker_timings_t *timings;
} lx_worker_config_t;
#define LX_WORKER_CONFIG_INIT                                                                      \
    {                                                                                              \
        .size = sizeof(lx_worker_config_t), .name = "worker", .threads = 1,                        \
        .heartbeat_ms = 1000.0, .liveness = 3, .backoff_ms = 1000.0, .backoff_max_ms = 32000.0,    \
        .max_message = 512u << 20, .log_level = LX_LOG_INFO                                        \
    }

/* Runs until drained. LX_E_IO when the socket cannot be created. */
lx_result_t lx_worker_run(const lx_worker_config_t *cfg, lx_error_t *err);

/* "lattice VERSION (gcc 12.2.0, x86_64; zlib 1.2.13, libpng 1.6.39,
 * libdeflate 1.14, OpenEXR 3.1.5)": what HELLO reports as build. */
const char *lx_worker_build(void);

/* What lx_worker_args_parse found. */
typedef enum lx_worker_args {
    LX_WORKER_ARGS_RUN,   /* cfg is filled in: run it */
    LX_WORKER_ARGS_HELP,  /* --help: the usage went to stdout; exit 0 */
    LX_WORKER_ARGS_USAGE, /* the problem and the usage went to stderr; exit 2 */
} lx_worker_args_t;

enum { LX_WORKER_MAX_ALLOW_OUTPUT = 64 };

/* What cfg points into after lx_worker_args_parse (besides argv): keep it
 * as long as cfg. */
typedef struct lx_worker_args_store {
    char name[128]; /* the default name, "HOST-PID" */
    const char *allow_output[LX_WORKER_MAX_ALLOW_OUTPUT];
} lx_worker_args_store_t;

/* The command line of `lattice-worker`, shared with the worker the tests
 * build (tests/tools/lx_faulty_worker.c) so that both take the same
 * options: parses argv[1..argc-1] into cfg; fields no option covers keep
 * their values. prog names the program in the usage and in messages.
 * Key files are read here (--secret-key, --server-key), so that a bad key
 * or a tcp endpoint without keys or --insecure is a usage error. cfg keeps
 * pointers into store and into argv. Reads no globals but writes to
 * stdout and stderr. */
lx_worker_args_t lx_worker_args_parse(lx_worker_config_t *cfg, int argc, char **argv,
                                      const char *prog, lx_worker_args_store_t *store);

/* The rest of a worker's main(), once cfg (with zmq_ctx and stop) is
 * complete: makes on_signal, which should set *cfg->stop, the handler of
 * SIGINT and SIGTERM, ignores SIGPIPE, logs a warning when an endpoint
 * that needs keys is used --insecure, runs the session and reports its
 * error on stderr as "prog: message". Returns the exit status: 0 drained,
 * 2 socket error. Changes process-wide signal dispositions: for main()
 * only. */
int lx_worker_main(const lx_worker_config_t *cfg, const char *prog, void (*on_signal)(int));

#endif
