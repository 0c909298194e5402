/* lattice-bench PATCH WIDTH HEIGHT FRAMES THREADS OUT_DIR
 *
 * Exports the first FRAMES frames at WIDTH x HEIGHT with THREADS threads
 * and prints frames/s, per-stage time per frame, per-artifact encode
 * time, and the encode+hash floor (the same encoders and settings on the
 * already rendered buffers of the last frame) with the export/floor
 * ratio. Output is one "key value" per line for scripts/bench.sh. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lattice/compile.h"
#include "lattice/export.h"

static double s_clock(void *user)
{
    (void)user;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

typedef struct {
    lx_stage_times_t sum;
    double per_file[64];
    char keys[64][96];
    uint32_t n_files;
} acc_t;

static void s_progress(void *user, int64_t done, int64_t total, const lx_frame_result_t *r)
{
    acc_t *a = user;
    (void)done, (void)total;
    a->sum.eval += r->times.eval;
    a->sum.raster += r->times.raster;
    a->sum.convert += r->times.convert;
    a->sum.encode += r->times.encode;
    a->sum.hash += r->times.hash;
    a->sum.write += r->times.write;
    a->n_files = r->n_files < 64 ? r->n_files : 64;
    for (uint32_t i = 0; i < a->n_files; i++) {
        a->per_file[i] += r->files[i].encode_ms;
        snprintf(a->keys[i], sizeof a->keys[i], "%s", r->files[i].key);
    }
}

int main(int argc, char **argv)
{
    if (argc != 7) {
        fprintf(stderr, "usage: lattice-bench PATCH WIDTH HEIGHT FRAMES THREADS OUT_DIR\n");
        return 2;
    }
    FILE *f = fopen(argv[1], "rb");
    if (!f) {
        fprintf(stderr, "lattice-bench: cannot read %s\n", argv[1]);
        return 2;
    }
    static char text[1 << 22];
    size_t len = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    lx_diags_t d;
    lx_diags_init(&d, NULL);
    lx_error_t err = {0};
    lx_program_t *p = NULL;
    if (lx_compile(text, len, NULL, &d, &p, &err) != LX_OK) {
        fprintf(stderr, "lattice-bench: the patch does not compile\n");
        return 1;
    }
    lx_export_config_t cfg;
    lx_export_config_init(&cfg);
    cfg.width = (uint32_t)atoi(argv[2]);
    cfg.height = (uint32_t)atoi(argv[3]);
    cfg.has_frames = true;
    cfg.first = 0;
    cfg.last = atoi(argv[4]) - 1;
    uint32_t threads = (uint32_t)atoi(argv[5]);
    lx_export_plan_t plan;
    if (lx_export_plan(p, &cfg, &plan, &d) != LX_OK) {
        fprintf(stderr, "lattice-bench: bad export settings\n");
        return 1;
    }
    acc_t acc = {0};
    lx_export_options_t opts = LX_EXPORT_OPTIONS_INIT;
    opts.threads = threads;
    opts.force = true;
    opts.progress = s_progress;
    opts.progress_user = &acc;
    opts.clock = s_clock;
    double t0 = s_clock(NULL);
    if (lx_export_run(p, &plan, argv[6], &opts, &err) != LX_OK) {
        fprintf(stderr, "lattice-bench: %s\n", err.message);
        return 1;
    }
    double total = s_clock(NULL) - t0;
    double n = (double)(cfg.last + 1);
    /* Floor: encode + hash of already rendered buffers, same pool size. */
    lx_frame_renderer_t *fr =
        lx_frame_renderer_new(p, &plan, threads, s_clock, NULL, NULL, &err);
    const lx_frame_result_t *res = NULL;
    /* The fastest of several runs: the floor is what encoding costs when
     * nothing else competes for the machine. */
    double floor_ms = 0;
    if (fr && lx_frame_renderer_render(fr, cfg.last / 2, &res, &err) == LX_OK) {
        for (int r = 0; r < 7; r++) {
            lx_stage_times_t t;
            lx_frame_renderer_reencode(fr, &t, &err);
            if (r == 0 || t.encode < floor_ms)
                floor_ms = t.encode;
        }
    }
    double per_frame = total / n;
    printf("frames %.0f\nthreads %u\nfps %.2f\nms_per_frame %.2f\n", n, threads, 1000 / per_frame,
           per_frame);
    printf("stage_eval_ms %.2f\nstage_raster_ms %.2f\nstage_convert_ms %.2f\n"
           "stage_encode_wall_ms %.2f\nstage_hash_ms %.2f\nstage_write_ms %.2f\n",
           acc.sum.eval / n, acc.sum.raster / n, acc.sum.convert / n, acc.sum.encode / n,
           acc.sum.hash / n, acc.sum.write / n);
    for (uint32_t i = 0; i < acc.n_files; i++)
        printf("encode_ms[%s] %.2f\n", acc.keys[i], acc.per_file[i] / n);
    printf("floor_ms_per_frame %.2f\nratio_export_over_floor %.2f\n", floor_ms,
           floor_ms > 0 ? per_frame / floor_ms : 0);
    lx_frame_renderer_destroy(&fr);
    lx_program_destroy(&p);
    lx_diags_release(&d);
    return 0;
}
