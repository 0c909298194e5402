/* lattice-worker --connect tcp://HOST:7700 [--threads N] [--name NAME] */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "lattice/proc.h"
#include "lattice/worker.h"

static atomic_int g_stop;

static void s_on_signal(int sig)
{
    (void)sig;
    atomic_store(&g_stop, 1);
}

static void s_help(FILE *out)
{
    fprintf(out, "usage: lattice-worker --connect ENDPOINT [options]\n\n"
                 "Renders frames for a lattice-coordinator. Stateless: programs and\n"
                 "settings come from the coordinator. Reconnects with backoff (1 s\n"
                 "doubling to 32 s) when the coordinator goes silent.\n\n"
                 "  --connect ENDPOINT   the coordinator (tcp://HOST:7700)\n"
                 "  --threads N          render and encode threads (default: 1)\n"
                 "  --name NAME          shown in `lattice workers` (default: HOST-PID)\n"
                 "  --heartbeat-ms MS    heartbeat interval (default: 1000)\n"
                 "  --liveness N         silent intervals before reconnecting (default: 3)\n"
                 "  --log-level LEVEL    error, warn, info (default) or debug (stderr)\n\n"
                 "SIGTERM or SIGINT drains: the frame in hand is finished and reported,\n"
                 "the rest of its chunk is given back, and the worker exits 0.\n"
                 "Exit status: 0 drained, 2 usage or socket error.\n");
}

int main(int argc, char **argv)
{
    lx_worker_config_t cfg = LX_WORKER_CONFIG_INIT;
    cfg.log = stderr;
    cfg.stop = &g_stop;
    char name[128];
    char host[64] = "worker";
    gethostname(host, sizeof host - 1);
    snprintf(name, sizeof name, "%s-%ld", host, (long)getpid());
    cfg.name = name;
    /* Test-only fault injection, never on unless asked for by name. */
    cfg.fault = getenv("LATTICE_WORKER_FAULT");
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool v = i + 1 < argc;
        double x = 0;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            s_help(stdout);
            return 0;
        } else if (strcmp(a, "--connect") == 0 && v) {
            cfg.connect = argv[++i];
        } else if (strcmp(a, "--name") == 0 && v && strlen(argv[i + 1]) <= 128) {
            cfg.name = argv[++i];
        } else if (strcmp(a, "--threads") == 0 && v && lx_parse_number(argv[++i], 1, 256, &x)) {
            cfg.threads = (uint32_t)x;
        } else if (strcmp(a, "--heartbeat-ms") == 0 && v &&
                   lx_parse_number(argv[++i], 10, 60000, &x)) {
            cfg.heartbeat_ms = x;
        } else if (strcmp(a, "--liveness") == 0 && v && lx_parse_number(argv[++i], 2, 100, &x)) {
            cfg.liveness = (uint32_t)x;
        } else if (strcmp(a, "--log-level") == 0 && v &&
                   lx_log_level_parse(argv[i + 1], &cfg.log_level)) {
            i++;
        } else {
            fprintf(stderr, "lattice-worker: bad argument '%s'\n", a);
            s_help(stderr);
            return 2;
        }
    }
    if (!cfg.connect) {
        fprintf(stderr, "lattice-worker: --connect is required\n");
        s_help(stderr);
        return 2;
    }
    struct sigaction sa = {0};
    sa.sa_handler = s_on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    void *ctx = zmq_ctx_new();
    cfg.zmq_ctx = ctx;
    lx_error_t err = {0};
    lx_result_t rc = lx_worker_run(&cfg, &err);
    if (rc != LX_OK)
        fprintf(stderr, "lattice-worker: %s\n", err.message);
    zmq_ctx_term(ctx);
    return rc == LX_OK ? 0 : 2;
}
