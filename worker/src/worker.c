/* The worker session (see worker.h and docs/protocol.md, "Sessions").
 *
 * The session thread owns the DEALER socket and every decision; a render
 * thread owns nothing but the frame it is asked to render. They talk over
 * an inproc PAIR: the session sends a pointer to its one render command,
 * the render thread fills in the result and answers with one byte.
 *
 * What the session does with its chunk is the state machine of
 * worker_session.h: every message and every render result becomes an event
 * (s_dispatch), and the actions it returns are carried out here (s_do).
 * What this file decides itself is the link: HELLO, heartbeats, resending
 * unacknowledged FRAMEs, and reconnecting when the coordinator is silent. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>
#include <zmq.h>

#include "lattice/digest.h"
#include "lattice/export_memory.h"
#include "lattice/files.h"
#include "lattice/frame_msg.h"
#include "lattice/ir_codec.h"
#include "lattice/metrics_http.h"
#include "lattice/proc.h"
#include "lattice/worker.h"
#include "worker_session.h"

/* Results kept until acknowledged; past this many the worker stops
 * rendering until ACKs arrive, so a slow coordinator bounds its memory. */
enum { MAX_UNACKED = 16, MAX_PROGRAMS = 8 };

typedef struct render_cmd {
    lx_worker_render_fn render;
    void *render_user;
    lx_frame_renderer_t *fr;
    atomic_int abort; /* set by the session: the frame is no longer waited for */
    int64_t frame;
    const char *job, *out;
    const char *const *roots; /* allowed output roots (cfg.allow_output) */
    size_t n_roots;
    bool storage; /* rc is the output storage's failure, not the render's */
    uint64_t attempt;
    bool stream, audit; /* audit: compare only, write nothing, send no bytes */
    lx_result_t rc;
    lx_error_t err;
    lx_strbuf_t encoded; /* the FRAME message */
    lx_worker_timings_t *timings; /* cfg.timings */
} render_cmd_t;

typedef struct unacked {
    uint64_t attempt;
    int64_t frame;
    lx_strbuf_t bytes;
} unacked_t;

/* The chunk in hand (from ACCEPT to RELEASE). The render thread reads it
 * while a frame renders; no transition out of a rendering state changes
 * it before the frame is back. */
typedef struct chunk {
    char job[65], program_hash[65], config_hash[65];
    char *config, *out_dir;
    uint8_t *snapshot; /* ASSIGN's state snapshot at warmup_from, or NULL */
    size_t snapshot_len;
    uint64_t attempt;
    int64_t next, last; /* the next frame to render, the chunk's last */
    bool stream, audit;
} chunk_t;

typedef struct session {
    const lx_worker_config_t *cfg;
    void *sock, *pipe;
    pthread_t thread;
    char pipe_addr[64];
    lx_arena_t arena;
    lx_strbuf_t out;
    struct {
        char hash[65];
        lx_program_t *p;
    } programs[MAX_PROGRAMS];
    unsigned n_programs, next_evict;
    /* The renderer of the last (program, config). */
    lx_frame_renderer_t *fr;
    lx_export_plan_t plan;
    char fr_program[65], fr_config[65];
    lx_worker_state_t state;
    chunk_t chunk;
    render_cmd_t cmd;
    char why[600]; /* the message of an action that failed */
    unacked_t unacked[MAX_UNACKED];
    unsigned n_unacked;
    double last_recv, last_send, last_hello, last_resend, backoff;
    double drain_start;
    uint64_t frames;                    /* FRAMEs sent (results delivered) */
    uint64_t chunks_done, chunks_failed; /* CHUNK_DONE and CHUNK_FAIL sent */
    lx_metrics_http_t *http;             /* --metrics, or NULL */
} session_t;

/* This worker's Prometheus exposition (--metrics; docs/operations.md). */
static void s_render_metrics(void *user, lx_strbuf_t *out)
{
    const session_t *s = user;
    lx_strbuf_addf(out,
                   "# HELP lattice_worker_state The session's state (1 for the current one).\n"
                   "# TYPE lattice_worker_state gauge\n"
                   "lattice_worker_state{state=\"%s\"} 1\n"
                   "# HELP lattice_worker_frames_total Frames rendered and delivered.\n"
                   "# TYPE lattice_worker_frames_total counter\n"
                   "lattice_worker_frames_total %" PRIu64 "\n"
                   "# HELP lattice_worker_chunks_total Chunks ended, by outcome.\n"
                   "# TYPE lattice_worker_chunks_total counter\n"
                   "lattice_worker_chunks_total{outcome=\"done\"} %" PRIu64 "\n"
                   "lattice_worker_chunks_total{outcome=\"failed\"} %" PRIu64 "\n"
                   "# HELP lattice_worker_results_unacked Results sent and not yet acknowledged.\n"
                   "# TYPE lattice_worker_results_unacked gauge\n"
                   "lattice_worker_results_unacked %u\n",
                   lx_worker_session_state_name(s->state), s->frames, s->chunks_done,
                   s->chunks_failed, s->n_unacked);
}

/* Polls items (n of them, room for one more) and this worker's metrics
 * endpoint, which is served whatever else happened. */
static int s_poll(session_t *s, zmq_pollitem_t *items, int n, long timeout)
{
    if (s->http)
        items[n++] = (zmq_pollitem_t){NULL, lx_metrics_http_fd(s->http), ZMQ_POLLIN, 0};
    int rc = zmq_poll(items, n, timeout);
    if (s->http)
        lx_metrics_http_run(s->http);
    return rc;
}

#define LOG(s, level, ...) lx_log_line((s)->cfg->log, (s)->cfg->log_level, (level), __VA_ARGS__)

static char s_build[256];
static pthread_once_t s_build_once = PTHREAD_ONCE_INIT;

static void s_build_init(void)
{
#if defined(__clang__)
#define LX_COMPILER "clang " __clang_version__
#elif defined(__GNUC__)
#define LX_COMPILER "gcc " __VERSION__
#else
#define LX_COMPILER "cc"
#endif
#if defined(__x86_64__)
#define LX_ARCH "x86_64"
#elif defined(__aarch64__)
#define LX_ARCH "aarch64"
#else
#define LX_ARCH "unknown"
#endif
    /* The encoder libraries make the bytes: audits compare workers whose
     * build text is the same (docs/protocol.md). */
    char encoders[160];
    lx_encoder_versions(encoders, sizeof encoders);
    snprintf(s_build, sizeof s_build, "lattice %s (%s, %s; %s)", LX_VERSION, LX_COMPILER, LX_ARCH,
             encoders);
}

const char *lx_worker_build(void)
{
    pthread_once(&s_build_once, s_build_init);
    return s_build;
}

/* ---- the render thread ------------------------------------------------ */

static lx_result_t s_default_render(void *user, lx_frame_renderer_t *fr, int64_t f,
                                    const atomic_int *abort, const lx_frame_result_t **out,
                                    lx_error_t *err)
{
    (void)user;
    (void)abort; /* a frame in hand is always finished */
    return lx_frame_renderer_render(fr, f, out, err);
}

static double s_clock(void *user)
{
    (void)user;
    return lx_monotonic_ms();
}

/* encode ms of the artifact `key` into t (past the last slot: "other"). */
static void s_timings_artifact(lx_worker_timings_t *t, const char *key, double encode)
{
    uint32_t k = 0;
    while (k < t->n_artifacts && strcmp(t->artifacts[k].key, key) != 0)
        k++;
    if (k == t->n_artifacts && k < LX_WORKER_TIMED_ARTIFACTS) {
        snprintf(t->artifacts[k].key, sizeof t->artifacts[k].key, "%s",
                 k + 1 < LX_WORKER_TIMED_ARTIFACTS ? key : "other");
        t->n_artifacts++;
    }
    t->artifacts[k < LX_WORKER_TIMED_ARTIFACTS ? k : k - 1].encode += encode;
}

void lx_worker_timings_add(lx_worker_timings_t *sum, const lx_worker_timings_t *t)
{
    sum->frames += t->frames;
    sum->warmup += t->warmup;
    sum->stages.eval += t->stages.eval;
    sum->stages.raster += t->stages.raster;
    sum->stages.convert += t->stages.convert;
    sum->stages.encode += t->stages.encode;
    sum->stages.hash += t->stages.hash;
    sum->write += t->write;
    for (uint32_t i = 0; i < t->n_artifacts; i++)
        s_timings_artifact(sum, t->artifacts[i].key, t->artifacts[i].encode);
}

/* One rendered frame's stage times into the worker's sums. */
static void s_time(lx_worker_timings_t *t, const lx_frame_result_t *res, double write_ms)
{
    lx_worker_timings_t one = {
        .frames = 1, .warmup = res->warmup, .stages = res->times, .write = write_ms};
    lx_worker_timings_add(t, &one);
    for (uint32_t i = 0; i < res->n_files; i++)
        s_timings_artifact(t, res->files[i].key, res->files[i].encode_ms);
}

static void s_render(render_cmd_t *cmd)
{
    double t0 = lx_monotonic_ms();
    const lx_frame_result_t *res = NULL;
    cmd->rc = cmd->render(cmd->render_user, cmd->fr, cmd->frame, &cmd->abort, &res, &cmd->err);
    cmd->storage = false;
    double t_write = lx_monotonic_ms();
    /* Shared output: the files go to the job's directory before the FRAME
     * that names them is sent. */
    uint32_t written = 0;
    for (uint32_t i = 0; cmd->rc == LX_OK && !cmd->stream && !cmd->audit && i < res->n_files; i++) {
        const lx_artifact_file_t *a = &res->files[i];
        /* Below an allowed root, through no link, in the job's directory
         * as it is (a vanished one is not made again); under the attempt's
         * own name: the coordinator renames the accepted one into place. */
        int dir = lx_out_open(cmd->out, cmd->roots, cmd->n_roots, a->key, true, &cmd->err);
        char name[128];
        if (dir < 0)
            cmd->rc = cmd->err.code;
        else if (!lx_attempt_file_name(name, sizeof name, a->name, cmd->attempt))
            cmd->rc = lx_fail(&cmd->err, LX_E_INVALID, "file name too long");
        else if ((cmd->rc = lx_write_atomic_at(dir, a->key, name, a->bytes.buf, a->bytes.len,
                                               &cmd->err)) == LX_OK)
            written++;
        if (dir >= 0)
            close(dir);
        cmd->storage = cmd->rc != LX_OK;
    }
    /* A frame whose files could not all be written leaves none: they would
     * only take the space a full disk lacks. */
    for (uint32_t i = 0; cmd->storage && i < written; i++) {
        char name[128];
        int dir = lx_out_open(cmd->out, cmd->roots, cmd->n_roots, res->files[i].key, false,
                              &(lx_error_t){0});
        if (dir >= 0 && lx_attempt_file_name(name, sizeof name, res->files[i].name, cmd->attempt))
            unlinkat(dir, name, 0);
        if (dir >= 0)
            close(dir);
    }
    if (cmd->rc != LX_OK)
        return;
    if (cmd->timings)
        s_time(cmd->timings, res, lx_monotonic_ms() - t_write);
    lx_frame_msg_store_t store = {calloc(res->n_files ? res->n_files : 1, sizeof(lx_file_rec_t)),
                                  {0}};
    if (!store.recs) {
        cmd->rc = lx_fail(&cmd->err, LX_E_NOMEM, "out of memory");
        return;
    }
    lx_msg_t m;
    lx_frame_msg_fill(&m, cmd->job, cmd->attempt, res, lx_monotonic_ms() - t0,
                      cmd->stream && !cmd->audit, &store);
    cmd->encoded.len = 0;
    cmd->rc = lx_msg_encode(&m, &cmd->encoded, &cmd->err);
    free(store.recs);
}

static void *s_render_main(void *arg)
{
    session_t *s = arg;
    void *pipe = zmq_socket(s->cfg->zmq_ctx, ZMQ_PAIR);
    zmq_connect(pipe, s->pipe_addr);
    for (;;) {
        render_cmd_t *cmd = NULL;
        if (zmq_recv(pipe, &cmd, sizeof cmd, 0) != sizeof cmd || !cmd)
            break;
        s_render(cmd);
        zmq_send(pipe, "", 1, 0);
    }
    zmq_close(pipe);
    return NULL;
}

/* ---- sending ---------------------------------------------------------- */

static void s_send_bytes(session_t *s, const void *data, size_t len)
{
    if (zmq_send(s->sock, data, len, ZMQ_DONTWAIT) < 0)
        LOG(s, LX_LOG_DEBUG, "event=send_failed error=\"%s\"", zmq_strerror(errno));
    s->last_send = lx_monotonic_ms();
}

static void s_send(session_t *s, const lx_msg_t *m)
{
    s->out.len = 0;
    lx_error_t err = {0};
    if (lx_msg_encode(m, &s->out, &err) != LX_OK) {
        LOG(s, LX_LOG_ERROR, "event=encode_failed type=%s error=\"%s\"", lx_msg_type_name(m->type),
            err.message);
        return;
    }
    s_send_bytes(s, s->out.buf, s->out.len);
}

static void s_ready(session_t *s)
{
    lx_msg_t m = {.type = LX_MSG_READY};
    LX_MSG_SET(&m, credit, lx_worker_session_credit(s->state, s->n_unacked >= MAX_UNACKED));
    s_send(s, &m);
}

static void s_program_get(session_t *s)
{
    lx_msg_t g = {.type = LX_MSG_PROGRAM_GET};
    LX_MSG_SET(&g, program_hash, s->chunk.program_hash);
    s_send(s, &g);
}

/* CHUNK_DONE (reason NULL) or CHUNK_FAIL for an attempt: the chunk's, or
 * one refused. */
static void s_chunk_end(session_t *s, const char *job, uint64_t attempt, const char *reason,
                        const char *message)
{
    lx_msg_t m = {.type = reason ? LX_MSG_CHUNK_FAIL : LX_MSG_CHUNK_DONE};
    if (reason)
        s->chunks_failed++;
    else
        s->chunks_done++;
    LX_MSG_SET(&m, job, job);
    LX_MSG_SET(&m, attempt, attempt);
    if (reason) {
        LX_MSG_SET(&m, reason, reason);
        if (message)
            LX_MSG_SET(&m, message, message);
        LOG(s, LX_LOG_WARN,
            "event=chunk_failed job=%s attempt=%" PRIu64 " reason=%s message=\"%s\"", job, attempt,
            reason, message ? message : "");
    }
    s_send(s, &m);
}

/* Sends every result not yet acknowledged again: after a reconnect, and
 * every liveness interval (an ACK, or the FRAME, may have been lost). */
static void s_resend(session_t *s)
{
    s->last_resend = lx_monotonic_ms();
    for (unsigned i = 0; i < s->n_unacked; i++)
        s_send_bytes(s, s->unacked[i].bytes.buf, s->unacked[i].bytes.len);
}

/* HELLO (with the attempt in hand, so a new coordinator session can adopt
 * it), credit, every result not yet acknowledged, and the PROGRAM_GET
 * still unanswered. */
static void s_hello(session_t *s)
{
    s->last_hello = lx_monotonic_ms();
    lx_msg_t m = {.type = LX_MSG_HELLO};
    LX_MSG_SET(&m, name, s->cfg->name);
    LX_MSG_SET(&m, build, lx_worker_build());
    LX_MSG_SET(&m, threads, s->cfg->threads);
    /* Every attempt it still has something of: the one in hand and those
     * with unacknowledged frames, so that a new session adopts them. */
    uint64_t held[MAX_UNACKED + 1];
    uint32_t n = 0;
    if (lx_worker_session_holds(s->state))
        held[n++] = s->chunk.attempt;
    for (unsigned i = 0; i < s->n_unacked; i++) {
        bool seen = false;
        for (uint32_t k = 0; k < n; k++)
            seen |= held[k] == s->unacked[i].attempt;
        if (!seen)
            held[n++] = s->unacked[i].attempt;
    }
    if (n)
        LX_MSG_SET(&m, resumed, ((lx_u64s_t){held, n}));
    s_send(s, &m);
    s_ready(s);
    s_resend(s);
    if (s->state == LX_WORKER_FETCHING)
        s_program_get(s);
}

static lx_result_t s_connect(session_t *s, lx_error_t *err)
{
    const lx_worker_config_t *cfg = s->cfg;
    bool curve = cfg->curve.public_key[0] != '\0';
    /* The library refuses what the command line refuses: a tcp endpoint
     * is CURVE unless the caller said --insecure. */
    if (!curve && !cfg->insecure && lx_curve_endpoint_needs_keys(cfg->connect))
        return lx_fail(err, LX_E_INVALID,
                       "'%s' needs CURVE keys (--secret-key and --server-key) or --insecure",
                       cfg->connect);
    s->sock = zmq_socket(cfg->zmq_ctx, ZMQ_DEALER);
    int64_t max = (int64_t)cfg->max_message;
    int zero = 0;
    lx_result_t rc = s->sock ? LX_OK : lx_fail(err, LX_E_IO, "cannot make a socket: %s",
                                               zmq_strerror(errno));
    if (rc == LX_OK && curve)
        rc = lx_curve_set_client(s->sock, &cfg->curve, cfg->server_key, err);
    if (rc == LX_OK)
        rc = lx_curve_set_handshake(s->sock, LX_CURVE_HANDSHAKE_MS, err);
    if (rc != LX_OK)
        return rc;
    if (zmq_setsockopt(s->sock, ZMQ_MAXMSGSIZE, &max, sizeof max) != 0 ||
        zmq_setsockopt(s->sock, ZMQ_LINGER, &zero, sizeof zero) != 0 ||
        zmq_connect(s->sock, cfg->connect) != 0)
        return lx_fail(err, LX_E_IO, "cannot connect to '%s': %s", cfg->connect,
                       zmq_strerror(errno));
    s->last_recv = lx_monotonic_ms();
    LOG(s, LX_LOG_INFO, "event=connecting coordinator=%s name=%s threads=%u auth=%s",
        s->cfg->connect, s->cfg->name, s->cfg->threads, curve ? "curve" : "none");
    s_hello(s);
    return LX_OK;
}

/* ---- the actions of the state machine ---------------------------------- */

/* An action that failed reports the event the session handles next. */
static bool s_chunk_bad(lx_worker_event_t *next, const char *reason, const char *message)
{
    *next =
        (lx_worker_event_t){.kind = LX_WORKER_ON_CHUNK_BAD, .reason = reason, .message = message};
    return false;
}

static lx_program_t *s_program(session_t *s, const char *hash)
{
    for (unsigned i = 0; i < s->n_programs; i++)
        if (strcmp(s->programs[i].hash, hash) == 0)
            return s->programs[i].p;
    return NULL;
}

static void s_release(session_t *s)
{
    free(s->chunk.config);
    free(s->chunk.out_dir);
    free(s->chunk.snapshot);
    s->chunk.config = s->chunk.out_dir = NULL;
    s->chunk.snapshot = NULL;
    s->chunk.snapshot_len = 0;
}

/* The checks an ASSIGN passes before anything else: NULL, or why not. */
static const char *s_assign_check(session_t *s, const lx_msg_t *m)
{
    bool shared = strcmp(m->output, "shared") == 0;
    if (m->frames.n != 2 || m->frames.v[0] > m->frames.v[1])
        return "frames must be [a, b] with a <= b";
    if (m->warmup_from > m->frames.v[0] || m->warmup_from < 0)
        return "warmup_from must be in [0, a]";
    if (!shared && strcmp(m->output, "stream") != 0)
        return "output must be 'shared' or 'stream'";
    if (shared && !(LX_MSG_HAS(m, audit) && m->audit)) {
        if (!LX_MSG_HAS(m, out))
            return "shared output needs an output directory";
        /* Where this worker agreed to write, whatever a coordinator asks. */
        lx_error_t err = {0};
        if (lx_out_check(m->out, s->cfg->allow_output, s->cfg->n_allow_output, &err) != LX_OK) {
            snprintf(s->why, sizeof s->why, "%s", err.message);
            return s->why;
        }
    }
    int64_t at = 0;
    if (LX_MSG_HAS(m, snapshot) && !lx_snapshot_frame(m->snapshot.data, m->snapshot.len, &at))
        return "snapshot: not a state snapshot";
    if (LX_MSG_HAS(m, snapshot) && at != m->warmup_from) {
        snprintf(s->why, sizeof s->why,
                 "snapshot: its frame %" PRId64 " is not warmup_from %" PRId64, at, m->warmup_from);
        return s->why;
    }
    return NULL;
}

static bool s_accept(session_t *s, const lx_msg_t *m, lx_worker_event_t *next)
{
    chunk_t *c = &s->chunk;
    bool shared = strcmp(m->output, "shared") == 0;
    snprintf(c->job, sizeof c->job, "%s", m->job);
    snprintf(c->program_hash, sizeof c->program_hash, "%s", m->program_hash);
    snprintf(c->config_hash, sizeof c->config_hash, "%s", m->config_hash);
    c->config = strdup(m->config);
    c->audit = LX_MSG_HAS(m, audit) && m->audit;
    c->out_dir = shared && !c->audit ? strdup(m->out) : NULL;
    c->stream = !shared;
    /* A copy: the message's bytes live only until the next message. */
    c->snapshot_len = LX_MSG_HAS(m, snapshot) ? m->snapshot.len : 0;
    c->snapshot = c->snapshot_len ? malloc(c->snapshot_len) : NULL;
    if (c->snapshot)
        memcpy(c->snapshot, m->snapshot.data, c->snapshot_len);
    c->attempt = m->attempt;
    c->next = m->frames.v[0];
    c->last = m->frames.v[1];
    LOG(s, LX_LOG_INFO,
        "event=assigned job=%s attempt=%" PRIu64 " frames=%" PRId64 "-%" PRId64
        " warmup_from=%" PRId64 " output=%s",
        c->job, c->attempt, c->next, c->last, m->warmup_from, m->output);
    if (!c->config || (shared && !c->audit && !c->out_dir) || (c->snapshot_len && !c->snapshot))
        return s_chunk_bad(next, "render_error", "out of memory");
    return true;
}

/* The PROGRAM the chunk waits for: decoded, checked and cached. */
static bool s_load_program(session_t *s, const lx_msg_t *m, lx_worker_event_t *next)
{
    lx_program_t *p = NULL;
    lx_error_t err = {0};
    char hex[65] = "";
    if (lx_ir_decode(m->program.data, m->program.len, NULL, &p, &err) == LX_OK)
        lx_hex(p->program_hash.bytes, 32, hex);
    if (!p || strcmp(hex, s->chunk.program_hash) != 0) {
        snprintf(s->why, sizeof s->why, "%s", p ? "the program's hash differs" : err.message);
        lx_program_destroy(&p);
        return s_chunk_bad(next, "bad_program", s->why);
    }
    /* A small cache: evict round-robin; the renderer goes with its program. */
    unsigned slot = s->n_programs < MAX_PROGRAMS ? s->n_programs++ : s->next_evict;
    if (s->programs[slot].p && strcmp(s->programs[slot].hash, s->fr_program) == 0) {
        lx_frame_renderer_destroy(&s->fr);
        s->fr_program[0] = '\0';
    }
    lx_program_destroy(&s->programs[slot].p);
    s->programs[slot].p = p;
    memcpy(s->programs[slot].hash, hex, sizeof hex);
    s->next_evict = (slot + 1) % MAX_PROGRAMS;
    return true;
}

/* Everything the chunk needs is here: check the config against its hash
 * and the frames against the job, and make the renderer (kept while the
 * next chunk has the same program and config). */
/* Whether this worker can hold a frame of its plan (lattice/export_memory.h):
 * a resolution beyond the memory available is refused, never attempted. */
static bool s_memory_fits(const session_t *s, const lx_program_t *p, char *why, size_t size)
{
    lx_export_memory_t m;
    lx_error_t err = {0};
    if (lx_export_memory_estimate(p, &s->plan, s->cfg->threads, &m, &err) != LX_OK)
        return true; /* the frame renderer says what is wrong */
    size_t len = 0;
    char *info = lx_read_file("/proc/meminfo", 1 << 20, &len, lx_alloc_default());
    bool fits = lx_export_memory_fits(&m, &s->plan, s->cfg->threads, 1, info, len,
                                      getenv("LATTICE_MEMORY_LIMIT"), why, size);
    lx_free(lx_alloc_default(), info);
    return fits;
}

static bool s_prepare(session_t *s, lx_worker_event_t *next)
{
    const chunk_t *c = &s->chunk;
    lx_program_t *p = s_program(s, c->program_hash);
    char *why = s->why;
    why[0] = '\0';
    if (strcmp(s->fr_program, c->program_hash) != 0 || strcmp(s->fr_config, c->config_hash) != 0) {
        lx_frame_renderer_destroy(&s->fr);
        s->fr_program[0] = s->fr_config[0] = '\0';
        lx_diags_t diags;
        lx_diags_init(&diags, NULL);
        char hex[65] = "";
        if (lx_export_plan_json(p, c->config, &s->plan, &diags) == LX_OK)
            lx_hex(s->plan.config_hash.bytes, 32, hex);
        lx_diags_release(&diags);
        lx_error_t err = {0};
        if (strcmp(hex, c->config_hash) != 0)
            snprintf(why, sizeof s->why, "the config does not resolve to config_hash %.12s",
                     c->config_hash);
        else if (!s_memory_fits(s, p, why, sizeof s->why))
            ; /* refused before a byte is allocated, with the estimate */
        else if (!(s->fr =
                       lx_frame_renderer_new(p, &s->plan, s->cfg->threads, s_clock, NULL, NULL, &err)))
            snprintf(why, sizeof s->why, "%s", err.message);
        else {
            memcpy(s->fr_program, c->program_hash, sizeof s->fr_program);
            memcpy(s->fr_config, c->config_hash, sizeof s->fr_config);
        }
    }
    if (!why[0] && (c->next < s->plan.first || c->last > s->plan.last))
        snprintf(why, sizeof s->why,
                 "frames %" PRId64 "-%" PRId64 " are outside the job's %" PRId64 "-%" PRId64,
                 c->next, c->last, s->plan.first, s->plan.last);
    lx_error_t err = {0};
    int64_t at = 0;
    /* Instead of warming up from frame 0 (a kept renderer already past the
     * snapshot keeps going). */
    if (!why[0] && c->snapshot &&
        lx_frame_renderer_restore(s->fr, c->snapshot, c->snapshot_len, c->next, &err) != LX_OK)
        snprintf(why, sizeof s->why, "snapshot: %s", err.message);
    else if (!why[0] && c->snapshot && lx_snapshot_frame(c->snapshot, c->snapshot_len, &at))
        LOG(s, LX_LOG_DEBUG, "event=snapshot job=%s attempt=%" PRIu64 " frame=%" PRId64, c->job,
            c->attempt, at);
    return why[0] ? s_chunk_bad(next, "bad_assignment", why) : true;
}

static bool s_render_next(session_t *s, lx_worker_event_t *next)
{
    render_cmd_t *cmd = &s->cmd;
    cmd->fr = s->fr;
    atomic_store(&cmd->abort, 0);
    cmd->frame = s->chunk.next;
    cmd->job = s->chunk.job;
    cmd->attempt = s->chunk.attempt;
    cmd->stream = s->chunk.stream;
    cmd->audit = s->chunk.audit;
    cmd->out = s->chunk.out_dir;
    if (zmq_send(s->pipe, &cmd, sizeof cmd, 0) == sizeof cmd)
        return true;
    snprintf(s->why, sizeof s->why, "cannot hand frame %" PRId64 " to the render thread: %s",
             cmd->frame, zmq_strerror(errno));
    *next = (lx_worker_event_t){.kind = LX_WORKER_ON_RENDER_FAILED, .message = s->why};
    return false;
}

/* The rendered frame's FRAME: sent, and kept until acknowledged. */
static void s_frame(session_t *s)
{
    if (s->n_unacked == 0)
        s->last_resend = lx_monotonic_ms(); /* the resend clock starts with the backlog */
    unacked_t *u = &s->unacked[s->n_unacked++];
    u->attempt = s->chunk.attempt;
    u->frame = s->chunk.next;
    lx_strbuf_init(&u->bytes, NULL);
    lx_strbuf_add(&u->bytes, s->cmd.encoded.buf, s->cmd.encoded.len);
    s_send_bytes(s, u->bytes.buf, u->bytes.len);
    s->frames++;
    LOG(s, LX_LOG_DEBUG, "event=frame job=%s attempt=%" PRIu64 " frame=%" PRId64, s->chunk.job,
        s->chunk.attempt, s->chunk.next);
    s->chunk.next++;
}

/* Carries out one action of a step. m is the message of the event (NULL
 * for the others). False when it failed: *next is then the event that
 * says so. */
static bool s_do(session_t *s, lx_worker_action_t a, const lx_worker_step_t *step,
                 const lx_msg_t *m, lx_worker_event_t *next)
{
    switch (a) {
    case LX_WORKER_DO_ACCEPT:
        return s_accept(s, m, next);
    case LX_WORKER_DO_PROGRAM_GET:
        s_program_get(s);
        return true;
    case LX_WORKER_DO_LOAD_PROGRAM:
        return s_load_program(s, m, next);
    case LX_WORKER_DO_PREPARE:
        return s_prepare(s, next);
    case LX_WORKER_DO_RENDER:
        return s_render_next(s, next);
    case LX_WORKER_DO_ABORT:
        atomic_store(&s->cmd.abort, 1);
        return true;
    case LX_WORKER_DO_FRAME:
        s_frame(s);
        return true;
    case LX_WORKER_DO_CHUNK_DONE:
        s_chunk_end(s, s->chunk.job, s->chunk.attempt, NULL, NULL);
        return true;
    case LX_WORKER_DO_CHUNK_FAIL:
        s_chunk_end(s, s->chunk.job, s->chunk.attempt, step->reason, step->message);
        return true;
    case LX_WORKER_DO_REFUSE:
        s_chunk_end(s, m->job, m->attempt, step->reason, step->message);
        return true;
    case LX_WORKER_DO_RELEASE:
        s_release(s);
        return true;
    case LX_WORKER_DO_READY:
        s_ready(s);
        return true;
    case LX_WORKER_DO_START_DRAIN:
        s->drain_start = lx_monotonic_ms();
        LOG(s, LX_LOG_INFO, "event=draining in_hand=%d", lx_worker_session_renders(s->state));
        return true;
    case LX_WORKER_DO_GOODBYE: {
        lx_msg_t bye = {.type = LX_MSG_GOODBYE};
        s_send(s, &bye);
        LOG(s, LX_LOG_INFO, "event=goodbye frames=%" PRIu64 " unacked=%u", s->frames, s->n_unacked);
        return true;
    }
    default:
        LX_BUG("unknown worker action");
    }
}

/* Runs an event through the state machine: the state changes, then the
 * step's actions run in order. One that fails ends the list, and the event
 * it reports is handled next, in the new state. */
static void s_dispatch(session_t *s, lx_worker_event_t ev, const lx_msg_t *m)
{
    for (;;) {
        lx_worker_step_t step = lx_worker_session_step(s->state, &ev);
        if (step.next != s->state)
            LOG(s, LX_LOG_DEBUG, "event=state from=%s to=%s on=%s",
                lx_worker_session_state_name(s->state), lx_worker_session_state_name(step.next),
                lx_worker_session_event_name(ev.kind));
        s->state = step.next;
        lx_worker_event_t failed;
        bool ok = true;
        for (int i = 0; ok && step.actions[i] != LX_WORKER_DO_NOTHING; i++)
            ok = s_do(s, step.actions[i], &step, m, &failed);
        if (ok)
            return;
        ev = failed;
    }
}

/* ---- events ------------------------------------------------------------ */

/* Forgets the acknowledged results; true when that made room in a full
 * backlog. */
static bool s_forget_acked(session_t *s, const lx_msg_t *m)
{
    bool full = s->n_unacked >= MAX_UNACKED;
    for (uint32_t k = 0; k < m->frames.n; k++)
        for (unsigned i = 0; i < s->n_unacked; i++)
            if (s->unacked[i].attempt == m->attempt && s->unacked[i].frame == m->frames.v[k]) {
                lx_strbuf_release(&s->unacked[i].bytes);
                s->unacked[i] = s->unacked[--s->n_unacked];
                break;
            }
    return full && s->n_unacked < MAX_UNACKED;
}

static void s_on_message(session_t *s, const void *data, size_t len)
{
    lx_arena_release(&s->arena);
    lx_arena_init(&s->arena, NULL);
    lx_msg_t m;
    lx_error_t err = {0};
    if (lx_msg_decode(data, len, &s->arena, &m, &err) != LX_OK) {
        LOG(s, LX_LOG_WARN, "event=bad_message bytes=%zu error=\"%s\"", len, err.message);
        return;
    }
    s->last_recv = lx_monotonic_ms();
    s->backoff = s->cfg->backoff_ms;
    /* LX_WORKER_N_EVENTS: none for the state machine. */
    lx_worker_event_t ev = {.kind = LX_WORKER_N_EVENTS};
    switch (m.type) {
    case LX_MSG_ASSIGN: {
        const char *why = s_assign_check(s, &m);
        ev = why ? (lx_worker_event_t){.kind = LX_WORKER_ON_BAD_ASSIGN, .message = why}
                 : (lx_worker_event_t){.kind = LX_WORKER_ON_ASSIGN,
                                       .program_cached = s_program(s, m.program_hash) != NULL};
        break;
    }
    case LX_MSG_PROGRAM:
        if (strcmp(m.program_hash, s->chunk.program_hash) == 0)
            ev.kind = LX_WORKER_ON_PROGRAM;
        break;
    case LX_MSG_ACK:
        if (s_forget_acked(s, &m))
            ev.kind = LX_WORKER_ON_BACKLOG_ROOM;
        break;
    case LX_MSG_CANCEL:
        if (m.attempt == s->chunk.attempt && lx_worker_session_holds(s->state)) {
            LOG(s, LX_LOG_INFO, "event=cancelled attempt=%" PRIu64, m.attempt);
            ev.kind = LX_WORKER_ON_CANCEL;
        }
        break;
    case LX_MSG_ERROR:
        LOG(s, LX_LOG_WARN, "event=coordinator_error code=%s message=\"%s\"", m.code, m.message);
        if (strcmp(m.code, "not_found") == 0)
            ev = (lx_worker_event_t){.kind = LX_WORKER_ON_NOT_FOUND, .message = m.message};
        /* The coordinator does not know this session (it restarted): one
         * HELLO per heartbeat interval, however many messages it refused. */
        else if (strcmp(m.code, "hello_first") == 0 &&
                 lx_monotonic_ms() - s->last_hello >= s->cfg->heartbeat_ms)
            s_hello(s);
        break;
    default:
        break; /* HEARTBEAT and anything else: being alive was the point */
    }
    if (ev.kind != LX_WORKER_N_EVENTS)
        s_dispatch(s, ev, &m);
}

static void s_on_rendered(session_t *s)
{
    char byte;
    zmq_recv(s->pipe, &byte, 1, 0);
    const render_cmd_t *cmd = &s->cmd;
    lx_worker_event_t ev = {.kind = LX_WORKER_ON_RENDERED,
                            .last_frame = s->chunk.next == s->chunk.last};
    if (cmd->rc != LX_OK) {
        ev = (lx_worker_event_t){.kind = LX_WORKER_ON_RENDER_FAILED,
                                 .reason = cmd->storage ? "storage" : NULL,
                                 .message = cmd->err.message};
    } else if (cmd->encoded.len > s->cfg->max_message) {
        snprintf(s->why, sizeof s->why,
                 "frame %" PRId64 " is %zu bytes, over the %zu-byte message limit", cmd->frame,
                 cmd->encoded.len, s->cfg->max_message);
        ev = (lx_worker_event_t){.kind = LX_WORKER_ON_TOO_LARGE, .message = s->why};
    }
    s_dispatch(s, ev, NULL);
}

/* ---- the loop --------------------------------------------------------- */

/* The coordinator is silent: close the socket and wait out the backoff,
 * serving the render thread (the frame in hand is finished and kept; no
 * new one starts) until the wait is over or the worker is told to stop. */
static void s_reconnect(session_t *s)
{
    LOG(s, LX_LOG_WARN, "event=coordinator_silent reconnect_in_ms=%.0f", s->backoff);
    zmq_close(s->sock);
    s->sock = NULL;
    double until = lx_monotonic_ms() + s->backoff;
    while (lx_monotonic_ms() < until && !atomic_load(s->cfg->stop)) {
        zmq_pollitem_t it[2] = {{s->pipe, 0, ZMQ_POLLIN, 0}};
        long wait = (long)(until - lx_monotonic_ms()) + 1;
        /* Scrapes are answered while waiting too (the tick bounds the wait). */
        if (s_poll(s, it, 1, s->http && wait > 250 ? 250 : wait) > 0 &&
            (it[0].revents & ZMQ_POLLIN) && lx_worker_session_renders(s->state))
            s_on_rendered(s);
    }
    s->backoff = s->backoff * 2 < s->cfg->backoff_max_ms ? s->backoff * 2 : s->cfg->backoff_max_ms;
}

static lx_result_t s_loop(session_t *s, lx_error_t *err)
{
    lx_result_t rc = s_connect(s, err);
    double hb = s->cfg->heartbeat_ms;
    while (rc == LX_OK) {
        if (atomic_load(s->cfg->stop))
            s_dispatch(s, (lx_worker_event_t){.kind = LX_WORKER_ON_STOP}, NULL);
        double now = lx_monotonic_ms();
        lx_worker_event_t tick = {
            .kind = LX_WORKER_ON_TICK,
            .backlog_full = s->n_unacked >= MAX_UNACKED,
            .drain_over = s->n_unacked == 0 || now - s->drain_start > hb * s->cfg->liveness,
        };
        s_dispatch(s, tick, NULL);
        if (s->state == LX_WORKER_GONE)
            break;
        zmq_pollitem_t items[4] = {{s->sock, 0, ZMQ_POLLIN, 0}, {s->pipe, 0, ZMQ_POLLIN, 0}};
        long timeout = (long)(hb / 4 > 10 ? hb / 4 : 10);
        /* Until the stop is seen: it stays readable once rung. */
        int n = 2;
        if (s->cfg->wake_fd > 0 && !atomic_load(s->cfg->stop))
            items[n++] = (zmq_pollitem_t){NULL, s->cfg->wake_fd, ZMQ_POLLIN, 0};
        if (s_poll(s, items, n, timeout) < 0 && errno != EINTR)
            return lx_fail(err, LX_E_IO, "poll: %s", zmq_strerror(errno));
        if (items[1].revents & ZMQ_POLLIN)
            s_on_rendered(s);
        for (int k = 0; k < 64 && (items[0].revents & ZMQ_POLLIN); k++) {
            zmq_msg_t msg;
            zmq_msg_init(&msg);
            if (zmq_msg_recv(&msg, s->sock, ZMQ_DONTWAIT) < 0) {
                zmq_msg_close(&msg);
                break;
            }
            s_on_message(s, zmq_msg_data(&msg), zmq_msg_size(&msg));
            zmq_msg_close(&msg);
        }
        now = lx_monotonic_ms();
        /* A draining worker stays: it leaves once its results are
         * acknowledged or it has waited long enough. */
        if (now - s->last_recv > hb * s->cfg->liveness && !lx_worker_session_draining(s->state)) {
            s_reconnect(s);
            rc = s_connect(s, err);
        } else {
            if (s->n_unacked && now - s->last_resend >= hb * s->cfg->liveness)
                s_resend(s);
            if (now - s->last_send >= hb) {
                lx_msg_t m = {.type = LX_MSG_HEARTBEAT};
                s_send(s, &m);
            }
        }
    }
    return rc;
}

lx_result_t lx_worker_run(const lx_worker_config_t *cfg, lx_error_t *err)
{
    for (size_t k = 0; k < cfg->n_allow_output; k++) {
        char root[LX_PATH_MAX];
        lx_result_t rc = lx_out_root_resolve(cfg->allow_output[k], root, err);
        if (rc != LX_OK)
            return rc;
    }
    session_t *s = calloc(1, sizeof *s);
    if (!s)
        return lx_fail(err, LX_E_NOMEM, "out of memory");
    s->cfg = cfg;
    s->state = LX_WORKER_IDLE;
    s->backoff = cfg->backoff_ms;
    s->cmd.render = cfg->render ? cfg->render : s_default_render;
    s->cmd.render_user = cfg->render_user;
    s->cmd.roots = cfg->allow_output;
    s->cmd.timings = cfg->timings;
    s->cmd.n_roots = cfg->n_allow_output;
    lx_arena_init(&s->arena, NULL);
    lx_strbuf_init(&s->out, NULL);
    lx_strbuf_init(&s->cmd.encoded, NULL);
    snprintf(s->pipe_addr, sizeof s->pipe_addr, "inproc://lx-render-%p", (void *)s);
    s->pipe = zmq_socket(cfg->zmq_ctx, ZMQ_PAIR);
    lx_result_t rc = LX_OK;
    if (cfg->metrics) {
        if ((s->http = lx_metrics_http_new(cfg->metrics, s_render_metrics, s, err)))
            LOG(s, LX_LOG_INFO, "event=metrics addr=%.*s:%u path=/metrics",
                (int)(strrchr(cfg->metrics, ':') - cfg->metrics), cfg->metrics,
                (unsigned)lx_metrics_http_port(s->http));
        else
            rc = err->code;
    }
    if (rc != LX_OK) {
        if (s->pipe) /* nothing started */
            zmq_close(s->pipe);
        s->pipe = NULL;
    } else if (!s->pipe || zmq_bind(s->pipe, s->pipe_addr) != 0 ||
               pthread_create(&s->thread, NULL, s_render_main, s) != 0) {
        rc = lx_fail(err, LX_E_IO, "cannot start the render thread");
        if (s->pipe)
            zmq_close(s->pipe);
        s->pipe = NULL;
    }
    if (rc == LX_OK) {
        rc = s_loop(s, err);
        /* A frame still rendering (an error path) is waited for. */
        if (lx_worker_session_renders(s->state)) {
            atomic_store(&s->cmd.abort, 1);
            char byte;
            zmq_recv(s->pipe, &byte, 1, 0);
        }
        render_cmd_t *stop = NULL;
        zmq_send(s->pipe, &stop, sizeof stop, 0);
        pthread_join(s->thread, NULL);
        zmq_close(s->pipe);
    }
    if (s->sock)
        zmq_close(s->sock);
    lx_metrics_http_destroy(&s->http);
    lx_frame_renderer_destroy(&s->fr);
    for (unsigned i = 0; i < s->n_programs; i++)
        lx_program_destroy(&s->programs[i].p);
    for (unsigned i = 0; i < s->n_unacked; i++)
        lx_strbuf_release(&s->unacked[i].bytes);
    s_release(s);
    lx_strbuf_release(&s->cmd.encoded);
    lx_strbuf_release(&s->out);
    lx_arena_release(&s->arena);
    free(s);
    return rc;
}
