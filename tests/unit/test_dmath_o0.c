/* Determinism across optimization levels: a second copy of dmath.c,
 * compiled at -O0 into this test (its functions renamed lx_*_o0 so they do
 * not clash with liblattice_common's), must give the same pinned hashes as
 * test_dmath.c demands of the library, and so must the library itself, built
 * at whatever level the build uses (-O2 in the plain build). */
#if defined(__clang__)
#pragma clang optimize off
#elif defined(__GNUC__)
#pragma GCC optimize("O0")
#endif

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "lattice/dmath.h"

#define lx_sin lx_sin_o0
#define lx_cos lx_cos_o0
#define lx_tan lx_tan_o0
#define lx_exp lx_exp_o0
#define lx_log lx_log_o0
#define lx_pow lx_pow_o0
#define lx_atan lx_atan_o0
#define lx_atan2 lx_atan2_o0
#define lx_asin lx_asin_o0
#define lx_acos lx_acos_o0
#include "../../common/src/runtime/dmath.c"
#undef lx_sin
#undef lx_cos
#undef lx_tan
#undef lx_exp
#undef lx_log
#undef lx_pow
#undef lx_atan
#undef lx_atan2
#undef lx_asin
#undef lx_acos

/* Prototypes for the -O0 copies (dmath.h was already included under the
 * real names, so its include guard kept the renamed declarations out). */
double lx_sin_o0(double x);
double lx_cos_o0(double x);
double lx_tan_o0(double x);
double lx_exp_o0(double x);
double lx_log_o0(double x);
double lx_pow_o0(double x, double y);
double lx_atan_o0(double x);
double lx_atan2_o0(double y, double x);
double lx_asin_o0(double x);
double lx_acos_o0(double x);

#include "test.h"

/* ---- Copied from test_dmath.c: keep the two identical ---------------- */

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

/* ---- End of the copy ------------------------------------------------ */

int main(void)
{
    const dm_fns_t o0 = {
        .f1 = {[DM_SIN] = lx_sin_o0,
               [DM_COS] = lx_cos_o0,
               [DM_TAN] = lx_tan_o0,
               [DM_EXP] = lx_exp_o0,
               [DM_LOG] = lx_log_o0,
               [DM_ATAN] = lx_atan_o0,
               [DM_ASIN] = lx_asin_o0,
               [DM_ACOS] = lx_acos_o0},
        .f2 = {[DM_POW] = lx_pow_o0, [DM_ATAN2] = lx_atan2_o0},
    };
    const dm_fns_t lib = {
        .f1 = {[DM_SIN] = lx_sin,
               [DM_COS] = lx_cos,
               [DM_TAN] = lx_tan,
               [DM_EXP] = lx_exp,
               [DM_LOG] = lx_log,
               [DM_ATAN] = lx_atan,
               [DM_ASIN] = lx_asin,
               [DM_ACOS] = lx_acos},
        .f2 = {[DM_POW] = lx_pow, [DM_ATAN2] = lx_atan2},
    };
    uint64_t h0[DM_N], hl[DM_N];
    dm_hashes(&o0, h0);
    dm_hashes(&lib, hl);
    for (int f = 0; f < DM_N; f++) {
        printf("  %-5s -O0 0x%016llX  library 0x%016llX\n", dm_names[f], (unsigned long long)h0[f],
               (unsigned long long)hl[f]);
        CHECK_MSG(h0[f] == dm_pinned[f], "%s at -O0: 0x%016llX, pinned 0x%016llX", dm_names[f],
                  (unsigned long long)h0[f], (unsigned long long)dm_pinned[f]);
        CHECK_MSG(hl[f] == dm_pinned[f], "%s in the library: 0x%016llX, pinned 0x%016llX",
                  dm_names[f], (unsigned long long)hl[f], (unsigned long long)dm_pinned[f]);
    }
    /* A few special values, bit for bit. */
    const double xs[] = {0.0, -0.0, 1e-310, 0.5, 1.0, 3.0, 1e22, HUGE_VAL, -HUGE_VAL};
    int differ = 0;
    for (size_t i = 0; i < sizeof xs / sizeof xs[0]; i++) {
        for (int f = 0; f < DM_N; f++) {
            double a, b;
            if (o0.f1[f]) {
                a = o0.f1[f](xs[i]);
                b = lib.f1[f](xs[i]);
            } else {
                a = o0.f2[f](xs[i], 0.75);
                b = lib.f2[f](xs[i], 0.75);
            }
            differ += memcmp(&a, &b, sizeof a) != 0;
        }
    }
    CHECK_EQ_INT(differ, 0);
    TEST_MAIN_END();
}
