/* Linear -> 8-bit sRGB (see lattice/srgb.h). */
#include "lattice/srgb.h"

#include <math.h>

#include "lattice/dmath.h"

double lx_srgb_encode(double c)
{
    return c <= 0.0031308 ? 12.92 * c : 1.055 * lx_pow(c, 1.0 / 2.4) - 0.055;
}

void lx_srgb8_table_init(lx_srgb8_table_t *t)
{
    /* Code k covers sRGB values in [(k - 0.5)/255, (k + 0.5)/255): find the
     * linear threshold of each boundary by bisection on the exact curve. */
    for (int k = 0; k < 255; k++) {
        double target = (k + 0.5) / 255.0, lo = 0, hi = 1;
        for (int it = 0; it < 60; it++) {
            double mid = (lo + hi) / 2;
            if (lx_srgb_encode(mid) < target)
                lo = mid;
            else
                hi = mid;
        }
        t->threshold[k] = (float)hi;
    }
    t->threshold[255] = INFINITY;
}
