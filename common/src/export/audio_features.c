/* audio/features.npz (lattice/audio_features.h). */
#include "lattice/audio_features.h"

#include "lattice/audio_track.h"
#include "lattice/encode.h"
#include "lattice/npz.h"

enum { N_MEMBERS = 7 };

lx_result_t lx_audio_features_npz(const lx_program_t *p, int64_t first, int64_t last, double fps,
                                  lx_strbuf_t *out, lx_error_t *err)
{
    if (!p || !out)
        return lx_fail(err, LX_E_INVALID, "audio features: no program or no output");
    const lx_audio_track_t *a = p->audio;
    if (!a)
        return lx_fail(err, LX_E_INVALID, "audio features: the program has no audio");
    if (first < 0 || last < first || last - first >= LX_AUDIO_FEATURES_MAX_FRAMES)
        return lx_fail(err, LX_E_INVALID,
                       "audio features: frames %lld-%lld (want 0 <= first <= last, at most %d "
                       "frames)",
                       (long long)first, (long long)last, LX_AUDIO_FEATURES_MAX_FRAMES);
    if (!(fps > 0 && fps <= 1000))
        return lx_fail(err, LX_E_INVALID, "audio features: fps %g is out of range", fps);
    uint32_t n = (uint32_t)(last - first + 1), nb = a->n_bands;
    const lx_alloc_t *alloc = out->alloc ? out->alloc : lx_alloc_default();
    int64_t *frame = lx_calloc(alloc, n, sizeof *frame);
    double *time = lx_calloc(alloc, n, sizeof *time);
    float *f32 = lx_calloc(alloc, (size_t)n * (3 + nb), sizeof *f32);
    lx_strbuf_t npy[N_MEMBERS];
    for (int k = 0; k < N_MEMBERS; k++)
        lx_strbuf_init(&npy[k], alloc);
    lx_result_t rc = LX_OK;
    if (!frame || !time || !f32) {
        rc = lx_fail(err, LX_E_NOMEM, "audio features: out of memory for %u frames", n);
        goto done;
    }
    float *rms = f32, *onset = f32 + n, *beat = f32 + 2 * (size_t)n, *bands = f32 + 3 * (size_t)n;
    for (uint32_t i = 0; i < n; i++) {
        int64_t f = first + (int64_t)i;
        double t = lx_audio_frame_ms(f, fps);
        frame[i] = f;
        time[i] = t;
        rms[i] = (float)lx_audio_sample(a, LX_AUDIO_RMS, 0, t);
        for (uint32_t b = 0; b < nb; b++)
            bands[(size_t)i * nb + b] = (float)lx_audio_sample(a, LX_AUDIO_BAND, b, t);
        onset[i] = (float)lx_audio_sample(a, LX_AUDIO_ONSET, 0, t);
        beat[i] = (float)lx_audio_sample(a, LX_AUDIO_BEAT_PHASE, 0, t);
    }
    uint32_t dims1[1] = {n}, dims2[2] = {n, nb};
    double bpm = a->bpm;
    if ((rc = lx_npy_encode_array(LX_NPY_I8, dims1, 1, frame, &npy[0], err)) != LX_OK ||
        (rc = lx_npy_encode_array(LX_NPY_F8, dims1, 1, time, &npy[1], err)) != LX_OK ||
        (rc = lx_npy_encode_array(LX_NPY_F4, dims1, 1, rms, &npy[2], err)) != LX_OK ||
        (rc = lx_npy_encode_array(LX_NPY_F4, dims2, 2, bands, &npy[3], err)) != LX_OK ||
        (rc = lx_npy_encode_array(LX_NPY_F4, dims1, 1, onset, &npy[4], err)) != LX_OK ||
        (rc = lx_npy_encode_array(LX_NPY_F4, dims1, 1, beat, &npy[5], err)) != LX_OK ||
        (rc = lx_npy_encode_array(LX_NPY_F8, NULL, 0, &bpm, &npy[6], err)) != LX_OK)
        goto done;
    static const char *const names[N_MEMBERS] = {"frame.npy", "time_ms.npy",    "rms.npy",
                                                 "bands.npy", "onset.npy",      "beat_phase.npy",
                                                 "bpm.npy"};
    lx_npz_member_t m[N_MEMBERS];
    for (int k = 0; k < N_MEMBERS; k++) {
        m[k].name = names[k];
        m[k].data = npy[k].buf;
        m[k].len = npy[k].len;
    }
    rc = lx_npz_write(m, N_MEMBERS, out, err);
done:
    for (int k = 0; k < N_MEMBERS; k++)
        lx_strbuf_release(&npy[k]);
    lx_free(alloc, frame);
    lx_free(alloc, time);
    lx_free(alloc, f32);
    return rc;
}
