/* A lattice-worker with a faulty renderer, for the cluster tests only (it
 * is built in tests/ and never installed; docs/operations.md, "Fault
 * injection"). It takes every option of lattice-worker, and
 *
 *   --fault fail:F     rendering frame F fails (render_error); F < 0: every frame
 *   --fault stall:F    rendering frame F hangs until the session stops
 *                      waiting for it (CANCEL, drain), then fails; F < 0:
 *                      every frame (a worker that is always mid-chunk)
 *   --fault gate:F:PATH  frame F waits until the file PATH exists, whatever
 *                      the worker is told meanwhile, then renders right: an
 *                      honest worker that is late, for as long as a test
 *                      needs
 *   --fault corrupt:N  frames f with f % N == N - 1 get wrong bytes whose
 *                      SHA-256 and content hash match them: a lying worker,
 *                      that only an audit can catch
 *
 * The faults wrap the real renderer through lx_worker_config_t.render, so
 * everything else is the shipped worker's code. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "lattice/digest.h"
#include "lattice/proc.h"
#include "lattice/worker.h"

static atomic_int g_stop;

static void s_on_signal(int sig)
{
    (void)sig;
    atomic_store(&g_stop, 1);
}

typedef enum { FAULT_FAIL, FAULT_STALL, FAULT_CORRUPT, FAULT_GATE } fault_kind_t;

/* The fault, and for corrupt:N the result told instead of the real one:
 * the real files, but the first one's bytes are `lie_bytes`. Used by the
 * one session's render thread only. */
typedef struct fault {
    fault_kind_t kind;
    int64_t value;
    const char *gate; /* gate:F:PATH */
    lx_frame_result_t lie;
    lx_artifact_file_t *lie_files;
    lx_strbuf_t lie_bytes;
} fault_t;

/* "fail:F", "stall:F", "corrupt:N" (N >= 1) or "gate:F:PATH" (F >= 0);
 * false otherwise. */
static bool s_fault_parse(const char *spec, fault_t *f)
{
    static const char *const names[] = {"fail:", "stall:", "corrupt:", "gate:"};
    for (int k = 0; k < 4; k++) {
        size_t n = strlen(names[k]);
        if (strncmp(spec, names[k], n) != 0 || !spec[n])
            continue;
        char *end = NULL;
        errno = 0;
        f->kind = (fault_kind_t)k;
        f->value = strtoll(spec + n, &end, 10);
        if (f->kind == FAULT_GATE) {
            if (*end != ':' || !end[1] || f->value < 0)
                return false;
            f->gate = end + 1;
            return errno == 0;
        }
        return errno == 0 && *end == '\0' && (f->kind != FAULT_CORRUPT || f->value >= 1);
    }
    return false;
}

/* Makes *real a lie: the first file's last byte changes and both its
 * hashes are recomputed to match, so that only a comparison with another
 * worker (an audit) can tell. */
static const lx_frame_result_t *s_lie(fault_t *f, const lx_frame_result_t *real)
{
    if (real->n_files == 0 || real->files[0].bytes.len == 0)
        return real;
    lx_artifact_file_t *files = realloc(f->lie_files, real->n_files * sizeof *files);
    if (!files)
        return real;
    f->lie_files = files;
    memcpy(files, real->files, real->n_files * sizeof *files);
    f->lie = *real;
    f->lie.files = files;
    lx_artifact_file_t *a = &files[0];
    f->lie_bytes.len = 0;
    lx_strbuf_add(&f->lie_bytes, a->bytes.buf, a->bytes.len);
    if (f->lie_bytes.failed)
        return real;
    a->bytes = f->lie_bytes;
    a->bytes.buf[a->bytes.len - 1] ^= 0x5a;
    lx_sha256_hex(a->bytes.buf, a->bytes.len, a->hash);
    uint8_t x[16];
    lx_xxh128(a->bytes.buf, a->bytes.len, x);
    lx_hex(x, 16, a->content);
    return &f->lie;
}

static lx_result_t s_render(void *user, lx_frame_renderer_t *fr, int64_t frame,
                            const atomic_int *abort, const lx_frame_result_t **out, lx_error_t *err)
{
    fault_t *f = user;
    if (f->kind == FAULT_FAIL && (f->value == frame || f->value < 0))
        return lx_fail(err, LX_E_INTERNAL, "injected failure at frame %lld", (long long)frame);
    if (f->kind == FAULT_GATE && f->value == frame) {
        /* Late, not wrong: neither CANCEL nor a drain hurries it. */
        struct timespec tick = {0, 20 * 1000 * 1000};
        while (access(f->gate, F_OK) != 0)
            nanosleep(&tick, NULL);
    }
    if (f->kind == FAULT_STALL && (f->value == frame || f->value < 0)) {
        /* Hangs like a wedged renderer until the session gives up on it
         * (a deadline, so that a lost abort cannot hang the test run). */
        double t0 = lx_monotonic_ms();
        struct timespec tick = {0, 20 * 1000 * 1000};
        while (!atomic_load(abort) && lx_monotonic_ms() - t0 < 600000)
            nanosleep(&tick, NULL);
        return lx_fail(err, LX_E_INTERNAL, "injected stall at frame %lld", (long long)frame);
    }
    lx_result_t rc = lx_frame_renderer_render(fr, frame, out, err);
    if (rc == LX_OK && f->kind == FAULT_CORRUPT && frame % f->value == f->value - 1)
        *out = s_lie(f, *out);
    return rc;
}

int main(int argc, char **argv)
{
    const char *prog = "lx_faulty_worker";
    /* --fault SPEC is ours; everything else is lattice-worker's. */
    const char *spec = NULL;
    char **rest = calloc((size_t)argc + 1, sizeof *rest);
    int n = 0;
    if (!rest)
        return 2;
    for (int i = 0; i < argc; i++) {
        if (i > 0 && strcmp(argv[i], "--fault") == 0 && i + 1 < argc)
            spec = argv[++i];
        else
            rest[n++] = argv[i];
    }
    lx_worker_config_t cfg = LX_WORKER_CONFIG_INIT;
    cfg.log = stderr;
    cfg.stop = &g_stop;
    lx_worker_args_store_t store;
    lx_worker_args_t args = lx_worker_args_parse(&cfg, n, rest, prog, &store);
    free(rest);
    if (args == LX_WORKER_ARGS_HELP) {
        printf("\nTests only: --fault fail:F | stall:F | corrupt:N | gate:F:PATH (see the "
               "source).\n");
        return 0;
    }
    if (args == LX_WORKER_ARGS_USAGE)
        return 2;
    fault_t fault = {0};
    if (!spec || !s_fault_parse(spec, &fault)) {
        fprintf(stderr,
                "%s: --fault fail:F | stall:F | corrupt:N | gate:F:PATH is required, not '%s'\n",
                prog, spec ? spec : "");
        return 2;
    }
    lx_strbuf_init(&fault.lie_bytes, NULL);
    cfg.render = s_render;
    cfg.render_user = &fault;
    lx_log_line(cfg.log, cfg.log_level, LX_LOG_WARN, "event=fault_injection fault=%s", spec);
    void *ctx = zmq_ctx_new();
    cfg.zmq_ctx = ctx;
    int status = lx_worker_main(&cfg, prog, s_on_signal);
    zmq_ctx_term(ctx);
    lx_strbuf_release(&fault.lie_bytes);
    free(fault.lie_files);
    return status;
}
