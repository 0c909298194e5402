/* Deterministic math: the project's own transcendentals.
 *
 * Workers on different C libraries must agree bit for bit, so nothing on
 * the evaluation path calls libm's sin, cos, exp, log, pow or atan2. These
 * use only IEEE-754 double +, -, *, / and sqrt (correctly rounded
 * everywhere), built with -ffp-contract=off so no FMA sneaks in. Their
 * maximum errors, measured against long double in tests/unit/test_dmath.c,
 * are documented beside each function. All are pure and thread-safe.
 * Non-finite inputs give NaN (or the IEEE limit where one is documented).
 *
 * Errors are in ulps of the exact result (subnormal results: in units of
 * 2^-1074), measured over >= 1e6 points per function plus edge cases; the
 * bound is what the test enforces, the measured maximum follows in
 * brackets. The methods are described at the top of runtime/dmath.c.
 * Results are the same bits at every optimization level and with gcc or
 * clang (pinned hashes in test_dmath.c and test_dmath_o0.c). */
#ifndef LATTICE_DMATH_H
#define LATTICE_DMATH_H

#define LX_PI 3.14159265358979323846
#define LX_TAU 6.28318530717958647692

/* sin, cos, tan: <= 0.65 ulp for every finite x [0.57, 0.57, 0.61].
 * |x| < 2^20 pi/2 (~1.647e6) is reduced by Cody-Waite with a three-part
 * pi/2, larger |x| by an exact Payne-Hanek reduction, so there is no
 * accuracy cliff: sin(1e300) is as good as sin(1). sin(+-0) = +-0,
 * tan(+-0) = +-0, cos(+-0) = 1; +-inf and NaN give NaN. |sin|, |cos| <= 1. */
double lx_sin(double x);
double lx_cos(double x);
double lx_tan(double x);
/* exp: <= 0.55 ulp [0.506], subnormal results rounded once. exp(x) = +inf
 * above log(DBL_MAX) ~ 709.7827, +0 below ~ -745.1332 (where it rounds to
 * 0), exp(+-0) = 1, exp(-inf) = +0, exp(+inf) = +inf. */
double lx_exp(double x);
/* Natural log: <= 0.55 ulp [0.500] for every positive x, subnormals
 * included; log(1) = +0, log(+-0) = -inf, log(x < 0) = NaN,
 * log(+inf) = +inf. */
double lx_log(double x);
/* x^y: <= 0.55 ulp [0.506] wherever the result is finite (it is computed
 * as exp(y log|x|) in double-double), including x near 1 with huge y and
 * subnormal results; exact when the exact result is a double
 * (pow(2, 10) = 1024, pow(-2, 3) = -8). All C99 Annex F special cases:
 * pow(x, +-0) = 1 and pow(1, y) = 1 even for NaN; pow(x < 0, non-integer)
 * = NaN; negative x with an odd integer y gives a negative result;
 * pow(+-0, y < 0) = +-inf (sign kept for odd integer y); pow(-1, +-inf) = 1;
 * pow(x, -inf) = +inf for |x| < 1, +0 for |x| > 1 (and the reverse for
 * +inf); pow(+-inf, y) per the sign of y and the parity of y; overflow gives
 * +-inf, underflow +-0. */
double lx_pow(double x, double y);
/* atan: <= 0.55 ulp [0.500]; atan(+-0) = +-0, atan(+-inf) = +-pi/2. */
double lx_atan(double x);
/* atan2(y, x): <= 0.55 ulp [0.500] for all finite operands (the quotient
 * may over- or underflow; the angle does not), in [-pi, pi]. All C99
 * Annex F cases: atan2(+-0, -0) = +-pi, atan2(+-0, +0) = +-0,
 * atan2(+-0, x < 0) = +-pi, atan2(y != 0, +-0) = +-pi/2,
 * atan2(+-y, -inf) = +-pi and (+-y, +inf) = +-0 for finite y,
 * atan2(+-inf, x) = +-pi/2 for finite x, atan2(+-inf, -inf) = +-3pi/4,
 * atan2(+-inf, +inf) = +-pi/4. */
double lx_atan2(double y, double x);
/* asin, acos: <= 0.55 ulp [0.501, 0.500] on [-1, 1], including near +-1;
 * |x| > 1 gives NaN. asin(+-0) = +-0, asin(+-1) = +-pi/2, acos(1) = +0,
 * acos(-1) = pi. */
double lx_asin(double x);
double lx_acos(double x);

#endif
