/* Time and sampling: frame number -> time, phase and the time root's
 * events (ARCHITECTURE.md section 4).
 *
 *   finite(D)   t = f * 1000 / fps; progress = clamp(t / D, 0, 1); phase =
 *               progress wrapped; `end` fires on the last frame with t < D.
 *               Default range [0, ceil(D * fps / 1000) - 1].
 *   cyclic(P)   N = framesPerCycle (default round(P * fps / 1000)); the
 *               phase is exactly (f mod N) / N (the phase override), so
 *               frame N samples exactly what frame 0 does; t = f * P / N;
 *               cycleT = phase * P; `wrap` fires when f mod N = 0. In
 *               pingpong mode the phase output runs 0 -> 1 -> 0 over the
 *               cycle (triangle of the loop phase). Default range [0, N-1].
 *   infinite(P) t = f * 1000 / fps; phase = frac(t / P); `pulse` fires when
 *               floor(t / P) changes from frame f - 1 (frame -1 sits at
 *               t = -dt, so frame 0 fires). No default range.
 * dt (seconds per frame, for integrating state) follows from the same
 * mapping: 1 / fps, or P / N ms for cyclic patches. */
#ifndef LATTICE_SAMPLING_H
#define LATTICE_SAMPLING_H

#include <stdbool.h>
#include <stdint.h>

#include "lattice/ir.h"

typedef struct lx_sampling {
    lx_time_model_t model;
    double fps;
    uint32_t frames_per_cycle; /* cyclic only */
    bool exact;                /* cyclic: P * fps / 1000 is exactly N */
} lx_sampling_t;

/* Sets up sampling for a time model at fps. frames_per_cycle 0 means the
 * default. LX_E_INVALID (with a message) when fps or the cycle length is
 * out of range: 0 < fps <= 1000, 1 <= N <= 10,000,000. */
lx_result_t lx_sampling_init(lx_sampling_t *s, const lx_time_model_t *model, double fps,
                             uint32_t frames_per_cycle, lx_error_t *err);

/* The time model's default frame range; false for infinite models (the
 * user must give one). */
bool lx_sampling_default_range(const lx_sampling_t *s, int64_t *first, int64_t *last);

typedef struct lx_frame_time {
    int64_t frame;
    double t_ms;        /* time since the start (the time rail) */
    double t_prev_ms;   /* t_ms of frame f - 1 (computed the same way, also for f = 0) */
    double cycle_t_ms;  /* cyclic: time into the current cycle */
    double phase;       /* the phase rail */
    double progress;    /* finite: t / D clamped to [0, 1] */
    double cycle_index; /* cyclic: completed cycles */
    double dt_s;        /* seconds per frame */
    bool wrap;          /* cyclic wrap / infinite pulse */
    bool end;           /* finite end */
} lx_frame_time_t;

/* What frame f samples (f >= 0). Pure and exact: the same f gives the same
 * bits on every machine. */
void lx_sample_frame(const lx_sampling_t *s, int64_t f, lx_frame_time_t *out);

/* resolve_time: absolute time (and, for cyclic models, an optional phase
 * override in [0, 1)) to model time, phase and wrap. lx_sample_frame is
 * built on it. */
typedef struct lx_resolved_time {
    double t_model_ms, phase01;
    bool wrap;
} lx_resolved_time_t;
lx_resolved_time_t lx_resolve_time(const lx_time_model_t *model, double t_abs_ms,
                                   const double *phase_override);

#endif
