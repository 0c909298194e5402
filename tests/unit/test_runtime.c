/* The runtime: frames in any order equal a sequential pass (warm-up),
 * cyclic exports close, evaluation allocates nothing, the kernels it runs
 * are the ones it is given, and every example's first 240 frames hash to
 * pinned values (tests/golden/eval.tsv). */
#include "runtime/exec.h"
#include "runtime_fixture.h"
#include "test_alloc.h"

static char *s_example(const char *name)
{
    char rel[256];
    size_t len;
    snprintf(rel, sizeof rel, "examples/%s.patch.json", name);
    return t_read(rel, &len);
}

/* Sequential digests of frames [0, n). */
static lx_digest_t *s_sequential(const char *text, int64_t n)
{
    rt_t rt;
    lx_digest_t *d = calloc((size_t)n, sizeof *d);
    if (!rt_open_text(&rt, text, NULL) || !d) {
        rt_close(&rt);
        free(d);
        return NULL;
    }
    for (int64_t f = 0; f < n; f++)
        rt_frame_digest(rt_frame(&rt, f), &d[f]);
    rt_close(&rt);
    return d;
}

/* Any frame, in any order, on a fresh or a used instance, equals the
 * sequential pass (property test over pseudo-random starts). */
static void s_check_warmup(const char *name, const char *text)
{
    const int64_t n = 200;
    lx_digest_t *seq = s_sequential(text, n);
    if (!seq)
        return;
    uint64_t lcg = 12345;
    int mismatches = 0;
    for (int trial = 0; trial < 12; trial++) {
        lcg = lcg * 6364136223846793005ull + 1442695040888963407ull;
        int64_t a = (int64_t)((lcg >> 33) % (uint64_t)(n - 20));
        rt_t rt;
        if (!rt_open_text(&rt, text, NULL))
            break;
        for (int64_t f = a; f < a + 8; f++) {
            lx_digest_t d;
            rt_frame_digest(rt_frame(&rt, f), &d);
            mismatches += memcmp(d.bytes, seq[f].bytes, 32) != 0;
        }
        /* Backwards on the same instance. */
        for (int64_t f = a + 12; f >= a + 9; f--) {
            lx_digest_t d;
            rt_frame_digest(rt_frame(&rt, f), &d);
            mismatches += memcmp(d.bytes, seq[f].bytes, 32) != 0;
        }
        rt_close(&rt);
    }
    CHECK_MSG(mismatches == 0, "%s: %d frames differ from the sequential pass", name, mismatches);
    free(seq);
}

static void test_warmup_equivalence(void)
{
    const char *names[] = {"feedback-trails", "orbit-cards", "logo-sting", "bus-composite-lenses"};
    for (size_t i = 0; i < 4; i++) {
        char *text = s_example(names[i]);
        CHECK(text != NULL);
        if (text)
            s_check_warmup(names[i], text);
        free(text);
    }
    /* A bounded horizon (two chained delays of a Lag-free signal): warm-up
     * evaluates exactly 2 frames before the one asked for. */
    const char *bounded =
        "{\"format\":\"lattice.patch/1\",\"id\":\"b\",\"output\":{\"width\":64,\"height\":64,"
        "\"fps\":24},\"blocks\":[{\"id\":\"t\",\"type\":\"InfiniteTimeRoot\"},"
        "{\"id\":\"d1\",\"type\":\"UnitDelay\",\"inputs\":{\"initial\":-1}},"
        "{\"id\":\"d2\",\"type\":\"UnitDelay\"},{\"id\":\"v\",\"type\":\"MakeVec3\"},"
        "{\"id\":\"s\",\"type\":\"Rect\"},{\"id\":\"r\",\"type\":\"RenderInstances\"}],"
        "\"edges\":[{\"from\":\"t.time\",\"to\":\"d1.in\"},{\"from\":\"d1.out\",\"to\":\"d2.in\"},"
        "{\"from\":\"d2.out\",\"to\":\"v.x\"},{\"from\":\"v.out\",\"to\":\"r.position\"},"
        "{\"from\":\"s.shape\",\"to\":\"r.shape\"}]}";
    s_check_warmup("bounded", bounded);
    rt_t rt;
    if (rt_open_text(&rt, bounded, NULL)) {
        CHECK_EQ_INT(rt.p->state_horizon, 2);
        const lx_render_frame_t *rf = rt_frame(&rt, 100);
        CHECK_EQ_INT(lx_instance_frames_evaluated(rt.inst), 3);
        /* x at frame 100 is time at frame 98. */
        CHECK(rf->items[0].position[0] == 98 * 1000.0 / 24);
        rf = rt_frame(&rt, 0);
        CHECK(rf->items[0].position[0] == 0); /* d2 starts at 0 */
        rf = rt_frame(&rt, 1);
        CHECK(rf->items[0].position[0] == -1); /* d1's initial, one frame later */
    }
    rt_close(&rt);
}

/* Frame N of a cyclic patch draws exactly what frame 0 does, whether the
 * period is a whole number of frames or not. */
static void test_cyclic_closure(void)
{
    char *text = s_example("orbit-cards");
    CHECK(text != NULL);
    if (!text)
        return;
    const char *fps[] = {"24", "25", "30", "60", "29.97"};
    const char *period[] = {"5000", "1234"};
    for (int i = 0; i < 5; i++) {
        for (int k = 0; k < 2; k++) {
            char patch[32768];
            char *at = strstr(text, "\"fps\": 24");
            char *pat = strstr(text, "\"periodMs\": 5000");
            if (!at || !pat) {
                CHECK_MSG(false, "orbit-cards no longer has fps 24 / periodMs 5000");
                free(text);
                return;
            }
            /* Rebuild the text with both fields replaced (fps comes first). */
            int n = snprintf(patch, sizeof patch, "%.*s\"fps\": %s%.*s\"periodMs\": %s%s",
                             (int)(at - text), text, fps[i], (int)(pat - at - 9), at + 9, period[k],
                             pat + 16);
            CHECK(n > 0 && (size_t)n < sizeof patch);
            rt_t rt;
            if (!rt_open_text(&rt, patch, NULL)) {
                rt_close(&rt);
                continue;
            }
            uint32_t frames = lx_instance_sampling(rt.inst)->frames_per_cycle;
            lx_digest_t d0, dn, d1;
            rt_frame_digest(rt_frame(&rt, 0), &d0);
            rt_frame_digest(rt_frame(&rt, 1), &d1);
            rt_frame_digest(rt_frame(&rt, frames), &dn);
            CHECK_MSG(memcmp(d0.bytes, dn.bytes, 32) == 0,
                      "fps %s period %s: frame %u differs from frame 0", fps[i], period[k], frames);
            CHECK(memcmp(d0.bytes, d1.bytes, 32) != 0); /* it does move */
            rt_close(&rt);
        }
    }
    free(text);
}

/* After lx_instance_new, evaluating frames allocates nothing. */
static void test_no_allocation_per_frame(void)
{
    const char *names[] = {"feedback-trails", "orbit-cards", "logo-sting", "bus-composite-lenses"};
    for (size_t i = 0; i < 4; i++) {
        char *text = s_example(names[i]);
        if (!text)
            continue;
        counter_t c = {0, -1, 0, 0, 0, 0};
        lx_alloc_t a = t_alloc_of(&c);
        rt_t rt;
        if (rt_open_text(&rt, text, &a)) {
            long before = c.calls;
            rt_frame(&rt, 50); /* warm-up included */
            for (int64_t f = 0; f < 100; f++)
                rt_frame(&rt, f);
            CHECK_MSG(c.calls == before, "%s: %ld allocations while evaluating", names[i],
                      c.calls - before);
        }
        rt_close(&rt);
        free(text);
    }
}

/* A camera kernel of the test's own: the instance runs what it is given. */
static void s_test_camera(lx_exec_t *x)
{
    lx_render_frame_t *rf = lx_exec_frame(x);
    if (rf)
        rf->camera.fov_y_deg = 12.5;
}

static void test_injected_kernels(void)
{
    rt_t rt;
    if (!rt_open(&rt, NULL, "", "")) {
        rt_close(&rt);
        return;
    }
    lx_error_t err = {0};
    CHECK(lx_instance_new(rt.p, NULL, NULL, NULL, &err) == NULL && err.code == LX_E_INVALID);
    static lx_kernel_t table[LX_OP__COUNT];
    memcpy(table, lx_kernels_table(), sizeof table);
    table[LX_OP_CAMERA].eval = s_test_camera;
    lx_instance_t *mine = lx_instance_new(rt.p, table, NULL, NULL, &err);
    const lx_render_frame_t *rf = NULL;
    CHECK(mine && lx_instance_eval(mine, 3, &rf) == LX_OK && rf->camera.fov_y_deg == 12.5);
    CHECK(rt_frame(&rt, 3)->camera.fov_y_deg == 40);
    lx_instance_destroy(&mine);
    rt_close(&rt);
}

/* Golden: SHA-256 over 240 frames of RenderFrames per example. */
static void test_golden_frames(void)
{
    size_t len = 0;
    char *tsv = t_read("tests/golden/eval.tsv", &len);
    CHECK(tsv != NULL);
    int n = 0;
    for (char *line = tsv ? strtok(tsv, "\n") : NULL; line; line = strtok(NULL, "\n")) {
        char name[128], hash[80];
        if (line[0] == '#' || sscanf(line, "%127s %79s", name, hash) != 2)
            continue;
        char *text = s_example(name);
        rt_t rt;
        if (text && rt_open_text(&rt, text, NULL)) {
            lx_sha256_t h;
            lx_sha256_init(&h);
            for (int64_t f = 0; f < 240; f++)
                lx_render_frame_hash(rt_frame(&rt, f), &h);
            lx_digest_t d;
            lx_sha256_final(&h, &d);
            char hex[65];
            lx_hex(d.bytes, 32, hex);
            CHECK_MSG(strcmp(hex, hash) == 0, "%s: 240 frames hash %s, pinned %s", name, hex, hash);
            n++;
        }
        rt_close(&rt);
        free(text);
    }
    CHECK_MSG(n >= 4, "only %d examples pinned", n);
    free(tsv);
}

int main(void)
{
    test_warmup_equivalence();
    test_cyclic_closure();
    test_no_allocation_per_frame();
    test_injected_kernels();
    test_golden_frames();
    TEST_MAIN_END();
}
