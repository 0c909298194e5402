/* Shaping functions shared by block kernels: easing curves, oscillator
 * waves, colour conversion, counter-based randomness, value noise,
 * keyframe interpolation and Bezier path flattening. Pure, deterministic
 * (lattice/dmath.h only), thread-safe, allocation-free. */
#ifndef LATTICE_SHAPING_H
#define LATTICE_SHAPING_H

#include <stdint.h>

/* Easing: `curve` indexes lx_ease_curves (lattice/registry.h); t is
 * clamped to [0, 1]; every curve maps 0 -> 0 and 1 -> 1. */
double lx_ease(int curve, double t);

/* Oscillator waves over a phase in [0, 1): 0 sine, 1 triangle, 2 saw,
 * 3 square (registry order). Outputs lie in [-1, 1]; sine(0) = 0,
 * triangle(0) = -1 rising to 1 at 0.5, saw(0) = -1 rising to 1, square
 * = 1 on [0, 0.5) and -1 on [0.5, 1). */
double lx_wave(int shape, double phase);

/* HSV (h a phase, s and v clamped to [0, 1]) to linear RGB. */
void lx_hsv_to_rgb(double h, double s, double v, double rgb[3]);

/* Counter-based randomness: a 64-bit hash of (seed, key, frame, element)
 * with full avalanche; lx_rand_unit maps it to [0, 1) with 53 bits. */
uint64_t lx_rand_u64(uint64_t seed, uint64_t key, uint64_t frame, uint64_t element);
double lx_rand_unit(uint64_t seed, uint64_t key, uint64_t frame, uint64_t element);

/* Hash block: a stable number in [0, 1) per value of x (bitwise: equal x,
 * equal result; -0.0 and 0.0 equal). */
double lx_hash_number(uint64_t seed, uint64_t key, double x);

/* Smooth 1D value noise in [0, 1): lattice values from lx_rand at integer
 * x, quintic interpolation, `octaves` (1..8) summed with halving amplitude
 * and doubling frequency, normalized. */
double lx_noise1d(uint64_t seed, uint64_t key, double x, int octaves);

/* Keyframes: `keys` holds n records of 11 doubles (timeMs, interp 0 linear
 * 1 hold 2 bezier, easing curve index, inX, inY, outX, outY, value[4]),
 * strictly increasing in time. Writes `stride` components of the value at
 * t_ms to out: clamped to the first/last key outside them; `hold` keeps a
 * key's value until the next; `linear` lerps with the key's easing applied
 * to the segment's t; `bezier` uses the CSS-style cubic through (0,0),
 * (outX, outY) of the left key, (inX, inY) of the right key, (1,1),
 * solved for t by bisection to 1e-12. */
void lx_keyframes(const double *keys, uint32_t n, unsigned stride, double t_ms, double *out);

/* Path flattening: `points` holds n records of 6 doubles (x, y, inX, inY,
 * outX, outY; handles relative to the point, 0 = corner). Each segment
 * from p[i] to p[i+1] (and back to p[0] when closed) is the cubic
 * p[i], p[i] + out[i], p[i+1] + in[i+1], p[i+1]; straight segments emit
 * their end point only; curved ones are subdivided uniformly into the
 * fewest pieces whose chord error stays within `tolerance` (at most 256
 * per segment). All coordinates are multiplied by scale. Writes at most
 * cap vertices (x, y pairs) to out and returns how many it wrote; the
 * first vertex is p[0]. */
uint32_t lx_path_flatten(const double *points, uint32_t n, int closed, double scale,
                         double tolerance, double *out, uint32_t cap);

#endif
