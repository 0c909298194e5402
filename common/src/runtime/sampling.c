#include "lattice/sampling.h"

#include <math.h>

lx_result_t lx_sampling_init(lx_sampling_t *s, const lx_time_model_t *model, double fps,
                             uint32_t frames_per_cycle, lx_error_t *err)
{
    if (!(fps > 0 && fps <= 1000))
        return lx_fail(err, LX_E_INVALID, "fps %g is outside (0, 1000]", fps);
    s->model = *model;
    s->fps = fps;
    s->frames_per_cycle = 0;
    s->exact = true;
    if (model->kind != LX_TIME_CYCLIC)
        return LX_OK;
    double ideal = model->period_ms * fps / 1000.0;
    double n = frames_per_cycle ? (double)frames_per_cycle : floor(ideal + 0.5);
    if (!(n >= 1 && n <= 1e7))
        return lx_fail(err, LX_E_INVALID,
                       "a cycle of %g ms at %g fps gives %.0f frames per cycle (1 to 10000000)",
                       model->period_ms, fps, n);
    s->frames_per_cycle = (uint32_t)n;
    s->exact = ideal == n;
    return LX_OK;
}

bool lx_sampling_default_range(const lx_sampling_t *s, int64_t *first, int64_t *last)
{
    *first = 0;
    switch (s->model.kind) {
    case LX_TIME_FINITE: {
        double n = ceil(s->model.duration_ms * s->fps / 1000.0);
        *last = (int64_t)(n < 1 ? 1 : n) - 1;
        return true;
    }
    case LX_TIME_CYCLIC:
        *last = (int64_t)s->frames_per_cycle - 1;
        return true;
    default:
        *last = -1;
        return false;
    }
}

static double s_frac(double x)
{
    double r = x - floor(x);
    return r >= 1.0 ? 0.0 : r; /* -tiny - floor(-tiny) rounds to 1.0 */
}

lx_resolved_time_t lx_resolve_time(const lx_time_model_t *m, double t_abs_ms,
                                   const double *phase_override)
{
    lx_resolved_time_t r = {t_abs_ms, 0, false};
    switch (m->kind) {
    case LX_TIME_FINITE: {
        double t = t_abs_ms < 0 ? 0 : t_abs_ms > m->duration_ms ? m->duration_ms : t_abs_ms;
        r.t_model_ms = t;
        r.phase01 = s_frac(t / m->duration_ms);
        break;
    }
    case LX_TIME_CYCLIC: {
        double p = phase_override ? *phase_override : s_frac(t_abs_ms / m->period_ms);
        r.t_model_ms = p * m->period_ms;
        r.phase01 = p;
        r.wrap = p == 0.0;
        break;
    }
    case LX_TIME_INFINITE:
        r.t_model_ms = t_abs_ms;
        r.phase01 = s_frac(t_abs_ms / m->period_ms);
        break;
    }
    return r;
}

void lx_sample_frame(const lx_sampling_t *s, int64_t f, lx_frame_time_t *out)
{
    const lx_time_model_t *m = &s->model;
    *out = (lx_frame_time_t){.frame = f};
    double fd = (double)f;
    out->dt_s = 1.0 / s->fps;
    if (m->kind == LX_TIME_CYCLIC) {
        int64_t n = s->frames_per_cycle;
        int64_t k = f % n;
        double phase = (double)k / (double)n;
        out->t_ms = fd * m->period_ms / (double)n;
        out->t_prev_ms = (fd - 1) * m->period_ms / (double)n;
        lx_resolved_time_t r = lx_resolve_time(m, out->t_ms, &phase);
        out->cycle_t_ms = r.t_model_ms;
        out->phase = m->mode == LX_CYCLE_PINGPONG ? (phase < 0.5 ? 2 * phase : 2 - 2 * phase)
                                                  : phase;
        out->wrap = k == 0;
        out->cycle_index = (double)(f / n);
        out->dt_s = m->period_ms / (double)n / 1000.0;
        return;
    }
    out->t_ms = fd * 1000.0 / s->fps;
    out->t_prev_ms = (fd - 1) * 1000.0 / s->fps;
    lx_resolved_time_t r = lx_resolve_time(m, out->t_ms, NULL);
    out->phase = r.phase01;
    if (m->kind == LX_TIME_FINITE) {
        double p = out->t_ms / m->duration_ms;
        out->progress = p > 1 ? 1 : p;
        double next = (fd + 1) * 1000.0 / s->fps;
        out->end = out->t_ms < m->duration_ms && next >= m->duration_ms;
    } else {
        out->wrap = floor(out->t_ms / m->period_ms) != floor(out->t_prev_ms / m->period_ms);
    }
}
