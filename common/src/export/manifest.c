/* lx_manifest: per-frame results in any order -> camera files and
 * metadata.json; the export directory rules. */
#include <cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "export_internal.h"
#include "lattice/camera.h"
#include "lattice/tracks.h"
#include "lattice/audio_features.h"
#include "lattice/digest.h"
#include "lattice/files.h"
#include "lattice/manifest.h"
#include "lattice/names.h"
#include "lattice/patch.h"
#include "lattice/video.h"
#include "video_internal.h"

/* The hashes of one artifact file of one frame, as bytes: half the size of
 * their hex, and parsing them is what validates them. 48 bytes. */
typedef struct {
    uint8_t sha[32], xxh[16];
} entry_t;

/* A frame's camera as the camera files need it, 88 bytes instead of an
 * lx_camera_t's 136 and its time: the basis, position and field of view
 * lx_camera_view gives (all the files use) depend on these alone, not on
 * the projection, ortho height, target, near or far. */
typedef struct {
    double t_ms;
    double position[3], forward[3], up[3];
    double fov_y_deg;
} cam_t;

/* Per frame: 1 bit, 48 bytes per artifact file (entries) and, with the
 * camera artifact, 88 bytes (cams); nothing else grows with the frames.
 * The per-frame arrays are allocated zeroed when the manifest is created
 * and written only by lx_manifest_add_frame, so memory is used as frames
 * are recorded (see manifest.h). */
struct lx_manifest {
    const lx_alloc_t *alloc;
    const lx_program_t *p;
    lx_export_plan_t plan;
    size_t n;               /* frames in the plan */
    size_t missing;         /* frames not recorded yet */
    uint64_t *have;         /* bit i of word i / 64: frame first + i is recorded */
    lx_export_file_t *arts; /* every frame's files (lx_export_frame_files) */
    uint32_t n_arts;
    entry_t *entries;   /* [n * n_arts], frame-major */
    cam_t *cams;        /* [n] with the camera artifact; NULL without */
    double near0, far0; /* the first frame's camera range (conventions.depth) */
};

/* ---- paths ---------------------------------------------------------- */

bool lx_manifest_key_valid(const char *key)
{
    if (!key || strnlen(key, LX_MANIFEST_KEY_MAX + 1) > LX_MANIFEST_KEY_MAX)
        return false;
    char part[LX_MANIFEST_KEY_MAX + 1];
    const char *slash = strchr(key, '/');
    size_t k = slash ? (size_t)(slash - key) : strlen(key);
    memcpy(part, key, k);
    part[k] = '\0';
    /* Ids never contain '/', so a third component fails the second id. */
    return lx_name_id_valid(part) && (!slash || lx_name_id_valid(slash + 1));
}

cJSON *lx_manifest_read(const char *out_dir, lx_error_t *err)
{
    char path[LX_PATH_MAX];
    if (!lx_path_join(path, out_dir, "metadata.json")) {
        lx_fail(err, LX_E_INVALID, "path too long: '%.200s'", out_dir);
        return NULL;
    }
    size_t len = 0;
    char *text = lx_read_file(path, LX_MANIFEST_READ_MAX, &len, lx_alloc_default());
    if (!text) {
        lx_fail(err, LX_E_IO, "cannot read '%s': %s", path, strerror(errno));
        return NULL;
    }
    cJSON *m = cJSON_ParseWithLength(text, len);
    lx_free(lx_alloc_default(), text);
    if (!cJSON_IsObject(m)) {
        cJSON_Delete(m);
        lx_fail(err, LX_E_PARSE, "'%s' is not an export manifest (not a JSON object)", path);
        return NULL;
    }
    return m;
}

/* ---- recording ------------------------------------------------------ */

static bool s_have(const lx_manifest_t *m, size_t i) { return (m->have[i / 64] >> (i % 64)) & 1u; }

lx_manifest_t *lx_manifest_new(const lx_program_t *p, const lx_export_plan_t *plan,
                               const lx_alloc_t *alloc, lx_error_t *err)
{
    if (!alloc)
        alloc = lx_alloc_default();
    if (plan->first < 0 || plan->last < plan->first) {
        lx_fail(err, LX_E_INVALID, "bad frame range %lld-%lld", (long long)plan->first,
                (long long)plan->last);
        return NULL;
    }
    /* Frame counts whose per-frame arrays cannot exist are refused before
     * the size_t conversion could truncate them. */
    uint64_t n = (uint64_t)(plan->last - plan->first) + 1;
    if (n >= SIZE_MAX / sizeof(cam_t)) {
        lx_fail(err, LX_E_NOMEM, "out of memory for %llu frames", (unsigned long long)n);
        return NULL;
    }
    lx_manifest_t *m = lx_calloc(alloc, 1, sizeof *m);
    if (!m) {
        lx_fail(err, LX_E_NOMEM, "out of memory for %llu frames", (unsigned long long)n);
        return NULL;
    }
    m->alloc = alloc;
    m->p = p;
    m->plan = *plan;
    m->n = m->missing = (size_t)n;
    if (lx_export_frame_files(p, plan, alloc, &m->arts, &m->n_arts, err) != LX_OK) {
        lx_manifest_destroy(&m);
        return NULL;
    }
    if (m->n_arts > LX_MANIFEST_MAX_FILES) {
        lx_fail(err, LX_E_INVALID, "%u artifact files per frame, more than %u", m->n_arts,
                LX_MANIFEST_MAX_FILES);
        lx_manifest_destroy(&m);
        return NULL;
    }
    /* Zeroed and never written until frames are recorded: no page of these
     * is touched here (lx_calloc), whatever the number of frames. */
    m->have = lx_calloc(alloc, (m->n + 63) / 64, sizeof *m->have);
    m->entries = lx_calloc(alloc, m->n, (m->n_arts ? m->n_arts : 1) * sizeof *m->entries);
    bool camera = (plan->cfg.artifacts & LX_ART_CAMERA) != 0;
    m->cams = camera ? lx_calloc(alloc, m->n, sizeof *m->cams) : NULL;
    if (!m->have || !m->entries || (camera && !m->cams)) {
        lx_fail(err, LX_E_NOMEM, "out of memory for %llu frames of %u files", (unsigned long long)n,
                m->n_arts);
        lx_manifest_destroy(&m);
        return NULL;
    }
    return m;
}

void lx_manifest_destroy(lx_manifest_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    lx_manifest_t *m = *self_p;
    lx_free(m->alloc, m->have);
    lx_free(m->alloc, m->cams);
    lx_free(m->alloc, m->arts);
    lx_free(m->alloc, m->entries);
    lx_free(m->alloc, m);
    *self_p = NULL;
}

const lx_export_file_t *lx_manifest_files(const lx_manifest_t *m, uint32_t *n)
{
    *n = m->n_arts;
    return m->arts;
}

static int s_nibble(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Exactly 2 * n lower-case hex digits (upper case would not round-trip to
 * the same manifest bytes). Parses into out when it is not NULL. */
static bool s_unhex(const char *s, uint8_t *out, size_t n)
{
    if (!s || strnlen(s, 2 * n + 1) != 2 * n)
        return false;
    for (size_t i = 0; i < n; i++) {
        int hi = s_nibble(s[2 * i]), lo = s_nibble(s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return false;
        if (out)
            out[i] = (uint8_t)(hi << 4 | lo);
    }
    return true;
}

/* The planned keys for a message, "rgba, depth, mask/x", shortened with
 * ", ..." when they do not fit. */
static void s_key_list(const lx_manifest_t *m, char *out, size_t size)
{
    size_t len = 0;
    out[0] = '\0';
    for (uint32_t j = 0; j < m->n_arts; j++) {
        const char *sep = j ? ", " : "";
        size_t need = strlen(sep) + strlen(m->arts[j].key);
        /* Room for ", ..." and the NUL must remain. */
        if (len + need + 6 > size) {
            snprintf(out + len, size - len, "%s...", sep);
            return;
        }
        len += (size_t)snprintf(out + len, size - len, "%s%s", sep, m->arts[j].key);
    }
    if (m->n_arts == 0)
        snprintf(out, size, "none");
}

/* Checks that files are exactly the planned ones: the same keys in the
 * same order, each named lx_export_frame_name of frame f, with well-formed
 * hashes. The first difference is the message. */
static lx_result_t s_check_files(const lx_manifest_t *m, int64_t f, const lx_manifest_file_t *files,
                                 uint32_t n_files, lx_error_t *err)
{
    if (n_files != m->n_arts) {
        char keys[320];
        s_key_list(m, keys, sizeof keys);
        return lx_fail(err, LX_E_INVALID, "frame %lld: expected %u files (%s), got %u",
                       (long long)f, m->n_arts, keys, n_files);
    }
    for (uint32_t j = 0; j < n_files; j++) {
        const lx_manifest_file_t *x = &files[j];
        const lx_export_file_t *a = &m->arts[j];
        const char *key = x->key ? x->key : "";
        if (strcmp(key, a->key) != 0)
            return lx_fail(err, LX_E_INVALID, "frame %lld: file %u is '%.*s', expected '%s'",
                           (long long)f, j, (int)LX_MANIFEST_KEY_MAX, key, a->key);
        char name[48];
        lx_export_frame_name(name, sizeof name, &m->plan, f, a->ext);
        if (!x->name || strcmp(x->name, name) != 0)
            return lx_fail(err, LX_E_INVALID,
                           "frame %lld: file %u ('%s') is named '%.64s', expected '%s'",
                           (long long)f, j, key, x->name ? x->name : "", name);
        if (!s_unhex(x->hash, NULL, 32))
            return lx_fail(err, LX_E_INVALID,
                           "frame %lld: hash of '%s/%s' is not 64 lower-case hex digits",
                           (long long)f, key, name);
        if (!s_unhex(x->content, NULL, 16))
            return lx_fail(err, LX_E_INVALID,
                           "frame %lld: content hash of '%s/%s' is not 32 lower-case hex digits",
                           (long long)f, key, name);
    }
    return LX_OK;
}

lx_result_t lx_manifest_check_frame(const lx_manifest_t *m, int64_t f,
                                    const lx_manifest_file_t *files, uint32_t n_files,
                                    lx_error_t *err)
{
    if (f < m->plan.first || f > m->plan.last)
        return lx_fail(err, LX_E_INVALID, "frame %lld is outside the export's frames %lld-%lld",
                       (long long)f, (long long)m->plan.first, (long long)m->plan.last);
    if (n_files && !files)
        return lx_fail(err, LX_E_INVALID, "frame %lld: %u files and no list", (long long)f,
                       n_files);
    return s_check_files(m, f, files, n_files, err);
}

lx_result_t lx_manifest_add_frame(lx_manifest_t *m, int64_t f, double t_ms, const lx_camera_t *cam,
                                  const lx_manifest_file_t *files, uint32_t n_files,
                                  lx_error_t *err)
{
    if (f < m->plan.first || f > m->plan.last)
        return lx_fail(err, LX_E_INVALID, "frame %lld is outside the export's frames %lld-%lld",
                       (long long)f, (long long)m->plan.first, (long long)m->plan.last);
    if (!isfinite(t_ms))
        return lx_fail(err, LX_E_INVALID, "time of frame %lld is not a finite number",
                       (long long)f);
    if (!cam)
        return lx_fail(err, LX_E_INVALID, "frame %lld has no camera", (long long)f);
    /* Everything is checked before anything is stored, so a refused frame
     * leaves the manifest as it was. */
    lx_result_t rc = lx_manifest_check_frame(m, f, files, n_files, err);
    if (rc != LX_OK)
        return rc;
    size_t i = (size_t)(f - m->plan.first);
    for (uint32_t j = 0; j < n_files; j++) {
        entry_t *e = &m->entries[i * m->n_arts + j];
        s_unhex(files[j].hash, e->sha, 32);
        s_unhex(files[j].content, e->xxh, 16);
    }
    if (m->cams) {
        cam_t *c = &m->cams[i];
        c->t_ms = t_ms;
        memcpy(c->position, cam->position, sizeof c->position);
        memcpy(c->forward, cam->forward, sizeof c->forward);
        memcpy(c->up, cam->up, sizeof c->up);
        c->fov_y_deg = cam->fov_y_deg;
    }
    if (i == 0) {
        m->near0 = cam->near;
        m->far0 = cam->far;
    }
    if (!s_have(m, i)) {
        m->have[i / 64] |= (uint64_t)1 << (i % 64);
        m->missing--;
    }
    return LX_OK;
}

int64_t lx_manifest_missing(const lx_manifest_t *m) { return (int64_t)m->missing; }

const lx_export_plan_t *lx_manifest_plan(const lx_manifest_t *m) { return &m->plan; }

bool lx_manifest_has_frame(const lx_manifest_t *m, int64_t f)
{
    return f >= m->plan.first && f <= m->plan.last && s_have(m, (size_t)(f - m->plan.first));
}

bool lx_manifest_same_frame(const lx_manifest_t *a, const lx_manifest_t *b, int64_t f)
{
    if (!lx_manifest_has_frame(a, f) || !lx_manifest_has_frame(b, f) || a->n_arts != b->n_arts ||
        a->plan.first != b->plan.first || (a->cams == NULL) != (b->cams == NULL))
        return false;
    size_t i = (size_t)(f - a->plan.first);
    if (a->n_arts && memcmp(&a->entries[i * a->n_arts], &b->entries[i * b->n_arts],
                            a->n_arts * sizeof *a->entries) != 0)
        return false;
    const cam_t *x = a->cams ? &a->cams[i] : NULL, *y = b->cams ? &b->cams[i] : NULL;
    return !x || (x->t_ms == y->t_ms && x->fov_y_deg == y->fov_y_deg &&
                  memcmp(x->position, y->position, sizeof x->position) == 0 &&
                  memcmp(x->forward, y->forward, sizeof x->forward) == 0 &&
                  memcmp(x->up, y->up, sizeof x->up) == 0);
}

/* ---- metadata.json -------------------------------------------------- */

/* conventions.controlDepth, controlNormal, controlFlow, controlSeg: what
 * the control images hold, with the plan's resolved range and scale
 * (docs/export-format.md, "Control images"). */
static void s_control_conventions(cJSON *c, const lx_export_config_t *cfg, double near0,
                                  double far0)
{
    cJSON *d = cJSON_AddObjectToObject(c, "controlDepth");
    bool camera = cfg->control_depth == LX_CDEPTH_CAMERA;
    cJSON_AddNumberToObject(d, "near", camera ? near0 : cfg->control_depth_near);
    cJSON_AddNumberToObject(d, "far", camera ? far0 : cfg->control_depth_far);
    cJSON_AddStringToObject(d, "source",
                            camera                                    ? "camera"
                            : cfg->control_depth == LX_CDEPTH_SHOT ? "shot"
                                                                      : "config");
    cJSON_AddNumberToObject(d, "bits", cfg->control_depth16 ? 16 : 8);
    cJSON_AddStringToObject(d, "value",
                            cfg->control_depth16
                                ? "round(65535 * (1 - clamp((z - near) / (far - near), 0, 1))), "
                                  "z = planar camera depth; near = bright; background 0"
                                : "round(255 * (1 - clamp((z - near) / (far - near), 0, 1))), "
                                  "z = planar camera depth; near = bright; background 0");
    cJSON_AddStringToObject(d, "range",
                            camera ? "each frame's camera near/far (near, far: frame 0's)"
                            : cfg->control_depth == LX_CDEPTH_SHOT
                                ? "the visible depth range of all exported frames, measured "
                                  "before rendering"
                                : "from the config (controlDepthRange or depthRange)");
    cJSON *n = cJSON_AddObjectToObject(c, "controlNormal");
    cJSON_AddStringToObject(n, "value",
                            "round(255 * ((-x, y, z) + 1) / 2) of the camera-space normal "
                            "(x right, y up, z toward the viewer): ControlNet/OpenGL-style, "
                            "x flipped");
    cJSON *bg = cJSON_AddArrayToObject(n, "background");
    for (int k = 0; k < 3; k++)
        cJSON_AddItemToArray(bg, cJSON_CreateNumber(k < 2 ? 128 : 255));
    cJSON *f = cJSON_AddObjectToObject(c, "controlFlow");
    cJSON_AddStringToObject(f, "wheel",
                            "Middlebury (Baker et al.) computeColor, 55 colours: RY 15, YG 6, "
                            "GC 4, CB 11, BM 13, MR 6");
    cJSON_AddNumberToObject(f, "scale", cfg->flow_scale);
    cJSON_AddStringToObject(f, "source", cfg->flow_scale_measured ? "shot" : "config");
    cJSON_AddStringToObject(f, "value",
                            "motion (u, v) / scale coloured by the wheel: hue = direction "
                            "(+x red), saturation = magnitude, white = no motion or valid 0; "
                            "above the scale darkened to 75%");
    cJSON *g = cJSON_AddObjectToObject(c, "controlSeg");
    cJSON_AddStringToObject(g, "rule",
                            "c = id * 0x9E3779 mod 2^24; RGB = (c >> 16, (c >> 8) & 255, "
                            "c & 255); distinct for distinct ids below 2^24");
    cJSON *black = cJSON_AddArrayToObject(g, "background");
    for (int k = 0; k < 3; k++)
        cJSON_AddItemToArray(black, cJSON_CreateNumber(0));
}

/* near0, far0: the first frame's camera range. */
/* The semantic map's legend: each class's value and name. */
static void s_semantic_conventions(cJSON *c, const lx_program_t *p)
{
    cJSON *sem = cJSON_AddObjectToObject(c, "semantic");
    const lx_alloc_t *al = lx_alloc_default();
    const char **names = lx_calloc(al, p->n_sinks + (size_t)1, sizeof *names);
    uint16_t *of_sink = lx_calloc(al, p->n_sinks + (size_t)1, sizeof *of_sink);
    uint32_t n = names && of_sink ? lx_export_semantic_classes(p, names, of_sink) : 0;
    cJSON_AddStringToObject(sem, "encoding", n <= 255 ? "8-bit gray" : "16-bit gray");
    cJSON_AddStringToObject(sem, "value", "the class of the visible surface; 0 = background");
    cJSON *classes = cJSON_AddArrayToObject(sem, "classes");
    for (uint32_t k = 0; k < n; k++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "value", k + 1);
        cJSON_AddStringToObject(o, "name", names[k]);
        cJSON_AddItemToArray(classes, o);
    }
    lx_free(al, names);
    lx_free(al, of_sink);
}

/* conventions.svg: what the SVG frames draw and how (lattice/svg.h). */
static void s_svg_conventions(cJSON *c, const lx_export_config_t *cfg)
{
    cJSON *sv = cJSON_AddObjectToObject(c, "svg");
    cJSON_AddNumberToObject(sv, "tolerance", cfg->svg_tolerance);
    cJSON_AddStringToObject(sv, "units",
                            "pixels: viewBox 0 0 width height, x right, y down from the "
                            "top-left corner, the raster artifacts' pixel grid");
    cJSON_AddStringToObject(sv, "drawn",
                            "one <path> per planar instance (rect, ellipse, polygon, star, "
                            "path) with opacity x alpha above 0, in draw order (later paints "
                            "over earlier, as the rgba artifact composites); a background "
                            "<rect> first when the background alpha is above 0");
    cJSON_AddStringToObject(sv, "skipped",
                            "meshes (sphere, box, plane: not 2D), invisible or degenerate "
                            "instances, and polygons wholly outside the image");
    cJSON_AddStringToObject(sv, "geometry",
                            "outlines in the instance's local plane, curves flattened to "
                            "within tolerance pixels, projected by the rasterizer's camera; "
                            "clipped to the camera's [near, far] like the rasterizer, and "
                            "to a guard band one image size beyond each edge");
    cJSON_AddStringToObject(sv, "attributes",
                            "data-id (instance id, as the id artifact), data-layer, fill "
                            "(#rrggbb: the linear colour clamped to [0, 1], 8-bit sRGB as "
                            "in the rgba PNG), fill-opacity (opacity x alpha); fill-rule "
                            "evenodd on the root");
    cJSON_AddStringToObject(sv, "colorSpace",
                            "fills are sRGB; SVG viewers blend in sRGB, the rgba artifact in "
                            "linear light, so overlapping translucent fills differ slightly");
    cJSON_AddStringToObject(sv, "numbers",
                            "rounded half away from zero to 0.001, trailing zeros dropped, "
                            "never -0");
    cJSON_AddStringToObject(sv, "content", "XXH3-128 of the SVG document's bytes");
}

/* conventions.video: how the MP4s are made and what each holds
 * (lattice/video.h; docs/export-format.md, "Video"). */
static void s_video_conventions(cJSON *c, const lx_export_plan_t *plan)
{
    cJSON *v = cJSON_AddObjectToObject(c, "video");
    int num, den;
    lx_video_fps_rational(plan->sampling.fps, &num, &den);
    cJSON *files = cJSON_AddObjectToObject(v, "files");
    for (uint32_t k = 0; k < plan->cfg.n_video; k++) {
        char name[LX_VIDEO_KEY_SIZE + 4];
        lx_video_file_name(plan->cfg.video[k], name);
        cJSON_AddStringToObject(files, name, plan->cfg.video[k]);
    }
    cJSON_AddStringToObject(v, "container", "mp4 (moov at the end)");
    cJSON_AddStringToObject(v, "codec", "h264 (libx264), High profile");
    cJSON_AddStringToObject(v, "pixelFormat", "yuv420p");
    cJSON_AddStringToObject(v, "preset", LX_VIDEO_PRESET);
    cJSON_AddNumberToObject(v, "crf", LX_VIDEO_CRF);
    cJSON_AddNumberToObject(v, "gop", LX_VIDEO_GOP);
    cJSON_AddNumberToObject(v, "bFrames", 0);
    cJSON *rate = cJSON_AddArrayToObject(v, "frameRate");
    cJSON_AddItemToArray(rate, cJSON_CreateNumber(num));
    cJSON_AddItemToArray(rate, cJSON_CreateNumber(den));
    cJSON_AddStringToObject(v, "frames",
                            "one per exported frame, in order: the video's frame i is frame "
                            "frameRange[0] + i, pts i at frameRate");
    cJSON_AddStringToObject(v, "color",
                            "BT.709 matrix and primaries, sRGB transfer (the PNGs' values, "
                            "unchanged), limited range (Y 16-235, Cb/Cr 16-240); chroma the "
                            "mean of each 2x2 block, centre sited");
    cJSON_AddStringToObject(v, "sources",
                            "each frame's PNG, checked against its hash above: RGB as is, "
                            "RGBA composited over black (straight alpha times colour), gray "
                            "(masks, control/depth, edges) as R = G = B, so Y = 16 + 219 g / "
                            "255 and no chroma");
    cJSON_AddStringToObject(v, "lossy",
                            "CRF 18 is visually near-lossless, not exact: read exact values "
                            "from the PNGs; a decoded mask is within a few levels of 0 and "
                            "255, so threshold it at 128 where a hard mask is needed");
    cJSON_AddStringToObject(v, "vace",
                            "Wan VACE (WanVaceToVideo): control_video = a control image video "
                            "(control_depth.mp4, control_normal.mp4, control_flow.mp4, "
                            "control_seg.mp4, edges.mp4), or rgba.mp4 to regenerate part of "
                            "the rendered picture; control_masks = a mask layer's video "
                            "(mask_<layer>.mp4) as a mask, 1 (255) = generate there guided by "
                            "the control video, 0 = keep the control video's pixels; no mask = "
                            "generate everywhere. Pair files of one export (the wan preset: "
                            "832x480, 16 fps, 4n+1 frames)");
    cJSON_AddStringToObject(v, "content", "XXH3-128 of the MP4's bytes");
}

static void s_conventions(cJSON *root, const lx_program_t *p, const lx_export_plan_t *plan,
                          double near0, double far0)
{
    cJSON *c = cJSON_AddObjectToObject(root, "conventions");
    cJSON *d = cJSON_AddObjectToObject(c, "depth");
    double near = plan->cfg.has_depth_range ? plan->cfg.depth_near : near0;
    double far = plan->cfg.has_depth_range ? plan->cfg.depth_far : far0;
    cJSON_AddNumberToObject(d, "near", near);
    cJSON_AddNumberToObject(d, "far", far);
    cJSON_AddStringToObject(d, "zero", "near");
    cJSON_AddStringToObject(d, "value",
                            "(z - near) / (far - near), z = planar camera depth, "
                            "clamped to [0, 1]; background 1");
    cJSON_AddStringToObject(d, "range", plan->cfg.has_depth_range ? "config" : "camera per frame");
    cJSON *m = cJSON_AddObjectToObject(c, "motion");
    cJSON_AddStringToObject(m, "units", "pixels");
    cJSON_AddStringToObject(m, "direction", "p_f - p_{f-1}: x right, y down");
    cJSON_AddNumberToObject(m, "scale", plan->cfg.motion_scale);
    cJSON_AddStringToObject(m, "valid",
                            "channel 'valid' (third): 0 where the surface did not "
                            "exist in frame f - 1");
    cJSON *n = cJSON_AddObjectToObject(c, "normal");
    cJSON_AddStringToObject(n, "space", "camera");
    cJSON_AddStringToObject(n, "axes",
                            "x right, y up, z toward the viewer; unit; facing the "
                            "camera; background 0");
    cJSON *rgba = cJSON_AddObjectToObject(c, "rgba");
    cJSON_AddStringToObject(rgba, "png", "8-bit sRGB, straight alpha");
    cJSON_AddStringToObject(rgba, "exr", "half, linear, premultiplied");
    cJSON *id = cJSON_AddObjectToObject(c, "id");
    cJSON_AddStringToObject(id, "encoding", "16-bit gray; 0 = background");
    cJSON *mask = cJSON_AddObjectToObject(c, "mask");
    cJSON_AddStringToObject(mask, "value",
                            "coverage x opacity x alpha of the layer's instances, "
                            "ignoring other layers");
    cJSON *vis = cJSON_AddObjectToObject(c, "visibility");
    cJSON_AddNumberToObject(vis, "alphaThreshold", plan->cfg.alpha_threshold);
    cJSON_AddStringToObject(vis, "rule",
                            "depth, normal, id and motion come from the front-most surface at "
                            "the pixel centre whose opacity x alpha >= alphaThreshold; "
                            "fainter surfaces are skipped");
    if (plan->cfg.artifacts & LX_ART_CONTROL)
        s_control_conventions(c, &plan->cfg, near0, far0);
    if (plan->cfg.artifacts & LX_ART_PARTICLES) {
        cJSON *pt = cJSON_AddObjectToObject(c, "particles");
        const char *cols[] = {"x", "y", "z", "dx", "dy", "dz", "id"};
        cJSON_AddItemToObject(pt, "columns", cJSON_CreateStringArray(cols, 7));
        cJSON_AddNumberToObject(pt, "rows", plan->n_ids);
        cJSON_AddStringToObject(pt, "row", "instance id - 1 (ids below); the same every frame");
        cJSON_AddStringToObject(pt, "position", "world units, the instance's translation");
        cJSON_AddStringToObject(pt, "displacement",
                                "position at f minus position at f - 1 (world units per "
                                "frame); 0 where the instance was not drawn at f - 1 or f "
                                "has no f - 1");
        cJSON_AddStringToObject(pt, "absent",
                                "an instance not drawn at f: its row is all 0 (id 0)");
    }
    if (plan->cfg.artifacts & LX_ART_SEMANTIC)
        s_semantic_conventions(c, p);
    if (plan->cfg.artifacts & LX_ART_EDGES) {
        cJSON *ed = cJSON_AddObjectToObject(c, "edges");
        cJSON_AddStringToObject(ed, "encoding", "8-bit gray: 255 on an edge, 0 elsewhere");
        cJSON_AddStringToObject(ed, "rule",
                                "a pixel whose right or lower neighbour shows another instance "
                                "(id) or the same one more than 5 % nearer or farther (planar "
                                "depth), then widened to the thickness");
        cJSON_AddNumberToObject(ed, "thickness", plan->cfg.edge_thickness);
    }
    if ((plan->cfg.artifacts & LX_ART_AUDIO) && p->audio) {
        const lx_audio_track_t *a = p->audio;
        cJSON *au = cJSON_AddObjectToObject(c, "audio");
        char hex[65];
        lx_hex(a->sha256, 32, hex);
        cJSON_AddStringToObject(au, "file", "audio/features.npz");
        cJSON_AddStringToObject(au, "sha256", hex);
        cJSON_AddNumberToObject(au, "sampleRate", a->sample_rate);
        cJSON_AddNumberToObject(au, "hopMs", a->hop_ms);
        cJSON_AddNumberToObject(au, "hops", a->n_hops);
        cJSON_AddNumberToObject(au, "bpm", a->bpm);
        cJSON_AddNumberToObject(au, "beatOffsetMs", a->beat_offset_ms);
        cJSON_AddStringToObject(au, "bands",
                                "band levels over 0-100, 100-200, 200-400, 400-800, 800-1600, "
                                "1600-3200, 3200-6400 Hz and 6400 Hz to Nyquist");
        cJSON_AddStringToObject(au, "time",
                                "absolute: t = f * 1000 / fps (a cyclic patch's music does not "
                                "loop); linear between 10 ms hops, 0 after the audio ends");
    }
    if (plan->cfg.artifacts & LX_ART_TRACKS) {
        cJSON *tr = cJSON_AddObjectToObject(c, "tracks");
        cJSON_AddStringToObject(tr, "point",
                                "the instance's translation projected as the pixels are, in "
                                "pixels: x right, y down, pixel centres at .5");
        cJSON_AddStringToObject(tr, "visible",
                                "drawn at that frame, in front of the camera and inside the "
                                "picture; tracks.json has null elsewhere");
        cJSON_AddStringToObject(tr, "tracks", "tracks.json: one per id, in id order");
        cJSON_AddStringToObject(tr, "ati",
                                "ati_tracks.json (WanVideoATITracks): the ids visible at the "
                                "first frame, in id order, at 24 fps (linear between frames), "
                                "each ending before its first invisible point, at most 121 "
                                "points");
        cJSON_AddNumberToObject(tr, "atiFps", LX_ATI_FPS);
        cJSON_AddNumberToObject(tr, "atiPoints", LX_ATI_POINTS);
    }
    if (plan->cfg.artifacts & LX_ART_SVG)
        s_svg_conventions(c, &plan->cfg);
    if (plan->cfg.n_video)
        s_video_conventions(c, plan);
    cJSON *cam = cJSON_AddObjectToObject(c, "camera");
    cJSON_AddStringToObject(cam, "axes", "right-handed, +Y up, looking down -Z");
    cJSON_AddStringToObject(cam, "fov", "vertical, degrees");
    cJSON_AddStringToObject(cam, "re10k",
                            "line 1: project id; then timestamp_us fx fy cx cy 0 0 "
                            "and a 3x4 world-to-camera matrix, row-major, OpenCV "
                            "axes, intrinsics normalized by width/height");
    cJSON_AddStringToObject(cam, "wanFun",
                            "camera_wan_fun.json: per frame [fx, fy, cx, cy, 0, 0] and the 3x4 "
                            "world-to-camera matrix as re10k, the camera_conditions of "
                            "VideoX-Fun's Wan-Fun camera control; fx (fy when wider than 16:9) "
                            "divided by the factor its reader multiplies poses made for "
                            "1280x720 by, so that it sees these pixels' intrinsics");
}

static const char *s_format(const lx_export_config_t *c, int art)
{
    switch (art) {
    case 0:
        return c->color_exr ? "exr" : "png";
    case 1:
    case 2:
    case 3:
        return c->float_npy ? "npy" : "exr";
    case 4:
        return "png";
    case 5:
        return c->mask_exr ? "exr" : "png";
    case 6:
        return "json+txt";
    case 8:
        return "npy";
    case 9:
    case 10:
        return "png";
    case 11:
        return "json";
    case 12:
        return "svg";
    case 13:
        return "npz";
    default:
        return "png";
    }
}

/* checksums[key] = {files, hashes, content, combined}, one file at a time;
 * combined is the SHA-256 of the hex hashes joined by '\n'. */
typedef struct {
    cJSON *o, *files, *hashes, *content;
    lx_sha256_t all;
    size_t n;
} sums_t;

static void s_sums_begin(sums_t *s, cJSON *sums, const char *key)
{
    s->o = cJSON_AddObjectToObject(sums, key);
    s->files = cJSON_AddArrayToObject(s->o, "files");
    s->hashes = cJSON_AddArrayToObject(s->o, "hashes");
    s->content = cJSON_AddArrayToObject(s->o, "content");
    s->n = 0;
    lx_sha256_init(&s->all);
}

static void s_sums_add(sums_t *s, const char *name, const char *hash, const char *content)
{
    cJSON_AddItemToArray(s->files, cJSON_CreateString(name));
    cJSON_AddItemToArray(s->hashes, cJSON_CreateString(hash));
    cJSON_AddItemToArray(s->content, cJSON_CreateString(content));
    if (s->n++)
        lx_sha256_update(&s->all, "\n", 1);
    lx_sha256_update(&s->all, hash, 64);
}

static void s_sums_end(sums_t *s)
{
    lx_digest_t d;
    char hex[65] = "";
    if (lx_sha256_final(&s->all, &d) == LX_OK)
        lx_hex(d.bytes, 32, hex);
    cJSON_AddStringToObject(s->o, "combined", hex);
}

/* The SHA-256 and XXH3-128 hex of a file written from bytes. */
static void s_sums_add_bytes(sums_t *s, const char *name, const lx_strbuf_t *bytes)
{
    char hash[65], content[33];
    lx_sha256_hex(bytes->buf, bytes->len, hash);
    uint8_t x[16];
    lx_xxh128(bytes->buf, bytes->len, x);
    lx_hex(x, 16, content);
    s_sums_add(s, name, hash, content);
}

const lx_manifest_once_t lx_manifest_once[LX_MANIFEST_N_ONCE] = {
    {LX_ART_CAMERA, "camera", 3, {"trajectory.json", "camera_re10k.txt", "camera_wan_fun.json"}},
    {LX_ART_TRACKS, "tracks", 2, {"tracks.json", "ati_tracks.json"}},
    {LX_ART_AUDIO, "audio", 1, {"features.npz"}}};

/* ---- camera files --------------------------------------------------- */

/* The Wan-Fun reader (VideoX-Fun's process_pose_params, after
 * CameraCtrl's) takes poses as made for 1280x720 video and rescales fx by
 * (H * 16/9) / W when the video is narrower than 16:9, else fy by
 * (W / (16/9)) / H: the rows carry the inverse, so the intrinsics it
 * ends up with are the pixels'. */
static void s_wan_fun_intrinsics(double fx, double fy, uint32_t w, uint32_t h, double *ofx,
                                 double *ofy)
{
    double pose = 1280.0 / 720.0, sample = (double)w / h;
    *ofx = fx, *ofy = fy;
    if (pose > sample)
        *ofx = fx * w / (h * pose);
    else
        *ofy = fy * h / (w / pose);
}

/* camera/trajectory.json, camera/camera_re10k.txt and
 * camera/camera_wan_fun.json. */
static void s_camera_files(const lx_manifest_t *m, lx_strbuf_t *traj, lx_strbuf_t *re10k,
                           lx_strbuf_t *fun)
{
    const lx_program_t *p = m->p;
    const lx_export_plan_t *plan = &m->plan;
    cJSON *root = cJSON_CreateObject();
    cJSON_AddNumberToObject(root, "version", 1);
    cJSON_AddNumberToObject(root, "frameRate", plan->sampling.fps);
    cJSON_AddNumberToObject(root, "frameCount", (double)m->n);
    cJSON *frames = cJSON_AddArrayToObject(root, "frames");
    lx_strbuf_addf(re10k, "%s\n", p->patch_id);
    lx_strbuf_adds(fun, "[");
    for (size_t i = 0; i < m->n; i++) {
        /* The basis and field of view the pixels were rendered with. */
        lx_camera_view_t v;
        const cam_t *c = &m->cams[i];
        lx_camera_t cam = {.projection = LX_PROJ_PERSPECTIVE, .fov_y_deg = c->fov_y_deg};
        memcpy(cam.position, c->position, sizeof cam.position);
        memcpy(cam.forward, c->forward, sizeof cam.forward);
        memcpy(cam.up, c->up, sizeof cam.up);
        lx_camera_view(&cam, plan->width, plan->height, &v);
        const double *r = v.right, *u = v.up, *f = v.forward, *pos = v.position;
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "frame", (double)(plan->first + (int64_t)i));
        cJSON_AddItemToObject(o, "position", cJSON_CreateDoubleArray(pos, 3));
        cJSON_AddItemToObject(o, "forward", cJSON_CreateDoubleArray(f, 3));
        cJSON_AddItemToObject(o, "up", cJSON_CreateDoubleArray(u, 3));
        cJSON_AddNumberToObject(o, "fov", v.fov_y_deg);
        cJSON_AddItemToArray(frames, o);
        /* OpenCV camera: x right, y down, z forward. */
        double fy_px = plan->height / 2.0 / v.tan_half_fov;
        double fx = fy_px / plan->width, fy = fy_px / plan->height, ffx, ffy;
        s_wan_fun_intrinsics(fx, fy, plan->width, plan->height, &ffx, &ffy);
        double rows[3][3] = {{r[0], r[1], r[2]}, {-u[0], -u[1], -u[2]}, {f[0], f[1], f[2]}};
        lx_strbuf_addf(re10k, "%lld %.9g %.9g 0.5 0.5 0 0", (long long)llround(c->t_ms * 1000.0),
                       fx, fy);
        lx_strbuf_addf(fun, "%s\n  [%.9g, %.9g, 0.5, 0.5, 0, 0", i ? "," : "", ffx, ffy);
        for (int k = 0; k < 3; k++) {
            double t = -(rows[k][0] * pos[0] + rows[k][1] * pos[1] + rows[k][2] * pos[2]);
            t = t == 0 ? 0.0 : t; /* no -0 */
            lx_strbuf_addf(re10k, " %.9g %.9g %.9g %.9g", rows[k][0], rows[k][1], rows[k][2], t);
            lx_strbuf_addf(fun, ", %.9g, %.9g, %.9g, %.9g", rows[k][0], rows[k][1], rows[k][2],
                           t);
        }
        lx_strbuf_adds(re10k, "\n");
        lx_strbuf_adds(fun, "]");
    }
    lx_strbuf_adds(fun, "\n]\n");
    char *s = cJSON_Print(root);
    if (s) {
        lx_strbuf_adds(traj, s);
        lx_strbuf_adds(traj, "\n");
        cJSON_free(s);
    } else {
        traj->failed = true;
    }
    cJSON_Delete(root);
}

/* Writes the files bufs[k] as names[k] into out_dir/key and lists them
 * in sums under key. */
static lx_result_t s_write_files(const char *out_dir, const char *key, const char *const *names,
                                 lx_strbuf_t *bufs, int n, cJSON *sums, lx_error_t *err)
{
    char dir[LX_PATH_MAX];
    for (int k = 0; k < n; k++)
        if (bufs[k].failed)
            return lx_fail(err, LX_E_NOMEM, "out of memory");
    if (!lx_path_join(dir, out_dir, key))
        return lx_fail(err, LX_E_INVALID, "output path too long");
    lx_result_t rc = lx_mkdirs(dir, err);
    for (int k = 0; k < n && rc == LX_OK; k++)
        rc = lx_write_atomic(dir, names[k], bufs[k].buf, bufs[k].len, err);
    if (rc == LX_OK) {
        sums_t s;
        s_sums_begin(&s, sums, key);
        for (int k = 0; k < n; k++)
            s_sums_add_bytes(&s, names[k], &bufs[k]);
        s_sums_end(&s);
    }
    return rc;
}

/* Writes the camera files into out_dir/camera and lists them in sums. */
static lx_result_t s_write_camera(const lx_manifest_t *m, const char *out_dir, cJSON *sums,
                                  lx_error_t *err)
{
    const lx_manifest_once_t *o = &lx_manifest_once[0];
    lx_strbuf_t bufs[3];
    for (int k = 0; k < 3; k++)
        lx_strbuf_init(&bufs[k], m->alloc);
    s_camera_files(m, &bufs[0], &bufs[1], &bufs[2]);
    lx_result_t rc = s_write_files(out_dir, o->key, o->names, bufs, (int)o->n_names, sums, err);
    for (int k = 0; k < 3; k++)
        lx_strbuf_release(&bufs[k]);
    return rc;
}

/* Writes the tracks files into out_dir/tracks and lists them in sums. */
static lx_result_t s_write_tracks(const lx_manifest_t *m, const char *out_dir, cJSON *sums,
                                  lx_error_t *err)
{
    const lx_manifest_once_t *o = &lx_manifest_once[1];
    lx_strbuf_t bufs[2];
    for (int k = 0; k < 2; k++)
        lx_strbuf_init(&bufs[k], m->alloc);
    lx_result_t rc = lx_tracks_write(m->p, &m->plan, m->alloc, &bufs[0], &bufs[1], err);
    if (rc == LX_OK)
        rc = s_write_files(out_dir, o->key, o->names, bufs, (int)o->n_names, sums, err);
    for (int k = 0; k < 2; k++)
        lx_strbuf_release(&bufs[k]);
    return rc;
}

/* Writes audio/features.npz (a patch with audio) and lists it in sums. */
static lx_result_t s_write_audio(const lx_manifest_t *m, const char *out_dir, cJSON *sums,
                                 lx_error_t *err)
{
    const lx_manifest_once_t *o = &lx_manifest_once[2];
    lx_strbuf_t npz;
    lx_strbuf_init(&npz, m->alloc);
    lx_result_t rc = lx_audio_features_npz(m->p, m->plan.first, m->plan.last,
                                           m->plan.sampling.fps, &npz, err);
    if (rc == LX_OK)
        rc = s_write_files(out_dir, o->key, o->names, &npz, (int)o->n_names, sums, err);
    lx_strbuf_release(&npz);
    return rc;
}

/* The bytes of OUT/key/name into *buf (lx_free(alloc, ...)), when they
 * are the ones recorded (sha): a file changed or damaged since it was
 * rendered is an error, never encoded. */
static lx_result_t s_read_checked(const lx_manifest_t *m, const char *out_dir, const char *key,
                                  const char *name, const uint8_t sha[32], char **buf,
                                  size_t *len, lx_error_t *err)
{
    char path[LX_PATH_MAX], rel[LX_MANIFEST_KEY_MAX + 64];
    snprintf(rel, sizeof rel, "%s/%s", key, name);
    if (!lx_path_join(path, out_dir, rel))
        return lx_fail(err, LX_E_INVALID, "output path too long");
    /* A PNG is never larger than its raw samples plus its chunks'
     * overhead; twice that bounds what is read. */
    size_t max = (size_t)m->plan.width * m->plan.height * 8 + (1u << 20);
    /* The workers wrote these files (shared storage): a link or a FIFO
     * planted under a frame's name is refused, not followed. */
    *buf = lx_read_regular_file(path, max, len, m->alloc);
    if (!*buf)
        return lx_fail(err, LX_E_IO, "video: cannot read '%s': %s", path,
                       errno == EINVAL ? "not a regular file" : strerror(errno));
    lx_digest_t d;
    lx_result_t rc = lx_sha256(*buf, *len, &d);
    if (rc == LX_OK && memcmp(d.bytes, sha, 32) != 0)
        rc = lx_fail(err, LX_E_VERIFY,
                     "video: '%s' is not the file recorded for it (changed or damaged since it "
                     "was rendered), so the export is not complete; render it again "
                     "(lattice rerender)",
                     path);
    else if (rc != LX_OK)
        rc = lx_fail(err, rc, "video: cannot hash '%s'", path);
    if (rc != LX_OK) {
        lx_free(m->alloc, *buf);
        *buf = NULL;
    }
    return rc;
}

/* Whether a writer was asked to stop (lx_manifest_run_t.stop). */
static bool s_stopped(const atomic_bool *stop)
{
    return stop && atomic_load_explicit(stop, memory_order_relaxed);
}

/* The MP4 of artifact file j: its frames read back from out_dir in frame
 * order, checked, decoded and encoded (lattice/video.h). */
static lx_result_t s_video(const lx_manifest_t *m, uint32_t j, const char *out_dir,
                           const atomic_bool *stop, lx_strbuf_t *out, lx_error_t *err)
{
    const lx_export_file_t *a = &m->arts[j];
    lx_video_writer_t *v =
        lx_video_writer_new(m->plan.width, m->plan.height, m->plan.sampling.fps, m->alloc, err);
    lx_result_t rc = v ? LX_OK : err->code;
    for (size_t i = 0; i < m->n && rc == LX_OK; i++) {
        char name[64], *bytes = NULL;
        size_t len = 0;
        if (s_stopped(stop)) {
            rc = lx_fail(err, LX_E_CANCELLED, "video: stopped at frame %zu of %zu", i, m->n);
            break;
        }
        lx_export_frame_name(name, sizeof name, &m->plan, m->plan.first + (int64_t)i, a->ext);
        rc = s_read_checked(m, out_dir, a->key, name, m->entries[i * m->n_arts + j].sha, &bytes,
                            &len, err);
        lx_decoded_t img = {0};
        if (rc == LX_OK)
            rc = lx_png_decode(bytes, len, &img, err);
        lx_free(m->alloc, bytes);
        if (rc == LX_OK && (img.type != LX_PIX_U8 || img.width != m->plan.width ||
                            img.height != m->plan.height || img.channels == 2))
            rc = lx_fail(err, LX_E_INVALID,
                         "video: '%s/%s' is a %ux%u %u-bit image of %u channels, not an 8-bit "
                         "%ux%u gray, RGB or RGBA one",
                         a->key, name, img.width, img.height, img.type == LX_PIX_U8 ? 8 : 16,
                         img.channels, m->plan.width, m->plan.height);
        if (rc == LX_OK)
            rc = lx_video_writer_add(v, img.data, img.channels, err);
        lx_decoded_release(&img);
    }
    if (rc == LX_OK)
        rc = lx_video_writer_finish(v, out, err);
    lx_video_writer_destroy(&v);
    return rc;
}

/* Writes the videos into out_dir/video and lists them in sums. */
static lx_result_t s_write_video(const lx_manifest_t *m, const char *out_dir, cJSON *sums,
                                 const atomic_bool *stop, lx_error_t *err)
{
    const lx_export_config_t *c = &m->plan.cfg;
    char names[LX_VIDEO_MAX_KEYS][LX_VIDEO_KEY_SIZE + 4];
    const char *name_p[LX_VIDEO_MAX_KEYS];
    lx_strbuf_t bufs[LX_VIDEO_MAX_KEYS];
    for (uint32_t k = 0; k < c->n_video; k++)
        lx_strbuf_init(&bufs[k], m->alloc);
    lx_result_t rc = LX_OK;
    for (uint32_t k = 0; k < c->n_video && rc == LX_OK; k++) {
        uint32_t j = 0;
        while (j < m->n_arts && strcmp(m->arts[j].key, c->video[k]) != 0)
            j++;
        /* The plan checked the keys; a manifest of another plan did not. */
        if (j == m->n_arts || !lx_video_file_ok(&m->plan, &m->arts[j]))
            rc = lx_fail(err, LX_E_INVALID, "video key '%s' is not an 8-bit PNG frame file",
                         c->video[k]);
        else
            rc = s_video(m, j, out_dir, stop, &bufs[k], err);
        lx_video_file_name(c->video[k], names[k]);
        name_p[k] = names[k];
    }
    if (rc == LX_OK)
        rc = s_write_files(out_dir, "video", name_p, bufs, (int)c->n_video, sums, err);
    for (uint32_t k = 0; k < c->n_video; k++)
        lx_strbuf_release(&bufs[k]);
    return rc;
}

/* Everything in metadata.json before "checksums". */
static void s_header(const lx_manifest_t *m, cJSON *root, const lx_manifest_run_t *run)
{
    const lx_program_t *p = m->p;
    const lx_export_plan_t *plan = &m->plan;
    cJSON_AddStringToObject(root, "version", "1.0.0");
    cJSON_AddStringToObject(root, "projectId", p->patch_id);
    cJSON_AddStringToObject(root, "projectName", p->patch_name);
    cJSON_AddStringToObject(root, "exportedAt", run->exported_at ? run->exported_at : "");
    cJSON *fr_arr = cJSON_AddArrayToObject(root, "frameRange");
    cJSON_AddItemToArray(fr_arr, cJSON_CreateNumber((double)plan->first));
    cJSON_AddItemToArray(fr_arr, cJSON_CreateNumber((double)plan->last));
    cJSON_AddNumberToObject(root, "frameRate", plan->sampling.fps);
    cJSON *res_o = cJSON_AddObjectToObject(root, "resolution");
    cJSON_AddNumberToObject(res_o, "width", plan->width);
    cJSON_AddNumberToObject(res_o, "height", plan->height);
    cJSON_AddNumberToObject(root, "seed", plan->cfg.has_seed ? plan->cfg.seed : p->seed);
    char hex[65];
    lx_hex(p->program_hash.bytes, 32, hex);
    cJSON_AddStringToObject(root, "programHash", hex);
    lx_hex(plan->config_hash.bytes, 32, hex);
    cJSON_AddStringToObject(root, "configHash", hex);
    /* The resolved settings themselves, so that `lattice rerender` can
     * repair the export from the patch alone. */
    lx_strbuf_t cfg;
    lx_strbuf_init(&cfg, NULL);
    lx_export_plan_config_json(&m->plan, &cfg);
    cJSON *config = cfg.failed ? NULL : cJSON_ParseWithLength(cfg.buf, cfg.len);
    lx_strbuf_release(&cfg);
    if (config)
        cJSON_AddItemToObject(root, "config", config);
    cJSON *tm = cJSON_AddObjectToObject(root, "timeModel");
    static const char *const kinds[] = {"finite", "cyclic", "infinite"};
    cJSON_AddStringToObject(tm, "kind", kinds[p->time_model.kind]);
    if (p->time_model.kind == LX_TIME_FINITE)
        cJSON_AddNumberToObject(tm, "durationMs", p->time_model.duration_ms);
    else
        cJSON_AddNumberToObject(tm, "periodMs", p->time_model.period_ms);
    if (p->time_model.kind == LX_TIME_CYCLIC)
        cJSON_AddStringToObject(tm, "mode",
                                p->time_model.mode == LX_CYCLE_PINGPONG ? "pingpong" : "loop");
    cJSON *smp = cJSON_AddObjectToObject(root, "sampling");
    bool cyclic = p->time_model.kind == LX_TIME_CYCLIC;
    cJSON_AddStringToObject(smp, "mode", cyclic ? "phase" : "time");
    if (cyclic) {
        cJSON_AddNumberToObject(smp, "framesPerCycle", plan->sampling.frames_per_cycle);
        cJSON_AddBoolToObject(smp, "exactClosure", plan->exact_closure);
    }
    cJSON_AddNumberToObject(smp, "stateHorizon",
                            p->state_horizon == LX_HORIZON_UNBOUNDED ? -1.0
                                                                     : (double)p->state_horizon);
    cJSON *arts = cJSON_AddArrayToObject(root, "artifacts");
    cJSON *formats = cJSON_AddObjectToObject(root, "formats");
    for (int a = 0; a < LX_ART_COUNT; a++)
        if (plan->cfg.artifacts & (1u << a)) {
            cJSON_AddItemToArray(arts, cJSON_CreateString(lx_artifact_names[a]));
            cJSON_AddStringToObject(formats, lx_artifact_names[a], s_format(&plan->cfg, a));
        }
    s_conventions(root, p, plan, m->near0, m->far0);
    cJSON *ids = cJSON_AddArrayToObject(root, "ids");
    for (uint32_t s = 0; s < p->n_sinks; s++) {
        const lx_render_sink_t *sk = &p->sinks[s];
        uint32_t cnt = sk->instance == LX_NONE ? 1 : p->instances[sk->instance].count;
        for (uint32_t e = 0; e < cnt; e++) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddNumberToObject(o, "id", sk->id_base + e);
            cJSON_AddStringToObject(o, "layer", p->strings[sk->layer]);
            cJSON_AddStringToObject(o, "semantic", p->strings[sk->semantic]);
            cJSON_AddStringToObject(o, "block", p->blocks[sk->expr].id);
            cJSON_AddNumberToObject(o, "element", e);
            cJSON_AddItemToArray(ids, o);
        }
    }
}

/* checksums of the frames' artifact files, key by key. */
static void s_frame_sums(const lx_manifest_t *m, cJSON *sums)
{
    for (uint32_t j = 0; j < m->n_arts; j++) {
        sums_t s;
        s_sums_begin(&s, sums, m->arts[j].key);
        for (size_t i = 0; i < m->n; i++) {
            const entry_t *e = &m->entries[i * m->n_arts + j];
            char name[64], hash[65], content[33];
            lx_export_frame_name(name, sizeof name, &m->plan, m->plan.first + (int64_t)i,
                                 m->arts[j].ext);
            lx_hex(e->sha, 32, hash);
            lx_hex(e->xxh, 16, content);
            s_sums_add(&s, name, hash, content);
        }
        s_sums_end(&s);
    }
}

/* comfyui: the folders ComfyUI can load and the nodes that load them.
 * VHS_LoadImagesPath (ComfyUI-VideoHelperSuite, "Load Images (Path)")
 * loads a folder's PNG/JPG files in name order and skips .exr and .npy; it
 * converts through 8-bit RGB(A), so 16-bit PNGs (id, png16 control depth)
 * are not listed. No ComfyUI core node loads EXR sequences. */
static void s_comfyui(const lx_manifest_t *m, cJSON *root)
{
    cJSON *comfy = cJSON_AddObjectToObject(root, "comfyui");
    cJSON *folders = cJSON_CreateArray();
    for (uint32_t j = 0; j < m->n_arts; j++) {
        const lx_export_file_t *a = &m->arts[j];
        bool png8 = a->format == LX_EXPORT_PNG && a->kind != LX_EXPORT_ID &&
                    !(a->kind == LX_EXPORT_CONTROL_DEPTH && m->plan.cfg.control_depth16);
        if (png8)
            cJSON_AddItemToArray(folders, cJSON_CreateString(a->key));
    }
    cJSON_AddBoolToObject(comfy, "compatible", cJSON_GetArraySize(folders) > 0);
    static const char *const nodes[] = {"VHS_LoadImagesPath", "ControlNetLoader",
                                        "ControlNetApplyAdvanced"};
    cJSON_AddItemToObject(comfy, "recommendedNodes", cJSON_CreateStringArray(nodes, 3));
    cJSON_AddItemToObject(comfy, "imageFolders", folders);
    cJSON_AddStringToObject(comfy, "note",
                            "load each folder in imageFolders with VHS_LoadImagesPath "
                            "(ComfyUI-VideoHelperSuite, Load Images (Path)); it reads 8-bit "
                            "PNGs and skips EXR and NPY files, which no ComfyUI core node "
                            "loads; 16-bit PNGs (id, png16 control depth) are for other tools");
}

lx_result_t lx_manifest_write(const lx_manifest_t *m, const char *out_dir,
                              const lx_manifest_run_t *run, lx_error_t *err)
{
    lx_manifest_run_t def = LX_MANIFEST_RUN_INIT;
    if (!run)
        run = &def;
    if (m->missing) {
        size_t first = 0;
        while (s_have(m, first))
            first++;
        return lx_fail(err, LX_E_INVALID, "%zu of %zu frames are missing (the first is %lld)",
                       m->missing, m->n, (long long)(m->plan.first + (int64_t)first));
    }
    lx_result_t rc = lx_mkdirs(out_dir, err);
    if (rc != LX_OK)
        return rc;
    cJSON *root = cJSON_CreateObject();
    s_header(m, root, run);
    cJSON *sums = cJSON_AddObjectToObject(root, "checksums");
    s_frame_sums(m, sums);
    /* Camera files before metadata.json: its presence means the export is
     * complete. */
    if (m->plan.cfg.artifacts & LX_ART_CAMERA)
        rc = s_write_camera(m, out_dir, sums, err);
    /* A stop is honoured between files (and a video's frames), always
     * before metadata.json: the export stays incomplete, never half-said. */
    const atomic_bool *stop = run->size >= sizeof *run ? run->stop : NULL;
    if (rc == LX_OK && (m->plan.cfg.artifacts & LX_ART_TRACKS))
        rc = s_stopped(stop) ? LX_E_CANCELLED : s_write_tracks(m, out_dir, sums, err);
    if (rc == LX_OK && (m->plan.cfg.artifacts & LX_ART_AUDIO) && m->p->audio)
        rc = s_stopped(stop) ? LX_E_CANCELLED : s_write_audio(m, out_dir, sums, err);
    if (rc == LX_OK && m->plan.cfg.n_video)
        rc = s_stopped(stop) ? LX_E_CANCELLED : s_write_video(m, out_dir, sums, stop, err);
    if (rc == LX_E_CANCELLED && err && !err->message[0])
        lx_fail(err, rc, "stopped before metadata.json was written");
    if (rc == LX_OK && s_stopped(stop))
        rc = lx_fail(err, LX_E_CANCELLED, "stopped before metadata.json was written");
    s_comfyui(m, root);
    cJSON *run_o = cJSON_AddObjectToObject(root, "run");
    cJSON_AddNumberToObject(run_o, "workers", run->workers);
    cJSON_AddNumberToObject(run_o, "threads", run->threads);
    cJSON_AddNumberToObject(run_o, "elapsedMs", floor(run->elapsed_ms));
    cJSON *audit = run->audit_json ? cJSON_Parse(run->audit_json) : NULL;
    if (audit)
        cJSON_AddItemToObject(run_o, "audit", audit);
    char *text = rc == LX_OK ? cJSON_Print(root) : NULL;
    cJSON_Delete(root);
    if (!text && rc == LX_OK)
        rc = lx_fail(err, LX_E_NOMEM, "out of memory");
    if (rc == LX_OK) {
        size_t len = strlen(text);
        /* The file ends in a newline: it takes the NUL's place for the
         * write, so the text is not copied. */
        text[len] = '\n';
        rc = lx_write_atomic(out_dir, "metadata.json", text, len + 1, err);
        text[len] = '\0';
    }
    cJSON_free(text);
    return rc;
}
