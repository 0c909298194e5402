/* Helpers shared by the kernel files (internal to common/src/blocks). */
#ifndef LATTICE_KERNELS_INTERNAL_H
#define LATTICE_KERNELS_INTERNAL_H

#include <math.h>

#include "../runtime/exec.h"
#include "lattice/dmath.h"
#include "lattice/registry.h"
#include "lattice/shaping.h"

/* Inputs and outputs of an expression, resolved once per kernel call. */
typedef struct {
    const double *v;
    uint32_t step;
} kin_t;

typedef struct {
    double *v;
    uint32_t step;
} kout_t;

static inline kin_t k_in(const lx_exec_t *x, uint32_t k)
{
    kin_t r;
    r.v = lx_exec_in(x, k, &r.step);
    return r;
}

static inline kout_t k_out(const lx_exec_t *x, uint32_t k)
{
    kout_t r;
    r.v = lx_exec_out(x, k, &r.step);
    return r;
}

/* Element i of an input / output. */
#define AT(io, i) ((io).v + (size_t)(io).step * (i))

static inline unsigned k_stride(const lx_exec_t *x)
{
    return lx_domain_stride((lx_domain_t)x->e->domain);
}

static inline double k_wrap01(double v)
{
    double r = v - floor(v);
    return r >= 1.0 ? 0.0 : r;
}

/* Kernels, one per op (eval; state blocks also write, some init). The
 * table in kernels.c maps ops to them. */
#define LX_KERNELS(X)                                                          \
    X(time_root) X(const) X(add) X(sub) X(mul) X(div) X(min) X(max) X(mod)     \
    X(abs) X(floor) X(sqrt) X(sin) X(cos) X(pow) X(clamp) X(lerp)              \
    X(map_range) X(oscillator) X(ease) X(keyframes) X(noise1d) X(hash)        \
    X(wrap_phase) X(phase_offset) X(make_vec2) X(make_vec3) X(split_vec3)     \
    X(hsv) X(polar) X(combine) X(combine_events) X(polarity) X(quantize)      \
    X(phase_scale) X(ping_pong) X(event_or) X(metro) X(wrap) X(wrap_write)    \
    X(edge_detect) X(edge_write) X(state_read) X(unit_delay_write) X(lag_write) \
    X(phasor_write) X(accumulator_write) X(sample_hold_write) X(slew_write)   \
    X(particles_read) X(particles_write) X(array) X(grid_layout)              \
    X(circle_layout) X(line_layout) X(stable_random) X(jitter) X(field_reduce) \
    X(shape) X(camera) X(render_instances) X(audio_feature)

#define LX_X_KDECL(name) void lx_k_##name(lx_exec_t *x);
LX_KERNELS(LX_X_KDECL)
#undef LX_X_KDECL

/* Checks of restored state (struct lx_kernel's check). */
bool lx_k_particles_check(const lx_exec_t *x);

#endif
