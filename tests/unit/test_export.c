/* Export end to end, through the one export path: lx_frame_renderer (what
 * workers run) and lx_manifest (what the coordinator records), driven by
 * a small helper that does what a worker and the coordinator do, and
 * checked against the `lattice export` binary itself. Identical output
 * across runs, thread counts and frame orders; exact frame ranges; every
 * artifact present and verifiable; corruption caught; loop closure;
 * read-back through the decoders; the non-empty directory rule; the alpha
 * threshold from config file to id map; and
 * lx_manifest fed in any order writing the same bytes. */
#include <cJSON.h>
#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lattice/encode.h"
#include "lattice/export.h"
#include "lattice/files.h"
#include "lattice/manifest.h"
#include "lattice/progress.h"
#include "lattice/raster.h"
#include "runtime_fixture.h"
#include "scratch_dir.h"
#include "test_alloc.h"

static char s_root[256];

static char *s_file(const char *dir, const char *rel, size_t *len)
{
    char path[LX_PATH_MAX];
    return lx_path_join(path, dir, rel) ? t_read_path(path, len) : NULL;
}

static bool s_exists(const char *dir, const char *rel)
{
    char path[LX_PATH_MAX];
    struct stat st;
    return lx_path_join(path, dir, rel) && stat(path, &st) == 0;
}

/* What a worker does with a rendered frame (write each artifact file
 * atomically under dir/<key>) and what the coordinator does with the
 * result (record it in the manifest). */
static lx_result_t s_write_frame(const char *dir, const lx_frame_result_t *res, lx_manifest_t *m,
                                 lx_error_t *err)
{
    lx_manifest_file_t files[128];
    if (res->n_files > 128)
        return lx_fail(err, LX_E_LIMIT, "%u files", res->n_files);
    for (uint32_t j = 0; j < res->n_files; j++) {
        const lx_artifact_file_t *a = &res->files[j];
        char sub[LX_PATH_MAX];
        lx_result_t rc = lx_path_join(sub, dir, a->key) ? lx_mkdirs(sub, err)
                                                        : lx_fail(err, LX_E_INVALID, "too long");
        if (rc == LX_OK)
            rc = lx_write_atomic(sub, a->name, a->bytes.buf, a->bytes.len, err);
        if (rc != LX_OK)
            return rc;
        files[j] = (lx_manifest_file_t){a->key, a->name, a->hash, a->content};
    }
    return lx_manifest_add_frame(m, res->frame, res->time.t_ms, &res->camera, files, res->n_files,
                                 err);
}

/* Exports p's planned frames into dir (first to last, or last to first)
 * with the given threads, as `lattice export` does with one worker: the
 * frames, then the camera files and metadata.json. The
 * run fields are fixed (threads, no clock), so whole files compare. */
static lx_result_t s_export_plan(const lx_program_t *p, const lx_export_plan_t *plan,
                                 const char *dir, uint32_t threads, bool reverse, lx_error_t *err)
{
    lx_result_t rc = lx_mkdirs(dir, err);
    if (rc != LX_OK)
        return rc;
    lx_manifest_t *m = lx_manifest_new(p, plan, NULL, err);
    lx_frame_renderer_t *fr =
        m ? lx_frame_renderer_new(p, plan, threads, NULL, NULL, NULL, err) : NULL;
    rc = fr ? LX_OK : err->code;
    int64_t n = plan->last - plan->first + 1;
    for (int64_t k = 0; k < n && rc == LX_OK; k++) {
        const lx_frame_result_t *res = NULL;
        rc = lx_frame_renderer_render(fr, reverse ? plan->last - k : plan->first + k, &res, err);
        if (rc == LX_OK)
            rc = s_write_frame(dir, res, m, err);
    }
    lx_manifest_run_t run = LX_MANIFEST_RUN_INIT;
    run.threads = threads;
    run.exported_at = "2026-01-01T00:00:00Z";
    if (rc == LX_OK)
        rc = lx_manifest_write(m, dir, &run, err);
    lx_frame_renderer_destroy(&fr);
    lx_manifest_destroy(&m);
    return rc;
}

/* Compiles and plans patch_text with cfg_json (NULL: the defaults). */
static bool s_plan(const char *patch_text, const char *cfg_json, lx_program_t **p,
                   lx_export_plan_t *plan)
{
    lx_diags_t d;
    lx_diags_init(&d, NULL);
    lx_error_t err = {0};
    *p = NULL;
    lx_export_config_t cfg;
    lx_export_config_init(&cfg);
    bool ok =
        lx_compile(patch_text, strlen(patch_text), NULL, &d, p, &err) == LX_OK &&
        (!cfg_json || lx_export_config_load_json(&cfg, cfg_json, strlen(cfg_json), &d) == LX_OK) &&
        lx_export_plan(*p, &cfg, plan, &d) == LX_OK;
    CHECK_MSG(ok, "plan: %s", d.count ? d.items[0].message : err.message);
    lx_diags_release(&d);
    return ok;
}

/* Exports `patch` with cfg_json into s_root/name; *keep (when not NULL)
 * receives the program. */
static bool s_export(const char *name, const char *patch_text, const char *cfg_json,
                     uint32_t threads, bool reverse, lx_program_t **keep)
{
    lx_program_t *p = NULL;
    lx_export_plan_t plan;
    bool ok = s_plan(patch_text, cfg_json, &p, &plan);
    char dir[LX_PATH_MAX];
    lx_error_t err = {0};
    if (ok && lx_path_join(dir, s_root, name)) {
        lx_result_t rc = s_export_plan(p, &plan, dir, threads, reverse, &err);
        CHECK_MSG(rc == LX_OK, "export %s: %s", name, err.message);
        ok = rc == LX_OK;
    }
    if (keep)
        *keep = p;
    else
        lx_program_destroy(&p);
    return ok;
}

/* metadata.json without its two non-deterministic fields. */
static char *s_manifest_core(const char *name)
{
    char dir[512];
    snprintf(dir, sizeof dir, "%s/%s", s_root, name);
    size_t len;
    char *t = s_file(dir, "metadata.json", &len);
    cJSON *m = t ? cJSON_Parse(t) : NULL;
    free(t);
    if (!m)
        return NULL;
    cJSON_DeleteItemFromObject(m, "exportedAt");
    cJSON_DeleteItemFromObject(m, "run");
    char *s = cJSON_PrintUnformatted(m);
    cJSON_Delete(m);
    return s;
}

/* Every file of export a equals export b's, byte for byte. */
static int s_tree_diff(const char *a, const char *b, const char *rel)
{
    char pa[1024], pb[1024];
    snprintf(pa, sizeof pa, "%s/%s/%s", s_root, a, rel);
    DIR *d = opendir(pa);
    if (!d)
        return 1;
    int diffs = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.' || strcmp(e->d_name, "metadata.json") == 0)
            continue;
        char sub[1024];
        snprintf(sub, sizeof sub, "%s%s%s", rel, rel[0] ? "/" : "", e->d_name);
        snprintf(pa, sizeof pa, "%s/%s", s_root, a);
        snprintf(pb, sizeof pb, "%s/%s", s_root, b);
        struct stat st;
        char full[2100];
        snprintf(full, sizeof full, "%s/%s", pa, sub);
        if (stat(full, &st) == 0 && S_ISDIR(st.st_mode)) {
            diffs += s_tree_diff(a, b, sub);
            continue;
        }
        size_t la = 0, lb = 0;
        char *x = s_file(pa, sub, &la), *y = s_file(pb, sub, &lb);
        diffs += !x || !y || la != lb || memcmp(x, y, la) != 0;
        free(x);
        free(y);
    }
    closedir(d);
    return diffs;
}

static char *s_example(const char *name)
{
    char rel[256];
    size_t len;
    snprintf(rel, sizeof rel, "examples/%s.patch.json", name);
    return t_read(rel, &len);
}

static void test_determinism(void)
{
    char *orbit = s_example("orbit-cards");
    char *trails = s_example("feedback-trails");
    if (!orbit || !trails)
        goto out;
    const char *cfg = "{\"frames\":\"3-14\",\"resolution\":{\"width\":160,\"height\":96},"
                      "\"artifacts\":[\"rgba\",\"depth\",\"motion\",\"normal\",\"id\",\"mask\","
                      "\"camera\",\"control\"]}";
    s_export("a", orbit, cfg, 1, false, NULL);
    s_export("b", orbit, cfg, 2, false, NULL);
    s_export("c", orbit, cfg, 2, true, NULL);
    char *ma = s_manifest_core("a"), *mb = s_manifest_core("b"), *mc = s_manifest_core("c");
    CHECK(ma && mb && mc && strcmp(ma, mb) == 0 && strcmp(ma, mc) == 0);
    CHECK_EQ_INT(s_tree_diff("a", "b", ""), 0);
    CHECK_EQ_INT(s_tree_diff("a", "c", ""), 0);
    free(ma);
    free(mb);
    free(mc);
    /* The stateful example, forwards on one thread and backwards on two. */
    const char *tcfg = "{\"frames\":\"40-52\",\"resolution\":{\"width\":96,\"height\":64},"
                       "\"formats\":{\"float\":\"npy\",\"color\":\"exr\"}}";
    s_export("t1", trails, tcfg, 1, false, NULL);
    s_export("t2", trails, tcfg, 2, true, NULL);
    ma = s_manifest_core("t1");
    mb = s_manifest_core("t2");
    CHECK(ma && mb && strcmp(ma, mb) == 0);
    CHECK_EQ_INT(s_tree_diff("t1", "t2", ""), 0);
    free(ma);
    free(mb);
    /* Exact range: first and last present, neighbours absent. */
    char dir[512];
    snprintf(dir, sizeof dir, "%s/a", s_root);
    CHECK(s_exists(dir, "rgba/frame_000003.png") && s_exists(dir, "rgba/frame_000014.png"));
    CHECK(!s_exists(dir, "rgba/frame_000002.png") && !s_exists(dir, "rgba/frame_000015.png"));
    const char *arts[] = {"depth/frame_000007.exr",         "motion/frame_000007.exr",
                          "normal/frame_000007.exr",        "id/frame_000007.png",
                          "mask/cards/frame_000007.png",    "camera/trajectory.json",
                          "camera/camera_re10k.txt",        "control/depth/frame_000007.png",
                          "control/normal/frame_000007.png", "control/flow/frame_000007.png",
                          "control/seg/frame_000007.png"};
    for (size_t i = 0; i < sizeof arts / sizeof arts[0]; i++)
        CHECK_MSG(s_exists(dir, arts[i]), "missing %s", arts[i]);
    snprintf(dir, sizeof dir, "%s/t1", s_root);
    CHECK(s_exists(dir, "depth/frame_000040.npy") && s_exists(dir, "rgba/frame_000052.exr"));
out:
    free(orbit);
    free(trails);
}

/* `lattice export` itself (the in-process coordinator and two workers,
 * chunks interleaved) writes what the helper wrote into s_root/a: every
 * file the same bytes, metadata.json the same but for its run fields. */
static void test_cli_export_matches(void)
{
    char cfg[LX_PATH_MAX], out[LX_PATH_MAX];
    static char cmd[4 * LX_PATH_MAX];
    CHECK(lx_path_join(cfg, s_root, "cfg_all.json") && lx_path_join(out, s_root, "cli"));
    const char *json = "{\"frames\":\"3-14\",\"resolution\":{\"width\":160,\"height\":96},"
                       "\"artifacts\":[\"rgba\",\"depth\",\"motion\",\"normal\",\"id\","
                       "\"mask\",\"camera\",\"control\"]}";
    CHECK(lx_write_atomic(s_root, "cfg_all.json", json, strlen(json), NULL) == LX_OK);
    snprintf(cmd, sizeof cmd,
             "'%s/cli/lattice' export '%s/examples/orbit-cards.patch.json' -o '%s' --config '%s' "
             "--workers 2 --threads 2 --chunk 2 >'%s.log' 2>&1",
             LX_BUILD_DIR, LX_SOURCE_DIR, out, cfg, out);
    int status = system(cmd);
    CHECK(status == 0);
    if (status != 0) {
        size_t len = 0;
        char *log = s_file(s_root, "cli.log", &len);
        CHECK_MSG(false, "%s: %s", cmd, log ? log : "");
        free(log);
    }
    char *ma = s_manifest_core("a"), *mc = s_manifest_core("cli");
    CHECK(ma && mc && strcmp(ma, mc) == 0);
    CHECK_EQ_INT(s_tree_diff("a", "cli", ""), 0);
    CHECK_EQ_INT(s_tree_diff("cli", "a", ""), 0);
    free(ma);
    free(mc);
}

/* metadata.json of export "a" (every artifact, control included): the
 * control conventions carry the plan's resolved range and scale, and the
 * ComfyUI section names only nodes that exist and only folders they load. */
static void test_control_metadata(void)
{
    char dir[512];
    snprintf(dir, sizeof dir, "%s/a", s_root);
    size_t len = 0;
    char *t = s_file(dir, "metadata.json", &len);
    cJSON *m = t ? cJSON_Parse(t) : NULL;
    free(t);
    CHECK(m != NULL);
    if (!m)
        return;
    const cJSON *conv = cJSON_GetObjectItemCaseSensitive(m, "conventions");
    const cJSON *cd = cJSON_GetObjectItemCaseSensitive(conv, "controlDepth");
    const cJSON *range = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(m, "config"), "controlDepthRange");
    const cJSON *src = cJSON_GetObjectItemCaseSensitive(cd, "source");
    CHECK(cJSON_IsString(src) && strcmp(src->valuestring, "shot") == 0);
    /* The recorded range is the config's, to the bit. */
    const cJSON *n1 = cJSON_GetObjectItemCaseSensitive(cd, "near");
    const cJSON *n2 = cJSON_GetObjectItemCaseSensitive(range, "near");
    const cJSON *f1 = cJSON_GetObjectItemCaseSensitive(cd, "far");
    const cJSON *f2 = cJSON_GetObjectItemCaseSensitive(range, "far");
    CHECK(cJSON_IsNumber(n1) && cJSON_IsNumber(n2) && n1->valuedouble == n2->valuedouble &&
          cJSON_IsNumber(f1) && cJSON_IsNumber(f2) && f1->valuedouble == f2->valuedouble &&
          n1->valuedouble < f1->valuedouble);
    const cJSON *flow = cJSON_GetObjectItemCaseSensitive(conv, "controlFlow");
    const cJSON *scale = cJSON_GetObjectItemCaseSensitive(flow, "scale");
    CHECK(cJSON_IsNumber(scale) && scale->valuedouble > 0);
    CHECK(cJSON_GetObjectItemCaseSensitive(conv, "controlSeg") &&
          cJSON_GetObjectItemCaseSensitive(conv, "controlNormal"));
    const cJSON *comfy = cJSON_GetObjectItemCaseSensitive(m, "comfyui");
    const cJSON *nodes = cJSON_GetObjectItemCaseSensitive(comfy, "recommendedNodes");
    static const char *const real[] = {"VHS_LoadImagesPath", "ControlNetLoader",
                                       "ControlNetApplyAdvanced"};
    int n_nodes = 0;
    for (const cJSON *x = nodes ? nodes->child : NULL; x; x = x->next, n_nodes++) {
        bool known = false;
        for (size_t k = 0; k < 3; k++)
            known = known || (cJSON_IsString(x) && strcmp(x->valuestring, real[k]) == 0);
        CHECK_MSG(known, "recommended node '%s'", cJSON_IsString(x) ? x->valuestring : "?");
    }
    CHECK(n_nodes > 0);
    /* Only 8-bit PNG folders, which VHS_LoadImagesPath loads. */
    const cJSON *folders = cJSON_GetObjectItemCaseSensitive(comfy, "imageFolders");
    static const char *const want[] = {"rgba",         "mask/cards",  "control/depth",
                                       "control/normal", "control/flow", "control/seg"};
    CHECK_EQ_INT(cJSON_GetArraySize(folders), 6);
    for (int k = 0; k < 6 && cJSON_GetArraySize(folders) == 6; k++)
        CHECK_EQ_STR(cJSON_GetArrayItem(folders, k)->valuestring, want[k]);
    char *text = cJSON_PrintUnformatted(m);
    CHECK(text && strstr(text, "LoadEXR") == NULL);
    free(text);
    cJSON_Delete(m);
}

static void test_verify_catches_damage(void)
{
    char dir[512];
    snprintf(dir, sizeof dir, "%s/a", s_root);
    lx_verify_report_t rep;
    lx_error_t err = {0};
    CHECK(lx_export_verify(dir, &rep, &err) == LX_OK);
    CHECK(rep.checked == 12 * 10 + 3 && rep.missing == 0 && rep.mismatched == 0 && rep.extra == 0);
    lx_strbuf_release(&rep.text);
    /* Corrupt one byte, delete one file, add one. */
    char path[1024];
    snprintf(path, sizeof path, "%s/depth/frame_000005.exr", dir);
    FILE *f = fopen(path, "r+b");
    if (f) {
        fseek(f, 100, SEEK_SET);
        int c = fgetc(f);
        fseek(f, 100, SEEK_SET);
        fputc(c ^ 1, f);
        fclose(f);
    }
    snprintf(path, sizeof path, "%s/rgba/frame_000009.png", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/id/stray.png", dir);
    f = fopen(path, "wb");
    if (f)
        fclose(f);
    CHECK(lx_export_verify(dir, &rep, &err) == LX_E_VERIFY);
    CHECK_EQ_INT(rep.missing, 1);
    CHECK_EQ_INT(rep.mismatched, 1);
    CHECK_EQ_INT(rep.extra, 1);
    CHECK(strstr(rep.text.buf, "missing    rgba/frame_000009.png") != NULL);
    CHECK(strstr(rep.text.buf, "mismatched depth/frame_000005.exr") != NULL);
    CHECK(strstr(rep.text.buf, "extra      id/stray.png") != NULL);
    lx_strbuf_release(&rep.text);
}

static void test_closure_and_readback(void)
{
    char *orbit = s_example("orbit-cards");
    if (!orbit)
        return;
    lx_program_t *p = NULL;
    const char *cfg = "{\"frames\":\"0-120\",\"resolution\":{\"width\":96,\"height\":64},"
                      "\"artifacts\":[\"rgba\",\"depth\",\"normal\",\"mask\",\"motion\"]}";
    if (s_export("loop", orbit, cfg, 2, false, &p)) {
        char dir[512];
        snprintf(dir, sizeof dir, "%s/loop", s_root);
        size_t len;
        char *t = s_file(dir, "metadata.json", &len);
        cJSON *m = t ? cJSON_Parse(t) : NULL;
        const cJSON *sums = cJSON_GetObjectItemCaseSensitive(m, "checksums");
        int compared = 0;
        for (const cJSON *k = sums ? sums->child : NULL; k; k = k->next) {
            const cJSON *c = cJSON_GetObjectItemCaseSensitive(k, "content");
            const cJSON *c0 = cJSON_GetArrayItem(c, 0), *cn = cJSON_GetArrayItem(c, 120);
            CHECK_MSG(c0 && cn && strcmp(c0->valuestring, cn->valuestring) == 0,
                      "%s: frame 120 differs from frame 0", k->string);
            compared++;
        }
        CHECK_EQ_INT(compared, 5);
        /* Read-back: every PNG and EXR of frame 30 decodes (libpng,
         * OpenEXRCore) to exactly the buffer that was written, i.e. to its
         * content hash. (HALF rgba would widen, so this export uses PNG.) */
        int decoded = 0;
        for (const cJSON *k = sums ? sums->child : NULL; k; k = k->next) {
            const cJSON *fl = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(k, "files"), 30);
            const cJSON *c30 =
                cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(k, "content"), 30);
            if (!fl || !c30)
                continue;
            char rel[256];
            snprintf(rel, sizeof rel, "%s/%s", k->string, fl->valuestring);
            size_t n;
            char *bytes = s_file(dir, rel, &n);
            bool exr = strstr(rel, ".exr") != NULL;
            lx_decoded_t img = {0};
            lx_error_t err = {0};
            lx_result_t rc = !bytes ? LX_E_IO
                             : exr  ? lx_exr_decode(bytes, n, &img, &err)
                                    : lx_png_decode(bytes, n, &img, &err);
            CHECK_MSG(rc == LX_OK, "decode %s: %s", rel, err.message);
            if (rc == LX_OK) {
                size_t sample = img.type == LX_PIX_U8 ? 1 : img.type == LX_PIX_U16 ? 2 : 4;
                uint8_t x[16];
                char hex[33];
                lx_xxh128(img.data, (size_t)img.width * img.height * img.channels * sample, x);
                lx_hex(x, 16, hex);
                CHECK_MSG(strcmp(hex, c30->valuestring) == 0, "%s does not read back", rel);
                CHECK(img.width == 96 && img.height == 64);
                decoded++;
            }
            lx_decoded_release(&img);
            free(bytes);
        }
        CHECK_EQ_INT(decoded, 5);
        cJSON_Delete(m);
        free(t);
    }
    /* A non-empty directory that holds no export is someone else's (the
     * coordinator refuses it without force: tests/integration/test_resume.sh). */
    lx_export_config_t c;
    lx_export_config_init(&c);
    c.has_frames = true;
    c.first = c.last = 0;
    lx_diags_t d;
    lx_diags_init(&d, NULL);
    lx_export_plan_t plan;
    if (p && lx_export_plan(p, &c, &plan, &d) == LX_OK) {
        char dir[512];
        snprintf(dir, sizeof dir, "%s/other", s_root);
        mkdir(dir, 0777);
        char f[600];
        snprintf(f, sizeof f, "%s/notes.txt", dir);
        FILE *fp = fopen(f, "wb");
        if (fp)
            fclose(fp);
        lx_error_t err = {0};
        lx_prior_t pr;
        CHECK(lx_prior_read(dir, &pr, &err) == LX_OK && pr.foreign && !pr.manifest);
        lx_prior_release(&pr);
        snprintf(dir, sizeof dir, "%s/loop", s_root);
        CHECK(s_export_plan(p, &plan, dir, 1, false, &err) == LX_OK);
    }
    lx_diags_release(&d);
    lx_program_destroy(&p);
    free(orbit);
}

/* Every layer's mask is written and listed, however many layers there are. */
static void test_many_layers(void)
{
    char text[32768];
    size_t n = (size_t)snprintf(text, sizeof text,
                                "{\"format\":\"lattice.patch/1\",\"id\":\"layers\",\"output\":"
                                "{\"width\":32,\"height\":32,\"fps\":24},\"blocks\":[{\"id\":"
                                "\"t\",\"type\":\"InfiniteTimeRoot\"},{\"id\":\"s\",\"type\":"
                                "\"Rect\"}");
    for (int i = 0; i < 70; i++)
        n += (size_t)snprintf(text + n, sizeof text - n,
                              ",{\"id\":\"d%d\",\"type\":\"RenderInstances\"}", i);
    n += (size_t)snprintf(text + n, sizeof text - n, "],\"edges\":[");
    for (int i = 0; i < 70; i++)
        n += (size_t)snprintf(text + n, sizeof text - n,
                              "%s{\"from\":\"s.shape\",\"to\":\"d%d.shape\"}", i ? "," : "", i);
    snprintf(text + n, sizeof text - n, "]}");
    if (!s_export("layers", text, "{\"frames\":\"0-1\",\"artifacts\":[\"rgba\",\"mask\"]}", 2,
                  false, NULL))
        return;
    char dir[512];
    snprintf(dir, sizeof dir, "%s/layers", s_root);
    CHECK(s_exists(dir, "mask/d69/frame_000001.png"));
    size_t len;
    char *t = s_file(dir, "metadata.json", &len);
    cJSON *m = t ? cJSON_Parse(t) : NULL;
    CHECK_EQ_INT(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(m, "checksums")), 71);
    cJSON_Delete(m);
    free(t);
    lx_verify_report_t rep;
    lx_error_t err = {0};
    CHECK(lx_export_verify(dir, &rep, &err) == LX_OK && rep.checked == 142);
    lx_strbuf_release(&rep.text);
}

/* Sample (x, y) of the PNG rel of export name (the first channel), or -1. */
static long s_png_sample(const char *name, const char *rel, uint32_t x, uint32_t y)
{
    char dir[512];
    snprintf(dir, sizeof dir, "%s/%s", s_root, name);
    size_t n;
    char *bytes = s_file(dir, rel, &n);
    lx_decoded_t img = {0};
    lx_error_t err = {0};
    long v = -1;
    if (bytes && lx_png_decode(bytes, n, &img, &err) == LX_OK && x < img.width && y < img.height) {
        size_t i = ((size_t)y * img.width + x) * img.channels;
        v = img.type == LX_PIX_U16 ? ((const uint16_t *)img.data)[i]
                                   : ((const uint8_t *)img.data)[i];
    }
    CHECK_MSG(v >= 0, "%s/%s: %s", name, rel, err.message);
    lx_decoded_release(&img);
    free(bytes);
    return v;
}

/* The alpha threshold end to end: from the config file through the plan
 * and the frame renderer to the files, the resolved config and the
 * conventions. A card at opacity 0.3 in front of an opaque one is in the
 * id map at alphaThreshold 0.2 and not at the default 0.5; its mask is
 * 0.3 either way. */
static void test_alpha_threshold(void)
{
    const char *patch =
        "{\"format\":\"lattice.patch/1\",\"id\":\"faint\",\"output\":{\"width\":32,"
        "\"height\":32,\"fps\":24},\"blocks\":[{\"id\":\"t\",\"type\":\"InfiniteTimeRoot\"},"
        "{\"id\":\"s\",\"type\":\"Rect\",\"inputs\":{\"width\":4,\"height\":4}},"
        "{\"id\":\"back\",\"type\":\"RenderInstances\",\"inputs\":{\"position\":[0,0,-1]}},"
        "{\"id\":\"front\",\"type\":\"RenderInstances\",\"inputs\":{\"opacity\":0.3}}],"
        "\"edges\":[{\"from\":\"s.shape\",\"to\":\"back.shape\"},"
        "{\"from\":\"s.shape\",\"to\":\"front.shape\"}]}";
    const char *art = "\"frames\":\"0-0\",\"artifacts\":[\"id\",\"mask\",\"depth\"]";
    char def[256], low[256];
    snprintf(def, sizeof def, "{%s}", art);
    snprintf(low, sizeof low, "{%s,\"alphaThreshold\":0.2}", art);
    if (!s_export("faint-default", patch, def, 1, false, NULL) ||
        !s_export("faint-low", patch, low, 2, false, NULL))
        return;
    long back = -1, front = -1;
    double recorded = -1, resolved = -1;
    char dir[512];
    snprintf(dir, sizeof dir, "%s/faint-low", s_root);
    size_t len;
    char *t = s_file(dir, "metadata.json", &len);
    cJSON *m = t ? cJSON_Parse(t) : NULL;
    const cJSON *id;
    cJSON_ArrayForEach(id, cJSON_GetObjectItemCaseSensitive(m, "ids"))
    {
        const cJSON *layer = cJSON_GetObjectItemCaseSensitive(id, "layer");
        long v = (long)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(id, "id"));
        if (cJSON_IsString(layer) && strcmp(layer->valuestring, "back") == 0)
            back = v;
        if (cJSON_IsString(layer) && strcmp(layer->valuestring, "front") == 0)
            front = v;
    }
    const cJSON *conv = cJSON_GetObjectItemCaseSensitive(m, "conventions");
    recorded = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(conv, "visibility"), "alphaThreshold"));
    resolved = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(m, "config"), "alphaThreshold"));
    cJSON_Delete(m);
    free(t);
    CHECK(back > 0 && front > 0 && back != front);
    CHECK_MSG(recorded == 0.2 && resolved == 0.2, "conventions %g, config %g", recorded, resolved);
    CHECK_EQ_INT(s_png_sample("faint-default", "id/frame_000000.png", 16, 16), back);
    CHECK_EQ_INT(s_png_sample("faint-low", "id/frame_000000.png", 16, 16), front);
    CHECK_EQ_INT(s_png_sample("faint-default", "mask/front/frame_000000.png", 16, 16), 77);
    CHECK_EQ_INT(s_png_sample("faint-low", "mask/front/frame_000000.png", 16, 16), 77);
    CHECK_EQ_INT(s_png_sample("faint-default", "mask/back/frame_000000.png", 16, 16), 255);
    CHECK_EQ_INT(s_png_sample("faint-default", "id/frame_000000.png", 0, 0), 0);
}

/* ---- lx_manifest ----------------------------------------------------- */

#define REC_MAX_FILES 16

/* What lx_manifest_add_frame needs of one rendered frame, copied out of
 * the renderer's result (which the next render overwrites). */
typedef struct {
    int64_t f;
    double t_ms;
    lx_camera_t cam;
    uint32_t n;
    struct {
        char key[96], name[40], hash[65], content[33];
    } file[REC_MAX_FILES];
    lx_manifest_file_t mf[REC_MAX_FILES];
} rec_t;

/* Renders every planned frame with lx_frame_renderer; NULL on failure. */
static rec_t *s_record(const lx_program_t *p, const lx_export_plan_t *plan, size_t *n_out)
{
    size_t n = (size_t)(plan->last - plan->first + 1);
    rec_t *r = calloc(n, sizeof *r);
    lx_error_t err = {0};
    lx_frame_renderer_t *fr = lx_frame_renderer_new(p, plan, 2, NULL, NULL, NULL, &err);
    bool ok = r && fr;
    for (size_t i = 0; i < n && ok; i++) {
        const lx_frame_result_t *res = NULL;
        ok = lx_frame_renderer_render(fr, plan->first + (int64_t)i, &res, &err) == LX_OK &&
             res->n_files <= REC_MAX_FILES;
        CHECK_MSG(ok, "render %zu: %s", i, err.message);
        if (!ok)
            break;
        rec_t *x = &r[i];
        x->f = res->frame;
        x->t_ms = res->time.t_ms;
        x->cam = res->camera;
        x->n = res->n_files;
        for (uint32_t j = 0; j < x->n; j++) {
            const lx_artifact_file_t *a = &res->files[j];
            memcpy(x->file[j].key, a->key, sizeof a->key);
            memcpy(x->file[j].name, a->name, sizeof a->name);
            memcpy(x->file[j].hash, a->hash, sizeof a->hash);
            memcpy(x->file[j].content, a->content, sizeof a->content);
            x->mf[j] = (lx_manifest_file_t){x->file[j].key, x->file[j].name, x->file[j].hash,
                                            x->file[j].content};
        }
    }
    lx_frame_renderer_destroy(&fr);
    if (!ok) {
        free(r);
        return NULL;
    }
    *n_out = n;
    return r;
}

static lx_result_t s_add(lx_manifest_t *m, const rec_t *x, lx_error_t *err)
{
    return lx_manifest_add_frame(m, x->f, x->t_ms, &x->cam, x->mf, x->n, err);
}

/* rel in export a and export b (directories under s_root) are the same bytes. */
static bool s_same_file(const char *a, const char *b, const char *rel)
{
    char da[512], db[512];
    snprintf(da, sizeof da, "%s/%s", s_root, a);
    snprintf(db, sizeof db, "%s/%s", s_root, b);
    size_t la = 0, lb = 0;
    char *x = s_file(da, rel, &la), *y = s_file(db, rel, &lb);
    bool same = x && y && la == lb && memcmp(x, y, la) == 0;
    free(x);
    free(y);
    return same;
}

/* An example compiled and planned with a config, and every planned frame
 * recorded: s_recorded, then s_recorded_release (after a failure too). */
typedef struct {
    char *text;
    lx_program_t *p;
    lx_export_plan_t plan;
    rec_t *r;
    size_t n;
} recorded_t;

static bool s_recorded(recorded_t *fx, const char *example, const char *cfg_json)
{
    *fx = (recorded_t){0};
    fx->text = s_example(example);
    return fx->text && s_plan(fx->text, cfg_json, &fx->p, &fx->plan) &&
           (fx->r = s_record(fx->p, &fx->plan, &fx->n)) != NULL;
}

static void s_recorded_release(recorded_t *fx)
{
    free(fx->r);
    lx_program_destroy(&fx->p);
    free(fx->text);
}

static const char *const s_cfg_all =
    "{\"frames\":\"3-14\",\"resolution\":{\"width\":160,\"height\":96},"
    "\"artifacts\":[\"rgba\",\"depth\",\"motion\",\"normal\",\"id\",\"mask\",\"camera\","
    "\"control\"]}";

/* Frames recorded last to first, or shuffled, with one frame recorded
 * twice, write exactly the camera files and metadata.json of an export
 * (which records them first to last). */
static void test_manifest_any_order(void)
{
    recorded_t fx;
    if (!s_recorded(&fx, "orbit-cards", s_cfg_all))
        goto out;
    /* No clock: "run" is known, so the whole file can be compared. */
    lx_manifest_run_t run = LX_MANIFEST_RUN_INIT;
    run.threads = 2;
    run.exported_at = "2026-01-01T00:00:00Z";
    lx_error_t err = {0};
    char dir[512];
    snprintf(dir, sizeof dir, "%s/m_ref", s_root);
    CHECK(s_export_plan(fx.p, &fx.plan, dir, 2, false, &err) == LX_OK);
    CHECK_EQ_INT(fx.n, 12);
    CHECK_EQ_INT(fx.r[0].n, 10);
    static const char *const outs[] = {"m_reverse", "m_shuffled"};
    for (int o = 0; o < 2; o++) {
        lx_manifest_t *m = lx_manifest_new(fx.p, &fx.plan, NULL, &err);
        CHECK(m != NULL);
        if (!m)
            break;
        CHECK_EQ_INT(lx_manifest_missing(m), 12);
        if (o == 1) {
            /* Frame 7 first with frame 8's hashes (under its own names): the
             * second recording of 7 must replace them. */
            rec_t wrong = fx.r[4];
            for (uint32_t j = 0; j < wrong.n; j++)
                wrong.mf[j] = (lx_manifest_file_t){fx.r[4].file[j].key, fx.r[4].file[j].name,
                                                   fx.r[5].file[j].hash, fx.r[5].file[j].content};
            CHECK(s_add(m, &wrong, &err) == LX_OK);
            CHECK(lx_manifest_has_frame(m, 7));
            CHECK_EQ_INT(lx_manifest_missing(m), 11);
        }
        for (size_t k = 0; k < fx.n; k++) {
            /* 5 and 12 are coprime: i visits every frame once. */
            size_t i = o == 0 ? fx.n - 1 - k : (k * 5 + 1) % fx.n;
            CHECK_MSG(s_add(m, &fx.r[i], &err) == LX_OK, "frame %zu: %s", i, err.message);
            CHECK(lx_manifest_has_frame(m, fx.r[i].f));
        }
        CHECK_EQ_INT(lx_manifest_missing(m), 0);
        CHECK(!lx_manifest_has_frame(m, 2) && !lx_manifest_has_frame(m, 15));
        snprintf(dir, sizeof dir, "%s/%s", s_root, outs[o]);
        CHECK_MSG(lx_manifest_write(m, dir, &run, &err) == LX_OK, "write: %s", err.message);
        CHECK_MSG(s_same_file("m_ref", outs[o], "metadata.json"), "%s", outs[o]);
        CHECK_MSG(s_same_file("m_ref", outs[o], "camera/trajectory.json"), "%s", outs[o]);
        CHECK_MSG(s_same_file("m_ref", outs[o], "camera/camera_re10k.txt"), "%s", outs[o]);
        /* Written twice, the same bytes. */
        CHECK(lx_manifest_write(m, dir, &run, &err) == LX_OK);
        CHECK(s_same_file("m_ref", outs[o], "metadata.json"));
        lx_manifest_destroy(&m);
        CHECK(m == NULL);
        lx_manifest_destroy(&m);
    }
    /* Different "run" fields change only those fields. */
    lx_manifest_t *m = lx_manifest_new(fx.p, &fx.plan, NULL, &err);
    for (size_t i = 0; m && i < fx.n; i++)
        s_add(m, &fx.r[i], &err);
    lx_manifest_run_t other = LX_MANIFEST_RUN_INIT;
    other.workers = 3;
    other.elapsed_ms = 1234.9;
    other.exported_at = "2026-02-02T00:00:00Z";
    snprintf(dir, sizeof dir, "%s/m_run", s_root);
    CHECK(m && lx_manifest_write(m, dir, &other, &err) == LX_OK);
    lx_manifest_destroy(&m);
    char *a = s_manifest_core("m_ref"), *b = s_manifest_core("m_run");
    CHECK(a && b && strcmp(a, b) == 0);
    free(a);
    free(b);
    size_t len;
    char *t = s_file(dir, "metadata.json", &len);
    CHECK(t && strstr(t, "\"exportedAt\":\t\"2026-02-02T00:00:00Z\"") &&
          strstr(t, "\"workers\":\t3") && strstr(t, "\"elapsedMs\":\t1234\n"));
    free(t);
out:
    s_recorded_release(&fx);
}

/* Every refusal is LX_E_INVALID and records nothing. */
static void test_manifest_refusals(void)
{
    recorded_t fx;
    if (!s_recorded(&fx, "orbit-cards", s_cfg_all))
        goto out;
    lx_error_t err = {0};
    lx_manifest_t *m = lx_manifest_new(fx.p, &fx.plan, NULL, &err);
    CHECK(m != NULL);
    if (!m)
        goto out;
    /* Refusals before any frame is recorded: the set is the plan's already
     * (test_manifest.c has the set's own cases). */
    rec_t x = fx.r[0];
    x.f = 2;
    CHECK(s_add(m, &x, &err) == LX_E_INVALID && strstr(err.message, "outside"));
    x.f = 15;
    CHECK(s_add(m, &x, &err) == LX_E_INVALID);
    x = fx.r[0];
    x.t_ms = NAN;
    CHECK(s_add(m, &x, &err) == LX_E_INVALID);
    x = fx.r[0];
    CHECK(lx_manifest_add_frame(m, x.f, x.t_ms, &x.cam, x.mf, LX_MANIFEST_MAX_FILES + 1, &err) ==
          LX_E_INVALID);
    static const char *const bad_keys[] = {"../x",   "",     "a/b/c", "mask/.",
                                           "camera", "a//b", "rgba.x"};
    for (size_t k = 0; k < sizeof bad_keys / sizeof bad_keys[0]; k++) {
        x = fx.r[0];
        x.mf[1].key = bad_keys[k];
        CHECK_MSG(s_add(m, &x, &err) == LX_E_INVALID, "key '%s'", bad_keys[k]);
    }
    x = fx.r[0];
    x.mf[1].key = x.mf[0].key;
    CHECK(s_add(m, &x, &err) == LX_E_INVALID &&
          strstr(err.message, "frame 3: file 1 is 'rgba', expected 'depth'"));
    x = fx.r[0];
    x.mf[0].key = NULL;
    CHECK(s_add(m, &x, &err) == LX_E_INVALID);
    CHECK_EQ_INT(lx_manifest_missing(m), 12);
    CHECK(!lx_manifest_has_frame(m, 3));
    /* After a frame is recorded, the same rules. */
    CHECK(s_add(m, &fx.r[5], &err) == LX_OK);
    CHECK_EQ_INT(lx_manifest_missing(m), 11);
    x = fx.r[0];
    x.n = 7;
    CHECK(s_add(m, &x, &err) == LX_E_INVALID);
    x = fx.r[0];
    x.mf[0] = fx.r[0].mf[1];
    x.mf[1] = fx.r[0].mf[0];
    CHECK(s_add(m, &x, &err) == LX_E_INVALID &&
          strstr(err.message, "frame 3: file 0 is 'depth', expected 'rgba'"));
    x = fx.r[0];
    x.mf[1].key = "dept";
    CHECK(s_add(m, &x, &err) == LX_E_INVALID);
    /* Names: another frame's, another extension, none, a path. */
    static const char *const bad_names[] = {
        "frame_000004.png",   "frame_000003.exr",    "frame_000003.",       "frame_3.png",
        "frame_000003.png/x", "../frame_000003.png", "frame_000003.png.png"};
    for (size_t k = 0; k < sizeof bad_names / sizeof bad_names[0]; k++) {
        x = fx.r[0];
        x.mf[0].name = bad_names[k];
        CHECK_MSG(s_add(m, &x, &err) == LX_E_INVALID, "name '%s'", bad_names[k]);
    }
    /* Hashes: upper case, short, long, not hex, missing. */
    char upper[65], shorter[65], longer[66], nothex[65];
    snprintf(upper, sizeof upper, "%s", fx.r[0].file[0].hash);
    for (char *c = upper; *c; c++)
        if (*c >= 'a' && *c <= 'f')
            *c = (char)(*c - 'a' + 'A');
    snprintf(shorter, sizeof shorter, "%.63s", fx.r[0].file[0].hash);
    snprintf(longer, sizeof longer, "%s0", fx.r[0].file[0].hash);
    snprintf(nothex, sizeof nothex, "%s", fx.r[0].file[0].hash);
    nothex[10] = 'g';
    const char *const bad_hashes[] = {upper, shorter, longer, nothex, NULL};
    for (size_t k = 0; k < sizeof bad_hashes / sizeof bad_hashes[0]; k++) {
        x = fx.r[0];
        x.mf[2].hash = bad_hashes[k];
        CHECK_MSG(s_add(m, &x, &err) == LX_E_INVALID, "hash %zu", k);
        x = fx.r[0];
        x.mf[2].content = bad_hashes[k];
        CHECK_MSG(s_add(m, &x, &err) == LX_E_INVALID, "content %zu", k);
    }
    x = fx.r[0];
    x.mf[2].content = fx.r[0].file[2].hash; /* a SHA-256 where the XXH3-128 goes */
    CHECK(s_add(m, &x, &err) == LX_E_INVALID);
    CHECK_EQ_INT(lx_manifest_missing(m), 11);
    CHECK(!lx_manifest_has_frame(m, 3));
    /* Missing frames: an error, and not a file written. */
    char dir[512];
    snprintf(dir, sizeof dir, "%s/m_missing", s_root);
    CHECK(lx_manifest_write(m, dir, NULL, &err) == LX_E_INVALID &&
          strstr(err.message, "11 of 12 frames are missing (the first is 3)"));
    CHECK(!s_exists(dir, "metadata.json") && !s_exists(dir, "camera"));
    for (size_t i = 0; i + 1 < fx.n; i++)
        CHECK(s_add(m, &fx.r[i], &err) == LX_OK);
    CHECK(lx_manifest_write(m, dir, NULL, &err) == LX_E_INVALID &&
          strstr(err.message, "the first is 14"));
    CHECK(!s_exists(dir, "metadata.json"));
    CHECK(s_add(m, &fx.r[fx.n - 1], &err) == LX_OK);
    CHECK(lx_manifest_write(m, dir, NULL, &err) == LX_OK && s_exists(dir, "metadata.json"));
    lx_manifest_destroy(&m);
    /* A plan without frames is no manifest. */
    lx_export_plan_t bad = fx.plan;
    bad.first = 5;
    bad.last = 4;
    CHECK(lx_manifest_new(fx.p, &bad, NULL, &err) == NULL && err.code == LX_E_INVALID);
out:
    s_recorded_release(&fx);
}

/* Failing any allocation of the manifest is LX_E_NOMEM, never a crash, a
 * leak or a different metadata.json. */
static void test_manifest_oom(void)
{
    recorded_t fx;
    const char *cfg = "{\"frames\":\"0-3\",\"resolution\":{\"width\":32,\"height\":32}}";
    if (!s_recorded(&fx, "feedback-trails", cfg))
        goto out;
    lx_manifest_run_t run = LX_MANIFEST_RUN_INIT;
    char dir[512];
    t_fail_each_t f = T_FAIL_EACH_INIT;
    while (t_fail_each_next(&f)) {
        lx_error_t err = {0};
        lx_manifest_t *m = lx_manifest_new(fx.p, &fx.plan, &f.alloc, &err);
        lx_result_t rc = m ? LX_OK : err.code;
        for (size_t i = 0; i < fx.n && rc == LX_OK; i++)
            rc = s_add(m, &fx.r[fx.n - 1 - i], &err);
        snprintf(dir, sizeof dir, "%s/m_oom%s", s_root, f.fail_at < 0 ? "_ref" : "");
        if (rc == LX_OK)
            rc = lx_manifest_write(m, dir, &run, &err);
        lx_manifest_destroy(&m);
        if (f.fail_at < 0)
            CHECK(rc == LX_OK && f.c.calls >= 5);
        else
            CHECK_MSG(rc == LX_E_NOMEM, "allocation %ld: %s", f.fail_at, lx_error_name(rc));
        CHECK_MSG(f.c.live_blocks == 0, "allocation %ld: %ld blocks leaked", f.fail_at,
                  f.c.live_blocks);
    }
    /* After every failure, a complete manifest: the same bytes. */
    counter_t c = {0, -1, 0, 0, 0, 0};
    lx_alloc_t a = t_alloc_of(&c);
    lx_error_t err = {0};
    lx_manifest_t *m = lx_manifest_new(fx.p, &fx.plan, &a, &err);
    for (size_t i = 0; m && i < fx.n; i++)
        s_add(m, &fx.r[i], &err);
    CHECK_MSG(m && lx_manifest_write(m, dir, &run, &err) == LX_OK, "%s", err.message);
    lx_manifest_destroy(&m);
    CHECK(s_same_file("m_oom_ref", "m_oom", "metadata.json"));
out:
    s_recorded_release(&fx);
}

/* The target rule every export applies (the coordinator, for `lattice export` too). */
static void test_check_target(void)
{
    lx_error_t err = {0};
    char dir[512], f[600];
    snprintf(dir, sizeof dir, "%s/t_missing", s_root);
    lx_prior_t pr;
    CHECK(lx_prior_read(dir, &pr, &err) == LX_OK && !pr.exists);
    lx_prior_release(&pr);
    snprintf(dir, sizeof dir, "%s/t_empty", s_root);
    mkdir(dir, 0777);
    CHECK(lx_prior_read(dir, &pr, &err) == LX_OK && pr.exists && !pr.foreign && !pr.manifest &&
          !pr.journal);
    lx_prior_release(&pr);
    snprintf(f, sizeof f, "%s/notes.txt", dir);
    FILE *fp = fopen(f, "wb");
    if (fp)
        fclose(fp);
    CHECK(lx_prior_read(dir, &pr, &err) == LX_OK && pr.foreign && !pr.manifest);
    lx_prior_release(&pr);
    /* m_ref is a finished export of orbit-cards (no journal: made here,
     * not by a coordinator). */
    snprintf(dir, sizeof dir, "%s/m_ref", s_root);
    CHECK(lx_prior_read(dir, &pr, &err) == LX_OK && pr.manifest && pr.complete && !pr.foreign &&
          !pr.journal && strcmp(pr.project_id, "orbit-cards") == 0 && pr.config != NULL);
    lx_prior_release(&pr);
    snprintf(f, sizeof f, "%s/metadata.json", s_root);
    fp = fopen(f, "wb");
    if (fp) {
        fputs("{\"not\": \"an export\"}", fp);
        fclose(fp);
    }
    CHECK(lx_prior_read(s_root, &pr, &err) == LX_OK && pr.foreign && !pr.manifest);
    lx_prior_release(&pr);
}

/* Renders fr's frames a..b and counts those whose files differ from fx's
 * sequential recording (by file and content hash). */
static int s_render_diff(lx_frame_renderer_t *fr, const recorded_t *fx, int64_t a, int64_t b)
{
    int bad = 0;
    for (int64_t f = a; f <= b; f++) {
        const lx_frame_result_t *res = NULL;
        lx_error_t err = {0};
        const rec_t *x = &fx->r[f - fx->plan.first];
        if (lx_frame_renderer_render(fr, f, &res, &err) != LX_OK || res->n_files != x->n) {
            bad++;
            continue;
        }
        for (uint32_t j = 0; j < x->n; j++)
            bad += strcmp(res->files[j].hash, x->file[j].hash) != 0 ||
                   strcmp(res->files[j].content, x->file[j].content) != 0;
    }
    return bad;
}

/* A renderer restored from a snapshot (what a worker does with ASSIGN's
 * snapshot) renders the same files as one that warmed up from frame 0,
 * motion included; bad snapshots are refused and leave it working. */
static void test_renderer_restore(void)
{
    recorded_t fx;
    const char *cfg = "{\"frames\":\"0-29\",\"resolution\":{\"width\":64,\"height\":48},"
                      "\"artifacts\":[\"rgba\",\"depth\",\"motion\",\"id\"]}";
    const int64_t s = 11, a = 14, m = 20, n = 29;
    lx_instance_t *inst = NULL;
    lx_frame_renderer_t *fr = NULL, *fresh = NULL;
    lx_strbuf_t snap, bad;
    lx_strbuf_init(&snap, NULL);
    lx_strbuf_init(&bad, NULL);
    lx_error_t err = {0};
    if (!s_recorded(&fx, "feedback-trails", cfg))
        goto out;
    CHECK(fx.plan.first == 0 && fx.plan.last == n);
    lx_instance_config_t icfg = LX_INSTANCE_CONFIG_INIT;
    icfg.frames_per_cycle = fx.plan.sampling.frames_per_cycle;
    inst = lx_instance_new(fx.p, lx_kernels_table(), NULL, &icfg, &err);
    const lx_render_frame_t *rf = NULL;
    int64_t at = -1;
    CHECK(inst && lx_instance_eval(inst, s - 1, &rf) == LX_OK);
    CHECK_EQ_INT(lx_instance_snapshot(inst, &snap, &at), LX_OK);
    CHECK(at == s);
    int64_t hdr = -1;
    CHECK(lx_snapshot_frame(snap.buf, snap.len, &hdr) && hdr == s);
    CHECK(!lx_snapshot_frame(snap.buf, 20, &hdr));
    lx_strbuf_add(&bad, snap.buf, snap.len);
    if (!bad.failed) {
        bad.buf[47] = 0x40; /* frame 2^62 */
        CHECK(!lx_snapshot_frame(bad.buf, bad.len, &hdr) && hdr == s);
    }
    bad.len = 0;

    fr = lx_frame_renderer_new(fx.p, &fx.plan, 2, NULL, NULL, NULL, &err);
    fresh = lx_frame_renderer_new(fx.p, &fx.plan, 2, NULL, NULL, NULL, &err);
    if (!fr || !fresh || snap.failed)
        goto out;
    CHECK_EQ_INT(lx_frame_renderer_restore(fr, snap.buf, snap.len, a, &err), LX_OK);
    CHECK_MSG(s_render_diff(fr, &fx, a, m) == 0, "restored frames %lld-%lld differ", (long long)a,
              (long long)m);
    /* Past the snapshot already: keeps going, but still checks the header. */
    lx_strbuf_add(&bad, snap.buf, snap.len);
    bad.buf[8] ^= 1; /* another program's hash */
    CHECK_EQ_INT(lx_frame_renderer_restore(fr, bad.buf, bad.len, m + 1, &err), LX_E_PARSE);
    CHECK_EQ_INT(lx_frame_renderer_restore(fr, snap.buf, snap.len, m + 1, &err), LX_OK);
    CHECK(s_render_diff(fr, &fx, m + 1, n) == 0);

    /* Refusals: a snapshot after first, garbage, another program's, a
     * truncated one; the renderer then still warms up from frame 0. */
    CHECK_EQ_INT(lx_frame_renderer_restore(fresh, snap.buf, snap.len, s - 1, &err), LX_E_PARSE);
    CHECK_EQ_INT(lx_frame_renderer_restore(fresh, "not a snapshot", 14, a, &err), LX_E_PARSE);
    CHECK_EQ_INT(lx_frame_renderer_restore(fresh, bad.buf, bad.len, a, &err), LX_E_PARSE);
    CHECK_EQ_INT(lx_frame_renderer_restore(fresh, snap.buf, snap.len - 8, a, &err), LX_E_PARSE);
    CHECK_EQ_INT(lx_frame_renderer_restore(fresh, snap.buf, snap.len, -1, &err), LX_E_INVALID);
    CHECK(s_render_diff(fresh, &fx, a, a + 3) == 0);

    /* The state really comes from the snapshot: frame 5's state labelled
     * frame s renders other frames. */
    lx_frame_renderer_destroy(&fresh);
    fresh = lx_frame_renderer_new(fx.p, &fx.plan, 2, NULL, NULL, NULL, &err);
    bad.len = 0;
    CHECK(fresh && lx_instance_eval(inst, 4, &rf) == LX_OK &&
          lx_instance_snapshot(inst, &bad, NULL) == LX_OK);
    if (!fresh || bad.failed)
        goto out;
    memcpy(bad.buf + 40, snap.buf + 40, 8);
    CHECK_EQ_INT(lx_frame_renderer_restore(fresh, bad.buf, bad.len, a, &err), LX_OK);
    CHECK(s_render_diff(fresh, &fx, a, a) > 0);
out:
    lx_frame_renderer_destroy(&fresh);
    lx_frame_renderer_destroy(&fr);
    lx_instance_destroy(&inst);
    lx_strbuf_release(&bad);
    lx_strbuf_release(&snap);
    s_recorded_release(&fx);
}

/* The rows of a particles file (NPY '<f4', shape (rows, 7)), or NULL. */
static const float *s_npy_rows(const lx_artifact_file_t *a, uint32_t *rows)
{
    const char *b = a->bytes.buf;
    if (a->bytes.len < 10 || memcmp(b, "\x93NUMPY\x01\x00", 8) != 0)
        return NULL;
    size_t head = 10 + (size_t)((uint8_t)b[8] | (uint8_t)b[9] << 8);
    const char *shape = strstr(b + 10, "'shape': (");
    unsigned r = 0, c = 0;
    if (!shape || sscanf(shape, "'shape': (%u, %u)", &r, &c) != 2 || c != 7 ||
        a->bytes.len != head + (size_t)r * 7 * 4 || head % 64 != 0)
        return NULL;
    *rows = r;
    return (const float *)(b + head); /* little-endian host */
}

/* Particles: one row per instance id, position, displacement since f - 1
 * and id, absent rows zero; the same bytes on any thread count and in any
 * frame order. */
static void test_particles(void)
{
    size_t len = 0;
    char *text = t_read("bench/particles.patch.json", &len);
    lx_program_t *p = NULL;
    lx_export_plan_t plan;
    const char *cfg = "{\"frames\":\"0-30\",\"resolution\":[32,18],\"artifacts\":[\"particles\"]}";
    if (!text || !s_plan(text, cfg, &p, &plan)) {
        free(text);
        return;
    }
    lx_error_t err = {0};
    lx_frame_renderer_t *fr = lx_frame_renderer_new(p, &plan, 1, NULL, NULL, NULL, &err);
    lx_frame_renderer_t *back = lx_frame_renderer_new(p, &plan, 2, NULL, NULL, NULL, &err);
    lx_instance_config_t icfg = LX_INSTANCE_CONFIG_INIT;
    icfg.frames_per_cycle = plan.sampling.frames_per_cycle;
    lx_instance_t *now = lx_instance_new(p, lx_kernels_table(), NULL, &icfg, &err);
    lx_instance_t *before = lx_instance_new(p, lx_kernels_table(), NULL, &icfg, &err);
    CHECK(fr && back && now && before);
    char hashes[31][65];
    int wrong = 0, absent = 0, moving = 0, born = 0;
    for (int64_t f = 0; fr && now && before && f <= 30; f++) {
        const lx_frame_result_t *res = NULL;
        uint32_t rows = 0;
        const float *o = NULL;
        if (lx_frame_renderer_render(fr, f, &res, &err) != LX_OK ||
            !(o = s_npy_rows(&res->files[0], &rows)) || rows != plan.n_ids) {
            CHECK_MSG(false, "frame %lld: no particles table", (long long)f);
            break;
        }
        memcpy(hashes[f], res->files[0].hash, 65);
        CHECK_EQ_STR(res->files[0].key, "particles");
        /* Expected from an independent evaluation of f and f - 1. */
        const lx_render_frame_t *rf = NULL, *pf = NULL;
        lx_render_frame_t prev = {0};
        prev.items = calloc(plan.n_ids + 1, sizeof *prev.items);
        if (f > 0 && lx_instance_eval(before, f - 1, &pf) == LX_OK)
            lx_render_frame_copy(&prev, pf);
        CHECK(lx_instance_eval(now, f, &rf) == LX_OK);
        float *want = calloc((size_t)rows * 7 + 1, sizeof *want);
        for (uint32_t i = 0; rf && i < rf->n_items; i++) {
            const lx_draw_item_t *it = &rf->items[i];
            float *r = want + (size_t)(it->id - 1) * 7;
            const lx_draw_item_t *was = NULL;
            for (uint32_t k = 0; f > 0 && k < prev.n_items; k++)
                if (prev.items[k].id == it->id)
                    was = &prev.items[k];
            for (int c = 0; c < 3; c++) {
                r[c] = (float)it->position[c];
                r[3 + c] = was ? (float)(it->position[c] - was->position[c]) : 0.0f;
            }
            r[6] = (float)it->id;
            moving += was && r[4] != 0.0f;
            born += f > 0 && !was;
        }
        wrong += memcmp(want, o, (size_t)rows * 7 * sizeof *o) != 0;
        for (uint32_t i = 0; i < rows; i++)
            absent += want[i * 7 + 6] == 0.0f;
        free(want);
        free(prev.items);
    }
    CHECK_MSG(wrong == 0, "%d frames' particles differ from the evaluated instances", wrong);
    CHECK(absent > 0 && moving > 0 && born > 0);
    /* Backwards on two threads: the same bytes. */
    for (int64_t f = 30; back && f >= 0; f--) {
        const lx_frame_result_t *res = NULL;
        CHECK(lx_frame_renderer_render(back, f, &res, &err) == LX_OK);
        CHECK_MSG(res && strcmp(res->files[0].hash, hashes[f]) == 0,
                  "frame %lld differs rendered backwards", (long long)f);
    }
    lx_instance_destroy(&now);
    lx_instance_destroy(&before);
    lx_frame_renderer_destroy(&fr);
    lx_frame_renderer_destroy(&back);
    lx_program_destroy(&p);
    free(text);
}

/* Semantic: each pixel holds the class of its instance's `semantic` name
 * (classes numbered from 1 in sink order), where the id map has that
 * instance; the legend in metadata.json says the same. */
static void test_semantic(void)
{
    char *text = s_example("feedback-trails");
    lx_program_t *p = NULL;
    lx_export_plan_t plan;
    const char *cfg = "{\"frames\":\"0-5\",\"resolution\":[96,64],"
                      "\"artifacts\":[\"id\",\"semantic\"]}";
    if (!text || !s_plan(text, cfg, &p, &plan)) {
        free(text);
        return;
    }
    /* The expected class of every id, derived here from the sinks. */
    uint16_t *want = calloc(plan.n_ids + 1, sizeof *want);
    const char *seen[64];
    uint32_t n_seen = 0;
    for (uint32_t s = 0; s < p->n_sinks && n_seen < 64; s++) {
        const lx_render_sink_t *sk = &p->sinks[s];
        const char *name = p->strings[sk->semantic];
        uint32_t k = 0;
        while (k < n_seen && strcmp(seen[k], name) != 0)
            k++;
        if (k == n_seen)
            seen[n_seen++] = name;
        uint32_t count = sk->instance == LX_NONE ? 1 : p->instances[sk->instance].count;
        for (uint32_t e = 0; e < count; e++)
            want[sk->id_base + e] = (uint16_t)(k + 1);
    }
    CHECK_MSG(n_seen == 2, "feedback-trails has %u semantic names, not 2", n_seen);
    lx_error_t err = {0};
    lx_frame_renderer_t *fr = lx_frame_renderer_new(p, &plan, 2, NULL, NULL, NULL, &err);
    CHECK(fr != NULL);
    long wrong = 0, covered = 0, classes_seen = 0;
    for (int64_t f = 0; fr && f <= 5; f++) {
        const lx_frame_result_t *res = NULL;
        lx_decoded_t id = {0}, sem = {0};
        bool ok = lx_frame_renderer_render(fr, f, &res, &err) == LX_OK && res->n_files == 2 &&
                  strcmp(res->files[1].key, "semantic") == 0 &&
                  lx_png_decode(res->files[0].bytes.buf, res->files[0].bytes.len, &id, &err) ==
                      LX_OK &&
                  lx_png_decode(res->files[1].bytes.buf, res->files[1].bytes.len, &sem, &err) ==
                      LX_OK &&
                  sem.type == LX_PIX_U8 && sem.channels == 1 && id.type == LX_PIX_U16;
        CHECK_MSG(ok, "frame %lld: %s", (long long)f, err.message);
        for (size_t i = 0; ok && i < (size_t)plan.width * plan.height; i++) {
            uint16_t who = ((const uint16_t *)id.data)[i];
            uint8_t got = ((const uint8_t *)sem.data)[i];
            wrong += who > plan.n_ids || got != want[who];
            covered += got != 0;
            classes_seen |= 1L << got;
        }
        lx_decoded_release(&id);
        lx_decoded_release(&sem);
    }
    CHECK_MSG(wrong == 0, "%ld pixels' class differs from their instance's", wrong);
    CHECK(covered > 0 && classes_seen == 7); /* background, dot and spark */
    lx_frame_renderer_destroy(&fr);
    /* The legend. */
    s_export("sem", text, cfg, 1, false, NULL);
    char dir[512];
    snprintf(dir, sizeof dir, "%s/sem", s_root);
    size_t len = 0;
    char *json = s_file(dir, "metadata.json", &len);
    cJSON *m = json ? cJSON_Parse(json) : NULL;
    const cJSON *cls = cJSON_GetObjectItem(
        cJSON_GetObjectItem(cJSON_GetObjectItem(m, "conventions"), "semantic"), "classes");
    CHECK(cJSON_GetArraySize(cls) == 2);
    for (int k = 0; k < cJSON_GetArraySize(cls) && k < (int)n_seen; k++) {
        const cJSON *c = cJSON_GetArrayItem(cls, k);
        CHECK(cJSON_GetObjectItem(c, "value")->valuedouble == k + 1);
        CHECK_EQ_STR(cJSON_GetObjectItem(c, "name")->valuestring, seen[k]);
    }
    CHECK(s_exists(dir, "semantic/frame_000003.png"));
    cJSON_Delete(m);
    free(json);
    free(want);
    lx_program_destroy(&p);
    free(text);
}

/* The decoded PNG files (id, edges) of frame f rendered with cfg. */
static bool s_render_pngs(const char *text, const char *cfg, int64_t f, lx_decoded_t *a,
                          lx_decoded_t *b)
{
    lx_program_t *p = NULL;
    lx_export_plan_t plan;
    lx_error_t err = {0};
    lx_frame_renderer_t *fr = s_plan(text, cfg, &p, &plan)
                                  ? lx_frame_renderer_new(p, &plan, 2, NULL, NULL, NULL, &err)
                                  : NULL;
    const lx_frame_result_t *res = NULL;
    bool ok = fr && lx_frame_renderer_render(fr, f, &res, &err) == LX_OK && res->n_files == 2 &&
              lx_png_decode(res->files[0].bytes.buf, res->files[0].bytes.len, a, &err) == LX_OK &&
              lx_png_decode(res->files[1].bytes.buf, res->files[1].bytes.len, b, &err) == LX_OK;
    CHECK_MSG(ok, "render %s: %s", cfg, err.message);
    lx_frame_renderer_destroy(&fr);
    lx_program_destroy(&p);
    return ok;
}

/* Edges: 255 where the right or lower neighbour shows another instance
 * (refscene's surfaces are smooth, so its depth rule adds nothing), a
 * 1-px line, and a thickness of 3 is that line widened by one pixel each
 * way. */
static void test_edges(void)
{
    char *text = s_example("refscene");
    lx_decoded_t id = {0}, e1 = {0}, id3 = {0}, e3 = {0};
    const char *c1 = "{\"frames\":\"0-3\",\"resolution\":[208,120],"
                     "\"artifacts\":[\"id\",\"edges\"]}";
    const char *c3 = "{\"frames\":\"0-3\",\"resolution\":[208,120],"
                     "\"artifacts\":[\"id\",\"edges\"],\"edgeThickness\":3}";
    if (text && s_render_pngs(text, c1, 2, &id, &e1) && s_render_pngs(text, c3, 2, &id3, &e3)) {
        uint32_t w = id.width, h = id.height;
        const uint16_t *ids = id.data;
        const uint8_t *one = e1.data, *three = e3.data;
        long wrong = 0, lines = 0, wide = 0;
        for (uint32_t y = 0; y < h; y++)
            for (uint32_t x = 0; x < w; x++) {
                size_t i = (size_t)y * w + x;
                bool e = (x + 1 < w && ids[i] != ids[i + 1]) || (y + 1 < h && ids[i] != ids[i + w]);
                wrong += one[i] != (e ? 255 : 0);
                lines += e;
                uint8_t m = 0;
                for (int dy = -1; dy <= 1; dy++)
                    for (int dx = -1; dx <= 1; dx++) {
                        int64_t xx = (int64_t)x + dx, yy = (int64_t)y + dy;
                        if (xx >= 0 && yy >= 0 && xx < w && yy < h)
                            m |= one[(size_t)yy * w + (size_t)xx];
                    }
                wrong += three[i] != m;
                wide += three[i] != 0;
            }
        CHECK_MSG(wrong == 0, "%ld edge pixels differ from the id map's boundaries", wrong);
        CHECK(lines > 100 && wide > 2 * lines);
        CHECK(e1.type == LX_PIX_U8 && e1.channels == 1);
    }
    /* The setting is checked. */
    lx_diags_t d;
    lx_diags_init(&d, NULL);
    lx_export_config_t cfg;
    lx_export_config_init(&cfg);
    const char *bad = "{\"edgeThickness\":0}";
    CHECK(lx_export_config_load_json(&cfg, bad, strlen(bad), &d) != LX_OK);
    lx_diags_release(&d);
    lx_decoded_release(&id);
    lx_decoded_release(&e1);
    lx_decoded_release(&id3);
    lx_decoded_release(&e3);
    free(text);
}

/* SVG: one document per frame under svg/, listed in metadata.json with
 * its conventions, the content hash the XXH3-128 of the file's bytes, the
 * same bytes for one thread forwards and two backwards; every id the id
 * map shows drawn as a path; svgTolerance checked and hashed only with
 * the artifact. */
static void test_svg(void)
{
    char *text = s_example("refscene");
    const char *cfg = "{\"frames\":\"0-3\",\"resolution\":[208,120],"
                      "\"artifacts\":[\"id\",\"svg\"]}";
    if (!text || !s_export("svg1", text, cfg, 1, false, NULL) ||
        !s_export("svg2", text, cfg, 2, true, NULL)) {
        free(text);
        return;
    }
    CHECK_EQ_INT(s_tree_diff("svg1", "svg2", ""), 0);
    char *a = s_manifest_core("svg1"), *b = s_manifest_core("svg2");
    CHECK(a && b && strcmp(a, b) == 0);
    free(a);
    free(b);
    char dir[512];
    snprintf(dir, sizeof dir, "%s/svg1", s_root);
    size_t len = 0;
    char *json = s_file(dir, "metadata.json", &len);
    cJSON *m = json ? cJSON_Parse(json) : NULL;
    const cJSON *sums = cJSON_GetObjectItem(cJSON_GetObjectItem(m, "checksums"), "svg");
    const cJSON *files = cJSON_GetObjectItem(sums, "files");
    const cJSON *content = cJSON_GetObjectItem(sums, "content");
    const cJSON *conv = cJSON_GetObjectItem(cJSON_GetObjectItem(m, "conventions"), "svg");
    CHECK(cJSON_GetArraySize(files) == 4 && cJSON_GetArraySize(content) == 4);
    CHECK(cJSON_GetObjectItem(conv, "tolerance") &&
          cJSON_GetObjectItem(conv, "tolerance")->valuedouble == 0.25);
    const cJSON *fmt = cJSON_GetObjectItem(cJSON_GetObjectItem(m, "formats"), "svg");
    CHECK(cJSON_IsString(fmt) && strcmp(fmt->valuestring, "svg") == 0);
    long missing = 0, paths = 0;
    for (int f = 0; f < 4 && cJSON_GetArraySize(files) == 4; f++) {
        char rel[64], name[32];
        snprintf(name, sizeof name, "frame_%06d.svg", f);
        snprintf(rel, sizeof rel, "svg/%s", name);
        CHECK_EQ_STR(cJSON_GetArrayItem(files, f)->valuestring, name);
        size_t n = 0;
        char *svg = s_file(dir, rel, &n);
        if (!svg) {
            CHECK_MSG(false, "%s is missing", rel);
            continue;
        }
        uint8_t x[16];
        char hex[33];
        lx_xxh128(svg, n, x);
        lx_hex(x, 16, hex);
        CHECK_EQ_STR(cJSON_GetArrayItem(content, f)->valuestring, hex);
        CHECK(strncmp(svg, "<?xml", 5) == 0 && strstr(svg, "</svg>\n") == svg + n - 7);
        /* Every instance the id map shows has its path. */
        lx_decoded_t id = {0};
        lx_error_t err = {0};
        snprintf(rel, sizeof rel, "id/frame_%06d.png", f);
        size_t pn = 0;
        char *png = s_file(dir, rel, &pn);
        if (png && lx_png_decode(png, pn, &id, &err) == LX_OK) {
            bool seen[65536] = {false};
            const uint16_t *ids = id.data;
            uint32_t top = 0;
            for (size_t i = 0; i < (size_t)id.width * id.height; i++) {
                seen[ids[i]] = true;
                top = ids[i] > top ? ids[i] : top;
            }
            for (uint32_t k = 1; k <= top; k++) {
                char attr[32];
                snprintf(attr, sizeof attr, "data-id=\"%u\"", k);
                if (seen[k])
                    missing += strstr(svg, attr) == NULL;
            }
        }
        for (const char *q = svg; (q = strstr(q, "<path ")) != NULL; q++)
            paths++;
        lx_decoded_release(&id);
        free(png);
        free(svg);
    }
    CHECK_MSG(missing == 0, "%ld visible instances have no svg path", missing);
    CHECK(paths > 4);
    cJSON_Delete(m);
    free(json);
    /* svgTolerance: in the config hash only with the artifact. */
    lx_program_t *p = NULL;
    lx_export_plan_t p1, p2, p3, p4;
    const char *c2 = "{\"frames\":\"0-3\",\"artifacts\":[\"svg\"],\"svgTolerance\":0.5}";
    const char *c3 = "{\"frames\":\"0-3\",\"artifacts\":[\"id\"]}";
    const char *c4 = "{\"frames\":\"0-3\",\"artifacts\":[\"id\"],\"svgTolerance\":0.5}";
    const char *c1 = "{\"frames\":\"0-3\",\"artifacts\":[\"svg\"]}";
    bool ok = s_plan(text, c1, &p, &p1);
    lx_program_destroy(&p);
    ok = ok && s_plan(text, c2, &p, &p2);
    lx_program_destroy(&p);
    ok = ok && s_plan(text, c3, &p, &p3);
    lx_program_destroy(&p);
    ok = ok && s_plan(text, c4, &p, &p4);
    lx_program_destroy(&p);
    CHECK(ok && memcmp(&p1.config_hash, &p2.config_hash, sizeof p1.config_hash) != 0);
    CHECK(ok && memcmp(&p3.config_hash, &p4.config_hash, sizeof p3.config_hash) == 0);
    CHECK(ok && p2.cfg.svg_tolerance == 0.5);
    lx_diags_t d;
    lx_diags_init(&d, NULL);
    lx_export_config_t ec;
    lx_export_config_init(&ec);
    CHECK(ec.svg_tolerance == 0.25 && !(LX_ART_DEFAULT & LX_ART_SVG));
    const char *bad[] = {"{\"svgTolerance\":0}", "{\"svgTolerance\":17}",
                         "{\"svgTolerance\":\"fine\"}"};
    for (int k = 0; k < 3; k++)
        CHECK(lx_export_config_load_json(&ec, bad[k], strlen(bad[k]), &d) != LX_OK);
    CHECK(d.count >= 3 && d.items[0].code == LX_DC_EX_504);
    lx_diags_release(&d);
    free(text);
}

int main(void)
{
    if (!t_scratch_dir(s_root, "export"))
        TEST_MAIN_END();
    test_determinism();
    test_cli_export_matches();
    test_control_metadata();
    test_verify_catches_damage();
    test_closure_and_readback();
    test_many_layers();
    test_alpha_threshold();
    test_manifest_any_order();
    test_manifest_refusals();
    test_manifest_oom();
    test_check_target();
    test_renderer_restore();
    test_particles();
    test_semantic();
    test_edges();
    test_svg();
    t_scratch_dir_remove(s_root);
    TEST_MAIN_END();
}
