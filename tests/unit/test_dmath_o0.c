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
/* dmath.c includes lattice/dmath.h again: with its guard lifted, that
 * declares the renamed -O0 copies (the real names are declared above). */
#undef LATTICE_DMATH_H
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

#include "dmath_pinned.h"
#include "test.h"

int main(void)
{
    const dm_fns_t o0 = DM_FNS(_o0);
    const dm_fns_t lib = DM_FNS();
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
