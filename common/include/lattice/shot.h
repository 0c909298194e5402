/* Shot measurement: what the control tier normalizes by, found before any
 * frame is rendered (docs/export-format.md, "Control images").
 *
 * lx_shot_measure evaluates every exported frame of a plan (and the frame
 * before the first, for motion) without rasterizing, and bounds from each
 * frame's draw items and camera:
 *
 *   - the visible planar depth range: for every item that can be seen (not
 *     fully transparent: clamp(opacity, 0, 1) x colour alpha != 0; an
 *     invertible transform and a non-empty shape; not entirely outside one
 *     of the frustum's four side planes), the exact depth extent of its
 *     shape's bounding volume (box, ellipse, circle or ellipsoid: rects,
 *     planes, boxes and path hulls as boxes, ellipses and spheres exactly,
 *     polygons and stars by their circumscribed circle), clipped to the
 *     camera's [near, far]; the union over all items and frames;
 *   - an upper bound of the per-pixel motion the rasterizer can produce
 *     (before motionScale): for every visible item that also exists in
 *     frame f - 1, from the eight corners of its local bounding box mapped
 *     by both frames' transforms and cameras (see shot.c for the bound and
 *     the items it leaves out).
 *
 * Deterministic: one thread, the frames in order, the project's own math
 * (lattice/dmath.h), so every machine measures the same bits. Cheap:
 * allocation happens once per call, none per frame. */
#ifndef LATTICE_SHOT_H
#define LATTICE_SHOT_H

#include "lattice/export_config.h"

typedef struct lx_shot {
    bool any_surface;               /* some item was visible in some frame */
    double depth_near, depth_far;   /* the visible depth range (when any_surface) */
    double camera_near, camera_far; /* the first exported frame's camera range */
    double motion_max;              /* px, >= 0: bound of |p_f - p_{f-1}| before motionScale */
    uint32_t unbounded;             /* item-frames left out of motion_max (see shot.c) */
    uint64_t frames;                /* frames evaluated, the one before the first included */
} lx_shot_t;

/* Measures plan's frames of p (plan's range, size and frames per cycle are
 * used; the control settings are not). LX_OK with *out filled, or
 * LX_E_NOMEM / LX_E_INVALID (a program that cannot be instantiated) with
 * err set. alloc may be NULL (the default allocator). Pure and thread-safe
 * (it uses its own instance). */
lx_result_t lx_shot_measure(const lx_program_t *p, const lx_export_plan_t *plan,
                            const lx_alloc_t *alloc, lx_shot_t *out, lx_error_t *err);

#endif
