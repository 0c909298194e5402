/* Time roots: the one block that defines the time model and feeds the rails. */
#include "registry_internal.h"

static const char *const s_cycle_modes[] = {"loop", "pingpong", NULL};

TABLE(lx_param_def_t, s_finite_p,
      P_NUM("durationMs", true, 0, 1e-3, 1e12, "length of the timeline in milliseconds"));
TABLE(lx_port_def_t, s_finite_o,
      OUT("time", LX_D_TIME, LX_OUT_SIGNAL, "milliseconds since the start"),
      OUT("progress", LX_D_NUMBER, LX_OUT_SIGNAL, "time / durationMs, clamped to [0, 1]"),
      OUT("phase", LX_D_PHASE, LX_OUT_SIGNAL, "progress, wrapped into [0, 1)"),
      OUT("end", LX_D_EVENT, LX_OUT_EVENT,
          "fires on the last frame before the end (t < durationMs), the last of the default "
          "range"));

TABLE(lx_param_def_t, s_cycle_p,
      P_NUM("periodMs", true, 0, 1e-3, 1e12, "length of one cycle in milliseconds"),
      P_ENUM("mode", s_cycle_modes, "loop restarts each cycle; pingpong runs forward then back"));
TABLE(lx_port_def_t, s_cycle_o,
      OUT("time", LX_D_TIME, LX_OUT_SIGNAL, "milliseconds since the start"),
      OUT("cycleT", LX_D_TIME, LX_OUT_SIGNAL, "milliseconds into the current cycle"),
      OUT("phase", LX_D_PHASE, LX_OUT_SIGNAL, "position in the cycle, [0, 1)"),
      OUT("wrap", LX_D_EVENT, LX_OUT_EVENT, "fires on the frame a new cycle starts"),
      OUT("cycleIndex", LX_D_INT, LX_OUT_SIGNAL, "number of completed cycles"));

TABLE(lx_param_def_t, s_inf_p,
      P_NUM("periodMs", false, 10000, 1e-3, 1e12, "period of the phase rail in milliseconds"));
TABLE(lx_port_def_t, s_inf_o, OUT("time", LX_D_TIME, LX_OUT_SIGNAL, "milliseconds since the start"),
      OUT("phase", LX_D_PHASE, LX_OUT_SIGNAL, "time / periodMs, wrapped into [0, 1)"),
      OUT("pulse", LX_D_EVENT, LX_OUT_EVENT, "fires on the frame the phase wraps"));

static const lx_block_def_t s_defs[] = {
    BLOCK("FiniteTimeRoot", "time", FINITE_TIME_ROOT, LX_BF_TIME_ROOT, "a timeline of fixed length",
          s_finite_p, NOINPUTS, s_finite_o),
    BLOCK("CycleTimeRoot", "time", CYCLE_TIME_ROOT, LX_BF_TIME_ROOT,
          "a repeating cycle; exports close the loop exactly", s_cycle_p, NOINPUTS, s_cycle_o),
    BLOCK("InfiniteTimeRoot", "time", INFINITE_TIME_ROOT, LX_BF_TIME_ROOT,
          "an open-ended timeline; exports need an explicit frame range", s_inf_p, NOINPUTS,
          s_inf_o),
};

FAMILY(lx_blocks_time, s_defs);
