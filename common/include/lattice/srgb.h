/* Linear light -> 8-bit sRGB codes: the one conversion of the export's
 * 8-bit colour (PNG rgba, the SVG artifact's fills).
 *
 * The sRGB curve is evaluated with the project's lx_pow (lattice/dmath.h),
 * never libm's, and only when a table is built: code k covers encoded
 * values in [(k - 0.5)/255, (k + 0.5)/255), and the table holds the linear
 * value where each code starts, found by bisection on the exact curve. A
 * lookup is then a binary search on floats, the same bits on every
 * machine.
 *
 * Invariant of lx_srgb8_table_t: threshold[k] is the least linear value
 * (as a float) that encodes to k + 1, increasing in k; threshold[255] is
 * +infinity. */
#ifndef LATTICE_SRGB_H
#define LATTICE_SRGB_H

#include <stdint.h>

typedef struct lx_srgb8_table {
    float threshold[256];
} lx_srgb8_table_t;

/* The sRGB transfer function of a linear value c in [0, 1]. Pure. */
double lx_srgb_encode(double c);

/* Fills t (about 15,000 lx_pow calls: build it once, not per frame). */
void lx_srgb8_table_init(lx_srgb8_table_t *t);

/* The 8-bit sRGB code of linear value v: 0 below the first threshold,
 * 255 from the last (and for NaN: callers clamp first). Pure and
 * thread-safe; inline, for the per-pixel conversion loops. */
static inline uint8_t lx_srgb8(const lx_srgb8_table_t *t, float v)
{
    int lo = 0, hi = 255;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (v < t->threshold[mid])
            hi = mid;
        else
            lo = mid + 1;
    }
    return (uint8_t)lo;
}

#endif
