/* PNG encoder and decoder (libpng), in memory.
 *
 * The encoder writes IHDR, IDAT and IEND only: no tIME, no text, no colour
 * chunks, so the bytes depend on the pixels, the level and the zlib build
 * alone. libpng reports errors by longjmp; every setjmp lives in a small
 * s_*_body() function whose state is a struct owned by its caller, so
 * nothing the body allocated is lost in an indeterminate local after the
 * jump and the caller frees everything on every path. */
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include <png.h>
#include <zlib.h>

#include "lattice/encode.h"

/* Default row filter UP, zlib strategy Z_DEFAULT_STRATEGY. Measured at
 * level 3 on 1920x1080 rendered frames, masks, 16-bit id maps and control
 * images (docs/export-format.md, "Encoder settings (measured)"): UP is never
 * more than 29% above the best filter for any artifact and within 1% of
 * the smallest total, at 2.5x the speed of adaptive filtering (ALL). NONE
 * is fastest and smallest on flat or transparent frames but 1.3x larger on
 * shaded spheres and 3.8x on control normals; SUB and PAETH are slower and
 * no smaller overall. The strategy is pinned because libpng otherwise
 * picks one from the filters; Z_RLE with PAETH was smaller on some
 * artifacts but makes levels 1 to 9 all produce the same file. */
#define S_PNG_DEFAULT_FILTER PNG_FILTER_UP
#define S_PNG_DEFAULT_STRATEGY Z_DEFAULT_STRATEGY

/* Decoder limits. A deflate stream cannot expand more than 1032:1, so an
 * image whose raw rows exceed that multiple of the whole input cannot be a
 * valid PNG; refusing it before allocating keeps a 100-byte file from
 * asking for gigabytes. The absolute cap is for inputs that are merely
 * large. */
#define S_PNG_MAX_DIM 65536u
#define S_PNG_MAX_RATIO 1032u
#define S_PNG_MAX_BYTES ((size_t)1 << 30)

/* ---- shared ------------------------------------------------------------ */

typedef struct s_png_msg {
    char text[200];
} s_png_msg_t;

static void s_png_error(png_structp png, png_const_charp msg)
{
    s_png_msg_t *m = png_get_error_ptr(png);
    if (m)
        snprintf(m->text, sizeof m->text, "%s", msg ? msg : "unknown libpng error");
    png_longjmp(png, 1);
}

static void s_png_warning(png_structp png, png_const_charp msg)
{
    /* Warnings (a bad CRC in an ancillary chunk, say) are not failures and
     * common/ does not print. */
    (void)png;
    (void)msg;
}

/* ---- encoder ----------------------------------------------------------- */

typedef struct s_png_enc {
    const lx_image_t *img;
    int level;
    int filters;
    int strategy;
    lx_strbuf_t *out;
    png_structp png;
    png_infop info;
    uint8_t *row; /* big-endian row for 16-bit images */
    bool nomem;   /* an allocation failed (libpng then reports a generic error) */
    s_png_msg_t msg;
} s_png_enc_t;

/* libpng allocates through the output buffer's allocator, so tests can
 * fail any of its allocations too. */
static png_voidp s_png_alloc(png_structp png, png_alloc_size_t size)
{
    s_png_enc_t *st = png_get_mem_ptr(png);
    void *p = lx_malloc(st->out->alloc, size);
    if (!p)
        st->nomem = true;
    return p;
}

static void s_png_free(png_structp png, png_voidp ptr)
{
    s_png_enc_t *st = png_get_mem_ptr(png);
    lx_free(st->out->alloc, ptr);
}

static void s_png_write(png_structp png, png_bytep data, png_size_t len)
{
    lx_strbuf_t *out = png_get_io_ptr(png);
    lx_strbuf_add(out, data, len);
    if (out->failed)
        png_error(png, "out of memory");
}

static void s_png_flush(png_structp png) { (void)png; }

static int s_png_encode_body(s_png_enc_t *st)
{
    if (setjmp(png_jmpbuf(st->png)))
        return -1;
    const lx_image_t *img = st->img;
    int bit_depth = img->type == LX_PIX_U16 ? 16 : 8;
    int color = img->channels == 1   ? PNG_COLOR_TYPE_GRAY
                : img->channels == 3 ? PNG_COLOR_TYPE_RGB
                                     : PNG_COLOR_TYPE_RGBA;
    png_set_write_fn(st->png, st->out, s_png_write, s_png_flush);
    png_set_IHDR(st->png, st->info, img->width, img->height, bit_depth, color, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_set_compression_level(st->png, st->level);
    png_set_filter(st->png, PNG_FILTER_TYPE_BASE, st->filters);
    /* Pinned rather than left to libpng, whose choice depends on the
     * filters and may change between versions. */
    png_set_compression_strategy(st->png, st->strategy);
    /* Larger IDAT chunks: fewer chunk headers and CRC passes; the file
     * stays a function of the settings alone. */
    png_set_compression_buffer_size(st->png, 64 * 1024);
    png_write_info(st->png, st->info);
    size_t row_bytes = (size_t)img->width * img->channels * (size_t)(bit_depth / 8);
    const uint8_t *src = img->data;
    for (uint32_t y = 0; y < img->height; y++) {
        const uint8_t *row = src + (size_t)y * row_bytes;
        if (bit_depth == 16) {
            /* PNG stores 16-bit samples big-endian whatever the host. */
            const uint16_t *s16 = (const uint16_t *)(const void *)row;
            for (size_t i = 0; i < row_bytes / 2; i++) {
                st->row[2 * i] = (uint8_t)(s16[i] >> 8);
                st->row[2 * i + 1] = (uint8_t)(s16[i] & 0xff);
            }
            row = st->row;
        }
        png_write_row(st->png, row);
    }
    png_write_end(st->png, NULL);
    return 0;
}

static lx_result_t s_png_check(const lx_image_t *img, int level, lx_error_t *err)
{
    if (!img || !img->data)
        return lx_fail(err, LX_E_INVALID, "png: no image data");
    if (img->width == 0 || img->height == 0)
        return lx_fail(err, LX_E_INVALID, "png: empty image %ux%u", img->width, img->height);
    if (img->width > PNG_UINT_31_MAX || img->height > PNG_UINT_31_MAX)
        return lx_fail(err, LX_E_INVALID, "png: image %ux%u exceeds the format's 2^31-1 limit",
                       img->width, img->height);
    if (level < 0 || level > 9)
        return lx_fail(err, LX_E_INVALID, "png: zlib level %d outside 0..9", level);
    if (img->type == LX_PIX_U8) {
        if (img->channels != 1 && img->channels != 3 && img->channels != 4)
            return lx_fail(err, LX_E_INVALID, "png: %u channels of 8-bit samples (want 1, 3 or 4)",
                           img->channels);
    } else if (img->type == LX_PIX_U16) {
        if (img->channels != 1)
            return lx_fail(err, LX_E_INVALID,
                           "png: %u channels of 16-bit samples (only 16-bit gray is written)",
                           img->channels);
    } else {
        return lx_fail(err, LX_E_INVALID, "png: float samples cannot be stored (use exr or npy)");
    }
    return LX_OK;
}

/* The encoder with an explicit filter set (PNG_FILTER_* bits) and zlib
 * strategy; the public function uses the defaults above. Kept separate so
 * measurements compare settings on the production code path. */
static lx_result_t s_png_encode_with(const lx_image_t *img, int level, int filters, int strategy,
                                     lx_strbuf_t *out, lx_error_t *err)
{
    lx_result_t rc = s_png_check(img, level, err);
    if (rc != LX_OK)
        return rc;
    if (out->failed)
        return lx_fail(err, LX_E_NOMEM, "png: output buffer had already failed");

    s_png_enc_t st;
    memset(&st, 0, sizeof st);
    st.img = img;
    st.level = level;
    st.filters = filters;
    st.strategy = strategy;
    st.out = out;
    size_t start = out->len;
    if (img->type == LX_PIX_U16) {
        st.row = lx_malloc(out->alloc, (size_t)img->width * 2);
        if (!st.row)
            return lx_fail(err, LX_E_NOMEM, "png: out of memory for a %u-pixel row", img->width);
    }
    st.png = png_create_write_struct_2(PNG_LIBPNG_VER_STRING, &st.msg, s_png_error, s_png_warning,
                                       &st, s_png_alloc, s_png_free);
    if (st.png)
        st.info = png_create_info_struct(st.png);
    if (!st.png || !st.info) {
        if (st.png)
            png_destroy_write_struct(&st.png, NULL);
        lx_free(out->alloc, st.row);
        return lx_fail(err, LX_E_NOMEM, "png: out of memory creating the encoder");
    }
    int body = s_png_encode_body(&st);
    png_destroy_write_struct(&st.png, &st.info);
    lx_free(out->alloc, st.row);
    if (body != 0 || out->failed) {
        /* Leave out as it was: a half-written file is worse than none. */
        bool nomem = out->failed || st.nomem;
        if (!out->failed) {
            out->len = start;
            out->buf[start] = '\0';
        }
        if (nomem)
            return lx_fail(err, LX_E_NOMEM, "png: out of memory writing %ux%u image", img->width,
                           img->height);
        return lx_fail(err, LX_E_INTERNAL, "png: libpng failed: %s", st.msg.text);
    }
    return LX_OK;
}

lx_result_t lx_png_encode(const lx_image_t *img, int level, lx_strbuf_t *out, lx_error_t *err)
{
    return s_png_encode_with(img, level, S_PNG_DEFAULT_FILTER, S_PNG_DEFAULT_STRATEGY, out, err);
}

/* ---- decoder ----------------------------------------------------------- */

typedef struct s_png_src {
    const uint8_t *bytes;
    size_t len, pos;
} s_png_src_t;

typedef struct s_png_dec {
    s_png_src_t src;
    png_structp png;
    png_infop info;
    uint8_t *pixels;
    png_bytep *rows;
    uint32_t width, height, channels, depth;
    lx_result_t why; /* set before png_error() for our own refusals */
    s_png_msg_t msg;
} s_png_dec_t;

static void s_png_read(png_structp png, png_bytep data, png_size_t len)
{
    s_png_src_t *src = png_get_io_ptr(png);
    if (len > src->len - src->pos)
        png_error(png, "truncated file");
    memcpy(data, src->bytes + src->pos, len);
    src->pos += len;
}

static int s_png_decode_body(s_png_dec_t *st)
{
    if (setjmp(png_jmpbuf(st->png)))
        return -1;
    png_set_read_fn(st->png, &st->src, s_png_read);
    /* Our own size check below reports LX_E_LIMIT; libpng's would not. */
    png_set_user_limits(st->png, PNG_UINT_31_MAX, PNG_UINT_31_MAX);
    png_read_info(st->png, st->info);

    png_uint_32 w = 0, h = 0;
    int depth = 0, color = 0, interlace = 0;
    png_get_IHDR(st->png, st->info, &w, &h, &depth, &color, &interlace, NULL, NULL);
    if (w > S_PNG_MAX_DIM || h > S_PNG_MAX_DIM) {
        st->why = LX_E_LIMIT;
        png_error(st->png, "image larger than 65536 pixels a side");
    }
    /* Normalize to 8 or 16 bits per sample, 1..4 channels, no palette. */
    if (color == PNG_COLOR_TYPE_PALETTE)
        png_set_palette_to_rgb(st->png);
    if (color == PNG_COLOR_TYPE_GRAY && depth < 8)
        png_set_expand_gray_1_2_4_to_8(st->png);
    if (png_get_valid(st->png, st->info, PNG_INFO_tRNS))
        png_set_tRNS_to_alpha(st->png);
    png_set_interlace_handling(st->png);
    png_read_update_info(st->png, st->info);

    st->width = w;
    st->height = h;
    st->channels = png_get_channels(st->png, st->info);
    st->depth = png_get_bit_depth(st->png, st->info);
    size_t rowbytes = png_get_rowbytes(st->png, st->info);
    if (st->channels < 1 || st->channels > 4 || (st->depth != 8 && st->depth != 16) ||
        rowbytes != (size_t)w * st->channels * (st->depth / 8)) {
        st->why = LX_E_INVALID;
        png_error(st->png, "unsupported pixel layout");
    }
    /* Validate before allocating: see S_PNG_MAX_RATIO. */
    uint64_t raw = (uint64_t)h * ((uint64_t)rowbytes + 1);
    if (raw > (uint64_t)S_PNG_MAX_RATIO * st->src.len + 1024 || raw > S_PNG_MAX_BYTES) {
        st->why = LX_E_LIMIT;
        png_error(st->png, "image too large for its file");
    }
    st->pixels = lx_malloc(lx_alloc_default(), (size_t)h * rowbytes);
    st->rows = lx_calloc(lx_alloc_default(), h, sizeof *st->rows);
    if (!st->pixels || !st->rows) {
        st->why = LX_E_NOMEM;
        png_error(st->png, "out of memory");
    }
    for (uint32_t y = 0; y < h; y++)
        st->rows[y] = st->pixels + (size_t)y * rowbytes;
    png_read_image(st->png, st->rows);
    /* Reads to IEND, so a file cut after its pixel data is still an error. */
    png_read_end(st->png, NULL);
    return 0;
}

lx_result_t lx_png_decode(const void *bytes, size_t len, lx_decoded_t *out, lx_error_t *err)
{
    memset(out, 0, sizeof *out);
    if (!bytes || len < 8 || png_sig_cmp(bytes, 0, 8) != 0)
        return lx_fail(err, LX_E_PARSE, "png: not a png file (bad signature)");

    s_png_dec_t st;
    memset(&st, 0, sizeof st);
    st.src.bytes = bytes;
    st.src.len = len;
    st.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &st.msg, s_png_error, s_png_warning);
    if (st.png)
        st.info = png_create_info_struct(st.png);
    if (!st.png || !st.info) {
        if (st.png)
            png_destroy_read_struct(&st.png, NULL, NULL);
        return lx_fail(err, LX_E_NOMEM, "png: out of memory creating the decoder");
    }
    int body = s_png_decode_body(&st);
    png_destroy_read_struct(&st.png, &st.info, NULL);
    lx_free(lx_alloc_default(), st.rows);
    if (body != 0) {
        lx_free(lx_alloc_default(), st.pixels);
        lx_result_t code = st.why != LX_OK ? st.why : LX_E_PARSE;
        return lx_fail(err, code, "png: %s", st.msg.text);
    }

    out->width = st.width;
    out->height = st.height;
    out->channels = st.channels;
    out->type = st.depth == 16 ? LX_PIX_U16 : LX_PIX_U8;
    out->data = st.pixels;
    if (st.depth == 16) {
        /* Big-endian in the file, native in memory. */
        size_t n = (size_t)st.width * st.height * st.channels;
        uint8_t *b = st.pixels;
        uint16_t *s = (uint16_t *)(void *)st.pixels;
        for (size_t i = 0; i < n; i++)
            s[i] = (uint16_t)((b[2 * i] << 8) | b[2 * i + 1]);
    }
    static const char *const names[5][4] = {
        {0}, {"Y"}, {"Y", "A"}, {"R", "G", "B"}, {"R", "G", "B", "A"}};
    for (uint32_t c = 0; c < st.channels; c++)
        snprintf(out->names[c], sizeof out->names[c], "%s", names[st.channels][c]);
    return LX_OK;
}

/* Shared by both decoders (declared in encode.h). */
void lx_decoded_release(lx_decoded_t *img)
{
    if (!img)
        return;
    lx_free(lx_alloc_default(), img->data);
    memset(img, 0, sizeof *img);
}
