/* A radix-2 FFT on the project's own math, for audio analysis.
 *
 * Deterministic: the twiddle factors come from lx_sin/lx_cos
 * (lattice/dmath.h), computed once per plan, and the transform is a fixed
 * sequence of IEEE-754 additions and multiplications (the build forbids
 * contraction into FMA), so every machine computes the same bits. There is
 * no planner that picks an algorithm by CPU. */
#ifndef LATTICE_FFT_H
#define LATTICE_FFT_H

#include <stdint.h>

#include "lattice/alloc.h"

#define LX_FFT_MAX_SIZE (1u << 20)

typedef struct lx_fft lx_fft_t;

/* A plan for transforms of n points: n a power of two from 2 to
 * LX_FFT_MAX_SIZE. NULL when n is not one of those or out of memory. The
 * twiddles are w_k = cos(2 pi k / n) - i sin(2 pi k / n), k < n / 2, with
 * 2 pi as the double 6.283185307179586. A plan is immutable: threads may
 * share it. */
lx_fft_t *lx_fft_new(uint32_t n, const lx_alloc_t *alloc);
void lx_fft_destroy(lx_fft_t **self_p);

uint32_t lx_fft_size(const lx_fft_t *f);

/* In place, forward, unnormalized: X[k] = sum_j x[j] exp(-2 pi i j k / n),
 * re and im of n doubles each. Iterative decimation in time: bit-reversal
 * permutation, then log2(n) butterfly passes of growing span, each
 * butterfly t = w * b, b = a - t, a = a + t. Allocates nothing. */
void lx_fft_forward(const lx_fft_t *f, double *re, double *im);

#endif
