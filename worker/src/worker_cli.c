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
            "  --allow-output ROOT  write exports only into this absolute directory or\n"
            "                       below it; repeat for several roots (default: any)\n"
            "  --metrics HOST:PORT  serve this worker's Prometheus metrics at\n"
            "                       http://HOST:PORT/metrics (IPv4; port 0: any, logged)\n"
            "  --log-level LEVEL    error, warn, info (default) or debug (stderr)\n\n"
            "Authentication (docs/security.md): a tcp coordinator is CURVE; the worker\n"
            "needs its own key pair, whose public key the coordinator's allow-list\n"
            "holds as a worker, and the coordinator's public key:\n"
            "  --secret-key FILE    this worker's key pair (lattice keygen; mode 0600)\n"
            "  --server-key KEY     the coordinator's public key: a .public file or the\n"
            "                       40 characters of the key\n"
            "  --insecure           no authentication or encryption on tcp (logged)\n"
            "ipc:// and inproc:// endpoints need neither.\n\n"
            "SIGTERM or SIGINT drains: the frame in hand is finished and reported,\n"
            "the rest of its chunk is given back, and the worker exits 0.\n"
            "Exit status: 0 drained, 2 usage or socket error.\n",
            prog);
}

static lx_worker_args_t s_usage(const char *prog, const char *problem, const char *arg)
{
    fprintf(stderr, "%s: ", prog);
    fprintf(stderr, problem, arg);
    fprintf(stderr, "\n");
    s_help(stderr, prog);
    return LX_WORKER_ARGS_USAGE;
}

lx_worker_args_t lx_worker_args_parse(lx_worker_config_t *cfg, int argc, char **argv,
                                      const char *prog, lx_worker_args_store_t *store)
{
    char host[64] = "worker";
    gethostname(host, sizeof host - 1);
    snprintf(store->name, sizeof store->name, "%s-%ld", host, (long)getpid());
    cfg->name = store->name;
    const char *secret_key = NULL, *server_key = NULL;
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
        } else if (strcmp(a, "--allow-output") == 0 && v) {
            if (argv[++i][0] != '/')
                return s_usage(prog, "--allow-output needs an absolute path, not '%s'", argv[i]);
            if (cfg->n_allow_output == LX_WORKER_MAX_ALLOW_OUTPUT)
                return s_usage(prog, "--allow-output: at most %s roots", "64");
            store->allow_output[cfg->n_allow_output++] = argv[i];
            cfg->allow_output = store->allow_output;
        } else if (strcmp(a, "--secret-key") == 0 && v) {
            secret_key = argv[++i];
        } else if (strcmp(a, "--server-key") == 0 && v) {
            server_key = argv[++i];
        } else if (strcmp(a, "--insecure") == 0) {
            cfg->insecure = true;
        } else if (strcmp(a, "--metrics") == 0 && v) {
            cfg->metrics = argv[++i];
        } else {
            return s_usage(prog, "bad argument '%s'", a);
        }
    }
    if (!cfg->connect)
        return s_usage(prog, "%s", "--connect is required");
    lx_error_t err = {0};
    if (lx_curve_client_keys(cfg->connect, secret_key, server_key, cfg->insecure, &cfg->curve,
                             cfg->server_key, &err) != LX_OK) {
        fprintf(stderr, "%s: %s\n", prog, err.message);
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
    if (cfg->insecure && lx_curve_endpoint_needs_keys(cfg->connect))
        lx_log_line(cfg->log, cfg->log_level, LX_LOG_WARN,
                    "event=insecure coordinator=%s warning=\"--insecure: no authentication or "
                    "encryption; anyone between this worker and the coordinator's port "
                    "can pose as the coordinator, hand it work and read its frames\"",
                    cfg->connect);
    lx_error_t err = {0};
    lx_result_t rc = lx_worker_run(cfg, &err);
    if (rc != LX_OK)
        fprintf(stderr, "%s: %s\n", prog, err.message);
    return rc == LX_OK ? 0 : 2;
}
