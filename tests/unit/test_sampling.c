/* Frame -> time for every time model, with hand-computed expectations. */
#include "lattice/sampling.h"
#include "test.h"

static lx_sampling_t s_sampling(lx_time_kind_t kind, double len, lx_cycle_mode_t mode, double fps,
                                uint32_t n)
{
    lx_time_model_t m = {kind, kind == LX_TIME_FINITE ? len : 0,
                         kind == LX_TIME_FINITE ? 0 : len, mode};
    lx_sampling_t s;
    lx_error_t err = {0};
    CHECK(lx_sampling_init(&s, &m, fps, n, &err) == LX_OK);
    return s;
}

static void test_finite(void)
{
    lx_sampling_t s = s_sampling(LX_TIME_FINITE, 1000, LX_CYCLE_LOOP, 24, 0);
    int64_t a, b;
    CHECK(lx_sampling_default_range(&s, &a, &b) && a == 0 && b == 23);
    lx_frame_time_t t;
    lx_sample_frame(&s, 12, &t);
    CHECK(t.t_ms == 500.0 && t.progress == 0.5 && t.phase == 0.5 && !t.end);
    CHECK(t.dt_s == 1.0 / 24);
    lx_sample_frame(&s, 23, &t); /* t = 958.33 < 1000 <= 1000: the last frame ends it */
    CHECK(t.end && t.progress < 1);
    lx_sample_frame(&s, 30, &t); /* past the end: progress stays 1 */
    CHECK(t.progress == 1 && !t.end);
    /* 1001 ms at 24 fps needs a 25th frame. */
    s = s_sampling(LX_TIME_FINITE, 1001, LX_CYCLE_LOOP, 24, 0);
    CHECK(lx_sampling_default_range(&s, &a, &b) && b == 24);
}

static void test_cyclic(void)
{
    lx_sampling_t s = s_sampling(LX_TIME_CYCLIC, 2000, LX_CYCLE_LOOP, 24, 0);
    CHECK(s.frames_per_cycle == 48 && s.exact);
    int64_t a, b;
    CHECK(lx_sampling_default_range(&s, &a, &b) && b == 47);
    lx_frame_time_t t;
    lx_sample_frame(&s, 12, &t);
    CHECK(t.phase == 0.25 && t.cycle_t_ms == 500 && t.t_ms == 500 && !t.wrap);
    lx_sample_frame(&s, 48, &t);
    CHECK(t.phase == 0 && t.cycle_t_ms == 0 && t.wrap && t.cycle_index == 1 && t.t_ms == 2000);
    lx_sample_frame(&s, 0, &t);
    CHECK(t.wrap && t.cycle_index == 0);
    /* 1000 ms at 29.97 fps: 29.97 frames, rounded to 30; the phase
     * override still closes the loop exactly. */
    s = s_sampling(LX_TIME_CYCLIC, 1000, LX_CYCLE_LOOP, 29.97, 0);
    CHECK(s.frames_per_cycle == 30 && !s.exact);
    lx_frame_time_t t0, tn;
    lx_sample_frame(&s, 0, &t0);
    lx_sample_frame(&s, 30, &tn);
    CHECK(t0.phase == tn.phase && t0.cycle_t_ms == tn.cycle_t_ms);
    CHECK(t.dt_s == 2000.0 / 48 / 1000);
    /* An explicit frames-per-cycle wins. */
    s = s_sampling(LX_TIME_CYCLIC, 1000, LX_CYCLE_LOOP, 24, 10);
    lx_sample_frame(&s, 5, &t);
    CHECK(s.frames_per_cycle == 10 && t.phase == 0.5 && t.t_ms == 500);
    /* Pingpong: 0 -> 1 -> 0 over one cycle. */
    s = s_sampling(LX_TIME_CYCLIC, 1000, LX_CYCLE_PINGPONG, 8, 0);
    double want[] = {0, 0.25, 0.5, 0.75, 1, 0.75, 0.5, 0.25, 0};
    for (int f = 0; f <= 8; f++) {
        lx_sample_frame(&s, f, &t);
        CHECK_MSG(t.phase == want[f], "pingpong frame %d phase %g", f, t.phase);
    }
    lx_error_t err = {0};
    lx_time_model_t m = {LX_TIME_CYCLIC, 0, 0.001, LX_CYCLE_LOOP};
    lx_sampling_t bad;
    CHECK(lx_sampling_init(&bad, &m, 24, 0, &err) == LX_E_INVALID);
}

static void test_infinite(void)
{
    lx_sampling_t s = s_sampling(LX_TIME_INFINITE, 1000, LX_CYCLE_LOOP, 10, 0);
    int64_t a, b;
    CHECK(!lx_sampling_default_range(&s, &a, &b));
    lx_frame_time_t t;
    lx_sample_frame(&s, 0, &t);
    CHECK(t.t_ms == 0 && t.phase == 0 && t.wrap);
    lx_sample_frame(&s, 5, &t);
    CHECK(t.t_ms == 500 && t.phase == 0.5 && !t.wrap);
    lx_sample_frame(&s, 10, &t);
    CHECK(t.phase == 0 && t.wrap);
    lx_sample_frame(&s, 25, &t);
    CHECK(t.phase == 0.5 && t.t_ms == 2500);
    lx_resolved_time_t r = lx_resolve_time(&s.model, 1250, NULL);
    CHECK(r.t_model_ms == 1250 && r.phase01 == 0.25);
    double ov = 0.5;
    lx_time_model_t cyc = {LX_TIME_CYCLIC, 0, 4000, LX_CYCLE_LOOP};
    r = lx_resolve_time(&cyc, 123456, &ov);
    CHECK(r.phase01 == 0.5 && r.t_model_ms == 2000);
}

int main(void)
{
    test_finite();
    test_cyclic();
    test_infinite();
    TEST_MAIN_END();
}
