/* 3-vector helpers shared by the rasterizer and the camera view (internal
 * to common/src/render). Plain double arithmetic in a fixed order: the
 * results are part of the pinned pixels. */
#ifndef LATTICE_VEC3_INTERNAL_H
#define LATTICE_VEC3_INTERNAL_H

#include <math.h>
#include <stdbool.h>

static inline double lx_vec3_dot(const double *a, const double *b)
{
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
}

/* o = a x b; o must not alias a or b. */
static inline void lx_vec3_cross(const double *a, const double *b, double *o)
{
    o[0] = a[1] * b[2] - a[2] * b[1];
    o[1] = a[2] * b[0] - a[0] * b[2];
    o[2] = a[0] * b[1] - a[1] * b[0];
}

/* Scales v to unit length; false (v unchanged) when its length is 0 or NaN. */
static inline bool lx_vec3_normalize(double *v)
{
    double n = sqrt(lx_vec3_dot(v, v));
    if (!(n > 0))
        return false;
    v[0] /= n, v[1] /= n, v[2] /= n;
    return true;
}

#endif
