/* Audio: features of the audio file the patch names (lattice/audio.h),
 * analysed at compile time and sampled at each frame's absolute time. */
#include "registry_internal.h"

/* In lx_audio_feature_t order (lattice/audio_track.h). */
static const char *const s_features[] = {"rms", "band", "onset", "beatPhase", "bpm", NULL};

TABLE(lx_param_def_t, s_af_p,
      P_ENUM("feature", s_features,
             "rms (level), band (level of one of 8 bands), onset (strength of new sounds, "
             "0..1), beatPhase (position in the beat, 0..1), bpm (tempo)"),
      P_INT("band", false, 0, 0, 7,
            "band for feature band: 0 <100 Hz, 1 100-200, 2 200-400, 3 400-800, 4 800-1600, "
            "5 1600-3200, 6 3200-6400, 7 >=6400 Hz"));
TABLE(lx_port_def_t, s_af_o,
      OUT("value", LX_D_NUMBER, LX_OUT_SIGNAL,
          "the feature at the frame's absolute time f*1000/fps (0 after the audio ends)"),
      OUT("beat", LX_D_PHASE, LX_OUT_SIGNAL, "the beat phase at that time, whatever feature"));

static const lx_block_def_t s_defs[] = {
    BLOCK("AudioFeature", "audio", AUDIO_FEATURE, LX_BF_CLOCK,
          "a feature of the patch's audio file (top-level \"audio\"), interpolated between 10 ms "
          "hops",
          s_af_p, NOINPUTS, s_af_o),
};

FAMILY(lx_blocks_audio, s_defs);
