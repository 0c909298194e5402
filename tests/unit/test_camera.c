/* The camera view: an orthonormal basis and a usable field of view for
 * every camera, degenerate ones included, and camera files that describe
 * the pixels: a point projected with camera_re10k.txt's intrinsics and
 * extrinsics lands where the rasterizer drew it, and trajectory.json
 * carries the same basis and field of view. */
#include <cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <unistd.h>

#include "lattice/camera.h"
#include "lattice/files.h"
#include "lattice/manifest.h"
#include "lattice/raster.h"
#include "runtime_fixture.h"
#include "scratch_dir.h"

enum { W = 96, H = 64 };

static const char *s_patch =
    "{\"format\":\"lattice.patch/1\",\"id\":\"cam\",\"output\":{\"width\":96,\"height\":64,"
    "\"fps\":24},\"blocks\":[{\"id\":\"t\",\"type\":\"InfiniteTimeRoot\"},"
    "{\"id\":\"s\",\"type\":\"Sphere\"},{\"id\":\"draw\",\"type\":\"RenderInstances\","
    "\"params\":{\"layer\":\"balls\"}}],"
    "\"edges\":[{\"from\":\"s.shape\",\"to\":\"draw.shape\"}]}";

static char s_root[256];

/* A camera at pos looking at the origin with up = k * forward (parallel:
 * degenerate) and the given field of view. */
static lx_camera_t s_camera(const double pos[3], double k, double fov)
{
    lx_camera_t c = {.projection = LX_PROJ_PERSPECTIVE, .fov_y_deg = fov, .near = 0.1, .far = 100};
    double len = sqrt(pos[0] * pos[0] + pos[1] * pos[1] + pos[2] * pos[2]);
    for (int i = 0; i < 3; i++) {
        c.position[i] = pos[i];
        c.forward[i] = -pos[i] / len;
        c.up[i] = k * c.forward[i];
    }
    return c;
}

static double s_dot(const double *a, const double *b)
{
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
}

/* Field by field: the struct has padding, which memcmp would compare. */
static bool s_same_view(const lx_camera_view_t *a, const lx_camera_view_t *b)
{
    return memcmp(a->position, b->position, sizeof a->position) == 0 &&
           memcmp(a->right, b->right, sizeof a->right) == 0 &&
           memcmp(a->up, b->up, sizeof a->up) == 0 &&
           memcmp(a->forward, b->forward, sizeof a->forward) == 0 && a->ortho == b->ortho &&
           a->fov_y_deg == b->fov_y_deg && a->tan_half_fov == b->tan_half_fov &&
           a->half_x == b->half_x && a->half_y == b->half_y && a->near == b->near &&
           a->far == b->far && a->width == b->width && a->height == b->height;
}

static void test_view_basis(void)
{
    static const double positions[][3] = {{10, 2, 3}, {0, 0, 10}, {0, -10, 0.5}, {1, 1, 1}};
    static const double ks[] = {1, -2, 0};
    for (size_t i = 0; i < sizeof positions / sizeof positions[0]; i++)
        for (size_t j = 0; j < sizeof ks / sizeof ks[0]; j++) {
            lx_camera_t c = s_camera(positions[i], ks[j], 30);
            lx_camera_view_t v;
            lx_camera_view(&c, W, H, &v);
            const double *r = v.right, *u = v.up, *f = v.forward;
            CHECK_MSG(fabs(s_dot(r, r) - 1) < 1e-12 && fabs(s_dot(u, u) - 1) < 1e-12 &&
                          fabs(s_dot(r, u)) < 1e-12 && fabs(s_dot(r, f)) < 1e-12 &&
                          fabs(s_dot(u, f)) < 1e-12,
                      "camera %zu, up = %g forward: basis not orthonormal", i, ks[j]);
            /* Right-handed: right x up = -forward (the camera looks down -z). */
            double z[3] = {r[1] * u[2] - r[2] * u[1], r[2] * u[0] - r[0] * u[2],
                           r[0] * u[1] - r[1] * u[0]};
            CHECK(fabs(s_dot(z, f) + 1) < 1e-12);
            /* The same camera, the same bits. */
            lx_camera_view_t again;
            lx_camera_view(&c, W, H, &again);
            CHECK(s_same_view(&v, &again));
        }
    /* A regular camera keeps its up and field of view. */
    lx_camera_t c = s_camera(positions[1], 0, 30);
    c.up[1] = 1;
    lx_camera_view_t v;
    lx_camera_view(&c, W, H, &v);
    CHECK(v.up[0] == 0 && v.up[1] == 1 && v.up[2] == 0 && v.right[0] == 1);
    CHECK(v.fov_y_deg == 30 && v.half_y == v.tan_half_fov && v.half_x == v.half_y * W / H);
    /* Fields of view the pixels cannot use fall back to 40 degrees. */
    static const double bad_fov[] = {0, -10, 0.01, 179.99, 180, 1e9};
    for (size_t i = 0; i < sizeof bad_fov / sizeof bad_fov[0]; i++) {
        c.fov_y_deg = bad_fov[i];
        lx_camera_view(&c, W, H, &v);
        CHECK_MSG(v.fov_y_deg == LX_CAMERA_FALLBACK_FOV_DEG, "fov %g", bad_fov[i]);
    }
    c.fov_y_deg = NAN;
    lx_camera_view(&c, W, H, &v);
    CHECK(v.fov_y_deg == LX_CAMERA_FALLBACK_FOV_DEG && isfinite(v.tan_half_fov));
    /* Orthographic: the half extents are the ortho height's. */
    c.projection = LX_PROJ_ORTHOGRAPHIC;
    c.ortho_height = 4.8;
    c.fov_y_deg = 30;
    lx_camera_view(&c, W, H, &v);
    CHECK(v.ortho && v.half_y == 2.4 && v.half_x == 2.4 * W / H);
}

/* The centre of the pixels with instance id 1, weighted by coverage. */
static bool s_centroid(const lx_framebuf_t *fb, double *cx, double *cy)
{
    double sx = 0, sy = 0, sw = 0;
    for (uint32_t y = 0; y < fb->height; y++)
        for (uint32_t x = 0; x < fb->width; x++) {
            double w = fb->mask[(size_t)y * fb->width + x];
            sx += w * (x + 0.5), sy += w * (y + 0.5), sw += w;
        }
    if (!(sw > 0))
        return false;
    *cx = sx / sw, *cy = sy / sw;
    return true;
}

/* Writes the camera files of frames 0 .. n - 1, frame k seen by cams[k]
 * at k / 24 s, into s_root/name. */
static bool s_camera_files(const lx_program_t *p, const lx_camera_t *cams, int n, const char *name,
                           char dir[LX_PATH_MAX])
{
    lx_export_config_t cfg;
    lx_export_config_init(&cfg);
    lx_diags_t d;
    lx_diags_init(&d, NULL);
    char json[96];
    snprintf(json, sizeof json, "{\"frames\":\"0-%d\",\"artifacts\":[\"camera\"]}", n - 1);
    lx_export_plan_t plan;
    lx_error_t err = {0};
    bool ok = lx_export_config_load_json(&cfg, json, strlen(json), &d) == LX_OK &&
              lx_export_plan(p, &cfg, &plan, &d) == LX_OK;
    lx_diags_release(&d);
    lx_manifest_t *m = ok ? lx_manifest_new(p, &plan, NULL, &err) : NULL;
    ok = m != NULL;
    for (int k = 0; ok && k < n; k++)
        ok = lx_manifest_add_frame(m, k, k * 1000.0 / 24, &cams[k], NULL, 0, &err) == LX_OK;
    ok = ok && lx_path_join(dir, s_root, name) && lx_manifest_write(m, dir, NULL, &err) == LX_OK;
    CHECK_MSG(ok, "camera files %s: %s", name, err.message);
    lx_manifest_destroy(&m);
    return ok;
}

/* A white sphere of radius rad at world point P: instance 1. */
static lx_draw_item_t s_sphere(const double P[3], double rad)
{
    lx_draw_item_t it = {.id = 1, .sink = 0, .element = 0, .opacity = 1};
    it.shape[0] = LX_SHAPE_SPHERE, it.shape[1] = rad;
    it.scale[0] = it.scale[1] = it.scale[2] = 1;
    it.color[0] = it.color[1] = it.color[2] = it.color[3] = 1;
    memcpy(it.position, P, sizeof it.position);
    return it;
}

/* The rasterizer draws a small sphere at world point P; the camera files
 * written for the same camera project P onto the sphere's pixels. */
static void s_check_files_match_pixels(const lx_program_t *p, lx_raster_t *r,
                                       const lx_camera_t *cam, const char *name)
{
    static const double P[3] = {0.4, 1.1, -0.7};
    lx_draw_item_t it = s_sphere(P, 0.15);
    lx_render_frame_t rf = {.camera = *cam, .items = &it, .n_items = 1};
    const lx_framebuf_t *fb = lx_raster_render(r, &rf, NULL);
    double px = 0, py = 0;
    CHECK_MSG(s_centroid(fb, &px, &py), "%s: the sphere is not in the picture", name);

    char dir[LX_PATH_MAX], path[LX_PATH_MAX];
    if (!s_camera_files(p, cam, 1, name, dir))
        return;
    size_t len = 0;
    char *text = lx_path_join(path, dir, "camera/camera_re10k.txt")
                     ? lx_read_file(path, 1 << 20, &len, lx_alloc_default())
                     : NULL;
    /* Line 2: timestamp fx fy cx cy 0 0, then the 3x4 world-to-camera
     * matrix (OpenCV axes: x right, y down, z forward). */
    double v[19] = {0};
    const char *line = text ? strchr(text, '\n') : NULL;
    int n = 0;
    for (char *s = line ? (char *)line + 1 : NULL, *end; s && n < 19; s = end, n++) {
        v[n] = strtod(s, &end);
        if (end == s)
            break;
    }
    CHECK_MSG(n == 19, "%s: camera_re10k.txt has %d numbers on line 2", name, n);
    double pc[3];
    for (int k = 0; k < 3; k++)
        pc[k] = v[7 + 4 * k] * P[0] + v[8 + 4 * k] * P[1] + v[9 + 4 * k] * P[2] + v[10 + 4 * k];
    double qx = (v[1] * pc[0] / pc[2] + v[3]) * W, qy = (v[2] * pc[1] / pc[2] + v[4]) * H;
    CHECK_MSG(pc[2] > 0 && fabs(qx - px) < 0.25 && fabs(qy - py) < 0.25,
              "%s: re10k projects to (%g, %g), the pixels are at (%g, %g)", name, qx, qy, px, py);
    free(text);

    /* trajectory.json: the view's basis and field of view, as numbers. */
    lx_camera_view_t view;
    lx_camera_view(cam, W, H, &view);
    text = lx_path_join(path, dir, "camera/trajectory.json")
               ? lx_read_file(path, 1 << 20, &len, lx_alloc_default())
               : NULL;
    cJSON *root = text ? cJSON_Parse(text) : NULL;
    const cJSON *f0 = cJSON_GetArrayItem(cJSON_GetObjectItem(root, "frames"), 0);
    const cJSON *fov = cJSON_GetObjectItem(f0, "fov");
    CHECK_MSG(cJSON_IsNumber(fov) && fov->valuedouble == view.fov_y_deg, "%s: fov", name);
    static const char *const keys[] = {"forward", "up"};
    const double *want[] = {view.forward, view.up};
    for (int k = 0; k < 2; k++) {
        const cJSON *a = cJSON_GetObjectItem(f0, keys[k]);
        bool same = cJSON_GetArraySize(a) == 3;
        for (int i = 0; same && i < 3; i++)
            same = fabs(cJSON_GetArrayItem(a, i)->valuedouble - want[k][i]) < 1e-12;
        CHECK_MSG(same, "%s: trajectory %s differs from the view's", name, keys[k]);
    }
    /* The intrinsics agree with that field of view (fy / height). */
    CHECK_MSG(fabs(v[2] - 0.5 / tan(view.fov_y_deg * acos(-1.0) / 360.0)) < 1e-6, "%s: fy", name);
    cJSON_Delete(root);
    free(text);
}

static void test_files_match_pixels(void)
{
    rt_t rt = {0};
    if (!rt_open_text(&rt, s_patch, NULL))
        return;
    lx_raster_config_t rc = LX_RASTER_CONFIG_INIT;
    lx_error_t err = {0};
    lx_raster_t *r = lx_raster_new(rt.p, NULL, &rc, &err);
    CHECK_MSG(r != NULL, "raster: %s", err.message);
    if (r) {
        static const double pos[3] = {10, 2, 3};
        /* A regular camera, then up parallel and antiparallel to forward,
         * with fields of view out of range. */
        lx_camera_t c = s_camera(pos, 0, 30);
        c.up[1] = 1;
        s_check_files_match_pixels(rt.p, r, &c, "regular");
        c = s_camera(pos, 1, 0);
        s_check_files_match_pixels(rt.p, r, &c, "up-parallel-fov-0");
        c = s_camera(pos, -2, 200);
        s_check_files_match_pixels(rt.p, r, &c, "up-antiparallel-fov-200");
        static const double above[3] = {0.5, 0.2, 10};
        c = s_camera(above, 1, -5);
        s_check_files_match_pixels(rt.p, r, &c, "above-up-parallel");
    }
    lx_raster_destroy(&r);
    rt_close(&rt);
}

/* ---- the readers: CameraCtrl's and VideoX-Fun's ------------------- */

/* A camera file row as CameraCtrl's Camera(entry) reads it: entry[1..4]
 * fx fy cx cy (normalized), entry[7..18] the 3x4 world-to-camera matrix. */
typedef struct {
    double fx, fy, cx, cy;
    double w2c[3][4];
} entry_t;

static bool s_entry(const double *e, entry_t *out)
{
    out->fx = e[1], out->fy = e[2], out->cx = e[3], out->cy = e[4];
    for (int r = 0; r < 3; r++)
        for (int c = 0; c < 4; c++)
            out->w2c[r][c] = e[7 + 4 * r + c];
    return true;
}

/* Up to max rows of 19 numbers: camera_re10k.txt's lines after the first,
 * or camera_wan_fun.json's lists of 18 with the 0 VideoX-Fun's node puts
 * in front (its np.concatenate of a zero column). */
static int s_read_entries(const char *dir, const char *file, entry_t *out, int max)
{
    char path[LX_PATH_MAX];
    size_t len = 0;
    char *text = lx_path_join(path, dir, file)
                     ? lx_read_file(path, 1 << 20, &len, lx_alloc_default())
                     : NULL;
    int n = 0;
    if (text && strstr(file, ".json")) {
        cJSON *root = cJSON_Parse(text);
        for (const cJSON *row = root ? root->child : NULL; row && n < max; row = row->next) {
            double e[19] = {0};
            bool ok = cJSON_GetArraySize(row) == 18;
            for (int k = 0; ok && k < 18; k++)
                e[k + 1] = cJSON_GetArrayItem(row, k)->valuedouble;
            if (ok)
                s_entry(e, &out[n++]);
        }
        cJSON_Delete(root);
    } else if (text) {
        for (char *line = strchr(text, '\n'); line && line[1] && n < max;
             line = strchr(line + 1, '\n')) {
            double e[19];
            char *s = line + 1, *end;
            int k = 0;
            for (; k < 19; k++, s = end) {
                e[k] = strtod(s, &end);
                if (end == s)
                    break;
            }
            if (k == 19)
                s_entry(e, &out[n++]);
        }
    }
    free(text);
    return n;
}

/* o = the inverse of the rigid [R | t] in a (rows of 4). */
static void s_invert(double a[3][4], double o[3][4])
{
    for (int r = 0; r < 3; r++) {
        for (int c = 0; c < 3; c++)
            o[r][c] = a[c][r];
        o[r][3] = -(a[0][r] * a[0][3] + a[1][r] * a[1][3] + a[2][r] * a[2][3]);
    }
}

/* o = a * b for rigid 3x4 transforms. */
static void s_compose(double a[3][4], double b[3][4], double o[3][4])
{
    for (int r = 0; r < 3; r++)
        for (int c = 0; c < 4; c++)
            o[r][c] =
                a[r][0] * b[0][c] + a[r][1] * b[1][c] + a[r][2] * b[2][c] + (c == 3 ? a[r][3] : 0);
}

/* How far (in frame k's pixels) the ray the reader casts through pixel
 * (px, py) of frame k misses world point P: CameraCtrl's
 * process_pose_params (fx or fy rescaled for poses made for 1280x720),
 * get_relative_pose (every pose relative to frame 0's) and ray_condition
 * (pixel -> ((x - cx) / fx, (y - cy) / fy, 1), turned by the relative
 * camera-to-world). */
static double s_reader_miss(const entry_t *e, int k, uint32_t w, uint32_t h, double px, double py,
                            const double P[3])
{
    entry_t c = e[k], first = e[0];
    double pose = 1280.0 / 720.0, sample = (double)w / h;
    if (pose > sample)
        c.fx = h * pose * c.fx / w;
    else
        c.fy = w / pose * c.fy / h;
    double fx = c.fx * w, fy = c.fy * h, cx = c.cx * w, cy = c.cy * h;
    double c2w[3][4], rel[3][4];
    s_invert(c.w2c, c2w);
    s_compose(first.w2c, c2w, rel);
    double d0[3] = {(px - cx) / fx, (py - cy) / fy, 1}, d[3], q[3];
    for (int r = 0; r < 3; r++) {
        d[r] = rel[r][0] * d0[0] + rel[r][1] * d0[1] + rel[r][2] * d0[2];
        /* P in frame 0's camera (the reader's world), from the ray's origin. */
        q[r] = e[0].w2c[r][0] * P[0] + e[0].w2c[r][1] * P[1] + e[0].w2c[r][2] * P[2] +
               e[0].w2c[r][3] - rel[r][3];
    }
    double dd = sqrt(s_dot(d, d)), qq = sqrt(s_dot(q, q));
    double x[3] = {q[1] * d[2] - q[2] * d[1], q[2] * d[0] - q[0] * d[2], q[0] * d[1] - q[1] * d[0]};
    /* The angle between the ray and P, in pixels of frame k's focal length. */
    return sqrt(s_dot(x, x)) / (dd * qq) * fy;
}

/* Two frames, the second seen by another camera: the rasterizer draws a
 * sphere at P in frame 1, and each reader, given the file it reads, casts
 * its ray through those pixels at P. camera_wan_fun.json must hit at
 * every aspect; camera_re10k.txt (normalized by the picture, as
 * RealEstate10K is) hits where the picture is 16:9, as the reader assumes,
 * and misses where the picture is far from it (128x48: fy x 1.5), which
 * is why the Wan-Fun rows exist. */
static void s_check_readers(uint32_t w, uint32_t h)
{
    char patch[1024];
    snprintf(patch, sizeof patch,
             "{\"format\":\"lattice.patch/1\",\"id\":\"cam\",\"output\":{\"width\":%u,"
             "\"height\":%u,\"fps\":24},\"blocks\":[{\"id\":\"t\",\"type\":"
             "\"InfiniteTimeRoot\"},{\"id\":\"s\",\"type\":\"Sphere\"},{\"id\":\"draw\","
             "\"type\":\"RenderInstances\",\"params\":{\"layer\":\"balls\"}}],"
             "\"edges\":[{\"from\":\"s.shape\",\"to\":\"draw.shape\"}]}",
             w, h);
    rt_t rt = {0};
    if (!rt_open_text(&rt, patch, NULL))
        return;
    static const double P[3] = {0.4, 1.1, -0.7}, pos0[3] = {10, 2, 3}, pos1[3] = {6, 5, -4};
    lx_camera_t cams[2] = {s_camera(pos0, 0, 30), s_camera(pos1, 0, 45)};
    cams[0].up[1] = cams[1].up[1] = 1;
    cams[1].up[0] = 0.3; /* a roll */
    lx_raster_config_t rc = LX_RASTER_CONFIG_INIT;
    lx_error_t err = {0};
    lx_raster_t *r = lx_raster_new(rt.p, NULL, &rc, &err);
    lx_draw_item_t it = s_sphere(P, 0.1);
    lx_render_frame_t rf = {.camera = cams[1], .items = &it, .n_items = 1};
    const lx_framebuf_t *fb = r ? lx_raster_render(r, &rf, NULL) : NULL;
    double px = 0, py = 0;
    CHECK_MSG(fb && s_centroid(fb, &px, &py), "%ux%u: the sphere is not in the picture", w, h);

    char name[32], dir[LX_PATH_MAX];
    snprintf(name, sizeof name, "readers-%ux%u", w, h);
    bool ok = s_camera_files(rt.p, cams, 2, name, dir);
    entry_t fun[2], re10k[2];
    int nf = ok ? s_read_entries(dir, "camera/camera_wan_fun.json", fun, 2) : 0;
    int nr = ok ? s_read_entries(dir, "camera/camera_re10k.txt", re10k, 2) : 0;
    CHECK_MSG(nf == 2 && nr == 2, "%s: %d Wan-Fun rows, %d re10k lines", name, nf, nr);
    if (nf == 2 && nr == 2) {
        double miss_fun = s_reader_miss(fun, 1, w, h, px, py, P);
        double miss_re10k = s_reader_miss(re10k, 1, w, h, px, py, P);
        CHECK_MSG(miss_fun < 0.25, "%s: VideoX-Fun's rays miss the sphere by %g px", name,
                  miss_fun);
        /* At 128x48 the reader scales fy by 1.5; at 832x480's aspect by
         * 1.026, less than a pixel this close to the centre. */
        if (w * 9 == h * 16)
            CHECK_MSG(miss_re10k < 0.25, "%s: CameraCtrl's rays miss by %g px", name, miss_re10k);
        if (w == 128 && h == 48)
            CHECK_MSG(miss_re10k > 1, "%s: CameraCtrl's rays from a 128x48 re10k hit (%g px)", name,
                      miss_re10k);
    }
    lx_raster_destroy(&r);
    rt_close(&rt);
}

static void test_camera_readers(void)
{
    s_check_readers(96, 54);  /* 16:9, as the readers assume */
    s_check_readers(104, 60); /* 832x480's aspect: narrower */
    s_check_readers(128, 48); /* wider */
}

int main(void)
{
    if (!t_scratch_dir(s_root, "camera"))
        TEST_MAIN_END();
    test_view_basis();
    test_files_match_pixels();
    test_camera_readers();
    t_scratch_dir_remove(s_root);
    TEST_MAIN_END();
}
