/* Fuzz target: the PNG and EXR read-back decoders. The first byte picks
 * the decoder (even: PNG, odd: EXR; the seed corpus uses 'P' and 'E'), the
 * rest is the file. Any input must decode or fail with a parse, limit,
 * unsupported-feature or memory error, and never crash, hang or leak.
 * A decoded image must have its full sample buffer (the sanitizer checks
 * every sample is readable), and when the encoder can hold it, encoding
 * and decoding it again must give the same samples bit for bit. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lattice/encode.h"

/* Re-encoding is for small images only, to keep the fuzzer fast. */
#define MAX_REENCODE_SAMPLES ((size_t)1 << 20)

static size_t s_sample_size(lx_pixel_type_t t)
{
    return t == LX_PIX_U8 ? 1 : t == LX_PIX_U16 ? 2 : 4;
}

static void s_reencode(const lx_decoded_t *d, int exr, uint8_t opt)
{
    size_t n = (size_t)d->width * d->height * d->channels;
    if (n > MAX_REENCODE_SAMPLES)
        return;
    lx_image_t img = {d->width, d->height, d->channels, d->type, d->data, {0}};
    for (uint32_t c = 0; c < d->channels; c++)
        img.names[c] = d->names[c];
    lx_strbuf_t sb;
    lx_strbuf_init(&sb, NULL);
    lx_error_t err = {0};
    lx_result_t rc;
    if (exr) {
        rc = lx_exr_encode(&img, (lx_exr_compression_t)(opt % 5), &sb, &err);
    } else {
        int holdable = (d->type == LX_PIX_U8 && d->channels != 2) ||
                       (d->type == LX_PIX_U16 && d->channels == 1);
        if (!holdable) {
            lx_strbuf_release(&sb);
            return;
        }
        rc = lx_png_encode(&img, opt % 10, &sb, &err);
    }
    if (rc == LX_E_INVALID && exr) {
        /* A file may repeat a channel name; the encoder refuses that. */
        lx_strbuf_release(&sb);
        return;
    }
    if (rc != LX_OK)
        abort();
    lx_decoded_t again;
    rc = exr ? lx_exr_decode(sb.buf, sb.len, &again, &err)
             : lx_png_decode(sb.buf, sb.len, &again, &err);
    if (rc != LX_OK || again.width != d->width || again.height != d->height ||
        again.channels != d->channels || again.type != d->type ||
        memcmp(again.data, d->data, n * s_sample_size(d->type)) != 0)
        abort();
    for (uint32_t c = 0; c < d->channels; c++)
        if (strcmp(again.names[c], d->names[c]) != 0)
            abort();
    lx_decoded_release(&again);
    lx_strbuf_release(&sb);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int exr = data[0] & 1;
    lx_decoded_t d;
    lx_error_t err = {0};
    lx_result_t rc = exr ? lx_exr_decode(data + 1, size - 1, &d, &err)
                         : lx_png_decode(data + 1, size - 1, &d, &err);
    if (rc != LX_OK) {
        if (d.data || err.message[0] == '\0' ||
            (rc != LX_E_PARSE && rc != LX_E_INVALID && rc != LX_E_LIMIT && rc != LX_E_NOMEM))
            abort();
        return 0;
    }
    if (!d.data || d.width == 0 || d.height == 0 || d.channels < 1 ||
        d.channels > LX_IMAGE_MAX_CHANNELS)
        abort();
    if (exr ? (d.type != LX_PIX_HALF && d.type != LX_PIX_F32)
            : (d.type != LX_PIX_U8 && d.type != LX_PIX_U16))
        abort();
    /* Read every byte so the sanitizer sees a short buffer. */
    size_t bytes = (size_t)d.width * d.height * d.channels * s_sample_size(d.type);
    volatile uint8_t sink = 0;
    for (size_t i = 0; i < bytes; i++)
        sink ^= ((const uint8_t *)d.data)[i];
    (void)sink;
    s_reencode(&d, exr, data[0] >> 1);
    lx_decoded_release(&d);
    return 0;
}
