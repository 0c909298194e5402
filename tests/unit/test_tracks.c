/* The Wan-facing settings and files: the tracks artifact (tracks.json
 * against the camera files' own projection, ati_tracks.json against
 * tracks.json by WanVideoATITracks' rules, the same bytes in any frame
 * order), the fps setting (the time of every frame, the frame rate the
 * files state, the config hash) and the wan preset (its values, what wins
 * over it, EX-510), with EX-511 for tracks too large to hold, and the
 * seed setting (the hash, the instances' draws). */
#include <cJSON.h>
#include <math.h>
#include <stdlib.h>

#include "export_fixture.h"
#include "lattice/compile.h"
#include "lattice/export.h"
#include "lattice/files.h"
#include "lattice/kernels.h"
#include "lattice/manifest.h"
#include "lattice/tracks.h"
#include "scratch_dir.h"
#include "test.h"

static char s_root[256];

/* Renders plan's frames (in a stride's order) and writes the manifest into
 * s_root/name: what workers and a coordinator do. */
static bool s_export(const lx_program_t *p, const lx_export_plan_t *plan, const char *name,
                     uint32_t threads, size_t stride, char dir[LX_PATH_MAX])
{
    lx_error_t err = {0};
    lx_manifest_t *m =
        lx_path_join(dir, s_root, name) ? ex_render(p, plan, dir, threads, stride) : NULL;
    bool ok = m && lx_manifest_write(m, dir, NULL, &err) == LX_OK;
    CHECK_MSG(ok, "export %s: %s", name, err.message);
    lx_manifest_destroy(&m);
    return ok;
}

static cJSON *s_json(const char *dir, const char *rel)
{
    char path[LX_PATH_MAX];
    size_t len = 0;
    char *t = lx_path_join(path, dir, rel) ? t_read_path(path, &len) : NULL;
    cJSON *j = t ? cJSON_Parse(t) : NULL;
    free(t);
    return j;
}

static char *s_text(const char *dir, const char *rel)
{
    char path[LX_PATH_MAX];
    size_t len = 0;
    return lx_path_join(path, dir, rel) ? t_read_path(path, &len) : NULL;
}

/* World point P -> pixels through line i + 2 of camera_re10k.txt (its
 * normalized intrinsics and world-to-camera matrix): the projection the
 * camera files promise, which test_camera checks against the pixels. */
static bool s_re10k_project(const char *re10k, size_t i, uint32_t w, uint32_t h, const double *P,
                            double *x, double *y)
{
    const char *line = strchr(re10k, '\n');
    for (size_t k = 0; line && k < i; k++)
        line = strchr(line + 1, '\n');
    double v[19];
    const char *s = line ? line + 1 : NULL;
    for (int k = 0; s && k < 19; k++) {
        char *end;
        v[k] = strtod(s, &end);
        s = end == s ? NULL : end;
    }
    if (!s)
        return false;
    double c[3];
    for (int r = 0; r < 3; r++)
        c[r] = v[7 + 4 * r] * P[0] + v[8 + 4 * r] * P[1] + v[9 + 4 * r] * P[2] + v[10 + 4 * r];
    if (!(c[2] > 1e-12))
        return false;
    *x = (v[1] * c[0] / c[2] + v[3]) * w;
    *y = (v[2] * c[1] / c[2] + v[4]) * h;
    return true;
}

static void test_tracks(void)
{
    size_t len = 0;
    char *patch = t_read("bench/particles.patch.json", &len);
    lx_program_t *p = NULL;
    lx_export_plan_t plan;
    lx_diags_t d;
    lx_diags_init(&d, NULL);
    const char *cfg = "{\"frames\":\"20-50\",\"resolution\":[64,36],\"fps\":20,"
                      "\"artifacts\":[\"camera\",\"tracks\"]}";
    char a[LX_PATH_MAX], b[LX_PATH_MAX];
    bool ok = patch && ex_plan(patch, cfg, &p, &plan, &d);
    CHECK_MSG(ok, "plan: %s", d.count ? d.items[0].message : "");
    ok = ok && s_export(p, &plan, "tracks-a", 1, 1, a) && s_export(p, &plan, "tracks-b", 2, 7, b);
    cJSON *full = ok ? s_json(a, "tracks/tracks.json") : NULL;
    cJSON *ati = ok ? s_json(a, "tracks/ati_tracks.json") : NULL;
    char *re10k = ok ? s_text(a, "camera/camera_re10k.txt") : NULL;
    CHECK(!ok || (full && ati && re10k));
    if (full && ati && re10k) {
        /* Any frame order, any threads: the same bytes. */
        static const char *const files[] = {"tracks/tracks.json", "tracks/ati_tracks.json",
                                            "metadata.json"};
        for (int k = 0; k < 3; k++) {
            char *x = s_text(a, files[k]), *y = s_text(b, files[k]);
            CHECK_MSG(x && y && strcmp(x, y) == 0, "%s differs by frame order", files[k]);
            free(x);
            free(y);
        }
        CHECK(cJSON_GetObjectItem(full, "frameRate")->valuedouble == 20);
        const cJSON *tracks = cJSON_GetObjectItem(full, "tracks");
        CHECK_EQ_INT(cJSON_GetArraySize(tracks), (int)plan.n_ids);
        /* Every point: the instance's translation, projected as the camera
         * files say, where it is drawn inside the picture; null elsewhere. */
        lx_error_t err = {0};
        lx_instance_config_t icfg = lx_export_plan_instance(&plan);
        lx_instance_t *inst = lx_instance_new(p, lx_kernels_table(), NULL, &icfg, &err);
        double(*want)[2] = calloc((size_t)plan.n_ids * 31, sizeof *want);
        int wrong = 0, visible = 0, hidden = 0;
        for (size_t i = 0; inst && want && i < 31; i++) {
            const lx_render_frame_t *rf = NULL;
            CHECK(lx_instance_eval(inst, plan.first + (int64_t)i, &rf) == LX_OK);
            for (size_t k = 0; k < (size_t)plan.n_ids; k++)
                want[k * 31 + i][0] = NAN;
            for (uint32_t k = 0; rf && k < rf->n_items; k++) {
                double x, y;
                const lx_draw_item_t *it = &rf->items[k];
                if (s_re10k_project(re10k, i, 64, 36, it->position, &x, &y) && x >= 0 && x < 64 &&
                    y >= 0 && y < 36)
                    want[(it->id - 1) * 31 + i][0] = x, want[(it->id - 1) * 31 + i][1] = y;
            }
        }
        for (uint32_t id = 1; want && id <= plan.n_ids; id++) {
            const cJSON *t = cJSON_GetArrayItem(tracks, (int)id - 1);
            const cJSON *pts = cJSON_GetObjectItem(t, "points");
            CHECK_EQ_INT(cJSON_GetObjectItem(t, "id")->valueint, (int)id);
            for (size_t i = 0; i < 31; i++) {
                const cJSON *q = cJSON_GetArrayItem(pts, (int)i);
                const double *w = want[(id - 1) * 31 + i];
                if (isnan(w[0])) {
                    wrong += !cJSON_IsNull(q);
                    hidden++;
                    continue;
                }
                visible++;
                wrong += cJSON_GetArraySize(q) != 2 ||
                         fabs(cJSON_GetArrayItem(q, 0)->valuedouble - w[0]) > 2e-3 ||
                         fabs(cJSON_GetArrayItem(q, 1)->valuedouble - w[1]) > 2e-3;
            }
        }
        CHECK_MSG(wrong == 0, "%d track points differ from the camera files' projection", wrong);
        CHECK(visible > 100 && hidden > 100);
        /* ATI: the ids visible at the first frame, in order, each sampled
         * at 24 fps (20 fps frames: 1.2 frames a point) until a point is
         * not visible, at most 121. */
        const cJSON *tr = ati->child;
        int tracks_n = 0, ended = 0;
        wrong = 0;
        for (uint32_t id = 1; want && id <= plan.n_ids; id++) {
            double(*w)[2] = want + (id - 1) * 31;
            if (isnan(w[0][0]))
                continue;
            tracks_n++;
            int k = 0;
            for (; k < LX_ATI_POINTS; k++) {
                double u = k * 20 / LX_ATI_FPS, x, y;
                int j = (int)floor(u);
                double f = u - j;
                if (j >= 31 || isnan(w[j][0]) || (f > 0 && (j + 1 >= 31 || isnan(w[j + 1][0]))))
                    break;
                x = f > 0 ? w[j][0] + f * (w[j + 1][0] - w[j][0]) : w[j][0];
                y = f > 0 ? w[j][1] + f * (w[j + 1][1] - w[j][1]) : w[j][1];
                const cJSON *q = cJSON_GetArrayItem(tr, k);
                wrong += !q || fabs(cJSON_GetObjectItem(q, "x")->valuedouble - x) > 3e-3 ||
                         fabs(cJSON_GetObjectItem(q, "y")->valuedouble - y) > 3e-3;
            }
            wrong += cJSON_GetArraySize(tr) != k;
            ended += k < 36; /* 30 frames at 20 fps are 36 points at 24 */
            tr = tr ? tr->next : NULL;
        }
        CHECK_MSG(wrong == 0, "%d ATI points differ from tracks.json resampled", wrong);
        CHECK_EQ_INT(cJSON_GetArraySize(ati), tracks_n);
        CHECK(tracks_n > 5 && ended > 0);
        free(want);
        lx_instance_destroy(&inst);
    }
    cJSON_Delete(full);
    cJSON_Delete(ati);
    free(re10k);
    lx_diags_release(&d);
    lx_program_destroy(&p);

    /* Too many points to hold: EX-511, before anything renders. */
    lx_diags_init(&d, NULL);
    const char *big = "{\"frames\":\"0-2000\",\"artifacts\":[\"tracks\"]}";
    CHECK(patch && !ex_plan(patch, big, &p, &plan, &d));
    CHECK(d.count == 1 && d.items[0].code == LX_DC_EX_511);
    lx_diags_release(&d);
    lx_program_destroy(&p);
    /* Or too many frames to evaluate: one frame, but the fountain's state
     * reaches back to frame 0 (the coordinator would replay 200,000). */
    lx_diags_init(&d, NULL);
    const char *late = "{\"frames\":\"200000-200000\",\"artifacts\":[\"tracks\"]}";
    CHECK(patch && !ex_plan(patch, late, &p, &plan, &d));
    CHECK(d.count == 1 && d.items[0].code == LX_DC_EX_511 &&
          strstr(d.items[0].message, "200001 frames"));
    lx_diags_release(&d);
    lx_program_destroy(&p);
    free(patch);
}

/* ATI points land on whole frames exactly: 126 frames at 30 fps are 101
 * points at 24 (point 100 is frame 125; (100 / 24) * 30 is not). */
static void test_ati_whole_frames(void)
{
    size_t len = 0;
    char *patch = t_read("examples/orbit-cards.patch.json", &len);
    lx_program_t *p = NULL;
    lx_export_plan_t plan;
    lx_diags_t d;
    lx_diags_init(&d, NULL);
    const char *cfg = "{\"frames\":\"0-125\",\"resolution\":[64,36],\"fps\":30,"
                      "\"artifacts\":[\"tracks\"]}";
    lx_strbuf_t full, ati;
    lx_strbuf_init(&full, NULL);
    lx_strbuf_init(&ati, NULL);
    lx_error_t err = {0};
    bool ok = patch && ex_plan(patch, cfg, &p, &plan, &d) &&
              lx_tracks_write(p, &plan, NULL, &full, &ati, &err) == LX_OK;
    CHECK_MSG(ok, "tracks: %s", err.message);
    cJSON *a = ok ? cJSON_Parse(ati.buf) : NULL;
    int n = 0, whole = 0;
    for (const cJSON *t = a ? a->child : NULL; t; t = t->next, n++)
        whole += cJSON_GetArraySize(t) == 101;
    CHECK_MSG(n > 0 && whole == n, "%d of %d tracks have 101 points", whole, n);
    cJSON_Delete(a);
    lx_strbuf_release(&full);
    lx_strbuf_release(&ati);
    lx_diags_release(&d);
    lx_program_destroy(&p);
    free(patch);
}

static const char *s_finite =
    "{\"format\":\"lattice.patch/1\",\"id\":\"f\",\"output\":{\"width\":32,\"height\":18,"
    "\"fps\":24},\"blocks\":[{\"id\":\"t\",\"type\":\"FiniteTimeRoot\",\"params\":"
    "{\"durationMs\":1000}},{\"id\":\"s\",\"type\":\"Rect\"},{\"id\":\"draw\",\"type\":"
    "\"RenderInstances\"}],\"edges\":[{\"from\":\"s.shape\",\"to\":\"draw.shape\"}]}";

static void test_fps(void)
{
    lx_program_t *p = NULL;
    lx_export_plan_t plan, same, def;
    lx_diags_t d;
    lx_diags_init(&d, NULL);
    CHECK(ex_plan(s_finite, "{\"fps\":12,\"artifacts\":[\"camera\"]}", &p, &plan, &d));
    lx_program_destroy(&p);
    CHECK(ex_plan(s_finite, "{\"fps\":24,\"artifacts\":[\"camera\"]}", &p, &same, &d));
    lx_program_destroy(&p);
    CHECK(ex_plan(s_finite, "{\"artifacts\":[\"camera\"]}", &p, &def, &d));
    CHECK_EQ_INT(d.count, 0);
    /* One second at 12 fps: frames 0-11; the patch's own rate is no
     * setting (the same hash as none), another one is. */
    CHECK(plan.first == 0 && plan.last == 11 && plan.sampling.fps == 12);
    CHECK(def.last == 23);
    CHECK(memcmp(&same.config_hash, &def.config_hash, sizeof def.config_hash) == 0);
    CHECK(memcmp(&plan.config_hash, &def.config_hash, sizeof def.config_hash) != 0);
    char dir[LX_PATH_MAX];
    if (s_export(p, &plan, "fps12", 1, 1, dir)) {
        cJSON *meta = s_json(dir, "metadata.json");
        cJSON *traj = s_json(dir, "camera/trajectory.json");
        char *re10k = s_text(dir, "camera/camera_re10k.txt");
        CHECK(meta && cJSON_GetObjectItem(meta, "frameRate")->valuedouble == 12);
        CHECK(traj && cJSON_GetObjectItem(traj, "frameRate")->valuedouble == 12);
        /* Frame 3 at 250 ms: its RealEstate10K timestamp in us. */
        const char *l = re10k ? strstr(re10k, "\n250000 ") : NULL;
        CHECK_MSG(l != NULL, "no frame at 250 ms in camera_re10k.txt");
        cJSON_Delete(meta);
        cJSON_Delete(traj);
        free(re10k);
    }
    lx_program_destroy(&p);
    /* Out of range. */
    static const char *const bad[] = {"{\"fps\":0}", "{\"fps\":1001}", "{\"fps\":\"24\"}"};
    for (int k = 0; k < 3; k++) {
        lx_diags_t e;
        lx_diags_init(&e, NULL);
        lx_export_config_t cfg;
        lx_export_config_init(&cfg);
        CHECK(lx_export_config_load_json(&cfg, bad[k], strlen(bad[k]), &e) == LX_E_DIAG);
        CHECK(e.count == 1 && e.items[0].code == LX_DC_EX_504);
        lx_diags_release(&e);
    }
    lx_diags_release(&d);
}

static void test_wan_preset(void)
{
    lx_program_t *p = NULL;
    lx_export_plan_t plan;
    lx_diags_t d;
    lx_diags_init(&d, NULL);
    /* 832x480 at 16 fps: a second is 16 frames, not 4n+1 (EX-510, a
     * warning that says which counts fit). */
    CHECK(ex_plan(s_finite, "{\"preset\":\"wan\"}", &p, &plan, &d));
    CHECK(plan.width == 832 && plan.height == 480 && plan.sampling.fps == 16);
    CHECK(plan.first == 0 && plan.last == 15);
    CHECK(d.count == 1 && d.items[0].code == LX_DC_EX_510 && d.n_errors == 0);
    CHECK(d.count == 1 && strstr(d.items[0].message, "16 frames is not 4n+1") &&
          strstr(d.items[0].message, "drops the last 3"));
    lx_diags_release(&d);
    lx_program_destroy(&p);
    /* 4n+1 frames: no warning. Settings win over the preset wherever it
     * stands in the file. */
    lx_diags_init(&d, NULL);
    CHECK(ex_plan(s_finite, "{\"resolution\":[64,36],\"frames\":\"0-12\",\"preset\":\"wan\"}", &p,
                  &plan, &d));
    CHECK(plan.width == 64 && plan.height == 36 && plan.sampling.fps == 16);
    CHECK_EQ_INT(d.count, 0);
    lx_diags_release(&d);
    lx_program_destroy(&p);
    /* No preset: no such warning. */
    lx_diags_init(&d, NULL);
    CHECK(ex_plan(s_finite, "{\"fps\":16}", &p, &plan, &d));
    CHECK_EQ_INT(d.count, 0);
    lx_diags_release(&d);
    lx_program_destroy(&p);
    lx_diags_init(&d, NULL);
    lx_export_config_t cfg;
    lx_export_config_init(&cfg);
    const char *bad = "{\"preset\":\"wam\"}";
    CHECK(lx_export_config_load_json(&cfg, bad, strlen(bad), &d) == LX_E_DIAG);
    CHECK(d.count == 1 && d.items[0].code == LX_DC_EX_504);
    CHECK(!lx_export_config_preset(&cfg, "sora"));
    lx_diags_release(&d);
}

/* The seed: an export setting, so one program serves every seed; the
 * patch's own seed is no setting (the same hash). */
static void test_seed(void)
{
    size_t len = 0;
    char *patch = t_read("bench/particles.patch.json", &len);
    lx_program_t *p = NULL;
    lx_export_plan_t own, def, other, reseeded;
    lx_diags_t d;
    lx_diags_init(&d, NULL);
    bool ok = patch && ex_plan(patch, "{\"frames\":\"5-5\",\"seed\":11}", &p, &own, &d);
    lx_program_destroy(&p);
    ok = ok && ex_plan(patch, "{\"frames\":\"5-5\"}", &p, &def, &d);
    lx_program_destroy(&p);
    ok = ok && ex_plan(patch, "{\"frames\":\"5-5\",\"seed\":12}", &p, &other, &d);
    CHECK(ok && d.count == 0);
    CHECK(ok && memcmp(&own.config_hash, &def.config_hash, sizeof def.config_hash) == 0);
    CHECK(ok && memcmp(&other.config_hash, &def.config_hash, sizeof def.config_hash) != 0);
    /* lx_export_plan_reseed gives what planning with the seed gives. */
    CHECK(ok && lx_export_plan_reseed(p, &def, 12, &reseeded, &d) == LX_OK &&
          memcmp(&reseeded.config_hash, &other.config_hash, sizeof other.config_hash) == 0);
    /* The instances the export makes draw with it: another seed, another
     * fountain; the program's seed again, the program's fountain. */
    lx_error_t err = {0};
    lx_instance_config_t c12 = lx_export_plan_instance(&other), c11 = lx_export_plan_instance(&def);
    lx_instance_t *a = ok ? lx_instance_new(p, lx_kernels_table(), NULL, &c12, &err) : NULL;
    lx_instance_t *b = ok ? lx_instance_new(p, lx_kernels_table(), NULL, &c11, &err) : NULL;
    lx_instance_t *c = ok ? lx_instance_new(p, lx_kernels_table(), NULL, NULL, &err) : NULL;
    const lx_render_frame_t *ra = NULL, *rb = NULL, *rc = NULL;
    CHECK(a && b && c && lx_instance_eval(a, 30, &ra) == LX_OK);
    double xa = ra && ra->n_items ? ra->items[0].position[0] : 0;
    CHECK(b && lx_instance_eval(b, 30, &rb) == LX_OK);
    double xb = rb && rb->n_items ? rb->items[0].position[0] : 0;
    CHECK(c && lx_instance_eval(c, 30, &rc) == LX_OK);
    double xc = rc && rc->n_items ? rc->items[0].position[0] : 0;
    CHECK(xa != xb && xb == xc);
    lx_instance_destroy(&a);
    lx_instance_destroy(&b);
    lx_instance_destroy(&c);
    lx_program_destroy(&p);
    lx_diags_release(&d);
    lx_diags_init(&d, NULL);
    lx_export_config_t cfg;
    lx_export_config_init(&cfg);
    const char *bad = "{\"seed\":-1}";
    CHECK(lx_export_config_load_json(&cfg, bad, strlen(bad), &d) == LX_E_DIAG);
    CHECK(d.count == 1 && d.items[0].code == LX_DC_EX_504);
    lx_diags_release(&d);
    free(patch);
}

int main(void)
{
    if (!t_scratch_dir(s_root, "tracks"))
        TEST_MAIN_END();
    test_tracks();
    test_ati_whole_frames();
    test_fps();
    test_wan_preset();
    test_seed();
    t_scratch_dir_remove(s_root);
    TEST_MAIN_END();
}
