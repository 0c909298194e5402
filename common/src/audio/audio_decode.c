/* Audio bytes -> mono doubles through libsndfile's virtual I/O, so the
 * decoder reads only the bytes it is given (the compiler hashed exactly
 * those) and a fuzz target can drive it. */
#include <math.h>
#include <sndfile.h>
#include <stdbool.h>
#include <string.h>

#include "lattice/audio.h"

typedef struct {
    const unsigned char *data;
    sf_count_t len, pos;
} mem_t;

static sf_count_t s_len(void *user)
{
    return ((mem_t *)user)->len;
}

static sf_count_t s_seek(sf_count_t offset, int whence, void *user)
{
    mem_t *m = user;
    sf_count_t base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? m->pos : m->len;
    /* Positions stay within [0, len]; a seek past either end is refused. */
    if ((offset < 0 && -offset > base) || (offset > 0 && offset > m->len - base))
        return -1;
    m->pos = base + offset;
    return m->pos;
}

static sf_count_t s_read(void *ptr, sf_count_t count, void *user)
{
    mem_t *m = user;
    if (count <= 0)
        return 0;
    sf_count_t left = m->len - m->pos;
    if (count > left)
        count = left;
    memcpy(ptr, m->data + m->pos, (size_t)count);
    m->pos += count;
    return count;
}

static sf_count_t s_write(const void *ptr, sf_count_t count, void *user)
{
    (void)ptr;
    (void)count;
    (void)user;
    return 0; /* read-only */
}

static sf_count_t s_tell(void *user)
{
    return ((mem_t *)user)->pos;
}

void lx_audio_pcm_release(lx_audio_pcm_t *pcm)
{
    if (!pcm)
        return;
    if (pcm->samples)
        lx_free(pcm->alloc, pcm->samples);
    memset(pcm, 0, sizeof *pcm);
}

/* Grows out->samples to hold at least `need` frames (doubling, at most
 * `want`). The header's frame count is not trusted for the allocation:
 * memory follows the frames actually decoded. */
static bool s_grow(lx_audio_pcm_t *out, uint64_t *cap, uint64_t need, uint64_t want)
{
    if (need <= *cap)
        return true;
    uint64_t c = *cap ? *cap : 65536;
    while (c < need)
        c *= 2;
    if (c > want)
        c = want;
    double *bigger = lx_calloc(out->alloc, (size_t)c, sizeof *bigger);
    if (!bigger)
        return false;
    if (out->samples) {
        memcpy(bigger, out->samples, (size_t)out->n_frames * sizeof *bigger);
        lx_free(out->alloc, out->samples);
    }
    out->samples = bigger;
    *cap = c;
    return true;
}

/* Reads every frame, averaging channels; sf is open. */
static lx_result_t s_read_all(SNDFILE *sf, const SF_INFO *info, lx_audio_pcm_t *out,
                              lx_error_t *err)
{
    enum { CHUNK = 1024 };
    uint32_t ch = (uint32_t)info->channels;
    double *buf = lx_calloc(out->alloc, (size_t)CHUNK * ch, sizeof *buf);
    if (!buf)
        return lx_fail(err, LX_E_NOMEM, "out of memory decoding audio");
    uint64_t want = (uint64_t)info->frames, cap = 0;
    lx_result_t rc = LX_OK;
    out->n_frames = 0;
    while (out->n_frames < want && rc == LX_OK) {
        uint64_t n = out->n_frames;
        sf_count_t ask = (sf_count_t)(want - n < CHUNK ? want - n : CHUNK);
        sf_count_t got = sf_readf_double(sf, buf, ask);
        if (got <= 0)
            break;
        if (!s_grow(out, &cap, n + (uint64_t)got, want)) {
            rc = lx_fail(err, LX_E_NOMEM, "out of memory decoding %llu audio frames",
                         (unsigned long long)(n + (uint64_t)got));
            break;
        }
        for (sf_count_t i = 0; i < got && rc == LX_OK; i++) {
            double sum = 0;
            for (uint32_t c = 0; c < ch; c++) {
                double v = buf[(size_t)i * ch + c];
                if (!isfinite(v) || fabs(v) > LX_AUDIO_MAX_ABS_SAMPLE)
                    rc = lx_fail(err, LX_E_PARSE,
                                 "audio sample at frame %llu, channel %u is %g (want a finite "
                                 "value within +-%g)",
                                 (unsigned long long)(n + (uint64_t)i), c, v,
                                 LX_AUDIO_MAX_ABS_SAMPLE);
                sum += v;
            }
            out->samples[n + (uint64_t)i] = sum / (double)ch;
        }
        out->n_frames = n + (uint64_t)got;
    }
    lx_free(out->alloc, buf);
    if (rc != LX_OK)
        return rc;
    if (out->n_frames == 0)
        return lx_fail(err, LX_E_PARSE, "the audio file holds no samples");
    return LX_OK;
}

lx_result_t lx_audio_decode(const void *bytes, size_t len, const lx_alloc_t *alloc,
                            lx_audio_pcm_t *out, lx_error_t *err)
{
    if (!out)
        return lx_fail(err, LX_E_INVALID, "no output for the decoded audio");
    memset(out, 0, sizeof *out);
    out->alloc = alloc ? alloc : lx_alloc_default();
    if (!bytes || len == 0)
        return lx_fail(err, LX_E_PARSE, "the audio file is empty");
    if (len > LX_AUDIO_MAX_FILE_BYTES)
        return lx_fail(err, LX_E_LIMIT, "the audio file has %zu bytes, more than %zu", len,
                       LX_AUDIO_MAX_FILE_BYTES);
    mem_t m = {bytes, (sf_count_t)len, 0};
    SF_VIRTUAL_IO vio = {s_len, s_seek, s_read, s_write, s_tell};
    SF_INFO info;
    memset(&info, 0, sizeof info);
    SNDFILE *sf = sf_open_virtual(&vio, SFM_READ, &info, &m);
    /* libsndfile keeps the error of a failed open in a process-wide
     * variable: another thread's failure may name its reason instead, but
     * the code returned is this call's. */
    if (!sf)
        return lx_fail(err, LX_E_PARSE, "not an audio file libsndfile can read (%s)",
                       sf_error_number(sf_error(NULL)));
    lx_result_t rc = LX_OK;
    if (info.channels < 1 || (uint32_t)info.channels > LX_AUDIO_MAX_CHANNELS)
        rc = lx_fail(err, LX_E_LIMIT, "the audio file has %d channels (1 to %u are read)",
                     info.channels, LX_AUDIO_MAX_CHANNELS);
    else if (info.samplerate < (int)LX_AUDIO_MIN_RATE || info.samplerate > (int)LX_AUDIO_MAX_RATE)
        rc = lx_fail(err, LX_E_LIMIT, "the audio sample rate is %d Hz (%u to %u are read)",
                     info.samplerate, LX_AUDIO_MIN_RATE, LX_AUDIO_MAX_RATE);
    else if (info.frames <= 0)
        rc = lx_fail(err, LX_E_PARSE, "the audio file holds no samples");
    else if ((uint64_t)info.frames > LX_AUDIO_MAX_FRAMES)
        rc = lx_fail(err, LX_E_LIMIT, "the audio file has %lld sample frames, more than %llu",
                     (long long)info.frames, (unsigned long long)LX_AUDIO_MAX_FRAMES);
    if (rc == LX_OK) {
        out->sample_rate = (uint32_t)info.samplerate;
        out->channels = (uint32_t)info.channels;
        rc = s_read_all(sf, &info, out, err);
    }
    sf_close(sf);
    if (rc != LX_OK)
        lx_audio_pcm_release(out);
    return rc;
}
