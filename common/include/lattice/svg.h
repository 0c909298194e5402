/* SVG: one frame's 2D shapes as a vector image (the `svg` artifact,
 * docs/export-format.md, "SVG").
 *
 * What is drawn: every planar item (rect, ellipse, polygon, star, path) of
 * the frame's draw list whose opacity x colour alpha (each clamped to
 * [0, 1]) is above 0, as one filled <path> in draw order, so that later
 * items paint over earlier ones exactly as the rasterizer composites them
 * (painter's algorithm). Meshes (sphere, box, plane) are not 2D and are
 * left out. A path element carries data-id (the instance id), data-layer
 * (its sink's layer), fill (#rrggbb, the clamped linear colour encoded
 * with the PNG's 8-bit sRGB conversion, lattice/srgb.h) and fill-opacity
 * (alpha x opacity); the root sets fill-rule="evenodd", the rasterizer's
 * rule for paths. A background <rect> comes first when the patch's
 * background alpha is above 0.
 *
 * Geometry: each outline is built in the item's local XY plane (rect,
 * polygon and star exactly, by their corners; ellipses and Bezier paths
 * flattened to chords), mapped by the item's transform
 * (lx_raster_item_xform), clipped to the camera's depth range [near, far]
 * (the rasterizer clips surfaces there too; perspective near at least
 * 1e-9) and projected by lx_camera_project, the rasterizer's projection.
 * Projective maps keep straight lines straight, so the projected polygon
 * is the projection of the local one. Polygons reaching farther than the
 * image's larger side beyond its edges are clipped to that guard band, and
 * polygons entirely outside the image are left out.
 *
 * Tolerance: curves are flattened so that every point of a drawn outline
 * lies within `tolerance` output pixels of the true curve. The flattening
 * runs in local units at tolerance / S, where S bounds the pixels one
 * local unit can span anywhere on the item's local bounding box (clipped
 * to the near plane): f x |L| for an orthographic camera, f x |L| x (1 +
 * r) / z for a perspective one (f = pixels per unit at depth 1, |L| the
 * Frobenius norm of the transform's local x and y columns, z the least
 * depth and r the largest |(x, y)| / z on the clipped box). That local
 * tolerance is rounded down to a power of two, the outline's cache level.
 * Ellipses use at most LX_SVG_MAX_SEGMENTS chords and paths at most 256
 * per Bezier segment (lx_path_flatten): beyond those (a curve filling far
 * more than the image) the tolerance is not met.
 *
 * Caching: outlines depend only on the shape tuple (kind, a, b, c; for a
 * path its points, which are the program's constants, so its expression)
 * and the level, never on the frame, so they are built once per export
 * and reused; only the transform and projection run per frame. The cache
 * holds LX_SVG_CACHE_ENTRIES outlines and starts over when full (keeping
 * its buffers), which changes no byte of the output. After the first
 * frames have grown the cache and the scratch buffers, encoding allocates
 * nothing but growth of `out`.
 *
 * Numbers are printed from integers: coordinates and opacities rounded
 * half away from zero to 1/1000, trailing zeros and a bare point dropped,
 * never "-0" and never locale-dependent. There are no timestamps or
 * other varying bytes: the same frame and settings give the same bytes
 * on every machine. */
#ifndef LATTICE_SVG_H
#define LATTICE_SVG_H

#include "lattice/instance.h"
#include "lattice/strbuf.h"

/* The svgTolerance setting's range and default, in output pixels. */
#define LX_SVG_TOLERANCE_MIN 0.01
#define LX_SVG_TOLERANCE_MAX 16.0
#define LX_SVG_TOLERANCE_DEFAULT 0.25

enum {
    LX_SVG_CACHE_ENTRIES = 256, /* outlines the cache keeps */
    LX_SVG_MAX_SEGMENTS = 4096, /* chords of an ellipse; sides of a polygon or points of a star */
};

typedef struct lx_svg lx_svg_t;

/* Cache counters: outlines found, outlines built, times the full cache
 * started over. */
typedef struct lx_svg_stats {
    uint64_t hits, misses, resets;
} lx_svg_stats_t;

/* An SVG encoder for frames of p (which must outlive it) with its outline
 * cache, or NULL with err set: LX_E_INVALID for a tolerance outside
 * [LX_SVG_TOLERANCE_MIN, LX_SVG_TOLERANCE_MAX] (or NaN), LX_E_NOMEM.
 * alloc may be NULL. Not thread-safe: one encoder per thread. */
lx_svg_t *lx_svg_new(const lx_program_t *p, double tolerance, const lx_alloc_t *alloc,
                     lx_error_t *err);
void lx_svg_destroy(lx_svg_t **self_p);

/* Appends the SVG document of rf for an image of width x height pixels
 * (1..16384 each) to out. LX_E_INVALID for a bad size, LX_E_NOMEM when
 * the cache, the scratch buffers or out could not grow (out then holds a
 * partial document: discard it). Items that cannot be drawn (unknown
 * kinds, non-finite shapes, singular transforms, wholly clipped) are left
 * out, never an error. */
lx_result_t lx_svg_encode(lx_svg_t *s, const lx_render_frame_t *rf, uint32_t width, uint32_t height,
                          lx_strbuf_t *out, lx_error_t *err);

/* The cache's counters since lx_svg_new. */
lx_svg_stats_t lx_svg_stats(const lx_svg_t *s);

#endif
