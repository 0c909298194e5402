/* Internal blocks that normalization makes from buses, multi-writer
 * inputs and lenses. Users cannot name them in a patch. */
#include "registry_internal.h"

#define G LX_D_GENERIC
#define N LX_D_NUMBER
#define PH LX_D_PHASE

static const char *const s_combine_modes[] = {"sum",  "avg",   "min", "max", "mul",
                                              "last", "first", "or",  NULL};

TABLE(lx_param_def_t, s_comb_p, P_ENUM("mode", s_combine_modes, "how writers combine"),
      P_KIND("default", LX_P_VALUE, false, "value when nothing writes"));
TABLE(lx_port_def_t, s_comb_i, IN_REQ("in", G, "writers, in order"));
TABLE(lx_port_def_t, s_comb_o, OUT("out", G, LX_OUT_POINTWISE, "combined value"));
TABLE(lx_port_def_t, s_combev_i, IN_EVENT("in", LX_PORT_REQUIRED, "writers"));
TABLE(lx_port_def_t, s_combev_o, OUT("out", LX_D_EVENT, LX_OUT_EVENT, "fires when any fires"));
TABLE(lx_port_def_t, s_x_g, IN_REQ("x", G, "input"));
TABLE(lx_port_def_t, s_out_g, OUT("out", G, LX_OUT_POINTWISE, "result"));
TABLE(lx_param_def_t, s_quant_p, P_NUM("steps", true, 1, 1e-9, 1e9, "levels per unit"));
TABLE(lx_param_def_t, s_k_p, P_NUM("k", true, 1, -1e12, 1e12, "factor"));
TABLE(lx_port_def_t, s_ph_i, IN_REQ("x", PH, "input phase"));
TABLE(lx_port_def_t, s_ph_o, OUT("out", PH, LX_OUT_POINTWISE, "result"));
TABLE(lx_param_def_t, s_slew_p, P_NUM("rate", true, 1, 0, 1e12, "largest change per second"));
TABLE(lx_port_def_t, s_slew_o, OUT("out", G, LX_OUT_VARYING, "rate-limited value"));

#define I LX_BF_INTERNAL
static const lx_block_def_t s_defs[] = {
    BLOCK("Combine", "internal", COMBINE, I | LX_BF_VARIADIC,
          "combines a bus's publishers or an input's writers", s_comb_p, s_comb_i, s_comb_o),
    BLOCK("CombineEvents", "internal", COMBINE_EVENTS, I | LX_BF_VARIADIC,
          "fires when any writer fires", NOPARAMS, s_combev_i, s_combev_o),
    BLOCK("Polarity", "internal", POLARITY, I, "1 - x (lens polarity)", NOPARAMS, s_x_g, s_out_g),
    BLOCK("Quantize", "internal", QUANTIZE, I, "floor(x * steps) / steps (lens quantize)",
          s_quant_p, s_x_g, s_out_g),
    BLOCK("PhaseScale", "internal", PHASE_SCALE, I, "x * k, wrapped (lens phaseScale)", s_k_p,
          s_ph_i, s_ph_o),
    BLOCK("PingPong", "internal", PING_PONG, I, "0 -> 1 -> 0 over one phase (lens pingPong)",
          NOPARAMS, s_ph_i, s_ph_o),
    BLOCK("Slew", "internal", SLEW, I | LX_BF_STATE | LX_BF_UNBOUNDED,
          "moves toward x by at most rate per second (lens slew)", s_slew_p, s_x_g, s_slew_o),
};

FAMILY(lx_blocks_internal, s_defs);
