/* lattice-coordinator --bind tcp://HOST:7700 --state DIR [options] */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <zmq.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "lattice/coordinator.h"
#include "lattice/proc.h"

static atomic_int g_stop;

static void s_on_signal(int sig)
{
    (void)sig;
    atomic_store(&g_stop, 1);
}

static void s_help(FILE *out)
{
    fprintf(out, "usage: lattice-coordinator --bind ENDPOINT --state DIR [options]\n\n"
                 "Accepts exports from `lattice submit`, hands their frames to workers\n"
                 "(`lattice-worker --connect ...`) and writes the manifest. Jobs, frames,\n"
                 "attempts and results are journaled in DIR/journal.sqlite (WAL); started\n"
                 "again on the same DIR it resumes unfinished jobs where they were.\n\n"
                 "  --bind ENDPOINT      where workers and clients connect (tcp://0.0.0.0:7700)\n"
                 "  --state DIR          journal and program store (created if needed)\n"
                 "  --chunk N            frames per chunk (default: adaptive toward\n"
                 "                       --target-chunk-ms)\n"
                 "  --target-chunk-ms MS adaptive chunk duration (default: 10000)\n"
                 "  --heartbeat-ms MS    heartbeat interval (default: 1000)\n"
                 "  --liveness N         silent intervals before a worker is dead (default: 3)\n"
                 "  --progress-timeout-ms MS  a chunk that delivers no frame for this long is\n"
                 "                       cancelled and requeued (default: 600000; per job with\n"
                 "                       lattice submit --progress-timeout-ms)\n"
                 "  --forgive-ms MS      a worker that failed 3 chunks of a job is blocked for\n"
                 "                       it this long (default: 600000)\n"
                 "  --grace-ms MS        after a restart, how long chunks in flight wait for\n"
                 "                       their workers to come back (default: 2 x liveness\n"
                 "                       x heartbeat)\n"
                 "  --max-message-mb N   largest message accepted (default: 512)\n"
                 "  --max-sessions N     worker sessions at once (default: 4096)\n"
                 "  --max-frames N       frames per job (default: 100000000)\n"
                 "  --allow-output ROOT  jobs may write only into this absolute directory or\n"
                 "                       below it; repeat for several roots (default: any\n"
                 "                       absolute path, with a warning)\n"
                 "  --metrics HOST:PORT  serve Prometheus metrics at http://HOST:PORT/metrics\n"
                 "                       (IPv4; port 0: any, logged); no authentication:\n"
                 "                       bind where only the scraper reaches (127.0.0.1)\n"
                 "  --log-level LEVEL    error, warn, info (default) or debug; logs go to\n"
                 "                       stderr, one key=value line per event\n\n"
                 "Authentication (docs/security.md): a tcp endpoint is CURVE, and admits\n"
                 "only the keys of its allow-list, each with a role (worker, client, admin):\n"
                 "  --secret-key FILE    the coordinator's key pair (lattice keygen; mode 0600)\n"
                 "  --allow FILE         the allow-list, 'ROLE KEY [label]' a line; re-read\n"
                 "                       when it changes, so keys rotate without a restart\n"
                 "  --insecure           no authentication or encryption on tcp: anyone who\n"
                 "                       can reach the port can do anything (logged at start)\n"
                 "ipc:// and inproc:// endpoints need neither.\n\n"
                 "Stops on SIGINT or SIGTERM. Exit status: 0 stopped, 2 usage, bad keys, or\n"
                 "cannot bind / open the journal.\n");
}

/* Every connection is a file descriptor: the soft limit (often 1024) is
 * raised to the hard one, so many connections, idle or not, cannot starve
 * the coordinator of sockets and files. Logged at start. */
static void s_raise_nofile(const lx_coord_config_t *cfg)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return;
    if (rl.rlim_cur < rl.rlim_max) {
        struct rlimit want = {rl.rlim_max, rl.rlim_max};
        if (setrlimit(RLIMIT_NOFILE, &want) == 0)
            rl = want;
    }
    lx_log_line(cfg->log, cfg->log_level, LX_LOG_INFO, "event=nofile soft=%llu hard=%llu",
                (unsigned long long)rl.rlim_cur, (unsigned long long)rl.rlim_max);
}

/* Usage errors: the problem, then the help; exit status 2. */
static int s_usage(const char *fmt, const char *arg)
{
    fprintf(stderr, "lattice-coordinator: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n");
    s_help(stderr);
    return 2;
}

int main(int argc, char **argv)
{
#if defined(__GLIBC__)
    /* Every message is decoded into an arena freed right after it: at the
     * top of the heap, each free gave the memory back (brk) only for the
     * next message to ask again, a system call pair per message. */
    mallopt(M_TRIM_THRESHOLD, 64 << 20);
    mallopt(M_TOP_PAD, 4 << 20);
#endif
    lx_coord_config_t cfg = LX_COORD_CONFIG_INIT;
    cfg.log = stderr;
    cfg.stop = &g_stop;
    const char *secret_key = NULL;
    /* At most one root per argument: argc bounds them. */
    const char **roots = calloc((size_t)argc, sizeof *roots);
    if (!roots)
        return 2;
    cfg.allow_output = roots;
    int status = 2;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool v = i + 1 < argc;
        double x = 0;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            s_help(stdout);
            status = 0;
            goto out;
        } else if (strcmp(a, "--bind") == 0 && v) {
            cfg.bind = argv[++i];
        } else if (strcmp(a, "--state") == 0 && v) {
            cfg.state_dir = argv[++i];
        } else if (strcmp(a, "--chunk") == 0 && v && lx_parse_number(argv[++i], 1, 100000, &x)) {
            cfg.chunk = (uint32_t)x;
        } else if (strcmp(a, "--target-chunk-ms") == 0 && v &&
                   lx_parse_number(argv[++i], 1, 1e7, &x)) {
            cfg.target_chunk_ms = x;
        } else if (strcmp(a, "--heartbeat-ms") == 0 && v &&
                   lx_parse_number(argv[++i], 10, 60000, &x)) {
            cfg.heartbeat_ms = x;
        } else if (strcmp(a, "--liveness") == 0 && v && lx_parse_number(argv[++i], 2, 100, &x)) {
            cfg.liveness = (uint32_t)x;
        } else if (strcmp(a, "--progress-timeout-ms") == 0 && v &&
                   lx_parse_number(argv[++i], 10, 8.64e7, &x)) {
            cfg.progress_timeout_ms = x;
        } else if (strcmp(a, "--forgive-ms") == 0 && v &&
                   lx_parse_number(argv[++i], 0, 8.64e7, &x)) {
            cfg.forgive_ms = x;
        } else if (strcmp(a, "--grace-ms") == 0 && v && lx_parse_number(argv[++i], 0, 3.6e6, &x)) {
            cfg.grace_ms = x;
        } else if (strcmp(a, "--max-message-mb") == 0 && v &&
                   lx_parse_number(argv[++i], 1, 2048, &x)) {
            cfg.max_message = (size_t)x << 20;
        } else if (strcmp(a, "--max-sessions") == 0 && v &&
                   lx_parse_number(argv[++i], 1, 1000000, &x)) {
            cfg.max_sessions = (uint32_t)x;
        } else if (strcmp(a, "--max-frames") == 0 && v &&
                   lx_parse_number(argv[++i], 1, 1e12, &x)) {
            cfg.max_frames = (int64_t)x;
        } else if (strcmp(a, "--allow-output") == 0 && v) {
            if (argv[++i][0] != '/') {
                status = s_usage("--allow-output needs an absolute path, not '%s'", argv[i]);
                goto out;
            }
            roots[cfg.n_allow_output++] = argv[i];
        } else if (strcmp(a, "--secret-key") == 0 && v) {
            secret_key = argv[++i];
        } else if (strcmp(a, "--allow") == 0 && v) {
            cfg.allow_file = argv[++i];
        } else if (strcmp(a, "--insecure") == 0) {
            cfg.insecure = true;
        } else if (strcmp(a, "--metrics") == 0 && v) {
            cfg.metrics = argv[++i];
        } else if (strcmp(a, "--log-level") == 0 && v) {
            if (!lx_log_level_parse(argv[++i], &cfg.log_level)) {
                status = s_usage("unknown log level '%s'", argv[i]);
                goto out;
            }
        } else {
            fprintf(stderr, "lattice-coordinator: bad argument '%s'%s\n", a,
                    v || a[0] != '-' ? "" : " (missing value)");
            s_help(stderr);
            goto out;
        }
    }
    if (!cfg.bind || !cfg.state_dir) {
        status = s_usage("%s", "--bind and --state are required");
        goto out;
    }
    lx_error_t err = {0};
    if (secret_key && lx_curve_load_secret(secret_key, &cfg.curve, &err) != LX_OK) {
        fprintf(stderr, "lattice-coordinator: --secret-key: %s\n", err.message);
        goto out;
    }
    s_raise_nofile(&cfg);
    struct sigaction sa = {0};
    sa.sa_handler = s_on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    void *ctx = zmq_ctx_new();
    cfg.zmq_ctx = ctx;
    lx_result_t rc = lx_coord_run(&cfg, &err);
    if (rc != LX_OK)
        fprintf(stderr, "lattice-coordinator: %s\n", err.message);
    zmq_ctx_term(ctx);
    status = rc == LX_OK ? 0 : 2;
out:
    memset(&cfg.curve, 0, sizeof cfg.curve);
    free(roots);
    return status;
}
