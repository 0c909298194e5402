/* lx_shot_measure: the control tier's shot-wide depth range and motion
 * bound, from evaluation alone (see lattice/shot.h).
 *
 * Geometry follows the rasterizer (common/src/render/raster.c): an item's
 * world point is L * local + position with L = Rz * Ry * Rx * diag(scale),
 * angles in degrees through lx_sin/lx_cos; planar depth is the distance
 * along the camera's forward axis; surfaces outside the camera's
 * [near, far] are clipped. The bounds below only need to contain what the
 * rasterizer draws, so a shape is replaced by a simple bounding volume.
 *
 * The motion bound. For a local point s of an item, with u, v its image
 * coordinates divided by the image plane's half extents and w its planar
 * depth (w = 1 for an orthographic camera), frame f puts it at
 * x = (u/w + 1) W/2 and frame f - 1 at x' = (u'/w' + 1) W/2, and
 *
 *     u/w - u'/w' = ((u - u') + (u'/w') (w' - w)) / w.
 *
 * u - u' and w' - w are affine in s, so over the local bounding box their
 * largest magnitudes are at its eight corners; u'/w' is a perspective
 * projection, so over the box (all corners in front of the camera) it
 * lies in the hull of the corners' projections; and w >= wmin = max(near,
 * the corners' smallest w), since nothing nearer is drawn. Hence
 *
 *     |x - x'| <= W/2 (max|u - u'| + max|u'/w'| max|w' - w|) / wmin
 *
 * and the same for y with H/2. The bound is exact for orthographic
 * cameras (then it is max|u - u'|) and 0 for an item and camera that do
 * not move. Left out (counted in lx_shot_t.unbounded): an item-frame whose
 * box reaches behind the camera in frame f - 1 (w' <= 0: its projection
 * is unbounded) or whose drawn depth could reach 0 (wmin <= 0), and
 * orthographic cameras without a positive height. */
#include "lattice/shot.h"

#include <math.h>
#include <string.h>

#include "lattice/camera.h"
#include "lattice/dmath.h"
#include "lattice/kernels.h"
#include "lattice/ops.h"
#include "lattice/raster.h"

/* An item's local -> world map and its bounding volume. */
typedef struct {
    double l[3][3]; /* L = R * S, row-major */
    double t[3];
    double e[3]; /* local half extents of the bounding box */
    int volume;  /* how support() bounds the shape */
} body_t;

enum { VOL_BOX, VOL_ELLIPSE, VOL_ELLIPSOID };

static double s_dot(const double *a, const double *b)
{
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
}

/* n . (L column j) */
static double s_col_dot(const body_t *b, const double *n, int j)
{
    return n[0] * b->l[0][j] + n[1] * b->l[1][j] + n[2] * b->l[2][j];
}

/* The support of the body's bounding volume around its origin: the largest
 * n . (L s) over the volume's local points s. */
static double s_support(const body_t *b, const double *n)
{
    double a = s_col_dot(b, n, 0) * b->e[0], c = s_col_dot(b, n, 1) * b->e[1];
    double z = s_col_dot(b, n, 2) * b->e[2];
    switch (b->volume) {
    case VOL_ELLIPSE:
        return sqrt(a * a + c * c);
    case VOL_ELLIPSOID:
        return sqrt(a * a + c * c + z * z);
    default:
        return fabs(a) + fabs(c) + fabs(z);
    }
}

/* A path's half extents from its points and their handles: every cubic
 * segment lies in the hull of its control points. */
static void s_path_extent(const lx_program_t *p, double expr, double scale, double e[3])
{
    if (!(expr >= 0 && expr < p->n_exprs))
        return;
    const lx_expr_t *x = &p->exprs[(uint32_t)expr];
    if (x->op != LX_OP_PATH || x->n_param < 1)
        return;
    const double *c = p->constants + x->param_off;
    double n = c[0];
    if (!(n >= 0 && 1 + n * 6 <= x->n_param))
        return;
    for (uint32_t k = 0; k < (uint32_t)n; k++) {
        const double *q = c + 1 + 6 * (size_t)k;
        for (int h = 0; h < 3; h++) {
            double px = q[0] + (h ? q[2 * h] : 0), py = q[1] + (h ? q[2 * h + 1] : 0);
            double ax = fabs(px * scale), ay = fabs(py * scale);
            e[0] = ax > e[0] ? ax : e[0];
            e[1] = ay > e[1] ? ay : e[1];
        }
    }
}

/* The body of item it, or false when the rasterizer draws nothing of it
 * (a singular transform, an empty shape). */
static bool s_body(const lx_program_t *p, const lx_draw_item_t *it, body_t *b)
{
    lx_raster_item_xform(it, b->l, b->t);
    double(*m)[3] = b->l;
    double det = m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) +
                 m[0][1] * (m[1][2] * m[2][0] - m[1][0] * m[2][2]) +
                 m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
    if (!(fabs(det) > 1e-300))
        return false;
    const double *s = it->shape;
    double *e = b->e;
    /* The rasterizer's box; the volume inside it that support() bounds. */
    lx_raster_shape_extent(s, e);
    int kind = (int)s[0];
    if (kind == LX_SHAPE_PATH)
        s_path_extent(p, s[1], s[2], e);
    b->volume = kind == LX_SHAPE_ELLIPSE || kind == LX_SHAPE_POLYGON || kind == LX_SHAPE_STAR
                    ? VOL_ELLIPSE
                : kind == LX_SHAPE_SPHERE ? VOL_ELLIPSOID
                                          : VOL_BOX;
    /* NaN extents fail the comparison too. */
    return e[0] > 0 || e[1] > 0 || e[2] > 0;
}

/* Whether the body lies entirely outside one of the frustum's four side
 * planes (conservative: false when unsure). rel = origin - camera. */
static bool s_outside(const lx_camera_view_t *v, const body_t *b, const double *rel)
{
    if (!(v->half_x > 0 && v->half_y > 0))
        return false;
    for (int k = 0; k < 4; k++) {
        const double *axis = k < 2 ? v->right : v->up;
        double sign = k & 1 ? -1.0 : 1.0, half = k < 2 ? v->half_x : v->half_y;
        double n[3];
        double offset = 0;
        for (int i = 0; i < 3; i++)
            n[i] = v->ortho ? sign * axis[i] : sign * axis[i] - half * v->forward[i];
        if (v->ortho)
            offset = half;
        /* The nearest point of the body to the inside is still outside. */
        if (s_dot(n, rel) - s_support(b, n) > offset)
            return true;
    }
    return false;
}

/* Image coordinates (u, v divided by the half extents) and planar depth w
 * (1 for orthographic cameras) of world point x. */
static void s_uvw(const lx_camera_view_t *v, const double *x, double out[3])
{
    double d[3] = {x[0] - v->position[0], x[1] - v->position[1], x[2] - v->position[2]};
    out[0] = s_dot(d, v->right) / v->half_x;
    out[1] = s_dot(d, v->up) / v->half_y;
    out[2] = v->ortho ? 1.0 : s_dot(d, v->forward);
}

/* The bound of the header comment for one item, in pixels; false when it
 * has none. */
static bool s_motion_bound(const lx_camera_view_t *v, const lx_camera_view_t *vp, const body_t *b,
                           const body_t *bp, double *out)
{
    if (!(v->half_x > 0 && v->half_y > 0 && vp->half_x > 0 && vp->half_y > 0))
        return false;
    double du = 0, dv = 0, dw = 0, pu = 0, pv = 0, wmin = INFINITY;
    for (int c = 0; c < 8; c++) {
        double s[3] = {c & 1 ? b->e[0] : -b->e[0], c & 2 ? b->e[1] : -b->e[1],
                       c & 4 ? b->e[2] : -b->e[2]};
        double x[3], xp[3], q[3], qp[3];
        for (int i = 0; i < 3; i++) {
            x[i] = b->l[i][0] * s[0] + b->l[i][1] * s[1] + b->l[i][2] * s[2] + b->t[i];
            xp[i] = bp->l[i][0] * s[0] + bp->l[i][1] * s[1] + bp->l[i][2] * s[2] + bp->t[i];
        }
        s_uvw(v, x, q);
        s_uvw(vp, xp, qp);
        if (!(qp[2] > 0))
            return false;
        du = fmax(du, fabs(q[0] - qp[0]));
        dv = fmax(dv, fabs(q[1] - qp[1]));
        dw = fmax(dw, fabs(qp[2] - q[2]));
        pu = fmax(pu, fabs(qp[0] / qp[2]));
        pv = fmax(pv, fabs(qp[1] / qp[2]));
        wmin = fmin(wmin, q[2]);
    }
    if (!v->ortho)
        wmin = fmax(wmin, v->near);
    if (!(wmin > 0))
        return false;
    double bx = v->width / 2.0 * (du + pu * dw) / wmin;
    double by = v->height / 2.0 * (dv + pv * dw) / wmin;
    double m = sqrt(bx * bx + by * by);
    if (!isfinite(m))
        return false;
    *out = m;
    return true;
}

/* The frame whose transforms motion compares with (as the frame
 * renderer's): f - 1, the cycle's last frame for frame 0 of a cyclic
 * patch, none otherwise. */
static int64_t s_prev_of(const lx_program_t *p, const lx_export_plan_t *plan, int64_t f)
{
    if (f > 0)
        return f - 1;
    if (p->time_model.kind == LX_TIME_CYCLIC)
        return (int64_t)plan->sampling.frames_per_cycle - 1;
    return -1;
}

static bool s_visible_paint(const lx_draw_item_t *it)
{
    double op = it->opacity < 0 ? 0 : it->opacity > 1 ? 1 : it->opacity;
    return op * it->color[3] != 0;
}

typedef struct {
    lx_render_frame_t prev;
    uint32_t *prev_of_id; /* id -> index in prev.items, UINT32_MAX when absent */
    uint32_t max_id;
} history_t;

static void s_keep(history_t *h, const lx_render_frame_t *rf)
{
    for (uint32_t i = 0; i < h->prev.n_items; i++)
        if (h->prev.items[i].id <= h->max_id)
            h->prev_of_id[h->prev.items[i].id] = UINT32_MAX;
    lx_render_frame_copy(&h->prev, rf);
    for (uint32_t i = 0; i < h->prev.n_items; i++)
        if (h->prev.items[i].id <= h->max_id)
            h->prev_of_id[h->prev.items[i].id] = i;
}

static void s_frame(const lx_program_t *p, const lx_export_plan_t *plan,
                    const lx_render_frame_t *rf, const history_t *h, bool have_prev, lx_shot_t *out)
{
    lx_camera_view_t v, vp;
    lx_camera_view(&rf->camera, plan->width, plan->height, &v);
    if (have_prev)
        lx_camera_view(&h->prev.camera, plan->width, plan->height, &vp);
    for (uint32_t i = 0; i < rf->n_items; i++) {
        const lx_draw_item_t *it = &rf->items[i];
        body_t b;
        if (!s_visible_paint(it) || !s_body(p, it, &b))
            continue;
        double rel[3] = {b.t[0] - v.position[0], b.t[1] - v.position[1], b.t[2] - v.position[2]};
        double cz = s_dot(rel, v.forward), hz = s_support(&b, v.forward);
        double lo = fmax(cz - hz, v.near), hi = fmin(cz + hz, v.far);
        if (!(lo <= hi) || s_outside(&v, &b, rel))
            continue;
        if (!out->any_surface || lo < out->depth_near)
            out->depth_near = lo;
        if (!out->any_surface || hi > out->depth_far)
            out->depth_far = hi;
        out->any_surface = true;
        uint32_t j = have_prev && it->id <= h->max_id ? h->prev_of_id[it->id] : UINT32_MAX;
        body_t bp;
        if (j == UINT32_MAX)
            continue;
        /* The local points are this frame's shape; frame f - 1 only moves
         * them (its transform, whatever its shape was). */
        double m = 0;
        (void)s_body(p, &h->prev.items[j], &bp);
        memcpy(bp.e, b.e, sizeof bp.e);
        if (s_motion_bound(&v, &vp, &b, &bp, &m))
            out->motion_max = fmax(out->motion_max, m);
        else
            out->unbounded++;
    }
}

lx_result_t lx_shot_measure(const lx_program_t *p, const lx_export_plan_t *plan,
                            const lx_alloc_t *alloc, lx_shot_t *out, lx_error_t *err)
{
    memset(out, 0, sizeof *out);
    alloc = alloc ? alloc : lx_alloc_default();
    lx_instance_config_t icfg = lx_export_plan_instance(plan);
    lx_instance_t *inst = lx_instance_new(p, lx_kernels_table(), alloc, &icfg, err);
    if (!inst)
        return err ? err->code : LX_E_NOMEM;
    history_t h;
    memset(&h, 0, sizeof h);
    h.max_id = plan->n_ids + 1;
    h.prev.items = lx_calloc(alloc, (size_t)plan->n_ids + 1, sizeof *h.prev.items);
    h.prev_of_id = lx_calloc(alloc, (size_t)h.max_id + 1, sizeof *h.prev_of_id);
    lx_result_t rc = LX_OK;
    if (!h.prev.items || !h.prev_of_id)
        rc = lx_fail(err, LX_E_NOMEM, "out of memory for %u draw items", plan->n_ids);
    for (uint32_t i = 0; rc == LX_OK && i <= h.max_id; i++)
        h.prev_of_id[i] = UINT32_MAX;
    const lx_render_frame_t *rf = NULL;
    bool have_prev = false;
    int64_t pf = s_prev_of(p, plan, plan->first);
    if (rc == LX_OK && pf >= 0) {
        if (lx_instance_eval(inst, pf, &rf) != LX_OK)
            rc = lx_fail(err, LX_E_INVALID, "cannot evaluate frame %lld", (long long)pf);
        else
            s_keep(&h, rf), have_prev = true;
    }
    for (int64_t f = plan->first; rc == LX_OK && f <= plan->last; f++) {
        if (lx_instance_eval(inst, f, &rf) != LX_OK) {
            rc = lx_fail(err, LX_E_INVALID, "cannot evaluate frame %lld", (long long)f);
            break;
        }
        if (f == plan->first)
            out->camera_near = rf->camera.near, out->camera_far = rf->camera.far;
        s_frame(p, plan, rf, &h, have_prev, out);
        s_keep(&h, rf);
        have_prev = true;
    }
    out->frames = lx_instance_frames_evaluated(inst);
    lx_free(alloc, h.prev.items);
    lx_free(alloc, h.prev_of_id);
    lx_instance_destroy(&inst);
    return rc;
}
