/* The SVG encoder against the rasterizer and analytic answers: each
 * planar shape's polygon covers the pixel centres the rasterizer's id map
 * shows (but within a pixel of its edges), under orthographic and
 * perspective cameras, across the near plane too; curves stay within the
 * tolerance of the true ellipse; meshes, invisible, singular and
 * non-finite items are left out; bytes are deterministic; a warm cache
 * allocates nothing; out-of-memory at every allocation fails cleanly; the
 * output parses as XML (python3's xml.etree). */
#include <math.h>
#include <stdlib.h>
#include <unistd.h>

#include "lattice/camera.h"
#include "lattice/raster.h"
#include "lattice/svg.h"
#include "runtime_fixture.h"
#include "test_alloc.h"

/* Four instances, a path block (so the program holds a Path expression
 * the items can name) and a grey background. */
static const char *s_patch =
    "{\"format\":\"lattice.patch/1\",\"id\":\"sv\",\"output\":{\"width\":96,\"height\":64,"
    "\"fps\":24,\"background\":[0.2,0.4,0.6,1]},\"blocks\":[{\"id\":\"t\",\"type\":"
    "\"InfiniteTimeRoot\"},{\"id\":\"a\",\"type\":\"Array\",\"params\":{\"count\":4}},"
    "{\"id\":\"s\",\"type\":\"Path\",\"params\":{\"closed\":true,\"points\":["
    "{\"x\":0,\"y\":1,\"outX\":0.8,\"outY\":0,\"inX\":-0.8,\"inY\":0},"
    "{\"x\":1,\"y\":-0.5,\"inX\":0,\"inY\":0.6},"
    "{\"x\":0,\"y\":-0.1},"
    "{\"x\":-1,\"y\":-0.6,\"outX\":0,\"outY\":0.7}]}},"
    "{\"id\":\"draw\",\"type\":\"RenderInstances\",\"params\":{\"layer\":\"cards\"}}],"
    "\"edges\":[{\"from\":\"s.shape\",\"to\":\"draw.shape\"},"
    "{\"from\":\"a.domain\",\"to\":\"draw.domain\"}]}";

enum { W = 96, H = 64 };

static lx_draw_item_t s_item(int kind, double a, double b, double c)
{
    lx_draw_item_t it = {.id = 1, .sink = 0, .element = 0};
    it.shape[0] = kind, it.shape[1] = a, it.shape[2] = b, it.shape[3] = c;
    it.scale[0] = it.scale[1] = it.scale[2] = 1;
    it.color[0] = 1, it.color[1] = 0.5, it.color[2] = 0, it.color[3] = 1;
    it.opacity = 1;
    return it;
}

static lx_camera_t s_camera(bool ortho)
{
    lx_camera_t c = {.projection = ortho ? LX_PROJ_ORTHOGRAPHIC : LX_PROJ_PERSPECTIVE};
    c.position[2] = 10;
    c.up[1] = 1;
    c.forward[2] = -1;
    c.fov_y_deg = 40;
    c.ortho_height = 6.4; /* 0.1 units per pixel at 64 pixels */
    c.near = 0.1;
    c.far = 100;
    return c;
}

static uint32_t s_path_expr(const lx_program_t *p)
{
    for (uint32_t e = 0; e < p->n_exprs; e++)
        if (p->exprs[e].op == LX_OP_PATH)
            return e;
    return 0;
}

/* The polygons of an SVG document: their vertices (x, y pairs) and where
 * each polygon starts, parsed from our own "M x,y L x,y x,y ... Z". */
typedef struct {
    double v[2 * 20000];
    uint32_t n, start[65], count[65], n_polys;
    uint32_t id[65];
} polys_t;

static bool s_parse(const char *svg, polys_t *ps)
{
    ps->n = ps->n_polys = 0;
    const char *q = svg;
    while ((q = strstr(q, "<path data-id=\"")) != NULL) {
        if (ps->n_polys == 64)
            return false;
        uint32_t k = ps->n_polys++;
        ps->id[k] = (uint32_t)strtoul(q + 15, NULL, 10);
        q = strstr(q, " d=\"M");
        if (!q)
            return false;
        q += 5;
        ps->start[k] = ps->n;
        while (*q != 'Z') {
            if (*q == 'L' || *q == ' ')
                q++;
            char *end;
            double x = strtod(q, &end);
            if (*end != ',' || ps->n >= 20000)
                return false;
            double y = strtod(end + 1, &end);
            ps->v[2 * ps->n] = x, ps->v[2 * ps->n + 1] = y;
            ps->n++;
            q = end;
        }
        ps->count[k] = ps->n - ps->start[k];
    }
    return true;
}

/* Even-odd containment of (x, y) in polygon k. */
static bool s_inside(const polys_t *ps, uint32_t k, double x, double y)
{
    const double *v = ps->v + 2 * ps->start[k];
    uint32_t n = ps->count[k];
    bool in = false;
    for (uint32_t i = 0, j = n - 1; i < n; j = i++) {
        double xi = v[2 * i], yi = v[2 * i + 1], xj = v[2 * j], yj = v[2 * j + 1];
        if ((yi > y) != (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi)
            in = !in;
    }
    return in;
}

/* Distance from (x, y) to the boundary of polygon k. */
static double s_edge_dist(const polys_t *ps, uint32_t k, double x, double y)
{
    const double *v = ps->v + 2 * ps->start[k];
    uint32_t n = ps->count[k];
    double best = INFINITY;
    for (uint32_t i = 0, j = n - 1; i < n; j = i++) {
        double ax = v[2 * j], ay = v[2 * j + 1], bx = v[2 * i], by = v[2 * i + 1];
        double dx = bx - ax, dy = by - ay, l2 = dx * dx + dy * dy;
        double t = l2 > 0 ? ((x - ax) * dx + (y - ay) * dy) / l2 : 0;
        t = t < 0 ? 0 : t > 1 ? 1 : t;
        double ex = ax + t * dx - x, ey = ay + t * dy - y, d = sqrt(ex * ex + ey * ey);
        best = d < best ? d : best;
    }
    return best;
}

static char *s_encode(lx_svg_t *s, const lx_render_frame_t *rf)
{
    lx_strbuf_t sb;
    lx_strbuf_init(&sb, NULL);
    lx_error_t err = {0};
    lx_result_t rc = lx_svg_encode(s, rf, W, H, &sb, &err);
    CHECK_MSG(rc == LX_OK, "encode: %s", err.message);
    return lx_strbuf_detach(&sb);
}

static polys_t s_ps;

/* One item under one camera: the SVG polygon and the rasterizer's id map
 * agree at every pixel centre farther than a pixel from the polygon's
 * edge; returns the pixels inside. */
static long s_agree(const lx_program_t *p, lx_raster_t *r, lx_svg_t *s, const lx_draw_item_t *it,
                    bool ortho, const char *what)
{
    lx_render_frame_t rf = {.camera = s_camera(ortho), .items = (lx_draw_item_t *)it, .n_items = 1};
    const lx_framebuf_t *fb = lx_raster_render(r, &rf, NULL);
    char *svg = s_encode(s, &rf);
    (void)p;
    long in = 0, bad = 0;
    if (svg && s_parse(svg, &s_ps) && s_ps.n_polys == 1) {
        for (uint32_t y = 0; y < H; y++)
            for (uint32_t x = 0; x < W; x++) {
                bool a = s_inside(&s_ps, 0, x + 0.5, y + 0.5);
                bool b = fb->id[(size_t)y * W + x] == it->id;
                in += a;
                bad += a != b && s_edge_dist(&s_ps, 0, x + 0.5, y + 0.5) > 1.0;
            }
    } else {
        CHECK_MSG(false, "%s (%s): no polygon in %s", what, ortho ? "ortho" : "persp",
                  svg ? svg : "(null)");
    }
    CHECK_MSG(bad == 0, "%s (%s): %ld pixel centres disagree with the id map", what,
              ortho ? "ortho" : "persp", bad);
    free(svg);
    return in;
}

static void test_agrees_with_raster(const lx_program_t *p)
{
    lx_raster_config_t cfg = LX_RASTER_CONFIG_INIT;
    cfg.width = W, cfg.height = H;
    lx_error_t err = {0};
    lx_raster_t *r = lx_raster_new(p, NULL, &cfg, &err);
    lx_svg_t *s = lx_svg_new(p, 0.25, NULL, &err);
    CHECK(r && s);
    if (!r || !s)
        goto out;
    struct {
        lx_draw_item_t it;
        const char *what;
    } cases[] = {
        {s_item(LX_SHAPE_RECT, 3, 2, 0), "rect"},
        {s_item(LX_SHAPE_ELLIPSE, 2.5, 1.5, 0), "ellipse"},
        {s_item(LX_SHAPE_POLYGON, 7, 2, 0), "polygon"},
        {s_item(LX_SHAPE_STAR, 5, 2.6, 1.1), "star"},
        {s_item(LX_SHAPE_PATH, s_path_expr(p), 2.2, 0), "path"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        lx_draw_item_t it = cases[k].it;
        /* Turned in depth, so perspective foreshortens it. */
        it.rotation[0] = 35, it.rotation[1] = -20, it.rotation[2] = 15;
        it.position[0] = 0.4, it.position[2] = 1;
        long a = s_agree(p, r, s, &it, true, cases[k].what);
        long b = s_agree(p, r, s, &it, false, cases[k].what);
        CHECK_MSG(a > 200 && b > 200, "%s: %ld and %ld pixels inside", cases[k].what, a, b);
    }
    /* Across the near plane: a long card leaning toward the camera, its
     * near end clipped at depth 0.1 as the rasterizer clips it. */
    lx_draw_item_t it = s_item(LX_SHAPE_RECT, 1.5, 30, 0);
    it.rotation[0] = -80;
    it.position[1] = -0.8;
    it.position[2] = 6;
    long in = s_agree(p, r, s, &it, false, "near-clipped rect");
    CHECK(in > 100);
out:
    lx_svg_destroy(&s);
    lx_raster_destroy(&r);
}

/* Every point of the true ellipse lies within the tolerance of the drawn
 * polygon, and every drawn vertex on the ellipse; a larger tolerance
 * draws fewer vertices. */
static void test_tolerance(const lx_program_t *p)
{
    uint32_t counts[2] = {0, 0};
    const double tols[2] = {0.05, 1.0};
    for (int ortho = 0; ortho < 2; ortho++)
        for (int k = 0; k < 2; k++) {
            lx_error_t err = {0};
            lx_svg_t *s = lx_svg_new(p, tols[k], NULL, &err);
            lx_draw_item_t it = s_item(LX_SHAPE_ELLIPSE, 2.5, 1.2, 0);
            it.rotation[0] = ortho ? 0 : 50;
            lx_render_frame_t rf = {.camera = s_camera(ortho), .items = &it, .n_items = 1};
            char *svg = s ? s_encode(s, &rf) : NULL;
            if (!svg || !s_parse(svg, &s_ps) || s_ps.n_polys != 1) {
                CHECK_MSG(false, "no ellipse");
                free(svg);
                lx_svg_destroy(&s);
                continue;
            }
            lx_camera_view_t v;
            lx_camera_view(&rf.camera, W, H, &v);
            double l[3][3], t[3], worst = 0;
            lx_raster_item_xform(&it, l, t);
            for (int i = 0; i < 20000; i++) {
                double th = 2 * 3.14159265358979323846 * i / 20000;
                double lx = 2.5 * cos(th), ly = 1.2 * sin(th), w[3], px, py, z;
                for (int j = 0; j < 3; j++)
                    w[j] = l[j][0] * lx + l[j][1] * ly + t[j];
                CHECK(lx_camera_project(&v, w, &px, &py, &z));
                double d = s_edge_dist(&s_ps, 0, px, py);
                worst = d > worst ? d : worst;
            }
            /* The printed vertices are rounded to 1/1000 of a pixel. */
            CHECK_MSG(worst <= tols[k] + 1e-3, "tolerance %g (%s): %g px from the ellipse", tols[k],
                      ortho ? "ortho" : "persp", worst);
            CHECK(worst > tols[k] / 20); /* and not absurdly finer */
            if (ortho)
                counts[k] = s_ps.count[0];
            free(svg);
            lx_svg_destroy(&s);
        }
    CHECK_MSG(counts[0] > counts[1] && counts[1] >= 8, "%u vs %u vertices", counts[0], counts[1]);
}

/* Painter's order, attributes, what is left out, XML. */
static void test_document(const lx_program_t *p)
{
    lx_error_t err = {0};
    lx_svg_t *s = lx_svg_new(p, 0.25, NULL, &err);
    if (!s)
        return;
    lx_draw_item_t items[8];
    items[0] = s_item(LX_SHAPE_RECT, 3, 3, 0);
    items[0].id = 3;
    items[1] = s_item(LX_SHAPE_SPHERE, 1, 0, 0); /* a mesh: left out */
    items[1].id = 4;
    items[2] = s_item(LX_SHAPE_ELLIPSE, 1, 1, 0);
    items[2].id = 2;
    items[2].opacity = 0.5;
    items[2].color[0] = 0, items[2].color[1] = 0.22, items[2].color[2] = 2; /* clamped */
    items[3] = s_item(LX_SHAPE_RECT, 1, 1, 0);
    items[3].id = 5;
    items[3].position[2] = 20; /* behind the camera: left out */
    items[4] = s_item(LX_SHAPE_RECT, 1, 1, 0);
    items[4].id = 6;
    items[4].scale[1] = 0; /* singular: left out */
    items[5] = s_item(LX_SHAPE_ELLIPSE, NAN, 1, 0);
    items[5].id = 7;
    items[6] = s_item(LX_SHAPE_RECT, 1, 1, 0);
    items[6].id = 8;
    items[6].opacity = 0; /* invisible */
    items[7] = s_item(LX_SHAPE_POLYGON, 6, 1, 0);
    items[7].id = 1;
    items[7].position[0] = 40; /* off the image */
    lx_render_frame_t rf = {.camera = s_camera(false), .items = items, .n_items = 8};
    char *svg = s_encode(s, &rf);
    if (svg) {
        const char *a = strstr(svg, "data-id=\"3\""), *b = strstr(svg, "data-id=\"2\"");
        CHECK_MSG(a && b && a < b, "%s", svg); /* draw order */
        CHECK(strstr(svg, "data-id=\"4\"") == NULL && strstr(svg, "data-id=\"5\"") == NULL &&
              strstr(svg, "data-id=\"6\"") == NULL && strstr(svg, "data-id=\"7\"") == NULL &&
              strstr(svg, "data-id=\"8\"") == NULL && strstr(svg, "data-id=\"1\"") == NULL);
        CHECK(strstr(svg, "data-id=\"3\" data-layer=\"cards\" fill=\"#ffbc00\" "
                          "fill-opacity=\"1\" d=\"M") != NULL);
        /* 0.22 linear is sRGB code 129 (0x81); 2 clamps to 1. */
        CHECK_MSG(strstr(svg, "fill=\"#0081ff\" fill-opacity=\"0.5\"") != NULL, "%s", svg);
        /* The background: (0.2, 0.4, 0.6) linear. */
        CHECK(strstr(svg, "<rect width=\"96\" height=\"64\" fill=\"#7caacb\" "
                          "fill-opacity=\"1\"/>") != NULL);
        CHECK(strncmp(svg, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg ", 44) == 0);
        /* Never a negative zero. */
        for (const char *q = svg; (q = strstr(q, "-0")) != NULL; q += 2)
            CHECK_MSG(q[2] == '.', "negative zero at %.20s", q);
        /* XML, as python3's standard library reads it. */
        char path[] = "/tmp/lx_svg_XXXXXX";
        int fd = mkstemp(path);
        CHECK(fd >= 0);
        if (fd >= 0) {
            size_t len = strlen(svg);
            CHECK(write(fd, svg, len) == (ssize_t)len);
            close(fd);
            char cmd[512];
            snprintf(cmd, sizeof cmd,
                     "python3 -c \"import sys, xml.etree.ElementTree as E; "
                     "r = E.parse(sys.argv[1]).getroot(); "
                     "assert r.tag == '{http://www.w3.org/2000/svg}svg', r.tag; "
                     "assert len(r) == 3, len(r)\" %s",
                     path);
            CHECK_MSG(system(cmd) == 0, "python3 xml.etree rejects %s", svg);
            unlink(path);
        }
    }
    free(svg);
    lx_svg_destroy(&s);
}

/* Determinism and the cache: two encoders give the same bytes; the
 * second frame (the same shapes moved) builds no outline and allocates
 * nothing. */
static void test_cache(const lx_program_t *p)
{
    counter_t c = {0, -1, 0, 0, 0, 0};
    lx_alloc_t alloc = t_alloc_of(&c);
    lx_error_t err = {0};
    lx_svg_t *s = lx_svg_new(p, 0.25, &alloc, &err), *s2 = lx_svg_new(p, 0.25, NULL, &err);
    if (!s || !s2) {
        CHECK(false);
        lx_svg_destroy(&s);
        lx_svg_destroy(&s2);
        return;
    }
    lx_draw_item_t items[4] = {
        s_item(LX_SHAPE_ELLIPSE, 1.5, 1, 0), s_item(LX_SHAPE_STAR, 5, 1.5, 0.6),
        s_item(LX_SHAPE_PATH, s_path_expr(p), 1.3, 0), s_item(LX_SHAPE_RECT, 2, 1, 0)};
    for (int k = 0; k < 4; k++) {
        items[k].id = (uint32_t)k + 1;
        items[k].position[0] = -3 + 2 * k;
        items[k].rotation[0] = 20;
    }
    lx_render_frame_t rf = {.camera = s_camera(false), .items = items, .n_items = 4};
    lx_strbuf_t a, b;
    lx_strbuf_init(&a, &alloc);
    lx_strbuf_init(&b, NULL);
    CHECK(lx_svg_encode(s, &rf, W, H, &a, &err) == LX_OK);
    CHECK(lx_svg_encode(s2, &rf, W, H, &b, &err) == LX_OK);
    CHECK(a.len == b.len && memcmp(a.buf, b.buf, a.len) == 0);
    lx_svg_stats_t st = lx_svg_stats(s);
    CHECK_EQ_INT(st.misses, 4);
    CHECK_EQ_INT(st.hits, 0);
    /* The next frame: moved a little (the same outline levels). */
    for (int k = 0; k < 4; k++)
        items[k].position[1] += 0.05, items[k].rotation[2] += 3;
    long calls = c.calls;
    size_t first = a.len;
    a.len = 0;
    CHECK(lx_svg_encode(s, &rf, W, H, &a, &err) == LX_OK);
    CHECK_MSG(c.calls == calls, "%ld allocations on a warm frame", c.calls - calls);
    st = lx_svg_stats(s);
    CHECK_EQ_INT(st.misses, 4);
    CHECK_EQ_INT(st.hits, 4);
    CHECK(a.len > first / 2);
    /* A warm encoder gives the bytes a fresh one does. */
    b.len = 0;
    lx_svg_t *s3 = lx_svg_new(p, 0.25, NULL, &err);
    CHECK(s3 && lx_svg_encode(s3, &rf, W, H, &b, &err) == LX_OK);
    CHECK(a.len == b.len && memcmp(a.buf, b.buf, a.len) == 0);
    lx_svg_destroy(&s3);
    /* Many shapes: the cache starts over and the bytes stay the same. */
    lx_draw_item_t many[4];
    lx_render_frame_t mf = {.camera = s_camera(true), .items = many, .n_items = 4};
    for (int f = 0; f < 100; f++) {
        for (int k = 0; k < 4; k++) {
            many[k] = s_item(LX_SHAPE_ELLIPSE, 0.5 + 0.01 * (4 * f + k), 0.7, 0);
            many[k].id = (uint32_t)k + 1;
        }
        a.len = b.len = 0;
        lx_svg_t *fresh = lx_svg_new(p, 0.25, NULL, &err);
        CHECK(lx_svg_encode(s, &mf, W, H, &a, &err) == LX_OK);
        CHECK(fresh && lx_svg_encode(fresh, &mf, W, H, &b, &err) == LX_OK);
        if (a.len != b.len || memcmp(a.buf, b.buf, a.len) != 0) {
            CHECK_MSG(false, "frame %d differs from a fresh encoder's", f);
            f = 100;
        }
        lx_svg_destroy(&fresh);
    }
    CHECK(lx_svg_stats(s).resets >= 1);
    lx_strbuf_release(&a);
    lx_strbuf_release(&b);
    lx_svg_destroy(&s);
    lx_svg_destroy(&s2);
    CHECK_EQ_INT(c.live_blocks, 0);
}

/* Bad settings and sizes are refused; out of memory anywhere is an error,
 * never a crash or a leak. */
static void test_errors(const lx_program_t *p)
{
    lx_error_t err = {0};
    CHECK(lx_svg_new(p, 0, NULL, &err) == NULL && err.code == LX_E_INVALID);
    CHECK(lx_svg_new(p, NAN, NULL, &err) == NULL);
    CHECK(lx_svg_new(p, 17, NULL, &err) == NULL);
    lx_svg_t *s = lx_svg_new(p, 0.25, NULL, &err);
    lx_render_frame_t rf = {.camera = s_camera(true), .items = NULL, .n_items = 0};
    lx_strbuf_t sb;
    lx_strbuf_init(&sb, NULL);
    CHECK(s && lx_svg_encode(s, &rf, 0, 10, &sb, &err) == LX_E_INVALID);
    CHECK(s && lx_svg_encode(s, &rf, 10, 10, &sb, &err) == LX_OK);
    lx_strbuf_release(&sb);
    lx_svg_destroy(&s);

    lx_draw_item_t items[3] = {s_item(LX_SHAPE_ELLIPSE, 1.5, 1, 0),
                               s_item(LX_SHAPE_PATH, s_path_expr(p), 1.3, 0),
                               s_item(LX_SHAPE_RECT, 40, 1, 0)};
    items[2].rotation[0] = -85; /* clipped at near: scratch grows */
    rf = (lx_render_frame_t){.camera = s_camera(false), .items = items, .n_items = 3};
    t_fail_each_t f = T_FAIL_EACH_INIT;
    int failures = 0;
    while (t_fail_each_next(&f)) {
        lx_svg_t *x = lx_svg_new(p, 0.25, &f.alloc, &err);
        lx_strbuf_init(&sb, &f.alloc);
        lx_result_t rc = x ? lx_svg_encode(x, &rf, W, H, &sb, &err) : LX_E_NOMEM;
        failures += rc != LX_OK;
        CHECK(rc == LX_OK || rc == LX_E_NOMEM);
        lx_strbuf_release(&sb);
        lx_svg_destroy(&x);
        CHECK_EQ_INT(f.c.live_blocks, 0);
    }
    CHECK(f.total >= 4 && failures == f.total);
}

int main(void)
{
    rt_t rt;
    if (!rt_open_text(&rt, s_patch, NULL))
        TEST_MAIN_END();
    test_agrees_with_raster(rt.p);
    test_tolerance(rt.p);
    test_document(rt.p);
    test_cache(rt.p);
    test_errors(rt.p);
    rt_close(&rt);
    TEST_MAIN_END();
}
