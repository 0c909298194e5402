/* Sampling a program's audio table (lattice/ir.h) at a frame's time: the
 * one function both the AudioFeature block and the audio/features.npz
 * export (lattice/audio_features.h) call, so the two always agree. */
#ifndef LATTICE_AUDIO_TRACK_H
#define LATTICE_AUDIO_TRACK_H

#include <stdint.h>

#include "lattice/alloc.h"
#include "lattice/ir.h"

/* AudioFeature's `feature` parameter, in its option order. */
typedef enum {
    LX_AUDIO_RMS,
    LX_AUDIO_BAND,
    LX_AUDIO_ONSET,
    LX_AUDIO_BEAT_PHASE,
    LX_AUDIO_BPM,
    LX_AUDIO_FEATURE__COUNT
} lx_audio_feature_t;

/* The time audio is sampled at for frame f: f * 1000 / fps ms, the
 * frame's absolute time whatever the time model (music does not loop with
 * a cyclic time root). */
double lx_audio_frame_ms(int64_t frame, double fps);

/* The feature at t_ms (band: 0 .. n_bands - 1, for LX_AUDIO_BAND only).
 *   rms, band, onset: with u = t_ms / hop_ms, i = floor(u), the linear
 *     interpolation x[i] + (x[i+1] - x[i]) * (u - i) of the hop values (in
 *     double), x[i] itself at the last hop; 0 when t_ms < 0, t_ms is not a
 *     number or u > n_hops - 1 (after the end of the audio).
 *   beatPhase: frac((t_ms - beat_offset_ms) * bpm / 60000) in [0, 1); 0
 *     without a tempo (bpm 0) and where the others are 0.
 *   bpm: the track's bpm at every time.
 * 0 for a NULL track, an unknown feature or a band out of range. Pure and
 * thread-safe. */
double lx_audio_sample(const lx_audio_track_t *a, lx_audio_feature_t feature, uint32_t band,
                       double t_ms);

/* A deep copy of src (arrays included) in `arena`; NULL when out of
 * memory. */
lx_audio_track_t *lx_audio_track_copy(lx_arena_t *arena, const lx_audio_track_t *src);

#endif
