/* lattice export PATCH -o OUT [...]: the embedded cluster. A coordinator
 * and N workers run in this process over inproc://, so one machine uses
 * the same scheduling code path as many (docs/protocol.md). */
#define _GNU_SOURCE /* realpath, sched_getaffinity */
#include <cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include "cli.h"
#include "client.h"
#include "lattice/coordinator.h"
#include "lattice/export.h"
#include "lattice/files.h"
#include "lattice/ir_codec.h"
#include "lattice/progress.h"
#include "lattice/worker.h"
#include "shard.h"
#include "sweep.h"

static void s_help(FILE *out)
{
    fprintf(out,
            "usage: lattice export PATCH -o OUT [options]\n\n"
            "Renders the patch's frames into OUT: one directory per artifact\n"
            "(rgba, depth, motion, normal, id, mask/<layer>, camera, control/...) and\n"
            "metadata.json, which lists every file's SHA-256 and is written last.\n"
            "Runs a coordinator and its workers in this process: the same scheduler\n"
            "as `lattice submit` to a cluster, and the same bytes.\n\n"
            "OUT keeps a progress journal (OUT/.lattice/progress.jsonl), so an export\n"
            "resumes: Ctrl-C finishes the frames in hand and stops; the same command\n"
            "again renders only the frames that are missing or damaged, and does\n"
            "nothing when the export is complete. Exports of the same patch and\n"
            "settings into one OUT are one export: another --frames range joins the\n"
            "frames OUT holds, and metadata.json lists them all.\n\n"
            "  -o, --output OUT     export directory (created if needed)\n"
            "%s%s"
            "  --threads N          render and encode threads per worker (default: the\n"
            "                       cores available, shared by the workers)\n"
            "  --workers N          workers in this process (default: 1)\n"
            "  --chunk N            frames per chunk (default: adaptive)\n"
            "  --shard SPEC         render one slice of the export, for a scheduler's\n"
            "                       array (Slurm, Kubernetes Indexed Job, Open Job\n"
            "                       Description): i/N (slice i of N, from 0), a-b (these\n"
            "                       frames), or auto: i from JOB_COMPLETION_INDEX or\n"
            "                       SLURM_ARRAY_TASK_ID, N from LATTICE_SHARD_COUNT (a\n"
            "                       Slurm array without it: its task range); --frames\n"
            "                       stays the whole export's. Shards write into one OUT on\n"
            "                       shared storage, side by side; then `lattice assemble\n"
            "                       OUT` writes metadata.json\n"
            "  --replace            OUT holds an export of another patch or other\n"
            "                       settings: remove its files first (other files stay)\n"
            "  --force              write into a non-empty directory that holds no\n"
            "                       export (its files are never deleted)\n"
            "  --json               print the final summary as JSON on stdout\n"
            "  --timings            also print where the workers' time went, in ms per\n"
            "                       frame: eval, raster, convert, encode, hash, write,\n"
            "                       and each artifact's encode; and the frames evaluated\n"
            "                       only as warm-up (with --json: \"timings\")\n\n"
            "Exit status: 0 exported, 1 the patch or settings have errors (a resolution\n"
            "the memory available cannot hold included) or rendering failed, 2 usage or I/O "
            "problem (OUT unusable, storage failing), 130\n"
            "interrupted (Ctrl-C), 143 terminated (SIGTERM: scancel, a pod's deletion);\n"
            "both finish the frames in hand first: run the same command again to resume.\n",
            cli_export_opts_help, cli_sweep_help);
}

typedef struct {
    lx_coord_config_t cfg;
    lx_error_t err;
    lx_result_t rc;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool ready, ended;
} coord_thread_t;

static void s_coord_ready(void *user)
{
    coord_thread_t *t = user;
    pthread_mutex_lock(&t->lock);
    t->ready = true;
    pthread_cond_signal(&t->cond);
    pthread_mutex_unlock(&t->lock);
}

static void *s_coord_main(void *arg)
{
    coord_thread_t *t = arg;
    t->rc = lx_coord_run(&t->cfg, &t->err);
    pthread_mutex_lock(&t->lock);
    t->ended = true;
    pthread_cond_signal(&t->cond);
    pthread_mutex_unlock(&t->lock);
    return NULL;
}

typedef struct {
    lx_worker_config_t cfg;
    char name[32];
    lx_error_t err;
    lx_worker_timings_t timings;
} worker_thread_t;

static void *s_worker_main(void *arg)
{
    worker_thread_t *t = arg;
    lx_worker_run(&t->cfg, &t->err);
    return NULL;
}

/* Makes eventfd fd readable (a stop's wake-up); -1 is no eventfd. */
static void s_ring(int fd)
{
    uint64_t one = 1;
    if (fd > 0 && write(fd, &one, sizeof one) != (ssize_t)sizeof one)
        return; /* the stop is still seen at the next tick */
}

static bool s_count(const char *flag, const char *v, long max, uint32_t *out)
{
    long n = 0;
    if (!cli_count("export", flag, v, 1, max, &n))
        return false;
    *out = (uint32_t)n;
    return true;
}

/* The signal that stopped the export: SIGINT (Ctrl-C) or SIGTERM (what
 * Slurm's scancel, Kubernetes and systemd send before they kill). */
static volatile sig_atomic_t s_stopped_by;

static void s_on_stop(int sig)
{
    cli_interrupted = 1;
    s_stopped_by = sig;
    /* A second one stops at once. */
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
}

/* The cores this process may run on. */
static uint32_t s_cores(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
        return (uint32_t)CPU_COUNT(&set);
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (uint32_t)n : 1;
}

/* One `lattice export` at a time in a directory, and one run of a shard:
 * each runs its own coordinator, so the cluster's output_busy cannot see
 * the other. An advisory lock on OUT/.lattice/lock (a shard's:
 * OUT/.lattice/shards/a-b/lock), held until the process ends (the kernel
 * drops it on any exit; `lattice assemble` reads it as "running").
 * Returns the descriptor, or -1 (said). */
static int s_lock(const char *out, const char *book)
{
    int o = open(out, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int d = o < 0 ? -1 : lx_progress_book_open(o, book, true);
    int fd = d < 0 ? -1 : openat(d, "lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
    int e = errno;
    if (o >= 0)
        close(o);
    if (d >= 0)
        close(d);
    if (fd < 0) {
        fprintf(stderr, "lattice export: cannot open '%s/%s/lock': %s\n", out, book, strerror(e));
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        fprintf(stderr,
                "lattice export: another lattice export is writing %s '%s'; wait for it, or "
                "stop it (Ctrl-C) first\n",
                strcmp(book, LX_PROGRESS_DIR) == 0 ? "into" : "this shard of", out);
        close(fd);
        return -1;
    }
    return fd;
}

/* What the export did, for the last line (or --json). */
typedef struct {
    char job[65];
    int64_t kept;        /* frames OUT held already, intact */
    int64_t done, total; /* frames in OUT when it ended, of the export's */
    int64_t first, last; /* the export's frames (OUT's range joined) */
    int64_t exports;     /* a sweep's exports done (their frames summed above) */
    char error[512];
} export_summary_t;

static void s_record(export_summary_t *sum, const lx_job_rec_t *j)
{
    snprintf(sum->job, sizeof sum->job, "%s", j->job);
    sum->done = (int64_t)j->done;
    sum->total = (int64_t)j->total;
    sum->first = j->first;
    sum->last = j->last;
}

/* Submits the job to the embedded coordinator and follows it. The patch
 * was compiled here already: the coordinator gets the program and its
 * resolved config, and compiles nothing. */
static int s_run_job(void *ctx, const char *endpoint, const cli_export_request_t *r,
                     const char *token, const char *out, const cli_shard_t *shard, uint32_t chunk,
                     bool force, bool replace, bool quiet, export_summary_t *sum)
{
    lx_strbuf_t program, config;
    lx_strbuf_init(&program, NULL);
    lx_strbuf_init(&config, NULL);
    lx_error_t err = {0};
    lx_export_plan_config_json(&r->plan, &config);
    if (lx_ir_encode(r->program, &program, &err) != LX_OK || config.failed) {
        snprintf(sum->error, sizeof sum->error, "%s",
                 err.message[0] ? err.message : "out of memory");
        lx_strbuf_release(&program);
        lx_strbuf_release(&config);
        return CLI_FAILED;
    }
    cli_client_t c;
    cli_client_init(&c, ctx, endpoint);
    c.timeout_ms = 60000; /* in-process: only a stuck coordinator is silent */
    c.watch_ms = 20;      /* in-process: a call costs microseconds */
    c.retries = 1;
    lx_msg_t m = {.type = LX_MSG_SUBMIT}, rep;
    LX_MSG_SET(&m, token, token);
    LX_MSG_SET(&m, program, ((lx_bytes_t){(const uint8_t *)program.buf, program.len}));
    LX_MSG_SET(&m, config, config.buf);
    LX_MSG_SET(&m, out, out);
    if (chunk)
        LX_MSG_SET(&m, chunk, chunk);
    LX_MSG_SET(&m, force, force);
    LX_MSG_SET(&m, replace, replace);
    int64_t slice[2] = {shard ? shard->first : 0, shard ? shard->last : 0};
    if (shard)
        LX_MSG_SET(&m, shard, ((lx_i64s_t){slice, 2}));
    int rc = CLI_OK;
    if (cli_client_call(&c, &m, &rep, &err) != LX_OK) {
        snprintf(sum->error, sizeof sum->error, "%s", err.message);
        rc = cli_interrupted ? CLI_INTERRUPTED : CLI_FAILED;
    } else if (rep.type == LX_MSG_ERROR) {
        snprintf(sum->error, sizeof sum->error, "%s", rep.message);
        /* A directory that cannot take this export is a usage problem. */
        rc = strcmp(rep.code, "bad_request") == 0 || strcmp(rep.code, "output_not_empty") == 0 ||
                     strcmp(rep.code, "output_busy") == 0
                 ? CLI_USAGE
                 : CLI_FAILED;
    } else {
        s_record(sum, &rep.jobs.v[0]);
        sum->kept = sum->done;
        bool complete = sum->kept == sum->total;
        if (sum->kept && !complete && !quiet)
            fprintf(stderr,
                    "%s holds %" PRId64 " of %" PRId64 " frames (%" PRId64 "-%" PRId64
                    ") of this export: rendering %" PRId64 "\n",
                    out, sum->kept, sum->total, sum->first, sum->last, sum->total - sum->kept);
        rc = cli_watch_job(&c, sum->job, quiet || complete);
    }
    cli_client_close(&c);
    lx_strbuf_release(&program);
    lx_strbuf_release(&config);
    return rc;
}

/* Releases the request (a sweep's: every variant's) and the sweep. */
static void s_release(cli_export_request_t *req, cli_sweep_t *sw, cli_export_request_t **reqs)
{
    if (*reqs)
        cli_sweep_requests_release(sw, reqs);
    else
        cli_export_request_release(req);
    cli_sweep_release(sw);
}

/* The job's counts as the coordinator has them now (after an interrupt,
 * once the workers delivered the frames in hand). */
static void s_refresh(void *ctx, const char *endpoint, export_summary_t *sum)
{
    cli_client_t c;
    cli_client_init(&c, ctx, endpoint);
    c.timeout_ms = 10000;
    c.retries = 1;
    lx_msg_t m = {.type = LX_MSG_STATUS}, rep;
    LX_MSG_SET(&m, job, sum->job);
    lx_error_t err = {0};
    if (cli_client_call(&c, &m, &rep, &err) == LX_OK && rep.type == LX_MSG_JOBS && rep.jobs.n == 1)
        s_record(sum, &rep.jobs.v[0]);
    cli_client_close(&c);
}

/* Runs every export of the sweep, one after another, each into its own
 * directory under out (locked as a lone export's), and lists those done
 * in out/index.json. It stops at the first that fails or is interrupted;
 * the index then says "complete": false, and the same command again
 * resumes every export. */
static int s_run_sweep(void *ctx, const char *endpoint, cli_sweep_t *sw,
                       const cli_export_request_t *reqs, const char *out, uint32_t chunk,
                       bool force, bool replace, export_summary_t *sum)
{
    int rc = CLI_OK;
    int64_t seeds = cli_sweep_seeds(sw), n = seeds * sw->n_variants, i = 0;
    char book[LX_BOOK_MAX];
    lx_progress_book(false, 0, 0, book);
    for (uint32_t v = 0; rc == CLI_OK && v < sw->n_variants; v++)
        for (int64_t k = 0; rc == CLI_OK && k < seeds; k++, i++) {
            char dir[CLI_SWEEP_DIR_MAX], sub[PATH_MAX];
            cli_sweep_dir(sw, v, k, dir);
            cli_export_request_t r = reqs[v];
            lx_error_t err = {0};
            int lock = -1;
            const char *why = NULL;
            if (!cli_sweep_plan("export", sw, &reqs[v], k, &r.plan))
                rc = CLI_FAILED, why = "its settings do not plan (above)";
            else if (snprintf(sub, sizeof sub, "%s/%s", out, dir) >= (int)sizeof sub)
                rc = CLI_USAGE, why = "the path is too long";
            else if (lx_mkdirs(sub, &err) != LX_OK)
                rc = CLI_USAGE, why = err.message;
            else if ((lock = s_lock(sub, book)) < 0)
                rc = CLI_USAGE, why = "another export holds it";
            if (rc != CLI_OK) {
                snprintf(sum->error, sizeof sum->error, "%.90s: %.300s", dir, why);
                break;
            }
            fprintf(stderr, "export %" PRId64 "/%" PRId64 ": %s\n", i + 1, n, dir);
            export_summary_t one = {0};
            char token[200];
            snprintf(token, sizeof token, "embedded:%s", dir);
            rc = s_run_job(ctx, endpoint, &r, token, sub, NULL, chunk, force, replace, false, &one);
            close(lock);
            if (one.job[0])
                s_refresh(ctx, endpoint, &one);
            sum->total += one.total;
            sum->done += one.done;
            sum->kept += one.kept;
            if (rc != CLI_OK) {
                snprintf(sum->error, sizeof sum->error, "%.150s: %.300s", dir, one.error);
                break;
            }
            if (!cli_sweep_record_export(sw, v, dir, sub, &err))
                rc = CLI_FAILED,
                snprintf(sum->error, sizeof sum->error,
                         "%.90s: its metadata.json cannot be read back: %.300s", dir, err.message);
            sum->exports += rc == CLI_OK;
        }
    if (!cli_sweep_write_index("export", sw, out, rc == CLI_OK) && rc == CLI_OK)
        rc = CLI_USAGE;
    return rc;
}

/* Timings in ms per frame rendered, as JSON ({} when none). */
static cJSON *s_timings_json(const lx_worker_timings_t *t)
{
    cJSON *o = cJSON_CreateObject();
    double n = t->frames ? (double)t->frames : 1.0;
    cJSON_AddNumberToObject(o, "frames", (double)t->frames);
    cJSON_AddNumberToObject(o, "warmupFrames", (double)t->warmup);
    const struct {
        const char *name;
        double ms;
    } stages[] = {{"eval", t->stages.eval},       {"raster", t->stages.raster},
                  {"convert", t->stages.convert}, {"encode", t->stages.encode},
                  {"hash", t->stages.hash},       {"write", t->write}};
    for (size_t i = 0; i < sizeof stages / sizeof stages[0]; i++)
        cJSON_AddNumberToObject(o, stages[i].name, round(stages[i].ms / n * 1e3) / 1e3);
    cJSON *a = cJSON_AddObjectToObject(o, "artifacts");
    for (uint32_t i = 0; i < t->n_artifacts; i++)
        cJSON_AddNumberToObject(a, t->artifacts[i].key,
                                round(t->artifacts[i].encode / n * 1e3) / 1e3);
    return o;
}

static void s_print_timings(const lx_worker_timings_t *t)
{
    double n = t->frames ? (double)t->frames : 1.0;
    printf("timings, ms per frame over %" PRIu64 " frames: eval %.2f, raster %.2f, encode %.2f "
           "(convert %.2f, hash %.2f, summed over threads), write %.2f\n"
           "warm-up: %" PRIu64 " frames evaluated only to reach the rendered ones\n",
           t->frames, t->stages.eval / n, t->stages.raster / n, t->stages.encode / n,
           t->stages.convert / n, t->stages.hash / n, t->write / n, t->warmup);
    printf("encode per artifact, ms per frame:");
    for (uint32_t i = 0; i < t->n_artifacts; i++)
        printf("%s %s %.2f", i ? "," : "", t->artifacts[i].key, t->artifacts[i].encode / n);
    printf("\n");
}

static void s_print_json(const char *out, const cli_shard_t *shard, bool sweep, int rc,
                         const export_summary_t *sum, double secs, const lx_worker_timings_t *times)
{
    cJSON *o = cJSON_CreateObject();
    static const char *const states[] = {"done", "failed", "error"};
    cJSON_AddStringToObject(o, "status",
                            rc == CLI_INTERRUPTED ? "interrupted" : states[rc <= 2 ? rc : 2]);
    cJSON_AddStringToObject(o, "out", out);
    if (shard)
        cJSON_AddStringToObject(o, "shard", shard->spec);
    if (sweep) {
        /* A sweep's counts are its exports' sums; their list is the index. */
        char index[PATH_MAX];
        snprintf(index, sizeof index, "%s/index.json", out);
        cJSON_AddNumberToObject(o, "exports", (double)sum->exports);
        cJSON_AddStringToObject(o, "index", index);
        cJSON_AddNumberToObject(o, "total", (double)sum->total);
        cJSON_AddNumberToObject(o, "rendered", (double)(sum->done - sum->kept));
    } else if (sum->total) {
        cJSON *r = cJSON_AddArrayToObject(o, "frames");
        cJSON_AddItemToArray(r, cJSON_CreateNumber((double)sum->first));
        cJSON_AddItemToArray(r, cJSON_CreateNumber((double)sum->last));
        cJSON_AddNumberToObject(o, "total", (double)sum->total);
        cJSON_AddNumberToObject(o, "done", (double)sum->done);
        cJSON_AddNumberToObject(o, "kept", (double)sum->kept);
        cJSON_AddNumberToObject(o, "rendered", (double)(sum->done - sum->kept));
    }
    cJSON_AddNumberToObject(o, "elapsedMs", floor(secs * 1e3));
    if (sum->error[0])
        cJSON_AddStringToObject(o, "error", sum->error);
    if (times)
        cJSON_AddItemToObject(o, "timings", s_timings_json(times));
    cli_print_json(&o);
}

int cmd_export(int argc, char **argv)
{
    const char *path = NULL, *out = NULL, *shard_spec = NULL;
    cli_export_args_t args = {0};
    cli_sweep_t sweep = {0};
    uint32_t threads = 0, workers = 1, chunk = 0;
    bool force = false, replace = false, json = false, timings = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has_value = i + 1 < argc;
        int taken;
        if (cli_is_help(a)) {
            s_help(stdout);
            return CLI_OK;
        } else if ((strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0) && has_value) {
            out = argv[++i];
        } else if ((taken = cli_export_opt("export", argc, argv, &i, &args)) != 0) {
            if (taken < 0)
                return CLI_USAGE;
        } else if (cli_sweep_opt(argc, argv, &i, &sweep)) {
            continue;
        } else if (strcmp(a, "--threads") == 0 && has_value) {
            if (!s_count("--threads", argv[++i], 256, &threads))
                return CLI_USAGE;
        } else if (strcmp(a, "--workers") == 0 && has_value) {
            if (!s_count("--workers", argv[++i], 64, &workers))
                return CLI_USAGE;
        } else if (strcmp(a, "--chunk") == 0 && has_value) {
            if (!s_count("--chunk", argv[++i], 100000, &chunk))
                return CLI_USAGE;
        } else if (strcmp(a, "--shard") == 0 && has_value) {
            shard_spec = argv[++i];
        } else if (strcmp(a, "--force") == 0) {
            force = true;
        } else if (strcmp(a, "--replace") == 0) {
            replace = true;
        } else if (strcmp(a, "--json") == 0) {
            json = true;
        } else if (strcmp(a, "--timings") == 0) {
            timings = true;
        } else if (!cli_take_patch("export", a, &path, s_help)) {
            return CLI_USAGE;
        }
    }
    if (!path || !out) {
        fprintf(stderr, "lattice export: %s\n", !path ? "which patch?" : "-o OUT is required");
        s_help(stderr);
        return CLI_USAGE;
    }
    if (threads == 0) {
        uint32_t cores = s_cores();
        threads = cores > workers ? cores / workers : 1;
    }
    if (shard_spec && replace) {
        fprintf(stderr, "lattice export: --replace cannot go with --shard: shards of one export "
                        "run side by side, and none may remove the others' files\n");
        return CLI_USAGE;
    }
    if (!cli_sweep_args_ok("export", &sweep, shard_spec, &args))
        return CLI_USAGE;
    args.patch_path = path;
    cli_export_request_t req, *reqs = NULL;
    int rc;
    if (cli_sweep_on(&sweep)) {
        /* Every variant compiled and planned before anything renders. */
        if (!(reqs = cli_sweep_start("export", &sweep, &args, &rc)))
            return rc;
        req = reqs[0]; /* borrowed: the first for the checks below */
    } else {
        rc = cli_export_request(&args, "export", &req);
    }
    /* A shard plans the whole export and renders its slice. */
    cli_shard_t shard_s, *shard = NULL;
    if (rc == CLI_OK && shard_spec) {
        if (!cli_shard_resolve("export", shard_spec, req.plan.first, req.plan.last, &shard_s)) {
            rc = CLI_USAGE;
        } else if (shard_s.empty) {
            printf("shard %s of frames %" PRId64 "-%" PRId64 " has no frames: nothing to "
                   "render\n",
                   shard_s.spec, req.plan.first, req.plan.last);
            cli_export_request_release(&req);
            return CLI_OK;
        } else if (!shard_s.whole) {
            shard = &shard_s;
        }
    }
    /* A resolution the machine cannot hold is refused before anything runs
     * (every variant of a sweep: one may draw more). */
    for (uint32_t v = 0; rc == CLI_OK && v < (reqs ? sweep.n_variants : 1); v++) {
        const cli_export_request_t *r = reqs ? &reqs[v] : &req;
        rc = cli_check_memory("export", r->program, &r->plan, threads, workers, false);
    }
    /* The export directory, made and resolved: the one root the in-process
     * coordinator and workers may write below. */
    char abs_out[PATH_MAX];
    lx_error_t oerr = {0};
    if (rc == CLI_OK && (lx_mkdirs(out, &oerr) != LX_OK || !realpath(out, abs_out))) {
        fprintf(stderr, "lattice export: %s\n", oerr.message[0] ? oerr.message : strerror(errno));
        rc = CLI_USAGE;
    }
    const char *roots[] = {abs_out};
    char book[LX_BOOK_MAX];
    lx_progress_book(shard != NULL, shard ? shard->first : 0, shard ? shard->last : 0, book);
    /* A sweep's exports lock their own directories. */
    int lock = rc == CLI_OK && !reqs ? s_lock(abs_out, book) : -1;
    if (rc == CLI_OK && !reqs &&
        (lock < 0 || (shard && !cli_shard_record(abs_out, shard, argc, argv))))
        rc = CLI_USAGE;
    if (rc != CLI_OK) {
        s_release(&req, &sweep, &reqs);
        return rc;
    }
    double start = cli_clock_ms(NULL);
    void *ctx = zmq_ctx_new();
    char endpoint[64];
    snprintf(endpoint, sizeof endpoint, "inproc://lattice-export-%ld", (long)getpid());
    atomic_int stop_coord = 0, stop_workers = 0;
    /* Rung right after each stop flag is set, so neither waits out its
     * poll tick (a quarter of a heartbeat) before it stops. */
    int wake_coord = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    int wake_workers = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    coord_thread_t ct = {.cfg = LX_COORD_CONFIG_INIT,
                         .lock = PTHREAD_MUTEX_INITIALIZER,
                         .cond = PTHREAD_COND_INITIALIZER};
    ct.cfg.zmq_ctx = ctx;
    ct.cfg.bind = endpoint;
    ct.cfg.log = stderr;
    ct.cfg.log_level = LX_LOG_WARN;
    ct.cfg.stop = &stop_coord;
    ct.cfg.wake_fd = wake_coord > 0 ? wake_coord : 0;
    ct.cfg.ready = s_coord_ready;
    ct.cfg.ready_user = &ct;
    ct.cfg.allow_output = roots;
    ct.cfg.n_allow_output = 1;
    pthread_t coord;
    worker_thread_t *wt = calloc(workers, sizeof *wt);
    pthread_t *wth = calloc(workers, sizeof *wth);
    uint32_t started = 0;
    export_summary_t sum = {0};
    struct sigaction sa = {0}, old_int, old_term;
    sa.sa_handler = s_on_stop;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    /* Ctrl-C and SIGTERM are this thread's: the coordinator and worker
     * threads start with them blocked, so no blocking call of theirs is
     * interrupted and the drain goes as the protocol says. */
    sigset_t sigint, old_mask;
    sigemptyset(&sigint);
    sigaddset(&sigint, SIGINT);
    sigaddset(&sigint, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigint, &old_mask);
    if (!wt || !wth || pthread_create(&coord, NULL, s_coord_main, &ct) != 0) {
        snprintf(sum.error, sizeof sum.error, "cannot start the coordinator");
        rc = CLI_USAGE;
    } else {
        /* Workers connect once the coordinator is bound (or has failed). */
        pthread_mutex_lock(&ct.lock);
        while (!ct.ready && !ct.ended)
            pthread_cond_wait(&ct.cond, &ct.lock);
        pthread_mutex_unlock(&ct.lock);
        for (; ct.ready && started < workers; started++) {
            worker_thread_t *t = &wt[started];
            lx_worker_config_t wc = LX_WORKER_CONFIG_INIT;
            t->cfg = wc;
            snprintf(t->name, sizeof t->name, "local-%u", started + 1);
            t->cfg.zmq_ctx = ctx;
            t->cfg.connect = endpoint;
            t->cfg.name = t->name;
            t->cfg.threads = threads;
            t->cfg.log = stderr;
            t->cfg.log_level = LX_LOG_WARN;
            t->cfg.stop = &stop_workers;
            t->cfg.wake_fd = wake_workers > 0 ? wake_workers : 0;
            t->cfg.allow_output = roots;
            t->cfg.n_allow_output = 1;
            t->cfg.timings = &t->timings;
            if (pthread_create(&wth[started], NULL, s_worker_main, t) != 0)
                break;
        }
        pthread_sigmask(SIG_SETMASK, &old_mask, NULL);
        if (ct.ready && reqs) {
            rc = s_run_sweep(ctx, endpoint, &sweep, reqs, abs_out, chunk, force, replace, &sum);
        } else if (ct.ready) {
            rc = s_run_job(ctx, endpoint, &req, "embedded", abs_out, shard, chunk, force, replace,
                           false, &sum);
        } else {
            snprintf(sum.error, sizeof sum.error, "%s", ct.err.message);
            rc = CLI_USAGE;
        }
        if (rc == CLI_INTERRUPTED)
            fprintf(stderr, "\nlattice export: %s: finishing the frames in hand\n",
                    s_stopped_by == SIGTERM ? "terminated" : "interrupted");
        /* Workers finish the frame in hand and deliver it before they go. */
        atomic_store(&stop_workers, 1);
        s_ring(wake_workers);
        for (uint32_t i = 0; i < started; i++)
            pthread_join(wth[i], NULL);
        if (sum.job[0])
            s_refresh(ctx, endpoint, &sum);
        atomic_store(&stop_coord, 1);
        s_ring(wake_coord);
        pthread_join(coord, NULL);
    }
    pthread_sigmask(SIG_SETMASK, &old_mask, NULL);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    lx_worker_timings_t times = {0};
    for (uint32_t i = 0; i < started; i++)
        lx_worker_timings_add(&times, &wt[i].timings);
    free(wt);
    free(wth);
    zmq_ctx_term(ctx);
    if (wake_coord > 0)
        close(wake_coord);
    if (wake_workers > 0)
        close(wake_workers);
    double secs = (cli_clock_ms(NULL) - start) / 1e3;
    if (json)
        s_print_json(out, shard, reqs != NULL, rc, &sum, secs, timings ? &times : NULL);
    else if (rc == CLI_OK && reqs)
        printf("wrote %s: %" PRId64 " exports of %" PRId64 " frames in all (%" PRId64
               " rendered) in %.1f s; their list: %s/index.json\n",
               out, sum.exports, sum.total, sum.done - sum.kept, secs, out);
    else if (rc == CLI_OK && shard)
        printf("%s shard %s of %s: frames %" PRId64 "-%" PRId64 " (%" PRId64 " rendered) in %.1f "
               "s; once every shard is done: lattice assemble %s\n",
               sum.kept == sum.total ? "complete:" : "wrote", shard->spec, out, sum.first, sum.last,
               sum.done - sum.kept, secs, out);
    else if (rc == CLI_OK && sum.kept == sum.total)
        printf("%s is complete: frames %" PRId64 "-%" PRId64 ", nothing to render (verify with: "
               "lattice verify %s)\n",
               out, sum.first, sum.last, out);
    else if (rc == CLI_OK)
        printf("wrote %s: frames %" PRId64 "-%" PRId64 " (%" PRId64 " rendered) in %.1f s "
               "(verify with: lattice verify %s)\n",
               out, sum.first, sum.last, sum.done - sum.kept, secs, out);
    if (timings && !json && times.frames)
        s_print_timings(&times);
    /* Files the manifest does not list are never left unsaid. */
    lx_prior_t pr;
    if (rc == CLI_OK && !shard && !reqs && lx_prior_read(abs_out, &pr, NULL) == LX_OK) {
        if (pr.foreign)
            fprintf(stderr,
                    "lattice export: note: %s also holds %u entr%s that %s not part of the "
                    "export ('%s'%s)\n",
                    out, pr.n_foreign, pr.n_foreign == 1 ? "y" : "ies",
                    pr.n_foreign == 1 ? "is" : "are", pr.foreign_name,
                    pr.n_foreign > 1 ? ", ..." : "");
        lx_prior_release(&pr);
    }
    if (rc == CLI_INTERRUPTED)
        fprintf(stderr,
                "lattice export: stopped with %" PRId64 " of %" PRId64 " frames in %s; run the "
                "same command again to resume\n",
                sum.done, sum.total, out);
    else if (rc != CLI_OK && sum.error[0])
        fprintf(stderr, "lattice export: %s\n", sum.error);
    s_release(&req, &sweep, &reqs);
    if (lock >= 0)
        close(lock);
    /* 128 + the signal, as a shell reports it. */
    return rc == CLI_INTERRUPTED && s_stopped_by == SIGTERM ? 128 + SIGTERM : rc;
}

/* verify --json: the report as one object. Each problem is a line of the
 * report ("missing    rgba/frame_000003.png", "extra ...", "combined hash
 * of ..."): its text, and its kind and path when it names a file. */
static void s_verify_json(const char *dir, lx_result_t r, const lx_verify_report_t *rep,
                          const char *error)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "dir", dir);
    cJSON_AddBoolToObject(o, "ok", r == LX_OK);
    if (r != LX_OK && r != LX_E_VERIFY) {
        cJSON_AddStringToObject(o, "error", error);
        cli_print_json(&o);
        return;
    }
    cJSON_AddNumberToObject(o, "checked", (double)rep->checked);
    cJSON_AddNumberToObject(o, "missing", (double)rep->missing);
    cJSON_AddNumberToObject(o, "mismatched", (double)(rep->mismatched + rep->combined_bad));
    cJSON_AddNumberToObject(o, "extra", (double)rep->extra);
    cJSON *list = cJSON_AddArrayToObject(o, "problems");
    static const char *const kinds[] = {"missing", "mismatched", "extra"};
    char text[2 * LX_PATH_MAX];
    for (const char *line = rep->text.buf; line && *line;) {
        size_t n = strcspn(line, "\n");
        snprintf(text, sizeof text, "%.*s", (int)n, line);
        line += n + (line[n] == '\n');
        cJSON *pr = cJSON_CreateObject();
        cJSON_AddItemToArray(list, pr);
        const char *kind = "other", *path = NULL;
        for (int k = 0; k < 3 && !path; k++) {
            size_t kl = strlen(kinds[k]);
            if (strncmp(text, kinds[k], kl) == 0 && text[kl] == ' ') {
                kind = kinds[k];
                for (path = text + kl; *path == ' ';)
                    path++;
            }
        }
        cJSON_AddStringToObject(pr, "kind", kind);
        if (path)
            cJSON_AddStringToObject(pr, "path", path);
        cJSON_AddStringToObject(pr, "message", text);
    }
    cli_print_json(&o);
}

int cmd_verify(int argc, char **argv)
{
    const char *dir = NULL;
    bool json = false;
    for (int i = 1; i < argc; i++) {
        if (cli_is_help(argv[i])) {
            printf("usage: lattice verify OUT [--json]\n\n"
                   "Re-hashes every file metadata.json lists and reports missing, mismatched\n"
                   "and extra files.\n\n"
                   "  --json   print one JSON object instead: dir, ok, checked, missing,\n"
                   "           mismatched, extra and problems [{kind, path, message}]\n"
                   "           (error instead of the counts when there is no manifest)\n\n"
                   "Exit status: 0 everything matches, 1 something does not, 2 OUT has no\n"
                   "readable manifest or the command line is wrong.\n");
            return CLI_OK;
        } else if (strcmp(argv[i], "--json") == 0) {
            json = true;
        } else if (!dir && argv[i][0] != '-') {
            dir = argv[i];
        } else {
            fprintf(stderr, "lattice verify: unexpected '%s'\n", argv[i]);
            return CLI_USAGE;
        }
    }
    if (!dir) {
        fprintf(stderr, "usage: lattice verify OUT [--json]\n");
        return CLI_USAGE;
    }
    lx_verify_report_t rep;
    lx_error_t err = {0};
    lx_result_t r = lx_export_verify(dir, &rep, &err);
    int rc = r == LX_OK ? CLI_OK : r == LX_E_VERIFY ? CLI_FAILED : CLI_USAGE;
    if (json) {
        s_verify_json(dir, r, &rep, err.message);
        if (rc == CLI_USAGE)
            fprintf(stderr, "lattice verify: %s\n", err.message);
    } else if (r == LX_OK) {
        fputs(rep.text.buf, stdout);
        printf("%s: all %" PRIu64 " files match\n", dir, rep.checked);
    } else if (r == LX_E_VERIFY) {
        fputs(rep.text.buf, stdout);
        printf("%s: %" PRIu64 " checked, %" PRIu64 " missing, %" PRIu64 " mismatched, %" PRIu64
               " extra\n",
               dir, rep.checked, rep.missing, rep.mismatched + rep.combined_bad, rep.extra);
    } else {
        fputs(rep.text.buf, stdout);
        fprintf(stderr, "lattice verify: %s\n", err.message);
    }
    lx_strbuf_release(&rep.text);
    return rc;
}
