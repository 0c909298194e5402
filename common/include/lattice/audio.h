/* Audio for audio-reactive patches: decoding (libsndfile) and per-hop
 * analysis into the program's audio table (lattice/ir.h).
 *
 * The compiler reads the file a patch names once, hashes its bytes, decodes
 * them to mono and analyses them here; the program carries the features,
 * never the samples. The analysis uses only IEEE-754 arithmetic, sqrt and
 * the project's own transcendentals (lattice/dmath.h, lattice/fft.h), so
 * the same bytes give the same table on every machine. docs/ir.md ("Audio
 * features") gives every formula. Thread-safe for distinct arguments. */
#ifndef LATTICE_AUDIO_H
#define LATTICE_AUDIO_H

#include <stddef.h>
#include <stdint.h>

#include "lattice/alloc.h"
#include "lattice/ir.h"
#include "lattice/result.h"

#define LX_AUDIO_MAX_FILE_BYTES ((size_t)1 << 30) /* 1 GiB */
#define LX_AUDIO_MAX_CHANNELS 64u
#define LX_AUDIO_MAX_ABS_SAMPLE 1000.0 /* float files: larger |samples| are refused */
#define LX_AUDIO_WINDOW 2048u
/* LX_AUDIO_HOP_MS, LX_AUDIO_MIN_RATE, LX_AUDIO_MAX_RATE and
 * LX_AUDIO_MAX_FRAMES bound the table: lattice/ir.h. */

/* Decoded audio, mixed down to mono: samples[i] is the average of frame
 * i's channels (summed in channel order in double, then divided by the
 * channel count), with integer formats scaled by libsndfile to [-1, 1).
 * Caller-owned: lx_audio_pcm_release frees samples. */
typedef struct lx_audio_pcm {
    const lx_alloc_t *alloc;
    double *samples;
    uint64_t n_frames;
    uint32_t sample_rate;
    uint32_t channels;
} lx_audio_pcm_t;

/* Decodes `len` bytes of an audio file (WAV, FLAC, or anything else the
 * system's libsndfile reads) from memory; nothing touches the file system.
 * On LX_OK *out holds the mono samples (release it); on failure *out is
 * empty. Returns LX_E_PARSE for bytes libsndfile cannot read, a file
 * without samples, a non-finite sample or one beyond
 * LX_AUDIO_MAX_ABS_SAMPLE; LX_E_LIMIT for more than LX_AUDIO_MAX_FILE_BYTES,
 * LX_AUDIO_MAX_FRAMES frames or LX_AUDIO_MAX_CHANNELS channels, or a sample
 * rate outside [LX_AUDIO_MIN_RATE, LX_AUDIO_MAX_RATE]; LX_E_NOMEM. Any
 * input returns one of these, never crashes (tests/fuzz/fuzz_audio_decode.c). */
lx_result_t lx_audio_decode(const void *bytes, size_t len, const lx_alloc_t *alloc,
                            lx_audio_pcm_t *out, lx_error_t *err);
void lx_audio_pcm_release(lx_audio_pcm_t *pcm);

/* Analyses mono samples at sample_rate into *out (every field but sha256,
 * which is left zero): hops of LX_AUDIO_HOP_MS, features as documented in
 * docs/ir.md. The arrays are allocated in `arena`. LX_E_INVALID for no
 * samples or a rate outside the limits, LX_E_LIMIT for more than
 * LX_AUDIO_MAX_HOPS hops, LX_E_NOMEM. */
lx_result_t lx_audio_analyze(const double *samples, uint64_t n_frames, uint32_t sample_rate,
                             const lx_alloc_t *alloc, lx_arena_t *arena, lx_audio_track_t *out,
                             lx_error_t *err);

/* The whole path: SHA-256 of the bytes, decode, analyse. The track and its
 * arrays live in `arena`; *out is NULL on failure. Codes as above. */
lx_result_t lx_audio_track_from_bytes(const void *bytes, size_t len, const lx_alloc_t *alloc,
                                      lx_arena_t *arena, lx_audio_track_t **out, lx_error_t *err);

#endif
