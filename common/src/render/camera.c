/* The camera view (see lattice/camera.h). */
#include "lattice/camera.h"

#include <math.h>
#include <string.h>

#include "lattice/dmath.h"
#include "vec3_internal.h"

void lx_camera_view(const lx_camera_t *c, uint32_t width, uint32_t height, lx_camera_view_t *v)
{
    memcpy(v->position, c->position, sizeof v->position);
    memcpy(v->forward, c->forward, sizeof v->forward);
    double up[3] = {c->up[0], c->up[1], c->up[2]};
    lx_vec3_cross(v->forward, up, v->right);
    if (!lx_vec3_normalize(v->right)) {
        /* up parallel to forward: any perpendicular will do, but always the
         * same one, from an axis far enough from forward. */
        double alt[3] = {0, 0, 1};
        if (fabs(v->forward[2]) > 0.9)
            alt[1] = 1, alt[2] = 0;
        lx_vec3_cross(v->forward, alt, v->right);
        lx_vec3_normalize(v->right);
    }
    lx_vec3_cross(v->right, v->forward, v->up);
    /* The comparison is false for NaN too. */
    double fov =
        c->fov_y_deg > 0.01 && c->fov_y_deg < 179.99 ? c->fov_y_deg : LX_CAMERA_FALLBACK_FOV_DEG;
    v->fov_y_deg = fov;
    v->tan_half_fov = lx_tan(fov * LX_PI / 360.0);
    v->ortho = c->projection == LX_PROJ_ORTHOGRAPHIC;
    v->half_y = v->ortho ? c->ortho_height / 2 : v->tan_half_fov;
    v->half_x = v->half_y * ((double)width / (double)height);
    v->near = c->near;
    v->far = c->far;
    v->width = width;
    v->height = height;
}

bool lx_camera_project(const lx_camera_view_t *v, const double p[3], double *px, double *py,
                       double *depth)
{
    double d[3] = {p[0] - v->position[0], p[1] - v->position[1], p[2] - v->position[2]};
    double z = lx_vec3_dot(d, v->forward), x = lx_vec3_dot(d, v->right), y = lx_vec3_dot(d, v->up);
    *depth = z;
    if (!v->ortho && !(z > 1e-12))
        return false;
    double nx = v->ortho ? x / v->half_x : x / (z * v->half_x);
    double ny = v->ortho ? y / v->half_y : y / (z * v->half_y);
    *px = (nx + 1) * 0.5 * v->width;
    *py = (1 - ny) * 0.5 * v->height;
    return true;
}
