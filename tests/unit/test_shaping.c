/* lattice/shaping.h: easing, waves, HSV, counter-based randomness, value
 * noise, keyframes and path flattening. Expectations are worked out by hand
 * from the formulas (easings.net, the header's contracts), not copied from
 * the implementation's output. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "lattice/registry.h"
#include "lattice/shaping.h"
#include "test.h"

#define NEAR(got, want, tol)                                                                       \
    do {                                                                                           \
        double g_ = (got), w_ = (want);                                                            \
        CHECK_MSG(fabs(g_ - w_) <= (tol), "%s = %.17g, want %.17g", #got, g_, w_);                 \
    } while (0)
#define EXACT(got, want) NEAR(got, want, 0.0)

static int curve(const char *name)
{
    int c = lx_ease_parse(name);
    CHECK_MSG(c >= 0, "no curve '%s'", name);
    return c;
}

static double ease(const char *name, double t) { return lx_ease(curve(name), t); }

static void test_ease(void)
{
    int n = 0;
    while (lx_ease_curves[n])
        n++;
    CHECK_EQ_INT(n, 31);
    for (int c = 0; c < n; c++) {
        CHECK_MSG(lx_ease(c, 0) == 0 && lx_ease(c, 1) == 1, "%s endpoints", lx_ease_curves[c]);
        /* t is clamped to [0, 1] (NaN counts as 0). */
        CHECK_MSG(lx_ease(c, -0.5) == 0 && lx_ease(c, 7) == 1 && lx_ease(c, NAN) == 0,
                  "%s clamping", lx_ease_curves[c]);
        /* The symmetric curves pass through the middle. */
        if (strstr(lx_ease_curves[c], "InOut"))
            NEAR(lx_ease(c, 0.5), 0.5, 1e-15);
    }

    EXACT(ease("linear", 0.3), 0.3);
    EXACT(lx_ease(999, 0.3), 0.3); /* an unknown index falls back to linear */

    /* Powers: In t^n, Out 1 - (1-t)^n, InOut 2^(n-1) t^n then mirrored. */
    EXACT(ease("easeInQuad", 0.5), 0.25);
    EXACT(ease("easeOutQuad", 0.5), 0.75);
    EXACT(ease("easeInOutQuad", 0.25), 0.125);
    EXACT(ease("easeInOutQuad", 0.75), 0.875);
    EXACT(ease("easeInCubic", 0.5), 0.125);
    EXACT(ease("easeOutCubic", 0.5), 0.875);
    EXACT(ease("easeInOutCubic", 0.25), 0.0625);
    EXACT(ease("easeInOutCubic", 0.75), 0.9375);
    EXACT(ease("easeInQuart", 0.5), 0.0625);
    EXACT(ease("easeOutQuart", 0.5), 0.9375);
    EXACT(ease("easeInOutQuart", 0.25), 0.03125);
    EXACT(ease("easeInQuint", 0.5), 0.03125);
    EXACT(ease("easeOutQuint", 0.5), 0.96875);
    EXACT(ease("easeInOutQuint", 0.25), 0.015625);

    /* Sine: 1 - cos(pi t / 2), sin(pi t / 2), (1 - cos(pi t)) / 2. */
    NEAR(ease("easeInSine", 0.5), 1 - sqrt(0.5), 1e-15);
    NEAR(ease("easeOutSine", 0.5), sqrt(0.5), 1e-15);
    NEAR(ease("easeInOutSine", 0.25), (1 - sqrt(0.5)) / 2, 1e-15);

    /* Expo: 2^(10t - 10) and 1 - 2^(-10t); powers of two come out exact. */
    EXACT(ease("easeInExpo", 0.5), 0.03125);
    EXACT(ease("easeInExpo", 0.1), 1.0 / 512);
    EXACT(ease("easeOutExpo", 0.5), 0.96875);
    EXACT(ease("easeInOutExpo", 0.25), 0.015625); /* 2^(5 - 10) / 2 */
    EXACT(ease("easeInOutExpo", 0.75), 0.984375); /* (2 - 2^-5) / 2 */

    /* Circ: 1 - sqrt(1 - t^2) and sqrt(1 - (t-1)^2); 0.6 and 0.8 are a
     * 3-4-5 triangle. */
    NEAR(ease("easeInCirc", 0.6), 0.2, 1e-15);
    NEAR(ease("easeOutCirc", 0.4), 0.8, 1e-15);
    NEAR(ease("easeInOutCirc", 0.3), 0.1, 1e-15); /* (1 - sqrt(1 - 0.36)) / 2 */

    /* Back, c1 = 1.70158, c3 = c1 + 1: at 0.5, c3/8 - c1/4 = -0.0876975;
     * easeInBack dips below 0 and easeOutBack overshoots 1. */
    NEAR(ease("easeInBack", 0.5), -0.0876975, 1e-15);
    NEAR(ease("easeOutBack", 0.5), 1.0876975, 1e-15);
    CHECK(ease("easeInBack", 0.2) < 0);
    CHECK(ease("easeInOutBack", 0.1) < 0 && ease("easeInOutBack", 0.9) > 1);

    /* Elastic, c4 = 2 pi / 3: out(0.1) = 2^-1 sin(pi/6) + 1 = 1.25;
     * in(0.9) = -2^-1 sin(-7 pi / 6) = -0.25. */
    NEAR(ease("easeOutElastic", 0.1), 1.25, 1e-15);
    NEAR(ease("easeInElastic", 0.9), -0.25, 1e-15);

    /* Bounce, n1 = 7.5625, d1 = 2.75: at 0.2 the first arc, n1 * 0.04; at
     * 0.5 the second, n1 (1/22)^2 + 0.75; at 0.8 the third,
     * n1 (1/55)^2 + 0.9375. */
    NEAR(ease("easeOutBounce", 0.2), 0.3025, 1e-15);
    NEAR(ease("easeOutBounce", 0.5), 0.765625, 1e-15);
    NEAR(ease("easeOutBounce", 0.8), 0.94, 1e-15);
    NEAR(ease("easeInBounce", 0.5), 0.234375, 1e-15);
    NEAR(ease("easeInOutBounce", 0.25), (1 - 0.765625) / 2, 1e-15);
    EXACT(ease("easeOutBounce", 1), 1);

    /* The polynomial, sine, expo and circ curves stay within [0, 1] and
     * never decrease. */
    static const char *const mono[] = {
        "easeInSine",    "easeOutSine",    "easeInOutSine", "easeInQuad",     "easeOutQuad",
        "easeInOutQuad", "easeInCubic",    "easeOutCubic",  "easeInOutCubic", "easeInQuart",
        "easeOutQuart",  "easeInOutQuart", "easeInQuint",   "easeOutQuint",   "easeInOutQuint",
        "easeInExpo",    "easeOutExpo",    "easeInOutExpo", "easeInCirc",     "easeOutCirc",
        "easeInOutCirc"};
    for (size_t i = 0; i < sizeof mono / sizeof mono[0]; i++) {
        int c = curve(mono[i]), bad = 0;
        double prev = 0;
        for (int k = 0; k <= 10000; k++) {
            double v = lx_ease(c, k / 10000.0);
            bad += v < prev || v < 0 || v > 1;
            prev = v;
        }
        CHECK_MSG(bad == 0, "%s not monotonic in [0, 1]", mono[i]);
    }
}

static void test_wave(void)
{
    /* 0 sine, 1 triangle, 2 saw, 3 square. */
    EXACT(lx_wave(0, 0), 0);
    EXACT(lx_wave(0, 0.25), 1);
    EXACT(lx_wave(0, 0.75), -1);
    NEAR(lx_wave(0, 0.5), 0, 1e-15);
    NEAR(lx_wave(0, 1.0 / 12), 0.5, 1e-15);
    EXACT(lx_wave(1, 0), -1);
    EXACT(lx_wave(1, 0.25), 0);
    EXACT(lx_wave(1, 0.5), 1);
    EXACT(lx_wave(1, 0.75), 0);
    EXACT(lx_wave(1, 0.125), -0.5);
    EXACT(lx_wave(2, 0), -1);
    EXACT(lx_wave(2, 0.5), 0);
    EXACT(lx_wave(2, 0.75), 0.5);
    EXACT(lx_wave(3, 0), 1);
    EXACT(lx_wave(3, 0.49), 1);
    EXACT(lx_wave(3, 0.5), -1);
    EXACT(lx_wave(3, 0.99), -1);
    /* Phases outside [0, 1) wrap; non-finite phases count as 0. */
    EXACT(lx_wave(1, 1.25), 0);
    EXACT(lx_wave(2, -0.25), 0.5);
    EXACT(lx_wave(3, 7.5), -1);
    EXACT(lx_wave(2, -1e-300), -1); /* frac rounds to 1, which wraps to 0 */
    EXACT(lx_wave(2, NAN), -1);
    EXACT(lx_wave(2, INFINITY), -1);
    int bad = 0;
    for (int s = 0; s < 4; s++)
        for (int k = 0; k < 100000; k++) {
            double v = lx_wave(s, k / 100000.0);
            bad += !(v >= -1 && v <= 1);
        }
    CHECK_EQ_INT(bad, 0);
}

static void rgb_is(double h, double s, double v, double r, double g, double b)
{
    double c[3];
    lx_hsv_to_rgb(h, s, v, c);
    CHECK_MSG(fabs(c[0] - r) <= 1e-15 && fabs(c[1] - g) <= 1e-15 && fabs(c[2] - b) <= 1e-15,
              "hsv(%g, %g, %g) = (%.17g, %.17g, %.17g), want (%g, %g, %g)", h, s, v, c[0], c[1],
              c[2], r, g, b);
}

static void test_hsv(void)
{
    rgb_is(0, 1, 1, 1, 0, 0);
    rgb_is(1.0 / 3, 1, 1, 0, 1, 0);
    rgb_is(2.0 / 3, 1, 1, 0, 0, 1);
    rgb_is(1.0 / 6, 1, 1, 1, 1, 0);
    rgb_is(0.5, 1, 1, 0, 1, 1);
    rgb_is(5.0 / 6, 1, 1, 1, 0, 1);
    rgb_is(1.0 / 12, 1, 1, 1, 0.5, 0);  /* halfway red -> yellow */
    rgb_is(0.75, 1, 1, 0.5, 0, 1);      /* halfway blue -> magenta */
    rgb_is(0.3, 0, 0.4, 0.4, 0.4, 0.4); /* no saturation: grey */
    rgb_is(0.3, 1, 0, 0, 0, 0);
    rgb_is(0, 0.5, 1, 1, 0.5, 0.5);
    rgb_is(1, 1, 1, 1, 0, 0); /* the hue is a phase */
    rgb_is(-2.0 / 3, 1, 1, 0, 1, 0);
    rgb_is(0, 2, 3, 1, 0, 0);          /* s and v clamp to 1 */
    rgb_is(0, -1, 0.5, 0.5, 0.5, 0.5); /* s clamps to 0 */
    rgb_is(0, 1, -2, 0, 0, 0);
}

static int popcount64(uint64_t x)
{
    int n = 0;
    for (; x; x &= x - 1)
        n++;
    return n;
}

static void test_rand(void)
{
    /* The documented algorithm, worked out independently (Python, from the
     * comment in shaping.c): pins the stream every patch's randomness
     * depends on. */
    CHECK(lx_rand_u64(0, 0, 0, 0) == 0xA2CED6C598630DF8ull);
    CHECK(lx_rand_u64(1, 2, 3, 4) == 0xEFBE91C8B74D9D36ull);
    CHECK(lx_rand_u64(UINT64_MAX, UINT64_MAX, UINT64_MAX, UINT64_MAX) == 0x7F4A41395B8ED34Full);

    CHECK(lx_rand_u64(7, 8, 9, 10) == lx_rand_u64(7, 8, 9, 10));
    /* Positions matter: swapping two inputs gives another number. */
    CHECK(lx_rand_u64(1, 2, 0, 0) != lx_rand_u64(2, 1, 0, 0));
    CHECK(lx_rand_u64(0, 0, 1, 2) != lx_rand_u64(0, 0, 2, 1));
    CHECK(lx_rand_u64(0, 5, 0, 0) != lx_rand_u64(0, 0, 0, 5));

    /* Avalanche: flipping any one bit of any input flips each output bit
     * with probability ~1/2; per (input, bit) the mean flipped count over
     * 200 samples must stay within 40-60% of 64. */
    uint64_t st = 1;
    long total = 0, samples = 0;
    int worst_lo = 64, worst_hi = 0;
    for (int in = 0; in < 4; in++) {
        for (int bit = 0; bit < 64; bit++) {
            long flips = 0;
            for (int k = 0; k < 200; k++) {
                uint64_t v[4];
                for (int j = 0; j < 4; j++) {
                    st = st * 6364136223846793005ull + 1442695040888963407ull;
                    v[j] = st ^ (st >> 29);
                }
                uint64_t a = lx_rand_u64(v[0], v[1], v[2], v[3]);
                v[in] ^= 1ull << bit;
                flips += popcount64(a ^ lx_rand_u64(v[0], v[1], v[2], v[3]));
            }
            int mean = (int)(flips / 200);
            worst_lo = mean < worst_lo ? mean : worst_lo;
            worst_hi = mean > worst_hi ? mean : worst_hi;
            total += flips;
            samples += 200;
        }
    }
    double overall = (double)total / samples / 64;
    printf("  avalanche: mean %.4f of output bits, per input bit %d..%d of 64\n", overall, worst_lo,
           worst_hi);
    CHECK(worst_lo >= 26 && worst_hi <= 38);
    CHECK(overall > 0.49 && overall < 0.51);
    /* Counters next to each other (the common case) too. */
    int bad = 0;
    for (uint64_t e = 0; e < 4096; e++) {
        int f = popcount64(lx_rand_u64(0, 0, 0, e) ^ lx_rand_u64(0, 0, 0, e + 1));
        bad += f < 12 || f > 52;
    }
    CHECK_MSG(bad < 4, "%d neighbouring counters too alike", bad);

    /* Unit values: [0, 1), 53 bits, uniform (chi-square over 100 buckets,
     * 99 degrees of freedom: mean 99, sd 14; 200 is 7 sd out). */
    long buckets[100] = {0};
    int out_of_range = 0, not_53 = 0;
    const long n = 1000000;
    for (long i = 0; i < n; i++) {
        double u = lx_rand_unit(42, 7, (uint64_t)(i / 1000), (uint64_t)(i % 1000));
        out_of_range += !(u >= 0 && u < 1);
        double scaled = u * 0x1p53;
        not_53 += scaled != floor(scaled);
        buckets[(int)(u * 100)]++;
    }
    double chi = 0, expect = n / 100.0;
    for (int b = 0; b < 100; b++)
        chi += (buckets[b] - expect) * (buckets[b] - expect) / expect;
    printf("  unit: chi-square %.1f over 100 buckets\n", chi);
    CHECK_EQ_INT(out_of_range, 0);
    CHECK_EQ_INT(not_53, 0);
    CHECK(chi < 200);
    CHECK(lx_rand_unit(1, 2, 3, 4) == (double)(0xEFBE91C8B74D9D36ull >> 11) * 0x1p-53);

    /* Hash block: equal x, equal result; -0.0 as 0.0; in [0, 1). */
    CHECK(lx_hash_number(1, 2, 0.5) == lx_hash_number(1, 2, 0.5));
    CHECK(lx_hash_number(1, 2, -0.0) == lx_hash_number(1, 2, 0.0));
    CHECK(lx_hash_number(1, 2, 1.0) != lx_hash_number(1, 2, 2.0));
    CHECK(lx_hash_number(1, 2, 1.0) != lx_hash_number(1, 3, 1.0));
    CHECK(lx_hash_number(1, 2, 1.0) != lx_hash_number(2, 2, 1.0));
    CHECK(lx_hash_number(1, 2, 1.0) != lx_hash_number(1, 2, nextafter(1.0, 2.0)));
    bad = 0;
    for (int i = 0; i < 100000; i++) {
        double h = lx_hash_number(3, 4, i * 0.001 - 50);
        bad += !(h >= 0 && h < 1);
    }
    bad += !(lx_hash_number(3, 4, NAN) >= 0 && lx_hash_number(3, 4, INFINITY) < 1);
    CHECK_EQ_INT(bad, 0);
}

static void test_noise(void)
{
    const uint64_t seed = 99, key = 12345;
    /* At integer x with one octave: the lattice value itself, which is
     * lx_rand_unit(seed, key, octave 0, (uint64_t)(int64_t)x). */
    for (int i = -5; i <= 5; i++)
        CHECK_MSG(lx_noise1d(seed, key, i, 1) == lx_rand_unit(seed, key, 0, (uint64_t)(int64_t)i),
                  "noise at %d", i);
    /* Halfway between lattice points the quintic weight is exactly 1/2. */
    for (int i = -3; i <= 3; i++) {
        double a = lx_rand_unit(seed, key, 0, (uint64_t)(int64_t)i);
        double b = lx_rand_unit(seed, key, 0, (uint64_t)(int64_t)(i + 1));
        NEAR(lx_noise1d(seed, key, i + 0.5, 1), (a + b) / 2, 2.5e-16);
    }
    /* The quintic is flat at the lattice: 10 f^3 at f = 1e-4 is 1e-11. */
    NEAR(lx_noise1d(seed, key, 3 + 1e-4, 1), lx_noise1d(seed, key, 3, 1), 1e-10);

    /* In [0, 1) and continuous for every octave count; octaves clamp to
     * 1..8. */
    int bad = 0, jumps = 0;
    double max_step = 0;
    for (int oct = 0; oct <= 9; oct++) {
        double prev = lx_noise1d(seed, key, -20, oct);
        for (int k = 1; k <= 400000; k++) {
            double x = -20 + k * 1e-4;
            double v = lx_noise1d(seed, key, x, oct);
            bad += !(v >= 0 && v < 1);
            double step = fabs(v - prev);
            max_step = step > max_step ? step : max_step;
            /* |d/dx| <= 15/8 per octave (quintic) times 2^o a_o / norm. */
            jumps += step > 1e-3;
            prev = v;
        }
    }
    printf("  noise: largest change over dx = 1e-4 is %.3g\n", max_step);
    CHECK_EQ_INT(bad, 0);
    CHECK_EQ_INT(jumps, 0);
    CHECK(lx_noise1d(seed, key, 0.3, 0) == lx_noise1d(seed, key, 0.3, 1));
    CHECK(lx_noise1d(seed, key, 0.3, 9) == lx_noise1d(seed, key, 0.3, 8));
    CHECK(lx_noise1d(seed, key, 0.3, 2) != lx_noise1d(seed, key, 0.3, 1));
    CHECK(lx_noise1d(seed, key, 0.3, 1) != lx_noise1d(seed + 1, key, 0.3, 1));
    /* Huge and non-finite x still land in [0, 1). */
    const double odd[] = {1e300, -1e300, 0x1p62, INFINITY, -INFINITY, NAN};
    for (size_t i = 0; i < sizeof odd / sizeof odd[0]; i++) {
        double v = lx_noise1d(seed, key, odd[i], 8);
        CHECK_MSG(v >= 0 && v < 1, "noise(%g) = %g", odd[i], v);
    }
    /* The mean over many lattice cells is about 1/2. */
    double sum = 0;
    for (int k = 0; k < 100000; k++)
        sum += lx_noise1d(seed, key, k * 0.37, 1);
    NEAR(sum / 100000, 0.5, 0.01);
}

/* A key record: timeMs, interp, easing, inX, inY, outX, outY, value[4]. */
static void key(double *k, double t, int interp, int easing, double in_x, double in_y, double out_x,
                double out_y, double v0, double v1)
{
    const double r[11] = {t, interp, easing, in_x, in_y, out_x, out_y, v0, v1, 0, 0};
    memcpy(k, r, sizeof r);
}

static double kf(const double *keys, uint32_t n, double t)
{
    double out[4] = {0};
    lx_keyframes(keys, n, 1, t, out);
    return out[0];
}

static void test_keyframes(void)
{
    const double third = 1.0 / 3, two_thirds = 2.0 / 3;
    double k[4 * 11];

    /* Linear from 0 at 0 ms to 10 at 1000 ms. */
    key(k, 0, 0, 0, two_thirds, two_thirds, third, third, 0, 100);
    key(k + 11, 1000, 0, 0, two_thirds, two_thirds, third, third, 10, 200);
    EXACT(kf(k, 2, -5), 0);
    EXACT(kf(k, 2, 0), 0);
    EXACT(kf(k, 2, 250), 2.5);
    EXACT(kf(k, 2, 500), 5);
    EXACT(kf(k, 2, 1000), 10);
    EXACT(kf(k, 2, 5000), 10);
    EXACT(kf(k, 2, NAN), 0);
    double v2[4] = {0};
    lx_keyframes(k, 2, 2, 500, v2);
    CHECK(v2[0] == 5 && v2[1] == 150); /* every component, stride 2 */
    lx_keyframes(k, 2, 2, -1, v2);
    CHECK(v2[0] == 0 && v2[1] == 100);

    /* The left key's easing shapes the segment: easeInQuad at the middle
     * is 1/4 of the way. */
    key(k, 0, 0, curve("easeInQuad"), two_thirds, two_thirds, third, third, 0, 0);
    EXACT(kf(k, 2, 500), 2.5);
    EXACT(kf(k, 2, 1000), 10);

    /* Hold keeps the left value up to the next key. */
    key(k, 0, 1, 0, two_thirds, two_thirds, third, third, 0, 0);
    EXACT(kf(k, 2, 1), 0);
    EXACT(kf(k, 2, 999.999), 0);
    EXACT(kf(k, 2, 1000), 10);
    /* The right key's interp does not govern the segment before it. */
    key(k, 0, 0, 0, two_thirds, two_thirds, third, third, 0, 0);
    key(k + 11, 1000, 1, 0, two_thirds, two_thirds, third, third, 10, 0);
    EXACT(kf(k, 2, 500), 5);
    /* Nor does its easing: a key's interp and easing shape the segment
     * that starts at it (docs/patch-format.md), and the last key's shape
     * nothing. */
    key(k + 11, 1000, 0, curve("easeInQuad"), two_thirds, two_thirds, third, third, 10, 0);
    EXACT(kf(k, 2, 500), 5);
    key(k + 11, 1000, 1, curve("easeOutCubic"), two_thirds, two_thirds, third, third, 10, 0);
    key(k + 22, 2000, 0, 0, two_thirds, two_thirds, third, third, 30, 0);
    EXACT(kf(k, 3, 500), 5);     /* linear, from key 0 */
    EXACT(kf(k, 3, 1500), 10);   /* hold, from key 1 (its easing unused) */
    EXACT(kf(k, 3, 1999.9), 10);
    EXACT(kf(k, 3, 2000), 30);

    /* Three keys: the segment is found, interior keys are hit exactly. */
    key(k, 0, 0, 0, 0, 0, 0, 0, 0, 0);
    key(k + 11, 100, 0, 0, 0, 0, 0, 0, 10, 0);
    key(k + 22, 300, 0, 0, 0, 0, 0, 0, 30, 0);
    key(k + 33, 400, 1, 0, 0, 0, 0, 0, -5, 0);
    EXACT(kf(k, 3, 50), 5);
    EXACT(kf(k, 3, 100), 10);
    EXACT(kf(k, 3, 200), 20);
    EXACT(kf(k, 4, 350), 12.5); /* 30 -> -5, halfway */
    EXACT(kf(k, 4, 1e9), -5);
    /* One key: that value everywhere; none: zeros. */
    EXACT(kf(k, 1, -100), 0);
    EXACT(kf(k, 1, 100), 0);
    double z[4] = {1, 1, 1, 1};
    lx_keyframes(k, 0, 4, 5, z);
    CHECK(z[0] == 0 && z[1] == 0 && z[2] == 0 && z[3] == 0);

    /* Bezier with the default handles, out (1/3, 1/3) and in (2/3, 2/3):
     * x(s) = y(s) = s, a straight line (to the 1e-12 of the bisection). */
    key(k, 0, 2, 0, two_thirds, two_thirds, third, third, 0, 0);
    key(k + 11, 1000, 0, 0, two_thirds, two_thirds, third, third, 10, 0);
    double worst = 0;
    for (int i = 0; i <= 1000; i++) {
        double d = fabs(kf(k, 2, i) - i / 100.0);
        worst = d > worst ? d : worst;
    }
    CHECK_MSG(worst < 1e-10, "default bezier strays %.3g from linear", worst);
    EXACT(kf(k, 2, 0), 0);
    EXACT(kf(k, 2, 1000), 10);
    /* Handles (0, 0) and (1, 1): x(s) and y(s) are the same cubic, so
     * y = x: linear again. */
    key(k, 0, 2, 0, 0, 0, 0, 0, 0, 0);
    key(k + 11, 1000, 0, 0, 1, 1, 0, 0, 10, 0);
    NEAR(kf(k, 2, 250), 2.5, 1e-10);
    NEAR(kf(k, 2, 800), 8, 1e-10);
    /* x handles 1/3, 2/3 make x(s) = s; y handles 0, 0 make
     * y(s) = 3(1-s)s^2 * 0 + s^3: at the middle, 1/8 of the way. */
    key(k, 0, 2, 0, 0, 0, third, 0, 0, 0);
    key(k + 11, 1000, 0, 0, two_thirds, 0, 0, 0, 10, 0);
    NEAR(kf(k, 2, 500), 1.25, 1e-10);
    NEAR(kf(k, 2, 200), 10 * 0.008, 1e-10);
    /* Easing is a linear-segment feature: a bezier key ignores it. */
    key(k, 0, 2, curve("easeInQuad"), 0, 0, third, third, 0, 0);
    key(k + 11, 1000, 0, 0, two_thirds, two_thirds, 0, 0, 10, 0);
    NEAR(kf(k, 2, 500), 5, 1e-10);
    /* CSS ease-in (0.42, 0, 1, 1) stays below the line and rises. */
    key(k, 0, 2, 0, 0, 0, 0.42, 0, 0, 0);
    key(k + 11, 1000, 0, 0, 1, 1, 0, 0, 10, 0);
    int bad = 0;
    double prev = 0;
    for (int i = 1; i < 1000; i++) {
        double v = kf(k, 2, i);
        bad += !(v < i / 100.0) || v < prev;
        prev = v;
    }
    CHECK_EQ_INT(bad, 0);
}

/* A point record: x, y, inX, inY, outX, outY. */
static void pt(double *p, double x, double y, double in_x, double in_y, double out_x, double out_y)
{
    const double r[6] = {x, y, in_x, in_y, out_x, out_y};
    memcpy(p, r, sizeof r);
}

static void cubic(const double p[4][2], double s, double out[2])
{
    double m = 1 - s;
    for (int c = 0; c < 2; c++)
        out[c] = m * m * m * p[0][c] + 3 * m * m * s * p[1][c] + 3 * m * s * s * p[2][c] +
                 s * s * s * p[3][c];
}

/* Distance from q to the segment a-b. */
static double seg_dist(const double *a, const double *b, const double *q)
{
    double dx = b[0] - a[0], dy = b[1] - a[1];
    double len2 = dx * dx + dy * dy;
    double t = len2 > 0 ? ((q[0] - a[0]) * dx + (q[1] - a[1]) * dy) / len2 : 0;
    t = t < 0 ? 0 : t > 1 ? 1 : t;
    double ex = a[0] + t * dx - q[0], ey = a[1] + t * dy - q[1];
    return sqrt(ex * ex + ey * ey);
}

static void test_path(void)
{
    double pts[4 * 6], out[2 * 300];

    /* A unit square of corners: every segment is straight and emits its
     * end point only, after p[0]: closed 4 + 1 vertices, open 4. */
    pt(pts, 0, 0, 0, 0, 0, 0);
    pt(pts + 6, 1, 0, 0, 0, 0, 0);
    pt(pts + 12, 1, 1, 0, 0, 0, 0);
    pt(pts + 18, 0, 1, 0, 0, 0, 0);
    static const double square[] = {0, 0, 1, 0, 1, 1, 0, 1, 0, 0};
    CHECK_EQ_INT(lx_path_flatten(pts, 4, 1, 1.0, 0.001, out, 300), 5);
    CHECK(memcmp(out, square, sizeof square) == 0);
    CHECK_EQ_INT(lx_path_flatten(pts, 4, 0, 1.0, 0.001, out, 300), 4);
    CHECK(memcmp(out, square, 8 * sizeof(double)) == 0);
    /* Scale multiplies every coordinate. */
    CHECK_EQ_INT(lx_path_flatten(pts, 4, 1, 2.5, 0.001, out, 300), 5);
    CHECK(out[2] == 2.5 && out[3] == 0 && out[4] == 2.5 && out[5] == 2.5 && out[8] == 0);
    /* cap bounds what is written. */
    double small[2 * 3 + 2] = {0};
    small[6] = small[7] = 77;
    CHECK_EQ_INT(lx_path_flatten(pts, 4, 1, 1.0, 0.001, small, 3), 3);
    CHECK(memcmp(small, square, 6 * sizeof(double)) == 0 && small[6] == 77 && small[7] == 77);
    CHECK_EQ_INT(lx_path_flatten(pts, 4, 1, 1.0, 0.001, out, 0), 0);
    CHECK_EQ_INT(lx_path_flatten(pts, 0, 1, 1.0, 0.001, out, 300), 0);

    /* A quarter circle from (1, 0) to (0, 1), handles of length
     * k = 4/3 (sqrt 2 - 1). Second differences: P0 - 2P1 + P2 =
     * (k - 1, 1 - 2k), P1 - 2P2 + P3 = (1 - 2k, k - 1), both of length
     * L = 0.459765; pieces = ceil(sqrt(0.75 L / tol)):
     * tol 0.001 -> ceil(18.57) = 19, tol 0.00025 -> ceil(37.14) = 38, and at
     * scale 2 (L doubles) tol 0.001 -> ceil(26.26) = 27. */
    const double k = 4.0 / 3 * (sqrt(2.0) - 1);
    pt(pts, 1, 0, 0, 0, 0, k);
    pt(pts + 6, 0, 1, k, 0, 0, 0);
    const double cp[4][2] = {{1, 0}, {1, k}, {k, 1}, {0, 1}};
    uint32_t nv = lx_path_flatten(pts, 2, 0, 1.0, 0.001, out, 300);
    CHECK_EQ_INT(nv, 20);
    CHECK(out[0] == 1 && out[1] == 0 && out[2 * 19] == 0 && out[2 * 19 + 1] == 1);
    double worst_on = 0, worst_radius = 0;
    for (uint32_t j = 0; j < nv; j++) {
        double c[2];
        cubic(cp, j / 19.0, c);
        double d = hypot(out[2 * j] - c[0], out[2 * j + 1] - c[1]);
        worst_on = d > worst_on ? d : worst_on;
        double r = fabs(hypot(out[2 * j], out[2 * j + 1]) - 1);
        worst_radius = r > worst_radius ? r : worst_radius;
    }
    CHECK_MSG(worst_on < 1e-12, "vertices off the cubic by %.3g", worst_on);
    CHECK_MSG(worst_radius < 3e-4, "vertices off the circle by %.3g", worst_radius);
    /* The chord error, measured: every point of the analytic cubic is
     * within tol of the polyline. */
    double worst_chord = 0;
    for (int i = 0; i <= 20000; i++) {
        double q[2], best = 1e9;
        cubic(cp, i / 20000.0, q);
        for (uint32_t j = 0; j + 1 < nv; j++) {
            double d = seg_dist(out + 2 * j, out + 2 * j + 2, q);
            best = d < best ? d : best;
        }
        worst_chord = best > worst_chord ? best : worst_chord;
    }
    printf("  path: quarter circle in 19 pieces, chord error %.3g (tolerance 0.001)\n",
           worst_chord);
    CHECK(worst_chord <= 0.001);
    CHECK_EQ_INT(lx_path_flatten(pts, 2, 0, 1.0, 0.00025, out, 300), 39);
    CHECK_EQ_INT(lx_path_flatten(pts, 2, 0, 2.0, 0.001, out, 300), 28);
    /* Closed: the closing segment from (0, 1) to (1, 0) has no handles. */
    CHECK_EQ_INT(lx_path_flatten(pts, 2, 1, 1.0, 0.001, out, 300), 21);
    CHECK(out[2 * 20] == 1 && out[2 * 20 + 1] == 0);
    /* At most 256 pieces per segment, however fine the tolerance. */
    CHECK_EQ_INT(lx_path_flatten(pts, 2, 0, 1.0, 1e-12, out, 300), 257);
    CHECK_EQ_INT(lx_path_flatten(pts, 2, 0, 1.0, 0.0, out, 300), 257);
    CHECK_EQ_INT(lx_path_flatten(pts, 2, 0, 1.0, NAN, out, 300), 257);
    /* A huge tolerance still takes one piece: the end point. */
    CHECK_EQ_INT(lx_path_flatten(pts, 2, 0, 1.0, 1e9, out, 300), 2);
}

int main(void)
{
    test_ease();
    test_wave();
    test_hsv();
    test_rand();
    test_noise();
    test_keyframes();
    test_path();
    TEST_MAIN_END();
}
