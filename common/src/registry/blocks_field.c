/* Fields and instances: per-element values over an instance domain. */
#include "registry_internal.h"

#define N LX_D_NUMBER
#define V3 LX_D_VEC3

static const char *const s_reduce_modes[] = {"sum", "mean", "min", "max", NULL};

TABLE(lx_param_def_t, s_array_p, P_INT("count", true, 0, 1, 1000000, "number of elements"));
TABLE(lx_port_def_t, s_array_o, OUT("domain", LX_D_DOMAIN, LX_OUT_DOMAIN, "the instance set"),
      OUT("index", LX_D_INT, LX_OUT_FIELD_OWN, "element index 0 .. count - 1"),
      OUT("t", N, LX_OUT_FIELD_OWN, "index / (count - 1), 0 when count = 1"));
TABLE(lx_port_def_t, s_pos_o, OUT("position", V3, LX_OUT_FIELD_INPUT, "per element"));
TABLE(lx_port_def_t, s_grid_i, IN_DOMAIN("domain", LX_PORT_REQUIRED, "elements to place"),
      IN_REQ_W("rows", LX_D_INT, LX_WM_NOFIELD, "rows"),
      IN_REQ_W("cols", LX_D_INT, LX_WM_NOFIELD, "columns"),
      IN_W("spacing", LX_D_VEC2, LX_WM_NOFIELD, "distance between cells", 1, 1),
      IN_W("center", V3, LX_WM_NOFIELD, "centre of the grid", 0, 0, 0));
TABLE(lx_port_def_t, s_circle_i, IN_DOMAIN("domain", LX_PORT_REQUIRED, "elements to place"),
      IN("radius", N, "circle radius", 1), IN("phase", LX_D_PHASE, "rotation of the ring", 0),
      IN_W("center", V3, LX_WM_NOFIELD, "centre of the circle", 0, 0, 0));
TABLE(lx_port_def_t, s_line_i, IN_DOMAIN("domain", LX_PORT_REQUIRED, "elements to place"),
      IN_REQ_W("from", V3, LX_WM_NOFIELD, "first element's position"),
      IN_REQ_W("to", V3, LX_WM_NOFIELD, "last element's position"));
TABLE(lx_param_def_t, s_salt_p, P_INT("salt", false, 0, 0, 4294967295.0, "varies the sequence"));
TABLE(lx_port_def_t, s_rand_i, IN_DOMAIN("domain", LX_PORT_REQUIRED, "elements"));
TABLE(lx_port_def_t, s_rand_o, OUT("out", N, LX_OUT_FIELD_INPUT, "per element, in [0, 1)"));
TABLE(lx_port_def_t, s_jitter_i, IN_REQ_W("position", V3, LX_WM_FIELD, "positions to disturb"),
      IN_REQ_W("amount", V3, LX_WM_NOFIELD, "largest offset per axis"));
TABLE(lx_port_def_t, s_jitter_o, OUT("position", V3, LX_OUT_POINTWISE, "disturbed positions"));
TABLE(lx_param_def_t, s_reduce_p, P_ENUM("mode", s_reduce_modes, "how elements combine"));
TABLE(lx_port_def_t, s_reduce_i, IN_REQ_W("field", N, LX_WM_FIELD, "values to reduce"));
TABLE(lx_port_def_t, s_reduce_o, OUT("out", N, LX_OUT_SIGNAL, "the reduced value"));

static const lx_block_def_t s_defs[] = {
    BLOCK("Array", "field", ARRAY, LX_BF_INSTANCE, "a fixed set of count elements", s_array_p,
          NOINPUTS, s_array_o),
    BLOCK("GridLayout", "field", GRID_LAYOUT, 0, "places elements row by row on a grid in XY",
          NOPARAMS, s_grid_i, s_pos_o),
    BLOCK("CircleLayout", "field", CIRCLE_LAYOUT, 0, "places elements evenly on a circle in XY",
          NOPARAMS, s_circle_i, s_pos_o),
    BLOCK("LineLayout", "field", LINE_LAYOUT, 0, "places elements evenly from `from` to `to`",
          NOPARAMS, s_line_i, s_pos_o),
    BLOCK("StableRandom", "field", STABLE_RANDOM, 0,
          "a random number per element, stable when the count changes", s_salt_p, s_rand_i,
          s_rand_o),
    BLOCK("Jitter", "field", JITTER, 0, "adds a stable random offset per element", s_salt_p,
          s_jitter_i, s_jitter_o),
    BLOCK("FieldReduce", "field", FIELD_REDUCE, 0, "reduces a field to one signal", s_reduce_p,
          s_reduce_i, s_reduce_o),
};

FAMILY(lx_blocks_field, s_defs);
