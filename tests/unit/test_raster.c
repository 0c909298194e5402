/* The rasterizer against analytic answers: depth of a card at a known
 * distance, motion of translating and rotating cards, sphere normals,
 * partial coverage, faint and invisible items (the alpha threshold), and
 * bytes independent of the thread count. */
#include <math.h>

#include "lattice/raster.h"
#include "runtime_fixture.h"

static const char *s_patch =
    "{\"format\":\"lattice.patch/1\",\"id\":\"r\",\"output\":{\"width\":64,\"height\":48,"
    "\"fps\":24},\"blocks\":[{\"id\":\"t\",\"type\":\"InfiniteTimeRoot\"},"
    "{\"id\":\"s\",\"type\":\"Rect\"},{\"id\":\"draw\",\"type\":\"RenderInstances\","
    "\"params\":{\"layer\":\"cards\"}}],"
    "\"edges\":[{\"from\":\"s.shape\",\"to\":\"draw.shape\"}]}";

/* Four instances, so frames of up to four items render (the rasterizer
 * takes as many items as the program can draw). */
static const char *s_patch4 =
    "{\"format\":\"lattice.patch/1\",\"id\":\"r4\",\"output\":{\"width\":64,\"height\":48,"
    "\"fps\":24},\"blocks\":[{\"id\":\"t\",\"type\":\"InfiniteTimeRoot\"},"
    "{\"id\":\"a\",\"type\":\"Array\",\"params\":{\"count\":4}},"
    "{\"id\":\"s\",\"type\":\"Rect\"},{\"id\":\"draw\",\"type\":\"RenderInstances\","
    "\"params\":{\"layer\":\"cards\"}}],"
    "\"edges\":[{\"from\":\"s.shape\",\"to\":\"draw.shape\"},"
    "{\"from\":\"a.domain\",\"to\":\"draw.domain\"}]}";

static lx_draw_item_t s_item(int kind, double a, double b, double c)
{
    lx_draw_item_t it = {.id = 1, .sink = 0, .element = 0};
    it.shape[0] = kind, it.shape[1] = a, it.shape[2] = b, it.shape[3] = c;
    it.scale[0] = it.scale[1] = it.scale[2] = 1;
    it.color[0] = it.color[1] = it.color[2] = it.color[3] = 1;
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
    c.ortho_height = 4.8; /* 0.1 units per pixel at 48 pixels */
    c.near = 0.1;
    c.far = 100;
    return c;
}

static lx_raster_t *s_raster_at(const lx_program_t *p, uint32_t threads, double alpha_threshold)
{
    lx_raster_config_t cfg = LX_RASTER_CONFIG_INIT;
    cfg.threads = threads;
    cfg.alpha_threshold = alpha_threshold;
    lx_error_t err = {0};
    lx_raster_t *r = lx_raster_new(p, NULL, &cfg, &err);
    CHECK_MSG(r != NULL, "raster: %s", err.message);
    return r;
}

static lx_raster_t *s_raster(const lx_program_t *p, uint32_t threads)
{
    return s_raster_at(p, threads, 0.5);
}

#define PX(fb, x, y) ((size_t)(y) * (fb)->width + (x))

static void test_depth_and_coverage(const lx_program_t *p)
{
    lx_raster_t *r = s_raster(p, 1);
    if (!r)
        return;
    /* Orthographic, 0.1 units per pixel: a 2x2 card at z = 3 (depth 7)
     * centred covers pixels 22..41 x 14..33 fully. */
    lx_draw_item_t it = s_item(LX_SHAPE_RECT, 2, 2, 0);
    it.position[2] = 3;
    lx_render_frame_t rf = {.camera = s_camera(true), .items = &it, .n_items = 1};
    const lx_framebuf_t *fb = lx_raster_render(r, &rf, NULL);
    CHECK(fb->depth[PX(fb, 32, 24)] == 7.0f);
    CHECK(fb->id[PX(fb, 32, 24)] == 1 && fb->id[PX(fb, 5, 5)] == 0);
    CHECK(isinf(fb->depth[PX(fb, 5, 5)]));
    CHECK(fb->normal[3 * PX(fb, 32, 24) + 2] == 1.0f); /* facing the viewer */
    CHECK(fb->mask[PX(fb, 32, 24)] == 1.0f && fb->mask[PX(fb, 10, 24)] == 0.0f);
    CHECK(fb->rgba[4 * PX(fb, 32, 24) + 3] == 1.0f);
    /* Shift by half a pixel: the edge pixel column is half covered. */
    it.position[0] = 0.05;
    fb = lx_raster_render(r, &rf, NULL);
    float half = fb->mask[PX(fb, 22, 24)];
    CHECK_MSG(fabsf(half - 0.5f) < 1e-6f, "edge coverage %g", half);
    CHECK(lroundf(half * 255) == 128);
    /* Perspective: the card at z = 0 is 10 away; planar depth is 10 at
     * every covered pixel, not only the centre. */
    it.position[0] = 0;
    it.position[2] = 0;
    it.shape[1] = it.shape[2] = 4;
    rf.camera = s_camera(false);
    fb = lx_raster_render(r, &rf, NULL);
    CHECK(fb->depth[PX(fb, 32, 24)] == 10.0f);
    CHECK(fabsf(fb->depth[PX(fb, 36, 27)] - 10.0f) < 1e-5f);
    lx_raster_destroy(&r);
}

static void test_motion(const lx_program_t *p)
{
    lx_raster_t *r = s_raster(p, 1);
    if (!r)
        return;
    /* Translation of (0.3, -0.2) units = (3, 2) pixels (y down). */
    lx_draw_item_t a = s_item(LX_SHAPE_RECT, 2, 2, 0), b = a;
    b.position[0] = 0.3, b.position[1] = -0.2;
    lx_render_frame_t prev = {.camera = s_camera(true), .items = &a, .n_items = 1};
    lx_render_frame_t cur = {.camera = s_camera(true), .items = &b, .n_items = 1};
    const lx_framebuf_t *fb = lx_raster_render(r, &cur, &prev);
    size_t in = PX(fb, 34, 26), out = PX(fb, 5, 5);
    CHECK_MSG(fabsf(fb->motion[2 * in] - 3) < 1e-4f && fabsf(fb->motion[2 * in + 1] - 2) < 1e-4f,
              "motion (%g, %g)", fb->motion[2 * in], fb->motion[2 * in + 1]);
    CHECK(fb->motion_valid[in] == 1 && fb->motion_valid[out] == 0 && fb->motion[2 * out] == 0);
    /* No history: motion 0, invalid. */
    fb = lx_raster_render(r, &cur, NULL);
    CHECK(fb->motion_valid[in] == 0 && fb->motion[2 * in] == 0);
    /* Rotation about Z by 10 degrees: the motion at a pixel is the pixel
     * minus the same local point rotated back by 10 degrees. */
    lx_draw_item_t c = s_item(LX_SHAPE_RECT, 4, 4, 0), d = c;
    d.rotation[2] = 10;
    prev.items = &c;
    cur.items = &d;
    fb = lx_raster_render(r, &cur, &prev);
    int bad = 0;
    for (uint32_t y = 10; y < 38; y++)
        for (uint32_t x = 18; x < 46; x++) {
            size_t i = PX(fb, x, y);
            if (!fb->motion_valid[i])
                continue;
            double wx = (x + 0.5 - 32) * 0.1, wy = (24 - (y + 0.5)) * 0.1;
            double th = -10 * 3.14159265358979323846 / 180;
            double px = wx * cos(th) - wy * sin(th), py = wx * sin(th) + wy * cos(th);
            double ux = (wx - px) / 0.1, uy = -(wy - py) / 0.1;
            bad += fabs(fb->motion[2 * i] - ux) > 1e-3 || fabs(fb->motion[2 * i + 1] - uy) > 1e-3;
        }
    CHECK_MSG(bad == 0, "%d pixels off the analytic rotation field", bad);
    lx_raster_destroy(&r);
}

static void test_sphere_normals(const lx_program_t *p)
{
    lx_raster_t *r = s_raster(p, 2);
    if (!r)
        return;
    lx_draw_item_t s = s_item(LX_SHAPE_SPHERE, 2, 0, 0);
    lx_render_frame_t rf = {.camera = s_camera(true), .items = &s, .n_items = 1};
    const lx_framebuf_t *fb = lx_raster_render(r, &rf, NULL);
    int bad = 0, seen = 0;
    for (uint32_t y = 0; y < fb->height; y++)
        for (uint32_t x = 0; x < fb->width; x++) {
            size_t i = PX(fb, x, y);
            double wx = (x + 0.5 - 32) * 0.1, wy = (24 - (y + 0.5)) * 0.1;
            double rr = wx * wx + wy * wy;
            if (rr >= 4 - 1e-9) {
                bad += fb->id[i] != 0 && rr > 4 + 1e-9;
                continue;
            }
            seen++;
            double nz = sqrt(4 - rr);
            const float *n = &fb->normal[3 * i];
            bad += fabs(n[0] - wx / 2) > 1e-5 || fabs(n[1] - wy / 2) > 1e-5 ||
                   fabs(n[2] - nz / 2) > 1e-5;
            bad += fabs(fb->depth[i] - (10 - nz)) > 1e-4;
        }
    CHECK(seen > 1000);
    CHECK_MSG(bad == 0, "%d pixels off the analytic sphere", bad);
    lx_raster_destroy(&r);
}

static void test_threads_identical(const lx_program_t *p)
{
    lx_draw_item_t items[3] = {s_item(LX_SHAPE_STAR, 5, 2, 1), s_item(LX_SHAPE_BOX, 1, 2, 3),
                               s_item(LX_SHAPE_ELLIPSE, 1.5, 0.7, 0)};
    items[1].rotation[0] = 30, items[1].rotation[1] = 20, items[1].id = 2;
    items[2].position[2] = 1, items[2].color[3] = 0.5, items[2].id = 3;
    lx_render_frame_t rf = {.camera = s_camera(false), .items = items, .n_items = 3};
    lx_raster_t *r1 = s_raster(p, 1), *r2 = s_raster(p, 3);
    if (r1 && r2) {
        const lx_framebuf_t *a = lx_raster_render(r1, &rf, &rf);
        const lx_framebuf_t *b = lx_raster_render(r2, &rf, &rf);
        size_t n = (size_t)a->width * a->height;
        CHECK(memcmp(a->rgba, b->rgba, 4 * n * sizeof(float)) == 0);
        CHECK(memcmp(a->depth, b->depth, n * sizeof(float)) == 0);
        CHECK(memcmp(a->normal, b->normal, 3 * n * sizeof(float)) == 0);
        CHECK(memcmp(a->id, b->id, n * sizeof(uint32_t)) == 0);
        CHECK(memcmp(a->motion, b->motion, 2 * n * sizeof(float)) == 0);
        CHECK(memcmp(a->mask, b->mask, n * sizeof(float)) == 0);
    }
    lx_raster_destroy(&r1);
    lx_raster_destroy(&r2);
}

/* What the depth, normal, id and motion passes see at pixel i: the
 * instance id and planar depth, with the normal and motion checked to be
 * the background's when the id is 0. */
static uint32_t s_seen(const lx_framebuf_t *fb, size_t i, float *depth)
{
    *depth = fb->depth[i];
    if (fb->id[i] == 0) {
        CHECK(isinf(fb->depth[i]));
        CHECK(fb->normal[3 * i] == 0 && fb->normal[3 * i + 1] == 0 && fb->normal[3 * i + 2] == 0);
        CHECK(fb->motion[2 * i] == 0 && fb->motion[2 * i + 1] == 0 && fb->motion_valid[i] == 0);
    }
    return fb->id[i];
}

/* Orthographic, 0.1 units per pixel: a front card (id 1, 2x2 at z = 3,
 * depth 7) over a back card (id 2, 4x4 at z = 0, depth 10), centred. */
static void s_cards(lx_draw_item_t items[2], double front_opacity, double front_alpha)
{
    items[0] = s_item(LX_SHAPE_RECT, 2, 2, 0);
    items[0].position[2] = 3;
    items[0].opacity = front_opacity;
    items[0].color[3] = front_alpha;
    items[1] = s_item(LX_SHAPE_RECT, 4, 4, 0);
    items[1].id = 2;
}

/* Invisible things are absent from the geometry passes and the masks:
 * opacity x alpha below the alpha threshold (0.5 by default) leaves depth,
 * normal, id and motion to what is behind, and masks weigh coverage by
 * opacity x alpha. */
static void test_visibility(const lx_program_t *p)
{
    lx_raster_t *r = s_raster(p, 1);
    if (!r)
        return;
    lx_camera_t cam = s_camera(true);
    size_t c = (size_t)24 * 64 + 32; /* the centre pixel, inside both cards */
    float z;
    /* Opacity 0, alone, with a history: nothing in any pass. */
    lx_draw_item_t items[2];
    s_cards(items, 0, 1);
    lx_render_frame_t one = {.camera = cam, .items = items, .n_items = 1};
    const lx_framebuf_t *fb = lx_raster_render(r, &one, &one);
    CHECK_EQ_INT(s_seen(fb, c, &z), 0);
    CHECK(fb->mask[c] == 0.0f && fb->rgba[4 * c + 3] == 0.0f);
    size_t seen = 0;
    for (size_t i = 0; i < (size_t)fb->width * fb->height; i++)
        seen += fb->id[i] != 0 || !isinf(fb->depth[i]) || fb->motion_valid[i] || fb->mask[i] != 0;
    CHECK_EQ_INT(seen, 0);
    /* Colour alpha 0 at opacity 1: the same, the mask included. */
    s_cards(items, 1, 0);
    fb = lx_raster_render(r, &one, &one);
    CHECK_EQ_INT(s_seen(fb, c, &z), 0);
    CHECK_MSG(fb->mask[c] == 0.0f, "mask %g", fb->mask[c]);
    /* Half alpha: the mask is coverage x opacity x alpha. */
    s_cards(items, 0.8, 0.5);
    fb = lx_raster_render(r, &one, NULL);
    CHECK_MSG(fabsf(fb->mask[c] - 0.4f) < 1e-6f, "mask %g", fb->mask[c]);
    /* Around the default threshold, alone and over the back card. */
    lx_render_frame_t two = {.camera = cam, .items = items, .n_items = 2};
    s_cards(items, 0.49, 1);
    fb = lx_raster_render(r, &one, NULL);
    CHECK_EQ_INT(s_seen(fb, c, &z), 0);
    CHECK(fabsf(fb->mask[c] - 0.49f) < 1e-6f);
    fb = lx_raster_render(r, &two, NULL);
    CHECK(s_seen(fb, c, &z) == 2 && z == 10.0f);
    s_cards(items, 0.51, 1);
    fb = lx_raster_render(r, &two, NULL);
    CHECK(s_seen(fb, c, &z) == 1 && z == 7.0f);
    CHECK(fb->normal[3 * c + 2] == 1.0f);
    s_cards(items, 0.5, 1); /* at the threshold: seen */
    fb = lx_raster_render(r, &two, NULL);
    CHECK(s_seen(fb, c, &z) == 1);
    s_cards(items, 1, 0.49); /* colour alpha counts like opacity */
    fb = lx_raster_render(r, &two, NULL);
    CHECK(s_seen(fb, c, &z) == 2 && z == 10.0f);
    s_cards(items, 0.7, 0.7); /* 0.49: the product decides */
    fb = lx_raster_render(r, &two, NULL);
    CHECK(s_seen(fb, c, &z) == 2);
    /* A faint occluder leaves the moving card behind it its motion: the
     * back card moved by (3, 2) pixels, the front one did not move. */
    s_cards(items, 0.3, 1);
    lx_draw_item_t before[2] = {items[0], items[1]};
    before[1].position[0] = -0.3, before[1].position[1] = 0.2;
    lx_render_frame_t prev = {.camera = cam, .items = before, .n_items = 2};
    fb = lx_raster_render(r, &two, &prev);
    CHECK(s_seen(fb, c, &z) == 2 && fb->motion_valid[c] == 1);
    CHECK_MSG(fabsf(fb->motion[2 * c] - 3) < 1e-4f && fabsf(fb->motion[2 * c + 1] - 2) < 1e-4f,
              "motion (%g, %g)", fb->motion[2 * c], fb->motion[2 * c + 1]);
    /* Colour still sees the faint card: 0.3 of white over the back card. */
    CHECK(fb->rgba[4 * c + 3] == 1.0f);
    lx_raster_destroy(&r);

    /* A configured threshold moves the boundary. */
    r = s_raster_at(p, 1, 0.2);
    if (r) {
        s_cards(items, 0.21, 1);
        fb = lx_raster_render(r, &two, NULL);
        CHECK(s_seen(fb, c, &z) == 1 && z == 7.0f);
        s_cards(items, 0.19, 1);
        fb = lx_raster_render(r, &two, NULL);
        CHECK(s_seen(fb, c, &z) == 2 && z == 10.0f);
    }
    lx_raster_destroy(&r);
    /* Threshold 0 lets every surface in, even an invisible one. */
    r = s_raster_at(p, 1, 0);
    if (r) {
        s_cards(items, 0, 0);
        fb = lx_raster_render(r, &two, NULL);
        CHECK(s_seen(fb, c, &z) == 1 && fb->mask[c] == 1.0f);
    }
    lx_raster_destroy(&r);
    /* Thresholds outside [0, 1] are refused. */
    lx_raster_config_t cfg = LX_RASTER_CONFIG_INIT;
    lx_error_t err = {0};
    cfg.alpha_threshold = 1.5;
    CHECK(lx_raster_new(p, NULL, &cfg, &err) == NULL && err.code == LX_E_INVALID);
    cfg.alpha_threshold = NAN;
    CHECK(lx_raster_new(p, NULL, &cfg, &err) == NULL && err.code == LX_E_INVALID);
}

/* Faint items in the way change no byte between thread counts. */
static void test_visibility_threads(const lx_program_t *p)
{
    lx_draw_item_t items[4] = {s_item(LX_SHAPE_STAR, 5, 2, 1), s_item(LX_SHAPE_BOX, 1, 2, 3),
                               s_item(LX_SHAPE_ELLIPSE, 1.5, 0.7, 0),
                               s_item(LX_SHAPE_RECT, 3, 1, 0)};
    items[0].opacity = 0.3;
    items[1].rotation[0] = 30, items[1].rotation[1] = 20, items[1].id = 2;
    items[2].position[2] = 1, items[2].color[3] = 0.45, items[2].id = 3;
    items[3].position[2] = 2, items[3].opacity = 0.75, items[3].id = 4;
    lx_render_frame_t rf = {.camera = s_camera(false), .items = items, .n_items = 4};
    lx_raster_t *r1 = s_raster(p, 1), *r2 = s_raster(p, 3);
    if (r1 && r2) {
        const lx_framebuf_t *a = lx_raster_render(r1, &rf, &rf);
        const lx_framebuf_t *b = lx_raster_render(r2, &rf, &rf);
        size_t n = (size_t)a->width * a->height, ids[5] = {0};
        for (size_t i = 0; i < n; i++)
            ids[a->id[i] < 5 ? a->id[i] : 0]++;
        CHECK(ids[1] == 0 && ids[3] == 0 && ids[2] > 0 && ids[4] > 0);
        CHECK(memcmp(a->rgba, b->rgba, 4 * n * sizeof(float)) == 0);
        CHECK(memcmp(a->depth, b->depth, n * sizeof(float)) == 0);
        CHECK(memcmp(a->normal, b->normal, 3 * n * sizeof(float)) == 0);
        CHECK(memcmp(a->id, b->id, n * sizeof(uint32_t)) == 0);
        CHECK(memcmp(a->motion, b->motion, 2 * n * sizeof(float)) == 0);
        CHECK(memcmp(a->mask, b->mask, n * sizeof(float)) == 0);
    }
    lx_raster_destroy(&r1);
    lx_raster_destroy(&r2);
}

int main(void)
{
    rt_t rt;
    if (rt_open_text(&rt, s_patch, NULL)) {
        test_depth_and_coverage(rt.p);
        test_motion(rt.p);
        test_sphere_normals(rt.p);
        test_threads_identical(rt.p);
    }
    rt_close(&rt);
    if (rt_open_text(&rt, s_patch4, NULL)) {
        test_visibility(rt.p);
        test_visibility_threads(rt.p);
    }
    rt_close(&rt);
    TEST_MAIN_END();
}
