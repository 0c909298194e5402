/* Fuzz target: audio files as the compiler reads them (lx_audio_decode on
 * bytes in memory, then lx_audio_analyze and a program's verifier checks
 * of the table). Any input must decode or fail with LX_E_PARSE, LX_E_LIMIT
 * or LX_E_NOMEM and a message, and never crash, hang, leak or read out of
 * bounds (the ASan+UBSan build replays the corpus). Decoded audio of a
 * modest length is analysed, and the table must hold finite values within
 * the ranges lx_ir_verify accepts; the same bytes must analyse to the same
 * bits twice.
 *
 * The seed corpus (tests/corpus/audio_decode/): tiny valid WAVs (16-bit
 * mono, 8-bit stereo, float), truncated copies of them, a WAV header
 * claiming more data than follows, and garbage. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lattice/audio.h"

/* Analysis is for short inputs only, to keep the fuzzer fast. */
#define MAX_ANALYSED_FRAMES ((uint64_t)1 << 18)

static void s_check_track(const lx_audio_track_t *t)
{
    if (t->n_hops < 1 || t->n_hops > LX_AUDIO_MAX_HOPS || t->n_bands != LX_AUDIO_BANDS)
        abort();
    if (t->bpm != 0 && !(t->bpm >= LX_AUDIO_MIN_BPM && t->bpm <= LX_AUDIO_MAX_BPM))
        abort();
    if (t->bpm != 0 && !(t->beat_offset_ms >= 0 && t->beat_offset_ms < 60000.0 / t->bpm))
        abort();
    for (uint32_t h = 0; h < t->n_hops; h++) {
        if (!(t->rms[h] >= 0 && isfinite(t->rms[h])) || !(t->onset[h] >= 0 && t->onset[h] <= 1))
            abort();
        for (uint32_t b = 0; b < t->n_bands; b++)
            if (!(t->bands[(size_t)h * t->n_bands + b] >= 0 &&
                  isfinite(t->bands[(size_t)h * t->n_bands + b])))
                abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    lx_audio_pcm_t pcm;
    lx_error_t err = {0};
    lx_result_t rc = lx_audio_decode(data, size, NULL, &pcm, &err);
    if (rc != LX_OK) {
        if ((rc != LX_E_PARSE && rc != LX_E_LIMIT && rc != LX_E_NOMEM) || !err.message[0] ||
            pcm.samples)
            abort();
        return 0;
    }
    if (!pcm.samples || pcm.n_frames == 0 || pcm.sample_rate < LX_AUDIO_MIN_RATE)
        abort();
    if (pcm.n_frames <= MAX_ANALYSED_FRAMES) {
        lx_arena_t arena;
        lx_arena_init(&arena, NULL);
        lx_audio_track_t a, b;
        lx_result_t ra = lx_audio_analyze(pcm.samples, pcm.n_frames, pcm.sample_rate, NULL,
                                          &arena, &a, &err);
        lx_result_t rb = lx_audio_analyze(pcm.samples, pcm.n_frames, pcm.sample_rate, NULL,
                                          &arena, &b, &err);
        if (ra != LX_OK || rb != LX_OK) {
            if (ra != LX_E_NOMEM && rb != LX_E_NOMEM)
                abort();
        } else {
            s_check_track(&a);
            if (a.bpm != b.bpm || a.beat_offset_ms != b.beat_offset_ms ||
                memcmp(a.rms, b.rms, a.n_hops * sizeof *a.rms) != 0 ||
                memcmp(a.onset, b.onset, a.n_hops * sizeof *a.onset) != 0 ||
                memcmp(a.bands, b.bands, (size_t)a.n_hops * a.n_bands * sizeof *a.bands) != 0)
                abort();
        }
        lx_arena_release(&arena);
    }
    lx_audio_pcm_release(&pcm);
    return 0;
}
