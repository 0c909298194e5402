/* Op -> kernel. State blocks read in `eval` and fold inputs in `write`. */
#include "kernels_internal.h"

#define K(op, e, w) [LX_OP_##op] = {lx_k_##e, w, NULL}

static const lx_kernel_t s_table[LX_OP__COUNT] = {
    K(FINITE_TIME_ROOT, time_root, NULL),   K(CYCLE_TIME_ROOT, time_root, NULL),
    K(INFINITE_TIME_ROOT, time_root, NULL), K(CONST, const, NULL),
    K(ADD, add, NULL),                      K(SUB, sub, NULL),
    K(MUL, mul, NULL),                      K(DIV, div, NULL),
    K(MIN, min, NULL),                      K(MAX, max, NULL),
    K(MOD, mod, NULL),                      K(ABS, abs, NULL),
    K(FLOOR, floor, NULL),                  K(SQRT, sqrt, NULL),
    K(SIN, sin, NULL),                      K(COS, cos, NULL),
    K(POW, pow, NULL),                      K(CLAMP, clamp, NULL),
    K(LERP, lerp, NULL),                    K(MAP_RANGE, map_range, NULL),
    K(OSCILLATOR, oscillator, NULL),        K(EASE, ease, NULL),
    K(KEYFRAMES, keyframes, NULL),          K(NOISE1D, noise1d, NULL),
    K(HASH, hash, NULL),                    K(WRAP_PHASE, wrap_phase, NULL),
    K(PHASE_OFFSET, phase_offset, NULL),    K(MAKE_VEC2, make_vec2, NULL),
    K(MAKE_VEC3, make_vec3, NULL),          K(SPLIT_VEC3, split_vec3, NULL),
    K(HSV, hsv, NULL),                      K(POLAR_TO_CARTESIAN, polar, NULL),
    K(UNIT_DELAY, state_read, lx_k_unit_delay_write),
    K(LAG, state_read, lx_k_lag_write),
    K(PHASOR, state_read, lx_k_phasor_write),
    K(ACCUMULATOR, state_read, lx_k_accumulator_write),
    K(SAMPLE_HOLD, state_read, lx_k_sample_hold_write),
    K(PARTICLES, particles_read, lx_k_particles_write),
    K(WRAP, wrap, lx_k_wrap_write),         K(METRO, metro, NULL),
    K(EDGE_DETECT, edge_detect, lx_k_edge_write),
    K(EVENT_OR, event_or, NULL),            K(ARRAY, array, NULL),
    K(GRID_LAYOUT, grid_layout, NULL),      K(CIRCLE_LAYOUT, circle_layout, NULL),
    K(LINE_LAYOUT, line_layout, NULL),      K(STABLE_RANDOM, stable_random, NULL),
    K(JITTER, jitter, NULL),                K(FIELD_REDUCE, field_reduce, NULL),
    K(RECT, shape, NULL),                   K(ELLIPSE, shape, NULL),
    K(POLYGON, shape, NULL),                K(STAR, shape, NULL),
    K(PATH, shape, NULL),                   K(SPHERE, shape, NULL),
    K(BOX, shape, NULL),                    K(PLANE, shape, NULL),
    K(CAMERA, camera, NULL),                K(RENDER_INSTANCES, render_instances, NULL),
    K(COMBINE, combine, NULL),              K(POLARITY, polarity, NULL),
    K(QUANTIZE, quantize, NULL),            K(PHASE_SCALE, phase_scale, NULL),
    K(PING_PONG, ping_pong, NULL),          K(SLEW, state_read, lx_k_slew_write),
    K(COMBINE_EVENTS, combine_events, NULL),
};

const lx_kernel_t *lx_kernel_for(unsigned op)
{
    return &s_table[op < LX_OP__COUNT ? op : 0];
}
