/* The SVG encoder and its outline cache (see lattice/svg.h). */
#include "lattice/svg.h"

#include <math.h>
#include <string.h>

#include "lattice/camera.h"
#include "lattice/dmath.h"
#include "lattice/raster.h"
#include "lattice/shaping.h"
#include "lattice/srgb.h"

/* Outline levels (the local tolerance 2^level) are clamped to this range:
 * below it a curve already has its most chords. */
enum { LEVEL_MIN = -80, LEVEL_MAX = 40, KEY_WORDS = 5 };

/* One cached outline: vertices (x, y) in local units (a path's in its own
 * units, before the shape's scale). */
typedef struct {
    uint64_t key[KEY_WORDS]; /* the bits of kind, a, b, c and the level */
    bool ready;              /* built (a failed build is rebuilt on the next hit) */
    double *v;
    uint32_t n, cap; /* vertices, and room for them */
} entry_t;

struct lx_svg {
    const lx_program_t *p;
    const lx_alloc_t *alloc;
    double tolerance;
    lx_srgb8_table_t srgb;
    entry_t entries[LX_SVG_CACHE_ENTRIES];
    uint32_t n_entries;
    uint32_t table[2 * LX_SVG_CACHE_ENTRIES]; /* open addressing: entry index + 1, 0 = empty */
    double *buf[2]; /* clipping scratch: polygons of records of REC doubles */
    size_t buf_cap; /* records each holds */
    lx_svg_stats_t stats;
};

/* A clipping record: world x, y, z and depth, or after projection pixel
 * x, y. */
enum { REC = 4 };

lx_svg_t *lx_svg_new(const lx_program_t *p, double tolerance, const lx_alloc_t *alloc,
                     lx_error_t *err)
{
    if (!(tolerance >= LX_SVG_TOLERANCE_MIN && tolerance <= LX_SVG_TOLERANCE_MAX)) {
        lx_fail(err, LX_E_INVALID, "svg tolerance %g is outside %g..%g pixels", tolerance,
                LX_SVG_TOLERANCE_MIN, LX_SVG_TOLERANCE_MAX);
        return NULL;
    }
    alloc = alloc ? alloc : lx_alloc_default();
    lx_svg_t *s = lx_calloc(alloc, 1, sizeof *s);
    if (!s) {
        lx_fail(err, LX_E_NOMEM, "out of memory");
        return NULL;
    }
    s->p = p;
    s->alloc = alloc;
    s->tolerance = tolerance;
    lx_srgb8_table_init(&s->srgb);
    return s;
}

void lx_svg_destroy(lx_svg_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    lx_svg_t *s = *self_p;
    for (uint32_t i = 0; i < LX_SVG_CACHE_ENTRIES; i++)
        lx_free(s->alloc, s->entries[i].v);
    lx_free(s->alloc, s->buf[0]);
    lx_free(s->alloc, s->buf[1]);
    lx_free(s->alloc, s);
    *self_p = NULL;
}

lx_svg_stats_t lx_svg_stats(const lx_svg_t *s) { return s->stats; }

/* ---- the cache ------------------------------------------------------ */

static uint64_t s_bits(double v)
{
    uint64_t u;
    memcpy(&u, &v, sizeof u);
    return u;
}

static uint32_t s_hash(const uint64_t *key)
{
    uint64_t h = 0x9E3779B97F4A7C15u;
    for (int i = 0; i < KEY_WORDS; i++) {
        h ^= key[i];
        h *= 0xFF51AFD7ED558CCDu;
        h ^= h >> 33;
    }
    return (uint32_t)h;
}

/* The entry of key: found, or a new one not yet ready (the cache starts
 * over when full; the buffers stay with their slots). */
static entry_t *s_lookup(lx_svg_t *s, const uint64_t *key)
{
    const uint32_t mask = 2 * LX_SVG_CACHE_ENTRIES - 1;
    uint32_t i = s_hash(key) & mask;
    for (; s->table[i]; i = (i + 1) & mask) {
        entry_t *e = &s->entries[s->table[i] - 1];
        if (memcmp(e->key, key, sizeof e->key) == 0) {
            s->stats.hits += e->ready;
            return e;
        }
    }
    if (s->n_entries == LX_SVG_CACHE_ENTRIES) {
        memset(s->table, 0, sizeof s->table);
        s->n_entries = 0;
        s->stats.resets++;
        i = s_hash(key) & mask;
    }
    entry_t *e = &s->entries[s->n_entries];
    s->table[i] = ++s->n_entries;
    memcpy(e->key, key, sizeof e->key);
    e->ready = false;
    e->n = 0;
    return e;
}

/* Room for n vertices in e (its old ones are not kept). */
static bool s_room(lx_svg_t *s, entry_t *e, size_t n)
{
    if (n <= e->cap)
        return true;
    lx_free(s->alloc, e->v);
    e->v = lx_malloc(s->alloc, 2 * n * sizeof *e->v);
    e->cap = e->v ? (uint32_t)n : 0;
    return e->v != NULL;
}

/* ---- outlines ------------------------------------------------------- */

/* The program's Path expression `expr` (its points at *pts, *n of them,
 * closed or not), or false when expr names none. */
static bool s_path_of(const lx_program_t *p, double expr, const double **pts, uint32_t *n,
                      int *closed)
{
    if (!(expr >= 0 && expr < p->n_exprs) || expr != floor(expr))
        return false;
    const lx_expr_t *x = &p->exprs[(uint32_t)expr];
    if (x->op != LX_OP_PATH || x->n_param < 1)
        return false;
    const double *c = p->constants + x->param_off;
    double count = c[0];
    if (!(count >= 0 && count <= 1e6 && count == floor(count) && 2 + count * 6 <= x->n_param))
        return false;
    *pts = c + 1;
    *n = (uint32_t)count;
    *closed = c[1 + (size_t)*n * 6] != 0;
    return true;
}

/* The vertices of a regular polygon (inner < 0) or a star of n points,
 * first vertex on +Y, clockwise: the rasterizer's containment test folds
 * the plane into exactly these sectors. */
static void s_regular(double *v, uint32_t n, double outer, double inner)
{
    bool star = inner >= 0;
    uint32_t m = star ? 2 * n : n;
    for (uint32_t k = 0; k < m; k++) {
        double th = LX_TAU * k / m, r = star && (k & 1) ? inner : outer;
        v[2 * k] = r * lx_sin(th);
        v[2 * k + 1] = r * lx_cos(th);
    }
}

/* Builds e's outline for shape s at local tolerance eps (paths: in path
 * units). Degenerate shapes get no vertices. False when out of memory. */
static bool s_build(lx_svg_t *s, entry_t *e, const double *sh, double eps)
{
    int kind = (int)sh[0];
    e->n = 0;
    switch (kind) {
    case LX_SHAPE_RECT: {
        double hx = fabs(sh[1]) / 2, hy = fabs(sh[2]) / 2;
        if (!(hx > 0 && hy > 0))
            break;
        if (!s_room(s, e, 4))
            return false;
        double v[8] = {-hx, -hy, hx, -hy, hx, hy, -hx, hy};
        memcpy(e->v, v, sizeof v);
        e->n = 4;
        break;
    }
    case LX_SHAPE_ELLIPSE: {
        double a = fabs(sh[1]), b = fabs(sh[2]), r = a > b ? a : b;
        if (!(a > 0 && b > 0))
            break;
        /* N chords of the unit circle stray at most 1 - cos(pi / N) <=
         * (pi / N)^2 / 2 from it; diag(a, b) stretches that by at most r. */
        double want = ceil(LX_PI * sqrt(r / (2 * eps)));
        uint32_t n = want < LX_SVG_MAX_SEGMENTS ? (uint32_t)want : LX_SVG_MAX_SEGMENTS;
        n = (n + 3) / 4 * 4;
        n = n < 8 ? 8 : n;
        if (!s_room(s, e, n))
            return false;
        for (uint32_t k = 0; k < n; k++) {
            double th = LX_TAU * k / n;
            e->v[2 * k] = a * lx_cos(th);
            e->v[2 * k + 1] = b * lx_sin(th);
        }
        e->n = n;
        break;
    }
    case LX_SHAPE_POLYGON:
    case LX_SHAPE_STAR: {
        double n = floor(sh[1]), outer = fabs(sh[2]);
        double inner = kind == LX_SHAPE_STAR ? fabs(sh[3]) : -1;
        if (!(n >= 3 && n <= LX_SVG_MAX_SEGMENTS) || !(outer > 0 || inner > 0))
            break;
        uint32_t m = kind == LX_SHAPE_STAR ? 2 * (uint32_t)n : (uint32_t)n;
        if (!s_room(s, e, m))
            return false;
        s_regular(e->v, (uint32_t)n, outer, inner);
        e->n = m;
        break;
    }
    case LX_SHAPE_PATH: {
        const double *pts;
        uint32_t n;
        int closed;
        if (!s_path_of(s->p, sh[1], &pts, &n, &closed) || n == 0)
            break;
        size_t cap = (size_t)n * 257 + 1;
        if (!s_room(s, e, cap))
            return false;
        e->n = lx_path_flatten(pts, n, closed, 1.0, eps, e->v, (uint32_t)cap);
        break;
    }
    default:
        break;
    }
    if (e->n < 3)
        e->n = 0;
    e->ready = true;
    return true;
}

/* ---- per item ------------------------------------------------------- */

/* v clamped to [0, 1]; NaN counts as 0. */
static double s_unit(double v) { return v > 0 ? (v < 1 ? v : 1) : 0; }

static int s_level(double eps)
{
    int e;
    frexp(eps, &e); /* eps = m * 2^e, m in [0.5, 1): 2^(e - 1) <= eps */
    int k = e - 1;
    return k < LEVEL_MIN ? LEVEL_MIN : k > LEVEL_MAX ? LEVEL_MAX : k;
}

/* Keeps the part of polygon in (n records) where sign * (rec[c] - bound)
 * >= 0 (Sutherland-Hodgman; at most 2n records to out). A concave
 * polygon may come out with zero-width bridges along the bound, which
 * cover no area under either fill rule. */
static uint32_t s_clip(const double *in, uint32_t n, uint32_t c, double bound, double sign,
                       double *out)
{
    uint32_t m = 0;
    for (uint32_t i = 0; i < n; i++) {
        const double *p = in + (size_t)i * REC, *q = in + (size_t)((i + 1) % n) * REC;
        double dp = sign * (p[c] - bound), dq = sign * (q[c] - bound);
        if (dp >= 0)
            memcpy(out + (size_t)m++ * REC, p, REC * sizeof *p);
        if ((dp >= 0) != (dq >= 0)) {
            double t = dp / (dp - dq), *o = out + (size_t)m++ * REC;
            for (int k = 0; k < REC; k++)
                o[k] = p[k] + t * (q[k] - p[k]);
            o[c] = bound;
        }
    }
    return m;
}

/* Room for n records in both scratch buffers, keeping buffer `keep`'s
 * first `used` records. */
static bool s_scratch(lx_svg_t *s, size_t n, int keep, uint32_t used)
{
    if (n <= s->buf_cap)
        return true;
    size_t cap = s->buf_cap ? s->buf_cap : 64;
    while (cap < n)
        cap *= 2;
    double *b[2];
    for (int i = 0; i < 2; i++)
        b[i] = lx_malloc(s->alloc, cap * REC * sizeof(double));
    if (!b[0] || !b[1]) {
        lx_free(s->alloc, b[0]);
        lx_free(s->alloc, b[1]);
        return false;
    }
    if (used)
        memcpy(b[keep], s->buf[keep], (size_t)used * REC * sizeof(double));
    for (int i = 0; i < 2; i++) {
        lx_free(s->alloc, s->buf[i]);
        s->buf[i] = b[i];
    }
    s->buf_cap = cap;
    return true;
}

/* Clips the polygon in buffer *cur (*n records) against one bound into
 * the other buffer, which becomes *cur. False when out of memory. */
static bool s_clip_step(lx_svg_t *s, int *cur, uint32_t *n, uint32_t c, double bound, double sign)
{
    if (!s_scratch(s, 2 * (size_t)*n + 2, *cur, *n))
        return false;
    *n = s_clip(s->buf[*cur], *n, c, bound, sign, s->buf[1 - *cur]);
    *cur = 1 - *cur;
    return true;
}

/* Pixels one local unit can span on the item's box (see lattice/svg.h);
 * 0 when the box lies wholly outside [lo, far] or nothing is finite. */
static double s_scale(const lx_camera_view_t *v, double l[3][3], const double t[3],
                      const double e[3], double lo)
{
    double f = fabs(v->width / (2 * v->half_x)); /* a negative ortho height mirrors */
    double cr[2], cu[2], nl = 0;
    for (int j = 0; j < 2; j++) {
        double col[3] = {l[0][j], l[1][j], l[2][j]};
        cr[j] = col[0] * v->right[0] + col[1] * v->right[1] + col[2] * v->right[2];
        cu[j] = col[0] * v->up[0] + col[1] * v->up[1] + col[2] * v->up[2];
        nl += col[0] * col[0] + col[1] * col[1] + col[2] * col[2];
    }
    if (v->ortho) {
        double sc = f * sqrt(cr[0] * cr[0] + cr[1] * cr[1] + cu[0] * cu[0] + cu[1] * cu[1]);
        return isfinite(sc) ? sc : 0;
    }
    /* The box's corners in camera space (x, y, depth), clipped to depth >=
     * lo: the least depth and the largest |(x, y)| / depth are at the
     * clipped quadrilateral's vertices. */
    double q[4 * REC], o[8 * REC];
    for (int k = 0; k < 4; k++) {
        double lx = k == 1 || k == 2 ? e[0] : -e[0], ly = k >= 2 ? e[1] : -e[1];
        double w[3], d[3];
        for (int i = 0; i < 3; i++)
            w[i] = l[i][0] * lx + l[i][1] * ly + t[i], d[i] = w[i] - v->position[i];
        double *r = q + k * REC;
        r[0] = d[0] * v->right[0] + d[1] * v->right[1] + d[2] * v->right[2];
        r[1] = d[0] * v->up[0] + d[1] * v->up[1] + d[2] * v->up[2];
        r[2] = d[0] * v->forward[0] + d[1] * v->forward[1] + d[2] * v->forward[2];
        r[3] = 0;
    }
    uint32_t n = s_clip(q, 4, 2, lo, 1, o);
    double zmin = INFINITY, rmax = 0;
    for (uint32_t k = 0; k < n; k++) {
        const double *r = o + k * REC;
        double rr = sqrt(r[0] * r[0] + r[1] * r[1]) / r[2];
        zmin = r[2] < zmin ? r[2] : zmin;
        rmax = rr > rmax ? rr : rmax;
    }
    if (n < 3 || zmin > v->far)
        return 0;
    double sc = f * sqrt(nl) * (1 + rmax) / zmin;
    return isfinite(sc) ? sc : 0;
}

/* Appends v rounded half away from zero to 1/1000, without trailing
 * zeros; never "-0". */
static void s_num(lx_strbuf_t *o, double v)
{
    double r = floor(fabs(v) * 1000 + 0.5);
    long long q = (long long)r;
    if (q == 0) {
        lx_strbuf_adds(o, "0");
        return;
    }
    long long ip = q / 1000, fp = q % 1000;
    lx_strbuf_addf(o, "%s%lld", v < 0 ? "-" : "", ip);
    if (fp) {
        char d[5] = {'.', (char)('0' + fp / 100), (char)('0' + fp / 10 % 10), (char)('0' + fp % 10),
                     0};
        int len = 4;
        while (d[len - 1] == '0')
            d[--len] = 0;
        lx_strbuf_adds(o, d);
    }
}

/* Appends text with XML's five special characters escaped and control
 * characters (not allowed in XML 1.0) replaced by '_'. */
static void s_xml_text(lx_strbuf_t *o, const char *t)
{
    for (; *t; t++) {
        unsigned char ch = (unsigned char)*t;
        switch (ch) {
        case '&':
            lx_strbuf_adds(o, "&amp;");
            break;
        case '<':
            lx_strbuf_adds(o, "&lt;");
            break;
        case '>':
            lx_strbuf_adds(o, "&gt;");
            break;
        case '"':
            lx_strbuf_adds(o, "&quot;");
            break;
        case '\'':
            lx_strbuf_adds(o, "&apos;");
            break;
        default:
            lx_strbuf_add(o, ch < 0x20 ? "_" : t, 1);
            break;
        }
    }
}

static void s_fill(lx_svg_t *s, lx_strbuf_t *o, const double *rgb, double opacity)
{
    uint8_t c[3];
    for (int k = 0; k < 3; k++)
        c[k] = lx_srgb8(&s->srgb, (float)s_unit(rgb[k]));
    lx_strbuf_addf(o, "fill=\"#%02x%02x%02x\" fill-opacity=\"", c[0], c[1], c[2]);
    s_num(o, opacity);
    lx_strbuf_adds(o, "\"");
}

/* Appends item it's <path>, or nothing when it draws nothing. False when
 * out of memory. */
static bool s_item(lx_svg_t *s, const lx_camera_view_t *v, const lx_draw_item_t *it, lx_strbuf_t *o)
{
    const double *sh = it->shape;
    double a = s_unit(it->opacity) * s_unit(it->color[3]);
    int kind = isfinite(sh[0]) ? (int)sh[0] : 0;
    bool planar = kind == LX_SHAPE_RECT || kind == LX_SHAPE_ELLIPSE || kind == LX_SHAPE_POLYGON ||
                  kind == LX_SHAPE_STAR || kind == LX_SHAPE_PATH;
    if (!(a > 0) || !planar || !isfinite(sh[1]) || !isfinite(sh[2]) || !isfinite(sh[3]))
        return true;
    double l[3][3], t[3];
    lx_raster_item_xform(it, l, t);
    double det = l[0][0] * (l[1][1] * l[2][2] - l[1][2] * l[2][1]) +
                 l[0][1] * (l[1][2] * l[2][0] - l[1][0] * l[2][2]) +
                 l[0][2] * (l[1][0] * l[2][1] - l[1][1] * l[2][0]);
    if (!(fabs(det) > 1e-300)) /* the rasterizer draws nothing of a singular item */
        return true;
    /* The local box and the key: paths are cached in their own units and
     * scaled here, so one outline serves every scale of a level. */
    double e[3], unit = 1;
    lx_raster_shape_extent(sh, e);
    /* What the outline depends on: signs and c only where they matter. */
    uint64_t key[KEY_WORDS] = {s_bits((double)kind), s_bits(fabs(sh[1])), s_bits(fabs(sh[2])),
                               kind == LX_SHAPE_STAR ? s_bits(fabs(sh[3])) : 0, 0};
    if (kind == LX_SHAPE_POLYGON || kind == LX_SHAPE_STAR)
        key[1] = s_bits(floor(sh[1]));
    if (kind == LX_SHAPE_PATH) {
        const double *pts;
        uint32_t n;
        int closed;
        unit = sh[2];
        if (unit == 0 || !s_path_of(s->p, sh[1], &pts, &n, &closed))
            return true;
        for (uint32_t k = 0; k < n; k++) /* the curves lie in their control points' hull */
            for (int h = 0; h < 3; h++) {
                const double *q = pts + 6 * (size_t)k;
                double px = q[0] + (h ? q[2 * h] : 0), py = q[1] + (h ? q[2 * h + 1] : 0);
                e[0] = fabs(px * unit) > e[0] ? fabs(px * unit) : e[0];
                e[1] = fabs(py * unit) > e[1] ? fabs(py * unit) : e[1];
            }
        key[1] = s_bits(sh[1]);
        key[2] = key[3] = 0;
    }
    if (!(e[0] > 0 && e[1] > 0) || !isfinite(e[0]) || !isfinite(e[1]))
        return true;
    double lo = v->ortho ? v->near : (v->near > 1e-9 ? v->near : 1e-9), far = v->far;
    if (!(far >= lo))
        return true;
    bool curved = kind == LX_SHAPE_ELLIPSE || kind == LX_SHAPE_PATH;
    int level = 0;
    if (curved) {
        double sc = s_scale(v, l, t, e, lo);
        if (!(sc > 0))
            return true;
        level = s_level(s->tolerance / sc / fabs(unit));
        key[4] = (uint64_t)(int64_t)level;
    }
    entry_t *ent = s_lookup(s, key);
    if (!ent->ready) {
        s->stats.misses++;
        if (!s_build(s, ent, sh, ldexp(1.0, level)))
            return false;
    }
    uint32_t n = ent->n;
    if (n < 3)
        return true;
    /* Local -> world, with each vertex's depth. */
    if (!s_scratch(s, n, 0, 0))
        return false;
    int cur = 0;
    bool inside = true;
    for (uint32_t k = 0; k < n; k++) {
        double x = ent->v[2 * k] * unit, y = ent->v[2 * k + 1] * unit, *r = s->buf[0] + k * REC;
        for (int i = 0; i < 3; i++)
            r[i] = l[i][0] * x + l[i][1] * y + t[i];
        double px, py;
        lx_camera_project(v, r, &px, &py, &r[3]);
        inside = inside && r[3] >= lo && r[3] <= far;
    }
    if (!inside && (!s_clip_step(s, &cur, &n, 3, lo, 1) || !s_clip_step(s, &cur, &n, 3, far, -1)))
        return false;
    if (n < 3)
        return true;
    /* Project; the bounding box decides whether the guard band clips. */
    double minx = INFINITY, miny = INFINITY, maxx = -INFINITY, maxy = -INFINITY;
    for (uint32_t k = 0; k < n; k++) {
        double *r = s->buf[cur] + k * REC, px, py, depth;
        if (!lx_camera_project(v, r, &px, &py, &depth) || !isfinite(px) || !isfinite(py))
            return true;
        r[0] = px, r[1] = py, r[2] = r[3] = 0;
        minx = px < minx ? px : minx;
        maxx = px > maxx ? px : maxx;
        miny = py < miny ? py : miny;
        maxy = py > maxy ? py : maxy;
    }
    double w = v->width, h = v->height, g = w > h ? w : h;
    if (maxx <= 0 || maxy <= 0 || minx >= w || miny >= h)
        return true;
    if (minx < -g && !s_clip_step(s, &cur, &n, 0, -g, 1))
        return false;
    if (maxx > w + g && !s_clip_step(s, &cur, &n, 0, w + g, -1))
        return false;
    if (miny < -g && !s_clip_step(s, &cur, &n, 1, -g, 1))
        return false;
    if (maxy > h + g && !s_clip_step(s, &cur, &n, 1, h + g, -1))
        return false;
    if (n < 3)
        return true;
    const lx_program_t *p = s->p;
    lx_strbuf_addf(o, "<path data-id=\"%u\" data-layer=\"", it->id);
    if (it->sink < p->n_sinks)
        s_xml_text(o, p->strings[p->sinks[it->sink].layer]);
    lx_strbuf_adds(o, "\" ");
    s_fill(s, o, it->color, a);
    lx_strbuf_adds(o, " d=\"M");
    for (uint32_t k = 0; k < n; k++) {
        const double *r = s->buf[cur] + k * REC;
        if (k == 1)
            lx_strbuf_adds(o, "L");
        else if (k > 1)
            lx_strbuf_adds(o, " ");
        s_num(o, r[0]);
        lx_strbuf_adds(o, ",");
        s_num(o, r[1]);
    }
    lx_strbuf_adds(o, "Z\"/>\n");
    return true;
}

lx_result_t lx_svg_encode(lx_svg_t *s, const lx_render_frame_t *rf, uint32_t width, uint32_t height,
                          lx_strbuf_t *out, lx_error_t *err)
{
    if (width < 1 || height < 1 || width > 16384 || height > 16384)
        return lx_fail(err, LX_E_INVALID, "svg size %ux%u is outside 1..16384", width, height);
    lx_camera_view_t v;
    lx_camera_view(&rf->camera, width, height, &v);
    lx_strbuf_addf(out,
                   "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                   "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"%u\" "
                   "height=\"%u\" viewBox=\"0 0 %u %u\" fill-rule=\"evenodd\">\n",
                   width, height, width, height);
    const double *bg = s->p->output.background;
    if (s_unit(bg[3]) > 0) {
        lx_strbuf_addf(out, "<rect width=\"%u\" height=\"%u\" ", width, height);
        s_fill(s, out, bg, s_unit(bg[3]));
        lx_strbuf_adds(out, "/>\n");
    }
    for (uint32_t i = 0; i < rf->n_items; i++)
        if (!s_item(s, &v, &rf->items[i], out))
            return lx_fail(err, LX_E_NOMEM, "out of memory for svg outlines");
    lx_strbuf_adds(out, "</svg>\n");
    if (out->failed)
        return lx_fail(err, LX_E_NOMEM, "out of memory for the svg document");
    return LX_OK;
}
