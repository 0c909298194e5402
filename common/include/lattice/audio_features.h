/* The audio features artifact: audio/features.npz, the program's audio
 * table (lattice/ir.h) sampled at each exported frame by the same function
 * the AudioFeature block uses (lx_audio_sample, lattice/audio_track.h), so
 * a model trained on the export sees exactly what drove the animation. */
#ifndef LATTICE_AUDIO_FEATURES_H
#define LATTICE_AUDIO_FEATURES_H

#include <stdint.h>

#include "lattice/ir.h"
#include "lattice/result.h"
#include "lattice/strbuf.h"

/* Where the file goes in an export, relative to OUT. */
#define LX_AUDIO_FEATURES_PATH "audio/features.npz"
/* Frames one call may cover (60 bytes each in the archive, written in a
 * coordinator's event loop: 60 MB at most; lx_export_plan refuses more). */
#define LX_AUDIO_FEATURES_MAX_FRAMES 1000000

/* Appends the NPZ (lattice/npz.h: stored, fixed dates, byte-stable) of the
 * frames first..last (inclusive, 0 <= first <= last, at most
 * LX_AUDIO_FEATURES_MAX_FRAMES) of program p to out. fps is the rate the
 * export samples frames at (its plan's, which the AudioFeature block
 * samples at too), 0 < fps <= 1000. With N = last - first + 1 frames,
 * the members, in this order:
 *   frame.npy       '<i8' (N,)    the frame numbers first..last
 *   time_ms.npy     '<f8' (N,)    t = f * 1000 / fps, the frame's absolute time
 *   rms.npy         '<f4' (N,)    lx_audio_sample(rms) at t, rounded to float
 *   bands.npy       '<f4' (N, 8)  lx_audio_sample(band b) at t, b = 0..7
 *   onset.npy       '<f4' (N,)    lx_audio_sample(onset) at t
 *   beat_phase.npy  '<f4' (N,)    lx_audio_sample(beatPhase) at t
 *   bpm.npy         '<f8' ()      the track's tempo (0: none found)
 * Returns LX_E_INVALID when p has no audio table or the range or fps is
 * wrong, LX_E_NOMEM. The same (program, range, fps) always gives the same
 * bytes. Pure; thread-safe for distinct outputs. */
lx_result_t lx_audio_features_npz(const lx_program_t *p, int64_t first, int64_t last, double fps,
                                  lx_strbuf_t *out, lx_error_t *err);

#endif
