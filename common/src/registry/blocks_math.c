/* Math and shaping: pure, component-wise on signals and fields. */
#include "registry_internal.h"

#define G LX_D_GENERIC
#define N LX_D_NUMBER

static const char *const s_osc_shapes[] = {"sine", "triangle", "saw", "square", NULL};

TABLE(lx_param_def_t, s_const_p,
      P_KIND("value", LX_P_VALUE, true, "number, [x, y], [x, y, z] or [r, g, b, a]"));
TABLE(lx_port_def_t, s_out_g, OUT("out", G, LX_OUT_POINTWISE, "result"));
TABLE(lx_port_def_t, s_out_n, OUT("out", N, LX_OUT_POINTWISE, "result"));
TABLE(lx_port_def_t, s_ab_g, IN_REQ("a", G, "left operand"), IN_REQ("b", G, "right operand"));
TABLE(lx_port_def_t, s_x_n, IN_REQ("x", N, "input"));
TABLE(lx_port_def_t, s_mod_i, IN_REQ("a", N, "dividend"), IN("b", N, "divisor", 1));
TABLE(lx_port_def_t, s_pow_i, IN_REQ("base", N, "base"), IN_REQ("exp", N, "exponent"));
TABLE(lx_port_def_t, s_clamp_i, IN_REQ("x", G, "input"), IN("lo", G, "lower bound", 0),
      IN("hi", G, "upper bound", 1));
TABLE(lx_port_def_t, s_lerp_i, IN_REQ("a", G, "value at t = 0"), IN_REQ("b", G, "value at t = 1"),
      IN_REQ("t", N, "blend factor (not clamped)"));
TABLE(lx_param_def_t, s_map_p,
      {.name = "clamp", .kind = LX_P_BOOL, .doc = "clamp to [outLo, outHi]"});
TABLE(lx_port_def_t, s_map_i, IN_REQ("x", N, "input"), IN("inLo", N, "input low", 0),
      IN("inHi", N, "input high", 1), IN("outLo", N, "output low", 0),
      IN("outHi", N, "output high", 1));
TABLE(lx_param_def_t, s_osc_p, P_ENUM("shape", s_osc_shapes, "waveform"));
TABLE(lx_port_def_t, s_osc_i, IN_REQ("phase", LX_D_PHASE, "position in the wave"),
      IN("amplitude", N, "peak value", 1), IN("bias", N, "offset added", 0));
TABLE(lx_param_def_t, s_ease_p, P_ENUM("curve", lx_ease_curves, "easing curve"));
TABLE(lx_port_def_t, s_ease_i, IN_REQ("t", N, "input, clamped to [0, 1]"));
TABLE(lx_param_def_t, s_keys_p,
      P_KIND("keys", LX_P_KEYS, true,
             "[{timeMs, value, interp: linear|hold|bezier, easing?, inHandle?, outHandle?}]"));
TABLE(lx_port_def_t, s_keys_i, IN_REQ("time", LX_D_TIME, "time to sample"));
TABLE(lx_param_def_t, s_noise_p, P_INT("octaves", false, 1, 1, 8, "octaves of value noise"));
TABLE(lx_port_def_t, s_phase_o, OUT("out", LX_D_PHASE, LX_OUT_POINTWISE, "phase"));
TABLE(lx_port_def_t, s_phoff_i, IN_REQ("phase", LX_D_PHASE, "input phase"),
      IN("offset", N, "offset added before wrapping", 0));
TABLE(lx_port_def_t, s_mk2_i, IN("x", N, "x", 0), IN("y", N, "y", 0));
TABLE(lx_port_def_t, s_mk2_o, OUT("out", LX_D_VEC2, LX_OUT_POINTWISE, "vector"));
TABLE(lx_port_def_t, s_mk3_i, IN("x", N, "x", 0), IN("y", N, "y", 0), IN("z", N, "z", 0));
TABLE(lx_port_def_t, s_mk3_o, OUT("out", LX_D_VEC3, LX_OUT_POINTWISE, "vector"));
TABLE(lx_port_def_t, s_split_i, IN_REQ("v", LX_D_VEC3, "vector"));
TABLE(lx_port_def_t, s_split_o, OUT("x", N, LX_OUT_POINTWISE, "x"),
      OUT("y", N, LX_OUT_POINTWISE, "y"), OUT("z", N, LX_OUT_POINTWISE, "z"));
TABLE(lx_port_def_t, s_hsv_i, IN_REQ("h", LX_D_PHASE, "hue"), IN("s", N, "saturation", 1),
      IN("v", N, "value", 1), IN("a", N, "alpha", 1));
TABLE(lx_port_def_t, s_hsv_o, OUT("color", LX_D_COLOR, LX_OUT_POINTWISE, "linear RGBA"));
TABLE(lx_port_def_t, s_polar_i, IN_REQ("angle", LX_D_PHASE, "angle as a fraction of a turn"),
      IN("radius", N, "distance from the origin", 1));
TABLE(lx_port_def_t, s_polar_o, OUT("out", LX_D_VEC2, LX_OUT_POINTWISE, "[x, y]"));

#define MATH "math"
static const lx_block_def_t s_defs[] = {
    BLOCK("Const", MATH, CONST, 0, "a constant value", s_const_p, NOINPUTS, s_out_g),
    BLOCK("Add", MATH, ADD, 0, "a + b", NOPARAMS, s_ab_g, s_out_g),
    BLOCK("Sub", MATH, SUB, 0, "a - b", NOPARAMS, s_ab_g, s_out_g),
    BLOCK("Mul", MATH, MUL, 0, "a * b", NOPARAMS, s_ab_g, s_out_g),
    BLOCK("Div", MATH, DIV, 0, "a / b, 0 where b = 0", NOPARAMS, s_ab_g, s_out_g),
    BLOCK("Min", MATH, MIN, 0, "min(a, b)", NOPARAMS, s_ab_g, s_out_g),
    BLOCK("Max", MATH, MAX, 0, "max(a, b)", NOPARAMS, s_ab_g, s_out_g),
    BLOCK("Mod", MATH, MOD, 0, "a mod b, in [0, b)", NOPARAMS, s_mod_i, s_out_n),
    BLOCK("Abs", MATH, ABS, 0, "|x|", NOPARAMS, s_x_n, s_out_n),
    BLOCK("Floor", MATH, FLOOR, 0, "largest integer <= x", NOPARAMS, s_x_n, s_out_n),
    BLOCK("Sqrt", MATH, SQRT, 0, "square root of max(x, 0)", NOPARAMS, s_x_n, s_out_n),
    BLOCK("Sin", MATH, SIN, 0, "sine of x radians", NOPARAMS, s_x_n, s_out_n),
    BLOCK("Cos", MATH, COS, 0, "cosine of x radians", NOPARAMS, s_x_n, s_out_n),
    BLOCK("Pow", MATH, POW, 0, "base raised to exp", NOPARAMS, s_pow_i, s_out_n),
    BLOCK("Clamp", MATH, CLAMP, 0, "x limited to [lo, hi]", NOPARAMS, s_clamp_i, s_out_g),
    BLOCK("Lerp", MATH, LERP, 0, "a + (b - a) * t", NOPARAMS, s_lerp_i, s_out_g),
    BLOCK("MapRange", MATH, MAP_RANGE, 0, "maps [inLo, inHi] onto [outLo, outHi]", s_map_p, s_map_i,
          s_out_n),
    BLOCK("Oscillator", MATH, OSCILLATOR, 0, "bias + amplitude * wave(phase)", s_osc_p, s_osc_i,
          s_out_n),
    BLOCK("Ease", MATH, EASE, 0, "an easing curve applied to t", s_ease_p, s_ease_i, s_out_n),
    BLOCK("Keyframes", MATH, KEYFRAMES, 0,
          "interpolates keys: each key's interp and easing shape the segment that starts at it; "
          "clamped outside them",
          s_keys_p, s_keys_i, s_out_g),
    BLOCK("Noise1D", MATH, NOISE1D, 0, "smooth value noise in [0, 1)", s_noise_p, s_x_n, s_out_n),
    BLOCK("Hash", MATH, HASH, 0, "a stable pseudo-random number in [0, 1) per x", NOPARAMS, s_x_n,
          s_out_n),
    BLOCK("WrapPhase", MATH, WRAP_PHASE, 0, "x wrapped into [0, 1)", NOPARAMS, s_x_n, s_phase_o),
    BLOCK("PhaseOffset", MATH, PHASE_OFFSET, 0, "phase + offset, wrapped", NOPARAMS, s_phoff_i,
          s_phase_o),
    BLOCK("MakeVec2", MATH, MAKE_VEC2, 0, "[x, y]", NOPARAMS, s_mk2_i, s_mk2_o),
    BLOCK("MakeVec3", MATH, MAKE_VEC3, 0, "[x, y, z]", NOPARAMS, s_mk3_i, s_mk3_o),
    BLOCK("SplitVec3", MATH, SPLIT_VEC3, 0, "the components of v", NOPARAMS, s_split_i, s_split_o),
    BLOCK("Hsv", MATH, HSV, 0, "colour from hue, saturation and value", NOPARAMS, s_hsv_i, s_hsv_o),
    BLOCK("PolarToCartesian", MATH, POLAR_TO_CARTESIAN, 0, "radius * [cos, sin](angle turns)",
          NOPARAMS, s_polar_i, s_polar_o),
};

FAMILY(lx_blocks_math, s_defs);
