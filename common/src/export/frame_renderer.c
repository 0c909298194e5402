/* One frame's artifacts, in memory: evaluate (with frame f - 1 for motion),
 * rasterize, convert each artifact to its canonical buffer, encode the
 * artifacts in parallel, hash. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "lattice/control.h"
#include "lattice/digest.h"
#include "lattice/dmath.h"
#include "lattice/export.h"
#include "lattice/kernels.h"
#include "lattice/pool.h"
#include "lattice/raster.h"
#include "lattice/srgb.h"
#include "lattice/svg.h"

typedef enum {
    K_RGBA_PNG,
    K_RGBA_EXR,
    K_DEPTH,
    K_MOTION,
    K_NORMAL,
    K_ID,
    K_MASK_PNG,
    K_MASK_EXR,
    K_CONTROL_DEPTH,
    K_CONTROL_DEPTH16,
    K_CONTROL_NORMAL,
    K_CONTROL_FLOW,
    K_CONTROL_SEG,
    K_PARTICLES,
    K_SEMANTIC8,
    K_SEMANTIC16,
    K_EDGES,
    K_SVG
} kind_t;

/* Columns of a particles row: position xyz, displacement since f - 1 xyz,
 * id (docs/export-format.md, "Particles"). */
enum { PARTICLE_COLUMNS = 7 };

/* One artifact file of every frame (lx_export_frame_files): how it is
 * converted and encoded, and its reusable buffers. */
typedef struct {
    kind_t kind;
    uint32_t layer; /* masks */
    lx_export_format_t format;
    const char *ext;
    lx_image_t img;
    void *data; /* the canonical raw buffer the image views */
    size_t data_bytes;
    lx_exr_encoder_t *exr; /* EXR files: kept from frame to frame */
    lx_result_t rc;
    lx_error_t err;
} job_t;

struct lx_frame_renderer {
    const lx_program_t *p;
    lx_export_plan_t plan;
    const lx_alloc_t *alloc;
    lx_instance_t *inst;
    lx_raster_t *raster;
    lx_pool_t *pool;
    lx_clock_fn clock;
    void *clock_user;
    lx_render_frame_t prev;
    int64_t prev_frame; /* the frame held in prev, or -1 */
    const lx_render_frame_t *cur; /* the frame being encoded */
    bool has_prev;                /* prev is its f - 1 */
    uint32_t *prev_of_id;         /* particles: index in prev.items by id, else UINT32_MAX */
    uint16_t *class_of_id;        /* semantic: each instance id's class, [0] = 0 */
    uint8_t *edge_scratch;        /* edges thicker than 1 px: the horizontal pass */
    lx_svg_t *svg;                /* svg: the encoder and its outline cache */
    const lx_framebuf_t *fb;
    const lx_camera_t *camera;
    job_t *jobs;
    lx_artifact_file_t *files;
    uint32_t n_jobs;
    uint32_t *order;           /* jobs by decreasing buffer size: the longest encodes start first */
    lx_srgb8_table_t srgb;     /* linear -> 8-bit sRGB */
    uint8_t wheel[LX_CONTROL_WHEEL_SIZE][3]; /* the flow colour wheel */
    bool reencode;             /* encode the buffers as they are (benchmark floor) */
    lx_frame_result_t result;
};

static double s_now(const lx_frame_renderer_t *fr)
{
    return fr->clock ? fr->clock(fr->clock_user) : 0.0;
}

/* ---- conversions (each pixel written by exactly one task) ----------- */

static uint8_t s_to_srgb8(const lx_frame_renderer_t *fr, float v)
{
    return lx_srgb8(&fr->srgb, v);
}

/* lround(x) for 0 <= x < 2^31, inline: the fraction x - trunc(x) is exact,
 * and halves round up (away from zero), as lround does. */
static long s_round_pos(double x)
{
    long r = (long)x;
    return x - (double)r >= 0.5 ? r + 1 : r;
}

static uint8_t s_u8(double v)
{
    v = v < 0 ? 0 : v > 1 ? 1 : v;
    return (uint8_t)s_round_pos(v * 255.0);
}

static float s_depth01(const lx_frame_renderer_t *fr, float z)
{
    double near = fr->plan.cfg.has_depth_range ? fr->plan.cfg.depth_near : fr->camera->near;
    double far = fr->plan.cfg.has_depth_range ? fr->plan.cfg.depth_far : fr->camera->far;
    if (isinf(z) || !(far > near))
        return 1.0f;
    double d = (z - near) / (far - near);
    return (float)(d < 0 ? 0 : d > 1 ? 1 : d);
}

/* Control depth in [0, 1], 0 = near: by the plan's resolved control range
 * (the shot's or the config's), or by each frame's camera. */
static double s_control01(const lx_frame_renderer_t *fr, float z)
{
    const lx_export_config_t *c = &fr->plan.cfg;
    bool camera = c->control_depth == LX_CDEPTH_CAMERA;
    double near = camera ? fr->camera->near : c->control_depth_near;
    double far = camera ? fr->camera->far : c->control_depth_far;
    if (!(far > near))
        return 1.0;
    double d = (z - near) / (far - near);
    return d < 0 ? 0 : d > 1 ? 1 : d;
}

/* Row id - 1 of every instance drawn: its position, its displacement
 * since frame f - 1 from f - 1's exact transform (0 when it was not drawn
 * there, or there is no f - 1), and its id. Rows of instances not drawn
 * stay zero: id 0 means absent. One job only uses prev_of_id. */
static void s_particles(lx_frame_renderer_t *fr, job_t *j)
{
    float *o = j->data;
    uint32_t rows = j->img.height;
    memset(o, 0, j->data_bytes);
    const lx_render_frame_t *cur = fr->cur, *prev = &fr->prev;
    for (uint32_t i = 0; fr->has_prev && i < prev->n_items; i++)
        if (prev->items[i].id >= 1 && prev->items[i].id <= rows)
            fr->prev_of_id[prev->items[i].id] = i;
    for (uint32_t i = 0; i < cur->n_items; i++) {
        const lx_draw_item_t *it = &cur->items[i];
        if (it->id < 1 || it->id > rows)
            continue;
        float *r = o + (size_t)(it->id - 1) * PARTICLE_COLUMNS;
        uint32_t k = fr->prev_of_id[it->id];
        const double *was = k == UINT32_MAX ? it->position : prev->items[k].position;
        for (int c = 0; c < 3; c++) {
            r[c] = (float)it->position[c];
            r[3 + c] = (float)(it->position[c] - was[c]);
        }
        r[6] = (float)it->id;
    }
    for (uint32_t i = 0; fr->has_prev && i < prev->n_items; i++)
        if (prev->items[i].id >= 1 && prev->items[i].id <= rows)
            fr->prev_of_id[prev->items[i].id] = UINT32_MAX;
}

/* Whether the surfaces at pixels a and b meet at an edge: other
 * instances (or one and the background), or the same one with planar
 * depths more than 5 % apart. */
static bool s_edge(const lx_framebuf_t *fb, size_t a, size_t b)
{
    if (fb->id[a] != fb->id[b])
        return true;
    float za = fb->depth[a], zb = fb->depth[b];
    return fb->id[a] != 0 && fabsf(za - zb) > 0.05f * fminf(za, zb);
}

/* out[x] = the maximum of in[x - hi .. x - lo] along one axis: n lines of
 * len pixels, step apart, lines line_step apart. */
static void s_widen(const uint8_t *in, uint8_t *out, uint32_t n, uint32_t len, size_t step,
                    size_t line_step, int lo, int hi)
{
    for (uint32_t l = 0; l < n; l++)
        for (uint32_t x = 0; x < len; x++) {
            uint8_t m = 0;
            for (int d = lo; d <= hi; d++) {
                int64_t k = (int64_t)x - d;
                if (k >= 0 && k < len)
                    m |= in[l * line_step + (size_t)k * step];
            }
            out[l * line_step + x * step] = m;
        }
}

/* The edge map: 255 where the right or lower neighbour is across an edge
 * (a 1-px line on the upper left side of each boundary), widened to the
 * thickness by a separable maximum over a square of that width. */
static void s_edges(lx_frame_renderer_t *fr, job_t *j)
{
    const lx_framebuf_t *fb = fr->fb;
    uint32_t w = fb->width, h = fb->height, t = fr->plan.cfg.edge_thickness;
    uint8_t *o = j->data;
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++) {
            size_t i = (size_t)y * w + x;
            bool e = (x + 1 < w && s_edge(fb, i, i + 1)) || (y + 1 < h && s_edge(fb, i, i + w));
            o[i] = e ? 255 : 0;
        }
    if (t <= 1)
        return;
    /* Pixel x is covered by the lines at x - (t - 1) / 2 .. x + t / 2. */
    int lo = -(int)((t - 1) / 2), hi = (int)(t / 2);
    s_widen(o, fr->edge_scratch, h, w, 1, w, lo, hi); /* rows */
    s_widen(fr->edge_scratch, o, w, h, w, 1, lo, hi); /* columns */
}

static void s_convert(lx_frame_renderer_t *fr, job_t *j)
{
    const lx_framebuf_t *fb = fr->fb;
    size_t n = (size_t)fb->width * fb->height;
    switch (j->kind) {
    case K_RGBA_PNG: {
        uint8_t *o = j->data;
        for (size_t i = 0; i < n; i++) {
            const float *c = &fb->rgba[4 * i];
            float a = c[3] < 0 ? 0 : c[3] > 1 ? 1 : c[3];
            for (int k = 0; k < 3; k++)
                o[4 * i + k] = a > 0 ? s_to_srgb8(fr, c[k] / a) : 0;
            o[4 * i + 3] = s_u8(a);
        }
        break;
    }
    case K_RGBA_EXR:
        memcpy(j->data, fb->rgba, 4 * n * sizeof(float));
        break;
    case K_DEPTH: {
        float *o = j->data;
        for (size_t i = 0; i < n; i++)
            o[i] = s_depth01(fr, fb->depth[i]);
        break;
    }
    case K_MOTION: {
        float *o = j->data;
        for (size_t i = 0; i < n; i++) {
            o[3 * i] = fb->motion[2 * i];
            o[3 * i + 1] = fb->motion[2 * i + 1];
            o[3 * i + 2] = fb->motion_valid[i];
        }
        break;
    }
    case K_NORMAL:
        memcpy(j->data, fb->normal, 3 * n * sizeof(float));
        break;
    case K_ID: {
        uint16_t *o = j->data;
        for (size_t i = 0; i < n; i++)
            o[i] = (uint16_t)fb->id[i];
        break;
    }
    case K_MASK_PNG: {
        uint8_t *o = j->data;
        const float *m = fb->mask + (size_t)j->layer * n;
        for (size_t i = 0; i < n; i++)
            o[i] = s_u8(m[i]);
        break;
    }
    case K_MASK_EXR:
        memcpy(j->data, fb->mask + (size_t)j->layer * n, n * sizeof(float));
        break;
    case K_CONTROL_DEPTH: {
        uint8_t *o = j->data;
        for (size_t i = 0; i < n; i++)
            o[i] = isinf(fb->depth[i]) ? 0 : s_u8(1.0 - s_control01(fr, fb->depth[i]));
        break;
    }
    case K_CONTROL_DEPTH16: {
        uint16_t *o = j->data;
        for (size_t i = 0; i < n; i++)
            o[i] = isinf(fb->depth[i])
                       ? 0
                       : (uint16_t)s_round_pos((1.0 - s_control01(fr, fb->depth[i])) * 65535.0);
        break;
    }
    case K_CONTROL_FLOW: {
        /* One scale for the whole shot (the plan's), never per frame. */
        uint8_t *o = j->data;
        double inv = 1.0 / fr->plan.cfg.flow_scale;
        for (size_t i = 0; i < n; i++) {
            if (!fb->motion_valid[i])
                o[3 * i] = o[3 * i + 1] = o[3 * i + 2] = 255;
            else
                lx_control_flow_rgb((const uint8_t(*)[3])fr->wheel, fb->motion[2 * i] * inv,
                                    fb->motion[2 * i + 1] * inv, &o[3 * i]);
        }
        break;
    }
    case K_CONTROL_SEG: {
        uint8_t *o = j->data;
        for (size_t i = 0; i < n; i++)
            lx_control_seg_rgb(fb->id[i], &o[3 * i]);
        break;
    }
    case K_CONTROL_NORMAL: {
        uint8_t *o = j->data;
        for (size_t i = 0; i < n; i++) {
            const float *v = &fb->normal[3 * i];
            bool bg = fb->id[i] == 0;
            o[3 * i] = bg ? 128 : s_u8((-v[0] + 1) / 2);
            o[3 * i + 1] = bg ? 128 : s_u8((v[1] + 1) / 2);
            o[3 * i + 2] = bg ? 255 : s_u8((v[2] + 1) / 2);
        }
        break;
    }
    case K_PARTICLES:
        s_particles(fr, j);
        break;
    case K_SEMANTIC8: {
        uint8_t *o = j->data;
        for (size_t i = 0; i < n; i++)
            o[i] = (uint8_t)fr->class_of_id[fb->id[i]];
        break;
    }
    case K_SEMANTIC16: {
        uint16_t *o = j->data;
        for (size_t i = 0; i < n; i++)
            o[i] = fr->class_of_id[fb->id[i]];
        break;
    }
    case K_EDGES:
        s_edges(fr, j);
        break;
    case K_SVG: /* drawn from the frame's items when encoding */
        break;
    }
}

static void s_encode_task(void *ctx, uint32_t task)
{
    lx_frame_renderer_t *fr = ctx;
    uint32_t i = fr->order[task];
    job_t *j = &fr->jobs[i];
    lx_artifact_file_t *f = &fr->files[i];
    double t0 = s_now(fr);
    if (!fr->reencode)
        s_convert(fr, j);
    double t1 = s_now(fr);
    f->bytes.len = 0;
    if (f->bytes.cap)
        f->bytes.buf[0] = '\0';
    f->bytes.failed = false;
    const lx_export_config_t *c = &fr->plan.cfg;
    if (j->kind == K_SVG)
        j->rc = lx_svg_encode(fr->svg, fr->cur, fr->plan.width, fr->plan.height, &f->bytes,
                              &j->err);
    else if (j->kind == K_PARTICLES)
        j->rc = lx_npy_encode_rows(j->data, j->img.height, PARTICLE_COLUMNS, &f->bytes, &j->err);
    else if (j->format == LX_EXPORT_EXR)
        j->rc = lx_exr_encoder_encode(j->exr, &j->img, c->exr_compression, &f->bytes, &j->err);
    else if (j->format == LX_EXPORT_NPY)
        j->rc = lx_npy_encode(&j->img, &f->bytes, &j->err);
    else
        j->rc = lx_png_encode(&j->img, c->png_level, &f->bytes, &j->err);
    if (j->rc != LX_OK)
        return;
    double t2 = s_now(fr);
    lx_digest_t d;
    j->rc = lx_sha256(f->bytes.buf, f->bytes.len, &d);
    lx_hex(d.bytes, 32, f->hash);
    uint8_t x[16];
    /* svg: the document is its own canonical layout. */
    if (j->kind == K_SVG)
        lx_xxh128(f->bytes.buf, f->bytes.len, x);
    else
        lx_xxh128(j->data, j->data_bytes, x);
    lx_hex(x, 16, f->content);
    double t3 = s_now(fr);
    f->convert_ms = t1 - t0;
    f->encode_ms = t2 - t1;
    f->hash_ms = t3 - t2;
}

/* ---- setup ---------------------------------------------------------- */

/* A job whose buffer is a w x h image (a table of h rows for particles). */
static bool s_add_job_sized(lx_frame_renderer_t *fr, const lx_export_file_t *x, kind_t kind,
                            uint32_t w, uint32_t h, uint32_t channels, lx_pixel_type_t type,
                            const char *const *names)
{
    job_t *j = &fr->jobs[fr->n_jobs];
    lx_artifact_file_t *f = &fr->files[fr->n_jobs];
    size_t n = (size_t)w * h;
    size_t sample = type == LX_PIX_U8 ? 1 : type == LX_PIX_U16 ? 2 : 4;
    j->kind = kind;
    j->layer = x->layer;
    j->format = x->format;
    j->ext = x->ext;
    j->data_bytes = n * channels * sample;
    j->data = lx_calloc(fr->alloc, j->data_bytes + 1, 1);
    if (!j->data)
        return false;
    if (j->format == LX_EXPORT_EXR && !(j->exr = lx_exr_encoder_new(fr->alloc, NULL))) {
        lx_free(fr->alloc, j->data);
        return false;
    }
    j->img = (lx_image_t){w, h, channels, type, j->data, {0}};
    for (uint32_t k = 0; k < channels && names; k++)
        j->img.names[k] = names[k];
    snprintf(f->key, sizeof f->key, "%s", x->key);
    lx_strbuf_init(&f->bytes, fr->alloc);
    fr->n_jobs++;
    return true;
}

static bool s_add_job(lx_frame_renderer_t *fr, const lx_export_file_t *x, kind_t kind,
                      uint32_t channels, lx_pixel_type_t type, const char *const *names)
{
    return s_add_job_sized(fr, x, kind, fr->plan.width, fr->plan.height, channels, type, names);
}

/* fr->class_of_id from the program's semantic classes; their number (0
 * with class_of_id NULL when out of memory). */
static uint32_t s_semantic(lx_frame_renderer_t *fr)
{
    const lx_program_t *p = fr->p;
    const char **names = lx_calloc(fr->alloc, p->n_sinks + (size_t)1, sizeof *names);
    uint16_t *of_sink = lx_calloc(fr->alloc, p->n_sinks + (size_t)1, sizeof *of_sink);
    fr->class_of_id = lx_calloc(fr->alloc, fr->plan.n_ids + (size_t)1, sizeof *fr->class_of_id);
    uint32_t n = names && of_sink && fr->class_of_id
                     ? lx_export_semantic_classes(p, names, of_sink)
                     : 0;
    for (uint32_t s = 0; n && s < p->n_sinks; s++) {
        const lx_render_sink_t *sk = &p->sinks[s];
        uint32_t count = sk->instance == LX_NONE ? 1 : p->instances[sk->instance].count;
        for (uint32_t e = 0; e < count && sk->id_base + e <= fr->plan.n_ids; e++)
            fr->class_of_id[sk->id_base + e] = of_sink[s];
    }
    lx_free(fr->alloc, names);
    lx_free(fr->alloc, of_sink);
    return n;
}

/* One job per file of lx_export_frame_files, in its order: the files a
 * frame gets are exactly the ones a manifest expects. */
static lx_result_t s_jobs(lx_frame_renderer_t *fr, lx_error_t *err)
{
    lx_export_file_t *planned = NULL;
    uint32_t n_planned = 0;
    lx_result_t rc = lx_export_frame_files(fr->p, &fr->plan, fr->alloc, &planned, &n_planned, err);
    if (rc != LX_OK)
        return rc;
    fr->jobs = lx_calloc(fr->alloc, n_planned + 1, sizeof *fr->jobs);
    fr->files = lx_calloc(fr->alloc, n_planned + 1, sizeof *fr->files);
    static const char *const rgba[] = {"R", "G", "B", "A"};
    static const char *const z[] = {"Z"};
    static const char *const uv[] = {"u", "v", "valid"};
    static const char *const nrm[] = {"N.X", "N.Y", "N.Z"};
    static const char *const y[] = {"Y"};
    lx_pixel_type_t f32 = LX_PIX_F32;
    bool ok = fr->jobs && fr->files;
    for (uint32_t i = 0; i < n_planned && ok; i++) {
        const lx_export_file_t *x = &planned[i];
        bool exr = x->format == LX_EXPORT_EXR;
        switch (x->kind) {
        case LX_EXPORT_RGBA:
            ok = exr ? s_add_job(fr, x, K_RGBA_EXR, 4, LX_PIX_HALF, rgba)
                     : s_add_job(fr, x, K_RGBA_PNG, 4, LX_PIX_U8, NULL);
            break;
        case LX_EXPORT_DEPTH:
            ok = s_add_job(fr, x, K_DEPTH, 1, f32, z);
            break;
        case LX_EXPORT_MOTION:
            ok = s_add_job(fr, x, K_MOTION, 3, f32, uv);
            break;
        case LX_EXPORT_NORMAL:
            ok = s_add_job(fr, x, K_NORMAL, 3, f32, nrm);
            break;
        case LX_EXPORT_ID:
            ok = s_add_job(fr, x, K_ID, 1, LX_PIX_U16, NULL);
            break;
        case LX_EXPORT_MASK:
            ok = exr ? s_add_job(fr, x, K_MASK_EXR, 1, f32, y)
                     : s_add_job(fr, x, K_MASK_PNG, 1, LX_PIX_U8, NULL);
            break;
        case LX_EXPORT_CONTROL_DEPTH:
            ok = fr->plan.cfg.control_depth16
                     ? s_add_job(fr, x, K_CONTROL_DEPTH16, 1, LX_PIX_U16, NULL)
                     : s_add_job(fr, x, K_CONTROL_DEPTH, 1, LX_PIX_U8, NULL);
            break;
        case LX_EXPORT_CONTROL_FLOW:
            ok = s_add_job(fr, x, K_CONTROL_FLOW, 3, LX_PIX_U8, NULL);
            break;
        case LX_EXPORT_CONTROL_SEG:
            ok = s_add_job(fr, x, K_CONTROL_SEG, 3, LX_PIX_U8, NULL);
            break;
        case LX_EXPORT_CONTROL_NORMAL:
            ok = s_add_job(fr, x, K_CONTROL_NORMAL, 3, LX_PIX_U8, NULL);
            break;
        case LX_EXPORT_SEMANTIC: {
            uint32_t classes = s_semantic(fr);
            ok = classes <= 255 ? s_add_job(fr, x, K_SEMANTIC8, 1, LX_PIX_U8, NULL)
                                : s_add_job(fr, x, K_SEMANTIC16, 1, LX_PIX_U16, NULL);
            ok = ok && fr->class_of_id;
            break;
        }
        case LX_EXPORT_EDGES:
            fr->edge_scratch = fr->plan.cfg.edge_thickness > 1
                                   ? lx_malloc(fr->alloc, (size_t)fr->plan.width * fr->plan.height)
                                   : NULL;
            ok = (fr->plan.cfg.edge_thickness <= 1 || fr->edge_scratch) &&
                 s_add_job(fr, x, K_EDGES, 1, LX_PIX_U8, NULL);
            break;
        case LX_EXPORT_SVG:
            fr->svg = lx_svg_new(fr->p, fr->plan.cfg.svg_tolerance, fr->alloc, err);
            if (!fr->svg) {
                lx_free(fr->alloc, planned);
                return err ? err->code : LX_E_NOMEM;
            }
            ok = s_add_job_sized(fr, x, K_SVG, 0, 0, 1, LX_PIX_U8, NULL);
            break;
        case LX_EXPORT_PARTICLES:
            fr->prev_of_id = lx_malloc(fr->alloc, (fr->plan.n_ids + (size_t)1) * sizeof(uint32_t));
            ok = fr->prev_of_id && s_add_job_sized(fr, x, K_PARTICLES, PARTICLE_COLUMNS,
                                                   fr->plan.n_ids, 1, f32, NULL);
            for (uint32_t k = 0; ok && k <= fr->plan.n_ids; k++)
                fr->prev_of_id[k] = UINT32_MAX;
            break;
        }
    }
    lx_free(fr->alloc, planned);
    if (!ok)
        return lx_fail(err, LX_E_NOMEM, "out of memory for frame buffers");
    /* Longest first (by buffer size, ties in job order): with few threads
     * the biggest EXR bounds the stage, so it should not start last. */
    fr->order = lx_calloc(fr->alloc, fr->n_jobs + 1, sizeof *fr->order);
    if (!fr->order)
        return lx_fail(err, LX_E_NOMEM, "out of memory for frame buffers");
    for (uint32_t i = 0; i < fr->n_jobs; i++) {
        uint32_t k = i;
        while (k > 0 && fr->jobs[fr->order[k - 1]].data_bytes < fr->jobs[i].data_bytes) {
            fr->order[k] = fr->order[k - 1];
            k--;
        }
        fr->order[k] = i;
    }
    return LX_OK;
}

lx_frame_renderer_t *lx_frame_renderer_new(const lx_program_t *p, const lx_export_plan_t *plan,
                                           uint32_t threads, lx_clock_fn clock, void *clock_user,
                                           const lx_alloc_t *alloc, lx_error_t *err)
{
    alloc = alloc ? alloc : lx_alloc_default();
    const lx_export_config_t *c = &plan->cfg;
    if ((c->artifacts & LX_ART_CONTROL) &&
        (c->control_depth == LX_CDEPTH_AUTO ||
         (c->control_depth == LX_CDEPTH_SHOT && !c->control_depth_measured) ||
         !(c->flow_scale > 0))) {
        lx_fail(err, LX_E_INVALID,
                "the plan's control depth range or flow scale is not resolved (lx_export_plan "
                "resolves them)");
        return NULL;
    }
    lx_frame_renderer_t *fr = lx_calloc(alloc, 1, sizeof *fr);
    if (!fr) {
        lx_fail(err, LX_E_NOMEM, "out of memory");
        return NULL;
    }
    fr->p = p;
    fr->plan = *plan;
    fr->alloc = alloc;
    fr->clock = clock;
    fr->clock_user = clock_user;
    fr->prev_frame = -1;
    lx_instance_config_t icfg = lx_export_plan_instance(plan);
    lx_raster_config_t rcfg = LX_RASTER_CONFIG_INIT;
    rcfg.width = plan->width;
    rcfg.height = plan->height;
    rcfg.threads = threads ? threads : 1;
    rcfg.motion_scale = plan->cfg.motion_scale;
    rcfg.alpha_threshold = plan->cfg.alpha_threshold;
    fr->inst = lx_instance_new(p, lx_kernels_table(), alloc, &icfg, err);
    fr->raster = fr->inst ? lx_raster_new(p, alloc, &rcfg, err) : NULL;
    fr->pool = fr->raster ? lx_pool_new(rcfg.threads, alloc, err) : NULL;
    uint64_t cap = plan->n_ids + 1;
    fr->prev.items = lx_calloc(alloc, cap, sizeof *fr->prev.items);
    bool ok = fr->pool && fr->prev.items;
    if (fr->pool && !fr->prev.items)
        lx_fail(err, LX_E_NOMEM, "out of memory for frame buffers");
    if (!ok || s_jobs(fr, err) != LX_OK) {
        lx_frame_renderer_destroy(&fr);
        return NULL;
    }
    lx_srgb8_table_init(&fr->srgb);
    lx_control_wheel(fr->wheel);
    return fr;
}

void lx_frame_renderer_destroy(lx_frame_renderer_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    lx_frame_renderer_t *fr = *self_p;
    for (uint32_t i = 0; i < fr->n_jobs; i++) {
        lx_free(fr->alloc, fr->jobs[i].data);
        lx_exr_encoder_destroy(&fr->jobs[i].exr);
        lx_strbuf_release(&fr->files[i].bytes);
    }
    lx_free(fr->alloc, fr->jobs);
    lx_free(fr->alloc, fr->files);
    lx_free(fr->alloc, fr->order);
    lx_free(fr->alloc, fr->prev.items);
    lx_free(fr->alloc, fr->prev_of_id);
    lx_free(fr->alloc, fr->class_of_id);
    lx_free(fr->alloc, fr->edge_scratch);
    lx_svg_destroy(&fr->svg);
    lx_pool_destroy(&fr->pool);
    lx_raster_destroy(&fr->raster);
    lx_instance_destroy(&fr->inst);
    lx_free(fr->alloc, fr);
    *self_p = NULL;
}

/* The frame whose transforms motion compares with: f - 1, or for frame 0
 * of a cyclic patch the last frame of the cycle (the loop's predecessor);
 * none for frame 0 otherwise. */
static int64_t s_prev_of(const lx_frame_renderer_t *fr, int64_t f)
{
    if (f > 0)
        return f - 1;
    if (fr->p->time_model.kind == LX_TIME_CYCLIC)
        return (int64_t)fr->plan.sampling.frames_per_cycle - 1;
    return -1;
}

lx_result_t lx_frame_renderer_render(lx_frame_renderer_t *fr, int64_t f,
                                     const lx_frame_result_t **out, lx_error_t *err)
{
    lx_frame_result_t *res = &fr->result;
    memset(&res->times, 0, sizeof res->times);
    double t0 = s_now(fr);
    int64_t pf = s_prev_of(fr, f);
    uint64_t evaluated = lx_instance_frames_evaluated(fr->inst);
    const lx_render_frame_t *rf = NULL;
    if (pf >= 0 && pf != fr->prev_frame) {
        if (lx_instance_eval(fr->inst, pf, &rf) != LX_OK)
            return lx_fail(err, LX_E_INVALID, "cannot evaluate frame %lld", (long long)pf);
        lx_render_frame_copy(&fr->prev, rf);
        fr->prev_frame = pf;
    }
    if (lx_instance_eval(fr->inst, f, &rf) != LX_OK)
        return lx_fail(err, LX_E_INVALID, "cannot evaluate frame %lld", (long long)f);
    res->warmup = lx_instance_frames_evaluated(fr->inst) - evaluated - 1;
    double t1 = s_now(fr);
    fr->fb = lx_raster_render(fr->raster, rf, pf >= 0 ? &fr->prev : NULL);
    fr->camera = &rf->camera;
    fr->cur = rf;
    fr->has_prev = pf >= 0;
    double t2 = s_now(fr);
    lx_pool_run(fr->pool, fr->n_jobs, s_encode_task, fr);
    double t3 = s_now(fr);
    res->frame = f;
    res->time = rf->time;
    res->camera = rf->camera;
    res->files = fr->files;
    res->n_files = fr->n_jobs;
    res->times.eval = t1 - t0;
    res->times.raster = t2 - t1;
    res->times.encode = t3 - t2; /* convert + encode + hash, in parallel */
    for (uint32_t i = 0; i < fr->n_jobs; i++) {
        res->times.convert += fr->files[i].convert_ms;
        res->times.hash += fr->files[i].hash_ms;
    }
    for (uint32_t i = 0; i < fr->n_jobs; i++) {
        const job_t *j = &fr->jobs[i];
        if (j->rc != LX_OK) {
            if (err)
                *err = j->err;
            return lx_fail(err, j->rc, "encoding %s of frame %lld: %s", fr->files[i].key,
                           (long long)f, j->err.message);
        }
        lx_export_frame_name(fr->files[i].name, sizeof fr->files[i].name, &fr->plan, f, j->ext);
    }
    /* The current frame is the next frame's f - 1. */
    lx_render_frame_copy(&fr->prev, rf);
    fr->prev_frame = f;
    *out = res;
    return LX_OK;
}

lx_result_t lx_frame_renderer_restore(lx_frame_renderer_t *fr, const void *bytes, size_t len,
                                      int64_t first, lx_error_t *err)
{
    if (first < 0)
        return lx_fail(err, LX_E_INVALID, "first frame %lld is negative", (long long)first);
    int64_t s;
    if (!lx_snapshot_frame(bytes, len, &s))
        return lx_fail(err, LX_E_PARSE, "not a state snapshot (%zu bytes)", len);
    if (s > first)
        return lx_fail(err, LX_E_PARSE, "the snapshot's frame %lld is after the first frame %lld",
                       (long long)s, (long long)first);
    if (fr->prev_frame >= s - 1 && fr->prev_frame < first) {
        /* Only the header is checked: the state is not used. */
        if (!lx_snapshot_of(bytes, len, fr->p))
            return lx_fail(err, LX_E_PARSE, "the snapshot is another program's");
        return LX_OK;
    }
    lx_result_t rc = lx_instance_restore(fr->inst, bytes, len, err);
    if (rc != LX_OK)
        return rc;
    /* The held frame is no longer the one before the next frame. */
    fr->prev_frame = -1;
    return LX_OK;
}

lx_result_t lx_frame_renderer_reencode(lx_frame_renderer_t *fr, lx_stage_times_t *times,
                                       lx_error_t *err)
{
    if (fr->prev_frame < 0)
        return lx_fail(err, LX_E_INVALID, "no frame has been rendered yet");
    memset(times, 0, sizeof *times);
    fr->reencode = true;
    double t0 = s_now(fr);
    lx_pool_run(fr->pool, fr->n_jobs, s_encode_task, fr);
    times->encode = s_now(fr) - t0;
    fr->reencode = false;
    for (uint32_t i = 0; i < fr->n_jobs; i++) {
        times->hash += fr->files[i].hash_ms;
        if (fr->jobs[i].rc != LX_OK)
            return lx_fail(err, fr->jobs[i].rc, "%s", fr->jobs[i].err.message);
    }
    return LX_OK;
}
