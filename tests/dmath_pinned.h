/* The determinism fixture of lattice/dmath.h: 10^5 fixed inputs per
 * function, an FNV-1a hash of the result bits, and the pinned values every
 * build must reproduce. Shared by test_dmath.c (the library) and
 * test_dmath_o0.c (a copy of dmath.c compiled at -O0). */
#ifndef LATTICE_DMATH_PINNED_H
#define LATTICE_DMATH_PINNED_H

#include <stdint.h>
#include <string.h>

enum { DM_SIN, DM_COS, DM_TAN, DM_EXP, DM_LOG, DM_POW, DM_ATAN, DM_ATAN2, DM_ASIN, DM_ACOS, DM_N };
static const char *const dm_names[DM_N] = {"sin", "cos",  "tan",   "exp",  "log",
                                           "pow", "atan", "atan2", "asin", "acos"};
/* FNV-1a over the result bits of each function at 10^5 inputs from
 * dm_hash_input(). Any change to dmath.c that moves a single bit of a
 * single result changes these: that is a change to every rendered frame, so
 * update them deliberately. */
static const uint64_t dm_pinned[DM_N] = {
    /* sin, cos, tan, exp */
    0x41E982BA180DC0DBull,
    0x4C2BAC0307A0E722ull,
    0x8B4DDA223D7FDEFBull,
    0x38FB713675471289ull,
    /* log, pow, atan, atan2 */
    0x92836E66F0D08281ull,
    0x342856D500374D18ull,
    0x2E286EE846345DCAull,
    0x3219C418A96CF2E6ull,
    /* asin, acos */
    0xC695B9DC931E555Aull,
    0xD9FDEA7F4BBB9BFEull,
};

typedef struct {
    double (*f1[DM_N])(double);
    double (*f2[DM_N])(double, double);
} dm_fns_t;

/* The dm_fns_t of lx_sin##sfx, lx_cos##sfx, ...: DM_FNS() is the library's,
 * DM_FNS(_o0) the -O0 copy's. */
#define DM_FNS(sfx)                                                                                \
    {                                                                                              \
        .f1 = {[DM_SIN] = lx_sin##sfx,   [DM_COS] = lx_cos##sfx,  [DM_TAN] = lx_tan##sfx,          \
               [DM_EXP] = lx_exp##sfx,   [DM_LOG] = lx_log##sfx,  [DM_ATAN] = lx_atan##sfx,        \
               [DM_ASIN] = lx_asin##sfx, [DM_ACOS] = lx_acos##sfx},                                \
        .f2 = {[DM_POW] = lx_pow##sfx, [DM_ATAN2] = lx_atan2##sfx},                                \
    }

static uint64_t dm_lcg(uint64_t *s)
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return *s;
}

static double dm_unit(uint64_t *s) { return (double)(dm_lcg(s) >> 11) * 0x1p-53; }

static double dm_pow2(int n) /* n in [-1022, 1023] */
{
    uint64_t u = (uint64_t)(n + 1023) << 52;
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

/* Input i of function f (second operand in *y): mostly the main range, every
 * eighth input spread over the whole exponent range. */
static double dm_hash_input(int f, uint64_t *s, int i, double *y)
{
    int wide = i % 8 == 0;
    double m = 1 + dm_unit(s), sign = (dm_lcg(s) >> 63) ? -1.0 : 1.0;
    int e = (int)(dm_lcg(s) >> 33) % 2046 - 1022; /* [-1022, 1023] */
    double u = dm_unit(s);
    *y = 0;
    switch (f) {
    case DM_SIN:
    case DM_COS:
    case DM_TAN:
        return wide ? sign * m * dm_pow2(e) : -2000 + 4000 * u;
    case DM_EXP:
        return -745.2 + (709.8 + 745.2) * u;
    case DM_LOG:
        return wide ? m * dm_pow2(e) : 1e6 * u;
    case DM_POW:
        if (i % 4 == 0) { /* negative base, integer exponent */
            *y = (double)(int)(dm_lcg(s) >> 59) - 16;
            return -10 * u;
        }
        *y = -60 + 120 * dm_unit(s);
        return 50 * u;
    case DM_ATAN:
        return wide ? sign * m * dm_pow2(e) : -100 + 200 * u;
    case DM_ATAN2:
        *y = wide ? sign * m * dm_pow2(e) : -10 + 20 * dm_unit(s);
        return -10 + 20 * u;
    default:
        return -1 + 2 * u; /* asin, acos */
    }
}

static uint64_t dm_fnv(uint64_t h, double r)
{
    uint64_t u;
    memcpy(&u, &r, sizeof u);
    for (int k = 0; k < 8; k++) {
        h ^= (u >> (8 * k)) & 0xFF;
        h *= 0x100000001B3ull;
    }
    return h;
}

static void dm_hashes(const dm_fns_t *fns, uint64_t out[DM_N])
{
    for (int f = 0; f < DM_N; f++) {
        uint64_t s = 0x5EED0000ull + (uint64_t)f, h = 0xCBF29CE484222325ull;
        for (int i = 0; i < 100000; i++) {
            double y, x = dm_hash_input(f, &s, i, &y);
            /* atan2 takes (y, x); pow takes (x, y). */
            double r = fns->f1[f]      ? fns->f1[f](x)
                       : f == DM_ATAN2 ? fns->f2[f](y, x)
                                       : fns->f2[f](x, y);
            h = dm_fnv(h, r);
        }
        out[f] = h;
    }
}

#endif
