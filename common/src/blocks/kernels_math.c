/* Math and shaping kernels: pure, component-wise over the generic domain,
 * element-wise over fields (signals broadcast). */
#include <string.h>

#include "kernels_internal.h"

/* Binary component-wise ops on the generic domain. */
#define BINARY(name, expr)                                                     \
    void lx_k_##name(lx_exec_t *x)                                             \
    {                                                                          \
        kin_t A = k_in(x, 0), B = k_in(x, 1);                                  \
        kout_t O = k_out(x, 0);                                                \
        unsigned n = k_stride(x);                                              \
        for (uint32_t i = 0; i < x->count; i++) {                              \
            const double *a = AT(A, i), *b = AT(B, i);                         \
            double *o = AT(O, i);                                              \
            for (unsigned c = 0; c < n; c++) {                                 \
                double p = a[c], q = b[c];                                     \
                o[c] = (expr);                                                 \
            }                                                                  \
        }                                                                      \
    }

BINARY(add, p + q)
BINARY(sub, p - q)
BINARY(mul, p * q)
BINARY(div, q == 0.0 ? 0.0 : p / q)
BINARY(min, q < p ? q : p)
BINARY(max, q > p ? q : p)

/* Unary number -> number ops; the expression may read params, seed and key through x. */
#define UNARY(name, expr)                                                      \
    void lx_k_##name(lx_exec_t *x)                                             \
    {                                                                          \
        kin_t A = k_in(x, 0);                                                  \
        kout_t O = k_out(x, 0);                                                \
        for (uint32_t i = 0; i < x->count; i++) {                              \
            double v = *AT(A, i);                                              \
            *AT(O, i) = (expr);                                                \
        }                                                                      \
    }

UNARY(abs, fabs(v))
UNARY(floor, floor(v))
UNARY(sqrt, v > 0 ? sqrt(v) : 0.0)
UNARY(sin, lx_sin(v))
UNARY(cos, lx_cos(v))
UNARY(wrap_phase, k_wrap01(v))
UNARY(ping_pong, v < 0.5 ? 2 * v : 2 - 2 * v)
UNARY(ease, lx_ease((int)x->param[0], v))
UNARY(noise1d, lx_noise1d(x->seed, x->key, v, (int)x->param[0]))
UNARY(hash, lx_hash_number(x->seed, x->key, v))
UNARY(phase_scale, k_wrap01(v * x->param[0]))

void lx_k_mod(lx_exec_t *x)
{
    kin_t A = k_in(x, 0), B = k_in(x, 1);
    kout_t O = k_out(x, 0);
    for (uint32_t i = 0; i < x->count; i++) {
        double a = *AT(A, i), b = *AT(B, i);
        double r = b == 0.0 ? 0.0 : a - b * floor(a / b);
        /* Rounding can land exactly on b; the result lies in [0, b). */
        *AT(O, i) = (b > 0 && r >= b) || (b < 0 && r <= b) ? 0.0 : r;
    }
}

void lx_k_pow(lx_exec_t *x)
{
    kin_t A = k_in(x, 0), B = k_in(x, 1);
    kout_t O = k_out(x, 0);
    for (uint32_t i = 0; i < x->count; i++)
        *AT(O, i) = lx_pow(*AT(A, i), *AT(B, i));
}

void lx_k_const(lx_exec_t *x)
{
    kout_t O = k_out(x, 0);
    unsigned n = k_stride(x);
    for (uint32_t i = 0; i < x->count; i++)
        memcpy(AT(O, i), x->param, n * sizeof(double));
}

void lx_k_clamp(lx_exec_t *x)
{
    kin_t X = k_in(x, 0), L = k_in(x, 1), H = k_in(x, 2);
    kout_t O = k_out(x, 0);
    unsigned n = k_stride(x);
    for (uint32_t i = 0; i < x->count; i++)
        for (unsigned c = 0; c < n; c++) {
            double v = AT(X, i)[c], lo = AT(L, i)[c], hi = AT(H, i)[c];
            v = v < lo ? lo : v;
            AT(O, i)[c] = v > hi ? hi : v;
        }
}

void lx_k_lerp(lx_exec_t *x)
{
    kin_t A = k_in(x, 0), B = k_in(x, 1), T = k_in(x, 2);
    kout_t O = k_out(x, 0);
    unsigned n = k_stride(x);
    for (uint32_t i = 0; i < x->count; i++) {
        double t = *AT(T, i);
        for (unsigned c = 0; c < n; c++)
            AT(O, i)[c] = AT(A, i)[c] + (AT(B, i)[c] - AT(A, i)[c]) * t;
    }
}

void lx_k_map_range(lx_exec_t *x)
{
    kin_t X = k_in(x, 0), IL = k_in(x, 1), IH = k_in(x, 2), OL = k_in(x, 3), OH = k_in(x, 4);
    kout_t O = k_out(x, 0);
    bool clamp = x->param[0] != 0;
    for (uint32_t i = 0; i < x->count; i++) {
        double il = *AT(IL, i), ih = *AT(IH, i), ol = *AT(OL, i), oh = *AT(OH, i);
        double v = ih == il ? ol : ol + (*AT(X, i) - il) / (ih - il) * (oh - ol);
        if (clamp) {
            double lo = ol < oh ? ol : oh, hi = ol < oh ? oh : ol;
            v = v < lo ? lo : v > hi ? hi : v;
        }
        *AT(O, i) = v;
    }
}

void lx_k_oscillator(lx_exec_t *x)
{
    kin_t P = k_in(x, 0), A = k_in(x, 1), B = k_in(x, 2);
    kout_t O = k_out(x, 0);
    int shape = (int)x->param[0];
    for (uint32_t i = 0; i < x->count; i++)
        *AT(O, i) = *AT(B, i) + *AT(A, i) * lx_wave(shape, *AT(P, i));
}

void lx_k_keyframes(lx_exec_t *x)
{
    kin_t T = k_in(x, 0);
    kout_t O = k_out(x, 0);
    uint32_t n = (uint32_t)x->param[0];
    for (uint32_t i = 0; i < x->count; i++)
        lx_keyframes(x->param + 1, n, k_stride(x), *AT(T, i), AT(O, i));
}

void lx_k_phase_offset(lx_exec_t *x)
{
    kin_t P = k_in(x, 0), D = k_in(x, 1);
    kout_t O = k_out(x, 0);
    for (uint32_t i = 0; i < x->count; i++)
        *AT(O, i) = k_wrap01(*AT(P, i) + *AT(D, i));
}

void lx_k_polarity(lx_exec_t *x)
{
    kin_t X = k_in(x, 0);
    kout_t O = k_out(x, 0);
    unsigned n = k_stride(x);
    for (uint32_t i = 0; i < x->count; i++)
        for (unsigned c = 0; c < n; c++)
            AT(O, i)[c] = 1.0 - AT(X, i)[c];
}

void lx_k_quantize(lx_exec_t *x)
{
    kin_t X = k_in(x, 0);
    kout_t O = k_out(x, 0);
    unsigned n = k_stride(x);
    double steps = x->param[0];
    for (uint32_t i = 0; i < x->count; i++)
        for (unsigned c = 0; c < n; c++)
            AT(O, i)[c] = floor(AT(X, i)[c] * steps) / steps;
}

void lx_k_make_vec2(lx_exec_t *x)
{
    kin_t X = k_in(x, 0), Y = k_in(x, 1);
    kout_t O = k_out(x, 0);
    for (uint32_t i = 0; i < x->count; i++) {
        AT(O, i)[0] = *AT(X, i);
        AT(O, i)[1] = *AT(Y, i);
    }
}

void lx_k_make_vec3(lx_exec_t *x)
{
    kin_t X = k_in(x, 0), Y = k_in(x, 1), Z = k_in(x, 2);
    kout_t O = k_out(x, 0);
    for (uint32_t i = 0; i < x->count; i++) {
        AT(O, i)[0] = *AT(X, i);
        AT(O, i)[1] = *AT(Y, i);
        AT(O, i)[2] = *AT(Z, i);
    }
}

void lx_k_split_vec3(lx_exec_t *x)
{
    kin_t V = k_in(x, 0);
    kout_t OX = k_out(x, 0), OY = k_out(x, 1), OZ = k_out(x, 2);
    for (uint32_t i = 0; i < x->count; i++) {
        *AT(OX, i) = AT(V, i)[0];
        *AT(OY, i) = AT(V, i)[1];
        *AT(OZ, i) = AT(V, i)[2];
    }
}

void lx_k_hsv(lx_exec_t *x)
{
    kin_t H = k_in(x, 0), S = k_in(x, 1), V = k_in(x, 2), A = k_in(x, 3);
    kout_t O = k_out(x, 0);
    for (uint32_t i = 0; i < x->count; i++) {
        lx_hsv_to_rgb(*AT(H, i), *AT(S, i), *AT(V, i), AT(O, i));
        AT(O, i)[3] = *AT(A, i);
    }
}

void lx_k_polar(lx_exec_t *x)
{
    kin_t A = k_in(x, 0), R = k_in(x, 1);
    kout_t O = k_out(x, 0);
    for (uint32_t i = 0; i < x->count; i++) {
        double a = *AT(A, i) * LX_TAU, r = *AT(R, i);
        AT(O, i)[0] = r * lx_cos(a);
        AT(O, i)[1] = r * lx_sin(a);
    }
}

/* Buses and multi-writer inputs: writers in order; none = the default. */
void lx_k_combine(lx_exec_t *x)
{
    kout_t O = k_out(x, 0);
    unsigned n = k_stride(x);
    uint32_t w = x->e->n_in;
    lx_combine_t mode = (lx_combine_t)x->param[0];
    const double *def = x->param + 1;
    for (uint32_t i = 0; i < x->count; i++) {
        double *o = AT(O, i);
        if (w == 0) {
            memcpy(o, def, n * sizeof *o);
            continue;
        }
        for (unsigned c = 0; c < n; c++) {
            double acc = 0;
            for (uint32_t k = 0; k < w; k++) {
                kin_t I = k_in(x, k);
                double v = AT(I, i)[c];
                if (k == 0) {
                    acc = v;
                    continue;
                }
                switch (mode) {
                case LX_COMBINE_SUM:
                case LX_COMBINE_AVG:
                    acc += v;
                    break;
                case LX_COMBINE_MIN:
                    acc = v < acc ? v : acc;
                    break;
                case LX_COMBINE_MAX:
                case LX_COMBINE_OR:
                    acc = v > acc ? v : acc;
                    break;
                case LX_COMBINE_MUL:
                    acc *= v;
                    break;
                case LX_COMBINE_LAST:
                    acc = v;
                    break;
                default: /* first */
                    break;
                }
            }
            o[c] = mode == LX_COMBINE_AVG ? acc / (double)w : acc;
        }
    }
}
