/* Field kernels: instance domains, layouts, per-element randomness and
 * reductions. */
#include "kernels_internal.h"

void lx_k_array(lx_exec_t *x)
{
    kout_t idx = k_out(x, 1), t = k_out(x, 2);
    uint32_t n = x->count;
    for (uint32_t i = 0; i < n; i++) {
        *AT(idx, i) = i;
        *AT(t, i) = n > 1 ? (double)i / (double)(n - 1) : 0.0;
    }
}

/* Row by row from the top left, centred on `center`, in the XY plane. */
void lx_k_grid_layout(lx_exec_t *x)
{
    double rows = floor(*k_in(x, 1).v), cols = floor(*k_in(x, 2).v);
    const double *sp = k_in(x, 3).v, *c = k_in(x, 4).v;
    kout_t O = k_out(x, 0);
    if (cols < 1)
        cols = 1;
    if (rows < 1)
        rows = 1;
    for (uint32_t i = 0; i < x->count; i++) {
        double r = floor(i / cols), col = i - r * cols;
        AT(O, i)[0] = c[0] + (col - (cols - 1) / 2) * sp[0];
        AT(O, i)[1] = c[1] + ((rows - 1) / 2 - r) * sp[1];
        AT(O, i)[2] = c[2];
    }
}

/* Evenly around the circle, counter-clockwise from +X, turned by phase. */
void lx_k_circle_layout(lx_exec_t *x)
{
    kin_t R = k_in(x, 1), P = k_in(x, 2);
    const double *c = k_in(x, 3).v;
    kout_t O = k_out(x, 0);
    double n = x->count;
    for (uint32_t i = 0; i < x->count; i++) {
        double a = (i / n + *AT(P, i)) * LX_TAU, r = *AT(R, i);
        AT(O, i)[0] = c[0] + r * lx_cos(a);
        AT(O, i)[1] = c[1] + r * lx_sin(a);
        AT(O, i)[2] = c[2];
    }
}

void lx_k_line_layout(lx_exec_t *x)
{
    const double *a = k_in(x, 1).v, *b = k_in(x, 2).v;
    kout_t O = k_out(x, 0);
    uint32_t n = x->count;
    for (uint32_t i = 0; i < n; i++) {
        double t = n > 1 ? (double)i / (double)(n - 1) : 0.0;
        for (int c = 0; c < 3; c++)
            AT(O, i)[c] = a[c] + (b[c] - a[c]) * t;
    }
}

/* Keyed by element index only, so adding elements keeps the old values. */
void lx_k_stable_random(lx_exec_t *x)
{
    kout_t O = k_out(x, 0);
    uint64_t key = x->key ^ ((uint64_t)x->param[0] * 0x9E3779B97F4A7C15ull);
    for (uint32_t i = 0; i < x->count; i++)
        *AT(O, i) = lx_rand_unit(x->seed, key, 0, i);
}

void lx_k_jitter(lx_exec_t *x)
{
    kin_t P = k_in(x, 0);
    const double *amount = k_in(x, 1).v;
    kout_t O = k_out(x, 0);
    uint64_t key = x->key ^ ((uint64_t)x->param[0] * 0x9E3779B97F4A7C15ull);
    for (uint32_t i = 0; i < x->count; i++)
        for (int c = 0; c < 3; c++) {
            double u = lx_rand_unit(x->seed, key, (uint64_t)c, i);
            AT(O, i)[c] = AT(P, i)[c] + amount[c] * (2 * u - 1);
        }
}

void lx_k_field_reduce(lx_exec_t *x)
{
    kin_t F = k_in(x, 0);
    uint32_t n = F.step ? lx_exec_instance_count(x, x->e->instance) : 1;
    int mode = (int)x->param[0];
    double acc = *AT(F, 0);
    for (uint32_t i = 1; i < n; i++) {
        double v = *AT(F, i);
        if (mode == 0 || mode == 1)
            acc += v;
        else if (mode == 2)
            acc = v < acc ? v : acc;
        else
            acc = v > acc ? v : acc;
    }
    *k_out(x, 0).v = mode == 1 ? acc / n : acc;
}
