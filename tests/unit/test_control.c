/* The control tier (docs/export-format.md, "Control images"): control
 * depth normalized by the shot's measured depth range (contrast on the
 * orbit-cards example, the same range from lx_export_prepare and from the
 * resolved config a worker rebuilds its plan from), 16-bit control depth,
 * the flow colour wheel and its shot-wide scale, the segmentation colours,
 * the `comfyui` artifact preset, and identical bytes at 1 and 2 threads. */
#include <math.h>
#include <stdlib.h>

#include "lattice/compile.h"
#include "lattice/control.h"
#include "lattice/export.h"
#include "lattice/shot.h"
#include "runtime_fixture.h"

static char *s_example(const char *name)
{
    char rel[256];
    size_t len;
    snprintf(rel, sizeof rel, "examples/%s.patch.json", name);
    return t_read(rel, &len);
}

/* A card sliding +x by exactly 4 px a frame (0.125 world units, ortho
 * height 2 over 64 px) in front of a still orthographic camera; with
 * "still", the card does not move. */
static const char *const s_slide =
    "{\"format\":\"lattice.patch/1\",\"id\":\"slide\",\"output\":{\"width\":64,\"height\":64,"
    "\"fps\":8},\"blocks\":[{\"id\":\"time\",\"type\":\"FiniteTimeRoot\",\"params\":"
    "{\"durationMs\":1000}},{\"id\":\"v\",\"type\":\"MakeVec3\",\"inputs\":{\"y\":0,\"z\":0}},"
    "{\"id\":\"card\",\"type\":\"Rect\",\"inputs\":{\"width\":0.5,\"height\":0.5}},"
    "{\"id\":\"cam\",\"type\":\"Camera\",\"params\":{\"projection\":\"orthographic\"},"
    "\"inputs\":{\"position\":[0,0,5],\"target\":[0,0,0],\"up\":[0,1,0],\"orthoHeight\":2}},"
    "{\"id\":\"draw\",\"type\":\"RenderInstances\",\"inputs\":{\"color\":[1,1,1,1]}}],"
    "\"edges\":[{\"from\":\"time.progress\",\"to\":\"v.x\"},{\"from\":\"v.out\",\"to\":"
    "\"draw.position\"},{\"from\":\"card.shape\",\"to\":\"draw.shape\"}]}";

/* Compiles and plans patch_text with cfg_json through lx_export_prepare,
 * the path `lattice export`, `lattice submit` and the coordinator share. */
static bool s_prepare(const char *patch_text, const char *cfg_json, const char *artifacts,
                      lx_program_t **p, lx_export_plan_t *plan)
{
    lx_export_request_t req = LX_EXPORT_REQUEST_INIT;
    req.patch = patch_text;
    req.patch_len = strlen(patch_text);
    req.patch_name = "patch";
    req.config = cfg_json;
    req.config_len = cfg_json ? strlen(cfg_json) : 0;
    req.config_name = "config";
    req.artifacts = artifacts;
    lx_strbuf_t report;
    lx_strbuf_init(&report, NULL);
    lx_error_t err = {0};
    lx_result_t rc = lx_export_prepare(&req, NULL, p, plan, &report, &err);
    CHECK_MSG(rc == LX_OK, "prepare: %s %s", report.buf ? report.buf : "", err.message);
    lx_strbuf_release(&report);
    return rc == LX_OK;
}

/* The plan a worker rebuilds from the resolved config JSON. */
static bool s_rebuild(const lx_program_t *p, const lx_export_plan_t *plan, lx_export_plan_t *out)
{
    lx_strbuf_t sb;
    lx_strbuf_init(&sb, NULL);
    lx_export_plan_config_json(plan, &sb);
    lx_export_config_t cfg;
    lx_export_config_init(&cfg);
    lx_diags_t d;
    lx_diags_init(&d, NULL);
    bool ok = lx_export_config_load_json(&cfg, sb.buf, sb.len, &d) == LX_OK &&
              lx_export_plan(p, &cfg, out, &d) == LX_OK;
    CHECK_MSG(ok, "rebuild from %s: %s", sb.buf, d.count ? d.items[0].message : "");
    lx_diags_release(&d);
    lx_strbuf_release(&sb);
    return ok;
}

/* The file with key of frame f, decoded. */
static bool s_render_file(lx_frame_renderer_t *fr, int64_t f, const char *key, lx_decoded_t *img)
{
    const lx_frame_result_t *res = NULL;
    lx_error_t err = {0};
    if (lx_frame_renderer_render(fr, f, &res, &err) != LX_OK) {
        CHECK_MSG(false, "frame %lld: %s", (long long)f, err.message);
        return false;
    }
    for (uint32_t j = 0; j < res->n_files; j++)
        if (strcmp(res->files[j].key, key) == 0)
            return lx_png_decode(res->files[j].bytes.buf, res->files[j].bytes.len, img, &err) ==
                   LX_OK;
    CHECK_MSG(false, "no %s", key);
    return false;
}

static void test_orbit_depth_contrast(void)
{
    char *orbit = s_example("orbit-cards");
    lx_program_t *p = NULL;
    lx_export_plan_t plan;
    if (!orbit || !s_prepare(orbit, "{\"resolution\":[416,240]}", "rgba,control", &p, &plan))
        goto out;
    CHECK(plan.cfg.control_depth == LX_CDEPTH_SHOT && plan.cfg.control_depth_measured);
    /* The cards' ring (radius 2.5 seen from 9.3 away) spans a depth of
     * about 1.5, far less than the camera's 0.1..100. */
    CHECK(plan.cfg.control_depth_near > 8 && plan.cfg.control_depth_far < 10.5 &&
          plan.cfg.control_depth_far - plan.cfg.control_depth_near > 1);
    lx_error_t err = {0};
    lx_frame_renderer_t *fr = lx_frame_renderer_new(p, &plan, 2, NULL, NULL, NULL, &err);
    CHECK_MSG(fr != NULL, "%s", err.message);
    bool seen[256] = {false};
    int lo = 256, hi = -1;
    for (int64_t f = 0; fr && f < 120; f += 30) {
        lx_decoded_t img = {0};
        if (!s_render_file(fr, f, "control/depth", &img))
            break;
        CHECK(img.type == LX_PIX_U8 && img.channels == 1);
        const uint8_t *v = img.data;
        for (size_t i = 0; i < (size_t)img.width * img.height; i++)
            if (v[i]) { /* 0 is the background */
                seen[v[i]] = true;
                lo = v[i] < lo ? v[i] : lo;
                hi = v[i] > hi ? v[i] : hi;
            }
        lx_decoded_release(&img);
    }
    int levels = 0;
    for (int k = 0; k < 256; k++)
        levels += seen[k];
    /* Normalized by the camera's 0.1..100 these frames had 4 levels. */
    CHECK_MSG(levels >= 64, "%d grey levels", levels);
    CHECK_MSG(hi >= 250 && lo <= 40, "surfaces from %d to %d", lo, hi);
    lx_frame_renderer_destroy(&fr);
out:
    lx_program_destroy(&p);
    free(orbit);
}

/* The range and scale are part of the plan: a worker's plan rebuilt from
 * the resolved config has the same values, bit for bit, and the same
 * config hash, without measuring again. */
static void test_resolved_round_trip(void)
{
    char *orbit = s_example("orbit-cards");
    lx_program_t *p = NULL;
    lx_export_plan_t plan, again;
    if (!orbit || !s_prepare(orbit, "{\"frames\":\"5-40\"}", "control", &p, &plan))
        goto out;
    if (s_rebuild(p, &plan, &again)) {
        CHECK(memcmp(plan.config_hash.bytes, again.config_hash.bytes, 32) == 0);
        CHECK(memcmp(&plan.cfg.control_depth_near, &again.cfg.control_depth_near, sizeof(double)) ==
                  0 &&
              memcmp(&plan.cfg.control_depth_far, &again.cfg.control_depth_far, sizeof(double)) ==
                  0 &&
              memcmp(&plan.cfg.flow_scale, &again.cfg.flow_scale, sizeof(double)) == 0);
        CHECK(again.cfg.control_depth == LX_CDEPTH_SHOT && again.cfg.flow_scale_measured);
    }
    /* The measurement is what lx_shot_measure finds for the plan. */
    lx_shot_t shot;
    lx_error_t err = {0};
    CHECK(lx_shot_measure(p, &plan, NULL, &shot, &err) == LX_OK);
    CHECK(shot.any_surface && shot.depth_near == plan.cfg.control_depth_near &&
          shot.depth_far == plan.cfg.control_depth_far);
    CHECK(shot.frames == 37); /* frames 4..40: the one before the first, for motion */
    /* A resolved range is used as it is, never measured again. */
    lx_export_config_t cfg;
    lx_export_config_init(&cfg);
    lx_diags_t d;
    lx_diags_init(&d, NULL);
    const char *resolved = "{\"artifacts\":[\"control\"],\"controlDepthRange\":{\"source\":"
                           "\"shot\",\"near\":1.25,\"far\":2.5},\"flowScale\":{\"source\":"
                           "\"shot\",\"px\":3}}";
    CHECK(lx_export_config_load_json(&cfg, resolved, strlen(resolved), &d) == LX_OK);
    CHECK(lx_export_plan(p, &cfg, &again, &d) == LX_OK);
    CHECK(again.cfg.control_depth == LX_CDEPTH_SHOT && again.cfg.control_depth_near == 1.25 &&
          again.cfg.control_depth_far == 2.5 && again.cfg.flow_scale == 3);
    /* depthRange decides control depth too unless controlDepthRange says
     * otherwise; "camera" keeps each frame's camera range. */
    static const struct {
        const char *json;
        lx_control_depth_t mode;
        double near;
    } cases[] = {
        {"{\"artifacts\":[\"control\"],\"depthRange\":[0.5,40]}", LX_CDEPTH_RANGE, 0.5},
        {"{\"artifacts\":[\"control\"],\"depthRange\":[0.5,40],\"controlDepthRange\":\"shot\"}",
         LX_CDEPTH_SHOT, -1},
        {"{\"artifacts\":[\"control\"],\"controlDepthRange\":[3,4]}", LX_CDEPTH_RANGE, 3},
        {"{\"artifacts\":[\"control\"],\"controlDepthRange\":\"camera\"}", LX_CDEPTH_CAMERA, -1},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        lx_export_config_init(&cfg);
        lx_export_plan_t a, b;
        CHECK(lx_export_config_load_json(&cfg, cases[k].json, strlen(cases[k].json), &d) == LX_OK);
        cfg.has_frames = true;
        cfg.first = 0;
        cfg.last = 9;
        CHECK(lx_export_plan(p, &cfg, &a, &d) == LX_OK);
        CHECK_MSG(a.cfg.control_depth == cases[k].mode, "%s", cases[k].json);
        if (cases[k].near >= 0)
            CHECK(a.cfg.control_depth_near == cases[k].near);
        if (cases[k].mode == LX_CDEPTH_SHOT)
            CHECK(a.cfg.control_depth_near > 8);
        if (s_rebuild(p, &a, &b))
            CHECK(memcmp(a.config_hash.bytes, b.config_hash.bytes, 32) == 0 &&
                  b.cfg.control_depth == a.cfg.control_depth);
    }
    /* Bad values are EX-504 at their key. */
    static const char *const bad[] = {
        "{\"controlDepthRange\":[4,3]}", "{\"controlDepthRange\":\"near\"}", "{\"flowScale\":0}",
        "{\"flowScale\":\"auto\"}", "{\"formats\":{\"controlDepth\":\"png12\"}}"};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        lx_export_config_init(&cfg);
        lx_diags_t e;
        lx_diags_init(&e, NULL);
        CHECK_MSG(lx_export_config_load_json(&cfg, bad[k], strlen(bad[k]), &e) == LX_E_DIAG &&
                      e.count == 1 && e.items[0].code == LX_DC_EX_504,
                  "%s", bad[k]);
        lx_diags_release(&e);
    }
    CHECK(d.n_errors == 0);
    lx_diags_release(&d);
out:
    lx_program_destroy(&p);
    free(orbit);
}

static void test_depth16(void)
{
    char *orbit = s_example("orbit-cards");
    lx_program_t *p = NULL, *p16 = NULL;
    lx_export_plan_t plan, plan16;
    if (!orbit || !s_prepare(orbit, "{\"resolution\":[208,120]}", "control", &p, &plan) ||
        !s_prepare(orbit, "{\"resolution\":[208,120],\"formats\":{\"controlDepth\":\"png16\"}}",
                   "control", &p16, &plan16))
        goto out;
    CHECK(plan16.cfg.control_depth16 && !plan.cfg.control_depth16);
    CHECK(memcmp(plan.config_hash.bytes, plan16.config_hash.bytes, 32) != 0);
    lx_error_t err = {0};
    lx_frame_renderer_t *fr = lx_frame_renderer_new(p, &plan, 1, NULL, NULL, NULL, &err);
    lx_frame_renderer_t *fr16 = lx_frame_renderer_new(p16, &plan16, 1, NULL, NULL, NULL, &err);
    lx_decoded_t a = {0}, b = {0};
    if (fr && fr16 && s_render_file(fr, 17, "control/depth", &a) &&
        s_render_file(fr16, 17, "control/depth", &b)) {
        CHECK(a.type == LX_PIX_U8 && b.type == LX_PIX_U16 && b.channels == 1);
        const uint8_t *v8 = a.data;
        const uint16_t *v16 = b.data;
        int worst = 0;
        size_t finer = 0;
        for (size_t i = 0; i < (size_t)a.width * a.height; i++) {
            /* Near is bright in both; the same value to within rounding. */
            int dv = abs((int)lround(v16[i] / 257.0) - (int)v8[i]);
            worst = dv > worst ? dv : worst;
            finer += v16[i] % 257 != 0; /* between two 8-bit levels */
        }
        CHECK_MSG(worst <= 1, "16-bit and 8-bit control depth differ by %d", worst);
        CHECK(finer > 0);
    }
    lx_decoded_release(&a);
    lx_decoded_release(&b);
    lx_frame_renderer_destroy(&fr);
    lx_frame_renderer_destroy(&fr16);
out:
    lx_program_destroy(&p);
    lx_program_destroy(&p16);
    free(orbit);
}

static void test_flow_wheel(void)
{
    uint8_t wheel[LX_CONTROL_WHEEL_SIZE][3], rgb[3];
    lx_control_wheel(wheel);
    /* Middlebury's wheel: red, yellow at 15, green at 21, cyan at 25, blue
     * at 36, magenta at 49. */
    static const struct {
        int k;
        uint8_t rgb[3];
    } stops[] = {{0, {255, 0, 0}},  {15, {255, 255, 0}}, {21, {0, 255, 0}},  {25, {0, 255, 255}},
                 {36, {0, 0, 255}}, {49, {255, 0, 255}}, {7, {255, 119, 0}}, {54, {255, 0, 43}}};
    for (size_t i = 0; i < sizeof stops / sizeof stops[0]; i++)
        CHECK_MSG(memcmp(wheel[stops[i].k], stops[i].rgb, 3) == 0, "wheel[%d] = %d %d %d",
                  stops[i].k, wheel[stops[i].k][0], wheel[stops[i].k][1], wheel[stops[i].k][2]);
    lx_control_flow_rgb((const uint8_t(*)[3])wheel, 1, 0, rgb); /* +x, full scale */
    CHECK(rgb[0] == 255 && rgb[1] == 0 && rgb[2] == 0);
    lx_control_flow_rgb((const uint8_t(*)[3])wheel, 0, 0, rgb); /* no motion */
    CHECK(rgb[0] == 255 && rgb[1] == 255 && rgb[2] == 255);
    lx_control_flow_rgb((const uint8_t(*)[3])wheel, 0.5, 0, rgb); /* half: halfway to white */
    CHECK(rgb[0] == 255 && rgb[1] == 127 && rgb[2] == 127);
    lx_control_flow_rgb((const uint8_t(*)[3])wheel, -1, 0, rgb); /* -x: fk = 27, cyan-blue */
    CHECK(rgb[0] == 0 && abs(rgb[1] - wheel[27][1]) <= 1 && rgb[2] >= 254);
    lx_control_flow_rgb((const uint8_t(*)[3])wheel, 2, 0, rgb); /* out of range: 75% */
    CHECK(rgb[0] == 191 && rgb[1] == 0 && rgb[2] == 0);

    /* Rendered: the sliding card moves exactly +4 px; the shot's scale is
     * that motion (an orthographic bound is exact), so the card is the
     * wheel's full colour for angle 0 and everything else is white. */
    lx_program_t *p = NULL;
    lx_export_plan_t plan;
    if (!s_prepare(s_slide, "{\"frames\":\"1-3\"}", "control", &p, &plan))
        return;
    CHECK(plan.cfg.flow_scale_measured && fabs(plan.cfg.flow_scale - 4) < 1e-4);
    lx_error_t err = {0};
    lx_frame_renderer_t *fr = lx_frame_renderer_new(p, &plan, 2, NULL, NULL, NULL, &err);
    lx_decoded_t img = {0};
    if (fr && s_render_file(fr, 2, "control/flow", &img)) {
        CHECK(img.type == LX_PIX_U8 && img.channels == 3 && img.width == 64);
        const uint8_t *c = img.data;
        /* The card covers x 32..48, y 24..40 in frame 2. */
        const uint8_t *in = &c[3 * (32 * 64 + 40)], *out = &c[3 * (10 * 64 + 10)];
        CHECK_MSG(in[0] == 255 && in[1] == 0 && in[2] == 0, "card %d %d %d", in[0], in[1], in[2]);
        CHECK(out[0] == 255 && out[1] == 255 && out[2] == 255);
    }
    lx_decoded_release(&img);
    lx_frame_renderer_destroy(&fr);
    lx_program_destroy(&p);
    /* A still card: no motion, all white, and the scale's floor. */
    char still[2048];
    snprintf(still, sizeof still, "%s", s_slide);
    char *edge = strstr(still, "{\"from\":\"time.progress\",\"to\":\"v.x\"},");
    CHECK(edge != NULL);
    if (edge)
        memmove(edge, edge + strlen("{\"from\":\"time.progress\",\"to\":\"v.x\"},"),
                strlen(edge + strlen("{\"from\":\"time.progress\",\"to\":\"v.x\"},")) + 1);
    if (!s_prepare(still, "{\"frames\":\"1-3\"}", "control", &p, &plan))
        return;
    CHECK(plan.cfg.flow_scale == 1e-6);
    fr = lx_frame_renderer_new(p, &plan, 1, NULL, NULL, NULL, &err);
    if (fr && s_render_file(fr, 2, "control/flow", &img)) {
        const uint8_t *c = img.data;
        size_t white = 0;
        for (size_t i = 0; i < 3 * (size_t)64 * 64; i++)
            white += c[i] == 255;
        CHECK_EQ_INT(white, 3 * 64 * 64);
    }
    lx_decoded_release(&img);
    lx_frame_renderer_destroy(&fr);
    lx_program_destroy(&p);
}

/* Segmentation: the colour of every pixel is the rule's colour of its id,
 * distinct ids have distinct colours, the background is black. */
static void test_seg(void)
{
    uint8_t a[3], b[3];
    lx_control_seg_rgb(0, a);
    CHECK(a[0] == 0 && a[1] == 0 && a[2] == 0);
    for (uint32_t id = 1; id < 70000; id++) {
        lx_control_seg_rgb(id, a);
        lx_control_seg_rgb(id + 1, b);
        CHECK(memcmp(a, b, 3) != 0 && (a[0] | a[1] | a[2]) != 0);
    }
    /* Injective below 2^24: the multiplier is odd. */
    uint8_t *seen = calloc((size_t)1 << 21, 1);
    bool unique = seen != NULL;
    for (uint32_t id = 0; seen && id < (1u << 24); id++) {
        lx_control_seg_rgb(id, a);
        uint32_t c = (uint32_t)a[0] << 16 | (uint32_t)a[1] << 8 | a[2];
        unique = unique && !(seen[c >> 3] & (1u << (c & 7)));
        seen[c >> 3] |= (uint8_t)(1u << (c & 7));
    }
    free(seen);
    CHECK(unique);

    char *orbit = s_example("orbit-cards");
    lx_program_t *p = NULL;
    lx_export_plan_t plan;
    if (!orbit || !s_prepare(orbit, "{\"resolution\":[208,120]}", "id,control", &p, &plan))
        goto out;
    lx_error_t err = {0};
    lx_frame_renderer_t *fr = lx_frame_renderer_new(p, &plan, 2, NULL, NULL, NULL, &err);
    lx_decoded_t ids = {0}, seg = {0};
    if (fr && s_render_file(fr, 9, "id", &ids)) {
        /* The same frame again, for its seg file. */
        CHECK(s_render_file(fr, 9, "control/seg", &seg));
        const uint16_t *id = ids.data;
        const uint8_t *c = seg.data;
        uint32_t distinct = 0;
        bool used[16] = {false};
        for (size_t i = 0; seg.data && i < (size_t)ids.width * ids.height; i++) {
            uint8_t want[3];
            lx_control_seg_rgb(id[i], want);
            if (memcmp(&c[3 * i], want, 3) != 0) {
                CHECK_MSG(false, "pixel %zu: id %u", i, id[i]);
                break;
            }
            if (id[i] < 16 && !used[id[i]])
                used[id[i]] = true, distinct++;
        }
        CHECK_EQ_INT(distinct, 13); /* 12 cards and the background */
    }
    lx_decoded_release(&ids);
    lx_decoded_release(&seg);
    lx_frame_renderer_destroy(&fr);
out:
    lx_program_destroy(&p);
    free(orbit);
}

/* Every control file, byte for byte, at 1 and 2 threads. */
static void test_threads(void)
{
    char *orbit = s_example("orbit-cards");
    lx_program_t *p = NULL;
    lx_export_plan_t plan;
    if (!orbit ||
        !s_prepare(orbit, "{\"resolution\":[160,96],\"frames\":\"0-11\"}", "control", &p, &plan))
        goto out;
    lx_error_t err = {0};
    lx_frame_renderer_t *one = lx_frame_renderer_new(p, &plan, 1, NULL, NULL, NULL, &err);
    lx_frame_renderer_t *two = lx_frame_renderer_new(p, &plan, 2, NULL, NULL, NULL, &err);
    for (int64_t f = 0; one && two && f <= 11; f++) {
        const lx_frame_result_t *a = NULL, *b = NULL;
        CHECK(lx_frame_renderer_render(one, f, &a, &err) == LX_OK);
        CHECK(lx_frame_renderer_render(two, f, &b, &err) == LX_OK);
        if (!a || !b)
            break;
        CHECK_EQ_INT(a->n_files, 4);
        for (uint32_t j = 0; j < a->n_files && j < b->n_files; j++)
            CHECK_MSG(strcmp(a->files[j].hash, b->files[j].hash) == 0, "%s of frame %lld",
                      a->files[j].key, (long long)f);
    }
    lx_frame_renderer_destroy(&one);
    lx_frame_renderer_destroy(&two);
out:
    lx_program_destroy(&p);
    free(orbit);
}

static void test_presets_and_refusals(void)
{
    uint32_t m = 0;
    char bad[LX_ARTIFACT_NAME_MAX];
    CHECK(lx_export_parse_artifacts("comfyui", &m, bad) && m == LX_ART_COMFYUI);
    CHECK((m & LX_ART_RGBA) && (m & LX_ART_CONTROL) && (m & LX_ART_MASK) && !(m & LX_ART_DEPTH));
    CHECK(lx_export_parse_artifacts("comfyui,id", &m, bad) && m == (LX_ART_COMFYUI | LX_ART_ID));
    CHECK(!lx_export_parse_artifacts("comfy", &m, bad) && strcmp(bad, "comfy") == 0);
    /* A plan whose control settings were never resolved is refused. */
    char *orbit = s_example("orbit-cards");
    lx_program_t *p = NULL;
    lx_export_plan_t plan;
    if (orbit && s_prepare(orbit, NULL, "comfyui", &p, &plan)) {
        CHECK(plan.cfg.artifacts == LX_ART_COMFYUI);
        lx_export_plan_t raw = plan;
        raw.cfg.control_depth = LX_CDEPTH_AUTO;
        lx_error_t err = {0};
        lx_frame_renderer_t *fr = lx_frame_renderer_new(p, &raw, 1, NULL, NULL, NULL, &err);
        CHECK(fr == NULL && err.code == LX_E_INVALID);
        raw = plan;
        raw.cfg.flow_scale = 0;
        fr = lx_frame_renderer_new(p, &raw, 1, NULL, NULL, NULL, &err);
        CHECK(fr == NULL && err.code == LX_E_INVALID);
    }
    lx_program_destroy(&p);
    free(orbit);
}

int main(void)
{
    test_flow_wheel();
    test_seg();
    test_presets_and_refusals();
    test_resolved_round_trip();
    test_depth16();
    test_threads();
    test_orbit_depth_contrast();
    TEST_MAIN_END();
}
