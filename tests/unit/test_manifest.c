/* The files of every frame come from the program and the plan
 * (lx_export_frame_files), never from a frame: the planned list is what
 * lx_frame_renderer renders, for every example and several artifact
 * selections and formats; a manifest knows it before any frame and
 * refuses any other set (none, one missing, one extra, reordered, a wrong
 * extension or key), first or later, without changing; and a manifest of
 * ten million frames costs next to no memory until frames are recorded. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "lattice/compile.h"
#include "lattice/export.h"
#include "lattice/manifest.h"
#include "lattice/raster.h"
#include "scratch_dir.h"
#include "test.h"

static char s_root[256];

static const char *const s_examples[] = {"bus-composite-lenses", "feedback-trails", "logo-sting",
                                         "orbit-cards", "refscene"};

/* Four sinks on three layers, one layer twice: masks come per distinct
 * layer, in sink order (back, front, fx). */
static const char *const s_layered =
    "{\"format\":\"lattice.patch/1\",\"id\":\"layered\",\"output\":{\"width\":32,\"height\":32,"
    "\"fps\":24},\"blocks\":[{\"id\":\"t\",\"type\":\"InfiniteTimeRoot\"},{\"id\":\"s\","
    "\"type\":\"Rect\"},"
    "{\"id\":\"a\",\"type\":\"RenderInstances\",\"params\":{\"layer\":\"back\"}},"
    "{\"id\":\"b\",\"type\":\"RenderInstances\",\"params\":{\"layer\":\"front\"}},"
    "{\"id\":\"c\",\"type\":\"RenderInstances\",\"params\":{\"layer\":\"back\"}},"
    "{\"id\":\"d\",\"type\":\"RenderInstances\",\"params\":{\"layer\":\"fx\"}}],"
    "\"edges\":[{\"from\":\"s.shape\",\"to\":\"a.shape\"},{\"from\":\"s.shape\",\"to\":"
    "\"b.shape\"},{\"from\":\"s.shape\",\"to\":\"c.shape\"},{\"from\":\"s.shape\",\"to\":"
    "\"d.shape\"}]}";

static char *s_example(const char *name)
{
    char rel[256];
    size_t len;
    snprintf(rel, sizeof rel, "examples/%s.patch.json", name);
    return t_read(rel, &len);
}

/* Compiles text and plans it with cfg_json; false (and a failed check)
 * when either fails. */
static bool s_plan(const char *text, const char *cfg_json, lx_program_t **p, lx_export_plan_t *plan)
{
    lx_diags_t d;
    lx_diags_init(&d, NULL);
    lx_error_t err = {0};
    *p = NULL;
    lx_export_config_t cfg;
    lx_export_config_init(&cfg);
    bool ok = text && lx_compile(text, strlen(text), NULL, &d, p, &err) == LX_OK &&
              lx_export_config_load_json(&cfg, cfg_json, strlen(cfg_json), &d) == LX_OK &&
              lx_export_plan(*p, &cfg, plan, &d) == LX_OK;
    CHECK_MSG(ok, "plan %s: %s", cfg_json, d.count ? d.items[0].message : err.message);
    lx_diags_release(&d);
    if (!ok)
        lx_program_destroy(p);
    return ok;
}

/* ---- the planned set is the rendered set ---------------------------- */

/* The settings the planned list is checked under: the default artifacts,
 * one, all of them in the other formats, only the camera (no files). */
static const char *const s_configs[] = {
    "{\"frames\":\"0-1\",\"resolution\":[32,32]}",
    "{\"frames\":\"0-1\",\"resolution\":[32,32],\"artifacts\":[\"rgba\"]}",
    "{\"frames\":\"4-5\",\"resolution\":[32,32],\"artifacts\":[\"mask\",\"depth\",\"control\"]}",
    "{\"frames\":\"0-1\",\"resolution\":[32,32],\"artifacts\":[\"rgba\",\"depth\",\"motion\","
    "\"normal\",\"id\",\"mask\",\"camera\",\"control\"],\"formats\":{\"color\":\"exr\","
    "\"float\":\"npy\",\"mask\":\"exr\"}}",
    "{\"frames\":\"0-1\",\"resolution\":[32,32],\"artifacts\":[\"camera\"]}",
};

/* The keys p's plan must list for cfg_json, joined by ' ', from the rules
 * of docs/export-format.md (not from the code under test). */
static void s_expected_keys(const lx_program_t *p, uint32_t arts, char *out, size_t size)
{
    size_t n = 0;
    out[0] = '\0';
    static const char *const fixed[] = {"rgba", "depth", "motion", "normal", "id"};
    for (int a = 0; a < 5; a++)
        if (arts & (1u << a))
            n += (size_t)snprintf(out + n, size - n, "%s ", fixed[a]);
    if (arts & LX_ART_MASK)
        for (uint32_t s = 0; s < p->n_sinks; s++) {
            const char *layer = p->strings[p->sinks[s].layer];
            bool seen = false;
            for (uint32_t r = 0; r < s && !seen; r++)
                seen = strcmp(p->strings[p->sinks[r].layer], layer) == 0;
            if (!seen)
                n += (size_t)snprintf(out + n, size - n, "mask/%s ", layer);
        }
    if (arts & LX_ART_CONTROL)
        snprintf(out + n, size - n, "control/depth control/normal control/flow control/seg ");
}

/* Plans text with cfg_json, lists the frame files and renders the plan's
 * frames: every frame has exactly the planned files, and a manifest takes
 * them. Returns the planned count (or -1). */
static int s_check_planned(const char *name, const char *text, const char *cfg_json)
{
    lx_program_t *p = NULL;
    lx_export_plan_t plan;
    if (!s_plan(text, cfg_json, &p, &plan))
        return -1;
    lx_error_t err = {0};
    lx_export_file_t *planned = NULL;
    uint32_t n = 0;
    CHECK_MSG(lx_export_frame_files(p, &plan, NULL, &planned, &n, &err) == LX_OK, "%s: %s", name,
              err.message);
    char want[4096], got[4096];
    s_expected_keys(p, plan.cfg.artifacts, want, sizeof want);
    size_t len = 0;
    got[0] = '\0';
    for (uint32_t j = 0; j < n; j++)
        len += (size_t)snprintf(got + len, sizeof got - len, "%s ", planned[j].key);
    CHECK_MSG(strcmp(want, got) == 0, "%s %s: planned '%s', expected '%s'", name, cfg_json, got,
              want);
    lx_manifest_t *m = lx_manifest_new(p, &plan, NULL, &err);
    lx_frame_renderer_t *fr = lx_frame_renderer_new(p, &plan, 2, NULL, NULL, NULL, &err);
    CHECK_MSG(m && fr, "%s: %s", name, err.message);
    uint32_t n_m = 0;
    const lx_export_file_t *mf = m ? lx_manifest_files(m, &n_m) : NULL;
    CHECK_EQ_INT(n_m, n);
    for (int64_t f = plan.first; m && fr && f <= plan.last; f++) {
        const lx_frame_result_t *res = NULL;
        if (lx_frame_renderer_render(fr, f, &res, &err) != LX_OK) {
            CHECK_MSG(false, "%s frame %lld: %s", name, (long long)f, err.message);
            break;
        }
        CHECK_MSG(res->n_files == n, "%s %s: frame %lld has %u files, %u planned", name, cfg_json,
                  (long long)f, res->n_files, n);
        lx_manifest_file_t files[64];
        for (uint32_t j = 0; j < res->n_files && j < n && j < 64; j++) {
            const lx_artifact_file_t *a = &res->files[j];
            char want_name[64];
            snprintf(want_name, sizeof want_name, "frame_%06lld.%s", (long long)f, planned[j].ext);
            CHECK_MSG(strcmp(a->key, planned[j].key) == 0 && strcmp(a->name, want_name) == 0 &&
                          strcmp(mf[j].key, planned[j].key) == 0 && mf[j].ext == planned[j].ext,
                      "%s %s: file %u is %s/%s, planned %s/%s", name, cfg_json, j, a->key, a->name,
                      planned[j].key, want_name);
            /* The extension names the encoder that made the bytes. */
            static const char *const magic[] = {"\x89PNG", "\x76\x2f\x31\x01", "\x93NUMPY"};
            const char *mg = magic[planned[j].format];
            CHECK_MSG(a->bytes.len > strlen(mg) && memcmp(a->bytes.buf, mg, strlen(mg)) == 0,
                      "%s: %s is not %s", name, a->key, planned[j].ext);
            files[j] = (lx_manifest_file_t){a->key, a->name, a->hash, a->content};
        }
        if (res->n_files <= 64)
            CHECK_MSG(lx_manifest_add_frame(m, f, res->time.t_ms, &res->camera, files, res->n_files,
                                            &err) == LX_OK,
                      "%s frame %lld: %s", name, (long long)f, err.message);
    }
    CHECK(!m || lx_manifest_missing(m) == 0);
    lx_frame_renderer_destroy(&fr);
    lx_manifest_destroy(&m);
    lx_free(lx_alloc_default(), planned);
    lx_program_destroy(&p);
    return (int)n;
}

static void test_planned_is_rendered(void)
{
    for (size_t e = 0; e < sizeof s_examples / sizeof s_examples[0]; e++) {
        char *text = s_example(s_examples[e]);
        CHECK_MSG(text != NULL, "%s", s_examples[e]);
        for (size_t c = 0; text && c < sizeof s_configs / sizeof s_configs[0]; c++)
            s_check_planned(s_examples[e], text, s_configs[c]);
        free(text);
    }
    /* Several layers: one mask per distinct layer, in sink order. */
    CHECK_EQ_INT(s_check_planned("layered", s_layered, s_configs[0]), 8);
    lx_program_t *p = NULL;
    lx_export_plan_t plan;
    if (s_plan(s_layered, s_configs[3], &p, &plan)) {
        lx_export_file_t *f = NULL;
        uint32_t n = 0;
        lx_error_t err = {0};
        CHECK(lx_export_frame_files(p, &plan, NULL, &f, &n, &err) == LX_OK && n == 12);
        static const char *const keys[] = {
            "rgba",          "depth",          "motion",       "normal",
            "id",            "mask/back",      "mask/front",   "mask/fx",
            "control/depth", "control/normal", "control/flow", "control/seg"};
        static const char *const exts[] = {"exr", "npy", "npy", "npy", "png", "exr",
                                           "exr", "exr", "png", "png", "png", "png"};
        for (uint32_t j = 0; f && j < n && j < 12; j++) {
            CHECK_EQ_STR(f[j].key, keys[j]);
            CHECK_EQ_STR(f[j].ext, exts[j]);
        }
        CHECK(f && f[5].kind == LX_EXPORT_MASK && f[5].layer == 0 && f[6].layer == 1 &&
              f[7].layer == 2);
        /* The rasterizer's mask planes are the same layers. */
        const char *names[4];
        CHECK_EQ_INT(lx_raster_layers(p, names, NULL), 3);
        CHECK(strcmp(names[0], "back") == 0 && strcmp(names[1], "front") == 0 &&
              strcmp(names[2], "fx") == 0);
        lx_free(lx_alloc_default(), f);
        lx_program_destroy(&p);
    }
}

/* ---- refusals ------------------------------------------------------- */

/* Frame f of a plan, rendered and copied out of the renderer's result. */
typedef struct {
    int64_t f;
    double t_ms;
    lx_camera_t cam;
    uint32_t n;
    char key[16][96], name[16][40], hash[16][65], content[16][33];
    lx_manifest_file_t mf[17]; /* room for one extra */
} rec_t;

static bool s_render(lx_frame_renderer_t *fr, int64_t f, rec_t *x)
{
    const lx_frame_result_t *res = NULL;
    lx_error_t err = {0};
    bool ok = lx_frame_renderer_render(fr, f, &res, &err) == LX_OK && res->n_files <= 16;
    CHECK_MSG(ok, "render %lld: %s", (long long)f, err.message);
    if (!ok)
        return false;
    memset(x, 0, sizeof *x);
    x->f = f;
    x->t_ms = res->time.t_ms;
    x->cam = res->camera;
    x->n = res->n_files;
    for (uint32_t j = 0; j < x->n; j++) {
        snprintf(x->key[j], sizeof x->key[j], "%s", res->files[j].key);
        snprintf(x->name[j], sizeof x->name[j], "%s", res->files[j].name);
        snprintf(x->hash[j], sizeof x->hash[j], "%s", res->files[j].hash);
        snprintf(x->content[j], sizeof x->content[j], "%s", res->files[j].content);
        x->mf[j] = (lx_manifest_file_t){x->key[j], x->name[j], x->hash[j], x->content[j]};
    }
    return true;
}

/* Both entry points refuse x with LX_E_INVALID and a message containing
 * want, and the manifest still misses `missing` frames and not frame x. */
static void s_refused(lx_manifest_t *m, const rec_t *x, uint32_t n, const char *want,
                      int64_t missing, bool had)
{
    lx_error_t err = {0};
    CHECK_MSG(lx_manifest_check_frame(m, x->f, x->mf, n, &err) == LX_E_INVALID &&
                  strstr(err.message, want),
              "check: '%s', expected '%s'", err.message, want);
    err = (lx_error_t){0};
    CHECK_MSG(lx_manifest_add_frame(m, x->f, x->t_ms, &x->cam, x->mf, n, &err) == LX_E_INVALID &&
                  strstr(err.message, want),
              "add: '%s', expected '%s'", err.message, want);
    CHECK_EQ_INT(lx_manifest_missing(m), missing);
    CHECK(lx_manifest_has_frame(m, x->f) == had);
}

static char *s_read_out(const char *sub, const char *rel)
{
    char path[600];
    size_t len;
    snprintf(path, sizeof path, "%s/%s/%s", s_root, sub, rel);
    return t_read_path(path, &len);
}

/* The attack: a hostile worker's first FRAME has no files (or a
 * wrong set). It is refused, the honest frames are accepted, and every
 * kind of wrong set is refused before and after, leaving the manifest as
 * it was: it writes what a manifest fed only the honest frames writes. */
static void test_refusals(void)
{
    char *text = s_example("orbit-cards");
    lx_program_t *p = NULL;
    lx_export_plan_t plan;
    rec_t r[3], x;
    lx_frame_renderer_t *fr = NULL;
    lx_error_t err = {0};
    bool ok = s_plan(text, "{\"frames\":\"10-12\",\"resolution\":[32,32]}", &p, &plan) &&
              (fr = lx_frame_renderer_new(p, &plan, 1, NULL, NULL, NULL, &err)) != NULL &&
              s_render(fr, 10, &r[0]) && s_render(fr, 11, &r[1]) && s_render(fr, 12, &r[2]);
    lx_frame_renderer_destroy(&fr);
    lx_manifest_t *m = ok ? lx_manifest_new(p, &plan, NULL, &err) : NULL;
    CHECK_MSG(m != NULL, "%s", err.message);
    if (!m)
        goto out;
    /* Known before any frame. */
    uint32_t n = 0;
    const lx_export_file_t *files = lx_manifest_files(m, &n);
    CHECK_EQ_INT(n, 6);
    CHECK_EQ_INT(r[0].n, 6);
    CHECK(strcmp(files[0].key, "rgba") == 0 && strcmp(files[5].key, "mask/cards") == 0);
    for (int round = 0; round < 2; round++) {
        /* Before any frame is recorded (round 0), then with frames 10
         * and 12 recorded (round 1, frame 11 still missing). */
        int64_t missing = round ? 1 : 3;
        const char *all = "expected 6 files (rgba, depth, motion, normal, id, mask/cards)";
        char want[300];
        x = r[1];
        snprintf(want, sizeof want, "frame 11: %s, got 0", all);
        s_refused(m, &x, 0, want, missing, false);
        /* One missing: the last, then one in the middle. */
        snprintf(want, sizeof want, "frame 11: %s, got 5", all);
        s_refused(m, &x, 5, want, missing, false);
        x = r[1];
        memmove(&x.mf[2], &x.mf[3], 3 * sizeof x.mf[0]);
        s_refused(m, &x, 5, want, missing, false);
        /* One extra, after the planned ones. */
        x = r[1];
        x.mf[6] = x.mf[5];
        x.mf[6].key = "mask/extra";
        snprintf(want, sizeof want, "frame 11: %s, got 7", all);
        s_refused(m, &x, 7, want, missing, false);
        /* Reordered. */
        x = r[1];
        x.mf[2] = r[1].mf[3];
        x.mf[3] = r[1].mf[2];
        s_refused(m, &x, 6, "frame 11: file 2 is 'normal', expected 'motion'", missing, false);
        /* A wrong extension: the name of an EXR where the PNG goes. */
        x = r[1];
        x.mf[0].name = "frame_000011.exr";
        s_refused(m, &x, 6,
                  "frame 11: file 0 ('rgba') is named 'frame_000011.exr', expected "
                  "'frame_000011.png'",
                  missing, false);
        /* Another frame's name. */
        x = r[1];
        x.mf[1].name = r[0].mf[1].name;
        s_refused(m, &x, 6, "is named 'frame_000010.exr', expected 'frame_000011.exr'", missing,
                  false);
        /* A wrong key: another layer, a made-up artifact, none. */
        x = r[1];
        x.mf[5].key = "mask/other";
        s_refused(m, &x, 6, "frame 11: file 5 is 'mask/other', expected 'mask/cards'", missing,
                  false);
        x.mf[5].key = "camera";
        s_refused(m, &x, 6, "file 5 is 'camera', expected 'mask/cards'", missing, false);
        x.mf[5].key = NULL;
        s_refused(m, &x, 6, "file 5 is '', expected 'mask/cards'", missing, false);
        /* A bad hash, in a set that is right. */
        x = r[1];
        x.mf[4].hash = "0123";
        s_refused(m, &x, 6, "frame 11: hash of 'id/frame_000011.png' is not 64", missing, false);
        if (round == 0) {
            /* A valid frame is still accepted first, and another. */
            CHECK_MSG(lx_manifest_add_frame(m, 12, r[2].t_ms, &r[2].cam, r[2].mf, 6, &err) == LX_OK,
                      "%s", err.message);
            CHECK(lx_manifest_add_frame(m, 10, r[0].t_ms, &r[0].cam, r[0].mf, 6, &err) == LX_OK);
        }
    }
    /* A recorded frame sent again with a wrong set keeps what it had. */
    x = r[0];
    s_refused(m, &x, 0, "frame 10: expected 6 files", 1, true);
    x.mf[0].name = "frame_000010.exr";
    s_refused(m, &x, 6, "frame 10: file 0 ('rgba') is named", 1, true);
    CHECK(lx_manifest_add_frame(m, 11, r[1].t_ms, &r[1].cam, r[1].mf, 6, &err) == LX_OK);
    CHECK_EQ_INT(lx_manifest_missing(m), 0);
    /* What it writes equals a manifest that saw only the honest frames. */
    lx_manifest_t *ref = lx_manifest_new(p, &plan, NULL, &err);
    for (int i = 0; ref && i < 3; i++)
        CHECK(lx_manifest_add_frame(ref, r[i].f, r[i].t_ms, &r[i].cam, r[i].mf, 6, &err) == LX_OK);
    lx_manifest_run_t run = LX_MANIFEST_RUN_INIT;
    run.exported_at = "2026-01-01T00:00:00Z";
    char dir[600];
    snprintf(dir, sizeof dir, "%s/attacked", s_root);
    CHECK(lx_manifest_write(m, dir, &run, &err) == LX_OK);
    snprintf(dir, sizeof dir, "%s/honest", s_root);
    CHECK(ref && lx_manifest_write(ref, dir, &run, &err) == LX_OK);
    static const char *const outs[] = {"metadata.json", "camera/trajectory.json",
                                       "camera/camera_re10k.txt"};
    for (int k = 0; k < 3; k++) {
        char *a = s_read_out("attacked", outs[k]), *b = s_read_out("honest", outs[k]);
        CHECK_MSG(a && b && strcmp(a, b) == 0, "%s differs", outs[k]);
        free(a);
        free(b);
    }
    lx_manifest_destroy(&ref);
    lx_manifest_destroy(&m);
out:
    lx_program_destroy(&p);
    free(text);
}

/* Only the camera artifact: frames have no files, and a frame with one is
 * refused. */
static void test_camera_only(void)
{
    char *text = s_example("orbit-cards");
    lx_program_t *p = NULL;
    lx_export_plan_t plan;
    if (!s_plan(text, "{\"frames\":\"0-0\",\"artifacts\":[\"camera\"]}", &p, &plan))
        goto out;
    lx_error_t err = {0};
    lx_manifest_t *m = lx_manifest_new(p, &plan, NULL, &err);
    uint32_t n = 7;
    CHECK(m && lx_manifest_files(m, &n) != NULL && n == 0);
    lx_camera_t cam = {.projection = LX_PROJ_PERSPECTIVE,
                       .forward = {0, 0, -1},
                       .up = {0, 1, 0},
                       .fov_y_deg = 40,
                       .near = 0.1,
                       .far = 100};
    char hash[65], content[33];
    memset(hash, 'a', 64);
    hash[64] = '\0';
    memset(content, 'b', 32);
    content[32] = '\0';
    lx_manifest_file_t one = {"rgba", "frame_000000.png", hash, content};
    CHECK(m && lx_manifest_add_frame(m, 0, 0, &cam, &one, 1, &err) == LX_E_INVALID &&
          strstr(err.message, "frame 0: expected 0 files (none), got 1"));
    CHECK(m && lx_manifest_add_frame(m, 0, 0, &cam, NULL, 0, &err) == LX_OK);
    lx_manifest_destroy(&m);
out:
    lx_program_destroy(&p);
    free(text);
}

/* A program that did not come from the compiler, with a layer name that
 * is no id: no files are planned for it, so no frame could be accepted,
 * and no renderer is made. */
static void test_bad_layer(void)
{
    char *text = s_example("orbit-cards");
    lx_program_t *p = NULL;
    lx_export_plan_t plan;
    if (!s_plan(text, "{\"frames\":\"0-0\",\"resolution\":[32,32]}", &p, &plan))
        goto out;
    const char *good = p->strings[p->sinks[0].layer];
    p->strings[p->sinks[0].layer] = "../up";
    lx_error_t err = {0};
    lx_export_file_t *f = NULL;
    uint32_t n = 5;
    CHECK(lx_export_frame_files(p, &plan, NULL, &f, &n, &err) == LX_E_INVALID && !f && n == 0 &&
          strstr(err.message, "layer name '../up' is not an id"));
    CHECK(lx_manifest_new(p, &plan, NULL, &err) == NULL && err.code == LX_E_INVALID);
    CHECK(lx_frame_renderer_new(p, &plan, 1, NULL, NULL, NULL, &err) == NULL &&
          err.code == LX_E_INVALID);
    /* Without masks the layer names do not matter. */
    plan.cfg.artifacts = LX_ART_RGBA | LX_ART_DEPTH;
    CHECK(lx_export_frame_files(p, &plan, NULL, &f, &n, &err) == LX_OK && n == 2);
    lx_free(lx_alloc_default(), f);
    p->strings[p->sinks[0].layer] = good;
out:
    lx_program_destroy(&p);
    free(text);
}

/* ---- memory --------------------------------------------------------- */

static long s_rss_kib(void)
{
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f)
        return -1;
    if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
        resident = -1;
    fclose(f);
    return resident < 0 ? -1 : resident * (sysconf(_SC_PAGESIZE) / 1024);
}

#if defined(__SANITIZE_ADDRESS__)
#define LX_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LX_TEST_ASAN 1
#endif
#endif

/* Ten million frames: creating the manifest and recording a few frames
 * touches no per-frame memory but theirs. (The numbers are printed; the
 * bound is far below the 1.4 GB the per-frame arrays would take if they
 * were written, and is not checked under AddressSanitizer, whose
 * allocator keeps its own books.) */
static void test_huge_plan(void)
{
    char *text = s_example("orbit-cards");
    lx_program_t *p = NULL;
    lx_export_plan_t plan;
    if (!s_plan(text, "{\"frames\":\"0-9999999\",\"resolution\":[32,32]}", &p, &plan))
        goto out;
    lx_error_t err = {0};
    rec_t first, last;
    lx_frame_renderer_t *fr = lx_frame_renderer_new(p, &plan, 1, NULL, NULL, NULL, &err);
    bool ok = fr && s_render(fr, 0, &first) && s_render(fr, 9999999, &last);
    lx_frame_renderer_destroy(&fr);
    long before = s_rss_kib();
    lx_manifest_t *m = ok ? lx_manifest_new(p, &plan, NULL, &err) : NULL;
    long created = s_rss_kib();
    CHECK_MSG(m != NULL, "%s", err.message);
    if (!m)
        goto out;
    CHECK_EQ_INT(lx_manifest_missing(m), 10000000);
    CHECK(lx_manifest_add_frame(m, 0, first.t_ms, &first.cam, first.mf, first.n, &err) == LX_OK);
    CHECK(lx_manifest_add_frame(m, 9999999, last.t_ms, &last.cam, last.mf, last.n, &err) == LX_OK);
    CHECK_EQ_INT(lx_manifest_missing(m), 9999998);
    CHECK(lx_manifest_has_frame(m, 9999999) && !lx_manifest_has_frame(m, 5000000));
    long recorded = s_rss_kib();
    printf("10,000,000-frame manifest (%u files a frame): RSS %ld KiB before, +%ld KiB created, "
           "+%ld KiB with 2 frames recorded\n",
           first.n, before, created - before, recorded - before);
#ifndef LX_TEST_ASAN
    CHECK_MSG(created - before < 8192 && recorded - before < 8192,
              "a 10M-frame manifest took %ld KiB (%ld KiB after 2 frames)", created - before,
              recorded - before);
#endif
    lx_manifest_destroy(&m);
out:
    lx_program_destroy(&p);
    free(text);
}

int main(void)
{
    if (!t_scratch_dir(s_root, "manifest"))
        TEST_MAIN_END();
    printf("-- test_planned_is_rendered\n");
    test_planned_is_rendered();
    printf("-- test_refusals\n");
    test_refusals();
    printf("-- test_camera_only\n");
    test_camera_only();
    printf("-- test_bad_layer\n");
    test_bad_layer();
    printf("-- test_huge_plan\n");
    test_huge_plan();
    t_scratch_dir_remove(s_root);
    TEST_MAIN_END();
}
