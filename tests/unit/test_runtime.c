/* The runtime: frames in any order equal a sequential pass (warm-up),
 * cyclic exports close, evaluation allocates nothing, the kernels it runs
 * are the ones it is given, and every example's first 240 frames hash to
 * pinned values (tests/golden/eval.tsv). */
#include <math.h>

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

/* State snapshots: an export cut into random chunks, each chunk a fresh
 * instance restored from the snapshot the previous chunk left at its end,
 * equals the sequential pass frame for frame, and warms up nothing; a
 * snapshot restores on any instance of the same program and nowhere else. */
static void test_snapshots(void)
{
    const int64_t n = 240;
    char *text = s_example("feedback-trails");
    CHECK(text != NULL);
    lx_digest_t *seq = text ? s_sequential(text, n) : NULL;
    if (!seq) {
        free(text);
        return;
    }
    uint64_t lcg = 777;
    for (int trial = 0; trial < 6; trial++) {
        lx_strbuf_t snap;
        lx_strbuf_init(&snap, NULL);
        int mismatches = 0;
        for (int64_t a = 0; a < n;) {
            lcg = lcg * 6364136223846793005ull + 1442695040888963407ull;
            int64_t b = a + (int64_t)((lcg >> 33) % 37); /* chunks of 1 to 37 frames */
            b = b < n ? b : n - 1;
            rt_t rt;
            if (!rt_open_text(&rt, text, NULL))
                break;
            lx_error_t err = {0};
            if (a > 0)
                CHECK_EQ_INT(lx_instance_restore(rt.inst, snap.buf, snap.len, &err), LX_OK);
            for (int64_t f = a; f <= b; f++) {
                lx_digest_t d;
                rt_frame_digest(rt_frame(&rt, f), &d);
                mismatches += memcmp(d.bytes, seq[f].bytes, 32) != 0;
            }
            CHECK_MSG(lx_instance_frames_evaluated(rt.inst) == (uint64_t)(b - a + 1),
                      "chunk %lld-%lld evaluated %llu frames", (long long)a, (long long)b,
                      (unsigned long long)lx_instance_frames_evaluated(rt.inst));
            snap.len = 0;
            int64_t at = -1;
            CHECK_EQ_INT(lx_instance_snapshot(rt.inst, &snap, &at), LX_OK);
            CHECK(at == b + 1);
            rt_close(&rt);
            a = b + 1;
        }
        CHECK_MSG(mismatches == 0, "trial %d: %d frames differ from the sequential pass", trial,
                  mismatches);
        lx_strbuf_release(&snap);
    }

    /* Two instances at the same frame give the same bytes; a snapshot at s
     * serves a frame after s (evaluating from s), not one before it. */
    rt_t x = {0}, y = {0};
    if (rt_open_text(&x, text, NULL) && rt_open_text(&y, text, NULL)) {
        lx_strbuf_t sx, sy;
        lx_strbuf_init(&sx, NULL);
        lx_strbuf_init(&sy, NULL);
        lx_error_t err = {0};
        CHECK_EQ_INT(lx_instance_snapshot(x.inst, &sx, NULL), LX_E_INVALID); /* nothing yet */
        rt_frame(&x, 99);
        rt_frame(&y, 60);
        rt_frame(&y, 99);
        CHECK_EQ_INT(lx_instance_snapshot(x.inst, &sx, NULL), LX_OK);
        CHECK_EQ_INT(lx_instance_snapshot(y.inst, &sy, NULL), LX_OK);
        CHECK(sx.len == sy.len && memcmp(sx.buf, sy.buf, sx.len) == 0);
        rt_t z = {0};
        if (rt_open_text(&z, text, NULL)) {
            CHECK_EQ_INT(lx_instance_restore(z.inst, sx.buf, sx.len, &err), LX_OK);
            lx_digest_t d;
            rt_frame_digest(rt_frame(&z, 150), &d);
            CHECK(memcmp(d.bytes, seq[150].bytes, 32) == 0);
            CHECK_EQ_INT(lx_instance_frames_evaluated(z.inst), 51);
            CHECK_EQ_INT(lx_instance_restore(z.inst, sx.buf, sx.len, &err), LX_OK);
            rt_frame_digest(rt_frame(&z, 40), &d); /* before the snapshot: from the start */
            CHECK(memcmp(d.bytes, seq[40].bytes, 32) == 0);
            CHECK_EQ_INT(lx_instance_frames_evaluated(z.inst), 51 + 41);
        }
        rt_close(&z);

        /* Refused: damaged or cut bytes, another program's state. */
        const size_t cuts[] = {0, 7, 55, 56, sx.len - 1};
        for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
            err = (lx_error_t){0};
            CHECK_EQ_INT(lx_instance_restore(x.inst, sx.buf, cuts[i], &err), LX_E_PARSE);
            CHECK(err.message[0] != '\0');
        }
        sx.buf[0] ^= 1;
        CHECK_EQ_INT(lx_instance_restore(x.inst, sx.buf, sx.len, &err), LX_E_PARSE);
        sx.buf[0] ^= 1;
        sx.buf[20] ^= 1; /* the program hash */
        CHECK_EQ_INT(lx_instance_restore(x.inst, sx.buf, sx.len, &err), LX_E_PARSE);
        CHECK(strstr(err.message, "another program") != NULL);
        sx.buf[20] ^= 1;
        sx.buf[48] ^= 1; /* the count */
        CHECK_EQ_INT(lx_instance_restore(x.inst, sx.buf, sx.len, &err), LX_E_PARSE);
        sx.buf[48] ^= 1;
        ((uint8_t *)sx.buf)[47] = 0x80; /* a frame far past anything */
        CHECK_EQ_INT(lx_instance_restore(x.inst, sx.buf, sx.len, &err), LX_E_PARSE);
        /* x is as it was: it continues its own pass. */
        lx_digest_t d;
        rt_frame_digest(rt_frame(&x, 100), &d);
        CHECK(memcmp(d.bytes, seq[100].bytes, 32) == 0);
        CHECK_EQ_INT(lx_instance_frames_evaluated(x.inst), 101);
        lx_strbuf_release(&sx);
        lx_strbuf_release(&sy);
    }
    rt_close(&x);
    rt_close(&y);

    /* A program without state has no snapshot. */
    char *orbit = s_example("orbit-cards");
    rt_t o = {0};
    if (orbit && rt_open_text(&o, orbit, NULL)) {
        lx_strbuf_t so;
        lx_strbuf_init(&so, NULL);
        rt_frame(&o, 3);
        CHECK_EQ_INT(lx_instance_snapshot(o.inst, &so, NULL), LX_E_INVALID);
        lx_strbuf_release(&so);
    }
    rt_close(&o);
    free(orbit);
    free(seq);
    free(text);
}

/* A particle pool's restored tail must be one its kernel could have left:
 * its next slot a slot of the pool, its carry in [0, 1), its count whole. */
static void test_snapshot_particles(void)
{
    rt_t rt = {0};
    if (!rt_open(&rt, NULL,
                 "{\"id\":\"p\",\"type\":\"Particles\",\"params\":{\"maxParticles\":4},"
                 "\"inputs\":{\"rate\":48}}",
                 "{\"from\":\"p.domain\",\"to\":\"draw.domain\"},"
                 "{\"from\":\"p.position\",\"to\":\"draw.position\"}")) {
        rt_close(&rt);
        return;
    }
    rt_frame(&rt, 10);
    lx_strbuf_t sb;
    lx_strbuf_init(&sb, NULL);
    CHECK_EQ_INT(lx_instance_snapshot(rt.inst, &sb, NULL), LX_OK);
    CHECK_EQ_INT(sb.len, 56 + 8 * (4 * LX_PARTICLE_STRIDE + 4));
    const struct {
        uint32_t cell; /* the tail: carry, next slot, born */
        double value;
        bool ok;
    } cases[] = {{1, 3.0, true},   {1, 4.0, false},     {1, -1.0, false}, {1, 0.5, false},
                 {0, 0.5, true},   {0, 1.0, false},     {0, NAN, false},  {2, 1e6, true},
                 {2, -2.0, false}, {2, INFINITY, false}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        lx_strbuf_t c;
        lx_strbuf_init(&c, NULL);
        lx_strbuf_add(&c, sb.buf, sb.len);
        size_t at = 56 + 8 * (4 * LX_PARTICLE_STRIDE + cases[i].cell);
        uint64_t bits;
        memcpy(&bits, &cases[i].value, 8);
        for (int k = 0; k < 8; k++)
            ((uint8_t *)c.buf)[at + (size_t)k] = (uint8_t)(bits >> (8 * k));
        lx_error_t err = {0};
        lx_result_t rc = lx_instance_restore(rt.inst, c.buf, c.len, &err);
        CHECK_MSG(rc == (cases[i].ok ? LX_OK : LX_E_PARSE), "case %zu: %s", i, err.message);
        if (!cases[i].ok)
            CHECK(strstr(err.message, "block 'p'") != NULL);
        else
            rt_frame(&rt, 11);
        lx_strbuf_release(&c);
    }
    lx_strbuf_release(&sb);
    rt_close(&rt);
}

int main(void)
{
    test_warmup_equivalence();
    test_snapshots();
    test_snapshot_particles();
    test_cyclic_closure();
    test_no_allocation_per_frame();
    test_injected_kernels();
    test_golden_frames();
    TEST_MAIN_END();
}
