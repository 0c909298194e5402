/* EXR encoder and decoder on OpenEXRCore's C API, in memory.
 *
 * Files are single-part scanline images whose header is always "type"
 * (created by exr_add_part) followed by the required attributes in sorted
 * order: channels, compression, dataWindow, displayWindow, lineOrder,
 * pixelAspectRatio, screenWindowCenter, screenWindowWidth. Nothing time- or
 * host-dependent. HALF samples are converted here (round to nearest even) rather than by
 * the library, so the rounding is ours, tested, and the same on every
 * worker.
 *
 * NONE, ZIPS and ZIP chunks are packed, compressed (libdeflate) and
 * written here; RLE and PIZ go through the library's pipeline with our
 * packing. Two OpenEXRCore 3.1 defects are worked around (see
 * s_exr_compress and s_exr_pack_fn): a chunk that compresses to exactly
 * its raw size is written compressed but read as raw, and the 4-channel
 * half->float unpacker reverses the channel order. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <libdeflate.h>
#include <openexr.h>

#include "lattice/encode.h"

/* DEFLATE level for ZIP/ZIPS chunks on libdeflate's scale (its default).
 * Measured in docs/performance.md: against zlib level 4, used before, it
 * takes 35% less time for files 2-18% smaller. */
#define S_EXR_ZIP_LEVEL 6

/* Decoder limits: per-dimension and total decoded bytes, and the same
 * expansion bound as the PNG decoder (none, rle, zips, zip and piz cannot
 * expand a chunk much beyond 1032:1), checked before the pixel buffer is
 * allocated. */
#define S_EXR_MAX_DIM 65536
#define S_EXR_MAX_RATIO 1100u
#define S_EXR_MAX_BYTES ((uint64_t)1 << 30)

#define S_NAME_MAX 31 /* EXR's short-name limit; lx_decoded_t holds 32 bytes */

int lx_exr_compression_parse(const char *name)
{
    static const char *const names[] = {"none", "rle", "zips", "zip", "piz"};
    static const lx_exr_compression_t values[] = {LX_EXR_NONE, LX_EXR_RLE, LX_EXR_ZIPS, LX_EXR_ZIP,
                                                  LX_EXR_PIZ};
    if (!name)
        return -1;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(name, names[i]) == 0)
            return (int)values[i];
    return -1;
}

static exr_compression_t s_exr_ctype(lx_exr_compression_t c)
{
    switch (c) {
    case LX_EXR_NONE:
        return EXR_COMPRESSION_NONE;
    case LX_EXR_RLE:
        return EXR_COMPRESSION_RLE;
    case LX_EXR_ZIPS:
        return EXR_COMPRESSION_ZIPS;
    case LX_EXR_ZIP:
        return EXR_COMPRESSION_ZIP;
    case LX_EXR_PIZ:
        return EXR_COMPRESSION_PIZ;
    }
    return EXR_COMPRESSION_LAST_TYPE;
}

/* IEEE binary32 -> binary16, round to nearest, ties to even. Overflow goes
 * to infinity; NaNs stay NaN with their top payload bits (quiet bit forced
 * only when the kept payload would be zero), so every half survives a
 * half -> float -> half trip bit for bit. */
static uint16_t s_half_from_float(float f)
{
    uint32_t x;
    memcpy(&x, &f, sizeof x);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000u);
    uint32_t ax = x & 0x7fffffffu;
    if (ax >= 0x7f800000u) {
        if (ax == 0x7f800000u)
            return sign | 0x7c00u;
        uint16_t payload = (uint16_t)((ax >> 13) & 0x3ffu);
        return (uint16_t)(sign | 0x7c00u | (payload ? payload : 0x200u));
    }
    if (ax >= 0x477ff000u) /* >= 65520: halfway above 65504 rounds to inf */
        return sign | 0x7c00u;
    if (ax >= 0x38800000u) { /* normal half: rebias the exponent, round 13 bits */
        uint32_t r = ax - 0x38000000u;
        uint32_t h = r >> 13, rem = r & 0x1fffu;
        if (rem > 0x1000u || (rem == 0x1000u && (h & 1u)))
            h++;
        return (uint16_t)(sign | h);
    }
    if (ax < 0x33000000u) /* <= 2^-25 (the tie rounds to even zero) */
        return sign;
    /* Subnormal half: the value in units of 2^-24. */
    uint32_t e = ax >> 23, m = (ax & 0x7fffffu) | 0x800000u;
    uint32_t shift = 126u - e; /* 14..24 */
    uint32_t h = m >> shift, rem = m & ((1u << shift) - 1u), half = 1u << (shift - 1u);
    if (rem > half || (rem == half && (h & 1u)))
        h++;
    return (uint16_t)(sign | h);
}

/* binary16 -> binary32, exact; NaN payloads kept. */
static float s_float_from_half(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t e = (h >> 10) & 0x1fu, m = h & 0x3ffu, x;
    if (e == 0x1f) {
        x = sign | 0x7f800000u | (m << 13);
    } else if (e != 0) {
        x = sign | ((e + 112u) << 23) | (m << 13);
    } else if (m == 0) {
        x = sign;
    } else {
        /* Subnormal half: normalize into a float exponent. */
        uint32_t shift = 0;
        while (!(m & 0x400u)) {
            m <<= 1;
            shift++;
        }
        x = sign | ((113u - shift) << 23) | ((m & 0x3ffu) << 13);
    }
    float f;
    memcpy(&f, &x, sizeof f);
    return f;
}

/* ---- shared: error capture -------------------------------------------- */

typedef struct s_exr_io {
    /* write side */
    lx_strbuf_t *out;
    size_t base;
    /* read side */
    const uint8_t *bytes;
    size_t len;
    char msg[256];
} s_exr_io_t;

/* Read contexts only: in a write context the library reports errors while
 * holding the context's mutex, and exr_get_user_data() takes that mutex
 * again (a deadlock). Writers use s_exr_quiet and record their own I/O
 * failures in s_exr_write. */
static void s_exr_error(exr_const_context_t ctxt, exr_result_t code, const char *msg)
{
    void *ud = NULL;
    if (exr_get_user_data(ctxt, &ud) != EXR_ERR_SUCCESS || !ud)
        return;
    s_exr_io_t *io = ud;
    snprintf(io->msg, sizeof io->msg, "%s (%s)", msg ? msg : "error",
             exr_get_error_code_as_string(code));
}

/* Keeps the library from printing to stderr; common/ does not print. */
static void s_exr_quiet(exr_const_context_t ctxt, exr_result_t code, const char *msg)
{
    (void)ctxt;
    (void)code;
    (void)msg;
}

static const char *s_exr_msg(s_exr_io_t *io, exr_result_t rv)
{
    if (!io->msg[0])
        snprintf(io->msg, sizeof io->msg, "%s", exr_get_default_error_message(rv));
    return io->msg;
}

/* ---- encoder ----------------------------------------------------------- */

/* pwrite() into the output buffer: the library writes the header, then the
 * chunks, then seeks back to fill in the offset table at exr_finish(). A
 * gap (never expected) is filled with zeros so the bytes stay defined. */
static int64_t s_exr_write(exr_const_context_t ctxt, void *ud, const void *buffer, uint64_t sz,
                           uint64_t offset, exr_stream_error_func_ptr_t error_cb)
{
    static const uint8_t zeros[256];
    s_exr_io_t *io = ud;
    lx_strbuf_t *out = io->out;
    if (offset > SIZE_MAX - io->base || sz > SIZE_MAX - io->base - offset) {
        snprintf(io->msg, sizeof io->msg, "write beyond addressable memory");
        error_cb(ctxt, EXR_ERR_WRITE_IO, "%s", io->msg);
        return -1;
    }
    size_t pos = io->base + (size_t)offset;
    while (out->len < pos && !out->failed) {
        size_t n = pos - out->len < sizeof zeros ? pos - out->len : sizeof zeros;
        lx_strbuf_add(out, zeros, n);
    }
    if (out->failed) {
        snprintf(io->msg, sizeof io->msg, "out of memory");
        error_cb(ctxt, EXR_ERR_OUT_OF_MEMORY, "%s", io->msg);
        return -1;
    }
    size_t overlap = out->len - pos < sz ? out->len - pos : (size_t)sz;
    memcpy(out->buf + pos, buffer, overlap);
    lx_strbuf_add(out, (const uint8_t *)buffer + overlap, (size_t)sz - overlap);
    if (out->failed) {
        snprintf(io->msg, sizeof io->msg, "out of memory");
        error_cb(ctxt, EXR_ERR_OUT_OF_MEMORY, "%s", io->msg);
        return -1;
    }
    return (int64_t)sz;
}

static lx_result_t s_exr_check(const lx_image_t *img, lx_exr_compression_t c, lx_error_t *err)
{
    if (!img || !img->data)
        return lx_fail(err, LX_E_INVALID, "exr: no image data");
    if (img->width == 0 || img->height == 0)
        return lx_fail(err, LX_E_INVALID, "exr: empty image %ux%u", img->width, img->height);
    if (img->width > INT32_MAX || img->height > INT32_MAX)
        return lx_fail(err, LX_E_INVALID, "exr: image %ux%u exceeds the format's limit", img->width,
                       img->height);
    if (img->type != LX_PIX_HALF && img->type != LX_PIX_F32)
        return lx_fail(err, LX_E_INVALID, "exr: integer samples are not written (use HALF or F32)");
    if (img->channels < 1 || img->channels > LX_IMAGE_MAX_CHANNELS)
        return lx_fail(err, LX_E_INVALID, "exr: %u channels (want 1..%d)", img->channels,
                       LX_IMAGE_MAX_CHANNELS);
    if (s_exr_ctype(c) == EXR_COMPRESSION_LAST_TYPE)
        return lx_fail(err, LX_E_INVALID, "exr: unknown compression %d", (int)c);
    for (uint32_t i = 0; i < img->channels; i++) {
        const char *n = img->names[i];
        if (!n || !n[0])
            return lx_fail(err, LX_E_INVALID, "exr: channel %u has no name", i);
        if (strlen(n) > S_NAME_MAX)
            return lx_fail(err, LX_E_INVALID, "exr: channel name '%.40s' longer than %d bytes", n,
                           S_NAME_MAX);
        for (uint32_t j = 0; j < i; j++)
            if (strcmp(n, img->names[j]) == 0)
                return lx_fail(err, LX_E_INVALID, "exr: channel name '%s' given twice", n);
    }
    return LX_OK;
}

/* A reusable encoder: the DEFLATE compressor and one chunk's buffers, kept
 * between files so that encoding a frame allocates nothing once the first
 * one has sized them (OpenEXRCore still allocates its context per file). */
struct lx_exr_encoder {
    const lx_alloc_t *alloc;
    struct libdeflate_compressor *deflate;
    uint8_t *packed;  /* one chunk in the file's layout */
    uint8_t *scratch; /* the ZIP predictor's reordering of it */
    uint8_t *zipped;  /* its DEFLATE stream */
    size_t cap;       /* bytes each of the three holds */
};

lx_exr_encoder_t *lx_exr_encoder_new(const lx_alloc_t *alloc, lx_error_t *err)
{
    alloc = alloc ? alloc : lx_alloc_default();
    lx_exr_encoder_t *e = lx_calloc(alloc, 1, sizeof *e);
    if (!e) {
        lx_fail(err, LX_E_NOMEM, "exr: out of memory");
        return NULL;
    }
    e->alloc = alloc;
    return e;
}

void lx_exr_encoder_destroy(lx_exr_encoder_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    lx_exr_encoder_t *e = *self_p;
    libdeflate_free_compressor(e->deflate);
    lx_free(e->alloc, e->packed);
    lx_free(e->alloc, e->scratch);
    lx_free(e->alloc, e->zipped);
    lx_free(e->alloc, e);
    *self_p = NULL;
}

static bool s_exr_reserve(lx_exr_encoder_t *e, size_t bytes)
{
    if (bytes <= e->cap)
        return true;
    lx_free(e->alloc, e->packed);
    lx_free(e->alloc, e->scratch);
    lx_free(e->alloc, e->zipped);
    e->packed = lx_malloc(e->alloc, bytes);
    e->scratch = lx_malloc(e->alloc, bytes);
    e->zipped = lx_malloc(e->alloc, bytes);
    e->cap = e->packed && e->scratch && e->zipped ? bytes : 0;
    return e->cap != 0;
}

typedef struct s_exr_enc {
    lx_exr_encoder_t *e;
    const lx_image_t *img;
    exr_context_t ctxt;
    exr_encode_pipeline_t pipe;
    bool pipe_live;
    exr_result_t (*default_compress)(exr_encode_pipeline_t *pipe);
    uint32_t slot[LX_IMAGE_MAX_CHANNELS]; /* file channel k comes from input slot[k] */
    s_exr_io_t io;
} s_exr_enc_t;

/* Lines y0 .. y0 + h - 1 in the file's layout: line by line, each line
 * channel by channel in the file's (sorted) order, little-endian samples,
 * HALF rounded here (see s_half_from_float). */
static size_t s_exr_pack(const s_exr_enc_t *st, int32_t y0, int32_t h, uint8_t *dst)
{
    const lx_image_t *img = st->img;
    const uint32_t w = img->width, nc = img->channels;
    const bool half = img->type == LX_PIX_HALF;
    uint8_t *o = dst;
    for (int32_t y = y0; y < y0 + h; y++) {
        const float *line = (const float *)img->data + (size_t)y * w * nc;
        for (uint32_t k = 0; k < nc; k++) {
            const float *src = line + st->slot[k];
            if (half) {
                for (uint32_t x = 0; x < w; x++, o += 2) {
                    uint16_t v = s_half_from_float(src[(size_t)x * nc]);
                    memcpy(o, &v, 2);
                }
            } else {
                for (uint32_t x = 0; x < w; x++, o += 4)
                    memcpy(o, &src[(size_t)x * nc], 4);
            }
        }
    }
    return (size_t)(o - dst);
}

/* ZIP and ZIPS chunks: the format's byte split (even bytes, then odd) and
 * delta predictor, then a zlib stream from libdeflate (OpenEXR itself
 * compresses with libdeflate from 3.2 on; 3.1 here would use zlib, at
 * about twice the time). A chunk that does not come out strictly smaller
 * is stored raw, as the format requires: readers take a chunk of the raw
 * size to be raw. Returns the bytes to write. */
static const uint8_t *s_exr_zip(lx_exr_encoder_t *e, size_t n, size_t *out_n)
{
    /* Split and predictor in one pass: t[k] - t[k - 1] + 128 over
     * t = raw[0], raw[2], ..., raw[1], raw[3], ... (loops the compiler
     * vectorizes). */
    const uint8_t *raw = e->packed;
    uint8_t *o = e->scratch;
    const size_t h = (n + 1) / 2; /* the even-index bytes */
    o[0] = raw[0];
    for (size_t k = 1; k < h; k++)
        o[k] = (uint8_t)(raw[2 * k] - raw[2 * k - 2] + 128);
    if (n > 1)
        o[h] = (uint8_t)(raw[1] - raw[2 * h - 2] + 128);
    for (size_t k = 1; k < n / 2; k++)
        o[h + k] = (uint8_t)(raw[2 * k + 1] - raw[2 * k - 1] + 128);
    size_t z = n > 1 ? libdeflate_zlib_compress(e->deflate, e->scratch, n, e->zipped, n - 1) : 0;
    *out_n = z ? z : n;
    return z ? e->zipped : e->packed;
}

/* NONE, ZIPS and ZIP: every chunk packed, compressed and written here. */
static exr_result_t s_exr_write_chunks(s_exr_enc_t *st, int part, exr_compression_t ctype,
                                       int32_t lpc)
{
    const lx_image_t *img = st->img;
    const size_t bpp = (size_t)img->channels * (img->type == LX_PIX_HALF ? 2 : 4);
    if (!s_exr_reserve(st->e, (size_t)img->width * (size_t)lpc * bpp))
        return EXR_ERR_OUT_OF_MEMORY;
    if (ctype != EXR_COMPRESSION_NONE && !st->e->deflate) {
        st->e->deflate = libdeflate_alloc_compressor(S_EXR_ZIP_LEVEL);
        if (!st->e->deflate)
            return EXR_ERR_OUT_OF_MEMORY;
    }
    for (int32_t y = 0; y < (int32_t)img->height; y += lpc) {
        int32_t h = (int32_t)img->height - y < lpc ? (int32_t)img->height - y : lpc;
        size_t n = s_exr_pack(st, y, h, st->e->packed);
        const uint8_t *data = st->e->packed;
        if (ctype != EXR_COMPRESSION_NONE)
            data = s_exr_zip(st->e, n, &n);
        exr_result_t rv = exr_write_scanline_chunk(st->ctxt, part, y, data, n);
        if (rv != EXR_ERR_SUCCESS)
            return rv;
    }
    return EXR_ERR_SUCCESS;
}

/* RLE and PIZ go through the library's pipeline, packed by s_exr_pack
 * (its own conversions are bypassed: 3.1's 4-channel half->float
 * unpacker, for one, writes the channels in reverse order). */
static exr_result_t s_exr_pack_fn(exr_encode_pipeline_t *pipe)
{
    s_exr_enc_t *st = pipe->encoding_user_data;
    pipe->packed_bytes =
        s_exr_pack(st, pipe->chunk.start_y, pipe->chunk.height, pipe->packed_buffer);
    return EXR_ERR_SUCCESS;
}

/* Wraps the library's compressor. OpenEXRCore 3.1 stores raw data only
 * when the compressed chunk is strictly larger; a chunk that compresses to
 * exactly its raw size is written compressed, and readers (the library's
 * own included) take equal sizes to mean raw. Storing raw in that case
 * too gives the file every reader decodes. */
static exr_result_t s_exr_compress(exr_encode_pipeline_t *pipe)
{
    s_exr_enc_t *st = pipe->encoding_user_data;
    exr_result_t rv = st->default_compress(pipe);
    if (rv != EXR_ERR_SUCCESS || pipe->compressed_bytes < pipe->packed_bytes)
        return rv;
    if (pipe->compressed_buffer != pipe->packed_buffer) {
        if (pipe->compressed_alloc_size < pipe->packed_bytes)
            return EXR_ERR_OUT_OF_MEMORY;
        memcpy(pipe->compressed_buffer, pipe->packed_buffer, pipe->packed_bytes);
    }
    pipe->compressed_bytes = pipe->packed_bytes;
    return EXR_ERR_SUCCESS;
}

static exr_result_t s_exr_pipeline_chunks(s_exr_enc_t *st, int part, int32_t lpc)
{
    const lx_image_t *img = st->img;
    exr_result_t rv = EXR_ERR_SUCCESS;
    const int16_t bpe = img->type == LX_PIX_HALF ? 2 : 4;
    for (int32_t y = 0; rv == EXR_ERR_SUCCESS && y < (int32_t)img->height; y += lpc) {
        exr_chunk_info_t cinfo;
        rv = exr_write_scanline_chunk_info(st->ctxt, part, y, &cinfo);
        if (rv != EXR_ERR_SUCCESS)
            return rv;
        if (!st->pipe_live) {
            rv = exr_encoding_initialize(st->ctxt, part, &cinfo, &st->pipe);
            st->pipe_live = rv == EXR_ERR_SUCCESS;
        } else {
            rv = exr_encoding_update(st->ctxt, part, &cinfo, &st->pipe);
        }
        if (rv != EXR_ERR_SUCCESS)
            return rv;
        if (st->pipe.channel_count != (int16_t)img->channels)
            return EXR_ERR_INVALID_ARGUMENT;
        /* Checked by the library although s_exr_pack_fn reads the image. */
        for (int16_t k = 0; k < st->pipe.channel_count; k++) {
            exr_coding_channel_info_t *ch = &st->pipe.channels[k];
            ch->user_bytes_per_element = bpe;
            ch->user_data_type = (uint16_t)(bpe == 2 ? EXR_PIXEL_HALF : EXR_PIXEL_FLOAT);
            ch->encode_from_ptr = img->data;
        }
        rv = exr_encoding_choose_default_routines(st->ctxt, part, &st->pipe);
        if (rv != EXR_ERR_SUCCESS)
            return rv;
        st->pipe.convert_and_pack_fn = s_exr_pack_fn;
        st->default_compress = st->pipe.compress_fn;
        st->pipe.compress_fn = s_exr_compress;
        st->pipe.encoding_user_data = st;
        rv = exr_encoding_run(st->ctxt, part, &st->pipe);
    }
    return rv;
}

/* slot[k]: the input channel of the file's k-th channel (the library keeps
 * the channel list sorted by name). */
static exr_result_t s_exr_slots(s_exr_enc_t *st, int part)
{
    const exr_attr_chlist_t *chl = NULL;
    exr_result_t rv = exr_get_channels(st->ctxt, part, &chl);
    if (rv != EXR_ERR_SUCCESS)
        return rv;
    const lx_image_t *img = st->img;
    if (!chl || chl->num_channels != (int32_t)img->channels)
        return EXR_ERR_INVALID_ARGUMENT;
    for (uint32_t k = 0; k < img->channels; k++) {
        uint32_t slot = 0;
        while (slot < img->channels && strcmp(img->names[slot], chl->entries[k].name.str))
            slot++;
        if (slot == img->channels)
            return EXR_ERR_INVALID_ARGUMENT;
        st->slot[k] = slot;
    }
    return EXR_ERR_SUCCESS;
}

static exr_result_t s_exr_encode_body(s_exr_enc_t *st, exr_compression_t ctype)
{
    const lx_image_t *img = st->img;
    int part = 0;
    /* OpenEXRCore 3.1 writes attributes in the order they were created and
     * exr_add_part() creates "type" first. Creating the rest in name order
     * (channels before compression, dataWindow, ...) makes the header
     * "type" followed by the required attributes sorted, the same for
     * every file. */
    exr_result_t rv = exr_add_part(st->ctxt, NULL, EXR_STORAGE_SCANLINE, &part);
    exr_pixel_type_t ptype = img->type == LX_PIX_HALF ? EXR_PIXEL_HALF : EXR_PIXEL_FLOAT;
    for (uint32_t c = 0; rv == EXR_ERR_SUCCESS && c < img->channels; c++)
        rv = exr_add_channel(st->ctxt, part, img->names[c], ptype, EXR_PERCEPTUALLY_LOGARITHMIC, 1,
                             1);
    if (rv == EXR_ERR_SUCCESS)
        rv = exr_initialize_required_attr_simple(st->ctxt, part, (int32_t)img->width,
                                                 (int32_t)img->height, ctype);
    if (rv == EXR_ERR_SUCCESS)
        rv = exr_write_header(st->ctxt);
    if (rv == EXR_ERR_SUCCESS)
        rv = s_exr_slots(st, part);
    int32_t lpc = 0;
    if (rv == EXR_ERR_SUCCESS)
        rv = exr_get_scanlines_per_chunk(st->ctxt, part, &lpc);
    if (rv != EXR_ERR_SUCCESS)
        return rv;
    if (lpc < 1)
        return EXR_ERR_INVALID_ARGUMENT;
    if (ctype == EXR_COMPRESSION_NONE || ctype == EXR_COMPRESSION_ZIPS ||
        ctype == EXR_COMPRESSION_ZIP)
        return s_exr_write_chunks(st, part, ctype, lpc);
    return s_exr_pipeline_chunks(st, part, lpc);
}

lx_result_t lx_exr_encoder_encode(lx_exr_encoder_t *e, const lx_image_t *img,
                                  lx_exr_compression_t c, lx_strbuf_t *out, lx_error_t *err)
{
    lx_result_t rc = s_exr_check(img, c, err);
    if (rc != LX_OK)
        return rc;
    if (out->failed)
        return lx_fail(err, LX_E_NOMEM, "exr: output buffer had already failed");

    s_exr_enc_t st;
    memset(&st, 0, sizeof st);
    st.e = e;
    st.img = img;
    st.io.out = out;
    st.io.base = out->len;

    exr_context_initializer_t init = EXR_DEFAULT_CONTEXT_INITIALIZER;
    init.user_data = &st.io;
    init.write_fn = s_exr_write;
    init.error_handler_fn = s_exr_quiet;
    exr_result_t rv = exr_start_write(&st.ctxt, "lattice.exr", EXR_WRITE_FILE_DIRECTLY, &init);
    if (rv == EXR_ERR_SUCCESS)
        rv = s_exr_encode_body(&st, s_exr_ctype(c));
    if (st.pipe_live)
        exr_encoding_destroy(st.ctxt, &st.pipe);
    /* exr_finish() writes the chunk offset table, so its result counts. */
    exr_result_t frv = st.ctxt ? exr_finish(&st.ctxt) : EXR_ERR_SUCCESS;
    if (rv == EXR_ERR_SUCCESS)
        rv = frv;
    if (rv != EXR_ERR_SUCCESS || out->failed) {
        bool nomem = out->failed || rv == EXR_ERR_OUT_OF_MEMORY;
        if (!out->failed) {
            out->len = st.io.base;
            out->buf[out->len] = '\0';
        }
        if (nomem)
            return lx_fail(err, LX_E_NOMEM, "exr: out of memory writing %ux%u image", img->width,
                           img->height);
        return lx_fail(err, LX_E_INTERNAL, "exr: %s", s_exr_msg(&st.io, rv));
    }
    return LX_OK;
}

lx_result_t lx_exr_encode(const lx_image_t *img, lx_exr_compression_t c, lx_strbuf_t *out,
                          lx_error_t *err)
{
    lx_exr_encoder_t *e = lx_exr_encoder_new(NULL, err);
    if (!e)
        return LX_E_NOMEM;
    lx_result_t rc = lx_exr_encoder_encode(e, img, c, out, err);
    lx_exr_encoder_destroy(&e);
    return rc;
}

/* ---- decoder ----------------------------------------------------------- */

static int64_t s_exr_read(exr_const_context_t ctxt, void *ud, void *buffer, uint64_t sz,
                          uint64_t offset, exr_stream_error_func_ptr_t error_cb)
{
    s_exr_io_t *io = ud;
    if (offset > io->len) {
        error_cb(ctxt, EXR_ERR_READ_IO, "read past the end of the file");
        return -1;
    }
    uint64_t n = io->len - offset < sz ? io->len - offset : sz;
    memcpy(buffer, io->bytes + offset, (size_t)n);
    return (int64_t)n;
}

static int64_t s_exr_size(exr_const_context_t ctxt, void *ud)
{
    (void)ctxt;
    return (int64_t)((s_exr_io_t *)ud)->len;
}

typedef struct s_exr_dec {
    exr_context_t ctxt;
    exr_decode_pipeline_t pipe;
    bool pipe_live;
    uint8_t *plane; /* one chunk, one plane per channel (see s_exr_encode_chunks) */
    s_exr_io_t io;
    lx_decoded_t *out;
    lx_error_t *err;
} s_exr_dec_t;

#define S_EXR_TRY(call)                                                                            \
    do {                                                                                           \
        exr_result_t rv_ = (call);                                                                 \
        if (rv_ != EXR_ERR_SUCCESS)                                                                \
            return lx_fail(st->err, rv_ == EXR_ERR_OUT_OF_MEMORY ? LX_E_NOMEM : LX_E_PARSE,        \
                           "exr: %s", s_exr_msg(&st->io, rv_));                                    \
    } while (0)

static lx_result_t s_exr_decode_body(s_exr_dec_t *st)
{
    lx_decoded_t *out = st->out;
    int nparts = 0;
    S_EXR_TRY(exr_get_count(st->ctxt, &nparts));
    if (nparts != 1)
        return lx_fail(st->err, LX_E_INVALID, "exr: %d parts (only single-part files are read)",
                       nparts);
    exr_storage_t storage;
    S_EXR_TRY(exr_get_storage(st->ctxt, 0, &storage));
    if (storage != EXR_STORAGE_SCANLINE)
        return lx_fail(st->err, LX_E_INVALID, "exr: only scanline images are read");
    exr_compression_t ctype;
    S_EXR_TRY(exr_get_compression(st->ctxt, 0, &ctype));
    /* Only what lx_exr_encode writes: the other codecs are not needed for
     * read-back and are more decoder surface for hostile files. */
    if (ctype != EXR_COMPRESSION_NONE && ctype != EXR_COMPRESSION_RLE &&
        ctype != EXR_COMPRESSION_ZIPS && ctype != EXR_COMPRESSION_ZIP &&
        ctype != EXR_COMPRESSION_PIZ)
        return lx_fail(st->err, LX_E_INVALID, "exr: compression %d is not read", (int)ctype);

    const exr_attr_chlist_t *chl = NULL;
    S_EXR_TRY(exr_get_channels(st->ctxt, 0, &chl));
    if (!chl || chl->num_channels < 1 || chl->num_channels > LX_IMAGE_MAX_CHANNELS)
        return lx_fail(st->err, LX_E_INVALID, "exr: %d channels (want 1..%d)",
                       chl ? chl->num_channels : 0, LX_IMAGE_MAX_CHANNELS);
    uint32_t nc = (uint32_t)chl->num_channels;
    uint64_t file_bpp = 0;
    bool all_half = true;
    for (uint32_t c = 0; c < nc; c++) {
        const exr_attr_chlist_entry_t *e = &chl->entries[c];
        if (e->pixel_type != EXR_PIXEL_HALF && e->pixel_type != EXR_PIXEL_FLOAT)
            return lx_fail(st->err, LX_E_INVALID, "exr: channel '%.40s' is not HALF or FLOAT",
                           e->name.str ? e->name.str : "");
        if (e->x_sampling != 1 || e->y_sampling != 1)
            return lx_fail(st->err, LX_E_INVALID, "exr: channel '%.40s' is subsampled",
                           e->name.str ? e->name.str : "");
        if (!e->name.str || e->name.length < 1 || e->name.length > S_NAME_MAX)
            return lx_fail(st->err, LX_E_INVALID, "exr: channel %u name length %d (want 1..%d)", c,
                           (int)e->name.length, S_NAME_MAX);
        file_bpp += e->pixel_type == EXR_PIXEL_HALF ? 2 : 4;
        all_half = all_half && e->pixel_type == EXR_PIXEL_HALF;
    }

    exr_attr_box2i_t dw;
    S_EXR_TRY(exr_get_data_window(st->ctxt, 0, &dw));
    int64_t w = (int64_t)dw.max.x - dw.min.x + 1, h = (int64_t)dw.max.y - dw.min.y + 1;
    if (w < 1 || h < 1 || w > S_EXR_MAX_DIM || h > S_EXR_MAX_DIM)
        return lx_fail(st->err, LX_E_LIMIT, "exr: data window %lldx%lld outside 1..%d",
                       (long long)w, (long long)h, S_EXR_MAX_DIM);
    uint64_t out_bytes = (uint64_t)w * (uint64_t)h * nc * sizeof(float);
    uint64_t file_bytes = (uint64_t)w * (uint64_t)h * file_bpp;
    if (out_bytes > S_EXR_MAX_BYTES || file_bytes > (uint64_t)S_EXR_MAX_RATIO * st->io.len + 4096)
        return lx_fail(st->err, LX_E_LIMIT, "exr: %lldx%lld image too large for a %zu-byte file",
                       (long long)w, (long long)h, st->io.len);

    int32_t lpc = 0, nchunks = 0;
    S_EXR_TRY(exr_get_scanlines_per_chunk(st->ctxt, 0, &lpc));
    S_EXR_TRY(exr_get_chunk_count(st->ctxt, 0, &nchunks));
    if (lpc < 1 || nchunks != (int32_t)((h + lpc - 1) / lpc))
        return lx_fail(st->err, LX_E_PARSE, "exr: %d chunks of %d lines for %lld lines", nchunks,
                       lpc, (long long)h);

    float *pix = lx_malloc(lx_alloc_default(), (size_t)out_bytes);
    if (!pix)
        return lx_fail(st->err, LX_E_NOMEM, "exr: out of memory for %llu bytes",
                       (unsigned long long)out_bytes);
    out->data = pix;
    out->width = (uint32_t)w;
    out->height = (uint32_t)h;
    out->channels = nc;
    out->type = all_half ? LX_PIX_HALF : LX_PIX_F32;
    for (uint32_t c = 0; c < nc; c++)
        snprintf(out->names[c], sizeof out->names[c], "%s", chl->entries[c].name.str);

    const size_t plane_bytes = (size_t)w * (size_t)lpc * sizeof(float);
    st->plane = lx_malloc(lx_alloc_default(), plane_bytes * nc);
    if (!st->plane)
        return lx_fail(st->err, LX_E_NOMEM, "exr: out of memory for a %lldx%d chunk", (long long)w,
                       lpc);
    for (int32_t i = 0; i < nchunks; i++) {
        int y = (int)((int64_t)dw.min.y + (int64_t)i * lpc);
        exr_chunk_info_t cinfo;
        S_EXR_TRY(exr_read_scanline_chunk_info(st->ctxt, 0, y, &cinfo));
        /* Buffer offsets below come from cinfo: make sure it lies in the
         * data window and the plane whatever the file claims. */
        if (cinfo.start_y != y || cinfo.height < 1 || cinfo.height > lpc || cinfo.width != w ||
            (int64_t)cinfo.start_y + cinfo.height - 1 > dw.max.y)
            return lx_fail(st->err, LX_E_PARSE, "exr: chunk %d covers lines %d+%d, width %d", i,
                           cinfo.start_y, cinfo.height, cinfo.width);
        if (!st->pipe_live) {
            S_EXR_TRY(exr_decoding_initialize(st->ctxt, 0, &cinfo, &st->pipe));
            st->pipe_live = true;
        } else {
            S_EXR_TRY(exr_decoding_update(st->ctxt, 0, &cinfo, &st->pipe));
        }
        if (st->pipe.channel_count != (int16_t)nc)
            return lx_fail(st->err, LX_E_PARSE, "exr: channel count changed while decoding");
        for (uint32_t c = 0; c < nc; c++) {
            exr_coding_channel_info_t *ch = &st->pipe.channels[c];
            if (ch->height != cinfo.height || ch->width != cinfo.width ||
                (ch->bytes_per_element != 2 && ch->bytes_per_element != 4))
                return lx_fail(st->err, LX_E_PARSE, "exr: channel %u has a %dx%d chunk", c,
                               ch->width, ch->height);
            /* Same type as the file, planar: no library conversion. */
            ch->user_bytes_per_element = ch->bytes_per_element;
            ch->user_data_type = ch->data_type;
            ch->user_pixel_stride = ch->bytes_per_element;
            ch->user_line_stride = (int32_t)(w * ch->bytes_per_element);
            ch->decode_to_ptr = st->plane + c * plane_bytes;
        }
        S_EXR_TRY(exr_decoding_choose_default_routines(st->ctxt, 0, &st->pipe));
        S_EXR_TRY(exr_decoding_run(st->ctxt, 0, &st->pipe));

        float *dst = pix + (size_t)(cinfo.start_y - dw.min.y) * (size_t)w * nc;
        const size_t n = (size_t)cinfo.height * (size_t)w;
        for (uint32_t c = 0; c < nc; c++) {
            const uint8_t *plane = st->plane + c * plane_bytes;
            if (st->pipe.channels[c].bytes_per_element == 2) {
                const uint16_t *src = (const uint16_t *)(const void *)plane;
                for (size_t k = 0; k < n; k++)
                    dst[k * nc + c] = s_float_from_half(src[k]);
            } else {
                const float *src = (const float *)(const void *)plane;
                for (size_t k = 0; k < n; k++)
                    dst[k * nc + c] = src[k];
            }
        }
    }
    return LX_OK;
}

lx_result_t lx_exr_decode(const void *bytes, size_t len, lx_decoded_t *out, lx_error_t *err)
{
    memset(out, 0, sizeof *out);
    static const uint8_t magic[4] = {0x76, 0x2f, 0x31, 0x01};
    if (!bytes || len < 8 || memcmp(bytes, magic, 4) != 0)
        return lx_fail(err, LX_E_PARSE, "exr: not an exr file (bad magic number)");

    s_exr_dec_t st;
    memset(&st, 0, sizeof st);
    st.io.bytes = bytes;
    st.io.len = len;
    st.out = out;
    st.err = err;

    exr_context_initializer_t init = EXR_DEFAULT_CONTEXT_INITIALIZER;
    init.user_data = &st.io;
    init.read_fn = s_exr_read;
    init.size_fn = s_exr_size;
    init.error_handler_fn = s_exr_error;
    /* The library refuses absurd headers itself (an error we cannot tell
     * from other header errors); sizes between our limit and its limit
     * reach the LX_E_LIMIT check in s_exr_decode_body. */
    init.max_image_width = S_EXR_MAX_DIM * 16;
    init.max_image_height = S_EXR_MAX_DIM * 16;
    /* A damaged offset table is an error, not something to guess around. */
    init.flags = EXR_CONTEXT_FLAG_DISABLE_CHUNK_RECONSTRUCTION;
    exr_result_t rv = exr_start_read(&st.ctxt, "memory.exr", &init);
    lx_result_t rc;
    if (rv != EXR_ERR_SUCCESS)
        rc = lx_fail(err, rv == EXR_ERR_OUT_OF_MEMORY ? LX_E_NOMEM : LX_E_PARSE, "exr: %s",
                     s_exr_msg(&st.io, rv));
    else
        rc = s_exr_decode_body(&st);
    if (st.pipe_live)
        exr_decoding_destroy(st.ctxt, &st.pipe);
    lx_free(lx_alloc_default(), st.plane);
    if (st.ctxt)
        exr_finish(&st.ctxt);
    if (rc != LX_OK)
        lx_decoded_release(out);
    return rc;
}
