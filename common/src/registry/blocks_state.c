/* State blocks: memory boundaries. Their outputs at frame f come from
 * their state cell (inputs up to frame f - 1), so every feedback cycle
 * must pass through one. */
#include "registry_internal.h"

#define G LX_D_GENERIC
#define N LX_D_NUMBER
#define V LX_OUT_VARYING

TABLE(lx_port_def_t, s_delay_i, IN_REQ("in", G, "value to delay"),
      {.name = "initial",
       .domain = G,
       .worlds = LX_WM_SCALAR,
       .flags = LX_PORT_CONST,
       .doc = "output on the first frame (compile-time constant)"});
TABLE(lx_port_def_t, s_out_g, OUT("out", G, V, "delayed or smoothed value"));
TABLE(lx_port_def_t, s_lag_i, IN_REQ("target", G, "value to follow"),
      IN("smoothing", N, "fraction of the gap closed per frame", 0.5));
TABLE(lx_port_def_t, s_phasor_i, IN_W("frequencyHz", N, LX_WM_NOFIELD, "cycles per second", 1));
TABLE(lx_port_def_t, s_phasor_o, OUT("out", LX_D_PHASE, V, "advancing phase"));
TABLE(lx_port_def_t, s_acc_i, IN_REQ_W("delta", N, LX_WM_NOFIELD, "added every frame"),
      IN_EVENT("reset", LX_PORT_OPTIONAL, "sets the value back to 0"));
TABLE(lx_port_def_t, s_acc_o, OUT("value", N, V, "running sum"));
TABLE(lx_port_def_t, s_sh_i, IN_REQ("value", G, "value to sample"),
      IN_EVENT("trigger", LX_PORT_REQUIRED, "samples value when it fires"),
      {.name = "initial",
       .domain = G,
       .worlds = LX_WM_SCALAR,
       .flags = LX_PORT_CONST,
       .doc = "output before the first trigger (compile-time constant)"});
TABLE(lx_param_def_t, s_part_p,
      P_INT("maxParticles", false, 1024, 1, 65536, "capacity of the particle pool"));
TABLE(lx_port_def_t, s_part_i,
      IN_W("emitPosition", LX_D_VEC3, LX_WM_NOFIELD, "where particles are born", 0, 0, 0),
      IN_W("rate", N, LX_WM_NOFIELD, "particles emitted per second", 10),
      IN_W("lifetime", N, LX_WM_NOFIELD, "seconds a particle lives", 2),
      IN_W("speed", N, LX_WM_NOFIELD, "initial speed, units per second", 1),
      IN_W("spread", N, LX_WM_NOFIELD, "cone half-angle around +Y in degrees", 30),
      IN_W("gravity", LX_D_VEC3, LX_WM_NOFIELD, "acceleration, units per second squared", 0, -1, 0),
      IN_W("size", N, LX_WM_NOFIELD, "size given to new particles", 0.1));
TABLE(lx_port_def_t, s_part_o, OUT("domain", LX_D_DOMAIN, LX_OUT_DOMAIN, "the particle pool"),
      OUT("position", LX_D_VEC3, LX_OUT_FIELD_OWN, "per particle"),
      OUT("velocity", LX_D_VEC3, LX_OUT_FIELD_OWN, "per particle"),
      OUT("age", N, LX_OUT_FIELD_OWN, "seconds since birth"),
      OUT("alive", LX_D_BOOL, LX_OUT_FIELD_OWN, "1 for live particles"),
      OUT("size", N, LX_OUT_FIELD_OWN, "size given at emission"));

#define ST (LX_BF_STATE | LX_BF_UNBOUNDED)
static const lx_block_def_t s_defs[] = {
    BLOCK("UnitDelay", "state", UNIT_DELAY, LX_BF_STATE, "the input of the previous frame",
          NOPARAMS, s_delay_i, s_out_g),
    BLOCK("Lag", "state", LAG, ST, "moves toward target by smoothing each frame", NOPARAMS, s_lag_i,
          s_out_g),
    BLOCK("Phasor", "state", PHASOR, ST, "a phase advancing by frequencyHz * dt", NOPARAMS,
          s_phasor_i, s_phasor_o),
    BLOCK("Accumulator", "state", ACCUMULATOR, ST, "sums delta every frame", NOPARAMS, s_acc_i,
          s_acc_o),
    BLOCK("SampleHold", "state", SAMPLE_HOLD, ST, "holds value from the last trigger", NOPARAMS,
          s_sh_i, s_out_g),
    BLOCK("Particles", "state", PARTICLES, ST | LX_BF_INSTANCE, "a deterministic particle system",
          s_part_p, s_part_i, s_part_o),
};

FAMILY(lx_blocks_state, s_defs);
