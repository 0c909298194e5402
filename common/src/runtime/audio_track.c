/* Sampling the audio table (lattice/audio_track.h). */
#include "lattice/audio_track.h"

#include <math.h>
#include <string.h>

double lx_audio_frame_ms(int64_t frame, double fps)
{
    return (double)frame * 1000.0 / fps;
}

/* Linear interpolation of hop values (stride apart) at hop position u. */
static double s_lerp(const float *x, uint32_t stride, uint32_t n, double u)
{
    uint32_t i = (uint32_t)floor(u);
    double v0 = (double)x[(size_t)i * stride];
    if (i + 1 >= n)
        return v0;
    double v1 = (double)x[(size_t)(i + 1) * stride];
    return v0 + (v1 - v0) * (u - (double)i);
}

double lx_audio_sample(const lx_audio_track_t *a, lx_audio_feature_t feature, uint32_t band,
                       double t_ms)
{
    if (!a || a->n_hops == 0 || !(a->hop_ms > 0))
        return 0;
    if (feature == LX_AUDIO_BPM)
        return a->bpm;
    if (!(t_ms >= 0))
        return 0;
    double u = t_ms / a->hop_ms;
    if (u > (double)(a->n_hops - 1))
        return 0;
    switch (feature) {
    case LX_AUDIO_RMS:
        return s_lerp(a->rms, 1, a->n_hops, u);
    case LX_AUDIO_BAND:
        return band < a->n_bands ? s_lerp(a->bands + band, a->n_bands, a->n_hops, u) : 0;
    case LX_AUDIO_ONSET:
        return s_lerp(a->onset, 1, a->n_hops, u);
    case LX_AUDIO_BEAT_PHASE: {
        if (!(a->bpm > 0))
            return 0;
        double x = (t_ms - a->beat_offset_ms) * a->bpm / 60000.0;
        double r = x - floor(x);
        return r >= 1.0 ? 0.0 : r;
    }
    default:
        return 0;
    }
}

lx_audio_track_t *lx_audio_track_copy(lx_arena_t *arena, const lx_audio_track_t *src)
{
    lx_audio_track_t *t = lx_arena_calloc(arena, 1, sizeof *t);
    if (!t)
        return NULL;
    *t = *src;
    size_t n = src->n_hops, nb = (size_t)src->n_hops * src->n_bands;
    t->rms = n ? lx_arena_calloc(arena, n, sizeof *t->rms) : NULL;
    t->onset = n ? lx_arena_calloc(arena, n, sizeof *t->onset) : NULL;
    t->bands = nb ? lx_arena_calloc(arena, nb, sizeof *t->bands) : NULL;
    if ((n && (!t->rms || !t->onset)) || (nb && !t->bands))
        return NULL;
    if (n) {
        memcpy(t->rms, src->rms, n * sizeof *t->rms);
        memcpy(t->onset, src->onset, n * sizeof *t->onset);
    }
    if (nb)
        memcpy(t->bands, src->bands, nb * sizeof *t->bands);
    return t;
}
