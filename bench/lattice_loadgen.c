/* lattice-loadgen --coordinator PATH --patch PATCH [options]
 *
 * A coordinator under load, measured from outside (issue 14, point 3).
 * It starts a real lattice-coordinator on 127.0.0.1 (tcp, CURVE, a key
 * pair and an allow-list made here as `lattice keygen` makes them),
 * connects W simulated workers (one process, one DEALER socket each, one
 * poll loop) and a client that SUBMITs an export of F frames; the fake
 * workers take assignments and answer with the cheapest results the
 * coordinator accepts: by default the `camera` artifact alone, which has
 * no per-frame file, so a FRAME is its camera and time (with `--artifacts
 * LIST` in stream mode every file travels inline, a few bytes whose
 * SHA-256 the coordinator checks and which it writes). It speaks only the
 * wire protocol (docs/protocol.md): nothing of the coordinator's inside.
 *
 * While the SUBMIT is in flight a probe peer (its own thread and socket)
 * sends a HEARTBEAT every PROBE_MS ms, which the coordinator answers at
 * once (ERROR hello_first: the probe never says HELLO); the longest
 * round trip is how long the coordinator's loop was blocked. Workers hold
 * their first results until the SUBMIT phase is measured, so that the
 * probe times the SUBMIT and nothing else.
 *
 * Prints "key value" lines (lines starting with '#' are notes). Exit
 * status: 0 when every result the workers sent was acknowledged (and,
 * when every frame was sent, the job reported done), 1 when not, 2 for
 * bad arguments or a coordinator that does not start. It stops every
 * process it started, by pid, and removes its temporary directory. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "lattice/allowlist.h"
#include "lattice/curve.h"
#include "lattice/digest.h"
#include "lattice/export.h"
#include "lattice/export_config.h"
#include "lattice/files.h"
#include "lattice/frame_msg.h"
#include "lattice/msg.h"

enum {
    PROBE_MS = 2,         /* the probe's interval */
    HEARTBEAT_MS = 300,   /* an idle fake worker says something this often */
    MAX_HELD = 64,        /* attempts a fake worker may hold (its credit) */
    MAX_FILES = 16,       /* per-frame files a fake worker sends */
    START_TIMEOUT_MS = 20000,
};

typedef struct opts {
    const char *coordinator, *patch, *artifacts, *state, *acked_file;
    long workers, frames, ingest, window, credit, chunk, kill_after, timeout_s, io_threads;
    bool keep, stream;
    const char *coord_args[32];
    int n_coord_args;
} opts_t;

typedef struct held {
    uint64_t attempt;
    int64_t first, last, next; /* next: the next frame to send */
} held_t;

typedef struct worker {
    void *sock;
    char name[32];
    held_t held[MAX_HELD];
    int n_held;
    long unacked;
    double last_send;
} worker_t;

/* The probe: a thread with its own socket (sockets are not shared). */
typedef struct probe {
    void *ctx;
    char endpoint[256];
    lx_curve_keypair_t keys;
    char server_key[LX_CURVE_KEY_CHARS + 1];
    atomic_bool stop, measuring;
    atomic_long max_rtt_us, pings, idle_max_us; /* idle: outside the SUBMIT (the finish too) */
} probe_t;

static double s_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void s_die(const char *fmt, const char *what)
{
    fprintf(stderr, "lattice-loadgen: ");
    fprintf(stderr, fmt, what);
    fputc('\n', stderr);
}

/* ---- processes and files ------------------------------------------------ */

static pid_t s_coord_pid = -1;
static char s_tmp[256];
/* SIGINT or SIGTERM: the run ends early, and still stops the coordinator
 * and removes its directory. */
static volatile sig_atomic_t s_interrupted;

static void s_on_signal(int sig)
{
    (void)sig;
    s_interrupted = 1;
}

/* Stops the coordinator by its pid: SIGTERM, then SIGKILL if it has not
 * gone within 10 s. */
static void s_stop_coordinator(void)
{
    if (s_coord_pid <= 0)
        return;
    kill(s_coord_pid, SIGTERM);
    double deadline = s_now() + 10000;
    int status;
    while (waitpid(s_coord_pid, &status, WNOHANG) == 0) {
        if (s_now() > deadline) {
            kill(s_coord_pid, SIGKILL);
            waitpid(s_coord_pid, &status, 0);
            break;
        }
        struct timespec ts = {0, 5 * 1000 * 1000};
        nanosleep(&ts, NULL); /* polling the child's exit against a deadline */
    }
    s_coord_pid = -1;
}

static void s_remove_tree(const char *path)
{
    pid_t p = fork();
    if (p == 0) {
        execlp("rm", "rm", "-rf", "--", path, (char *)NULL);
        _exit(127);
    }
    if (p > 0)
        waitpid(p, NULL, 0);
}

static bool s_write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return false;
    bool ok = fputs(text, f) >= 0;
    return fclose(f) == 0 && ok;
}

/* A key pair written as `lattice keygen PATH` writes it. */
static bool s_keygen(const char *dir, const char *name, lx_curve_keypair_t *kp)
{
    char secret[512], public[512];
    snprintf(secret, sizeof secret, "%s/%s.secret", dir, name);
    snprintf(public, sizeof public, "%s/%s.public", dir, name);
    lx_error_t err = {0};
    if (lx_curve_generate(kp, &err) != LX_OK || lx_curve_write_secret(secret, kp, &err) != LX_OK ||
        lx_curve_write_public(public, kp->public_key, &err) != LX_OK) {
        s_die("%s", err.message);
        return false;
    }
    return true;
}

/* The coordinator's VmHWM and VmRSS (kB), from /proc. */
static void s_coord_memory(long *hwm_kb, long *rss_kb)
{
    *hwm_kb = *rss_kb = -1;
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)s_coord_pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    while (fgets(line, sizeof line, f)) {
        sscanf(line, "VmHWM: %ld", hwm_kb);
        sscanf(line, "VmRSS: %ld", rss_kb);
    }
    fclose(f);
}

/* The coordinator's CPU seconds so far: every thread (its ZeroMQ I/O
 * thread does the CURVE work and the socket calls), or its main thread
 * alone (the event loop: decisions, journal, files); -1 when /proc
 * cannot say. */
static double s_coord_cpu(bool main_thread)
{
    char path[64], text[1024];
    if (main_thread)
        snprintf(path, sizeof path, "/proc/%d/task/%d/stat", (int)s_coord_pid, (int)s_coord_pid);
    else
        snprintf(path, sizeof path, "/proc/%d/stat", (int)s_coord_pid);
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(text, 1, sizeof text - 1, f) : 0;
    if (f)
        fclose(f);
    text[n] = '\0';
    const char *p = strrchr(text, ')');
    unsigned long ut = 0, st = 0;
    /* After the name: state, then fields 4..13, then utime and stime. */
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
        return -1;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* Starts the coordinator; its bound endpoint (port picked by the system)
 * from its `event=started` log line, polled against a deadline. */
static bool s_start_coordinator(const opts_t *o, const char *state, char *endpoint, size_t size)
{
    char log[512], secret[512], allow[512], out_root[512];
    snprintf(log, sizeof log, "%s/coordinator.log", s_tmp);
    snprintf(secret, sizeof secret, "%s/keys/coordinator.secret", s_tmp);
    snprintf(allow, sizeof allow, "%s/keys/allow", s_tmp);
    snprintf(out_root, sizeof out_root, "%s/out", s_tmp);
    const char *argv[64];
    int n = 0;
    argv[n++] = o->coordinator;
    argv[n++] = "--bind";
    argv[n++] = "tcp://127.0.0.1:*";
    argv[n++] = "--state";
    argv[n++] = state;
    argv[n++] = "--secret-key";
    argv[n++] = secret;
    argv[n++] = "--allow";
    argv[n++] = allow;
    argv[n++] = "--allow-output";
    argv[n++] = out_root;
    for (int k = 0; k < o->n_coord_args; k++)
        argv[n++] = o->coord_args[k];
    argv[n] = NULL;
    int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd < 0)
        return false;
    pid_t p = fork();
    if (p == 0) {
        dup2(fd, 2);
        execv(o->coordinator, (char *const *)argv);
        _exit(127);
    }
    close(fd);
    if (p < 0)
        return false;
    s_coord_pid = p;
    double deadline = s_now() + START_TIMEOUT_MS;
    while (s_now() < deadline) {
        FILE *f = fopen(log, "r");
        char line[4096];
        while (f && fgets(line, sizeof line, f)) {
            const char *b = strstr(line, "event=started bind=");
            if (b && sscanf(b, "event=started bind=%255s", endpoint) == 1) {
                fclose(f);
                (void)size;
                return true;
            }
        }
        if (f)
            fclose(f);
        if (waitpid(p, NULL, WNOHANG) == p) {
            s_coord_pid = -1;
            break;
        }
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL); /* polling the log against a deadline */
    }
    fprintf(stderr, "lattice-loadgen: the coordinator did not start; its log is %s\n", log);
    return false;
}

/* ---- messages --------------------------------------------------------- */

static void *s_dealer(void *ctx, const char *endpoint, const lx_curve_keypair_t *kp,
                      const char *server_key)
{
    void *s = zmq_socket(ctx, ZMQ_DEALER);
    int zero = 0, hwm = 0;
    zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(s, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(s, ZMQ_RCVHWM, &hwm, sizeof hwm);
    lx_error_t err = {0};
    if (lx_curve_set_client(s, kp, server_key, &err) != LX_OK || zmq_connect(s, endpoint) != 0) {
        s_die("%s", err.message[0] ? err.message : "cannot connect");
        zmq_close(s);
        return NULL;
    }
    return s;
}

static bool s_send(void *sock, const lx_msg_t *m, lx_strbuf_t *buf)
{
    buf->len = 0;
    lx_error_t err = {0};
    if (lx_msg_encode(m, buf, &err) != LX_OK) {
        s_die("encode: %s", err.message);
        return false;
    }
    return zmq_send(sock, buf->buf, buf->len, ZMQ_DONTWAIT) >= 0;
}

/* Receives one message without waiting; false when none is there (or it
 * does not decode: counted in *bad). */
static bool s_recv(void *sock, zmq_msg_t *frame, lx_arena_t *arena, lx_msg_t *m, long *bad)
{
    if (zmq_msg_recv(frame, sock, ZMQ_DONTWAIT) < 0)
        return false;
    lx_arena_release(arena);
    lx_arena_init(arena, NULL);
    lx_error_t err = {0};
    if (lx_msg_decode(zmq_msg_data(frame), zmq_msg_size(frame), arena, m, &err) != LX_OK) {
        (*bad)++;
        m->type = LX_MSG_NONE;
    }
    return true;
}

/* ---- the probe ---------------------------------------------------------- */

static void *s_probe_main(void *arg)
{
    probe_t *p = arg;
    void *s = s_dealer(p->ctx, p->endpoint, &p->keys, p->server_key);
    if (!s)
        return NULL;
    lx_strbuf_t buf;
    lx_strbuf_init(&buf, NULL);
    lx_msg_t hb = {.type = LX_MSG_HEARTBEAT};
    zmq_msg_t frame;
    zmq_msg_init(&frame);
    double next = s_now();
    while (!atomic_load(&p->stop)) {
        /* One ping in flight at a time: its round trip is the time the
         * coordinator's loop took to reach it. */
        double sent = s_now();
        if (!s_send(s, &hb, &buf))
            break;
        bool measuring = atomic_load(&p->measuring);
        zmq_pollitem_t it = {s, 0, ZMQ_POLLIN, 0};
        bool answered = false;
        while (!answered && !atomic_load(&p->stop)) {
            if (zmq_poll(&it, 1, 100) > 0 && zmq_msg_recv(&frame, s, ZMQ_DONTWAIT) >= 0)
                answered = true;
            long rtt_us = (long)((s_now() - sent) * 1000);
            if (measuring && rtt_us > atomic_load(&p->max_rtt_us))
                atomic_store(&p->max_rtt_us, rtt_us);
        }
        long rtt_us = (long)((s_now() - sent) * 1000);
        /* The first ping waits for the CURVE handshake: not the loop's. */
        if (!measuring && atomic_load(&p->pings) > 0 && rtt_us > atomic_load(&p->idle_max_us))
            atomic_store(&p->idle_max_us, rtt_us);
        atomic_fetch_add(&p->pings, 1);
        next = sent + PROBE_MS;
        double wait = next - s_now();
        if (wait > 0) {
            /* Pacing: the poll times out on a socket with nothing due. */
            zmq_poll(&it, 0, (long)ceil(wait));
        }
    }
    zmq_msg_close(&frame);
    lx_strbuf_release(&buf);
    zmq_close(s);
    return NULL;
}

/* ---- the run ------------------------------------------------------------ */

typedef struct run {
    const opts_t *o;
    worker_t *w;
    void *client;
    lx_strbuf_t buf;
    lx_arena_t arena;
    zmq_msg_t frame;
    /* the job */
    char job[72];
    lx_export_plan_t plan;
    lx_export_file_t *files;
    uint32_t n_files;
    bool producing, swept;
    int epoll;         /* the workers' ZMQ_FDs */
    double last_sweep; /* heartbeats */
    /* counts */
    long sent, acked, errors, bad, assigns, cancels, dup_acks;
    float *sent_at;  /* [frames]: when each frame's FRAME went, ms since t0; <0: not in flight */
    float *latency;  /* [ingest]: FRAME -> ACK, ms */
    float *acked_at; /* [ingest]: when the k-th ACK came, ms since t0 */
    int64_t *acked_frames;
    double t0;
} run_t;

static void s_frame_msg(run_t *r, const held_t *h, int64_t f, lx_msg_t *m, lx_file_rec_t *recs,
                        double *cam, int64_t *storage, char (*names)[64], char (*hashes)[65],
                        uint8_t (*bytes)[16])
{
    (void)storage;
    memset(m, 0, sizeof *m);
    m->type = LX_MSG_FRAME;
    LX_MSG_SET(m, job, r->job);
    LX_MSG_SET(m, attempt, h->attempt);
    LX_MSG_SET(m, frame, f);
    LX_MSG_SET(m, render_ms, 0.1);
    LX_MSG_SET(m, t_ms, (double)f * 1000.0 / 30.0);
    /* A camera at (0, 0, 5) looking at the origin: any finite camera of a
     * known projection is a valid one. */
    const double v[LX_CAMERA_VALUES] = {0, 0, 0, 5, 0, 0, 0, 0, 1, 0, 0, 0, -1, 45, 2, 0.1, 100};
    memcpy(cam, v, sizeof v);
    LX_MSG_SET(m, camera, ((lx_f64s_t){cam, LX_CAMERA_VALUES}));
    for (uint32_t k = 0; k < r->n_files; k++) {
        lx_file_rec_t *rec = &recs[k];
        memset(rec, 0, sizeof *rec);
        lx_export_frame_name(names[k], 64, &r->plan, f, r->files[k].ext);
        int len = snprintf((char *)bytes[k], 16, "%" PRId64, f);
        lx_sha256_hex(bytes[k], (size_t)len, hashes[k]);
        LX_REC_SET(rec, LX_FILE_REC, key, r->files[k].key);
        LX_REC_SET(rec, LX_FILE_REC, name, names[k]);
        LX_REC_SET(rec, LX_FILE_REC, hash, hashes[k]);
        LX_REC_SET(rec, LX_FILE_REC, content, "00000000000000000000000000000000");
        LX_REC_SET(rec, LX_FILE_REC, bytes, ((lx_bytes_t){bytes[k], (size_t)len}));
    }
    LX_MSG_SET(m, files, ((lx_file_recs_t){recs, r->n_files}));
}

/* Sends worker w's next frames while it has fewer than window
 * unacknowledged; a chunk all sent is followed by its CHUNK_DONE. */
static void s_produce(run_t *r, worker_t *w)
{
    const opts_t *o = r->o;
    while (r->producing && w->n_held > 0 && w->unacked < o->window && r->sent < o->ingest) {
        held_t *h = &w->held[0];
        if (h->next > h->last) {
            lx_msg_t m = {.type = LX_MSG_CHUNK_DONE};
            LX_MSG_SET(&m, job, r->job);
            LX_MSG_SET(&m, attempt, h->attempt);
            if (!s_send(w->sock, &m, &r->buf))
                return;
            memmove(&w->held[0], &w->held[1], (size_t)(--w->n_held) * sizeof *w->held);
            continue;
        }
        lx_msg_t m;
        lx_file_rec_t recs[MAX_FILES];
        double cam[LX_CAMERA_VALUES];
        char names[MAX_FILES][64], hashes[MAX_FILES][65];
        uint8_t bytes[MAX_FILES][16];
        s_frame_msg(r, h, h->next, &m, recs, cam, NULL, names, hashes, bytes);
        double now = s_now();
        if (!s_send(w->sock, &m, &r->buf))
            return; /* the socket is full: later */
        r->sent_at[h->next] = (float)(now - r->t0);
        h->next++;
        w->unacked++;
        w->last_send = now;
        r->sent++;
    }
}

static void s_on_worker_msg(run_t *r, worker_t *w, const lx_msg_t *m)
{
    switch (m->type) {
    case LX_MSG_ASSIGN:
        r->assigns++;
        if ((LX_MSG_HAS(m, audit) && m->audit) || m->frames.n != 2 || w->n_held == MAX_HELD) {
            lx_msg_t f = {.type = LX_MSG_CHUNK_FAIL};
            LX_MSG_SET(&f, job, m->job);
            LX_MSG_SET(&f, attempt, m->attempt);
            LX_MSG_SET(&f, reason, "busy");
            s_send(w->sock, &f, &r->buf);
            break;
        }
        w->held[w->n_held++] = (held_t){m->attempt, m->frames.v[0], m->frames.v[1], m->frames.v[0]};
        break;
    case LX_MSG_CANCEL:
        r->cancels++;
        for (int k = 0; k < w->n_held; k++)
            if (w->held[k].attempt == m->attempt) {
                memmove(&w->held[k], &w->held[k + 1], (size_t)(w->n_held - k - 1) * sizeof *w->held);
                w->n_held--;
                break;
            }
        break;
    case LX_MSG_ACK: {
        double now = s_now() - r->t0;
        for (uint32_t k = 0; k < m->frames.n; k++) {
            int64_t f = m->frames.v[k];
            if (f < 0 || f >= r->o->frames || r->sent_at[f] < 0) {
                r->dup_acks++;
                continue;
            }
            if (r->acked < r->o->ingest) {
                r->latency[r->acked] = (float)now - r->sent_at[f];
                r->acked_at[r->acked] = (float)now;
                r->acked_frames[r->acked] = f;
            }
            r->sent_at[f] = -1;
            r->acked++;
            w->unacked--;
        }
        break;
    }
    case LX_MSG_ERROR:
        r->errors++;
        if (r->errors <= 5)
            fprintf(stderr, "lattice-loadgen: %s: ERROR %s: %s\n", w->name, m->code, m->message);
        break;
    default:
        break; /* HEARTBEAT, PROGRAM */
    }
}

/* Reads everything worker w has, then sends what it may; again while
 * its socket says more came in (a send can take the edge of its ZMQ_FD,
 * so the socket is asked, not the fd). */
static void s_service(run_t *r, worker_t *w)
{
    for (;;) {
        lx_msg_t m;
        while (s_recv(w->sock, &r->frame, &r->arena, &m, &r->bad))
            s_on_worker_msg(r, w, &m);
        s_produce(r, w);
        int events = 0;
        size_t len = sizeof events;
        if (zmq_getsockopt(w->sock, ZMQ_EVENTS, &events, &len) != 0 || !(events & ZMQ_POLLIN))
            return;
    }
}

/* One round of the workers' loop: the sockets whose ZMQ_FD fired (epoll,
 * edge-triggered: a poll over a thousand sockets costs more than the
 * messages), then a heartbeat from every idle worker now and then. */
static void s_round(run_t *r, long timeout_ms)
{
    const opts_t *o = r->o;
    struct epoll_event ev[256];
    int n = epoll_wait(r->epoll, ev, 256, (int)timeout_ms);
    for (int k = 0; k < n; k++)
        s_service(r, &r->w[ev[k].data.u64]);
    double now = s_now();
    if (r->producing && !r->swept) {
        /* Production just started: every worker with a chunk begins. */
        r->swept = true;
        for (long i = 0; i < o->workers; i++)
            s_service(r, &r->w[i]);
    }
    if (now - r->last_sweep < HEARTBEAT_MS / 3)
        return;
    r->last_sweep = now;
    for (long i = 0; i < o->workers; i++) {
        worker_t *w = &r->w[i];
        if (now - w->last_send > HEARTBEAT_MS) {
            lx_msg_t hb = {.type = LX_MSG_HEARTBEAT};
            s_send(w->sock, &hb, &r->buf);
            w->last_send = now;
            s_service(r, w);
        }
    }
}

/* A request of the client, answered within timeout_ms while the workers
 * go on; the reply into *m (its strings in r->arena until the next
 * receive). False on timeout. */
static bool s_ask(run_t *r, const lx_msg_t *req, lx_msg_t *m, double timeout_ms)
{
    if (!s_send(r->client, req, &r->buf))
        return false;
    double deadline = s_now() + timeout_ms;
    while (s_now() < deadline) {
        if (s_recv(r->client, &r->frame, &r->arena, m, &r->bad))
            return true;
        s_round(r, 1);
    }
    return false;
}

static double s_pct(float *v, long n, double p)
{
    if (n <= 0)
        return NAN;
    long k = (long)floor(p * (double)(n - 1) + 0.5);
    return v[k];
}

static int s_cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

static long s_arg(const char *s, long lo, long hi)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    return errno == 0 && end != s && !*end && v >= lo && v <= hi ? v : -1;
}

static void s_usage(void)
{
    fprintf(stderr,
            "usage: lattice-loadgen --coordinator PATH --patch PATCH [options]\n\n"
            "  --workers W        simulated workers (default 50)\n"
            "  --frames F         frames of the export (default 5000)\n"
            "  --ingest N         stop after N results (default F): a prefix of a large job\n"
            "  --window K         unacknowledged results per worker (default 4)\n"
            "  --credit C         READY credit per worker (default 1)\n"
            "  --chunk N          SUBMIT chunk (default: the coordinator's adaptive chunks)\n"
            "  --artifacts LIST   the export's artifacts (default camera: no per-frame file);\n"
            "                     other artifacts travel inline (stream mode), a few bytes each\n"
            "  --state DIR        the coordinator's --state (kept; default: a temporary one)\n"
            "  --kill-after N     kill -9 the coordinator after N acknowledgements and write\n"
            "                     the acknowledged frames, one a line, to --acked FILE\n"
            "  --coord-arg ARG    one more argument for lattice-coordinator (repeatable)\n"
            "  --io-threads N     this process's ZeroMQ I/O threads (default 1)\n"
            "  --timeout-s S      give up after S seconds (default 600)\n"
            "  --keep             keep the temporary directory\n");
}

static bool s_parse(int argc, char **argv, opts_t *o)
{
    *o = (opts_t){.artifacts = "camera", .workers = 50, .frames = 5000, .ingest = -1,
                  .window = 4, .credit = 1, .kill_after = -1, .timeout_s = 600, .io_threads = 1};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        long *num = NULL, lo = 1, hi = 100000000;
        if (strcmp(a, "--keep") == 0) {
            o->keep = true;
            continue;
        }
        if (!v)
            return false;
        i++;
        if (strcmp(a, "--coordinator") == 0)
            o->coordinator = v;
        else if (strcmp(a, "--patch") == 0)
            o->patch = v;
        else if (strcmp(a, "--artifacts") == 0)
            o->artifacts = v;
        else if (strcmp(a, "--state") == 0)
            o->state = v;
        else if (strcmp(a, "--acked") == 0)
            o->acked_file = v;
        else if (strcmp(a, "--coord-arg") == 0 && o->n_coord_args < 32)
            o->coord_args[o->n_coord_args++] = v;
        else if (strcmp(a, "--workers") == 0)
            num = &o->workers, hi = 4096;
        else if (strcmp(a, "--frames") == 0)
            num = &o->frames;
        else if (strcmp(a, "--ingest") == 0)
            num = &o->ingest, lo = 0;
        else if (strcmp(a, "--window") == 0)
            num = &o->window, hi = 100000;
        else if (strcmp(a, "--credit") == 0)
            num = &o->credit, hi = MAX_HELD;
        else if (strcmp(a, "--chunk") == 0)
            num = &o->chunk, hi = 100000;
        else if (strcmp(a, "--kill-after") == 0)
            num = &o->kill_after;
        else if (strcmp(a, "--timeout-s") == 0)
            num = &o->timeout_s, hi = 86400;
        else if (strcmp(a, "--io-threads") == 0)
            num = &o->io_threads, hi = 16;
        else
            return false;
        if (num && (*num = s_arg(v, lo, hi)) < 0)
            return false;
    }
    if (o->ingest < 0 || o->ingest > o->frames)
        o->ingest = o->frames;
    return o->coordinator && o->patch && (o->kill_after < 0 || o->acked_file);
}

/* The export the SUBMIT asks for, planned here too: the fake workers
 * need its file list (lx_export_frame_files) and names. */
static bool s_plan(run_t *r, const char *patch, size_t len)
{
    lx_export_request_t req = LX_EXPORT_REQUEST_INIT;
    req.patch = patch;
    req.patch_len = len;
    req.patch_name = r->o->patch;
    req.has_frames = true;
    req.first = 0;
    req.last = r->o->frames - 1;
    req.artifacts = r->o->artifacts;
    req.allow_past_end = true;
    lx_strbuf_t report;
    lx_strbuf_init(&report, NULL);
    lx_error_t err = {0};
    lx_program_t *p = NULL;
    lx_result_t rc = lx_export_prepare(&req, NULL, &p, &r->plan, &report, &err);
    if (rc == LX_OK)
        rc = lx_export_frame_files(p, &r->plan, NULL, &r->files, &r->n_files, &err);
    if (rc != LX_OK)
        fprintf(stderr, "lattice-loadgen: %s: %s%s\n", r->o->patch, err.message, report.buf);
    else if (r->n_files > MAX_FILES) {
        fprintf(stderr, "lattice-loadgen: %u files per frame, at most %d\n", r->n_files,
                MAX_FILES);
        rc = LX_E_INVALID;
    }
    lx_strbuf_release(&report);
    lx_program_destroy(&p);
    return rc == LX_OK;
}

int main(int argc, char **argv)
{
    opts_t o;
    if (!s_parse(argc, argv, &o)) {
        s_usage();
        return 2;
    }
    struct sigaction sa = {.sa_handler = s_on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    size_t patch_len = 0;
    char *patch = lx_read_file(o.patch, 64u << 20, &patch_len, lx_alloc_default());
    if (!patch) {
        s_die("cannot read %s", o.patch);
        return 2;
    }
    run_t r = {.o = &o};
    if (!s_plan(&r, patch, patch_len))
        return 2;
    snprintf(s_tmp, sizeof s_tmp, "/tmp/lattice-loadgen.XXXXXX");
    if (!mkdtemp(s_tmp)) {
        s_die("cannot make a temporary directory: %s", strerror(errno));
        return 2;
    }
    char keys[300], allow_path[320], out[320], state[512];
    snprintf(keys, sizeof keys, "%s/keys", s_tmp);
    snprintf(allow_path, sizeof allow_path, "%s/allow", keys);
    snprintf(out, sizeof out, "%s/out", s_tmp);
    snprintf(state, sizeof state, "%s", o.state ? o.state : "");
    if (!o.state)
        snprintf(state, sizeof state, "%s/state", s_tmp);
    mkdir(keys, 0700);
    mkdir(out, 0755);
    /* One key for every fake worker (sessions differ by name) and an admin
     * key for the client and the probe, as cluster_lib.sh makes them. */
    lx_curve_keypair_t coord_kp, worker_kp, admin_kp;
    int status = 2;
    char allow[512];
    bool ok = s_keygen(keys, "coordinator", &coord_kp) && s_keygen(keys, "worker", &worker_kp) &&
              s_keygen(keys, "admin", &admin_kp);
    if (ok) {
        snprintf(allow, sizeof allow, "worker %s worker\nadmin %s admin\n", worker_kp.public_key,
                 admin_kp.public_key);
        ok = s_write_text(allow_path, allow);
    }
    char endpoint[256] = "";
    if (ok)
        ok = s_start_coordinator(&o, state, endpoint, sizeof endpoint);
    void *ctx = zmq_ctx_new();
    zmq_ctx_set(ctx, ZMQ_IO_THREADS, (int)o.io_threads);
    zmq_ctx_set(ctx, ZMQ_MAX_SOCKETS, (int)o.workers + 64);
    r.w = calloc((size_t)o.workers, sizeof *r.w);
    r.sent_at = malloc((size_t)o.frames * sizeof *r.sent_at);
    r.latency = malloc((size_t)(o.ingest ? o.ingest : 1) * sizeof *r.latency);
    r.acked_at = malloc((size_t)(o.ingest ? o.ingest : 1) * sizeof *r.acked_at);
    r.acked_frames = malloc((size_t)(o.ingest ? o.ingest : 1) * sizeof *r.acked_frames);
    ok = ok && r.w && r.sent_at && r.latency && r.acked_at && r.acked_frames;
    for (long f = 0; ok && f < o.frames; f++)
        r.sent_at[f] = -1;
    lx_strbuf_init(&r.buf, NULL);
    lx_arena_init(&r.arena, NULL);
    zmq_msg_init(&r.frame);
    probe_t probe = {.ctx = ctx};
    pthread_t probe_thread;
    bool probing = false;
    double deadline = s_now() + (double)o.timeout_s * 1000;
    long hwm_kb = -1, rss_kb = -1;
    double submit_ms = NAN;
    char job_state[32] = "?";
    uint64_t job_done = 0;
    if (!ok)
        goto out;
    /* The workers say HELLO and READY; they are all there once the
     * coordinator lists them. */
    r.client = s_dealer(ctx, endpoint, &admin_kp, coord_kp.public_key);
    r.epoll = epoll_create1(EPOLL_CLOEXEC);
    ok = r.client != NULL && r.epoll >= 0;
    for (long i = 0; ok && i < o.workers; i++) {
        worker_t *w = &r.w[i];
        snprintf(w->name, sizeof w->name, "load%04ld", i);
        if (!(w->sock = s_dealer(ctx, endpoint, &worker_kp, coord_kp.public_key))) {
            ok = false;
            break;
        }
        lx_msg_t hello = {.type = LX_MSG_HELLO};
        LX_MSG_SET(&hello, name, w->name);
        LX_MSG_SET(&hello, build, "lattice-loadgen");
        LX_MSG_SET(&hello, threads, 1);
        lx_msg_t ready = {.type = LX_MSG_READY};
        LX_MSG_SET(&ready, credit, (uint64_t)o.credit);
        ok = s_send(w->sock, &hello, &r.buf) && s_send(w->sock, &ready, &r.buf);
        w->last_send = s_now();
        int fd = -1;
        size_t fd_len = sizeof fd;
        struct epoll_event ev = {.events = EPOLLIN | EPOLLET, .data.u64 = (uint64_t)i};
        ok = ok && zmq_getsockopt(w->sock, ZMQ_FD, &fd, &fd_len) == 0 &&
             epoll_ctl(r.epoll, EPOLL_CTL_ADD, fd, &ev) == 0;
        if (ok)
            s_service(&r, w);
    }
    uint32_t listed = 0;
    while (ok && listed < (uint32_t)o.workers && s_now() < deadline && !s_interrupted) {
        lx_msg_t req = {.type = LX_MSG_WORKERS}, rep;
        if (s_ask(&r, &req, &rep, 5000) && rep.type == LX_MSG_WORKER_LIST)
            listed = rep.workers.n;
        double until = s_now() + 50;
        while (listed < (uint32_t)o.workers && s_now() < until)
            s_round(&r, 5);
    }
    if (!ok || listed < (uint32_t)o.workers) {
        fprintf(stderr, "lattice-loadgen: %u of %ld workers joined\n", listed, o.workers);
        ok = false;
        goto out;
    }
    /* The probe, measuring its idle round trip first. */
    snprintf(probe.endpoint, sizeof probe.endpoint, "%s", endpoint);
    probe.keys = admin_kp;
    snprintf(probe.server_key, sizeof probe.server_key, "%s", coord_kp.public_key);
    probing = pthread_create(&probe_thread, NULL, s_probe_main, &probe) == 0;
    double settle = s_now() + 300;
    while (s_now() < settle)
        s_round(&r, 5);
    /* SUBMIT, timed, with the probe measuring until the workers that can
     * have their chunks. */
    atomic_store(&probe.measuring, true);
    lx_msg_t sub = {.type = LX_MSG_SUBMIT}, rep;
    char token[64];
    snprintf(token, sizeof token, "loadgen-%d", (int)getpid());
    int64_t range[2] = {0, o.frames - 1};
    LX_MSG_SET(&sub, token, token);
    LX_MSG_SET(&sub, out, out);
    LX_MSG_SET(&sub, patch, patch);
    LX_MSG_SET(&sub, source, o.patch);
    LX_MSG_SET(&sub, frames, ((lx_i64s_t){range, 2}));
    LX_MSG_SET(&sub, artifacts, o.artifacts);
    LX_MSG_SET(&sub, output, "stream");
    if (o.chunk)
        LX_MSG_SET(&sub, chunk, (uint64_t)o.chunk);
    double t_submit = s_now();
    bool replied = s_ask(&r, &sub, &rep, 120000);
    submit_ms = s_now() - t_submit;
    if (!replied || rep.type != LX_MSG_JOBS || rep.jobs.n != 1) {
        fprintf(stderr, "lattice-loadgen: SUBMIT: %s %s\n", replied ? "answered" : "no answer",
                rep.type == LX_MSG_ERROR ? rep.message : "");
        ok = false;
        goto out;
    }
    snprintf(r.job, sizeof r.job, "%s", rep.jobs.v[0].job);
    long want = o.workers * o.credit;
    double until = s_now() + 100;
    while (s_now() < until || (r.assigns < want && s_now() < t_submit + 10000))
        s_round(&r, 2);
    atomic_store(&probe.measuring, false);
    /* The steady part: results as fast as the coordinator takes them. */
    r.t0 = s_now();
    double cpu0 = s_coord_cpu(false), main0 = s_coord_cpu(true);
    r.producing = true;
    bool killed = false;
    while (r.acked < o.ingest && s_now() < deadline && !s_interrupted) {
        s_round(&r, 5);
        if (o.kill_after >= 0 && r.acked >= o.kill_after) {
            /* A crash between batches: every result acknowledged so far
             * must be in the journal when it comes back. */
            kill(s_coord_pid, SIGKILL);
            waitpid(s_coord_pid, NULL, 0);
            s_coord_pid = -1;
            killed = true;
            break;
        }
    }
    double t_end = s_now() - r.t0;
    double cpu = s_coord_cpu(false) - cpu0, cpu_main = s_coord_cpu(true) - main0;
    if (!killed)
        s_coord_memory(&hwm_kb, &rss_kb);
    /* Every frame sent: the job must say done. */
    while (!killed && r.acked == o.frames && s_now() < deadline && !s_interrupted) {
        lx_msg_t st = {.type = LX_MSG_STATUS}, jr;
        LX_MSG_SET(&st, job, r.job);
        if (s_ask(&r, &st, &jr, 5000) && jr.type == LX_MSG_JOBS && jr.jobs.n == 1) {
            snprintf(job_state, sizeof job_state, "%s", jr.jobs.v[0].state);
            job_done = jr.jobs.v[0].done;
            if (strcmp(job_state, "running") != 0 && strcmp(job_state, "queued") != 0)
                break;
        }
        double next = s_now() + 20;
        while (s_now() < next)
            s_round(&r, 5);
    }
    if (!killed && r.acked < o.frames) {
        lx_msg_t st = {.type = LX_MSG_STATUS}, jr;
        LX_MSG_SET(&st, job, r.job);
        if (s_ask(&r, &st, &jr, 5000) && jr.type == LX_MSG_JOBS && jr.jobs.n == 1) {
            snprintf(job_state, sizeof job_state, "%s", jr.jobs.v[0].state);
            job_done = jr.jobs.v[0].done;
        }
        s_coord_memory(&hwm_kb, &rss_kb);
    }
    /* The job's end (its manifest is written in the loop) counts too. */
    long final_hwm_kb = -1, final_rss_kb = -1;
    if (!killed)
        s_coord_memory(&final_hwm_kb, &final_rss_kb);
    /* Numbers. */
    long n = r.acked < o.ingest ? r.acked : o.ingest;
    long lo = n / 10, hi = n - n / 10 - 1;
    double rate = hi > lo && r.acked_at[hi] > r.acked_at[lo]
                      ? (double)(hi - lo) / (r.acked_at[hi] - r.acked_at[lo]) * 1000
                      : NAN;
    qsort(r.latency, (size_t)n, sizeof *r.latency, s_cmp_float);
    printf("workers %ld\nframes %ld\ningest %ld\nwindow %ld\ncredit %ld\n", o.workers, o.frames,
           o.ingest, o.window, o.credit);
    printf("artifacts %s\nfiles_per_frame %u\n", o.artifacts, r.n_files);
    printf("submit_ms %.1f\nloop_blocked_ms %.1f\nloop_blocked_other_max_ms %.1f\nprobe_pings %ld\n",
           submit_ms, (double)atomic_load(&probe.max_rtt_us) / 1000,
           (double)atomic_load(&probe.idle_max_us) / 1000, atomic_load(&probe.pings));
    printf("sent %ld\nacked %ld\nerrors %ld\nbad_messages %ld\ncancels %ld\n", r.sent, r.acked,
           r.errors, r.bad, r.cancels);
    printf("ingest_s %.2f\nresults_per_s %.0f\n", t_end / 1000, rate);
    printf("coord_cpu_s %.2f\ncoord_cpu_us_per_result %.1f\n", cpu,
           r.acked ? cpu * 1e6 / (double)r.acked : NAN);
    printf("coord_loop_cpu_s %.2f\ncoord_loop_us_per_result %.1f\n", cpu_main,
           r.acked ? cpu_main * 1e6 / (double)r.acked : NAN);
    printf("coord_loop_busy %.2f\n", t_end > 0 ? cpu_main * 1000 / t_end : NAN);
    printf("ack_p50_ms %.2f\nack_p99_ms %.2f\nack_max_ms %.2f\n", s_pct(r.latency, n, 0.5),
           s_pct(r.latency, n, 0.99), s_pct(r.latency, n, 1.0));
    printf("coord_vmhwm_mib %.1f\ncoord_rss_mib %.1f\ncoord_vmhwm_final_mib %.1f\n",
           (double)hwm_kb / 1024, (double)rss_kb / 1024, (double)final_hwm_kb / 1024);
    printf("job_state %s\njob_done %" PRIu64 "\n", job_state, job_done);
    printf("# results_per_s: acknowledgements between the 10th and 90th percentile of the run\n");
    printf("# coord_vmhwm_mib: after the last result; coord_vmhwm_final_mib: once the job "
           "ended (its manifest written)\n");
    printf("# loop_blocked_other_max_ms: the probe's longest round trip outside the SUBMIT "
           "(joining workers, ingest, the job's end)\n");
    if (o.ingest < o.frames)
        printf("# a prefix: %ld of %ld frames ingested; RSS is the coordinator's after it\n",
               o.ingest, o.frames);
    if (killed) {
        FILE *f = fopen(o.acked_file, "w");
        for (long k = 0; f && k < n; k++)
            fprintf(f, "%" PRId64 "\n", r.acked_frames[k]);
        ok = f && fclose(f) == 0;
        printf("killed_after %ld\n", r.acked);
    } else {
        ok = r.errors == 0 && r.acked == r.sent &&
             (r.acked < o.frames || strcmp(job_state, "done") == 0);
    }
    status = ok ? 0 : 1;
out:
    if (probing) {
        atomic_store(&probe.stop, true);
        pthread_join(probe_thread, NULL);
    }
    for (long i = 0; r.w && i < o.workers; i++)
        if (r.w[i].sock)
            zmq_close(r.w[i].sock);
    if (r.client)
        zmq_close(r.client);
    zmq_msg_close(&r.frame);
    if (r.epoll > 0)
        close(r.epoll);
    zmq_ctx_term(ctx);
    s_stop_coordinator();
    if (o.keep)
        fprintf(stderr, "lattice-loadgen: kept %s\n", s_tmp);
    else
        s_remove_tree(s_tmp);
    lx_arena_release(&r.arena);
    lx_strbuf_release(&r.buf);
    free(r.w);
    free(r.sent_at);
    free(r.latency);
    free(r.acked_at);
    free(r.acked_frames);
    free(r.files);
    lx_free(lx_alloc_default(), patch);
    return status;
}
