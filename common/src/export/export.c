/* lx_export_run: the frame loop, atomic files, camera files, metadata.json. */
#include <cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "export_internal.h"
#include "lattice/dmath.h"
#include "lattice/export.h"

/* ---- files ---------------------------------------------------------- */

/* dir + "/" + name into buf (LX_PATH_MAX); false when it does not fit. */
enum { LX_PATH_MAX = 4096 };

static bool s_join(char *buf, const char *dir, const char *name)
{
    size_t a = strlen(dir), b = strlen(name);
    if (a + b + 2 > LX_PATH_MAX)
        return false;
    memcpy(buf, dir, a);
    buf[a] = '/';
    memcpy(buf + a + 1, name, b + 1);
    return true;
}

lx_result_t lx_mkdirs(const char *path, lx_error_t *err)
{
    char buf[4096];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof buf)
        return lx_fail(err, LX_E_INVALID, "bad directory '%s'", path);
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] != '/' && buf[i] != '\0')
            continue;
        char c = buf[i];
        buf[i] = '\0';
        if (mkdir(buf, 0777) != 0 && errno != EEXIST)
            return lx_fail(err, LX_E_IO, "cannot create '%s': %s", buf, strerror(errno));
        buf[i] = c;
    }
    return LX_OK;
}

lx_result_t lx_write_atomic(const char *dir, const char *name, const void *data, size_t len,
                            lx_error_t *err)
{
    char tmp[LX_PATH_MAX], dst[LX_PATH_MAX], tmpname[300];
    int t = snprintf(tmpname, sizeof tmpname, ".%s.tmp-%ld", name, (long)getpid());
    if (t < 0 || (size_t)t >= sizeof tmpname || !s_join(dst, dir, name) ||
        !s_join(tmp, dir, tmpname))
        return lx_fail(err, LX_E_INVALID, "path too long: '%s/%s'", dir, name);
    FILE *f = fopen(tmp, "wb");
    if (!f)
        return lx_fail(err, LX_E_IO, "cannot write '%s': %s", tmp, strerror(errno));
    bool ok = fwrite(data, 1, len, f) == len;
    ok = fclose(f) == 0 && ok;
    /* Only a complete file ever carries the final name. */
    if (!ok || rename(tmp, dst) != 0) {
        int e = errno;
        unlink(tmp);
        return lx_fail(err, LX_E_IO, "cannot write '%s': %s", dst, strerror(e ? e : EIO));
    }
    return LX_OK;
}

char *lx_read_file(const char *path, size_t max, size_t *len, const lx_alloc_t *a)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, n = 0;
    char *buf = lx_malloc(a, cap + 1);
    while (buf) {
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0 || n > max)
            break;
        if (n == cap) {
            char *bigger = lx_malloc(a, cap * 2 + 1);
            if (bigger)
                memcpy(bigger, buf, n);
            lx_free(a, buf);
            buf = bigger;
            cap *= 2;
        }
    }
    bool bad = ferror(f) || n > max;
    fclose(f);
    if (!buf || bad) {
        lx_free(a, buf);
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

/* An empty or missing directory, or a previous export of the same project. */
static lx_result_t s_check_target(const char *dir, const char *project, bool force,
                                  lx_error_t *err)
{
    DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT ? LX_OK
                               : lx_fail(err, LX_E_IO, "cannot open '%s': %s", dir,
                                         strerror(errno));
    bool empty = true;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            empty = false;
    closedir(d);
    if (empty || force)
        return LX_OK;
    char path[LX_PATH_MAX];
    if (!s_join(path, dir, "metadata.json"))
        return lx_fail(err, LX_E_INVALID, "output path too long");
    size_t n = 0;
    char *buf = lx_read_file(path, 512u << 20, &n, lx_alloc_default());
    cJSON *m = buf ? cJSON_ParseWithLength(buf, n) : NULL;
    lx_free(lx_alloc_default(), buf);
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(m, "projectId");
    bool ours = cJSON_IsString(id) && strcmp(id->valuestring, project) == 0;
    cJSON_Delete(m);
    if (ours)
        return LX_OK;
    return lx_fail(err, LX_E_INVALID,
                   "'%s' is not empty and is not an export of '%s'; choose another directory "
                   "or pass --force (no file is ever deleted)",
                   dir, project);
}

/* ---- manifest ------------------------------------------------------- */

typedef struct {
    char hash[65], content[33];
} entry_t;

static void s_conventions(cJSON *root, const lx_export_plan_t *plan, const lx_camera_t *cam0)
{
    cJSON *c = cJSON_AddObjectToObject(root, "conventions");
    cJSON *d = cJSON_AddObjectToObject(c, "depth");
    double near = plan->cfg.has_depth_range ? plan->cfg.depth_near : cam0->near;
    double far = plan->cfg.has_depth_range ? plan->cfg.depth_far : cam0->far;
    cJSON_AddNumberToObject(d, "near", near);
    cJSON_AddNumberToObject(d, "far", far);
    cJSON_AddStringToObject(d, "zero", "near");
    cJSON_AddStringToObject(d, "value", "(z - near) / (far - near), z = planar camera depth, "
                                        "clamped to [0, 1]; background 1");
    cJSON_AddStringToObject(d, "range", plan->cfg.has_depth_range ? "config" : "camera per frame");
    cJSON *m = cJSON_AddObjectToObject(c, "motion");
    cJSON_AddStringToObject(m, "units", "pixels");
    cJSON_AddStringToObject(m, "direction", "p_f - p_{f-1}: x right, y down");
    cJSON_AddNumberToObject(m, "scale", plan->cfg.motion_scale);
    cJSON_AddStringToObject(m, "valid", "channel 'valid' (third): 0 where the surface did not "
                                        "exist in frame f - 1");
    cJSON *n = cJSON_AddObjectToObject(c, "normal");
    cJSON_AddStringToObject(n, "space", "camera");
    cJSON_AddStringToObject(n, "axes", "x right, y up, z toward the viewer; unit; facing the "
                                       "camera; background 0");
    cJSON *rgba = cJSON_AddObjectToObject(c, "rgba");
    cJSON_AddStringToObject(rgba, "png", "8-bit sRGB, straight alpha");
    cJSON_AddStringToObject(rgba, "exr", "half, linear, premultiplied");
    cJSON *id = cJSON_AddObjectToObject(c, "id");
    cJSON_AddStringToObject(id, "encoding", "16-bit gray; 0 = background");
    cJSON *mask = cJSON_AddObjectToObject(c, "mask");
    cJSON_AddStringToObject(mask, "value", "coverage x opacity of the layer's instances, "
                                           "ignoring other layers");
    cJSON *cam = cJSON_AddObjectToObject(c, "camera");
    cJSON_AddStringToObject(cam, "axes", "right-handed, +Y up, looking down -Z");
    cJSON_AddStringToObject(cam, "fov", "vertical, degrees");
    cJSON_AddStringToObject(cam, "re10k", "line 1: project id; then timestamp_us fx fy cx cy 0 0 "
                                          "and a 3x4 world-to-camera matrix, row-major, OpenCV "
                                          "axes, intrinsics normalized by width/height");
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
    default:
        return "png";
    }
}

static void s_add_checksums(cJSON *sums, const char *key, char names[][40], const entry_t *e,
                            size_t stride, size_t n)
{
    cJSON *o = cJSON_AddObjectToObject(sums, key);
    cJSON *files = cJSON_AddArrayToObject(o, "files");
    cJSON *hashes = cJSON_AddArrayToObject(o, "hashes");
    cJSON *content = cJSON_AddArrayToObject(o, "content");
    lx_sha256_t h;
    lx_sha256_init(&h);
    for (size_t i = 0; i < n; i++) {
        const entry_t *x = &e[i * stride];
        cJSON_AddItemToArray(files, cJSON_CreateString(names[i]));
        cJSON_AddItemToArray(hashes, cJSON_CreateString(x->hash));
        cJSON_AddItemToArray(content, cJSON_CreateString(x->content));
        if (i)
            lx_sha256_update(&h, "\n", 1);
        lx_sha256_update(&h, x->hash, 64);
    }
    lx_digest_t d;
    char hex[65] = "";
    if (lx_sha256_final(&h, &d) == LX_OK)
        lx_hex(d.bytes, 32, hex);
    cJSON_AddStringToObject(o, "combined", hex);
}

/* ---- camera files --------------------------------------------------- */

static void s_camera_files(const lx_program_t *p, const lx_export_plan_t *plan,
                           const lx_camera_t *cams, const double *t_ms, size_t n,
                           lx_strbuf_t *traj, lx_strbuf_t *re10k)
{
    cJSON *root = cJSON_CreateObject();
    cJSON_AddNumberToObject(root, "version", 1);
    cJSON_AddNumberToObject(root, "frameRate", p->output.fps);
    cJSON_AddNumberToObject(root, "frameCount", (double)n);
    cJSON *frames = cJSON_AddArrayToObject(root, "frames");
    lx_strbuf_addf(re10k, "%s\n", p->patch_id);
    for (size_t i = 0; i < n; i++) {
        const lx_camera_t *c = &cams[i];
        /* The orthonormal basis the rasterizer uses. */
        double f[3] = {c->forward[0], c->forward[1], c->forward[2]}, r[3], u[3];
        r[0] = f[1] * c->up[2] - f[2] * c->up[1];
        r[1] = f[2] * c->up[0] - f[0] * c->up[2];
        r[2] = f[0] * c->up[1] - f[1] * c->up[0];
        double rl = sqrt(r[0] * r[0] + r[1] * r[1] + r[2] * r[2]);
        for (int k = 0; k < 3; k++)
            r[k] = rl > 0 ? r[k] / rl : (k == 0);
        u[0] = r[1] * f[2] - r[2] * f[1];
        u[1] = r[2] * f[0] - r[0] * f[2];
        u[2] = r[0] * f[1] - r[1] * f[0];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "frame", (double)(plan->first + (int64_t)i));
        cJSON_AddItemToObject(o, "position", cJSON_CreateDoubleArray(c->position, 3));
        cJSON_AddItemToObject(o, "forward", cJSON_CreateDoubleArray(f, 3));
        cJSON_AddItemToObject(o, "up", cJSON_CreateDoubleArray(u, 3));
        cJSON_AddNumberToObject(o, "fov", c->fov_y_deg);
        cJSON_AddItemToArray(frames, o);
        /* OpenCV camera: x right, y down, z forward. */
        double fy_px = plan->height / 2.0 / lx_tan(c->fov_y_deg * LX_PI / 360.0);
        double rows[3][3] = {{r[0], r[1], r[2]}, {-u[0], -u[1], -u[2]}, {f[0], f[1], f[2]}};
        lx_strbuf_addf(re10k, "%lld %.9g %.9g 0.5 0.5 0 0", (long long)llround(t_ms[i] * 1000.0),
                       fy_px / plan->width, fy_px / plan->height);
        for (int k = 0; k < 3; k++) {
            double t = -(rows[k][0] * c->position[0] + rows[k][1] * c->position[1] +
                         rows[k][2] * c->position[2]);
            lx_strbuf_addf(re10k, " %.9g %.9g %.9g %.9g", rows[k][0], rows[k][1], rows[k][2],
                           t == 0 ? 0.0 : t);
        }
        lx_strbuf_adds(re10k, "\n");
    }
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

static void s_entry_of(const lx_strbuf_t *bytes, entry_t *e)
{
    lx_digest_t d;
    if (lx_sha256(bytes->buf, bytes->len, &d) == LX_OK)
        lx_hex(d.bytes, 32, e->hash);
    uint8_t x[16];
    lx_xxh128(bytes->buf, bytes->len, x);
    lx_hex(x, 16, e->content);
}

/* ---- the run -------------------------------------------------------- */

lx_result_t lx_export_run(const lx_program_t *p, const lx_export_plan_t *plan,
                          const char *out_dir, const lx_export_options_t *opts, lx_error_t *err)
{
    lx_export_options_t def = LX_EXPORT_OPTIONS_INIT;
    if (!opts)
        opts = &def;
    lx_result_t rc = s_check_target(out_dir, p->patch_id, opts->force, err);
    if (rc != LX_OK)
        return rc;
    if ((rc = lx_mkdirs(out_dir, err)) != LX_OK)
        return rc;
    double start = opts->clock ? opts->clock(opts->clock_user) : 0;
    lx_frame_renderer_t *fr =
        lx_frame_renderer_new(p, plan, opts->threads, opts->clock, opts->clock_user, NULL, err);
    if (!fr)
        return err ? err->code : LX_E_NOMEM;
    const lx_alloc_t *al = lx_alloc_default();
    size_t n = (size_t)(plan->last - plan->first + 1);
    entry_t *entries = NULL;
    lx_camera_t *cams = lx_calloc(al, n, sizeof *cams);
    double *t_ms = lx_calloc(al, n, sizeof *t_ms);
    char(*names)[40] = NULL;
    uint32_t n_keys = 0;
    /* One per artifact file of a frame (masks make it open-ended). */
    struct key_ext {
        char key[96], ext[8];
    } *keys = NULL;
    if (!cams || !t_ms) {
        rc = lx_fail(err, LX_E_NOMEM, "out of memory for %zu frames", n);
        goto done;
    }
    for (size_t k = 0; k < n && rc == LX_OK; k++) {
        size_t i = opts->reverse ? n - 1 - k : k;
        int64_t f = plan->first + (int64_t)i;
        const lx_frame_result_t *res = NULL;
        rc = lx_frame_renderer_render(fr, f, &res, err);
        if (rc != LX_OK)
            break;
        if (!entries) {
            n_keys = res->n_files;
            entries = lx_calloc(al, n * (n_keys ? n_keys : 1), sizeof *entries);
            keys = lx_calloc(al, n_keys + 1, sizeof *keys);
            if (!entries || !keys) {
                rc = lx_fail(err, LX_E_NOMEM, "out of memory for %zu frames", n);
                break;
            }
            for (uint32_t j = 0; j < n_keys; j++) {
                snprintf(keys[j].key, sizeof keys[j].key, "%s", res->files[j].key);
                const char *dot = strrchr(res->files[j].name, '.');
                snprintf(keys[j].ext, sizeof keys[j].ext, "%s", dot ? dot + 1 : "");
                char dir[LX_PATH_MAX];
                if (!s_join(dir, out_dir, keys[j].key))
                    rc = lx_fail(err, LX_E_INVALID, "output path too long");
                else
                    rc = lx_mkdirs(dir, err);
                if (rc != LX_OK)
                    break;
            }
        }
        double w0 = opts->clock ? opts->clock(opts->clock_user) : 0;
        for (uint32_t j = 0; j < n_keys && rc == LX_OK; j++) {
            const lx_artifact_file_t *a = &res->files[j];
            char dir[LX_PATH_MAX];
            rc = s_join(dir, out_dir, a->key)
                     ? lx_write_atomic(dir, a->name, a->bytes.buf, a->bytes.len, err)
                     : lx_fail(err, LX_E_INVALID, "output path too long");
            memcpy(entries[i * n_keys + j].hash, a->hash, sizeof a->hash);
            memcpy(entries[i * n_keys + j].content, a->content, sizeof a->content);
        }
        if (rc != LX_OK)
            break;
        ((lx_frame_result_t *)res)->times.write =
            opts->clock ? opts->clock(opts->clock_user) - w0 : 0;
        cams[i] = res->camera;
        t_ms[i] = res->time.t_ms;
        if (opts->progress)
            opts->progress(opts->progress_user, (int64_t)k + 1, (int64_t)n, res);
    }
    if (rc != LX_OK)
        goto done;

    /* Camera files, then the manifest: metadata.json is written last, so
     * its presence means the export is complete. */
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "version", "1.0.0");
    cJSON_AddStringToObject(root, "projectId", p->patch_id);
    cJSON_AddStringToObject(root, "projectName", p->patch_name);
    cJSON_AddStringToObject(root, "exportedAt", opts->exported_at ? opts->exported_at : "");
    int64_t range[2] = {plan->first, plan->last};
    cJSON *fr_arr = cJSON_AddArrayToObject(root, "frameRange");
    cJSON_AddItemToArray(fr_arr, cJSON_CreateNumber((double)range[0]));
    cJSON_AddItemToArray(fr_arr, cJSON_CreateNumber((double)range[1]));
    cJSON_AddNumberToObject(root, "frameRate", p->output.fps);
    cJSON *res_o = cJSON_AddObjectToObject(root, "resolution");
    cJSON_AddNumberToObject(res_o, "width", plan->width);
    cJSON_AddNumberToObject(res_o, "height", plan->height);
    cJSON_AddNumberToObject(root, "seed", p->seed);
    char hex[65];
    lx_hex(p->program_hash.bytes, 32, hex);
    cJSON_AddStringToObject(root, "programHash", hex);
    lx_hex(plan->config_hash.bytes, 32, hex);
    cJSON_AddStringToObject(root, "configHash", hex);
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
    cJSON_AddNumberToObject(smp, "stateHorizon", p->state_horizon == LX_HORIZON_UNBOUNDED
                                                      ? -1.0
                                                      : (double)p->state_horizon);
    cJSON *arts = cJSON_AddArrayToObject(root, "artifacts");
    cJSON *formats = cJSON_AddObjectToObject(root, "formats");
    for (int a = 0; a < 8; a++)
        if (plan->cfg.artifacts & (1u << a)) {
            cJSON_AddItemToArray(arts, cJSON_CreateString(lx_artifact_names[a]));
            cJSON_AddStringToObject(formats, lx_artifact_names[a], s_format(&plan->cfg, a));
        }
    s_conventions(root, plan, &cams[0]);
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
    cJSON *sums = cJSON_AddObjectToObject(root, "checksums");
    names = lx_calloc(al, n, sizeof *names);
    if (!names)
        rc = lx_fail(err, LX_E_NOMEM, "out of memory");
    for (uint32_t j = 0; j < n_keys && names; j++) {
        for (size_t i = 0; i < n; i++)
            snprintf(names[i], sizeof names[i], "frame_%06lld.%s",
                     (long long)(plan->first + (int64_t)i), keys[j].ext);
        s_add_checksums(sums, keys[j].key, names, entries + j, n_keys, n);
    }
    if (plan->cfg.artifacts & LX_ART_CAMERA) {
        lx_strbuf_t traj, re10k;
        lx_strbuf_init(&traj, NULL);
        lx_strbuf_init(&re10k, NULL);
        s_camera_files(p, plan, cams, t_ms, n, &traj, &re10k);
        char dir[LX_PATH_MAX];
        entry_t ce[2];
        char cn[2][40] = {"trajectory.json", "camera_re10k.txt"};
        if (rc == LX_OK && (traj.failed || re10k.failed))
            rc = lx_fail(err, LX_E_NOMEM, "out of memory");
        if (rc == LX_OK && !s_join(dir, out_dir, "camera"))
            rc = lx_fail(err, LX_E_INVALID, "output path too long");
        if (rc == LX_OK)
            rc = lx_mkdirs(dir, err);
        if (rc == LX_OK)
            rc = lx_write_atomic(dir, cn[0], traj.buf, traj.len, err);
        if (rc == LX_OK)
            rc = lx_write_atomic(dir, cn[1], re10k.buf, re10k.len, err);
        s_entry_of(&traj, &ce[0]);
        s_entry_of(&re10k, &ce[1]);
        s_add_checksums(sums, "camera", cn, ce, 1, 2);
        lx_strbuf_release(&traj);
        lx_strbuf_release(&re10k);
    }
    cJSON *comfy = cJSON_AddObjectToObject(root, "comfyui");
    cJSON_AddBoolToObject(comfy, "compatible", true);
    static const char *const nodes[] = {"VHS_LoadImagesPath", "LoadImageMask",
                                        "ControlNetApplyAdvanced", "LoadEXR"};
    cJSON_AddItemToObject(comfy, "recommendedNodes", cJSON_CreateStringArray(nodes, 4));
    cJSON *run = cJSON_AddObjectToObject(root, "run");
    cJSON_AddNumberToObject(run, "workers", 1);
    cJSON_AddNumberToObject(run, "threads", opts->threads ? opts->threads : 1);
    cJSON_AddNumberToObject(run, "elapsedMs",
                            opts->clock ? floor(opts->clock(opts->clock_user) - start) : 0);
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    if (!text && rc == LX_OK)
        rc = lx_fail(err, LX_E_NOMEM, "out of memory");
    if (rc == LX_OK) {
        size_t len = strlen(text);
        text[len] = '\n';
        rc = lx_write_atomic(out_dir, "metadata.json", text, len + 1, err);
        text[len] = '\0';
    }
    cJSON_free(text);
done:
    lx_free(al, entries);
    lx_free(al, keys);
    lx_free(al, names);
    lx_free(al, cams);
    lx_free(al, t_ms);
    lx_frame_renderer_destroy(&fr);
    return rc;
}
