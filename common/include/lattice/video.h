/* Video: 8-bit frames -> the bytes of an MP4 (H.264, yuv420p) in memory,
 * the same bytes on every run and machine with the same FFmpeg and x264
 * libraries (docs/export-format.md, "Video").
 *
 * Determinism: libx264 runs on one thread (no frame, slice or lookahead
 * threads), with a fixed preset, CRF, GOP (keyint = min-keyint, no scene
 * cuts, no B-frames) and its log off; the codec and the muxer are
 * bit-exact (AV_CODEC_FLAG_BITEXACT, AVFMT_FLAG_BITEXACT: no encoder
 * string, no creation time). x264's assembly is bit-exact with its C code
 * (its checkasm enforces it), so CPUs with different SIMD agree. The
 * conversion to YUV is this module's own integer arithmetic, not
 * libswscale's, so no SIMD path of a converter decides a byte:
 *
 *   BT.709, limited range, 8 bits ("tv"):
 *     Y  = 16  + 219/255 (0.2126 R + 0.7152 G + 0.0722 B)
 *     Cb = 128 + 224/255 (B - Y') / 1.8556,  Cr = 128 + 224/255 (R - Y') / 1.5748
 *   (Y' the unscaled luma), in 16-bit fixed point rounded half up; chroma
 *   from the mean of each 2x2 block (4:2:0, centre sited, so tagged).
 *   A gray sample g is the RGB (g, g, g): Y = 16 + round(219 g / 255),
 *   Cb = Cr = 128 exactly. RGBA is composited over black first (R * A /
 *   255, rounded): the straight-alpha PNG's transparent pixels are black.
 *   The stream is tagged BT.709 matrix and primaries, sRGB transfer (the
 *   values are the PNGs' sRGB values, unchanged), limited range.
 *
 * The frame rate is an exact rational (lx_video_fps_rational), the time
 * base of the stream; frame i has pts i. The moov box is at the end of
 * the file (no faststart: that needs the file read back). */
#ifndef LATTICE_VIDEO_H
#define LATTICE_VIDEO_H

#include <stdint.h>

#include "lattice/alloc.h"
#include "lattice/result.h"
#include "lattice/strbuf.h"

/* The fixed encoder settings (conventions.video in metadata.json). */
#define LX_VIDEO_CRF 18
#define LX_VIDEO_PRESET "veryfast"
#define LX_VIDEO_GOP 48u
/* Most video frames an export encodes, frames x videos (EX-512), and
 * most videos it lists: the coordinator encodes them in its event loop. */
#define LX_VIDEO_MAX_FRAMES 10000
#define LX_VIDEO_MAX_KEYS 16u
/* A video key's size with its NUL (an export frame file's key,
 * LX_EXPORT_KEY_MAX + 1). */
#define LX_VIDEO_KEY_SIZE 70
/* Largest side a video takes (H.264 level 6.2 allows 8192 x 4320). */
#define LX_VIDEO_MAX_SIDE 8192u

typedef struct lx_video_writer lx_video_writer_t;

/* The rational frame rate fps is written with: num / den with the least
 * den <= 1001 that gives fps to 1e-9 relative (30 -> 30/1, 12.5 ->
 * 25/2, 29.97 -> 2997/100, 30000/1001. -> 30000/1001); otherwise
 * round(fps * 1000) / 1000, reduced. fps must be above 0 and at most
 * 1000. Pure, no libm transcendental. */
void lx_video_fps_rational(double fps, int *num, int *den);

/* A writer of width x height frames (both even, from 2 to
 * LX_VIDEO_MAX_SIDE) at fps (above 0, at most 1000). alloc (NULL: the
 * default) serves the writer and the file's bytes; FFmpeg allocates its
 * own. NULL with err: LX_E_INVALID for a bad size or rate, LX_E_NOMEM,
 * LX_E_INTERNAL when the H.264 encoder (libx264) or the MP4 muxer is
 * missing or refuses the settings. */
lx_video_writer_t *lx_video_writer_new(uint32_t width, uint32_t height, double fps,
                                       const lx_alloc_t *alloc, lx_error_t *err);

/* Frees everything, also a writer that failed or was never finished;
 * NULLs *self_p; accepts NULL. */
void lx_video_writer_destroy(lx_video_writer_t **self_p);

/* Encodes the next frame: width x height pixels, rows top to bottom
 * without padding, channels 1 (gray), 3 (RGB) or 4 (RGBA, straight
 * alpha), 8 bits each. LX_E_INVALID for other channel counts or after
 * lx_video_writer_finish or a failure (a writer that failed stays
 * failed), LX_E_NOMEM, LX_E_INTERNAL with FFmpeg's message. */
lx_result_t lx_video_writer_add(lx_video_writer_t *v, const uint8_t *pixels, uint32_t channels,
                                lx_error_t *err);

/* Flushes the encoder, finishes the MP4 and appends its bytes to out.
 * LX_E_INVALID with no frames added, after a failure or a second call;
 * LX_E_NOMEM (also when out failed); LX_E_INTERNAL. */
lx_result_t lx_video_writer_finish(lx_video_writer_t *v, lx_strbuf_t *out, lx_error_t *err);

/* "libavcodec 59.37.100, libavformat 59.27.100, x264 164": what the bytes
 * depend on besides the frames and settings. */
void lx_video_versions(char *out, size_t size);

#endif
