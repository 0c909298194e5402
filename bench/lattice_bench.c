/* lattice-bench PATCH WIDTH HEIGHT FRAMES THREADS
 *
 * The inside of an export, for scripts/bench.sh: drives lx_frame_renderer,
 * the per-frame unit of work that `lattice export`'s workers run, over
 * frames 0 .. FRAMES-1 at WIDTH x HEIGHT with THREADS threads, in memory
 * (nothing is written), and prints per frame: the time each stage takes
 * (evaluate, rasterize, convert, the parallel encode stage, hash), each
 * artifact's encode time, and the encode+hash floor (the same encoders and
 * settings on one frame's already rendered buffers). What users wait for,
 * the whole `lattice export`, bench.sh times itself.
 *
 * Output is one "key value" per line. Exit status 0, or 1 when the patch
 * does not compile or render, 2 for bad arguments. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lattice/compile.h"
#include "lattice/export.h"
#include "lattice/files.h"
#include "lattice/patch.h"

enum { MAX_FILES = 64, FLOOR_RUNS = 7 };

static double s_clock(void *user)
{
    (void)user;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* A whole number in [lo, hi], or -1. */
static long s_arg(const char *s, long lo, long hi)
{
    char *end;
    long v = strtol(s, &end, 10);
    return end != s && !*end && v >= lo && v <= hi ? v : -1;
}

int main(int argc, char **argv)
{
    long w = argc == 6 ? s_arg(argv[2], 2, 16384) : -1;
    long h = argc == 6 ? s_arg(argv[3], 2, 16384) : -1;
    long frames = argc == 6 ? s_arg(argv[4], 1, 1000000) : -1;
    long threads = argc == 6 ? s_arg(argv[5], 1, 256) : -1;
    if (w < 0 || h < 0 || frames < 0 || threads < 0) {
        fprintf(stderr, "usage: lattice-bench PATCH WIDTH HEIGHT FRAMES THREADS\n");
        return 2;
    }
    size_t len = 0;
    char *text = lx_read_file(argv[1], LX_PATCH_MAX_BYTES, &len, lx_alloc_default());
    if (!text) {
        fprintf(stderr, "lattice-bench: cannot read %s\n", argv[1]);
        return 2;
    }
    lx_diags_t d;
    lx_diags_init(&d, NULL);
    lx_error_t err = {0};
    lx_program_t *p = NULL;
    lx_result_t rc = lx_compile(text, len, NULL, &d, &p, &err);
    lx_free(lx_alloc_default(), text);
    if (rc != LX_OK) {
        fprintf(stderr, "lattice-bench: the patch does not compile\n");
        return 1;
    }
    /* The settings `lattice export --frames 0-N` uses, at this size. */
    lx_export_config_t cfg;
    lx_export_config_init(&cfg);
    cfg.width = (uint32_t)w;
    cfg.height = (uint32_t)h;
    cfg.has_frames = true;
    cfg.first = 0;
    cfg.last = frames - 1;
    lx_export_plan_t plan;
    if (lx_export_plan(p, &cfg, &plan, &d) != LX_OK) {
        fprintf(stderr, "lattice-bench: bad export settings\n");
        return 1;
    }
    lx_frame_renderer_t *fr =
        lx_frame_renderer_new(p, &plan, (uint32_t)threads, s_clock, NULL, NULL, &err);
    lx_stage_times_t sum = {0};
    double per_file[MAX_FILES] = {0};
    char keys[MAX_FILES][96];
    uint32_t n_files = 0;
    rc = fr ? LX_OK : err.code;
    double t0 = s_clock(NULL);
    for (long f = 0; f < frames && rc == LX_OK; f++) {
        const lx_frame_result_t *r = NULL;
        if ((rc = lx_frame_renderer_render(fr, f, &r, &err)) != LX_OK)
            break;
        sum.eval += r->times.eval;
        sum.raster += r->times.raster;
        sum.convert += r->times.convert;
        sum.encode += r->times.encode;
        sum.hash += r->times.hash;
        n_files = r->n_files < MAX_FILES ? r->n_files : MAX_FILES;
        for (uint32_t i = 0; i < n_files; i++) {
            per_file[i] += r->files[i].encode_ms;
            snprintf(keys[i], sizeof keys[i], "%s", r->files[i].key);
        }
    }
    double render_ms = (s_clock(NULL) - t0) / (double)frames;
    /* The floor, on the last frame's buffers: the fastest of several runs,
     * because it is what encoding costs when nothing else competes. */
    double floor_ms = 0;
    for (int k = 0; k < FLOOR_RUNS && rc == LX_OK; k++) {
        lx_stage_times_t t;
        rc = lx_frame_renderer_reencode(fr, &t, &err);
        if (k == 0 || t.encode < floor_ms)
            floor_ms = t.encode;
    }
    if (rc != LX_OK) {
        fprintf(stderr, "lattice-bench: %s\n", err.message);
        return 1;
    }
    double n = (double)frames;
    printf("frames %ld\nthreads %ld\nrender_ms_per_frame %.2f\n", frames, threads, render_ms);
    printf("stage_eval_ms %.2f\nstage_raster_ms %.2f\nstage_convert_ms %.2f\n"
           "stage_encode_wall_ms %.2f\nstage_hash_ms %.2f\n",
           sum.eval / n, sum.raster / n, sum.convert / n, sum.encode / n, sum.hash / n);
    for (uint32_t i = 0; i < n_files; i++)
        printf("encode_ms[%s] %.2f\n", keys[i], per_file[i] / n);
    printf("floor_ms_per_frame %.2f\n", floor_ms);
    lx_frame_renderer_destroy(&fr);
    lx_program_destroy(&p);
    lx_diags_release(&d);
    return 0;
}
