/* The memory estimate of an export (lattice/export_memory.h) against what
 * the frame renderer really allocates: every byte it, its rasterizer,
 * its instance and the PNG encoders (libpng and zlib included) take goes
 * through the allocator it is given, which counts the peak. With NPY for
 * the float artifacts every per-pixel buffer is counted (the EXR encoder's
 * chunk planes come from OpenEXR's own allocator and are estimated from
 * the code alone). */
#include "lattice/export.h"
#include "lattice/export_memory.h"
#include "runtime_fixture.h"
#include "test_alloc.h"

/* Two layers (two sinks), 40 cards in one. */
static const char *const s_patch =
    "{\"format\":\"lattice.patch/1\",\"id\":\"mem\",\"output\":{\"width\":64,\"height\":48,"
    "\"fps\":24},\"blocks\":["
    "{\"id\":\"t\",\"type\":\"CycleTimeRoot\",\"params\":{\"periodMs\":1000}},"
    "{\"id\":\"a\",\"type\":\"Array\",\"params\":{\"count\":40}},"
    "{\"id\":\"ring\",\"type\":\"CircleLayout\",\"inputs\":{\"radius\":2.5}},"
    "{\"id\":\"card\",\"type\":\"Rect\",\"inputs\":{\"width\":1.0,\"height\":0.6}},"
    "{\"id\":\"cards\",\"type\":\"RenderInstances\"},"
    "{\"id\":\"ball\",\"type\":\"Sphere\"},"
    "{\"id\":\"balls\",\"type\":\"RenderInstances\"}],"
    "\"edges\":[{\"from\":\"t.phase\",\"to\":\"ring.phase\"},"
    "{\"from\":\"a.domain\",\"to\":\"ring.domain\"},"
    "{\"from\":\"a.domain\",\"to\":\"cards.domain\"},"
    "{\"from\":\"ring.position\",\"to\":\"cards.position\"},"
    "{\"from\":\"card.shape\",\"to\":\"cards.shape\"},"
    "{\"from\":\"ball.shape\",\"to\":\"balls.shape\"}]}";

typedef struct {
    size_t peak;
    lx_export_memory_t est;
} measure_t;

/* Plans w x h with config json, renders frames 0 and 1 through a counting
 * allocator (one thread: the counter is not thread-safe, and one thread
 * never runs two encoders at once) and returns the peak and the estimate. */
static measure_t s_measure(const lx_program_t *p, uint32_t w, uint32_t h, const char *json)
{
    measure_t m = {0};
    lx_export_config_t cfg;
    lx_export_config_init(&cfg);
    lx_diags_t d;
    lx_diags_init(&d, NULL);
    lx_export_plan_t plan;
    CHECK(lx_export_config_load_json(&cfg, json, strlen(json), &d) == LX_OK);
    cfg.width = w;
    cfg.height = h;
    CHECK(lx_export_plan(p, &cfg, &plan, &d) == LX_OK);
    lx_diags_release(&d);
    lx_error_t err = {0};
    CHECK(lx_export_memory_estimate(p, &plan, 1, &m.est, &err) == LX_OK);
    counter_t c = {0, -1, 0, 0, 0, 0};
    lx_alloc_t a = t_alloc_of(&c);
    lx_frame_renderer_t *fr = lx_frame_renderer_new(p, &plan, 1, NULL, NULL, &a, &err);
    CHECK_MSG(fr != NULL, "%s", err.message);
    const lx_frame_result_t *res = NULL;
    for (int64_t f = 0; fr && f < 2; f++)
        CHECK(lx_frame_renderer_render(fr, f, &res, &err) == LX_OK);
    lx_frame_renderer_destroy(&fr);
    CHECK_EQ_INT(c.live, 0);
    m.peak = c.peak;
    return m;
}

int main(void)
{
    rt_t rt;
    if (!rt_open_text(&rt, s_patch, NULL))
        TEST_MAIN_END();
    lx_instance_destroy(&rt.inst);
    static const char *const configs[] = {
        /* Everything, floats as NPY: every per-pixel byte is counted. */
        ("{\"artifacts\":[\"rgba\",\"depth\",\"motion\",\"normal\",\"id\",\"mask\",\"control\"],"
         "\"formats\":{\"float\":\"npy\"}}"),
        /* A few PNGs only: the rasterizer's planes dominate. */
        "{\"artifacts\":[\"rgba\",\"id\"]}",
        /* Stored PNGs (level 0), whose size is known in advance. */
        "{\"artifacts\":[\"rgba\",\"mask\",\"control\"],\"pngLevel\":0}",
    };
    for (size_t k = 0; k < sizeof configs / sizeof *configs; k++) {
        measure_t small = s_measure(rt.p, 256, 192, configs[k]);
        measure_t big = s_measure(rt.p, 512, 384, configs[k]);
        double r_small = (double)small.est.total / (double)small.peak;
        double r_big = (double)big.est.total / (double)big.peak;
        printf("config %zu: 256x192 estimate %llu measured %zu (%.3f); 512x384 estimate %llu "
               "measured %zu (%.3f)\n",
               k, (unsigned long long)small.est.total, small.peak, r_small,
               (unsigned long long)big.est.total, big.peak, r_big);
        /* The stated margin: never below the measured peak (the estimate
         * refuses what cannot fit, so it must not promise too little) and
         * at most 10% above it. */
        CHECK_MSG(r_small >= 1.0 && r_small < 1.10, "config %zu: %.3f at 256x192", k, r_small);
        CHECK_MSG(r_big >= 1.0 && r_big < 1.10, "config %zu: %.3f at 512x384", k, r_big);
        /* Linear in the pixels: four times the pixels, four times the
         * per-pixel bytes, in the estimate and in the measurement alike. */
        double est_px = (double)(big.est.total - small.est.total) / (512 * 384 - 256 * 192);
        double got_px = (double)(big.peak - small.peak) / (512 * 384 - 256 * 192);
        CHECK_MSG(est_px / got_px > 0.95 && est_px / got_px < 1.05,
                  "config %zu: %.2f bytes per pixel estimated, %.2f measured", k, est_px, got_px);
    }

    /* 16384 x 16384 with the default artifacts and one layer: about 22 GB
     * (rasterizer 49 and files 35 bytes per pixel), and more threads add
     * encoder state, never pixels. */
    lx_export_config_t cfg;
    lx_export_config_init(&cfg);
    cfg.width = cfg.height = 16384;
    lx_export_plan_t plan;
    lx_diags_t d;
    lx_diags_init(&d, NULL);
    CHECK(lx_export_plan(rt.p, &cfg, &plan, &d) == LX_OK);
    lx_diags_release(&d);
    lx_export_memory_t one, eight;
    lx_error_t err = {0};
    CHECK(lx_export_memory_estimate(rt.p, &plan, 1, &one, &err) == LX_OK);
    CHECK(lx_export_memory_estimate(rt.p, &plan, 8, &eight, &err) == LX_OK);
    uint64_t px = 16384ull * 16384;
    CHECK_EQ_INT(one.raster, px * (45 + 4 * 2)); /* two layers: two mask planes */
    CHECK(one.total > px * 88 && one.total < px * 95);
    printf("16384x16384, default artifacts, two layers: %.1f GB (1 thread), %.1f GB (8)\n",
           (double)one.total / 1e9, (double)eight.total / 1e9);
    CHECK(eight.total > one.total && eight.total - one.total < 100u * 1000 * 1000);
    CHECK(eight.raster == one.raster && eight.convert == one.convert);

    /* MemAvailable, in KiB in the file. */
    const char *info = "MemTotal:       24000000 kB\nMemFree:        1000 kB\n"
                       "MemAvailable:   9800000 kB\nBuffers:  12 kB\n";
    uint64_t avail = 0;
    CHECK(lx_meminfo_available(info, strlen(info), &avail) && avail == 9800000ull * 1024);
    CHECK(!lx_meminfo_available("MemTotal: 5 kB\n", 15, &avail));
    CHECK(!lx_meminfo_available("MemAvailable: lots\n", 19, &avail));
    char buf[32];
    CHECK_EQ_STR(lx_format_bytes(22100000000ull, buf, sizeof buf), "22.1 GB");
    CHECK_EQ_STR(lx_format_bytes(9800000, buf, sizeof buf), "9.8 MB");
    CHECK_EQ_STR(lx_format_bytes(900, buf, sizeof buf), "1 kB");
    rt_close(&rt);
    TEST_MAIN_END();
}
