/* Per-hop audio features (docs/ir.md, "Audio features"): RMS, band levels,
 * onset strength (spectral flux of log magnitude), and a beat grid from the
 * onset envelope's autocorrelation. Only + - * /, sqrt, floor and the
 * project's lx_log / lx_cos / FFT: the same samples give the same bits on
 * every machine. */
#include <math.h>
#include <string.h>

#include "lattice/audio.h"
#include "lattice/digest.h"
#include "lattice/dmath.h"
#include "lattice/fft.h"

/* Lower band edges in Hz; band b holds the bins with edge[b] <= f <
 * edge[b + 1] (the last band up to and including Nyquist). Bin 0 (DC) is in
 * no band. */
static const double s_band_edges[LX_AUDIO_BANDS] = {0, 100, 200, 400, 800, 1600, 3200, 6400};

enum { HOPS_PER_S = 100, MIN_LAG = 34, MAX_LAG = 100 }; /* 180 and 60 BPM at 100 hops/s */

typedef struct {
    const double *x;
    uint64_t n;
    uint32_t rate;
    lx_fft_t *fft;
    double *win, *re, *im, *logmag, *prev_logmag, *flux;
    double win_sq; /* sum of the window's squares */
} ctx_t;

/* Centre sample of hop h: floor(h * rate / 100). */
static uint64_t s_centre(uint64_t h, uint32_t rate)
{
    return h * rate / HOPS_PER_S;
}

/* One hop: rms, bands and the onset flux (before normalization). */
static void s_hop(ctx_t *c, uint32_t h, lx_audio_track_t *t)
{
    const uint32_t N = LX_AUDIO_WINDOW;
    int64_t start = (int64_t)s_centre(h, c->rate) - (int64_t)(N / 2);
    double sq = 0;
    for (uint32_t j = 0; j < N; j++) {
        int64_t i = start + (int64_t)j;
        double v = (i >= 0 && (uint64_t)i < c->n) ? c->x[i] : 0.0;
        sq += v * v;
        c->re[j] = c->win[j] * v;
        c->im[j] = 0.0;
    }
    t->rms[h] = (float)sqrt(sq / (double)N);
    lx_fft_forward(c->fft, c->re, c->im);
    double band[LX_AUDIO_BANDS] = {0};
    double flux = 0;
    for (uint32_t k = 1; k <= N / 2; k++) {
        double p = c->re[k] * c->re[k] + c->im[k] * c->im[k];
        double f = (double)k * (double)c->rate / (double)N;
        uint32_t b = LX_AUDIO_BANDS - 1;
        while (b > 0 && f < s_band_edges[b])
            b--;
        band[b] += p;
        double l = lx_log(1.0 + sqrt(p));
        double d = l - c->prev_logmag[k];
        if (d > 0)
            flux += d;
        c->logmag[k] = l;
    }
    for (uint32_t b = 0; b < LX_AUDIO_BANDS; b++)
        t->bands[(size_t)h * LX_AUDIO_BANDS + b] =
            (float)sqrt(2.0 * band[b] / ((double)N * c->win_sq));
    double *swap = c->prev_logmag;
    c->prev_logmag = c->logmag;
    c->logmag = swap;
    c->flux[h] = flux;
}

/* Autocorrelation of the stored onset envelope at lag L. */
static double s_acf(const float *o, uint32_t n, uint32_t lag)
{
    double s = 0;
    for (uint32_t h = 0; h + lag < n; h++)
        s += (double)o[h] * (double)o[h + lag];
    return s;
}

/* bpm and beat offset from the onset envelope. */
static void s_tempo(lx_audio_track_t *t)
{
    t->bpm = 0;
    t->beat_offset_ms = 0;
    double acf[MAX_LAG + 2] = {0};
    uint32_t best = 0;
    for (uint32_t lag = MIN_LAG - 1; lag <= MAX_LAG + 1; lag++) {
        acf[lag] = s_acf(t->onset, t->n_hops, lag);
        if (lag >= MIN_LAG && lag <= MAX_LAG && acf[lag] > 0 && (best == 0 || acf[lag] > acf[best]))
            best = lag;
    }
    if (best == 0)
        return;
    double period = (double)best; /* hops per beat */
    if (best > MIN_LAG && best < MAX_LAG) {
        double a = acf[best - 1], b = acf[best], c = acf[best + 1];
        double denom = a - 2.0 * b + c;
        if (denom < 0) {
            double delta = 0.5 * (a - c) / denom;
            if (delta > 0.5)
                delta = 0.5;
            if (delta < -0.5)
                delta = -0.5;
            period += delta;
        }
    }
    t->bpm = 60.0 * HOPS_PER_S / period;
    /* The grid offset (whole hops in [0, period)) whose beats collect the
     * most onset; ties go to the earliest. */
    uint32_t n_off = (uint32_t)ceil(period), best_off = 0;
    double best_sum = -1;
    for (uint32_t off = 0; off < n_off; off++) {
        double sum = 0;
        for (uint32_t k = 0;; k++) {
            double pos = (double)off + (double)k * period;
            if (pos > (double)(t->n_hops - 1))
                break;
            /* pos <= n_hops - 1, so the nearest hop is in range. */
            sum += (double)t->onset[(uint32_t)floor(pos + 0.5)];
        }
        if (sum > best_sum) {
            best_sum = sum;
            best_off = off;
        }
    }
    t->beat_offset_ms = (double)best_off * t->hop_ms;
}

lx_result_t lx_audio_analyze(const double *samples, uint64_t n_frames, uint32_t sample_rate,
                             const lx_alloc_t *alloc, lx_arena_t *arena, lx_audio_track_t *out,
                             lx_error_t *err)
{
    memset(out, 0, sizeof *out);
    if (!samples || n_frames == 0)
        return lx_fail(err, LX_E_INVALID, "no audio samples to analyse");
    if (sample_rate < LX_AUDIO_MIN_RATE || sample_rate > LX_AUDIO_MAX_RATE)
        return lx_fail(err, LX_E_INVALID, "audio sample rate %u Hz is outside %u to %u",
                       sample_rate, LX_AUDIO_MIN_RATE, LX_AUDIO_MAX_RATE);
    if (n_frames > LX_AUDIO_MAX_FRAMES)
        return lx_fail(err, LX_E_LIMIT, "%llu audio frames exceed %llu",
                       (unsigned long long)n_frames, (unsigned long long)LX_AUDIO_MAX_FRAMES);
    uint64_t hops = (n_frames * HOPS_PER_S + sample_rate - 1) / sample_rate;
    if (hops > LX_AUDIO_MAX_HOPS)
        return lx_fail(err, LX_E_LIMIT, "%llu audio hops exceed %u", (unsigned long long)hops,
                       LX_AUDIO_MAX_HOPS);
    alloc = alloc ? alloc : lx_alloc_default();
    out->sample_rate = sample_rate;
    out->n_frames = n_frames;
    out->hop_ms = LX_AUDIO_HOP_MS;
    out->n_hops = (uint32_t)hops;
    out->n_bands = LX_AUDIO_BANDS;
    out->rms = lx_arena_calloc(arena, hops, sizeof *out->rms);
    out->onset = lx_arena_calloc(arena, hops, sizeof *out->onset);
    out->bands = lx_arena_calloc(arena, hops * LX_AUDIO_BANDS, sizeof *out->bands);

    const uint32_t N = LX_AUDIO_WINDOW;
    ctx_t c = {.x = samples, .n = n_frames, .rate = sample_rate};
    c.fft = lx_fft_new(N, alloc);
    double *work = lx_calloc(alloc, (size_t)5 * N + hops, sizeof *work);
    lx_result_t rc = LX_OK;
    if (!out->rms || !out->onset || !out->bands || !c.fft || !work) {
        rc = lx_fail(err, LX_E_NOMEM, "out of memory analysing the audio");
    } else {
        c.win = work;
        c.re = work + N;
        c.im = work + 2 * (size_t)N;
        c.logmag = work + 3 * (size_t)N;
        c.prev_logmag = work + 4 * (size_t)N; /* hop -1: silence, log(1 + 0) = 0 */
        c.flux = work + 5 * (size_t)N;
        /* Periodic Hann window. */
        for (uint32_t j = 0; j < N; j++) {
            c.win[j] = 0.5 - 0.5 * lx_cos(6.283185307179586 * (double)j / (double)N);
            c.win_sq += c.win[j] * c.win[j];
        }
        double max_flux = 0;
        for (uint32_t h = 0; h < out->n_hops; h++) {
            s_hop(&c, h, out);
            if (c.flux[h] > max_flux)
                max_flux = c.flux[h];
        }
        for (uint32_t h = 0; h < out->n_hops; h++)
            out->onset[h] = max_flux > 0 ? (float)(c.flux[h] / max_flux) : 0.0f;
        s_tempo(out);
    }
    lx_free(alloc, work);
    lx_fft_destroy(&c.fft);
    return rc;
}

lx_result_t lx_audio_track_from_bytes(const void *bytes, size_t len, const lx_alloc_t *alloc,
                                      lx_arena_t *arena, lx_audio_track_t **out, lx_error_t *err)
{
    *out = NULL;
    lx_audio_pcm_t pcm;
    lx_result_t rc = lx_audio_decode(bytes, len, alloc, &pcm, err);
    if (rc != LX_OK)
        return rc;
    lx_audio_track_t *t = lx_arena_calloc(arena, 1, sizeof *t);
    if (!t)
        rc = lx_fail(err, LX_E_NOMEM, "out of memory");
    if (rc == LX_OK)
        rc = lx_audio_analyze(pcm.samples, pcm.n_frames, pcm.sample_rate, alloc, arena, t, err);
    lx_audio_pcm_release(&pcm);
    lx_digest_t d;
    if (rc == LX_OK && (rc = lx_sha256(bytes, len, &d)) != LX_OK)
        lx_fail(err, rc, "cannot hash the audio file");
    if (rc != LX_OK)
        return rc;
    memcpy(t->sha256, d.bytes, sizeof t->sha256);
    *out = t;
    return LX_OK;
}
