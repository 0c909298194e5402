/* AudioFeature: the program's audio table sampled at the frame's absolute
 * time, through the same function as the audio/features.npz export. */
#include "kernels_internal.h"
#include "lattice/audio_track.h"

void lx_k_audio_feature(lx_exec_t *x)
{
    double t = lx_audio_frame_ms(x->time->frame, x->fps);
    lx_audio_feature_t feature = (lx_audio_feature_t)x->param[0];
    uint32_t band = (uint32_t)x->param[1];
    kout_t value = k_out(x, 0), beat = k_out(x, 1);
    *value.v = lx_audio_sample(x->p->audio, feature, band, t);
    *beat.v = lx_audio_sample(x->p->audio, LX_AUDIO_BEAT_PHASE, 0, t);
}
