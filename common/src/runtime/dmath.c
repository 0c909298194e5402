/* Deterministic transcendentals: see lattice/dmath.h for the contract.
 *
 * Only IEEE-754 double +, -, *, /, sqrt, floor and fabs are used, plus
 * exact bit manipulation of doubles through memcpy; the build has
 * -ffp-contract=off, so every operation rounds once, the same way on every
 * x86-64 worker and at every optimization level. Accuracy comes from
 * error-free transformations (Knuth's two-sum, Dekker's two-product with a
 * Veltkamp split, valid without FMA) carrying intermediate results as
 * unevaluated double-double sums hi + lo, so that the one rounding that
 * matters is the last one.
 *
 * Methods:
 *   sin, cos, tan  argument reduction to r = x - q*pi/2, |r| <= pi/4, as a
 *                  double-double: Cody-Waite with a three-part pi/2
 *                  (33 + 33 + 53 bits) while q <= 2^20 (|x| < 2^20*pi/2,
 *                  about 1.647e6); beyond, an exact Payne-Hanek reduction
 *                  in integer arithmetic against 1280 bits of 2/pi, so every
 *                  finite x is reduced correctly. Kernels are the Taylor
 *                  series to r^19 (sin) and r^20 (cos), Horner-evaluated
 *                  with the leading terms in double-double; tan is the
 *                  double-double quotient of the two kernels.
 *   exp            x = k*ln2/128 + r (two-part ln2/128, |r| <= ln2/256),
 *                  exp(x) = 2^(k/128) * exp(r) with a 128-entry
 *                  double-double table and a degree-6 Taylor expm1(r);
 *                  subnormal results are rounded once, directly.
 *   log            x = 2^e * m, m in [0.75, 1.5), F = round(256 m)/256,
 *                  log x = e*ln2 + log F + log1p((m-F)/F) with a 193-entry
 *                  double-double log F table and a degree-9 Taylor log1p;
 *                  the result is a double-double good to ~2^-70 relative,
 *                  which pow uses.
 *   pow            exp(y * log|x|) entirely in double-double, with the
 *                  C99 Annex F special cases.
 *   atan           atan(a) = atan(c) + atan((a-c)/(1+a*c)), c = j/16, with
 *                  a 17-entry double-double atan(c) table and a degree-15
 *                  Taylor series; |a| > 1 goes through pi/2 - atan(1/a).
 *   atan2          the same kernel on the double-double quotient of the
 *                  operands scaled by a common power of two.
 *   asin, acos     with c = sqrt((1-x)(1+x)) in double-double, asin x is
 *                  the angle of (c, x) and acos x that of (x, c).
 *
 * Tables and constants were generated with mpmath at 1600 bits of precision
 * and are written as hexadecimal literals so no decimal conversion is
 * involved: each hi is the double nearest the value (or, where noted, the
 * value rounded to a multiple of a power of two so products and sums with it
 * are exact) and each lo the double nearest the remainder. Polynomial
 * coefficients are the Taylor coefficients 1/n! and 1/n rounded to nearest.
 */
#include "lattice/dmath.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

/* pi/2, pi, 3pi/4 and pi/4 as double-doubles or nearest doubles. */
static const double S_PIO2_HI = 0x1.921fb54442d18p+0;
static const double S_PIO2_LO = 0x1.1a62633145c07p-54;
static const double S_PI_HI = 0x1.921fb54442d18p+1;
static const double S_PI_LO = 0x1.1a62633145c07p-53;
static const double S_3PIO4 = 0x1.2d97c7f3321d2p+1;
static const double S_PIO4 = 0x1.921fb54442d18p-1;
static const double S_2_OVER_PI = 0x1.45f306dc9c883p-1;
/* Cody-Waite pi/2 = P1 + P2 + P3 (+ 6e-38 relative): P1 and P2 have 33
 * significant bits, so q*P1 and q*P2 are exact for q <= 2^20. */
static const double S_CW_P1 = 0x1.921fb544p+0;
static const double S_CW_P2 = 0x1.0b4611a6p-34;
static const double S_CW_P3 = 0x1.3198a2e037073p-69;
static const double S_CW_LIMIT = 0x1p20 * 0x1.921fb54442d18p+0;
/* ln2 with its hi part a multiple of 2^-42 (42 bits: e*hi exact for
 * |e| < 2^11); ln2/128 with 35 bits in hi (k*hi exact for |k| < 2^18). */
static const double S_LN2_HI = 0x1.62e42fefa38p-1;
static const double S_LN2_LO = 0x1.ef35793c7673p-45;
static const double S_LN2_128_HI = 0x1.62e42fefcp-8;
static const double S_LN2_128_LO = -0x1.c610ca86c3899p-44;
static const double S_128_OVER_LN2 = 0x1.71547652b82fep+7;
static const double S_SIXTH_HI = 0x1.5555555555555p-3;
static const double S_SIXTH_LO = 0x1.5555555555555p-57;

/* Taylor coefficients, rounded to nearest, lowest order first. */
/* sin r = r - r^3/6 + r^5 (1/5! - r^2/7! + ... - r^14/19!) */
static const double S_SIN_POLY[8] = {
    0x1.1111111111111p-7,  -0x1.a01a01a01a01ap-13, 0x1.71de3a556c734p-19, -0x1.ae64567f544e4p-26,
    0x1.6124613a86d09p-33, -0x1.ae7f3e733b81fp-41, 0x1.952c77030ad4ap-49, -0x1.2f49b46814157p-57,
};
/* cos r = 1 - r^2/2 + r^4 (1/4! - r^2/6! + ... + r^16/20!) */
static const double S_COS_POLY[9] = {
    0x1.5555555555555p-5,   -0x1.6c16c16c16c17p-10, 0x1.a01a01a01a01ap-16,
    -0x1.27e4fb7789f5cp-22, 0x1.1eed8eff8d898p-29,  -0x1.93974a8c07c9dp-37,
    0x1.ae7f3e733b81fp-45,  -0x1.6827863b97d97p-53, 0x1.e542ba4020225p-62,
};
/* exp r = 1 + r + r^2 (1/2! + r/3! + ... + r^4/6!) */
static const double S_EXP_POLY[5] = {
    0x1p-1, 0x1.5555555555555p-3, 0x1.5555555555555p-5, 0x1.1111111111111p-7, 0x1.6c16c16c16c17p-10,
};
/* log1p u = u - u^2/2 + u^3 (1/3 - u/4 + ... + u^6/9) */
static const double S_LOG_POLY[7] = {
    0x1.5555555555555p-2, -0x1p-2, 0x1.999999999999ap-3, -0x1.5555555555555p-3,
    0x1.2492492492492p-3, -0x1p-3, 0x1.c71c71c71c71cp-4,
};
/* atan t = t + t^3 (-1/3 + t^2/5 - ... - t^12/15) */
static const double S_ATAN_POLY[7] = {
    -0x1.5555555555555p-2, 0x1.999999999999ap-3, -0x1.2492492492492p-3, 0x1.c71c71c71c71cp-4,
    -0x1.745d1745d1746p-4, 0x1.3b13b13b13b14p-4, -0x1.1111111111111p-4,
};

/* 2^(j/128), j = 0..127, as {hi, lo}. */
static const double s_exp2_tab[128][2] = {
    {0x1.0000000000000p+0, 0x0p+0},
    {0x1.0163da9fb3335p+0, 0x1.b61299ab8cdb7p-54},
    {0x1.02c9a3e778061p+0, -0x1.19083535b085dp-56},
    {0x1.04315e86e7f85p+0, -0x1.0a31c1977c96ep-54},
    {0x1.059b0d3158574p+0, 0x1.d73e2a475b465p-55},
    {0x1.0706b29ddf6dep+0, -0x1.c91dfe2b13c27p-55},
    {0x1.0874518759bc8p+0, 0x1.186be4bb284ffp-57},
    {0x1.09e3ecac6f383p+0, 0x1.1487818316136p-54},
    {0x1.0b5586cf9890fp+0, 0x1.8a62e4adc610bp-54},
    {0x1.0cc922b7247f7p+0, 0x1.01edc16e24f71p-54},
    {0x1.0e3ec32d3d1a2p+0, 0x1.03a1727c57b53p-59},
    {0x1.0fb66affed31bp+0, -0x1.b9bedc44ebd7bp-57},
    {0x1.11301d0125b51p+0, -0x1.6c51039449b3ap-54},
    {0x1.12abdc06c31ccp+0, -0x1.1b514b36ca5c7p-58},
    {0x1.1429aaea92de0p+0, -0x1.32fbf9af1369ep-54},
    {0x1.15a98c8a58e51p+0, 0x1.2406ab9eeab0ap-55},
    {0x1.172b83c7d517bp+0, -0x1.19041b9d78a76p-55},
    {0x1.18af9388c8deap+0, -0x1.11023d1970f6cp-54},
    {0x1.1a35beb6fcb75p+0, 0x1.e5b4c7b4968e4p-55},
    {0x1.1bbe084045cd4p+0, -0x1.95386352ef607p-54},
    {0x1.1d4873168b9aap+0, 0x1.e016e00a2643cp-54},
    {0x1.1ed5022fcd91dp+0, -0x1.1df98027bb78cp-54},
    {0x1.2063b88628cd6p+0, 0x1.dc775814a8495p-55},
    {0x1.21f49917ddc96p+0, 0x1.2a97e9494a5eep-55},
    {0x1.2387a6e756238p+0, 0x1.9b07eb6c70573p-54},
    {0x1.251ce4fb2a63fp+0, 0x1.ac155bef4f4a4p-55},
    {0x1.26b4565e27cddp+0, 0x1.2bd339940e9d9p-55},
    {0x1.284dfe1f56381p+0, -0x1.a4c3a8c3f0d7ep-54},
    {0x1.29e9df51fdee1p+0, 0x1.612e8afad1255p-55},
    {0x1.2b87fd0dad990p+0, -0x1.10adcd6381aa4p-59},
    {0x1.2d285a6e4030bp+0, 0x1.0024754db41d5p-54},
    {0x1.2ecafa93e2f56p+0, 0x1.1ca0f45d52383p-56},
    {0x1.306fe0a31b715p+0, 0x1.6f46ad23182e4p-55},
    {0x1.32170fc4cd831p+0, 0x1.a9ce78e18047cp-55},
    {0x1.33c08b26416ffp+0, 0x1.32721843659a6p-54},
    {0x1.356c55f929ff1p+0, -0x1.b5cee5c4e4628p-55},
    {0x1.371a7373aa9cbp+0, -0x1.63aeabf42eae2p-54},
    {0x1.38cae6d05d866p+0, -0x1.e958d3c9904bdp-54},
    {0x1.3a7db34e59ff7p+0, -0x1.5e436d661f5e3p-56},
    {0x1.3c32dc313a8e5p+0, -0x1.efff8375d29c3p-54},
    {0x1.3dea64c123422p+0, 0x1.ada0911f09ebcp-55},
    {0x1.3fa4504ac801cp+0, -0x1.7d023f956f9f3p-54},
    {0x1.4160a21f72e2ap+0, -0x1.ef3691c309278p-58},
    {0x1.431f5d950a897p+0, -0x1.1c7dde35f7999p-55},
    {0x1.44e086061892dp+0, 0x1.89b7a04ef80d0p-59},
    {0x1.46a41ed1d0057p+0, 0x1.c944bd1648a76p-54},
    {0x1.486a2b5c13cd0p+0, 0x1.3c1a3b69062f0p-56},
    {0x1.4a32af0d7d3dep+0, 0x1.9cb62f3d1be56p-54},
    {0x1.4bfdad5362a27p+0, 0x1.d4397afec42e2p-56},
    {0x1.4dcb299fddd0dp+0, 0x1.8ecdbbc6a7833p-54},
    {0x1.4f9b2769d2ca7p+0, -0x1.4b309d25957e3p-54},
    {0x1.516daa2cf6642p+0, -0x1.f768569bd93efp-55},
    {0x1.5342b569d4f82p+0, -0x1.07abe1db13cadp-55},
    {0x1.551a4ca5d920fp+0, -0x1.d689cefede59bp-55},
    {0x1.56f4736b527dap+0, 0x1.9bb2c011d93adp-54},
    {0x1.58d12d497c7fdp+0, 0x1.295e15b9a1de8p-55},
    {0x1.5ab07dd485429p+0, 0x1.6324c054647adp-54},
    {0x1.5c9268a5946b7p+0, 0x1.c4b1b816986a2p-60},
    {0x1.5e76f15ad2148p+0, 0x1.ba6f93080e65ep-54},
    {0x1.605e1b976dc09p+0, -0x1.3e2429b56de47p-54},
    {0x1.6247eb03a5585p+0, -0x1.383c17e40b497p-54},
    {0x1.6434634ccc320p+0, -0x1.c483c759d8933p-55},
    {0x1.6623882552225p+0, -0x1.bb60987591c34p-54},
    {0x1.68155d44ca973p+0, 0x1.038ae44f73e65p-57},
    {0x1.6a09e667f3bcdp+0, -0x1.bdd3413b26456p-54},
    {0x1.6c012750bdabfp+0, -0x1.2895667ff0b0dp-56},
    {0x1.6dfb23c651a2fp+0, -0x1.bbe3a683c88abp-57},
    {0x1.6ff7df9519484p+0, -0x1.83c0f25860ef6p-55},
    {0x1.71f75e8ec5f74p+0, -0x1.16e4786887a99p-55},
    {0x1.73f9a48a58174p+0, -0x1.0a8d96c65d53cp-54},
    {0x1.75feb564267c9p+0, -0x1.0245957316dd3p-54},
    {0x1.780694fde5d3fp+0, 0x1.866b80a02162dp-54},
    {0x1.7a11473eb0187p+0, -0x1.41577ee04992fp-55},
    {0x1.7c1ed0130c132p+0, 0x1.f124cd1164dd6p-54},
    {0x1.7e2f336cf4e62p+0, 0x1.05d02ba15797ep-56},
    {0x1.80427543e1a12p+0, -0x1.27c86626d972bp-54},
    {0x1.82589994cce13p+0, -0x1.d4c1dd41532d8p-54},
    {0x1.8471a4623c7adp+0, -0x1.8d684a341cdfbp-55},
    {0x1.868d99b4492edp+0, -0x1.fc6f89bd4f6bap-54},
    {0x1.88ac7d98a6699p+0, 0x1.994c2f37cb53ap-54},
    {0x1.8ace5422aa0dbp+0, 0x1.6e9f156864b27p-54},
    {0x1.8cf3216b5448cp+0, -0x1.0d55e32e9e3aap-56},
    {0x1.8f1ae99157736p+0, 0x1.5cc13a2e3976cp-55},
    {0x1.9145b0b91ffc6p+0, -0x1.dd6792e582524p-54},
    {0x1.93737b0cdc5e5p+0, -0x1.75fc781b57ebcp-57},
    {0x1.95a44cbc8520fp+0, -0x1.64b7c96a5f039p-56},
    {0x1.97d829fde4e50p+0, -0x1.d185b7c1b85d1p-54},
    {0x1.9a0f170ca07bap+0, -0x1.173bd91cee632p-54},
    {0x1.9c49182a3f090p+0, 0x1.c7c46b071f2bep-56},
    {0x1.9e86319e32323p+0, 0x1.824ca78e64c6ep-56},
    {0x1.a0c667b5de565p+0, -0x1.359495d1cd533p-54},
    {0x1.a309bec4a2d33p+0, 0x1.6305c7ddc36abp-54},
    {0x1.a5503b23e255dp+0, -0x1.d2f6edb8d41e1p-54},
    {0x1.a799e1330b358p+0, 0x1.bcb7ecac563c7p-54},
    {0x1.a9e6b5579fdbfp+0, 0x1.0fac90ef7fd31p-54},
    {0x1.ac36bbfd3f37ap+0, -0x1.f9234cae76cd0p-55},
    {0x1.ae89f995ad3adp+0, 0x1.7a1cd345dcc81p-54},
    {0x1.b0e07298db666p+0, -0x1.bdef54c80e425p-54},
    {0x1.b33a2b84f15fbp+0, -0x1.2805e3084d708p-57},
    {0x1.b59728de5593ap+0, -0x1.c71dfbbba6de3p-54},
    {0x1.b7f76f2fb5e47p+0, -0x1.5584f7e54ac3bp-56},
    {0x1.ba5b030a1064ap+0, -0x1.efcd30e54292ep-54},
    {0x1.bcc1e904bc1d2p+0, 0x1.23dd07a2d9e84p-55},
    {0x1.bf2c25bd71e09p+0, -0x1.efdca3f6b9c73p-54},
    {0x1.c199bdd85529cp+0, 0x1.11065895048ddp-55},
    {0x1.c40ab5fffd07ap+0, 0x1.b4537e083c60ap-54},
    {0x1.c67f12e57d14bp+0, 0x1.2884dff483cadp-54},
    {0x1.c8f6d9406e7b5p+0, 0x1.1acbc48805c44p-56},
    {0x1.cb720dcef9069p+0, 0x1.503cbd1e949dbp-56},
    {0x1.cdf0b555dc3fap+0, -0x1.dd83b53829d72p-55},
    {0x1.d072d4a07897cp+0, -0x1.cbc3743797a9cp-54},
    {0x1.d2f87080d89f2p+0, -0x1.d487b719d8578p-54},
    {0x1.d5818dcfba487p+0, 0x1.2ed02d75b3707p-55},
    {0x1.d80e316c98398p+0, -0x1.11ec18beddfe8p-54},
    {0x1.da9e603db3285p+0, 0x1.c2300696db532p-54},
    {0x1.dd321f301b460p+0, 0x1.2da5778f018c3p-54},
    {0x1.dfc97337b9b5fp+0, -0x1.1a5cd4f184b5cp-54},
    {0x1.e264614f5a129p+0, -0x1.7b627817a1496p-54},
    {0x1.e502ee78b3ff6p+0, 0x1.39e8980a9cc8fp-55},
    {0x1.e7a51fbc74c83p+0, 0x1.2d522ca0c8de2p-54},
    {0x1.ea4afa2a490dap+0, -0x1.e9c23179c2893p-54},
    {0x1.ecf482d8e67f1p+0, -0x1.c93f3b411ad8cp-54},
    {0x1.efa1bee615a27p+0, 0x1.dc7f486a4b6b0p-54},
    {0x1.f252b376bba97p+0, 0x1.3a1a5bf0d8e43p-54},
    {0x1.f50765b6e4540p+0, 0x1.9d3e12dd8a18bp-54},
    {0x1.f7bfdad9cbe14p+0, -0x1.dbb12d006350ap-54},
    {0x1.fa7c1819e90d8p+0, 0x1.74853f3a5931ep-55},
    {0x1.fd3c22b8f71f1p+0, 0x1.2eb74966579e7p-57},
};

/* log(j/256), j = 192..384, as {hi, lo}; hi is rounded to a multiple of
 * 2^-42 so that e*ln2_hi + hi is exact. */
static const double s_logf_tab[193][2] = {
    {-0x1.269621134e000p-2, 0x1.1b61f10522625p-44},
    {-0x1.214456d0ec000p-2, 0x1.caf0428b728a3p-44},
    {-0x1.1bf99635a7000p-2, 0x1.1ac89575c2125p-44},
    {-0x1.16b5ccbad0000p-2, 0x1.23299042d74bfp-44},
    {-0x1.1178e8227e000p-2, -0x1.1ef78ce2d07f2p-44},
    {-0x1.0c42d67616000p-2, -0x1.7188b163ceae9p-45},
    {-0x1.07138604d6000p-2, 0x1.e76324e912b17p-44},
    {-0x1.01eae5626c000p-2, -0x1.a43dcfade85aep-44},
    {-0x1.f991c6cb3c000p-3, 0x1.90d04cd7cc834p-44},
    {-0x1.ef5ade4dd0000p-3, 0x1.a211565bb8e11p-51},
    {-0x1.e530effe72000p-3, 0x1.fdbdbb13f7c18p-44},
    {-0x1.db13db0d48000p-3, -0x1.2806a847527e6p-44},
    {-0x1.d1037f2656000p-3, 0x1.84a7e75b6f6e4p-47},
    {-0x1.c6ffbc6f00000p-3, -0x1.ee138d3a69d43p-44},
    {-0x1.bd087383be000p-3, 0x1.d4bc4595412b6p-45},
    {-0x1.b31d8575bc000p-3, -0x1.c794e562a63cbp-44},
    {-0x1.a93ed3c8ae000p-3, 0x1.8724350562169p-45},
    {-0x1.9f6c40708a000p-3, 0x1.337d94bcd3f43p-44},
    {-0x1.95a5adcf70000p-3, -0x1.7f22858a0ff6fp-47},
    {-0x1.8beafeb390000p-3, 0x1.73d54aae92cd1p-47},
    {-0x1.823c16551a000p-3, -0x1.e0ddb9a631e83p-46},
    {-0x1.7898d85444000p-3, -0x1.8e67be3dbaf3fp-44},
    {-0x1.6f0128b756000p-3, -0x1.577390d31ef0fp-44},
    {-0x1.6574ebe8c2000p-3, 0x1.98c1d34f0f462p-44},
    {-0x1.5bf406b544000p-3, 0x1.27023eb68981cp-46},
    {-0x1.527e5e4a1c000p-3, 0x1.4e60b8d4b411dp-44},
    {-0x1.4913d8333c000p-3, 0x1.53e43558124c4p-44},
    {-0x1.3fb45a5992000p-3, -0x1.19713c0cae559p-44},
    {-0x1.365fcb015a000p-3, 0x1.fd3a0afb9691bp-44},
    {-0x1.2d1610c868000p-3, -0x1.39d6ccb81b4a1p-47},
    {-0x1.23d712a49c000p-3, -0x1.00d238fd3df5cp-46},
    {-0x1.1aa2b7e240000p-3, 0x1.1ac38dde3b366p-44},
    {-0x1.1178e8227e000p-3, -0x1.1ef78ce2d07f2p-45},
    {-0x1.08598b59e4000p-3, 0x1.7e5dd7009902cp-45},
    {-0x1.fe89139dbc000p-4, -0x1.56594d82f7a82p-44},
    {-0x1.ec739830a0000p-4, -0x1.11fcba80cdd10p-44},
    {-0x1.da72763844000p-4, -0x1.a89401fa71733p-46},
    {-0x1.c885801bc4000p-4, -0x1.646d1c65aacd3p-45},
    {-0x1.b6ac88dad4000p-4, -0x1.b1bdff50225c7p-44},
    {-0x1.a4e7640b1c000p-4, 0x1.e42b6b94407c8p-47},
    {-0x1.9335e5d594000p-4, -0x1.3115c3abd47dap-45},
    {-0x1.8197e2f410000p-4, 0x1.c0fe460d20041p-44},
    {-0x1.700d30aeac000p-4, -0x1.c1e8da99ded32p-49},
    {-0x1.5e95a4d978000p-4, -0x1.1cb7ce1d17171p-44},
    {-0x1.4d3115d208000p-4, 0x1.53a2582f4e1efp-48},
    {-0x1.3bdf5a7d20000p-4, 0x1.19bd0ad125895p-44},
    {-0x1.2aa04a4470000p-4, -0x1.7a48ba8b1cb41p-44},
    {-0x1.1973bd1464000p-4, -0x1.566d154f930b3p-44},
    {-0x1.08598b59e4000p-4, 0x1.7e5dd7009902cp-46},
    {-0x1.eea31c0068000p-5, -0x1.c3dd83606d891p-44},
    {-0x1.ccb73cddd8000p-5, -0x1.965c36e09f5fep-44},
    {-0x1.aaef2d0fb0000p-5, -0x1.0fc1a353bb42ep-45},
    {-0x1.894aa149f8000p-5, -0x1.9a19a8be97661p-44},
    {-0x1.67c94f2d48000p-5, -0x1.dac20827cca0cp-44},
    {-0x1.466aed42e0000p-5, 0x1.c167375bdfd28p-45},
    {-0x1.252f32f8d0000p-5, -0x1.83e9ae021b67bp-45},
    {-0x1.0415d89e78000p-5, 0x1.dddc7f461c516p-44},
    {-0x1.c63d2ec150000p-6, 0x1.5439ce030a687p-44},
    {-0x1.8492528c90000p-6, 0x1.aa0ba325a0c34p-45},
    {-0x1.432a925980000p-6, -0x1.98139928637fep-47},
    {-0x1.0205658930000p-6, -0x1.611d27c8e8417p-44},
    {-0x1.82448a3880000p-7, -0x1.4554412c584e0p-44},
    {-0x1.0101575880000p-7, -0x1.bce251998b506p-44},
    {-0x1.0080559580000p-8, -0x1.166afcb31c67bp-45},
    {0x0p+0, 0x0p+0},
    {0x1.ff00aa2b00000p-9, 0x1.0bc04a086b56ap-45},
    {0x1.fe02a6b100000p-8, 0x1.9e23f0dda40e4p-46},
    {0x1.7dc475f820000p-7, -0x1.eb1245b5da1f5p-44},
    {0x1.fc0a8b0fc0000p-7, 0x1.f1e7cf6d3a69cp-50},
    {0x1.3cea443470000p-6, -0x1.6a2c432d6a40bp-44},
    {0x1.7b91b07d60000p-6, -0x1.3b955b602ace4p-44},
    {0x1.b9fc027b00000p-6, -0x1.b9a010ae6922ap-44},
    {0x1.f829b0e780000p-6, 0x1.980267c7e09e4p-45},
    {0x1.1b0d989240000p-5, -0x1.3401e9ae889bbp-44},
    {0x1.39e87b9fe8000p-5, 0x1.eafd480ad9015p-44},
    {0x1.58a5bafc90000p-5, -0x1.b2b739570ad39p-45},
    {0x1.77458f6330000p-5, -0x1.181dce586af09p-44},
    {0x1.95c830ec90000p-5, -0x1.c148297c5feb8p-45},
    {0x1.b42dd71198000p-5, -0x1.c827ae5d6704cp-46},
    {0x1.d276b8adb0000p-5, 0x1.6a423c78a64b0p-46},
    {0x1.f0a30c0118000p-5, -0x1.d599e83368e91p-45},
    {0x1.0759835990000p-4, -0x1.b8ecfe4b59987p-44},
    {0x1.16536eea38000p-4, -0x1.47c5e768fa309p-46},
    {0x1.253f62f0a0000p-4, 0x1.416f8fb69a701p-44},
    {0x1.341d7961bc000p-4, 0x1.1d09299837610p-44},
    {0x1.42edcbea64000p-4, 0x1.bc0eeea7c9acdp-46},
    {0x1.51b073f060000p-4, 0x1.83f69278e686ap-44},
    {0x1.60658a9374000p-4, 0x1.0c3b1dee9c4f8p-44},
    {0x1.6f0d28ae58000p-4, -0x1.4b4641b664613p-44},
    {0x1.7da766d7b0000p-4, 0x1.2cc844480c89bp-44},
    {0x1.8c345d6318000p-4, 0x1.b20f5acb42a66p-44},
    {0x1.9ab4246204000p-4, -0x1.8a64826787061p-45},
    {0x1.a926d3a4ac000p-4, 0x1.563650bd22a9cp-44},
    {0x1.b78c82bb10000p-4, -0x1.25ef7bc3987e7p-44},
    {0x1.c5e548f5bc000p-4, 0x1.d0c57585fbe06p-46},
    {0x1.d4313d66cc000p-4, -0x1.9454379135713p-45},
    {0x1.e27076e2b0000p-4, -0x1.a342c2af0003cp-45},
    {0x1.f0a30c0118000p-4, -0x1.d599e83368e91p-44},
    {0x1.fec9131dc0000p-4, -0x1.54555d1ae6607p-44},
    {0x1.0671512ca6000p-3, -0x1.a47579cdc0a3dp-45},
    {0x1.0d77e7cd08000p-3, 0x1.cb2cd2ee2f482p-44},
    {0x1.1478584674000p-3, 0x1.563451027c750p-46},
    {0x1.1b72ad52f6000p-3, 0x1.e80a41811a396p-45},
    {0x1.2266f190a6000p-3, -0x1.4d20ab840e7f6p-45},
    {0x1.29552f8200000p-3, -0x1.5b967f4471dfcp-44},
    {0x1.303d718e48000p-3, -0x1.680b5ce3ecb05p-50},
    {0x1.371fc201e8000p-3, 0x1.ee8779b2d8abcp-44},
    {0x1.3dfc2b0ecc000p-3, 0x1.8a72a62b8c13fp-45},
    {0x1.44d2b6ccb8000p-3, -0x1.70cc16135783cp-46},
    {0x1.4ba36f39a6000p-3, -0x1.4354bb3f219e5p-44},
    {0x1.526e5e3a1c000p-3, -0x1.790ba37fc5238p-44},
    {0x1.59338d9982000p-3, 0x1.0ba68b7555d4ap-48},
    {0x1.5ff3070a7a000p-3, -0x1.8586f183bebf2p-44},
    {0x1.66acd4272a000p-3, 0x1.aa1bdbfc6c785p-44},
    {0x1.6d60fe719e000p-3, -0x1.bc6e557134767p-44},
    {0x1.740f8f5404000p-3, -0x1.0b66c99018aa1p-44},
    {0x1.7ab890210e000p-3, -0x1.bdb9072534a58p-45},
    {0x1.815c0a1436000p-3, -0x1.02a52f9201ce8p-44},
    {0x1.87fa06520c000p-3, 0x1.22120401202fcp-44},
    {0x1.8e928de886000p-3, 0x1.a8154b13d72d5p-44},
    {0x1.9525a9cf46000p-3, -0x1.297137d9f158fp-44},
    {0x1.9bb362e7e0000p-3, -0x1.1f2a8a1ce0ffcp-45},
    {0x1.a23bc1fe2c000p-3, -0x1.539cd91dc9f0bp-44},
    {0x1.a8becfc882000p-3, 0x1.e3185cf21b9cfp-44},
    {0x1.af3c94e80c000p-3, -0x1.a4e633fcd9066p-52},
    {0x1.b5b519e8fc000p-3, -0x1.4b722ec011f31p-44},
    {0x1.bc286742d8000p-3, 0x1.9ac53f39d121cp-44},
    {0x1.c2968558c2000p-3, -0x1.cfd73dee38a40p-45},
    {0x1.c8ff7c79aa000p-3, -0x1.7794f689f8434p-45},
    {0x1.cf6354e09c000p-3, 0x1.771239a07d55bp-45},
    {0x1.d5c216b4fc000p-3, -0x1.1ba91bbca681bp-45},
    {0x1.dc1bca0abe000p-3, 0x1.8fac1a628ccc6p-44},
    {0x1.e27076e2b0000p-3, -0x1.a342c2af0003cp-44},
    {0x1.e8c0252aa6000p-3, -0x1.6805b80e8e6ffp-45},
    {0x1.ef0adcbdc6000p-3, -0x1.b26b79c86af24p-45},
    {0x1.f550a564b8000p-3, -0x1.323e3a09202fep-45},
    {0x1.fb9186d5e4000p-3, -0x1.d572aab993c87p-47},
    {0x1.00e6c45ad5000p-2, 0x1.cc68d52e01203p-50},
    {0x1.0402594b4d000p-2, 0x1.036b89ef42d7fp-48},
    {0x1.071b85fcd6000p-2, -0x1.bcb8ba3e01a11p-44},
    {0x1.0a324e2739000p-2, 0x1.c6bee7ef4030ep-47},
    {0x1.0d46b579ab000p-2, 0x1.d2c81f640e1e6p-44},
    {0x1.1058bf9ae5000p-2, -0x1.4ab9d817d52cdp-44},
    {0x1.136870293b000p-2, -0x1.d3e8499d67123p-44},
    {0x1.1675cababa000p-2, 0x1.8380e731f55c4p-44},
    {0x1.1980d2dd42000p-2, 0x1.b7b3a7a361c9ap-45},
    {0x1.1c898c169a000p-2, -0x1.81410e5c62affp-44},
    {0x1.1f8ff9e48a000p-2, 0x1.7946c040cbe77p-45},
    {0x1.22941fbcf8000p-2, -0x1.a6976f5eb0963p-44},
    {0x1.2596010df7000p-2, 0x1.8e7bc224ea3e3p-44},
    {0x1.2895a13de8000p-2, 0x1.a8d7ad24c13f0p-44},
    {0x1.2b9303ab8a000p-2, -0x1.6db12d6bfb0a5p-45},
    {0x1.2e8e2bae12000p-2, -0x1.67b1e99b72bd8p-45},
    {0x1.31871c9544000p-2, 0x1.84fab94cecfd9p-46},
    {0x1.347dd9a988000p-2, -0x1.5594dd4c58092p-45},
    {0x1.3772662bfe000p-2, -0x1.e9436ac53b023p-44},
    {0x1.3a64c55694000p-2, 0x1.7a71cbcd735d0p-44},
    {0x1.3d54fa5c1f000p-2, 0x1.c3e1cd9a395e3p-44},
    {0x1.404308686a000p-2, 0x1.f8ef43049f7d3p-44},
    {0x1.432ef2a04f000p-2, -0x1.fb129931715adp-44},
    {0x1.4618bc21c6000p-2, -0x1.3d82f484c84ccp-46},
    {0x1.4900680401000p-2, -0x1.8bccffe1a0f8cp-44},
    {0x1.4be5f95778000p-2, -0x1.d7c92cd9ad824p-44},
    {0x1.4ec9732600000p-2, 0x1.34d7aaf04d104p-45},
    {0x1.51aad872e0000p-2, -0x1.f4bd8db0a7cc1p-44},
    {0x1.548a2c3add000p-2, 0x1.3167e63081cf7p-45},
    {0x1.5767717456000p-2, -0x1.64ead9524d7cap-44},
    {0x1.5a42ab0f4d000p-2, -0x1.e63af2df7ba69p-50},
    {0x1.5d1bdbf581000p-2, -0x1.8d6bdc9c7c238p-44},
    {0x1.5ff3070a79000p-2, 0x1.e9e439f105039p-45},
    {0x1.62c82f2b9c000p-2, 0x1.e54bdbd7c8a98p-44},
    {0x1.659b57303e000p-2, 0x1.f281db0af8efcp-46},
    {0x1.686c81e9b1000p-2, 0x1.2bb110af84054p-44},
    {0x1.6b3bb22359000p-2, 0x1.0f6257a933268p-44},
    {0x1.6e08eaa2ba000p-2, 0x1.e38c139318d71p-46},
    {0x1.70d42e2789000p-2, 0x1.1aead337ee287p-45},
    {0x1.739d7f6bbd000p-2, 0x1.a7389314feb50p-52},
    {0x1.7664e1239e000p-2, -0x1.0c4fb6aeb27afp-44},
    {0x1.792a55fdd4000p-2, 0x1.e89f057691feap-44},
    {0x1.7bede0a37b000p-2, -0x1.018783cb9801ap-48},
    {0x1.7eaf83b82b000p-2, -0x1.e4da62d0c25adp-49},
    {0x1.816f41da0d000p-2, 0x1.256d6dc35fb49p-44},
    {0x1.842d1da1e9000p-2, -0x1.3a2db13ae687cp-44},
    {0x1.86e919a331000p-2, -0x1.17fd80c9d2029p-44},
    {0x1.89a3386c14000p-2, 0x1.2d5ad38c40882p-45},
    {0x1.8c5b7c858b000p-2, 0x1.22a1f54b02060p-44},
    {0x1.8f11e87366000p-2, 0x1.63bf0bb4eab4cp-45},
    {0x1.91c67eb45b000p-2, -0x1.f09e0e0ae234bp-44},
    {0x1.947941c211000p-2, 0x1.beae9337451f4p-44},
    {0x1.972a341135000p-2, 0x1.58697027492dcp-46},
    {0x1.99d958117e000p-2, 0x1.1597525dd88f0p-47},
    {0x1.9c86b02dc1000p-2, -0x1.e75917eeb69ddp-44},
    {0x1.9f323ecbfa000p-2, -0x1.ed03525ca2643p-44},
};

/* atan(j/16), j = 0..16, as {hi, lo}. */
static const double s_atan_tab[17][2] = {
    {0x0p+0, 0x0p+0},
    {0x1.ff55bb72cfdeap-5, -0x1.c934d86d23f1dp-60},
    {0x1.fd5ba9aac2f6ep-4, -0x1.cd37686760c17p-59},
    {0x1.7b97b4bce5b02p-3, 0x1.347b0b4f881cap-58},
    {0x1.f5b75f92c80ddp-3, 0x1.8ab6e3cf7afbdp-57},
    {0x1.362773707ebccp-2, -0x1.963a544b672d8p-57},
    {0x1.6f61941e4def1p-2, -0x1.c63aae6f6e918p-56},
    {0x1.a64eec3cc23fdp-2, -0x1.24dec1b50b7ffp-56},
    {0x1.dac670561bb4fp-2, 0x1.a2b7f222f65e2p-56},
    {0x1.0657e94db30d0p-1, -0x1.d5b495f6349e6p-56},
    {0x1.1e00babdefeb4p-1, -0x1.928df287a668fp-58},
    {0x1.345f01cce37bbp-1, 0x1.1021137c71102p-55},
    {0x1.4978fa3269ee1p-1, 0x1.2419a87f2a458p-56},
    {0x1.5d58987169b18p-1, 0x1.0028e4bc5e7cap-57},
    {0x1.700a7c5784634p-1, -0x1.8c34d25aadef6p-56},
    {0x1.819d0b7158a4dp-1, -0x1.bf76229d3b917p-56},
    {0x1.921fb54442d18p-1, 0x1.1a62633145c07p-55},
};

/* Bits of 2/pi after the binary point, most significant first: word w holds
 * bits 32w+1 .. 32w+32 (bit b has weight 2^-b). */
static const uint32_t s_two_over_pi[40] = {
    0xA2F9836E, 0x4E441529, 0xFC2757D1, 0xF534DDC0, 0xDB629599, 0x3C439041, 0xFE5163AB, 0xDEBBC561,
    0xB7246E3A, 0x424DD2E0, 0x06492EEA, 0x09D1921C, 0xFE1DEB1C, 0xB129A73E, 0xE88235F5, 0x2EBB4484,
    0xE99C7026, 0xB45F7E41, 0x3991D639, 0x835339F4, 0x9C845F8B, 0xBDF9283B, 0x1FF897FF, 0xDE05980F,
    0xEF2F118B, 0x5A0A6D1F, 0x6D367ECF, 0x27CB09B7, 0x4F463F66, 0x9E5FEA2D, 0x7527BAC7, 0xEBE5F17B,
    0x3D0739F7, 0x8A5292EA, 0x6BFB5FB1, 0x1F8D5D08, 0x56033046, 0xFC7B6BAB, 0xF0CFBC20, 0x9AF4361D,
};

/* ---- Exact building blocks ------------------------------------------- */

typedef struct {
    double hi, lo;
} s_dd_t;

static inline uint64_t s_bits(double x)
{
    uint64_t u;
    memcpy(&u, &x, sizeof u);
    return u;
}

static inline double s_from_bits(uint64_t u)
{
    double x;
    memcpy(&x, &u, sizeof x);
    return x;
}

/* 2^n for n in [-1022, 1023], built from its bits. */
static inline double s_pow2(int n) { return s_from_bits((uint64_t)(n + 1023) << 52); }

/* x * 2^n, exact whenever the result is a normal number or the scaling is
 * upward (|n| up to a few thousand). */
static double s_scale(double x, int n)
{
    while (n > 500) {
        x *= 0x1p500;
        n -= 500;
    }
    while (n < -500) {
        x *= 0x1p-500;
        n += 500;
    }
    return x * s_pow2(n);
}

/* floor(log2 x) for finite x > 0, subnormals included. */
static int s_ilogb(double x)
{
    uint64_t u = s_bits(x);
    if ((u >> 52) == 0)
        return s_ilogb(x * 0x1p54) - 54;
    return (int)(u >> 52) - 1023;
}

/* a + b = s.hi + s.lo exactly (Knuth). */
static inline s_dd_t s_two_sum(double a, double b)
{
    double s = a + b;
    double bb = s - a;
    double e = (a - (s - bb)) + (b - bb);
    return (s_dd_t){s, e};
}

/* a + b = s.hi + s.lo exactly when |a| >= |b| or a == 0 (Dekker). */
static inline s_dd_t s_fast_two_sum(double a, double b)
{
    double s = a + b;
    return (s_dd_t){s, b - (s - a)};
}

/* a * b = p.hi + p.lo exactly unless an operand exceeds ~2^995 or the error
 * term underflows (Dekker with Veltkamp's split; no FMA needed). */
static inline s_dd_t s_two_prod(double a, double b)
{
    double p = a * b;
    double ta = 134217729.0 * a, tb = 134217729.0 * b;
    double ah = ta - (ta - a), bh = tb - (tb - b);
    double al = a - ah, bl = b - bh;
    double e = ((ah * bh - p) + ah * bl + al * bh) + al * bl;
    return (s_dd_t){p, e};
}

/* a / b in double-double, about 2^-104 relative. */
static s_dd_t s_dd_div(s_dd_t a, s_dd_t b)
{
    double q1 = a.hi / b.hi;
    s_dd_t p = s_two_prod(q1, b.hi);
    double r = (((a.hi - p.hi) - p.lo) + a.lo) - q1 * b.lo;
    return s_fast_two_sum(q1, r / b.hi);
}

static s_dd_t s_dd_sub(s_dd_t a, s_dd_t b)
{
    s_dd_t s = s_two_sum(a.hi, -b.hi);
    return s_fast_two_sum(s.hi, s.lo + (a.lo - b.lo));
}

/* c[0] + x (c[1] + x (c[2] + ... + x c[n-1])), Horner's rule. */
static double s_horner(const double *c, int n, double x)
{
    double p = c[n - 1];
    for (int i = n - 2; i >= 0; i--)
        p = c[i] + x * p;
    return p;
}

/* sqrt of a non-negative double-double with d.hi >= 2^-900 or d == 0. */
static s_dd_t s_dd_sqrt(s_dd_t d)
{
    if (d.hi == 0)
        return (s_dd_t){0, 0};
    double s = sqrt(d.hi);
    s_dd_t p = s_two_prod(s, s);
    double lo = (((d.hi - p.hi) - p.lo) + d.lo) / (2.0 * s);
    return s_fast_two_sum(s, lo);
}

/* ---- sin, cos, tan -------------------------------------------------- */

/* sin(rh + rl) for |rh| <= ~pi/4 as a double-double:
 * r - r^3/6 with r^3/6 exact to ~2^-100, then r^5 (1/5! - r^2/7! + ...). */
static s_dd_t s_sin_kernel(double rh, double rl)
{
    s_dd_t z = s_two_prod(rh, rh);
    s_dd_t c = s_two_prod(z.hi, rh);
    c.lo += z.lo * rh;
    s_dd_t t = s_two_prod(c.hi, S_SIXTH_HI);
    t.lo += c.hi * S_SIXTH_LO + c.lo * S_SIXTH_HI;
    double zz = z.hi;
    double rest = c.hi * zz * s_horner(S_SIN_POLY, 8, zz);
    s_dd_t s = s_two_sum(rh, -t.hi);
    /* rl * cos(r): the reduction's tail, first-order in rl. */
    double lo = s.lo + ((rest - t.lo) + rl * (1.0 - 0.5 * zz));
    return s_fast_two_sum(s.hi, lo);
}

/* cos(rh + rl) for |rh| <= ~pi/4 as a double-double:
 * 1 - r^2/2 with the subtraction's error kept, then r^4 (1/4! - ...). */
static s_dd_t s_cos_kernel(double rh, double rl)
{
    s_dd_t z = s_two_prod(rh, rh);
    double zl = z.lo + 2.0 * rh * rl;
    double hz = 0.5 * z.hi;
    double w = 1.0 - hz;
    double werr = (1.0 - w) - hz;
    double zz = z.hi;
    double lo = werr + (zz * zz * s_horner(S_COS_POLY, 9, zz) - 0.5 * zl);
    return s_fast_two_sum(w, lo);
}

/* Bits j .. j+31 of 2/pi as an integer (bit j most significant); bits at
 * positions < 1 are zero. */
static uint32_t s_two_over_pi_bits(int j)
{
    if (j < 1) {
        int sh = 1 - j;
        return sh >= 32 ? 0 : s_two_over_pi_bits(1) >> sh;
    }
    int w = (j - 1) >> 5, o = (j - 1) & 31;
    uint32_t v = s_two_over_pi[w] << o;
    if (o)
        v |= s_two_over_pi[w + 1] >> (32 - o);
    return v;
}

/* Payne-Hanek: for ax = m * 2^e (m a 53-bit integer), the terms of
 * m * 2^e * 2/pi from bits of 2/pi weighing 2^(e-2) or more are multiples of
 * 4 and drop out mod 4, so a 192-bit window of 2/pi starting at bit e-1,
 * times m, taken mod 2^192, is x*2/pi mod 4 with 190 fraction bits; the
 * bits beyond the window add less than 2^-137. The nearest integer gives the
 * quadrant, the remaining fraction (at least ~2^-62 for any double, so
 * >= 75 good bits) times pi/2 gives r. */
static int s_reduce_big(double ax, double *rh, double *rl)
{
    uint64_t u = s_bits(ax);
    int e = (int)(u >> 52) - 1075;
    uint64_t m = (u & 0xFFFFFFFFFFFFFull) | (1ull << 52);
    uint32_t win[6], prod[6] = {0};
    for (int i = 0; i < 6; i++)
        win[5 - i] = s_two_over_pi_bits(e - 1 + 32 * i);
    const uint32_t mw[2] = {(uint32_t)m, (uint32_t)(m >> 32)};
    for (int k = 0; k < 2; k++) {
        uint64_t carry = 0;
        for (int i = 0; i + k < 6; i++) {
            uint64_t t = (uint64_t)win[i] * mw[k] + prod[i + k] + carry;
            prod[i + k] = (uint32_t)t;
            carry = t >> 32;
        }
    }
    int q = (int)(prod[5] >> 30);
    prod[5] &= 0x3FFFFFFFu;
    int neg = 0;
    if (prod[5] & 0x20000000u) {
        /* Fraction >= 1/2: round the quotient up, r = (f - 1) * pi/2. */
        q++;
        neg = 1;
        uint64_t c = 1;
        for (int i = 0; i < 6; i++) {
            uint64_t t = (uint64_t)(uint32_t)~prod[i] + c;
            prod[i] = (uint32_t)t;
            c = t >> 32;
        }
        prod[5] &= 0x3FFFFFFFu;
    }
    /* |f| = (w2 * 2^128 + w1 * 2^64 + w0) * 2^-190, normalized by s bits. */
    uint64_t w2 = ((uint64_t)prod[5] << 32) | prod[4];
    uint64_t w1 = ((uint64_t)prod[3] << 32) | prod[2];
    uint64_t w0 = ((uint64_t)prod[1] << 32) | prod[0];
    int s = 0;
    for (int i = 0; i < 2 && w2 == 0; i++) {
        w2 = w1;
        w1 = w0;
        w0 = 0;
        s += 64;
    }
    if (w2 == 0) {
        *rh = *rl = 0;
        return q & 3;
    }
    int lz = 0;
    while (!(w2 >> (63 - lz)))
        lz++;
    if (lz) {
        w2 = (w2 << lz) | (w1 >> (64 - lz));
        w1 = (w1 << lz) | (w0 >> (64 - lz));
    }
    s += lz;
    uint64_t hi53 = w2 >> 11;
    uint64_t lo53 = ((w2 & 0x7FF) << 42) | (w1 >> 22);
    s_dd_t f = s_fast_two_sum((double)hi53 * s_pow2(-51 - s), (double)lo53 * s_pow2(-104 - s));
    s_dd_t r = s_two_prod(f.hi, S_PIO2_HI);
    r = s_fast_two_sum(r.hi, r.lo + (f.hi * S_PIO2_LO + f.lo * S_PIO2_HI));
    *rh = neg ? -r.hi : r.hi;
    *rl = neg ? -r.lo : r.lo;
    return q & 3;
}

/* r = ax - q*pi/2 with |r| <= ~pi/4 as rh + rl; returns q mod 4. ax is
 * finite and >= 0; up to pi/4 it is its own r. */
static int s_reduce(double ax, double *rh, double *rl)
{
    if (ax <= S_PIO4) {
        *rh = ax;
        *rl = 0;
        return 0;
    }
    if (!(ax < S_CW_LIMIT))
        return s_reduce_big(ax, rh, rl);
    double q = floor(ax * S_2_OVER_PI + 0.5);
    /* ax - q*P1 is exact: q*P1 is exact and within pi/4 + 1 of ax, and both
     * are multiples of ulp(ax) / 2 or coarser. q*P2 is exact too. */
    double a = ax - q * S_CW_P1;
    s_dd_t s = s_two_sum(a, -(q * S_CW_P2));
    s_dd_t c = s_two_prod(q, S_CW_P3);
    s_dd_t t = s_two_sum(s.hi, -c.hi);
    s_dd_t r = s_fast_two_sum(t.hi, (s.lo - c.lo) + t.lo);
    *rh = r.hi;
    *rl = r.lo;
    return (int)q & 3;
}

static inline s_dd_t s_neg(s_dd_t a) { return (s_dd_t){-a.hi, -a.lo}; }

/* sin of (rh + rl) + n * pi/2 for n mod 4; cos x is this with n + 1. */
static s_dd_t s_sin_quadrant(double rh, double rl, int n)
{
    switch (n & 3) {
    case 0:
        return s_sin_kernel(rh, rl);
    case 1:
        return s_cos_kernel(rh, rl);
    case 2:
        return s_neg(s_sin_kernel(rh, rl));
    default:
        return s_neg(s_cos_kernel(rh, rl));
    }
}

double lx_sin(double x)
{
    double ax = fabs(x);
    if (!(ax <= 0x1.fffffffffffffp+1023))
        return x - x;
    if (ax < 0x1p-27)
        return x; /* sin x = x (1 - x^2/6) rounds to x */
    double rh, rl;
    int n = s_reduce(ax, &rh, &rl);
    s_dd_t v = s_sin_quadrant(rh, rl, n);
    return x < 0 ? -v.hi : v.hi;
}

double lx_cos(double x)
{
    double ax = fabs(x);
    if (!(ax <= 0x1.fffffffffffffp+1023))
        return x - x;
    if (ax < 0x1p-27)
        return 1.0;
    double rh, rl;
    int n = s_reduce(ax, &rh, &rl);
    return s_sin_quadrant(rh, rl, n + 1).hi;
}

double lx_tan(double x)
{
    double ax = fabs(x);
    if (!(ax <= 0x1.fffffffffffffp+1023))
        return x - x;
    if (ax < 0x1p-27)
        return x;
    double rh, rl;
    int n = s_reduce(ax, &rh, &rl);
    s_dd_t s = s_sin_kernel(rh, rl), c = s_cos_kernel(rh, rl);
    double v = (n & 1) ? -s_dd_div(c, s).hi : s_dd_div(s, c).hi;
    return x < 0 ? -v : v;
}

/* ---- exp, log, pow -------------------------------------------------- */

/* exp(zh + zl) for zh in [-746, 709.8] and |zl| <= ulp(zh). */
static double s_exp_dd(double zh, double zl)
{
    double kd = floor(zh * S_128_OVER_LN2 + 0.5);
    int k = (int)kd;
    /* zh - k*hi is exact (k*hi exact, Sterbenz). */
    double r = (zh - kd * S_LN2_128_HI) + (zl - kd * S_LN2_128_LO);
    int m = (int)floor(kd * 0x1p-7), j = k - 128 * m; /* k = 128 m + j, 0 <= j < 128 */
    double q = r + r * r * s_horner(S_EXP_POLY, 5, r);
    double th = s_exp2_tab[j][0];
    double e = s_exp2_tab[j][1] + th * q;
    double y = th + e; /* in [0.997, 1.995) */
    if (m > 1023)
        return (y * 2.0) * s_pow2(1023); /* may overflow to inf, once */
    if (m > -1022 || (m == -1022 && y >= 1.0))
        return y * s_pow2(m);
    /* Subnormal result R = 2^m (th + e): round R / 2^-1022 < 1 to a multiple
     * of 2^-52 once, by adding it to 1 in double-double. */
    double sc = s_pow2(m + 1022);
    s_dd_t h = s_two_sum(1.0, th * sc);
    double res = (h.hi + (h.lo + e * sc)) - 1.0;
    return res * 0x1p-1022;
}

double lx_exp(double x)
{
    if (x != x)
        return x + x;
    if (x > 709.8)
        return HUGE_VAL;
    if (x < -746.0)
        return 0.0;
    return s_exp_dd(x, 0.0);
}

/* log x for finite x > 0 as a double-double, ~2^-70 relative. */
static s_dd_t s_log_dd(double x)
{
    int e = 0;
    uint64_t u = s_bits(x);
    if ((u >> 52) == 0) {
        u = s_bits(x * 0x1p54);
        e = -54;
    }
    e += (int)(u >> 52) - 1023;
    double m = s_from_bits((u & 0xFFFFFFFFFFFFFull) | (1023ull << 52));
    if (m >= 1.5) {
        m *= 0.5;
        e++;
    }
    int j = (int)(m * 256.0 + 0.5);
    double f = j * 0x1p-8;
    double d = m - f; /* exact: |m - f| <= 2^-9 */
    /* u = d / f as uh + ul. */
    double uh = d / f;
    s_dd_t p = s_two_prod(uh, f);
    double ul = ((d - p.hi) - p.lo) / f;
    /* log1p(u) = u - u^2/2 + u^3 (1/3 - u/4 + ... + u^6/9), |u| < 2^-8.5. */
    s_dd_t sq = s_two_prod(uh, uh);
    double vh = -0.5 * sq.hi;
    double vl = -0.5 * sq.lo - uh * ul;
    double t3 = uh * sq.hi * s_horner(S_LOG_POLY, 7, uh);
    const double *lf = s_logf_tab[j - 192];
    double a = e * S_LN2_HI + lf[0]; /* exact: multiples of 2^-42 below 2^11 */
    s_dd_t s1 = s_two_sum(uh, vh);
    s_dd_t s2 = s_two_sum(a, s1.hi);
    double small = ((((ul + vl) + t3) + s1.lo) + (lf[1] + e * S_LN2_LO)) + s2.lo;
    return s_fast_two_sum(s2.hi, small);
}

double lx_log(double x)
{
    if (x != x)
        return x + x;
    if (x < 0)
        return NAN;
    if (x == 0)
        return -HUGE_VAL;
    if (x == HUGE_VAL)
        return x;
    return s_log_dd(x).hi;
}

double lx_pow(double x, double y)
{
    if (y == 0 || x == 1.0)
        return 1.0;
    if (x != x || y != y)
        return x + y;
    double ax = fabs(x), ay = fabs(y);
    /* 0: not an integer, 1: even integer, 2: odd integer. */
    int yint = 0;
    if (ay >= 0x1p53)
        yint = ay == HUGE_VAL ? 0 : 1;
    else if (floor(y) == y)
        yint = floor(y * 0.5) == y * 0.5 ? 1 : 2;
    if (ay == HUGE_VAL) {
        if (ax == 1.0)
            return 1.0;
        return (ax < 1.0) == (y > 0) ? 0.0 : HUGE_VAL;
    }
    if (x == 0) {
        double r = y < 0 ? HUGE_VAL : 0.0;
        return yint == 2 && signbit(x) ? -r : r;
    }
    if (ax == HUGE_VAL) {
        double r = y < 0 ? 0.0 : HUGE_VAL;
        return x < 0 && yint == 2 ? -r : r;
    }
    double sign = 1.0;
    if (x < 0) {
        if (!yint)
            return NAN;
        if (yint == 2)
            sign = -1.0;
    }
    if (ax == 1.0)
        return sign;
    /* |log x| >= 2^-54 for x != 1, so |y log x| > 2^10: out of range. */
    if (ay >= 0x1p64)
        return (ax > 1.0) == (y > 0) ? sign * HUGE_VAL : sign * 0.0;
    s_dd_t l = s_log_dd(ax);
    s_dd_t z = s_two_prod(y, l.hi);
    z = s_fast_two_sum(z.hi, z.lo + y * l.lo);
    if (z.hi > 709.8)
        return sign * HUGE_VAL;
    if (z.hi < -746.0)
        return sign * 0.0;
    return sign * s_exp_dd(z.hi, z.lo);
}

/* ---- atan, atan2, asin, acos ----------------------------------------- */

/* atan(a) for a double-double a in [0, ~1] (a.hi >= 2^-70 or a == 0). */
static s_dd_t s_atan_kernel(s_dd_t a)
{
    int j = (int)(a.hi * 16.0 + 0.5);
    double c = j * 0.0625;
    /* t = (a - c) / (1 + a c), |t| <= 1/32; a.hi - c is exact (Sterbenz). */
    s_dd_t num = s_two_sum(a.hi - c, a.lo);
    s_dd_t ac = s_two_prod(a.hi, c);
    s_dd_t den = s_two_sum(1.0, ac.hi);
    den = s_fast_two_sum(den.hi, den.lo + (ac.lo + a.lo * c));
    s_dd_t t = s_dd_div(num, den);
    double t2 = t.hi * t.hi;
    double poly = t.hi * t2 * s_horner(S_ATAN_POLY, 7, t2);
    s_dd_t s = s_two_sum(s_atan_tab[j][0], t.hi);
    return s_fast_two_sum(s.hi, s.lo + (s_atan_tab[j][1] + (t.lo + poly)));
}

/* The angle of (x, y) in the first quadrant, both non-negative
 * double-doubles in a safe range, not both zero. */
static s_dd_t s_angle(s_dd_t y, s_dd_t x)
{
    if (y.hi <= x.hi)
        return s_atan_kernel(s_dd_div(y, x));
    return s_dd_sub((s_dd_t){S_PIO2_HI, S_PIO2_LO}, s_atan_kernel(s_dd_div(x, y)));
}

double lx_atan(double x)
{
    if (x != x)
        return x + x;
    double ax = fabs(x), r;
    if (ax < 0x1p-27)
        return x; /* atan x = x (1 - x^2/3) rounds to x */
    if (ax >= 0x1p60)
        r = S_PIO2_HI; /* pi/2 - 1/x rounds to pi/2 */
    else
        r = s_angle((s_dd_t){ax, 0}, (s_dd_t){1.0, 0}).hi;
    return x < 0 ? -r : r;
}

double lx_atan2(double y, double x)
{
    if (x != x || y != y)
        return x + y;
    double ax = fabs(x), ay = fabs(y), r;
    if (ay == 0) {
        r = signbit(x) ? S_PI_HI : 0.0;
    } else if (ax == 0) {
        r = S_PIO2_HI;
    } else if (ax == HUGE_VAL) {
        if (ay == HUGE_VAL)
            r = x > 0 ? S_PIO4 : S_3PIO4;
        else
            r = x > 0 ? 0.0 : S_PI_HI;
    } else if (ay == HUGE_VAL) {
        r = S_PIO2_HI;
    } else {
        int ex = s_ilogb(ax), ey = s_ilogb(ay);
        s_dd_t t;
        if (ey - ex > 60) {
            t = s_fast_two_sum(S_PIO2_HI, S_PIO2_LO - ax / ay);
        } else if (ex - ey > 60) {
            t = (s_dd_t){ay / ax, 0}; /* atan q = q (1 - q^2/3) rounds to q */
        } else {
            /* A common power of two keeps the quotient's error terms out of
             * overflow and underflow; both scalings are exact. */
            int sc = -(ex > ey ? ex : ey);
            t = s_angle((s_dd_t){s_scale(ay, sc), 0}, (s_dd_t){s_scale(ax, sc), 0});
        }
        if (x < 0)
            t = s_dd_sub((s_dd_t){S_PI_HI, S_PI_LO}, t);
        r = t.hi;
    }
    return signbit(y) ? -r : r;
}

/* sqrt(1 - a^2) = sqrt((1 - a)(1 + a)) for a in [0, 1], double-double. */
static s_dd_t s_cofactor(double a)
{
    s_dd_t om = s_two_sum(1.0, -a), op = s_two_sum(1.0, a);
    s_dd_t d = s_two_prod(om.hi, op.hi);
    d.lo += om.hi * op.lo + om.lo * op.hi;
    return s_dd_sqrt(d);
}

double lx_asin(double x)
{
    if (x != x)
        return x + x;
    double ax = fabs(x);
    if (ax > 1.0)
        return NAN;
    if (ax < 0x1p-27)
        return x; /* asin x = x (1 + x^2/6) rounds to x */
    double r = s_angle((s_dd_t){ax, 0}, s_cofactor(ax)).hi;
    return x < 0 ? -r : r;
}

double lx_acos(double x)
{
    if (x != x)
        return x + x;
    double ax = fabs(x);
    if (ax > 1.0)
        return NAN;
    if (ax < 0x1p-57)
        return S_PIO2_HI; /* pi/2 - x rounds to pi/2 */
    s_dd_t t = s_angle(s_cofactor(ax), (s_dd_t){ax, 0});
    if (x < 0)
        t = s_dd_sub((s_dd_t){S_PI_HI, S_PI_LO}, t);
    return t.hi;
}
