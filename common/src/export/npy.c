/* NPY v1.0 encoder: the header numpy itself writes for a C-order '<f4'
 * array of shape (H, W, C), padded with spaces and a final newline so the
 * data starts at a multiple of 64 bytes, then the samples little-endian
 * whatever the host's byte order. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "lattice/encode.h"

#define S_NPY_ALIGN 64

/* The header of a descr ("<f4", "<f8", "<i8") array of shape (the tuple's
 * text), then count elements of `size` bytes each (host order) written
 * little-endian. */
static lx_result_t s_npy_typed(const char *descr, size_t size, const char *shape, const void *data,
                               size_t count, lx_strbuf_t *out, lx_error_t *err)
{
    if (out->failed)
        return lx_fail(err, LX_E_NOMEM, "npy: output buffer had already failed");
    /* Three %u fields of at most 10 digits keep the header under 128
     * bytes, so it always fits one aligned block pair. */
    uint8_t hdr[2 * S_NPY_ALIGN];
    memcpy(hdr, "\x93NUMPY\x01\x00", 8);
    int n = snprintf((char *)hdr + 10, sizeof hdr - 10,
                     "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }", descr, shape);
    size_t used = 10 + (size_t)n + 1; /* + the closing newline */
    size_t padded = (used + S_NPY_ALIGN - 1) / S_NPY_ALIGN * S_NPY_ALIGN;
    if (n < 0 || padded > sizeof hdr)
        LX_BUG("npy header does not fit");
    memset(hdr + 10 + n, ' ', padded - 1 - 10 - (size_t)n);
    hdr[padded - 1] = '\n';
    hdr[8] = (uint8_t)((padded - 10) & 0xff); /* HEADER_LEN, little-endian uint16 */
    hdr[9] = (uint8_t)((padded - 10) >> 8);
    lx_strbuf_add(out, hdr, padded);

    uint8_t block[4096];
    size_t fill = 0;
    const uint8_t *src = data;
    for (size_t i = 0; i < count && !out->failed; i++) {
        uint64_t u = 0;
        if (size == 4) {
            uint32_t v;
            memcpy(&v, src + 4 * i, 4);
            u = v;
        } else {
            memcpy(&u, src + 8 * i, 8);
        }
        for (size_t b = 0; b < size; b++)
            block[fill++] = (uint8_t)(u >> (8 * b));
        if (fill + 8 > sizeof block) {
            lx_strbuf_add(out, block, fill);
            fill = 0;
        }
    }
    lx_strbuf_add(out, block, fill);
    if (out->failed)
        return lx_fail(err, LX_E_NOMEM, "npy: out of memory writing a (%s) array", shape);
    return LX_OK;
}

static lx_result_t s_npy(const char *shape, const float *data, size_t count, lx_strbuf_t *out,
                         lx_error_t *err)
{
    return s_npy_typed("<f4", 4, shape, data, count, out, err);
}

lx_result_t lx_npy_encode_array(lx_npy_dtype_t dtype, const uint32_t *dims, unsigned ndim,
                                const void *data, lx_strbuf_t *out, lx_error_t *err)
{
    static const char *const descr[] = {"<f4", "<f8", "<i8"};
    static const size_t size[] = {4, 8, 8};
    if ((unsigned)dtype > LX_NPY_I8 || ndim > 2 || (ndim && !dims))
        return lx_fail(err, LX_E_INVALID, "npy: dtype %d with %u dimensions", (int)dtype, ndim);
    char shape[32] = "";
    size_t count = 1;
    if (ndim == 1)
        snprintf(shape, sizeof shape, "%u,", dims[0]);
    else if (ndim == 2)
        snprintf(shape, sizeof shape, "%u, %u", dims[0], dims[1]);
    for (unsigned k = 0; k < ndim; k++)
        count *= dims[k];
    if (count && !data)
        return lx_fail(err, LX_E_INVALID, "npy: no data for a (%s) array", shape);
    return s_npy_typed(descr[dtype], size[dtype], shape, data, count, out, err);
}

lx_result_t lx_npy_encode(const lx_image_t *img, lx_strbuf_t *out, lx_error_t *err)
{
    if (!img || !img->data)
        return lx_fail(err, LX_E_INVALID, "npy: no image data");
    if (img->type != LX_PIX_F32)
        return lx_fail(err, LX_E_INVALID, "npy: only float32 samples are written");
    if (img->width == 0 || img->height == 0)
        return lx_fail(err, LX_E_INVALID, "npy: empty image %ux%u", img->width, img->height);
    if (img->channels < 1 || img->channels > LX_IMAGE_MAX_CHANNELS)
        return lx_fail(err, LX_E_INVALID, "npy: %u channels (want 1..%d)", img->channels,
                       LX_IMAGE_MAX_CHANNELS);
    char shape[40];
    snprintf(shape, sizeof shape, "%u, %u, %u", img->height, img->width, img->channels);
    return s_npy(shape, img->data, (size_t)img->width * img->height * img->channels, out, err);
}

lx_result_t lx_npy_encode_rows(const float *data, uint32_t rows, uint32_t cols, lx_strbuf_t *out,
                               lx_error_t *err)
{
    if ((rows && !data) || cols == 0)
        return lx_fail(err, LX_E_INVALID, "npy: a table of %u rows and %u columns", rows, cols);
    char shape[32];
    snprintf(shape, sizeof shape, "%u, %u", rows, cols);
    return s_npy(shape, data, (size_t)rows * cols, out, err);
}
