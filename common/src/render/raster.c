/* The band-parallel rasterizer (see lattice/raster.h). */
#include "lattice/raster.h"

#include <math.h>
#include <string.h>

#include "lattice/camera.h"
#include "lattice/dmath.h"
#include "lattice/pool.h"
#include "lattice/shaping.h"
#include "vec3_internal.h"

/* BAND rows of the full width per task; SS x SS coverage samples. Bands
 * rather than 32x32 tiles: threads then write whole lines of every plane,
 * not neighbouring pieces of the same cache lines (with 2 threads, tiles
 * took twice the CPU time of one thread; bands take the same). */
enum { BAND = 4, SS = 4 };

#define PATH_TOLERANCE 0.001 /* local units at scale 1 (docs/runtime.md) */

/* A 3x3 matrix, row-major. A struct, not double[3][3]: ISO C before C23
 * cannot pass a double[3][3] to a const double[3][3] parameter. */
typedef struct {
    double a[3][3];
} mat3_t;

/* An affine transform: world = L * local + T (L = R * S). */
typedef struct {
    mat3_t l;
    double t[3];
} xform_t;

/* What rendering needs of one item, prepared once per frame. */
typedef struct {
    const lx_draw_item_t *it;
    uint32_t id; /* it->id, kept: the item storage may change after the frame */
    uint32_t layer;
    bool visible;
    bool solid;         /* opacity x alpha reaches the threshold: seen by the geometry passes */
    double opacity;     /* clamped to [0, 1] */
    double alpha;       /* colour alpha clamped to [0, 1], for masks and the threshold */
    int x0, y0, x1, y1; /* screen bbox, inclusive-exclusive, clamped */
    xform_t m;          /* local -> world */
    mat3_t inv;         /* (L)^-1 */
    /* local ray at sample (sx, sy): o = o0 + sx*ox + sy*oy, d = d0 + sx*dx + sy*dy */
    double o0[3], ox[3], oy[3], d0[3], dx[3], dy[3];
    const double *path; /* flattened vertices (x, y pairs) at scale 1 */
    uint32_t path_n;
    double extent[3]; /* local bounding box half extents */
} prep_t;

typedef struct {
    uint32_t expr, off, n;
} path_ref_t;

struct lx_raster {
    const lx_program_t *p;
    const lx_alloc_t *alloc;
    lx_pool_t *pool;
    lx_framebuf_t fb;
    double motion_scale;
    double alpha_threshold;
    uint32_t cap_items;
    prep_t *cur, *prev;
    uint32_t n_cur, n_prev;
    uint32_t *prev_of_id; /* id -> index into prev, UINT32_MAX when absent */
    uint32_t max_id;
    uint32_t *layer_of_sink;
    const char **layer_names;
    double *path_vertices;
    path_ref_t *paths;
    uint32_t n_paths;
    lx_camera_view_t view, view_prev;
    bool have_prev;
};

/* ---- small vector helpers ------------------------------------------- */

static void s_mat_vec(const mat3_t *mat, const double *v, double *o)
{
    const double(*m)[3] = mat->a;
    for (int i = 0; i < 3; i++)
        o[i] = m[i][0] * v[0] + m[i][1] * v[1] + m[i][2] * v[2];
}

/* ---- item transforms ------------------------------------------------ */

void lx_raster_item_xform(const lx_draw_item_t *it, double l[3][3], double t[3])
{
    double rad = LX_PI / 180.0;
    double cx = lx_cos(it->rotation[0] * rad), sx = lx_sin(it->rotation[0] * rad);
    double cy = lx_cos(it->rotation[1] * rad), sy = lx_sin(it->rotation[1] * rad);
    double cz = lx_cos(it->rotation[2] * rad), sz = lx_sin(it->rotation[2] * rad);
    /* R = Rz * Ry * Rx: X is applied first. */
    double r[3][3] = {
        {cz * cy, cz * sy * sx - sz * cx, cz * sy * cx + sz * sx},
        {sz * cy, sz * sy * sx + cz * cx, sz * sy * cx - cz * sx},
        {-sy, cy * sx, cy * cx},
    };
    for (int i = 0; i < 3; i++) {
        for (int j = 0; j < 3; j++)
            l[i][j] = r[i][j] * it->scale[j];
        t[i] = it->position[i];
    }
}

static void s_xform(const lx_draw_item_t *it, xform_t *m)
{
    lx_raster_item_xform(it, m->l.a, m->t);
}

static bool s_invert(const mat3_t *mat, mat3_t *out)
{
    const double(*m)[3] = mat->a;
    double(*o)[3] = out->a;
    double c00 = m[1][1] * m[2][2] - m[1][2] * m[2][1];
    double c01 = m[1][2] * m[2][0] - m[1][0] * m[2][2];
    double c02 = m[1][0] * m[2][1] - m[1][1] * m[2][0];
    double det = m[0][0] * c00 + m[0][1] * c01 + m[0][2] * c02;
    if (!(fabs(det) > 1e-300))
        return false;
    double id = 1.0 / det;
    o[0][0] = c00 * id;
    o[0][1] = (m[0][2] * m[2][1] - m[0][1] * m[2][2]) * id;
    o[0][2] = (m[0][1] * m[1][2] - m[0][2] * m[1][1]) * id;
    o[1][0] = c01 * id;
    o[1][1] = (m[0][0] * m[2][2] - m[0][2] * m[2][0]) * id;
    o[1][2] = (m[0][2] * m[1][0] - m[0][0] * m[1][2]) * id;
    o[2][0] = c02 * id;
    o[2][1] = (m[0][1] * m[2][0] - m[0][0] * m[2][1]) * id;
    o[2][2] = (m[0][0] * m[1][1] - m[0][1] * m[1][0]) * id;
    return true;
}

/* v clamped to [0, 1]; NaN counts as 0 (nothing drawn). */
static double s_unit(double v) { return v > 0 ? (v < 1 ? v : 1) : 0; }

static bool s_is_mesh(int kind) { return kind == LX_SHAPE_SPHERE || kind == LX_SHAPE_BOX; }

void lx_raster_shape_extent(const double shape[4], double e[3])
{
    const double *s = shape;
    e[0] = e[1] = e[2] = 0;
    switch ((int)s[0]) {
    case LX_SHAPE_RECT:
    case LX_SHAPE_PLANE:
        e[0] = fabs(s[1]) / 2, e[1] = fabs(s[2]) / 2;
        break;
    case LX_SHAPE_ELLIPSE:
        e[0] = fabs(s[1]), e[1] = fabs(s[2]);
        break;
    case LX_SHAPE_POLYGON:
        e[0] = e[1] = fabs(s[2]);
        break;
    case LX_SHAPE_STAR:
        e[0] = e[1] = fabs(s[2]) > fabs(s[3]) ? fabs(s[2]) : fabs(s[3]);
        break;
    case LX_SHAPE_SPHERE:
        e[0] = e[1] = e[2] = fabs(s[1]);
        break;
    case LX_SHAPE_BOX:
        e[0] = fabs(s[1]) / 2, e[1] = fabs(s[2]) / 2, e[2] = fabs(s[3]) / 2;
        break;
    default:
        break; /* paths: their points decide (see s_extent) */
    }
}

/* Local bounding box half extents of an item's shape: a path's from its
 * flattened points at this item's scale. */
static void s_extent(const prep_t *pi, double e[3])
{
    const double *s = pi->it->shape;
    lx_raster_shape_extent(s, e);
    for (uint32_t k = 0; (int)s[0] == LX_SHAPE_PATH && k < pi->path_n; k++) {
        double ax = fabs(pi->path[2 * k] * s[2]), ay = fabs(pi->path[2 * k + 1] * s[2]);
        e[0] = ax > e[0] ? ax : e[0];
        e[1] = ay > e[1] ? ay : e[1];
    }
}

static const path_ref_t *s_path(const lx_raster_t *r, uint32_t expr)
{
    for (uint32_t i = 0; i < r->n_paths; i++)
        if (r->paths[i].expr == expr)
            return &r->paths[i];
    return NULL;
}

/* Prepares an item for this view: transform, local ray coefficients and
 * the pixels it can touch. */
static void s_prepare(const lx_raster_t *r, const lx_camera_view_t *v, const lx_draw_item_t *it,
                      prep_t *pi, bool motion_only)
{
    memset(pi, 0, sizeof *pi);
    pi->it = it;
    pi->id = it->id;
    pi->layer = r->layer_of_sink[it->sink];
    pi->opacity = s_unit(it->opacity);
    pi->alpha = s_unit(it->color[3]);
    pi->solid = pi->opacity * pi->alpha >= r->alpha_threshold;
    s_xform(it, &pi->m);
    if (!s_invert(&pi->m.l, &pi->inv) || motion_only)
        return;
    int kind = (int)it->shape[0];
    if (kind == LX_SHAPE_PATH) {
        const path_ref_t *pr = s_path(r, (uint32_t)it->shape[1]);
        if (pr) {
            pi->path = r->path_vertices + 2 * (size_t)pr->off;
            pi->path_n = pr->n;
        }
    }
    /* Sample (sx, sy) in pixels -> world ray, then into local space. */
    double cx[3], cy[3], c0[3];
    for (int k = 0; k < 3; k++) {
        double ax = 2.0 * v->half_x / v->width, ay = -2.0 * v->half_y / v->height;
        cx[k] = ax * v->right[k];
        cy[k] = ay * v->up[k];
        c0[k] = -v->half_x * v->right[k] + v->half_y * v->up[k];
    }
    double rel[3] = {v->position[0] - pi->m.t[0], v->position[1] - pi->m.t[1],
                     v->position[2] - pi->m.t[2]};
    if (v->ortho) {
        double o0w[3] = {rel[0] + c0[0], rel[1] + c0[1], rel[2] + c0[2]};
        s_mat_vec(&pi->inv, o0w, pi->o0);
        s_mat_vec(&pi->inv, cx, pi->ox);
        s_mat_vec(&pi->inv, cy, pi->oy);
        s_mat_vec(&pi->inv, v->forward, pi->d0);
    } else {
        double d0w[3] = {v->forward[0] + c0[0], v->forward[1] + c0[1], v->forward[2] + c0[2]};
        s_mat_vec(&pi->inv, rel, pi->o0);
        s_mat_vec(&pi->inv, d0w, pi->d0);
        s_mat_vec(&pi->inv, cx, pi->dx);
        s_mat_vec(&pi->inv, cy, pi->dy);
    }
    /* Screen bbox from the projected local box corners (whole screen when
     * a corner is behind the camera). */
    s_extent(pi, pi->extent);
    const double *e = pi->extent;
    if (e[0] == 0 && e[1] == 0 && e[2] == 0)
        return;
    double minx = INFINITY, miny = INFINITY, maxx = -INFINITY, maxy = -INFINITY;
    bool whole = false;
    for (int c = 0; c < 8; c++) {
        double lp[3] = {c & 1 ? e[0] : -e[0], c & 2 ? e[1] : -e[1], c & 4 ? e[2] : -e[2]};
        double wp[3];
        s_mat_vec(&pi->m.l, lp, wp);
        for (int k = 0; k < 3; k++)
            wp[k] += pi->m.t[k];
        double px, py, depth;
        if (!lx_camera_project(v, wp, &px, &py, &depth)) {
            whole = true;
            break;
        }
        minx = px < minx ? px : minx;
        maxx = px > maxx ? px : maxx;
        miny = py < miny ? py : miny;
        maxy = py > maxy ? py : maxy;
    }
    if (whole) {
        minx = miny = 0;
        maxx = v->width;
        maxy = v->height;
    }
    double x0 = floor(minx) - 1, y0 = floor(miny) - 1, x1 = ceil(maxx) + 1, y1 = ceil(maxy) + 1;
    pi->x0 = x0 < 0 ? 0 : x0 > v->width ? (int)v->width : (int)x0;
    pi->y0 = y0 < 0 ? 0 : y0 > v->height ? (int)v->height : (int)y0;
    pi->x1 = x1 < 0 ? 0 : x1 > v->width ? (int)v->width : (int)x1;
    pi->y1 = y1 < 0 ? 0 : y1 > v->height ? (int)v->height : (int)y1;
    pi->visible = pi->x1 > pi->x0 && pi->y1 > pi->y0;
}

/* ---- shape tests ---------------------------------------------------- */

/* Regular polygon / star containment in the local plane, first vertex on
 * +Y, by folding the point into one half-sector. */
static bool s_in_regular(double x, double y, double n, double outer, double inner, bool star)
{
    double rr = sqrt(x * x + y * y);
    if (rr > fabs(outer > inner ? outer : inner))
        return false;
    if (!(n >= 3))
        return false;
    double alpha = LX_TAU / n;
    double th = lx_atan2(x, y); /* angle from +Y, clockwise */
    if (th < 0)
        th += LX_TAU;
    double phi = th - floor(th / alpha) * alpha;
    if (phi > alpha / 2)
        phi = alpha - phi;
    double qx = rr * lx_sin(phi), qy = rr * lx_cos(phi);
    double ix, iy;
    if (star) {
        ix = inner * lx_sin(alpha / 2), iy = inner * lx_cos(alpha / 2);
    } else {
        ix = outer * lx_sin(alpha), iy = outer * lx_cos(alpha);
    }
    /* Same side of the edge outer-vertex -> next vertex as the origin. */
    double ex = ix - 0, ey = iy - outer;
    double cq = ex * (qy - outer) - ey * (qx - 0);
    double co = ex * (0 - outer) - ey * (0 - 0);
    return cq == 0 || (cq > 0) == (co > 0);
}

static bool s_in_path(const prep_t *pi, double x, double y)
{
    double s = pi->it->shape[2];
    if (s == 0 || pi->path_n < 3)
        return false;
    x /= s, y /= s;
    bool in = false;
    const double *v = pi->path;
    for (uint32_t i = 0, j = pi->path_n - 1; i < pi->path_n; j = i++) {
        double xi = v[2 * i], yi = v[2 * i + 1], xj = v[2 * j], yj = v[2 * j + 1];
        if ((yi > y) != (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi)
            in = !in;
    }
    return in;
}

static bool s_in_planar(const prep_t *pi, double x, double y)
{
    const double *s = pi->it->shape;
    switch ((int)s[0]) {
    case LX_SHAPE_RECT:
    case LX_SHAPE_PLANE:
        return fabs(x) <= fabs(s[1]) / 2 && fabs(y) <= fabs(s[2]) / 2;
    case LX_SHAPE_ELLIPSE: {
        if (s[1] == 0 || s[2] == 0)
            return false;
        double a = x / s[1], b = y / s[2];
        return a * a + b * b <= 1;
    }
    case LX_SHAPE_POLYGON:
        return s_in_regular(x, y, floor(s[1]), fabs(s[2]), 0, false);
    case LX_SHAPE_STAR:
        return s_in_regular(x, y, floor(s[1]), fabs(s[2]), fabs(s[3]), true);
    case LX_SHAPE_PATH:
        return s_in_path(pi, x, y);
    default:
        return false;
    }
}

/* Intersects the local ray (o, d) with the item: the ray parameter (the
 * planar depth) of the nearest surface in [near, far], the local hit point
 * and local normal. */
static bool s_hit(const prep_t *pi, const double *o, const double *d, double near, double far,
                  double *t_out, double *lp, double *ln)
{
    const double *s = pi->it->shape;
    int kind = (int)s[0];
    if (!s_is_mesh(kind)) {
        if (d[2] == 0)
            return false;
        double t = -o[2] / d[2];
        if (!(t >= near && t <= far))
            return false;
        double x = o[0] + t * d[0], y = o[1] + t * d[1];
        if (!s_in_planar(pi, x, y))
            return false;
        *t_out = t;
        if (lp)
            lp[0] = x, lp[1] = y, lp[2] = 0, ln[0] = 0, ln[1] = 0, ln[2] = 1;
        return true;
    }
    if (kind == LX_SHAPE_SPHERE) {
        double rad = fabs(s[1]);
        double a = lx_vec3_dot(d, d), b = lx_vec3_dot(o, d), c = lx_vec3_dot(o, o) - rad * rad;
        double disc = b * b - a * c;
        if (!(disc >= 0) || a == 0)
            return false;
        double sq = sqrt(disc);
        double t0 = (-b - sq) / a, t1 = (-b + sq) / a;
        double t = t0 >= near ? t0 : t1;
        if (!(t >= near && t <= far))
            return false;
        *t_out = t;
        if (lp) {
            for (int k = 0; k < 3; k++)
                lp[k] = o[k] + t * d[k], ln[k] = lp[k];
        }
        return true;
    }
    /* box: slabs */
    double tmin = -INFINITY, tmax = INFINITY;
    int axis = 0;
    double sign = 1;
    for (int k = 0; k < 3; k++) {
        double h = fabs(s[1 + k]) / 2;
        if (d[k] == 0) {
            if (o[k] < -h || o[k] > h)
                return false;
            continue;
        }
        double ta = (-h - o[k]) / d[k], tb = (h - o[k]) / d[k];
        double lo = ta < tb ? ta : tb, hi = ta < tb ? tb : ta;
        if (lo > tmin) {
            tmin = lo;
            axis = k;
            sign = d[k] > 0 ? -1 : 1;
        }
        if (hi < tmax)
            tmax = hi;
    }
    if (tmin > tmax)
        return false;
    double t = tmin >= near ? tmin : tmax;
    if (!(t >= near && t <= far))
        return false;
    *t_out = t;
    if (lp) {
        for (int k = 0; k < 3; k++)
            lp[k] = o[k] + t * d[k], ln[k] = 0;
        ln[axis] = tmin >= near ? sign : -sign;
    }
    return true;
}

static void s_local_ray(const prep_t *pi, bool ortho, double sx, double sy, double *o, double *d)
{
    for (int k = 0; k < 3; k++) {
        if (ortho) {
            o[k] = pi->o0[k] + sx * pi->ox[k] + sy * pi->oy[k];
            d[k] = pi->d0[k];
        } else {
            o[k] = pi->o0[k];
            d[k] = pi->d0[k] + sx * pi->dx[k] + sy * pi->dy[k];
        }
    }
}

/* ---- per band ------------------------------------------------------- */

static bool s_convex(int kind)
{
    return kind == LX_SHAPE_RECT || kind == LX_SHAPE_PLANE || kind == LX_SHAPE_ELLIPSE ||
           kind == LX_SHAPE_POLYGON;
}

/* Coverage samples (of SS x SS) of pixel (x, y) inside item pi. A planar
 * item's pixel square maps to a convex quadrilateral in its plane: when
 * all four corners land inside a convex shape every sample does, and when
 * all four lie beyond one side of the shape's local box none does. Only
 * the remaining (edge) pixels are sampled one by one. */
static int s_coverage(const prep_t *pi, const lx_camera_view_t *v, uint32_t x, uint32_t y)
{
    int kind = (int)pi->it->shape[0];
    if (!s_is_mesh(kind)) {
        const double *e = pi->extent; /* computed once per frame in s_prepare */
        int in = 0, left = 0, right = 0, below = 0, above = 0;
        bool clipped = false;
        for (int c = 0; c < 4; c++) {
            double o[3], d[3];
            s_local_ray(pi, v->ortho, x + (c & 1), y + (c >> 1), o, d);
            if (d[2] == 0) {
                clipped = true;
                break;
            }
            double t = -o[2] / d[2];
            if (!(t >= v->near && t <= v->far)) {
                clipped = true;
                break;
            }
            double lx = o[0] + t * d[0], ly = o[1] + t * d[1];
            in += s_in_planar(pi, lx, ly);
            left += lx < -e[0];
            right += lx > e[0];
            below += ly < -e[1];
            above += ly > e[1];
        }
        if (!clipped) {
            if (in == 4 && s_convex(kind))
                return SS * SS;
            if (left == 4 || right == 4 || below == 4 || above == 4)
                return 0;
        }
    }
    int covered = 0;
    for (int sy = 0; sy < SS; sy++)
        for (int sx = 0; sx < SS; sx++) {
            double o[3], d[3], t;
            s_local_ray(pi, v->ortho, x + (sx + 0.5) / SS, y + (sy + 0.5) / SS, o, d);
            covered += s_hit(pi, o, d, v->near, v->far, &t, NULL, NULL);
        }
    return covered;
}

static void s_pixel(lx_raster_t *r, uint32_t x, uint32_t y)
{
    const lx_camera_view_t *v = &r->view;
    lx_framebuf_t *fb = &r->fb;
    size_t px = (size_t)y * fb->width + x;
    const double *bg = r->p->output.background;
    double acc[4] = {bg[0] * bg[3], bg[1] * bg[3], bg[2] * bg[3], bg[3]};
    for (uint32_t k = 0; k < fb->n_layers; k++)
        fb->mask[(size_t)k * fb->width * fb->height + px] = 0;
    double best_t = INFINITY, best_lp[3] = {0}, best_ln[3] = {0};
    const prep_t *best = NULL;
    double cx = x + 0.5, cy = y + 0.5;
    for (uint32_t i = 0; i < r->n_cur; i++) {
        const prep_t *pi = &r->cur[i];
        if (!pi->visible || (int)x < pi->x0 || (int)x >= pi->x1 || (int)y < pi->y0 ||
            (int)y >= pi->y1)
            continue;
        /* The geometry passes sample the centre only, where coverage is 1
         * or 0: an item hit there counts when its opacity x alpha reaches
         * the threshold (decided once per frame in s_prepare). */
        if (pi->solid) {
            double o[3], d[3], t, lp[3], ln[3];
            s_local_ray(pi, v->ortho, cx, cy, o, d);
            if (s_hit(pi, o, d, v->near, v->far, &t, lp, ln) && t <= best_t) {
                best_t = t;
                best = pi;
                memcpy(best_lp, lp, sizeof lp);
                memcpy(best_ln, ln, sizeof ln);
            }
        }
        int covered = s_coverage(pi, v, x, y);
        if (!covered)
            continue;
        double cov = covered / (double)(SS * SS);
        const lx_draw_item_t *it = pi->it;
        double a = it->color[3] * pi->opacity * cov;
        for (int c = 0; c < 3; c++)
            acc[c] = it->color[c] * a + acc[c] * (1 - a);
        acc[3] = a + acc[3] * (1 - a);
        float *m = &fb->mask[(size_t)pi->layer * fb->width * fb->height + px];
        double mc = cov * pi->opacity * pi->alpha;
        *m = (float)(mc + *m * (1 - mc));
    }
    for (int c = 0; c < 4; c++)
        fb->rgba[4 * px + c] = (float)acc[c];
    fb->motion[2 * px] = fb->motion[2 * px + 1] = 0;
    fb->motion_valid[px] = 0;
    if (!best) {
        fb->depth[px] = INFINITY;
        fb->normal[3 * px] = fb->normal[3 * px + 1] = fb->normal[3 * px + 2] = 0;
        fb->id[px] = 0;
        return;
    }
    fb->depth[px] = (float)best_t;
    fb->id[px] = best->it->id;
    /* Normal: local -> world by the inverse transpose -> camera space,
     * turned toward the viewer. */
    double nw[3];
    for (int k = 0; k < 3; k++)
        nw[k] = best->inv.a[0][k] * best_ln[0] + best->inv.a[1][k] * best_ln[1] +
                best->inv.a[2][k] * best_ln[2];
    double nc[3] = {lx_vec3_dot(nw, v->right), lx_vec3_dot(nw, v->up),
                    -lx_vec3_dot(nw, v->forward)};
    lx_vec3_normalize(nc);
    double o[3], d[3];
    s_local_ray(best, v->ortho, cx, cy, o, d);
    double dw[3];
    s_mat_vec(&best->m.l, d, dw);
    double dc[3] = {lx_vec3_dot(dw, v->right), lx_vec3_dot(dw, v->up),
                    -lx_vec3_dot(dw, v->forward)};
    if (lx_vec3_dot(nc, dc) > 0)
        nc[0] = -nc[0], nc[1] = -nc[1], nc[2] = -nc[2];
    for (int k = 0; k < 3; k++)
        fb->normal[3 * px + k] = (float)nc[k];
    /* Motion: where this surface point was in frame f - 1. */
    if (!r->have_prev || best->id > r->max_id)
        return;
    uint32_t pj = r->prev_of_id[best->id];
    if (pj == UINT32_MAX)
        return;
    const prep_t *pp = &r->prev[pj];
    double wp[3];
    s_mat_vec(&pp->m.l, best_lp, wp);
    for (int k = 0; k < 3; k++)
        wp[k] += pp->m.t[k];
    double qx, qy, qd;
    if (!lx_camera_project(&r->view_prev, wp, &qx, &qy, &qd))
        return;
    fb->motion[2 * px] = (float)((cx - qx) * r->motion_scale);
    fb->motion[2 * px + 1] = (float)((cy - qy) * r->motion_scale);
    fb->motion_valid[px] = 1;
}

static void s_band(void *ctx, uint32_t band)
{
    lx_raster_t *r = ctx;
    uint32_t y0 = band * BAND;
    for (uint32_t y = y0; y < y0 + BAND && y < r->fb.height; y++)
        for (uint32_t x = 0; x < r->fb.width; x++)
            s_pixel(r, x, y);
}

/* ---- lifecycle ------------------------------------------------------ */

uint32_t lx_raster_layers(const lx_program_t *p, const char **names, uint32_t *layer_of_sink)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < p->n_sinks; i++) {
        const char *name = p->strings[p->sinks[i].layer];
        uint32_t k = 0;
        while (k < n && strcmp(names[k], name) != 0)
            k++;
        if (k == n)
            names[n++] = name;
        if (layer_of_sink)
            layer_of_sink[i] = k;
    }
    return n;
}

static bool s_layers(lx_raster_t *r)
{
    const lx_program_t *p = r->p;
    r->layer_of_sink = lx_calloc(r->alloc, p->n_sinks + 1, sizeof *r->layer_of_sink);
    r->layer_names = lx_calloc(r->alloc, p->n_sinks + 1, sizeof *r->layer_names);
    if (!r->layer_of_sink || !r->layer_names)
        return false;
    r->fb.n_layers = lx_raster_layers(p, r->layer_names, r->layer_of_sink);
    return true;
}

static bool s_flatten_paths(lx_raster_t *r)
{
    const lx_program_t *p = r->p;
    size_t total = 0;
    for (uint32_t e = 0; e < p->n_exprs; e++)
        if (p->exprs[e].op == LX_OP_PATH) {
            r->n_paths++;
            total += (size_t)p->constants[p->exprs[e].param_off] * 257 + 1;
        }
    r->paths = lx_calloc(r->alloc, r->n_paths + 1, sizeof *r->paths);
    r->path_vertices = lx_calloc(r->alloc, 2 * total + 2, sizeof *r->path_vertices);
    if (!r->paths || !r->path_vertices)
        return false;
    uint32_t k = 0, off = 0;
    for (uint32_t e = 0; e < p->n_exprs; e++) {
        const lx_expr_t *x = &p->exprs[e];
        if (x->op != LX_OP_PATH)
            continue;
        const double *c = p->constants + x->param_off;
        uint32_t n = (uint32_t)c[0];
        int closed = c[1 + (size_t)n * 6] != 0;
        uint32_t cap = n * 257 + 1;
        uint32_t got = lx_path_flatten(c + 1, n, closed, 1.0, PATH_TOLERANCE,
                                       r->path_vertices + 2 * (size_t)off, cap);
        r->paths[k++] = (path_ref_t){e, off, got};
        off += got;
    }
    return true;
}

lx_raster_t *lx_raster_new(const lx_program_t *p, const lx_alloc_t *alloc,
                           const lx_raster_config_t *cfg, lx_error_t *err)
{
    alloc = alloc ? alloc : lx_alloc_default();
    lx_raster_config_t def = LX_RASTER_CONFIG_INIT;
    if (!cfg)
        cfg = &def;
    uint32_t w = cfg->width ? cfg->width : p->output.width;
    uint32_t h = cfg->height ? cfg->height : p->output.height;
    if (w < 1 || h < 1 || w > 16384 || h > 16384) {
        lx_fail(err, LX_E_INVALID, "resolution %ux%u is outside 1..16384", w, h);
        return NULL;
    }
    if (!(cfg->alpha_threshold >= 0 && cfg->alpha_threshold <= 1)) {
        lx_fail(err, LX_E_INVALID, "alpha threshold %g is outside [0, 1]", cfg->alpha_threshold);
        return NULL;
    }
    lx_raster_t *r = lx_calloc(alloc, 1, sizeof *r);
    if (!r) {
        lx_fail(err, LX_E_NOMEM, "out of memory");
        return NULL;
    }
    r->p = p;
    r->alloc = alloc;
    r->motion_scale = cfg->motion_scale != 0 ? cfg->motion_scale : 1.0;
    r->alpha_threshold = cfg->alpha_threshold;
    r->fb.width = w;
    r->fb.height = h;
    uint64_t cap = 0;
    for (uint32_t i = 0; i < p->n_sinks; i++)
        cap += p->sinks[i].instance == LX_NONE ? 1 : p->instances[p->sinks[i].instance].count;
    r->cap_items = (uint32_t)cap;
    r->max_id = (uint32_t)cap + 1;
    size_t n = (size_t)w * h;
    bool ok = s_layers(r) && s_flatten_paths(r);
    r->cur = lx_calloc(alloc, cap + 1, sizeof *r->cur);
    r->prev = lx_calloc(alloc, cap + 1, sizeof *r->prev);
    r->prev_of_id = lx_calloc(alloc, r->max_id + 1, sizeof *r->prev_of_id);
    r->fb.rgba = lx_calloc(alloc, 4 * n, sizeof(float));
    r->fb.depth = lx_calloc(alloc, n, sizeof(float));
    r->fb.normal = lx_calloc(alloc, 3 * n, sizeof(float));
    r->fb.id = lx_calloc(alloc, n, sizeof(uint32_t));
    r->fb.motion = lx_calloc(alloc, 2 * n, sizeof(float));
    r->fb.motion_valid = lx_calloc(alloc, n, 1);
    r->fb.mask = lx_calloc(alloc, (size_t)(r->fb.n_layers ? r->fb.n_layers : 1) * n, sizeof(float));
    r->pool = lx_pool_new(cfg->threads, alloc, err);
    if (!ok || !r->cur || !r->prev || !r->prev_of_id || !r->fb.rgba || !r->fb.depth ||
        !r->fb.normal || !r->fb.id || !r->fb.motion || !r->fb.motion_valid || !r->fb.mask ||
        !r->pool) {
        if (r->pool)
            lx_fail(err, LX_E_NOMEM, "out of memory for %ux%u buffers", w, h);
        lx_raster_destroy(&r);
        return NULL;
    }
    for (uint32_t i = 0; i <= r->max_id; i++)
        r->prev_of_id[i] = UINT32_MAX;
    return r;
}

void lx_raster_destroy(lx_raster_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    lx_raster_t *r = *self_p;
    const lx_alloc_t *a = r->alloc;
    lx_pool_destroy(&r->pool);
    lx_free(a, r->cur);
    lx_free(a, r->prev);
    lx_free(a, r->prev_of_id);
    lx_free(a, r->layer_of_sink);
    lx_free(a, r->layer_names);
    lx_free(a, r->paths);
    lx_free(a, r->path_vertices);
    lx_free(a, r->fb.rgba);
    lx_free(a, r->fb.depth);
    lx_free(a, r->fb.normal);
    lx_free(a, r->fb.id);
    lx_free(a, r->fb.motion);
    lx_free(a, r->fb.motion_valid);
    lx_free(a, r->fb.mask);
    lx_free(a, r);
    *self_p = NULL;
}

const lx_framebuf_t *lx_raster_render(lx_raster_t *r, const lx_render_frame_t *cur,
                                      const lx_render_frame_t *prev)
{
    lx_camera_view(&cur->camera, r->fb.width, r->fb.height, &r->view);
    r->n_cur = cur->n_items < r->cap_items ? cur->n_items : r->cap_items;
    for (uint32_t i = 0; i < r->n_cur; i++)
        s_prepare(r, &r->view, &cur->items[i], &r->cur[i], false);
    /* Frame f - 1: transforms by id, and its camera. */
    for (uint32_t i = 0; i < r->n_prev; i++)
        if (r->prev[i].id <= r->max_id)
            r->prev_of_id[r->prev[i].id] = UINT32_MAX;
    r->n_prev = 0;
    r->have_prev = prev != NULL;
    if (prev) {
        lx_camera_view(&prev->camera, r->fb.width, r->fb.height, &r->view_prev);
        r->n_prev = prev->n_items < r->cap_items ? prev->n_items : r->cap_items;
        for (uint32_t i = 0; i < r->n_prev; i++) {
            s_prepare(r, &r->view_prev, &prev->items[i], &r->prev[i], true);
            if (prev->items[i].id <= r->max_id)
                r->prev_of_id[prev->items[i].id] = i;
        }
    }
    lx_pool_run(r->pool, (r->fb.height + BAND - 1) / BAND, s_band, r);
    return &r->fb;
}

uint32_t lx_raster_layer_count(const lx_raster_t *r) { return r->fb.n_layers; }

const char *lx_raster_layer_name(const lx_raster_t *r, uint32_t k)
{
    return k < r->fb.n_layers ? r->layer_names[k] : NULL;
}

void lx_render_frame_copy(lx_render_frame_t *dst, const lx_render_frame_t *src)
{
    dst->time = src->time;
    dst->camera = src->camera;
    dst->n_items = src->n_items;
    memcpy(dst->items, src->items, (size_t)src->n_items * sizeof *src->items);
}
