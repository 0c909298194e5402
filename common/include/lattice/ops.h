/* Operation codes: what each expression of a program does. Every block
 * type lowers to one op (the registry, lattice/registry.h, describes its
 * signature), the IR stores ops by number, and the runtime runs one kernel
 * per op. Part of the registry module (common/src/registry), below the IR
 * that stores them. */
#ifndef LATTICE_OPS_H
#define LATTICE_OPS_H

/* Operation codes. Their numbers are part of the IR format and its hash:
 * append only. */
/* clang-format off: the op table stays in its columns */
#define LX_OP_MAP(X)                                                                               \
    X(FINITE_TIME_ROOT, 0)                                                                         \
    X(CYCLE_TIME_ROOT, 1) X(INFINITE_TIME_ROOT, 2) X(CONST, 3) X(ADD, 4) X(SUB, 5) X(MUL, 6)       \
        X(DIV, 7) X(MIN, 8) X(MAX, 9) X(MOD, 10) X(ABS, 11) X(FLOOR, 12) X(SQRT, 13) X(SIN, 14)    \
            X(COS, 15) X(POW, 16) X(CLAMP, 17) X(LERP, 18) X(MAP_RANGE, 19) X(OSCILLATOR, 20)      \
                X(EASE, 21) X(KEYFRAMES, 22) X(NOISE1D, 23) X(HASH, 24) X(WRAP_PHASE, 25)          \
                    X(PHASE_OFFSET, 26) X(MAKE_VEC2, 27) X(MAKE_VEC3, 28) X(SPLIT_VEC3, 29)        \
                        X(HSV, 30) X(POLAR_TO_CARTESIAN, 31) X(UNIT_DELAY, 32) X(LAG, 33)          \
                            X(PHASOR, 34) X(ACCUMULATOR, 35) X(SAMPLE_HOLD, 36) X(PARTICLES, 37)   \
                                X(WRAP, 38) X(METRO, 39) X(EDGE_DETECT, 40) X(EVENT_OR, 41)        \
                                    X(ARRAY, 42) X(GRID_LAYOUT, 43) X(CIRCLE_LAYOUT, 44)           \
                                        X(LINE_LAYOUT, 45) X(STABLE_RANDOM, 46) X(JITTER, 47)      \
                                            X(FIELD_REDUCE, 48) X(RECT, 49) X(ELLIPSE, 50)         \
                                                X(POLYGON, 51) X(STAR, 52) X(PATH, 53)             \
                                                    X(SPHERE, 54) X(BOX, 55) X(PLANE, 56)          \
                                                        X(CAMERA, 57) X(RENDER_INSTANCES, 58)      \
                                                            X(COMBINE, 59) X(POLARITY, 60)         \
                                                                X(QUANTIZE, 61) X(PHASE_SCALE, 62) \
                                                                    X(PING_PONG, 63) X(SLEW, 64)   \
                                                                        X(COMBINE_EVENTS, 65)     \
                                                                            X(AUDIO_FEATURE, 66)
/* clang-format on */

typedef enum {
#define LX_X_OP(name, n) LX_OP_##name = n,
    LX_OP_MAP(LX_X_OP)
#undef LX_X_OP
        LX_OP__COUNT
} lx_op_t;

/* The op's name as in LX_OP_MAP ("MAP_RANGE"); "?" for a number that is
 * no op. */
const char *lx_op_name(lx_op_t op);

#endif
