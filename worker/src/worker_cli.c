/* What a worker's main() does (worker.h): the command line of
 * lattice-worker and running it as a process, written once for every
 * build of the worker. The process globals stay in each main.c. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lattice/proc.h"
#include "lattice/worker.h"

static void s_help(FILE *out, const char *prog)
{
    fprintf(out,
            "usage: %s --connect ENDPOINT [options]\n\n"
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
            "Exit status: 0 drained, 2 usage or socket error.\n",
            prog);
}

lx_worker_args_t lx_worker_args_parse(lx_worker_config_t *cfg, int argc, char **argv,
                                      const char *prog, char *name_buf, size_t name_size)
{
    char host[64] = "worker";
    gethostname(host, sizeof host - 1);
    snprintf(name_buf, name_size, "%s-%ld", host, (long)getpid());
    cfg->name = name_buf;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool v = i + 1 < argc;
        double x = 0;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            s_help(stdout, prog);
            return LX_WORKER_ARGS_HELP;
        } else if (strcmp(a, "--connect") == 0 && v) {
            cfg->connect = argv[++i];
        } else if (strcmp(a, "--name") == 0 && v && strlen(argv[i + 1]) <= 128) {
            cfg->name = argv[++i];
        } else if (strcmp(a, "--threads") == 0 && v && lx_parse_number(argv[++i], 1, 256, &x)) {
            cfg->threads = (uint32_t)x;
        } else if (strcmp(a, "--heartbeat-ms") == 0 && v &&
                   lx_parse_number(argv[++i], 10, 60000, &x)) {
            cfg->heartbeat_ms = x;
        } else if (strcmp(a, "--liveness") == 0 && v && lx_parse_number(argv[++i], 2, 100, &x)) {
            cfg->liveness = (uint32_t)x;
        } else if (strcmp(a, "--log-level") == 0 && v &&
                   lx_log_level_parse(argv[i + 1], &cfg->log_level)) {
            i++;
        } else {
            fprintf(stderr, "%s: bad argument '%s'\n", prog, a);
            s_help(stderr, prog);
            return LX_WORKER_ARGS_USAGE;
        }
    }
    if (!cfg->connect) {
        fprintf(stderr, "%s: --connect is required\n", prog);
        s_help(stderr, prog);
        return LX_WORKER_ARGS_USAGE;
    }
    return LX_WORKER_ARGS_RUN;
}

int lx_worker_main(const lx_worker_config_t *cfg, const char *prog, void (*on_signal)(int))
{
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    lx_error_t err = {0};
    lx_result_t rc = lx_worker_run(cfg, &err);
    if (rc != LX_OK)
        fprintf(stderr, "%s: %s\n", prog, err.message);
    return rc == LX_OK ? 0 : 2;
}
