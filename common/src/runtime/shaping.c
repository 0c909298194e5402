/* Shaping functions: see lattice/shaping.h. Everything here is a pure
 * function of its arguments built on lattice/dmath.h and exact IEEE
 * operations (+ - * /, sqrt, floor), so it gives the same bits on every
 * worker. */
#include "lattice/shaping.h"

#include <math.h>
#include <string.h>

#include "lattice/dmath.h"

/* Record layouts (lattice/shaping.h; the compiler writes them, see
 * LX_KEY_STRIDE and LX_POINT_STRIDE in lattice/graph.h). */
enum {
    S_KEY_STRIDE = 11, /* timeMs, interp, easing, inX, inY, outX, outY, value[4] */
    S_KEY_VALUE = 7,
    S_POINT_STRIDE = 6, /* x, y, inX, inY, outX, outY */
    S_MAX_PIECES = 256,
};

/* The largest double below 1: the top of every [0, 1) result. */
static const double S_BELOW_ONE = 0x1.fffffffffffffp-1;

static double s_clamp01(double v) { return v > 0 ? (v < 1 ? v : 1) : 0; /* NaN -> 0 */ }

/* x^n by repeated multiplication, left to right. */
static double s_ipow(double x, int n)
{
    double r = x;
    for (int i = 1; i < n; i++)
        r *= x;
    return r;
}

/* ---- Easing (easings.net formulas, lx_ease_curves order) -------------- */

enum {
    S_LINEAR,
    S_IN_SINE,
    S_OUT_SINE,
    S_IN_OUT_SINE,
    S_IN_QUAD,
    S_OUT_QUAD,
    S_IN_OUT_QUAD,
    S_IN_CUBIC,
    S_OUT_CUBIC,
    S_IN_OUT_CUBIC,
    S_IN_QUART,
    S_OUT_QUART,
    S_IN_OUT_QUART,
    S_IN_QUINT,
    S_OUT_QUINT,
    S_IN_OUT_QUINT,
    S_IN_EXPO,
    S_OUT_EXPO,
    S_IN_OUT_EXPO,
    S_IN_CIRC,
    S_OUT_CIRC,
    S_IN_OUT_CIRC,
    S_IN_BACK,
    S_OUT_BACK,
    S_IN_OUT_BACK,
    S_IN_ELASTIC,
    S_OUT_ELASTIC,
    S_IN_OUT_ELASTIC,
    S_IN_BOUNCE,
    S_OUT_BOUNCE,
    S_IN_OUT_BOUNCE,
};

/* easings.net's constants; the products are folded at compile time with
 * IEEE rounding, the same on every compiler. */
static const double S_C1 = 1.70158;
static const double S_C2 = 1.70158 * 1.525;
static const double S_C3 = 1.70158 + 1;
static const double S_C4 = (2 * LX_PI) / 3;
static const double S_C5 = (2 * LX_PI) / 4.5;

static double s_out_bounce(double x)
{
    const double n1 = 7.5625, d1 = 2.75;
    if (x < 1 / d1)
        return n1 * x * x;
    if (x < 2 / d1) {
        x -= 1.5 / d1;
        return n1 * x * x + 0.75;
    }
    if (x < 2.5 / d1) {
        x -= 2.25 / d1;
        return n1 * x * x + 0.9375;
    }
    x -= 2.625 / d1;
    return n1 * x * x + 0.984375;
}

/* The "InOut" polynomial easings: 2^(n-1) t^n, then 1 - (2 - 2t)^n / 2. */
static double s_in_out_pow(double t, int n)
{
    if (t < 0.5)
        return s_ipow(2.0, n - 1) * s_ipow(t, n);
    return 1 - s_ipow(-2 * t + 2, n) / 2;
}

double lx_ease(int curve, double t)
{
    /* The endpoints are pinned rather than computed: easeInBack(1), for one,
     * is c3 - c1, which need not round to exactly 1. */
    if (!(t > 0))
        return 0.0;
    if (t >= 1)
        return 1.0;
    switch (curve) {
    case S_IN_SINE:
        return 1 - lx_cos((t * LX_PI) / 2);
    case S_OUT_SINE:
        return lx_sin((t * LX_PI) / 2);
    case S_IN_OUT_SINE:
        return -(lx_cos(LX_PI * t) - 1) / 2;
    case S_IN_QUAD:
        return t * t;
    case S_OUT_QUAD:
        return 1 - (1 - t) * (1 - t);
    case S_IN_OUT_QUAD:
        return s_in_out_pow(t, 2);
    case S_IN_CUBIC:
        return s_ipow(t, 3);
    case S_OUT_CUBIC:
        return 1 - s_ipow(1 - t, 3);
    case S_IN_OUT_CUBIC:
        return s_in_out_pow(t, 3);
    case S_IN_QUART:
        return s_ipow(t, 4);
    case S_OUT_QUART:
        return 1 - s_ipow(1 - t, 4);
    case S_IN_OUT_QUART:
        return s_in_out_pow(t, 4);
    case S_IN_QUINT:
        return s_ipow(t, 5);
    case S_OUT_QUINT:
        return 1 - s_ipow(1 - t, 5);
    case S_IN_OUT_QUINT:
        return s_in_out_pow(t, 5);
    case S_IN_EXPO:
        return lx_pow(2, 10 * t - 10);
    case S_OUT_EXPO:
        return 1 - lx_pow(2, -10 * t);
    case S_IN_OUT_EXPO:
        return t < 0.5 ? lx_pow(2, 20 * t - 10) / 2 : (2 - lx_pow(2, -20 * t + 10)) / 2;
    case S_IN_CIRC:
        return 1 - sqrt(1 - t * t);
    case S_OUT_CIRC:
        return sqrt(1 - (t - 1) * (t - 1));
    case S_IN_OUT_CIRC:
        return t < 0.5 ? (1 - sqrt(1 - (2 * t) * (2 * t))) / 2
                       : (sqrt(1 - (-2 * t + 2) * (-2 * t + 2)) + 1) / 2;
    case S_IN_BACK:
        return S_C3 * t * t * t - S_C1 * t * t;
    case S_OUT_BACK:
        return 1 + S_C3 * s_ipow(t - 1, 3) + S_C1 * (t - 1) * (t - 1);
    case S_IN_OUT_BACK:
        return t < 0.5 ? ((2 * t) * (2 * t) * ((S_C2 + 1) * 2 * t - S_C2)) / 2
                       : ((2 * t - 2) * (2 * t - 2) * ((S_C2 + 1) * (t * 2 - 2) + S_C2) + 2) / 2;
    case S_IN_ELASTIC:
        return -lx_pow(2, 10 * t - 10) * lx_sin((t * 10 - 10.75) * S_C4);
    case S_OUT_ELASTIC:
        return lx_pow(2, -10 * t) * lx_sin((t * 10 - 0.75) * S_C4) + 1;
    case S_IN_OUT_ELASTIC:
        return t < 0.5 ? -(lx_pow(2, 20 * t - 10) * lx_sin((20 * t - 11.125) * S_C5)) / 2
                       : (lx_pow(2, -20 * t + 10) * lx_sin((20 * t - 11.125) * S_C5)) / 2 + 1;
    case S_IN_BOUNCE:
        return 1 - s_out_bounce(1 - t);
    case S_OUT_BOUNCE:
        return s_out_bounce(t);
    case S_IN_OUT_BOUNCE:
        return t < 0.5 ? (1 - s_out_bounce(1 - 2 * t)) / 2 : (1 + s_out_bounce(2 * t - 1)) / 2;
    default:
        return t; /* linear, and any index the compiler never emits */
    }
}

/* ---- Waves and colour ------------------------------------------------ */

/* frac(x) in [0, 1); non-finite phases count as 0. */
static double s_wrap(double x)
{
    if (!(fabs(x) <= 0x1.fffffffffffffp+1023))
        return 0;
    double p = x - floor(x);
    return p < 1 ? p : 0; /* -1e-20 - floor(-1e-20) rounds up to 1 */
}

double lx_wave(int shape, double phase)
{
    double p = s_wrap(phase);
    switch (shape) {
    case 0:
        return lx_sin(LX_TAU * p);
    case 1:
        return p < 0.5 ? 4 * p - 1 : 3 - 4 * p;
    case 2:
        return 2 * p - 1;
    case 3:
        return p < 0.5 ? 1.0 : -1.0;
    default:
        return 0.0;
    }
}

void lx_hsv_to_rgb(double h, double s, double v, double rgb[3])
{
    s = s_clamp01(s);
    v = s_clamp01(v);
    double h6 = s_wrap(h) * 6;
    int i = (int)h6;
    if (i > 5)
        i = 5;
    double f = h6 - i;
    double p = v * (1 - s), q = v * (1 - s * f), t = v * (1 - s * (1 - f));
    double r, g, b;
    switch (i) {
    case 0:
        r = v, g = t, b = p;
        break;
    case 1:
        r = q, g = v, b = p;
        break;
    case 2:
        r = p, g = v, b = t;
        break;
    case 3:
        r = p, g = q, b = v;
        break;
    case 4:
        r = t, g = p, b = v;
        break;
    default:
        r = v, g = p, b = q;
        break;
    }
    rgb[0] = r;
    rgb[1] = g;
    rgb[2] = b;
}

/* ---- Counter-based randomness ---------------------------------------- */

/* The splitmix64 finalizer (Stafford's "Mix13"): a bijection of 64-bit
 * words in which every input bit affects every output bit with probability
 * close to 1/2. */
static uint64_t s_mix(uint64_t z)
{
    z ^= z >> 30;
    z *= 0xBF58476D1CE4E5B9ull;
    z ^= z >> 27;
    z *= 0x94D049BB133111EBull;
    z ^= z >> 31;
    return z;
}

/* Each input is multiplied by its own odd constant (a bijection, and it
 * keeps equal values in different positions apart), xored into the state
 * and mixed; a last round gives the element, absorbed last, the same full
 * avalanche as the others. For any fixed three inputs the map from the
 * fourth to the output is a bijection. */
uint64_t lx_rand_u64(uint64_t seed, uint64_t key, uint64_t frame, uint64_t element)
{
    uint64_t h = 0x27D4EB2F165667C5ull;
    h = s_mix(h ^ (seed * 0x9E3779B97F4A7C15ull));
    h = s_mix(h ^ (key * 0xC2B2AE3D27D4EB4Full));
    h = s_mix(h ^ (frame * 0x165667B19E3779F9ull));
    h = s_mix(h ^ (element * 0xD6E8FEB86659FD93ull));
    return s_mix(h);
}

double lx_rand_unit(uint64_t seed, uint64_t key, uint64_t frame, uint64_t element)
{
    return (double)(lx_rand_u64(seed, key, frame, element) >> 11) * 0x1p-53;
}

/* The frame slot of lx_hash_number's draws: one no frame counter reaches. */
static const uint64_t S_HASH_FRAME = UINT64_MAX;

double lx_hash_number(uint64_t seed, uint64_t key, double x)
{
    if (x == 0)
        x = 0.0; /* -0.0 hashes as 0.0 */
    uint64_t bits;
    memcpy(&bits, &x, sizeof bits);
    return lx_rand_unit(seed, key, S_HASH_FRAME, bits);
}

/* ---- Value noise ----------------------------------------------------- */

/* One octave: the lattice value at integer i is
 * lx_rand_unit(seed, key, octave, (uint64_t)(int64_t)i), interpolated with
 * the quintic 6f^5 - 15f^4 + 10f^3. Beyond 2^62 (where every double is an
 * integer, and for non-finite x) the lattice is indexed by x's bits. */
static double s_value_noise(uint64_t seed, uint64_t key, int octave, double x)
{
    if (!(fabs(x) < 0x1p62)) {
        uint64_t bits;
        memcpy(&bits, &x, sizeof bits);
        return lx_rand_unit(seed, key, (uint64_t)octave, bits);
    }
    double fl = floor(x);
    double f = x - fl;
    int64_t i = (int64_t)fl;
    double a = lx_rand_unit(seed, key, (uint64_t)octave, (uint64_t)i);
    if (f == 0)
        return a;
    double b = lx_rand_unit(seed, key, (uint64_t)octave, (uint64_t)(i + 1));
    double w = f * f * f * (f * (f * 6 - 15) + 10);
    return a + (b - a) * w;
}

double lx_noise1d(uint64_t seed, uint64_t key, double x, int octaves)
{
    if (octaves < 1)
        octaves = 1;
    if (octaves > 8)
        octaves = 8;
    double sum = 0, norm = 0, amp = 1;
    for (int o = 0; o < octaves; o++) {
        sum += amp * s_value_noise(seed, key, o, x);
        norm += amp;
        amp *= 0.5;
        x *= 2;
    }
    double r = sum / norm;
    /* Rounding could in principle reach 1; the contract is [0, 1). */
    return r < S_BELOW_ONE ? (r > 0 ? r : 0.0) : S_BELOW_ONE;
}

/* ---- Keyframes ------------------------------------------------------- */

/* One coordinate of the CSS cubic through 0, p1, p2, 1, in Bernstein
 * form. */
static double s_bezier1(double p1, double p2, double s)
{
    double m = 1 - s;
    return 3 * m * m * s * p1 + 3 * m * s * s * p2 + s * s * s;
}

/* CSS cubic-bezier(x1, y1, x2, y2) at time fraction u: the curve parameter
 * s with x(s) = u by bisection to 1e-12 (40 halvings; x is monotonic since
 * x1 and x2 lie in [0, 1]), then y(s). */
static double s_css_bezier(double x1, double y1, double x2, double y2, double u)
{
    if (!(u > 0))
        return 0;
    if (u >= 1)
        return 1;
    double lo = 0, hi = 1;
    while (hi - lo > 1e-12) {
        double mid = 0.5 * (lo + hi);
        if (s_bezier1(x1, x2, mid) < u)
            lo = mid;
        else
            hi = mid;
    }
    return s_bezier1(y1, y2, 0.5 * (lo + hi));
}

/* A small non-negative integer stored as a double, or `fallback`. */
static int s_code(double v, int limit, int fallback)
{
    return v >= 0 && v < limit ? (int)v : fallback;
}

static void s_copy_value(const double *key, unsigned stride, double *out)
{
    for (unsigned c = 0; c < stride; c++)
        out[c] = key[S_KEY_VALUE + c];
}

void lx_keyframes(const double *keys, uint32_t n, unsigned stride, double t_ms, double *out)
{
    if (stride > 4)
        stride = 4;
    if (n == 0) {
        for (unsigned c = 0; c < stride; c++)
            out[c] = 0;
        return;
    }
    const double *last = keys + (size_t)(n - 1) * S_KEY_STRIDE;
    if (!(t_ms > keys[0])) { /* before the first key, or NaN */
        s_copy_value(keys, stride, out);
        return;
    }
    if (t_ms >= last[0]) {
        s_copy_value(last, stride, out);
        return;
    }
    /* keys[lo].time <= t_ms < keys[hi].time */
    uint32_t lo = 0, hi = n - 1;
    while (hi - lo > 1) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (keys[(size_t)mid * S_KEY_STRIDE] <= t_ms)
            lo = mid;
        else
            hi = mid;
    }
    const double *a = keys + (size_t)lo * S_KEY_STRIDE, *b = a + S_KEY_STRIDE;
    double u = (t_ms - a[0]) / (b[0] - a[0]);
    double w;
    switch (s_code(a[1], 3, 0)) {
    case 1: /* hold */
        s_copy_value(a, stride, out);
        return;
    case 2: /* bezier: the left key's out handle, the right key's in handle */
        w = s_css_bezier(a[5], a[6], b[3], b[4], u);
        break;
    default: /* linear, with the left key's easing */
        w = lx_ease(s_code(a[2], 1 << 16, 0), u);
        break;
    }
    for (unsigned c = 0; c < stride; c++) {
        double va = a[S_KEY_VALUE + c], vb = b[S_KEY_VALUE + c];
        out[c] = va + (vb - va) * w;
    }
}

/* ---- Path flattening ------------------------------------------------- */

/* Uniform pieces for the cubic P0..P3 (already scaled) so the chord error
 * is within tol. Uniformly split into N pieces, a curve deviates from its
 * chords by at most max|B''| / (8 N^2), and for a cubic
 * max|B''| <= 6 max(|P0 - 2P1 + P2|, |P1 - 2P2 + P3|) (Wang's formula),
 * so N = ceil(sqrt(3 L / (4 tol))) with L the larger second difference. */
static uint32_t s_pieces(const double p[4][2], double tol)
{
    if (!(tol > 0))
        return S_MAX_PIECES;
    double l = 0;
    for (int k = 0; k < 2; k++) {
        double dx = p[k][0] - 2 * p[k + 1][0] + p[k + 2][0];
        double dy = p[k][1] - 2 * p[k + 1][1] + p[k + 2][1];
        double d = sqrt(dx * dx + dy * dy);
        l = d > l ? d : l;
    }
    double v = 0.75 * l / tol;
    if (!(v <= (double)S_MAX_PIECES * S_MAX_PIECES))
        return S_MAX_PIECES; /* also NaN coordinates */
    double pieces = ceil(sqrt(v));
    return pieces < 1 ? 1 : (uint32_t)pieces;
}

uint32_t lx_path_flatten(const double *points, uint32_t n, int closed, double scale,
                         double tolerance, double *out, uint32_t cap)
{
    if (n == 0 || cap == 0)
        return 0;
    out[0] = points[0] * scale;
    out[1] = points[1] * scale;
    uint32_t count = 1;
    uint32_t segments = closed ? n : n - 1;
    for (uint32_t i = 0; i < segments && count < cap; i++) {
        const double *a = points + (size_t)i * S_POINT_STRIDE;
        const double *b = points + (size_t)((i + 1) % n) * S_POINT_STRIDE;
        if (a[4] == 0 && a[5] == 0 && b[2] == 0 && b[3] == 0) {
            out[2 * count] = b[0] * scale;
            out[2 * count + 1] = b[1] * scale;
            count++;
            continue;
        }
        const double p[4][2] = {
            {a[0] * scale, a[1] * scale},
            {(a[0] + a[4]) * scale, (a[1] + a[5]) * scale},
            {(b[0] + b[2]) * scale, (b[1] + b[3]) * scale},
            {b[0] * scale, b[1] * scale},
        };
        uint32_t pieces = s_pieces(p, tolerance);
        for (uint32_t k = 1; k <= pieces && count < cap; k++) {
            /* s = 1 gives exactly P3: the other Bernstein weights are 0. */
            double s = (double)k / pieces, m = 1 - s;
            double w0 = m * m * m, w1 = 3 * m * m * s, w2 = 3 * m * s * s, w3 = s * s * s;
            for (int c = 0; c < 2; c++)
                out[2 * count + c] = w0 * p[0][c] + w1 * p[1][c] + w2 * p[2][c] + w3 * p[3][c];
            count++;
        }
    }
    return count;
}
