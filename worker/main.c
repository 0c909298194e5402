/* lattice-worker --connect tcp://HOST:7700 [--threads N] [--name NAME] */
#include <stdio.h>
#include <zmq.h>

#include "lattice/worker.h"

static atomic_int g_stop;

static void s_on_signal(int sig)
{
    (void)sig;
    atomic_store(&g_stop, 1);
}

int main(int argc, char **argv)
{
    lx_worker_config_t cfg = LX_WORKER_CONFIG_INIT;
    cfg.log = stderr;
    cfg.stop = &g_stop;
    lx_worker_args_store_t store;
    switch (lx_worker_args_parse(&cfg, argc, argv, "lattice-worker", &store)) {
    case LX_WORKER_ARGS_HELP:
        return 0;
    case LX_WORKER_ARGS_USAGE:
        return 2;
    case LX_WORKER_ARGS_RUN:
        break;
    }
    void *ctx = zmq_ctx_new();
    cfg.zmq_ctx = ctx;
    int status = lx_worker_main(&cfg, "lattice-worker", s_on_signal);
    zmq_ctx_term(ctx);
    return status;
}
