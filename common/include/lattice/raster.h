/* Rasterizer: RenderFrame -> FrameBuffers (ARCHITECTURE.md section 7).
 *
 * Colour and layer masks are anti-aliased by 4x4 stratified supersampling
 * and composited in draw order (painter's algorithm, premultiplied
 * linear RGBA over the background); a mask adds coverage x opacity x
 * colour alpha. Depth, normal, instance id and motion come from the
 * front-most surface at the pixel centre (depth tested, never blended)
 * among the items whose opacity x colour alpha (each clamped to [0, 1])
 * is at least the alpha threshold: the centre is either on a surface
 * (coverage 1) or not, so an item below the threshold is skipped there and
 * these passes see what is behind it, or the background. Surfaces outside
 * [near, far] are clipped.
 *
 * Geometry: every item is intersected in its local space (ray transformed
 * by the inverse of T * Rz * Ry * Rx * S); planar shapes lie in local z = 0,
 * meshes are a sphere, a box and a two-sided plane. The ray parameter is
 * the planar camera depth. Motion re-projects the local surface point with
 * the previous frame's transform of the same instance id and camera.
 *
 * Work is split into bands of 4 full rows taken by a fixed pool of threads; every
 * pixel is computed by exactly one thread from the same inputs, so the
 * bytes never depend on the thread count. Rendering allocates nothing;
 * lx_raster_new() allocates for the program's largest frame. */
#ifndef LATTICE_RASTER_H
#define LATTICE_RASTER_H

#include "lattice/instance.h"

/* Invariants: every plane is width * height pixels, row-major from the
 * top-left; mask holds n_layers planes, layer k = the k-th distinct layer
 * name in sink order (lx_raster_layer_name). */
typedef struct lx_framebuf {
    uint32_t width, height, n_layers;
    float *rgba;          /* premultiplied linear RGBA, 4 per pixel */
    float *depth;         /* planar camera depth; INFINITY for background */
    float *normal;        /* unit camera-space normal (x right, y up, z toward the viewer); 0 */
    uint32_t *id;         /* stable instance id; 0 for background */
    float *motion;        /* (u, v) pixels, x right, y down: p_f - p_{f-1}, x motion_scale */
    uint8_t *motion_valid;/* 1 where the surface existed in frame f - 1 */
    float *mask;          /* n_layers planes of coverage x opacity x alpha in [0, 1] */
} lx_framebuf_t;

typedef struct lx_raster lx_raster_t;

typedef struct lx_raster_config {
    size_t size;          /* sizeof(lx_raster_config_t) */
    uint32_t width, height; /* 0 = the patch's output size */
    uint32_t threads;     /* 0 = 1 */
    double motion_scale;  /* 0 means 1 */
    /* In [0, 1]: the least opacity x colour alpha of an item that depth,
     * normal, id and motion see; 0 lets every surface in, even invisible
     * ones. */
    double alpha_threshold;
} lx_raster_config_t;
#define LX_RASTER_CONFIG_INIT {sizeof(lx_raster_config_t), 0, 0, 1, 1.0, 0.5}

/* A rasterizer for frames of p (which must outlive it), with its thread
 * pool and buffers; NULL with err set on failure (LX_E_INVALID for a size
 * outside 1..16384 or an alpha threshold outside [0, 1], LX_E_NOMEM). */
lx_raster_t *lx_raster_new(const lx_program_t *p, const lx_alloc_t *alloc,
                           const lx_raster_config_t *cfg, lx_error_t *err);
void lx_raster_destroy(lx_raster_t **self_p);

/* Renders cur. prev is frame f - 1's RenderFrame for motion, or NULL (no
 * history: motion 0, valid 0). The returned buffers belong to the
 * rasterizer and stay valid until the next render. */
const lx_framebuf_t *lx_raster_render(lx_raster_t *r, const lx_render_frame_t *cur,
                                      const lx_render_frame_t *prev);

/* The layers of p: the distinct layer names of its sinks, in sink order
 * (layer k is the first sink's layer not among layers 0..k-1). Mask plane
 * k of every framebuf is layer k, and an export's mask/<layer> files come
 * in this order (lx_export_frame_files), so this is the one definition of
 * both. names must have room for p->n_sinks entries and receives the
 * names, borrowed from p; layer_of_sink (room for p->n_sinks, or NULL)
 * receives each sink's layer. Returns the number of layers. Pure and
 * thread-safe. */
uint32_t lx_raster_layers(const lx_program_t *p, const char **names, uint32_t *layer_of_sink);

uint32_t lx_raster_layer_count(const lx_raster_t *r);
/* The layer name of mask plane k (borrowed from the program). */
const char *lx_raster_layer_name(const lx_raster_t *r, uint32_t k);

/* Copies a RenderFrame into storage for cap items (dst->items must have
 * room); for keeping frame f - 1 while f is evaluated. */
void lx_render_frame_copy(lx_render_frame_t *dst, const lx_render_frame_t *src);

/* Item it's local -> world map, world = l * local + t, l = R * S with R =
 * Rz * Ry * Rx of its rotation in degrees (X applied first): the one
 * definition the rasterizer and the shot measurement (lattice/shot.h)
 * share. Pure. */
void lx_raster_item_xform(const lx_draw_item_t *it, double l[3][3], double t[3]);

/* The local half extents of the bounding box of shape = [kind, a, b, c]
 * (lx_shape_kind_t) as the rasterizer bounds it; all zero for a path,
 * whose points decide, and for an unknown kind. Pure. */
void lx_raster_shape_extent(const double shape[4], double e[3]);

#endif
