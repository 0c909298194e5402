/* Audio-reactive patches (lattice/audio.h, audio_track.h, fft.h, npz.h,
 * audio_features.h): the FFT against a direct DFT and bit for bit twice;
 * features of signals made here (a sine lands in its band, silence is 0, a
 * click train at 120 BPM gives its tempo and beats at the clicks); decoding
 * from memory; a patch with "audio" and AudioFeature evaluates to the
 * table's sampling; the program hash covers the audio; diagnostics for a
 * missing, garbage or misspelled audio file; the IR codec and verifier; the
 * features NPZ, byte-stable and read back by python3's zipfile; and
 * examples/audio/audio-pulse.patch.json against a file this test writes. */
#include <math.h>
#include <sndfile.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lattice/audio.h"
#include "lattice/audio_features.h"
#include "lattice/audio_track.h"
#include "lattice/compile.h"
#include "lattice/digest.h"
#include "lattice/dmath.h"
#include "lattice/encode.h"
#include "lattice/fft.h"
#include "lattice/instance.h"
#include "lattice/ir_codec.h"
#include "lattice/kernels.h"
#include "lattice/npz.h"
#include "test.h"
#include "unit/scratch_dir.h"

#define S_PI 3.14159265358979323846

static char s_dir[256];

/* ---- signals ------------------------------------------------------------ */

static uint64_t s_rng = 0x9E3779B97F4A7C15ull;

static double s_rand(void)
{
    s_rng ^= s_rng << 13;
    s_rng ^= s_rng >> 7;
    s_rng ^= s_rng << 17;
    return (double)(s_rng >> 11) / 9007199254740992.0 * 2.0 - 1.0;
}

/* A click train: a 2 kHz burst decaying over 60 ms at 0.25 s + k * 60 / bpm. */
static double *s_clicks(uint32_t rate, double seconds, double bpm, uint64_t *n)
{
    *n = (uint64_t)(rate * seconds);
    double *x = calloc(*n, sizeof *x);
    double period = 60.0 / bpm;
    for (uint64_t i = 0; i < *n; i++) {
        double t = (double)i / rate;
        if (t < 0.25)
            continue;
        double ph = fmod(t - 0.25, period);
        if (ph < 0.06)
            x[i] = 0.8 * exp(-ph * 60) * sin(2 * S_PI * 2000 * t);
    }
    return x;
}

/* Writes samples (frames x channels, interleaved) as a float WAV. */
static bool s_write_wav(const char *path, const double *x, uint64_t frames, int channels,
                        int rate, int format)
{
    SF_INFO info;
    memset(&info, 0, sizeof info);
    info.samplerate = rate;
    info.channels = channels;
    info.format = SF_FORMAT_WAV | format;
    SNDFILE *sf = sf_open(path, SFM_WRITE, &info);
    if (!sf)
        return false;
    bool ok = sf_writef_double(sf, x, (sf_count_t)frames) == (sf_count_t)frames;
    return sf_close(sf) == 0 && ok;
}

static char *s_path(const char *name)
{
    static char buf[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", s_dir, name);
    return buf[k];
}

static lx_audio_track_t *s_analyze(const double *x, uint64_t n, uint32_t rate, lx_arena_t *arena)
{
    lx_audio_track_t *t = lx_arena_calloc(arena, 1, sizeof *t);
    lx_error_t err = {0};
    lx_result_t rc = lx_audio_analyze(x, n, rate, NULL, arena, t, &err);
    CHECK_MSG(rc == LX_OK, "analyze: %s", err.message);
    return rc == LX_OK ? t : NULL;
}

static double s_circ(double phase)
{
    double d = phase - floor(phase);
    return d > 0.5 ? 1 - d : d;
}

/* ---- FFT ---------------------------------------------------------------- */

static void test_fft(void)
{
    static const uint32_t sizes[] = {2, 8, 64, 2048};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        uint32_t n = sizes[s];
        lx_fft_t *f = lx_fft_new(n, NULL), *g = lx_fft_new(n, NULL);
        CHECK(f && g && lx_fft_size(f) == n);
        double *x = calloc(n, sizeof *x), *re = calloc(n, sizeof *re), *im = calloc(n, sizeof *im);
        double *re2 = calloc(n, sizeof *re2), *im2 = calloc(n, sizeof *im2);
        for (uint32_t i = 0; i < n; i++)
            x[i] = re[i] = re2[i] = s_rand();
        lx_fft_forward(f, re, im);
        lx_fft_forward(g, re2, im2);
        CHECK_MSG(memcmp(re, re2, n * sizeof *re) == 0 && memcmp(im, im2, n * sizeof *im) == 0,
                  "n=%u: two plans, different bits", n);
        double worst = 0;
        for (uint32_t k = 0; k < n; k++) {
            long double sr = 0, si = 0;
            for (uint32_t j = 0; j < n; j++) {
                long double a = -2.0L * 3.14159265358979323846264338327950288L *
                                (long double)(((uint64_t)j * k) % n) / (long double)n;
                sr += x[j] * cosl(a);
                si += x[j] * sinl(a);
            }
            double e = fabs((double)(sr - re[k])) + fabs((double)(si - im[k]));
            if (e > worst)
                worst = e;
        }
        CHECK_MSG(worst < 1e-11 * n, "n=%u: FFT differs from the DFT by %g", n, worst);
        free(x), free(re), free(im), free(re2), free(im2);
        lx_fft_destroy(&f);
        lx_fft_destroy(&g);
        CHECK(f == NULL);
    }
    CHECK(lx_fft_new(0, NULL) == NULL);
    CHECK(lx_fft_new(1, NULL) == NULL);
    CHECK(lx_fft_new(3, NULL) == NULL);
    CHECK(lx_fft_new(LX_FFT_MAX_SIZE * 2, NULL) == NULL);
    lx_fft_destroy(NULL);
}

/* ---- features ----------------------------------------------------------- */

static void test_sine(void)
{
    uint32_t rate = 44100;
    uint64_t n = rate;
    double *x = calloc(n, sizeof *x);
    for (uint64_t i = 0; i < n; i++)
        x[i] = 0.5 * sin(2 * S_PI * 1000.0 * (double)i / rate);
    lx_arena_t arena;
    lx_arena_init(&arena, NULL);
    lx_audio_track_t *t = s_analyze(x, n, rate, &arena);
    if (t) {
        CHECK_EQ_INT(t->n_hops, 100);
        CHECK_EQ_INT(t->n_bands, 8);
        CHECK(t->hop_ms == 10.0 && t->sample_rate == rate && t->n_frames == n);
        double want = 0.5 / sqrt(2.0);
        for (uint32_t h = 20; h < 80; h++) {
            const float *b = t->bands + (size_t)h * 8;
            CHECK_MSG(fabs(b[4] - want) < 0.03 * want, "hop %u: band 4 %g, want %g", h, b[4],
                      want);
            for (int k = 0; k < 8; k++)
                if (k != 4)
                    CHECK_MSG(b[k] < 0.02 * want, "hop %u: band %d %g", h, k, b[k]);
            CHECK_MSG(fabs(t->rms[h] - want) < 0.01 * want, "hop %u: rms %g", h, t->rms[h]);
        }
        /* Between hops the sampling interpolates linearly. */
        double mid = lx_audio_sample(t, LX_AUDIO_RMS, 0, 505.0);
        CHECK(mid == (double)t->rms[50] + ((double)t->rms[51] - t->rms[50]) * 0.5);
        CHECK(lx_audio_sample(t, LX_AUDIO_BAND, 4, 990.0) == (double)t->bands[99 * 8 + 4]);
        CHECK(lx_audio_sample(t, LX_AUDIO_BAND, 4, 990.5) == 0);
        CHECK(lx_audio_sample(t, LX_AUDIO_BAND, 8, 500.0) == 0);
        CHECK(lx_audio_sample(t, LX_AUDIO_RMS, 0, -1.0) == 0);
        CHECK(lx_audio_sample(t, LX_AUDIO_RMS, 0, NAN) == 0);
        CHECK(lx_audio_sample(NULL, LX_AUDIO_RMS, 0, 10.0) == 0);
    }
    /* A sine at 150 Hz lands in band 1 (100-200 Hz). */
    for (uint64_t i = 0; i < n; i++)
        x[i] = 0.5 * sin(2 * S_PI * 150.0 * (double)i / rate);
    t = s_analyze(x, n, rate, &arena);
    if (t) {
        const float *b = t->bands + 50 * 8;
        for (int k = 0; k < 8; k++)
            if (k != 1)
                CHECK_MSG(b[k] < 0.1 * b[1], "150 Hz: band %d %g vs band 1 %g", k, b[k], b[1]);
    }
    lx_arena_release(&arena);
    free(x);
}

static void test_silence(void)
{
    uint64_t n = 24000;
    double *x = calloc(n, sizeof *x);
    lx_arena_t arena;
    lx_arena_init(&arena, NULL);
    lx_audio_track_t *t = s_analyze(x, n, 48000, &arena);
    if (t) {
        CHECK_EQ_INT(t->n_hops, 50);
        bool zero = true;
        for (uint32_t h = 0; h < t->n_hops; h++) {
            zero &= t->rms[h] == 0 && t->onset[h] == 0;
            for (int k = 0; k < 8; k++)
                zero &= t->bands[h * 8 + k] == 0;
        }
        CHECK(zero);
        CHECK(t->bpm == 0 && t->beat_offset_ms == 0);
        CHECK(lx_audio_sample(t, LX_AUDIO_BEAT_PHASE, 0, 100) == 0);
    }
    lx_error_t err = {0};
    lx_audio_track_t u;
    CHECK_EQ_INT(lx_audio_analyze(x, 0, 48000, NULL, &arena, &u, &err), LX_E_INVALID);
    CHECK_EQ_INT(lx_audio_analyze(x, n, 4000, NULL, &arena, &u, &err), LX_E_INVALID);
    lx_arena_release(&arena);
    free(x);
}

static void test_clicks(void)
{
    static const double bpms[] = {120, 90, 150};
    for (int k = 0; k < 3; k++) {
        uint64_t n;
        double *x = s_clicks(44100, 8, bpms[k], &n);
        lx_arena_t arena;
        lx_arena_init(&arena, NULL);
        lx_audio_track_t *t = s_analyze(x, n, 44100, &arena);
        if (t) {
            CHECK_MSG(fabs(t->bpm - bpms[k]) <= 1, "clicks at %g BPM: bpm %g", bpms[k], t->bpm);
            float max = 0;
            for (uint32_t h = 0; h < t->n_hops; h++)
                max = t->onset[h] > max ? t->onset[h] : max;
            CHECK(max == 1.0f);
            for (double c = 0.25; c < 7.9; c += 60.0 / bpms[k]) {
                double ph = lx_audio_sample(t, LX_AUDIO_BEAT_PHASE, 0, c * 1000);
                CHECK_MSG(s_circ(ph) < 0.08, "%g BPM: beat phase %g at the click at %g s",
                          bpms[k], ph, c);
                CHECK(ph >= 0 && ph < 1);
            }
            /* Half-way between clicks the phase is near 0.5. */
            double ph = lx_audio_sample(t, LX_AUDIO_BEAT_PHASE, 0, (0.25 + 30.0 / bpms[k]) * 1000);
            CHECK_MSG(fabs(ph - 0.5) < 0.08, "%g BPM: phase %g between clicks", bpms[k], ph);
            CHECK(lx_audio_sample(t, LX_AUDIO_BPM, 0, 123.0) == t->bpm);
            CHECK(lx_audio_sample(t, LX_AUDIO_BEAT_PHASE, 0, 9000.0) == 0); /* after the end */
        }
        lx_arena_release(&arena);
        free(x);
    }
}

/* The table of a signal made with the project's own sin (so it is the same
 * everywhere): SHA-256 of every value's bits, pinned. Any change to the
 * analysis, or a compiler or machine computing it differently, moves it. */
#define S_PINNED_TABLE "49110171b2b469b36699d932f3c7a3190d597b46d44d577b3e5ffe31459d07e5"

static void test_pinned(void)
{
    uint32_t rate = 32000;
    uint64_t n = (uint64_t)rate * 4;
    double *x = calloc(n, sizeof *x);
    for (uint64_t i = 0; i < n; i++) {
        x[i] = 0.3 * lx_sin(6.283185307179586 * 440.0 * (double)i / rate);
        uint64_t k = i % 17000; /* a click every 531.25 ms: 112.9 BPM */
        if (k < 400)
            x[i] += (1.0 - (double)k / 400.0) * lx_sin(6.283185307179586 * 2500.0 * (double)i / rate);
    }
    lx_arena_t arena;
    lx_arena_init(&arena, NULL);
    lx_audio_track_t *t = s_analyze(x, n, rate, &arena);
    if (t) {
        lx_sha256_t h;
        lx_digest_t d;
        CHECK(lx_sha256_init(&h) == LX_OK);
        lx_sha256_update(&h, t->rms, t->n_hops * sizeof *t->rms);
        lx_sha256_update(&h, t->bands, (size_t)t->n_hops * t->n_bands * sizeof *t->bands);
        lx_sha256_update(&h, t->onset, t->n_hops * sizeof *t->onset);
        lx_sha256_update(&h, &t->bpm, sizeof t->bpm);
        lx_sha256_update(&h, &t->beat_offset_ms, sizeof t->beat_offset_ms);
        CHECK(lx_sha256_final(&h, &d) == LX_OK);
        char hex[65];
        lx_hex(d.bytes, 32, hex);
        CHECK_MSG(strcmp(hex, S_PINNED_TABLE) == 0, "analysis table hash %s, pinned %s (bpm %.17g)",
                  hex, S_PINNED_TABLE, t->bpm);
        CHECK(fabs(t->bpm - 60.0 * 32000 / 17000) <= 1);
    }
    lx_arena_release(&arena);
    free(x);
}

/* ---- decoding ----------------------------------------------------------- */

static void test_decode(void)
{
    lx_audio_pcm_t pcm;
    lx_error_t err = {0};
    CHECK_EQ_INT(lx_audio_decode("", 0, NULL, &pcm, &err), LX_E_PARSE);
    CHECK_EQ_STR(err.message, "the audio file is empty");
    CHECK_EQ_INT(lx_audio_decode("this is not audio at all, only text", 35, NULL, &pcm, &err),
                 LX_E_PARSE);
    CHECK(strncmp(err.message, "not an audio file libsndfile can read", 37) == 0);
    CHECK(pcm.samples == NULL && pcm.n_frames == 0);

    /* Stereo: the average of the channels. */
    double st[2 * 1000];
    for (int i = 0; i < 1000; i++) {
        st[2 * i] = 0.5;
        st[2 * i + 1] = -0.25;
    }
    CHECK(s_write_wav(s_path("stereo.wav"), st, 1000, 2, 8000, SF_FORMAT_FLOAT));
    size_t len = 0;
    char *bytes = t_read_path(s_path("stereo.wav"), &len);
    CHECK(bytes != NULL);
    if (bytes) {
        CHECK_EQ_INT(lx_audio_decode(bytes, len, NULL, &pcm, &err), LX_OK);
        CHECK(pcm.n_frames == 1000 && pcm.channels == 2 && pcm.sample_rate == 8000);
        CHECK(pcm.samples && pcm.samples[0] == 0.125 && pcm.samples[999] == 0.125);
        lx_audio_pcm_release(&pcm);
        CHECK(pcm.samples == NULL);
        /* Truncated inside the header, and inside the data. */
        CHECK_EQ_INT(lx_audio_decode(bytes, 20, NULL, &pcm, &err), LX_E_PARSE);
        lx_result_t rc = lx_audio_decode(bytes, len - 4000, NULL, &pcm, &err);
        CHECK(rc == LX_OK || rc == LX_E_PARSE);
        if (rc == LX_OK)
            CHECK(pcm.n_frames < 1000);
        lx_audio_pcm_release(&pcm);
        free(bytes);
    }
    /* A 4 kHz file is below the rates read. */
    CHECK(s_write_wav(s_path("low.wav"), st, 1000, 1, 4000, SF_FORMAT_PCM_16));
    bytes = t_read_path(s_path("low.wav"), &len);
    if (bytes) {
        CHECK_EQ_INT(lx_audio_decode(bytes, len, NULL, &pcm, &err), LX_E_LIMIT);
        free(bytes);
    }
    /* A non-finite sample in a float file is refused. */
    st[10] = INFINITY;
    CHECK(s_write_wav(s_path("inf.wav"), st, 1000, 1, 8000, SF_FORMAT_FLOAT));
    bytes = t_read_path(s_path("inf.wav"), &len);
    if (bytes) {
        CHECK_EQ_INT(lx_audio_decode(bytes, len, NULL, &pcm, &err), LX_E_PARSE);
        CHECK(strstr(err.message, "frame 10") != NULL);
        free(bytes);
    }
}

/* ---- compiling and evaluating ------------------------------------------- */

/* A patch reading every feature: position = (rms, onset, band 2), rotation
 * x = beat phase, scale x = bpm. time is the time root's JSON. */
static char *s_patch(const char *audio_file, const char *time)
{
    static char buf[4096];
    snprintf(buf, sizeof buf,
             "{\"format\":\"lattice.patch/1\",\"id\":\"aud\",\"output\":{\"width\":64,\"height\":64,"
             "\"fps\":24},%s%s%s\"blocks\":[{\"id\":\"t\",%s},"
             "{\"id\":\"r\",\"type\":\"AudioFeature\",\"params\":{\"feature\":\"rms\"}},"
             "{\"id\":\"o\",\"type\":\"AudioFeature\",\"params\":{\"feature\":\"onset\"}},"
             "{\"id\":\"b\",\"type\":\"AudioFeature\",\"params\":{\"feature\":\"band\",\"band\":2}},"
             "{\"id\":\"m\",\"type\":\"AudioFeature\",\"params\":{\"feature\":\"bpm\"}},"
             "{\"id\":\"pos\",\"type\":\"MakeVec3\"},{\"id\":\"rot\",\"type\":\"MakeVec3\"},"
             "{\"id\":\"sc\",\"type\":\"MakeVec3\",\"inputs\":{\"y\":1,\"z\":1}},"
             "{\"id\":\"shape\",\"type\":\"Rect\"},{\"id\":\"draw\",\"type\":\"RenderInstances\"}],"
             "\"edges\":[{\"from\":\"shape.shape\",\"to\":\"draw.shape\"},"
             "{\"from\":\"r.value\",\"to\":\"pos.x\"},{\"from\":\"o.value\",\"to\":\"pos.y\"},"
             "{\"from\":\"b.value\",\"to\":\"pos.z\"},{\"from\":\"r.beat\",\"to\":\"rot.x\"},"
             "{\"from\":\"m.value\",\"to\":\"sc.x\"},{\"from\":\"pos.out\",\"to\":\"draw.position\"},"
             "{\"from\":\"rot.out\",\"to\":\"draw.rotation\"},{\"from\":\"sc.out\",\"to\":\"draw.scale\"}]}",
             audio_file ? "\"audio\":{\"file\":\"" : "", audio_file ? audio_file : "",
             audio_file ? "\"}," : "",
             time ? time : "\"type\":\"FiniteTimeRoot\",\"params\":{\"durationMs\":3000}");
    return buf;
}

static lx_result_t s_compile(const char *text, const char *base, lx_diags_t *d, lx_program_t **p)
{
    lx_compile_config_t cfg = LX_COMPILE_CONFIG_INIT;
    cfg.base_dir = base;
    lx_error_t err = {0};
    lx_diags_init(d, NULL);
    return lx_compile_ex(text, strlen(text), &cfg, NULL, d, p, &err);
}

/* beat.wav: 3 s of clicks at 120 BPM, 22.05 kHz, 16-bit. */
static void s_write_beat(const char *name, int changed_sample)
{
    uint64_t n;
    double *x = s_clicks(22050, 3, 120, &n);
    if (changed_sample >= 0)
        x[changed_sample] += 0.001;
    CHECK(s_write_wav(s_path(name), x, n, 1, 22050, SF_FORMAT_PCM_16));
    free(x);
}

static void s_check_frames(const lx_program_t *p, int64_t last)
{
    lx_error_t err = {0};
    lx_instance_t *inst = lx_instance_new(p, lx_kernels_table(), NULL, NULL, &err);
    CHECK_MSG(inst != NULL, "instance: %s", err.message);
    if (!inst)
        return;
    int bad = 0;
    for (int64_t f = 0; f <= last; f++) {
        const lx_render_frame_t *rf = NULL;
        CHECK(lx_instance_eval(inst, f, &rf) == LX_OK);
        if (!rf || rf->n_items != 1) {
            bad++;
            continue;
        }
        const lx_draw_item_t *it = &rf->items[0];
        double t = (double)f * 1000.0 / 24.0;
        const lx_audio_track_t *a = p->audio;
        bad += it->position[0] != lx_audio_sample(a, LX_AUDIO_RMS, 0, t);
        bad += it->position[1] != lx_audio_sample(a, LX_AUDIO_ONSET, 0, t);
        bad += it->position[2] != lx_audio_sample(a, LX_AUDIO_BAND, 2, t);
        bad += it->rotation[0] != lx_audio_sample(a, LX_AUDIO_BEAT_PHASE, 0, t);
        bad += it->scale[0] != a->bpm;
    }
    CHECK_MSG(bad == 0, "%d frame values differ from the table's sampling", bad);
    lx_instance_destroy(&inst);
}

static void test_compile(void)
{
    s_write_beat("beat.wav", -1);
    lx_diags_t d;
    lx_program_t *p = NULL, *q = NULL;
    CHECK_EQ_INT(s_compile(s_patch("beat.wav", NULL), s_dir, &d, &p), LX_OK);
    lx_diags_release(&d);
    if (!p)
        return;
    CHECK(p->audio && p->audio->sample_rate == 22050 && p->audio->n_frames == 66150);
    CHECK(p->audio && p->audio->n_hops == 300 && fabs(p->audio->bpm - 120) <= 1);
    CHECK_EQ_INT(p->state_horizon, 0);
    size_t len = 0;
    char *bytes = t_read_path(s_path("beat.wav"), &len);
    lx_digest_t want;
    CHECK(bytes && lx_sha256(bytes, len, &want) == LX_OK);
    CHECK(p->audio && memcmp(p->audio->sha256, want.bytes, 32) == 0);
    free(bytes);
    s_check_frames(p, 80); /* 3.33 s: past the end too */

    /* The same file compiles to the same program; an absolute path too. */
    char abs_file[600];
    snprintf(abs_file, sizeof abs_file, "%s", s_path("beat.wav"));
    CHECK_EQ_INT(s_compile(s_patch(abs_file, NULL), NULL, &d, &q), LX_OK);
    lx_diags_release(&d);
    CHECK(q && memcmp(q->program_hash.bytes, p->program_hash.bytes, 32) == 0);
    lx_program_destroy(&q);

    /* One sample changed: another program hash. */
    s_write_beat("beat2.wav", 12345);
    CHECK_EQ_INT(s_compile(s_patch("beat2.wav", NULL), s_dir, &d, &q), LX_OK);
    lx_diags_release(&d);
    CHECK(q && memcmp(q->program_hash.bytes, p->program_hash.bytes, 32) != 0);
    CHECK(q && memcmp(q->audio->sha256, p->audio->sha256, 32) != 0);
    lx_program_destroy(&q);

    /* A cyclic time root does not loop the music: frame f samples f / fps
     * (a hum growing louder, so no two cycles sound alike). */
    uint64_t nr = 22050 * 3;
    double *ramp = calloc(nr, sizeof *ramp);
    for (uint64_t i = 0; i < nr; i++)
        ramp[i] = (double)i / nr * 0.5 * sin(2 * S_PI * 300 * (double)i / 22050);
    CHECK(s_write_wav(s_path("ramp.wav"), ramp, nr, 1, 22050, SF_FORMAT_FLOAT));
    free(ramp);
    CHECK_EQ_INT(s_compile(s_patch("ramp.wav",
                                   "\"type\":\"CycleTimeRoot\",\"params\":{\"periodMs\":1000}"),
                           s_dir, &d, &q),
                 LX_OK);
    lx_diags_release(&d);
    if (q) {
        s_check_frames(q, 60);
        CHECK(lx_audio_sample(q->audio, LX_AUDIO_RMS, 0, 1250.0) !=
              lx_audio_sample(q->audio, LX_AUDIO_RMS, 0, 250.0));
    }
    lx_program_destroy(&q);
    lx_program_destroy(&p);
}

/* The first diagnostic's code and JSON location. */
static void s_expect_diag(const char *text, const char *base, const char *code,
                          const char *where)
{
    lx_diags_t d;
    lx_program_t *p = NULL;
    CHECK_EQ_INT(s_compile(text, base, &d, &p), LX_E_DIAG);
    CHECK(p == NULL);
    bool found = false;
    for (size_t i = 0; i < d.count && !found; i++) {
        const lx_diag_t *g = &d.items[i];
        found = strcmp(lx_dcode_str(g->code), code) == 0 && g->n_locs > 0 &&
                g->locs[0].a && strcmp(g->locs[0].a, where) == 0;
    }
    CHECK_MSG(found, "no %s at %s (%zu diagnostics, first: %s)", code, where, d.count,
              d.count ? d.items[0].message : "-");
    lx_diags_release(&d);
}

static void test_compile_errors(void)
{
    s_expect_diag(s_patch("missing.wav", NULL), s_dir, "AU-601", "/audio/file");
    FILE *f = fopen(s_path("garbage.wav"), "wb");
    if (f) {
        fputs("RIFF\x10\0\0\0WAVEgarbage, not a WAV at all", f);
        fclose(f);
    }
    s_expect_diag(s_patch("garbage.wav", NULL), s_dir, "AU-602", "/audio/file");
    s_expect_diag(s_patch(NULL, NULL), s_dir, "AU-603", "r");
    const char *misspelled = "{\"format\":\"lattice.patch/1\",\"id\":\"x\",\"audio\":{\"fiel\":\"a.wav\"},"
                             "\"output\":{\"width\":64,\"height\":64,\"fps\":24},"
                             "\"blocks\":[{\"id\":\"t\",\"type\":\"InfiniteTimeRoot\"}]}";
    s_expect_diag(misspelled, s_dir, "PT-004", "/audio/fiel");
    s_expect_diag(misspelled, s_dir, "PT-003", "/audio");
    const char *not_object = "{\"format\":\"lattice.patch/1\",\"id\":\"x\",\"audio\":\"a.wav\","
                             "\"output\":{\"width\":64,\"height\":64,\"fps\":24},"
                             "\"blocks\":[{\"id\":\"t\",\"type\":\"InfiniteTimeRoot\"}]}";
    s_expect_diag(not_object, s_dir, "PT-005", "/audio");
    const char *bad_band = "{\"format\":\"lattice.patch/1\",\"id\":\"x\",\"audio\":{\"file\":\"beat.wav\"},"
                           "\"output\":{\"width\":64,\"height\":64,\"fps\":24},"
                           "\"blocks\":[{\"id\":\"t\",\"type\":\"InfiniteTimeRoot\"},"
                           "{\"id\":\"a\",\"type\":\"AudioFeature\",\"params\":{\"band\":8}}]}";
    s_expect_diag(bad_band, s_dir, "PT-013", "/blocks/1/params/band");
    /* A compile for a peer (a coordinator's) reads no file, even one that
     * is there: AU-601 before any access. */
    s_write_beat("beat.wav", -1);
    lx_compile_config_t cfg = LX_COMPILE_CONFIG_INIT;
    cfg.base_dir = s_dir;
    cfg.no_files = true;
    const char *text = s_patch("beat.wav", NULL);
    lx_diags_t d;
    lx_diags_init(&d, NULL);
    lx_program_t *p = NULL;
    lx_error_t err = {0};
    CHECK_EQ_INT(lx_compile_ex(text, strlen(text), &cfg, NULL, &d, &p, &err), LX_E_DIAG);
    CHECK(p == NULL && d.count >= 1 && strcmp(lx_dcode_str(d.items[0].code), "AU-601") == 0 &&
          strstr(d.items[0].message, "reads no files"));
    lx_diags_release(&d);
}

/* ---- IR: codec, verifier ------------------------------------------------ */

static void test_ir(void)
{
    lx_diags_t d;
    lx_program_t *p = NULL;
    CHECK_EQ_INT(s_compile(s_patch("beat.wav", NULL), s_dir, &d, &p), LX_OK);
    lx_diags_release(&d);
    if (!p)
        return;
    lx_strbuf_t a, b;
    lx_strbuf_init(&a, NULL);
    lx_strbuf_init(&b, NULL);
    lx_error_t err = {0};
    CHECK_EQ_INT(lx_ir_encode(p, &a, &err), LX_OK);
    lx_program_t *q = NULL;
    CHECK_EQ_INT(lx_ir_decode(a.buf, a.len, NULL, &q, &err), LX_OK);
    if (q) {
        const lx_audio_track_t *x = p->audio, *y = q->audio;
        CHECK(y && memcmp(x->sha256, y->sha256, 32) == 0 && x->n_hops == y->n_hops &&
              x->bpm == y->bpm && x->beat_offset_ms == y->beat_offset_ms &&
              x->n_frames == y->n_frames && x->sample_rate == y->sample_rate);
        CHECK(y && memcmp(x->rms, y->rms, x->n_hops * 4) == 0 &&
              memcmp(x->onset, y->onset, x->n_hops * 4) == 0 &&
              memcmp(x->bands, y->bands, (size_t)x->n_hops * 8 * 4) == 0);
        lx_digest_t h;
        CHECK(lx_ir_hash(q, &h) == LX_OK && memcmp(h.bytes, p->program_hash.bytes, 32) == 0);
        CHECK_EQ_INT(lx_ir_encode(q, &b, &err), LX_OK);
        CHECK(a.len == b.len && memcmp(a.buf, b.buf, a.len) == 0);
        /* The JSON dump carries the table. */
        lx_strbuf_t js;
        lx_strbuf_init(&js, NULL);
        CHECK(lx_ir_to_json(q, &js) == LX_OK && strstr(js.buf, "\"bandLevels\"") &&
              strstr(js.buf, "\"beatOffsetMs\""));
        lx_strbuf_release(&js);
    }
    lx_program_destroy(&q);
    /* Every prefix is refused; every single-byte change is refused or
     * decodes to a program that hashes to what it carries. */
    int prefixes_ok = 0, changes_bad = 0;
    for (size_t cut = 0; cut < a.len; cut++) {
        lx_program_t *r = NULL;
        prefixes_ok += lx_ir_decode(a.buf, cut, NULL, &r, &err) == LX_OK;
        lx_program_destroy(&r);
    }
    CHECK_EQ_INT(prefixes_ok, 0);
    lx_strbuf_t m;
    lx_strbuf_init(&m, NULL);
    lx_strbuf_add(&m, a.buf, a.len);
    for (size_t i = 0; i < a.len; i += 3) {
        char was = m.buf[i];
        m.buf[i] = (char)(was ^ (1 << (i % 8)));
        lx_program_t *r = NULL;
        if (lx_ir_decode(m.buf, m.len, NULL, &r, &err) == LX_OK) {
            lx_digest_t h;
            changes_bad += lx_ir_hash(r, &h) != LX_OK ||
                           memcmp(h.bytes, r->program_hash.bytes, 32) != 0;
        }
        lx_program_destroy(&r);
        m.buf[i] = was;
    }
    CHECK_EQ_INT(changes_bad, 0);
    lx_strbuf_release(&m);
    /* A bin one byte short: refused before anything is read from it. The
     * hash (32 bytes + 2 header) ends the message; the onset bin is before. */
    lx_strbuf_t c;
    lx_strbuf_init(&c, NULL);
    lx_strbuf_add(&c, a.buf, a.len - 35);
    lx_strbuf_add(&c, a.buf + a.len - 34, 34);
    lx_result_t rc = lx_ir_decode(c.buf, c.len, NULL, &q, &err);
    CHECK_EQ_INT(rc, LX_E_BADMSG);
    lx_strbuf_release(&c);
    /* The verifier: values out of range, and AudioFeature without a table. */
    lx_audio_track_t *au = p->audio;
    float keep = au->onset[3];
    au->onset[3] = 1.5f;
    CHECK_EQ_INT(lx_ir_verify(p, &err), LX_E_VERIFY);
    CHECK(strstr(err.message, "onset") != NULL);
    au->onset[3] = keep;
    keep = au->rms[7];
    au->rms[7] = NAN;
    CHECK_EQ_INT(lx_ir_verify(p, &err), LX_E_VERIFY);
    au->rms[7] = keep;
    au->n_hops--;
    CHECK_EQ_INT(lx_ir_verify(p, &err), LX_E_VERIFY);
    CHECK(strstr(err.message, "hops for") != NULL);
    au->n_hops++;
    au->hop_ms = 20;
    CHECK_EQ_INT(lx_ir_verify(p, &err), LX_E_VERIFY);
    au->hop_ms = 10;
    double bpm = au->bpm;
    au->bpm = 200;
    CHECK_EQ_INT(lx_ir_verify(p, &err), LX_E_VERIFY);
    au->bpm = bpm;
    p->audio = NULL;
    CHECK_EQ_INT(lx_ir_verify(p, &err), LX_E_VERIFY);
    CHECK(strstr(err.message, "AudioFeature") != NULL);
    p->audio = au;
    CHECK_EQ_INT(lx_ir_verify(p, &err), LX_OK);
    lx_strbuf_release(&a);
    lx_strbuf_release(&b);
    lx_program_destroy(&p);
}

/* ---- NPZ ---------------------------------------------------------------- */

static void test_npz_writer(void)
{
    lx_strbuf_t out;
    lx_strbuf_init(&out, NULL);
    lx_error_t err = {0};
    lx_npz_member_t m[2] = {{"a.npy", "x", 1}, {"a.npy", "y", 1}};
    CHECK_EQ_INT(lx_npz_write(m, 2, &out, &err), LX_E_INVALID);
    CHECK_EQ_INT(lx_npz_write(m, 0, &out, &err), LX_E_INVALID);
    m[1].name = "../b.npy";
    CHECK_EQ_INT(lx_npz_write(m, 2, &out, &err), LX_E_INVALID);
    m[1].name = "";
    CHECK_EQ_INT(lx_npz_write(m, 2, &out, &err), LX_E_INVALID);
    CHECK_EQ_INT(out.len, 0);
    m[1].name = "b.npy";
    CHECK_EQ_INT(lx_npz_write(m, 2, &out, &err), LX_OK);
    /* 2 x (30 + 5 + 1) local + 2 x (46 + 5) central + 22. */
    CHECK_EQ_INT(out.len, 72 + 102 + 22);
    lx_strbuf_release(&out);
}

/* Hex floats, one a line, for the python side. */
static void s_dump(FILE *f, const char *name, const float *v, size_t n)
{
    fprintf(f, "%s %zu\n", name, n);
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%a\n", (double)v[i]);
}

static const char *s_py =
    "import struct, sys, zipfile\n"
    "npz, exp = sys.argv[1], sys.argv[2]\n"
    "z = zipfile.ZipFile(npz)\n"
    "names = [i.filename for i in z.infolist()]\n"
    "assert names == ['frame.npy','time_ms.npy','rms.npy','bands.npy','onset.npy',"
    "'beat_phase.npy','bpm.npy'], names\n"
    "assert z.testzip() is None\n"
    "for i in z.infolist():\n"
    "    assert i.compress_type == zipfile.ZIP_STORED and i.date_time == (1980,1,1,0,0,0)\n"
    "    assert i.extra == b'' and i.flag_bits == 0, i\n"
    "def npy(name):\n"
    "    b = z.read(name)\n"
    "    assert b[:8] == b'\\x93NUMPY\\x01\\x00'\n"
    "    hl = struct.unpack('<H', b[8:10])[0]\n"
    "    assert (10 + hl) % 64 == 0\n"
    "    h = eval(b[10:10+hl].decode('latin1'))\n"
    "    assert h['fortran_order'] is False\n"
    "    return h['descr'], h['shape'], b[10+hl:]\n"
    "want = {}\n"
    "lines = open(exp).read().split('\\n')\n"
    "i = 0\n"
    "while i < len(lines) and lines[i]:\n"
    "    name, n = lines[i].split(); n = int(n)\n"
    "    want[name] = [float.fromhex(x) for x in lines[i+1:i+1+n]]\n"
    "    i += 1 + n\n"
    "N = len(want['rms'])\n"
    "d, s, data = npy('frame.npy'); assert d == '<i8' and s == (N,)\n"
    "frames = struct.unpack('<%dq' % N, data)\n"
    "assert list(frames) == list(range(int(want['first'][0]), int(want['first'][0]) + N))\n"
    "d, s, data = npy('time_ms.npy'); assert d == '<f8' and s == (N,)\n"
    "assert list(struct.unpack('<%dd' % N, data)) == [f * 1000 / 24 for f in frames]\n"
    "for key, fname, shape in [('rms','rms.npy',(N,)),('onset','onset.npy',(N,)),"
    "('beat','beat_phase.npy',(N,)),('bands','bands.npy',(N,8))]:\n"
    "    d, s, data = npy(fname)\n"
    "    assert d == '<f4' and s == shape, (fname, d, s)\n"
    "    got = struct.unpack('<%df' % (len(data) // 4), data)\n"
    "    assert list(got) == want[key], fname\n"
    "d, s, data = npy('bpm.npy'); assert d == '<f8' and s == ()\n"
    "assert struct.unpack('<d', data)[0] == want['bpm'][0]\n"
    "print('npz ok')\n";

static void test_features_npz(void)
{
    lx_diags_t d;
    lx_program_t *p = NULL;
    CHECK_EQ_INT(s_compile(s_patch("beat.wav", NULL), s_dir, &d, &p), LX_OK);
    lx_diags_release(&d);
    if (!p)
        return;
    int64_t first = 5, last = 79; /* past the audio's end (3 s = frame 72) too */
    lx_strbuf_t a, b;
    lx_strbuf_init(&a, NULL);
    lx_strbuf_init(&b, NULL);
    lx_error_t err = {0};
    CHECK_EQ_INT(lx_audio_features_npz(p, first, last, 24, &a, &err), LX_OK);
    CHECK_EQ_INT(lx_audio_features_npz(p, first, last, 24, &b, &err), LX_OK);
    CHECK(a.len > 0 && a.len == b.len && memcmp(a.buf, b.buf, a.len) == 0);
    CHECK_EQ_INT(lx_audio_features_npz(p, first, last, 0, &b, &err), LX_E_INVALID);
    CHECK_EQ_INT(lx_audio_features_npz(p, 10, 9, 24, &b, &err), LX_E_INVALID);
    CHECK_EQ_INT(lx_audio_features_npz(p, -1, 9, 24, &b, &err), LX_E_INVALID);

    /* The expected values, from the block's sampling function. */
    size_t n = (size_t)(last - first + 1);
    float *rms = calloc(n, 4), *onset = calloc(n, 4), *beat = calloc(n, 4),
          *bands = calloc(n * 8, 4);
    for (size_t i = 0; i < n; i++) {
        double t = lx_audio_frame_ms(first + (int64_t)i, 24);
        rms[i] = (float)lx_audio_sample(p->audio, LX_AUDIO_RMS, 0, t);
        onset[i] = (float)lx_audio_sample(p->audio, LX_AUDIO_ONSET, 0, t);
        beat[i] = (float)lx_audio_sample(p->audio, LX_AUDIO_BEAT_PHASE, 0, t);
        for (uint32_t k = 0; k < 8; k++)
            bands[i * 8 + k] = (float)lx_audio_sample(p->audio, LX_AUDIO_BAND, k, t);
    }
    CHECK(rms[n - 1] == 0 && beat[n - 1] == 0); /* after the end */
    FILE *f = fopen(s_path("features.npz"), "wb");
    CHECK(f && fwrite(a.buf, 1, a.len, f) == a.len);
    if (f)
        fclose(f);
    f = fopen(s_path("expected.txt"), "w");
    CHECK(f != NULL);
    if (f) {
        float fl = (float)first;
        s_dump(f, "first", &fl, 1);
        s_dump(f, "rms", rms, n);
        s_dump(f, "onset", onset, n);
        s_dump(f, "beat", beat, n);
        s_dump(f, "bands", bands, n * 8);
        fprintf(f, "bpm 1\n%a\n", p->audio->bpm);
        fclose(f);
    }
    f = fopen(s_path("check.py"), "w");
    if (f) {
        fputs(s_py, f);
        fclose(f);
    }
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "python3 '%s' '%s' '%s'", s_path("check.py"),
             s_path("features.npz"), s_path("expected.txt"));
    CHECK_MSG(system(cmd) == 0, "python3 could not read the NPZ back: %s", cmd);
    free(rms), free(onset), free(beat), free(bands);

    /* A program without audio has no features to export. */
    lx_program_t *q = NULL;
    const char *plain = "{\"format\":\"lattice.patch/1\",\"id\":\"x\",\"output\":{\"width\":64,"
                        "\"height\":64,\"fps\":24},\"blocks\":[{\"id\":\"t\",\"type\":"
                        "\"InfiniteTimeRoot\"},{\"id\":\"s\",\"type\":\"Rect\"},{\"id\":\"d\","
                        "\"type\":\"RenderInstances\"}],\"edges\":[{\"from\":\"s.shape\",\"to\":"
                        "\"d.shape\"}]}";
    CHECK_EQ_INT(s_compile(plain, NULL, &d, &q), LX_OK);
    lx_diags_release(&d);
    CHECK(q && q->audio == NULL);
    if (q)
        CHECK_EQ_INT(lx_audio_features_npz(q, 0, 9, 24, &b, &err), LX_E_INVALID);
    lx_program_destroy(&q);
    lx_strbuf_release(&a);
    lx_strbuf_release(&b);
    lx_program_destroy(&p);
}

/* ---- the example -------------------------------------------------------- */

/* audio-pulse.wav as examples/README.md makes it: 8 s at 44.1 kHz, 16-bit
 * mono, a 110 Hz hum at 0.2 and a click every 0.5 s from 0.25 s. */
static void test_example(void)
{
    uint32_t rate = 44100;
    uint64_t n = (uint64_t)rate * 8;
    double *x = calloc(n, sizeof *x);
    for (uint64_t i = 0; i < n; i++) {
        double t = (double)i / rate;
        x[i] = 0.2 * sin(2 * S_PI * 110 * t);
        if (t >= 0.25) {
            double ph = t - 0.25 - 0.5 * floor((t - 0.25) / 0.5);
            if (ph < 0.06)
                x[i] += 0.8 * exp(-ph * 60) * sin(2 * S_PI * 2000 * t);
        }
    }
    CHECK(s_write_wav(s_path("audio-pulse.wav"), x, n, 1, (int)rate, SF_FORMAT_PCM_16));
    free(x);
    size_t len = 0;
    char *text = t_read("examples/audio/audio-pulse.patch.json", &len);
    CHECK(text != NULL);
    if (!text)
        return;
    lx_diags_t d;
    lx_program_t *p = NULL;
    CHECK_EQ_INT(s_compile(text, s_dir, &d, &p), LX_OK);
    CHECK_MSG(d.count == 0, "%zu diagnostics: %s", d.count, d.count ? d.items[0].message : "");
    lx_diags_release(&d);
    free(text);
    if (!p)
        return;
    CHECK(fabs(p->audio->bpm - 120) <= 1);
    lx_error_t err = {0};
    lx_instance_t *inst = lx_instance_new(p, lx_kernels_table(), NULL, NULL, &err);
    CHECK(inst != NULL);
    for (int64_t f = 0; inst && f < 192; f++) {
        const lx_render_frame_t *rf = NULL;
        CHECK(lx_instance_eval(inst, f, &rf) == LX_OK && rf && rf->n_items == 12);
    }
    lx_instance_destroy(&inst);
    lx_program_destroy(&p);
}

int main(void)
{
    if (!t_scratch_dir(s_dir, "audio"))
        TEST_MAIN_END();
    test_fft();
    test_sine();
    test_silence();
    test_clicks();
    test_pinned();
    test_decode();
    test_compile();
    test_compile_errors();
    test_ir();
    test_npz_writer();
    test_features_npz();
    test_example();
    t_scratch_dir_remove(s_dir);
    TEST_MAIN_END();
}
