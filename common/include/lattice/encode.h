/* Encoders for export artifacts: PNG (libpng), EXR (OpenEXRCore), NPY.
 *
 * Every encoder appends the complete file to `out` and is deterministic:
 * the same image and settings give the same bytes (no timestamps, no
 * library version strings where avoidable, fixed attribute order). They
 * return LX_OK, LX_E_INVALID (with err) for an image the format cannot
 * hold, or LX_E_NOMEM / LX_E_INTERNAL. Thread-safe for distinct outputs.
 * The decoders exist for read-back tests and `lattice verify`-style checks;
 * they fill a newly allocated sample array (free with free()). */
#ifndef LATTICE_ENCODE_H
#define LATTICE_ENCODE_H

#include "lattice/alloc.h"
#include "lattice/image.h"
#include "lattice/result.h"
#include "lattice/strbuf.h"

/* The encoder libraries' versions, "zlib 1.2.13, libpng 1.6.39, libdeflate
 * 1.14, OpenEXR 3.1.5": files are byte-identical between builds that agree on them (a
 * worker's HELLO build carries it, so audits compare like with like). */
void lx_encoder_versions(char *out, size_t size);

/* PNG: U8 with 1 (gray), 3 (RGB) or 4 (RGBA) channels, or U16 gray.
 * `level` is the zlib level 0..9; no tIME, no text chunks. */
lx_result_t lx_png_encode(const lx_image_t *img, int level, lx_strbuf_t *out, lx_error_t *err);

typedef enum {
    LX_EXR_NONE, LX_EXR_RLE, LX_EXR_ZIPS, LX_EXR_ZIP, LX_EXR_PIZ
} lx_exr_compression_t;

/* -1 when unknown: "none", "rle", "zips", "zip", "piz". */
int lx_exr_compression_parse(const char *name);

/* EXR: scanline, HALF or F32 channels named by img->names, written in
 * the order EXR requires (sorted by name) whatever the input order. */
lx_result_t lx_exr_encode(const lx_image_t *img, lx_exr_compression_t c, lx_strbuf_t *out,
                          lx_error_t *err);

/* The same, reusing its compressor and chunk buffers from one file to the
 * next (a frame's artifacts, frame after frame). One encoder per thread;
 * lx_exr_encoder_new returns NULL (err set) when out of memory. */
typedef struct lx_exr_encoder lx_exr_encoder_t;
lx_exr_encoder_t *lx_exr_encoder_new(const lx_alloc_t *alloc, lx_error_t *err);
void lx_exr_encoder_destroy(lx_exr_encoder_t **self_p);
lx_result_t lx_exr_encoder_encode(lx_exr_encoder_t *e, const lx_image_t *img,
                                  lx_exr_compression_t c, lx_strbuf_t *out, lx_error_t *err);

/* NPY v1.0: little-endian '<f4', C order, shape (H, W, C). F32 only. */
lx_result_t lx_npy_encode(const lx_image_t *img, lx_strbuf_t *out, lx_error_t *err);
/* The same for a table: shape (rows, cols), rows may be 0. */
lx_result_t lx_npy_encode_rows(const float *data, uint32_t rows, uint32_t cols, lx_strbuf_t *out,
                               lx_error_t *err);

/* NPY v1.0 of any C-order array of up to 2 dimensions (ndim 0 is a
 * scalar, shape ()), numpy's exact header: '<f4' (float), '<f8' (double)
 * or '<i8' (int64_t), data in host order written little-endian. Shape
 * text as numpy writes it: (), (n,), (a, b). */
typedef enum { LX_NPY_F4, LX_NPY_F8, LX_NPY_I8 } lx_npy_dtype_t;
lx_result_t lx_npy_encode_array(lx_npy_dtype_t dtype, const uint32_t *dims, unsigned ndim,
                                const void *data, lx_strbuf_t *out, lx_error_t *err);

/* Decoded images: samples as in the file (U8/U16 for PNG; float for EXR,
 * HALF widened; channels in img->names order as stored in the file). */
typedef struct lx_decoded {
    uint32_t width, height, channels;
    lx_pixel_type_t type;
    void *data;
    char names[LX_IMAGE_MAX_CHANNELS][32];
} lx_decoded_t;

lx_result_t lx_png_decode(const void *bytes, size_t len, lx_decoded_t *out, lx_error_t *err);
lx_result_t lx_exr_decode(const void *bytes, size_t len, lx_decoded_t *out, lx_error_t *err);
void lx_decoded_release(lx_decoded_t *img);

#endif
