/* Events: per-frame triggers. */
#include "registry_internal.h"

#define N LX_D_NUMBER

TABLE(lx_port_def_t, s_wrap_i, IN_REQ_W("phase", LX_D_PHASE, LX_WM_NOFIELD, "phase to watch"));
TABLE(lx_port_def_t, s_event_o, OUT("event", LX_D_EVENT, LX_OUT_EVENT, "the trigger"));
TABLE(lx_port_def_t, s_metro_i,
      IN_W("periodMs", N, LX_WM_NOFIELD, "interval in milliseconds", 1000));
TABLE(lx_port_def_t, s_edge_i, IN_REQ_W("x", N, LX_WM_NOFIELD, "signal to watch"),
      IN_W("threshold", N, LX_WM_NOFIELD, "level to cross", 0.5));
TABLE(lx_port_def_t, s_edge_o, OUT("rising", LX_D_EVENT, LX_OUT_EVENT, "x crossed upward"),
      OUT("falling", LX_D_EVENT, LX_OUT_EVENT, "x crossed downward"));
TABLE(lx_port_def_t, s_or_i, IN_EVENT("a", LX_PORT_REQUIRED, "first event"),
      IN_EVENT("b", LX_PORT_REQUIRED, "second event"));

static const lx_block_def_t s_defs[] = {
    BLOCK("Wrap", "event", WRAP, LX_BF_HISTORY,
          "fires when phase wraps (drops from near 1 to near 0)", NOPARAMS, s_wrap_i, s_event_o),
    BLOCK("Metro", "event", METRO, LX_BF_CLOCK, "fires every periodMs of timeline time", NOPARAMS,
          s_metro_i, s_event_o),
    BLOCK("EdgeDetect", "event", EDGE_DETECT, LX_BF_HISTORY, "fires when x crosses threshold",
          NOPARAMS, s_edge_i, s_edge_o),
    BLOCK("EventOr", "event", EVENT_OR, 0, "fires when a or b fires", NOPARAMS, s_or_i, s_event_o),
};

FAMILY(lx_blocks_event, s_defs);
