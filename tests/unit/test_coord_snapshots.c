/* The coordinator's warm-up snapshot pass (coordinator/src/snapshots.h):
 * the snapshots it keeps are the state a sequential evaluation reaches, it
 * stays within its budget and goes on when snapshots are released, and a
 * later pass starts from the intact files an earlier one wrote. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lattice/export.h"
#include "lattice/export_config.h"
#include "runtime_fixture.h"
#include "scratch_dir.h"
#include "snapshots.h"

static lx_program_t *g_p;
static lx_export_plan_t g_plan;
static char *g_text;

/* Polls until cond holds or 60 s pass (a loaded machine is slow, never
 * wrong): the pass reports its state, the test never guesses a time. */
#define WAIT_FOR(cond)                                                                             \
    do {                                                                                           \
        for (int w_ = 0; w_ < 60000 && !(cond); w_++)                                              \
            nanosleep(&(struct timespec){0, 1000000}, NULL);                                       \
    } while (0)

static bool s_setup(void)
{
    size_t len = 0;
    g_text = t_read("examples/feedback-trails.patch.json", &len);
    lx_export_request_t req = LX_EXPORT_REQUEST_INIT;
    req.patch = g_text;
    req.patch_len = len;
    req.has_frames = true;
    req.first = 0;
    req.last = 9999;
    lx_strbuf_t report;
    lx_strbuf_init(&report, NULL);
    lx_error_t err = {0};
    bool ok = g_text && lx_export_prepare(&req, NULL, &g_p, &g_plan, &report, &err) == LX_OK;
    CHECK_MSG(ok, "prepare: %s", err.message);
    lx_strbuf_release(&report);
    return ok;
}

/* The state a fresh instance holds after frames 0 .. s - 1. */
static void s_expected(int64_t s, lx_strbuf_t *out)
{
    lx_instance_config_t icfg = LX_INSTANCE_CONFIG_INIT;
    icfg.frames_per_cycle = g_plan.sampling.frames_per_cycle;
    lx_error_t err = {0};
    lx_instance_t *inst = lx_instance_new(g_p, lx_kernels_table(), NULL, &icfg, &err);
    const lx_render_frame_t *rf;
    CHECK(inst && lx_instance_eval(inst, s - 1, &rf) == LX_OK);
    out->len = 0;
    CHECK(inst && lx_instance_snapshot(inst, out, NULL) == LX_OK);
    lx_instance_destroy(&inst);
}

static void test_nearest_is_sequential(void)
{
    CHECK(co_snaps_wanted(g_p));
    lx_error_t err = {0};
    co_snaps_t *s = co_snaps_start(g_p, &g_plan, 0, 1000, -1, CO_SNAP_BUDGET, &err);
    CHECK_MSG(s != NULL, "%s", err.message);
    if (!s)
        return;
    WAIT_FOR(co_snaps_ready(s, 999));
    CHECK(co_snaps_ready(s, 999));
    lx_strbuf_t want;
    lx_strbuf_init(&want, NULL);
    const int64_t probes[] = {0, 15, 16, 17, 100, 511, 998, 999};
    for (size_t i = 0; i < sizeof probes / sizeof *probes; i++) {
        const uint8_t *bytes;
        size_t len;
        int64_t f = probes[i], at = co_snaps_nearest(s, f, &bytes, &len);
        CHECK_MSG(at == f / CO_SNAP_STRIDE * CO_SNAP_STRIDE, "nearest(%lld) = %lld", (long long)f,
                  (long long)at);
        if (at == 0) {
            CHECK(bytes == NULL && len == 0);
            continue;
        }
        s_expected(at, &want);
        CHECK_MSG(len == want.len && memcmp(bytes, want.buf, len) == 0,
                  "the snapshot at %lld differs from a sequential evaluation", (long long)at);
    }
    /* Chunks start at 500 or later: what they cannot use is freed, what
     * they can stays. */
    co_snaps_release(s, 500);
    CHECK_EQ_INT(co_snaps_nearest(s, 100, NULL, NULL), 0);
    CHECK_EQ_INT(co_snaps_nearest(s, 498, NULL, NULL), 496);
    CHECK_EQ_INT(co_snaps_nearest(s, 700, NULL, NULL), 688);
    co_snaps_stats_t st;
    co_snaps_stats(s, &st);
    CHECK(st.ended && st.error[0] == '\0' && st.started_at == 0);
    CHECK_MSG(st.evaluated < 1000, "the pass evaluated %llu frames for 1000",
              (unsigned long long)st.evaluated);
    lx_strbuf_release(&want);
    co_snaps_stop(&s);
}

/* A budget of two snapshots: the pass waits, and goes on as they are
 * released; a chunk far ahead is not ready until it gets there. */
static void test_budget(void)
{
    lx_strbuf_t one;
    lx_strbuf_init(&one, NULL);
    s_expected(16, &one);
    lx_error_t err = {0};
    co_snaps_t *s = co_snaps_start(g_p, &g_plan, 0, 5000, -1, 2 * one.len, &err);
    CHECK(s != NULL);
    if (!s)
        return;
    co_snaps_stats_t st;
    WAIT_FOR((co_snaps_stats(s, &st), st.kept >= 2));
    CHECK(!co_snaps_ready(s, 4000));
    co_snaps_stats(s, &st);
    CHECK_MSG(st.kept == 2 && !st.ended, "kept %llu within a budget of 2",
              (unsigned long long)st.kept);
    for (int64_t f = 16; f <= 5000 && !co_snaps_ready(s, 4999); f += 16) {
        WAIT_FOR(co_snaps_ready(s, f));
        co_snaps_release(s, f + 1);
    }
    CHECK(co_snaps_ready(s, 4999));
    CHECK_EQ_INT(co_snaps_nearest(s, 4999, NULL, NULL), 4992);
    lx_strbuf_release(&one);
    co_snaps_stop(&s);
}

static int s_open_dir(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    CHECK(fd >= 0);
    return fd;
}

/* A pass writes every CO_SNAP_KEEP-th snapshot; the next one starts from
 * the nearest intact file, and passes over a damaged one. */
static void test_files(void)
{
    char root[256];
    if (!t_scratch_dir(root, "coord-snapshots"))
        return;
    lx_error_t err = {0};
    const int64_t last = 2 * CO_SNAP_KEEP + 40;
    co_snaps_t *s = co_snaps_start(g_p, &g_plan, 0, last, s_open_dir(root), CO_SNAP_BUDGET, &err);
    co_snaps_stats_t st = {0};
    WAIT_FOR((co_snaps_stats(s, &st), st.ended));
    CHECK_MSG(st.ended && st.written == 2, "written %llu", (unsigned long long)st.written);
    co_snaps_stop(&s);

    s = co_snaps_start(g_p, &g_plan, last, last, s_open_dir(root), CO_SNAP_BUDGET, &err);
    WAIT_FOR((co_snaps_stats(s, &st), st.ended));
    CHECK_EQ_INT(st.started_at, 2 * CO_SNAP_KEEP);
    CHECK_MSG(st.evaluated <= 40, "a resumed pass evaluated %llu frames",
              (unsigned long long)st.evaluated);
    co_snaps_stop(&s);

    /* One flipped byte in the later file: its name's SHA-256 no longer
     * matches, so the pass starts from the earlier one. */
    char cmd[600];
    snprintf(cmd, sizeof cmd,
             "f=$(ls '%s'/%d-*.snap) && printf '\\x01' | dd of=\"$f\" bs=1 seek=70 conv=notrunc "
             "status=none",
             root, 2 * CO_SNAP_KEEP);
    CHECK(system(cmd) == 0);
    s = co_snaps_start(g_p, &g_plan, last, last, s_open_dir(root), CO_SNAP_BUDGET, &err);
    WAIT_FOR((co_snaps_stats(s, &st), st.ended));
    CHECK_EQ_INT(st.started_at, CO_SNAP_KEEP);
    lx_strbuf_t want;
    lx_strbuf_init(&want, NULL);
    s_expected(last - 8, &want);
    const uint8_t *bytes;
    size_t len;
    CHECK_EQ_INT(co_snaps_nearest(s, last - 1, &bytes, &len), last - 8);
    CHECK(len == want.len && memcmp(bytes, want.buf, len) == 0);
    lx_strbuf_release(&want);
    co_snaps_stop(&s);
    t_scratch_dir_remove(root);
}

int main(void)
{
    if (s_setup()) {
        test_nearest_is_sequential();
        test_budget();
        test_files();
    }
    lx_program_destroy(&g_p);
    free(g_text);
    TEST_MAIN_END();
}
