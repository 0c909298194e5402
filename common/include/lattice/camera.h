/* Camera view: the one place that turns a frame's camera (position,
 * forward, up, fov or ortho height) into the basis and projection the
 * pixels are rendered with. The rasterizer projects through it and the
 * export's camera files (camera/trajectory.json, camera_re10k.txt) are
 * written from it, so the files always describe the pixels.
 *
 * Degenerate cameras are made usable, never refused:
 *   - up parallel to forward (or zero): right is forward x (0, 0, 1), or
 *     forward x (0, 1, 0) when forward is within ~25 degrees of the z axis;
 *     a fixed choice, so the same camera always gives the same basis.
 *   - a field of view outside (0.01, 179.99) degrees (or NaN): 40 degrees,
 *     the Camera block's default.
 *
 * Invariants of lx_camera_view_t: right, up and forward are orthonormal
 * and right-handed (right = forward x up, up = right x forward); the
 * camera looks down forward with up toward the top of the image. */
#ifndef LATTICE_CAMERA_H
#define LATTICE_CAMERA_H

#include <stdbool.h>
#include <stdint.h>

#include "lattice/instance.h"

/* The field of view used in place of one outside (0.01, 179.99) degrees. */
#define LX_CAMERA_FALLBACK_FOV_DEG 40.0

typedef struct lx_camera_view {
    double position[3];
    double right[3], up[3], forward[3];
    bool ortho;
    double fov_y_deg;      /* the vertical field of view the pixels use (fallback applied) */
    double tan_half_fov;   /* tan(fov_y_deg / 2): pinhole intrinsics, even for ortho cameras */
    double half_x, half_y; /* the image plane's half extents: at depth 1 (perspective, i.e.
                            * tan_half_fov * aspect, tan_half_fov) or in world units (ortho:
                            * ortho_height / 2 * aspect, ortho_height / 2) */
    double near, far;
    uint32_t width, height;
} lx_camera_view_t;

/* The view of camera c for an image of width x height pixels (both > 0).
 * c->forward must be a unit vector (the Camera block makes it one).
 * Pure and thread-safe; the same inputs give the same bits on every
 * machine. */
void lx_camera_view(const lx_camera_t *c, uint32_t width, uint32_t height, lx_camera_view_t *out);

/* Projects world point p through view v: pixel coordinates (*px right,
 * *py down, from the image's top-left corner; pixel centres at k + 0.5)
 * and the planar camera depth (*depth, along forward). The one projection:
 * the rasterizer's rays invert it, its motion vectors and the SVG artifact
 * use it. *depth is always set; false (and *px, *py untouched) for a
 * perspective view when the depth is not above 1e-12. Pure and
 * thread-safe. */
bool lx_camera_project(const lx_camera_view_t *v, const double p[3], double *px, double *py,
                       double *depth);

#endif
