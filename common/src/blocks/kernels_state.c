/* Time root, events and state kernels.
 *
 * State blocks are memory boundaries: `read` (their eval) copies the cell
 * to the outputs at the start of the frame; `write`, after every other
 * step, folds this frame's inputs into the cell. History blocks (Wrap,
 * EdgeDetect) compare their input with the previous frame's, kept in
 * [previous, has-previous]. */
#include <string.h>

#include "kernels_internal.h"

static double s_flag(bool b)
{
    return b ? 1.0 : 0.0;
}

void lx_k_time_root(lx_exec_t *x)
{
    const lx_frame_time_t *t = x->time;
    switch ((lx_op_t)x->e->op) {
    case LX_OP_FINITE_TIME_ROOT: {
        double v[4] = {t->t_ms, t->progress, t->phase, s_flag(t->end)};
        for (uint32_t k = 0; k < 4; k++)
            *k_out(x, k).v = v[k];
        break;
    }
    case LX_OP_CYCLE_TIME_ROOT: {
        double v[5] = {t->t_ms, t->cycle_t_ms, t->phase, s_flag(t->wrap), t->cycle_index};
        for (uint32_t k = 0; k < 5; k++)
            *k_out(x, k).v = v[k];
        break;
    }
    default: {
        double v[3] = {t->t_ms, t->phase, s_flag(t->wrap)};
        for (uint32_t k = 0; k < 3; k++)
            *k_out(x, k).v = v[k];
        break;
    }
    }
}

void lx_k_event_or(lx_exec_t *x)
{
    *k_out(x, 0).v = s_flag(*k_in(x, 0).v != 0 || *k_in(x, 1).v != 0);
}

void lx_k_combine_events(lx_exec_t *x)
{
    bool any = false;
    for (uint32_t k = 0; k < x->e->n_in; k++)
        any |= *k_in(x, k).v != 0;
    *k_out(x, 0).v = s_flag(any);
}

/* Fires when the timeline crosses a multiple of periodMs (frame -1 sits
 * one frame before frame 0, so frame 0 fires). The previous frame's time
 * is computed like every frame's, never as t - dt, whose rounding would
 * fire twice at a boundary that falls exactly on a frame. */
void lx_k_metro(lx_exec_t *x)
{
    double period = *k_in(x, 0).v;
    double t = x->time->t_ms, prev = x->time->t_prev_ms;
    *k_out(x, 0).v = s_flag(period > 0 && floor(t / period) != floor(prev / period));
}

/* Wrap: the phase dropped by more than half a turn since the last frame. */
void lx_k_wrap(lx_exec_t *x)
{
    double p = *k_in(x, 0).v;
    *k_out(x, 0).v = s_flag(x->state[1] != 0 && p < x->state[0] - 0.5);
}

void lx_k_wrap_write(lx_exec_t *x)
{
    x->state[0] = *k_in(x, 0).v;
    x->state[1] = 1;
}

void lx_k_edge_detect(lx_exec_t *x)
{
    double v = *k_in(x, 0).v, th = *k_in(x, 1).v, prev = x->state[0];
    bool has = x->state[1] != 0;
    *k_out(x, 0).v = s_flag(has && prev < th && v >= th);
    *k_out(x, 1).v = s_flag(has && prev >= th && v < th);
}

void lx_k_edge_write(lx_exec_t *x)
{
    lx_k_wrap_write(x);
}

/* Read for every single-valued state block: the cell is the output. */
void lx_k_state_read(lx_exec_t *x)
{
    kout_t O = k_out(x, 0);
    unsigned n = x->e->op == LX_OP_PHASOR || x->e->op == LX_OP_ACCUMULATOR ? 1 : k_stride(x);
    for (uint32_t i = 0; i < x->count; i++)
        memcpy(AT(O, i), x->state + (size_t)i * n, n * sizeof(double));
}

void lx_k_unit_delay_write(lx_exec_t *x)
{
    kin_t I = k_in(x, 0);
    unsigned n = k_stride(x);
    for (uint32_t i = 0; i < x->count; i++)
        memcpy(x->state + (size_t)i * n, AT(I, i), n * sizeof(double));
}

void lx_k_lag_write(lx_exec_t *x)
{
    kin_t T = k_in(x, 0), S = k_in(x, 1);
    unsigned n = k_stride(x);
    for (uint32_t i = 0; i < x->count; i++) {
        double s = *AT(S, i);
        double *cell = x->state + (size_t)i * n;
        for (unsigned c = 0; c < n; c++)
            cell[c] += (AT(T, i)[c] - cell[c]) * s;
    }
}

void lx_k_phasor_write(lx_exec_t *x)
{
    x->state[0] = k_wrap01(x->state[0] + *k_in(x, 0).v * x->time->dt_s);
}

void lx_k_accumulator_write(lx_exec_t *x)
{
    kin_t R = k_in(x, 1);
    bool reset = R.v && *R.v != 0;
    x->state[0] = reset ? 0.0 : x->state[0] + *k_in(x, 0).v;
}

void lx_k_sample_hold_write(lx_exec_t *x)
{
    if (*k_in(x, 1).v == 0)
        return;
    lx_k_unit_delay_write(x);
}

void lx_k_slew_write(lx_exec_t *x)
{
    kin_t X = k_in(x, 0);
    unsigned n = k_stride(x);
    double step = x->param[0] * x->time->dt_s;
    for (uint32_t i = 0; i < x->count; i++) {
        double *cell = x->state + (size_t)i * n;
        for (unsigned c = 0; c < n; c++) {
            double d = AT(X, i)[c] - cell[c];
            cell[c] += d > step ? step : d < -step ? -step : d;
        }
    }
}

/* Particles: a pool of maxParticles records [position 3, velocity 3, age,
 * alive, size], then [emission carry, next slot, particles born]. Births
 * fill slots round-robin (the oldest is replaced when the pool is full);
 * each particle's direction comes from the counter-based hash of its birth
 * number, so it is independent of frame order. */
enum { P_POS = 0, P_VEL = 3, P_AGE = 6, P_ALIVE = 7, P_SIZE = 8 };

void lx_k_particles_read(lx_exec_t *x)
{
    uint32_t max = (uint32_t)x->param[0];
    kout_t pos = k_out(x, 1), vel = k_out(x, 2), age = k_out(x, 3), alive = k_out(x, 4),
           size = k_out(x, 5);
    for (uint32_t i = 0; i < max; i++) {
        const double *r = x->state + (size_t)i * LX_PARTICLE_STRIDE;
        memcpy(AT(pos, i), r + P_POS, 3 * sizeof(double));
        memcpy(AT(vel, i), r + P_VEL, 3 * sizeof(double));
        *AT(age, i) = r[P_AGE];
        *AT(alive, i) = r[P_ALIVE];
        *AT(size, i) = r[P_SIZE];
    }
}

/* A restored pool: the tail's carry in [0, 1), its next slot a slot, its
 * birth count a whole number (lx_k_particles_write indexes and counts by
 * them); every record's alive flag 0 or 1. */
bool lx_k_particles_check(const lx_exec_t *x)
{
    uint32_t max = (uint32_t)x->param[0];
    const double *tail = x->state + (size_t)max * LX_PARTICLE_STRIDE;
    if (!(tail[0] >= 0 && tail[0] < 1) || !(tail[1] >= 0 && tail[1] < max) ||
        tail[1] != floor(tail[1]) || !(tail[2] >= 0 && tail[2] <= 9007199254740992.0) ||
        tail[2] != floor(tail[2]))
        return false;
    for (uint32_t i = 0; i < max; i++) {
        double alive = x->state[(size_t)i * LX_PARTICLE_STRIDE + P_ALIVE];
        if (alive != 0 && alive != 1)
            return false;
    }
    return true;
}

void lx_k_particles_write(lx_exec_t *x)
{
    uint32_t max = (uint32_t)x->param[0];
    double *tail = x->state + (size_t)max * LX_PARTICLE_STRIDE;
    const double *emit = k_in(x, 0).v;
    double rate = *k_in(x, 1).v, life = *k_in(x, 2).v, speed = *k_in(x, 3).v;
    double spread = *k_in(x, 4).v, size = *k_in(x, 6).v;
    const double *g = k_in(x, 5).v;
    double dt = x->time->dt_s;
    for (uint32_t i = 0; i < max; i++) {
        double *r = x->state + (size_t)i * LX_PARTICLE_STRIDE;
        if (r[P_ALIVE] == 0)
            continue;
        r[P_AGE] += dt;
        if (r[P_AGE] >= life) {
            memset(r, 0, LX_PARTICLE_STRIDE * sizeof *r);
            continue;
        }
        for (int c = 0; c < 3; c++) {
            r[P_VEL + c] += g[c] * dt;
            r[P_POS + c] += r[P_VEL + c] * dt;
        }
    }
    tail[0] += (rate > 0 ? rate : 0) * dt;
    double births = floor(tail[0]);
    if (births > max)
        births = max;
    tail[0] -= floor(tail[0]);
    double half = (spread < 0 ? 0 : spread > 180 ? 180 : spread) * LX_PI / 180.0;
    double cos_half = lx_cos(half);
    for (uint32_t b = 0; b < (uint32_t)births; b++) {
        uint64_t born = (uint64_t)tail[2];
        double *r = x->state + (size_t)tail[1] * LX_PARTICLE_STRIDE;
        /* Uniform direction in the cone around +Y. */
        double cz = 1.0 - (1.0 - cos_half) * lx_rand_unit(x->seed, x->key, born, 0);
        double sz = sqrt(1.0 - cz * cz > 0 ? 1.0 - cz * cz : 0);
        double phi = LX_TAU * lx_rand_unit(x->seed, x->key, born, 1);
        double dir[3] = {sz * lx_cos(phi), cz, sz * lx_sin(phi)};
        for (int c = 0; c < 3; c++) {
            r[P_POS + c] = emit[c];
            r[P_VEL + c] = dir[c] * speed;
        }
        r[P_AGE] = 0;
        r[P_ALIVE] = 1;
        r[P_SIZE] = size;
        tail[1] = (double)(((uint64_t)tail[1] + 1) % max);
        tail[2] += 1;
    }
}
