/* Export settings: the config file, the analysis before rendering (every
 * EX-5xx code the export raises, with its location) and the config hash. */
#include "lattice/export_config.h"
#include "runtime_fixture.h"

static lx_program_t *s_program(const char *root, const char *extra_blocks)
{
    char text[4096];
    snprintf(text, sizeof text,
             "{\"format\":\"lattice.patch/1\",\"id\":\"x\",\"output\":{\"width\":64,\"height\":48,"
             "\"fps\":24},\"blocks\":[{\"id\":\"t\",%s},{\"id\":\"s\",\"type\":\"Rect\"},"
             "{\"id\":\"d\",\"type\":\"RenderInstances\"}%s],\"edges\":[{\"from\":\"s.shape\","
             "\"to\":\"d.shape\"}%s]}",
             root, extra_blocks[0] ? ",{\"id\":\"a\",\"type\":\"Array\",\"params\":{\"count\":70000}}" : "",
             extra_blocks[0] ? ",{\"from\":\"a.domain\",\"to\":\"d.domain\"}" : "");
    rt_t rt;
    rt_open_text(&rt, text, NULL);
    lx_instance_destroy(&rt.inst);
    return rt.p;
}

static const lx_diag_t *s_find(const lx_diags_t *d, lx_dcode_t code)
{
    for (size_t i = 0; i < d->count; i++)
        if (d->items[i].code == code)
            return &d->items[i];
    return NULL;
}

static bool s_at(const lx_diag_t *dg, const char *pointer)
{
    for (size_t i = 0; dg && i < dg->n_locs; i++)
        if (dg->locs[i].kind == LX_LOC_JSON && strcmp(dg->locs[i].a, pointer) == 0)
            return true;
    return false;
}

static void test_config_file(void)
{
    lx_export_config_t c;
    lx_export_config_init(&c);
    lx_diags_t d;
    lx_diags_init(&d, NULL);
    const char *ok = "{\"frames\":[3,9],\"resolution\":{\"width\":320,\"height\":200},"
                     "\"artifacts\":[\"rgba\",\"control\"],\"formats\":{\"color\":\"exr\","
                     "\"float\":\"npy\",\"mask\":\"exr\"},\"depthRange\":[1,50],"
                     "\"motionScale\":-1,\"framesPerCycle\":30,\"exrCompression\":\"piz\","
                     "\"pngLevel\":9}";
    CHECK(lx_export_config_load_json(&c, ok, strlen(ok), &d) == LX_OK && d.count == 0);
    CHECK(c.has_frames && c.first == 3 && c.last == 9 && c.width == 320 && c.height == 200);
    CHECK(c.artifacts == (LX_ART_RGBA | LX_ART_CONTROL) && c.color_exr && c.float_npy && c.mask_exr);
    CHECK(c.has_depth_range && c.depth_near == 1 && c.depth_far == 50 && c.motion_scale == -1);
    CHECK(c.frames_per_cycle == 30 && c.exr_compression == LX_EXR_PIZ && c.png_level == 9);
    lx_diags_release(&d);

    lx_diags_init(&d, NULL);
    const char *bad = "{\"frams\":\"1-2\",\"resolution\":{\"width\":33,\"height\":20},"
                      "\"pngLevel\":11,\"formats\":{\"colour\":\"png\",\"float\":\"tiff\"},"
                      "\"frames\":\"9-3\"}";
    CHECK(lx_export_config_load_json(&c, bad, strlen(bad), &d) == LX_E_DIAG);
    const lx_diag_t *u = s_find(&d, LX_DC_EX_505);
    CHECK(u && s_at(u, "/frams") && u->help && strstr(u->help, "frames"));
    size_t ex504 = 0, ex505 = 0;
    for (size_t i = 0; i < d.count; i++) {
        ex504 += d.items[i].code == LX_DC_EX_504;
        ex505 += d.items[i].code == LX_DC_EX_505;
    }
    CHECK_EQ_INT(ex504, 4); /* resolution, pngLevel, formats/float, frames */
    CHECK_EQ_INT(ex505, 2); /* frams, formats/colour */
    lx_diags_release(&d);

    uint32_t m;
    char which[LX_ARTIFACT_NAME_MAX];
    CHECK(lx_export_parse_artifacts("rgba,depth", &m, which) && m == (LX_ART_RGBA | LX_ART_DEPTH));
    CHECK(!lx_export_parse_artifacts("rgba,dpeth", &m, which) && strcmp(which, "dpeth") == 0);
    CHECK(lx_export_parse_artifacts("all", &m, which) && m == LX_ART_ALL && (m & LX_ART_CONTROL) &&
          (m & LX_ART_PARTICLES) && (m & LX_ART_SEMANTIC) && (m & LX_ART_EDGES) &&
          (m & LX_ART_SVG));
    CHECK(lx_export_parse_artifacts("semantic,id", &m, which) &&
          m == (LX_ART_SEMANTIC | LX_ART_ID));
    CHECK(lx_export_parse_artifacts("particles", &m, which) && m == LX_ART_PARTICLES);
    CHECK(!lx_export_parse_artifacts("particle", &m, which) && strcmp(which, "particle") == 0);
}

static void test_plan(void)
{
    lx_export_config_t c;
    lx_export_config_init(&c);
    lx_export_plan_t plan;
    lx_diags_t d;
    /* Infinite timelines need frames (EX-506). */
    lx_program_t *p = s_program("\"type\":\"InfiniteTimeRoot\"", "");
    lx_diags_init(&d, NULL);
    CHECK(p && lx_export_plan(p, &c, &plan, &d) == LX_E_DIAG);
    CHECK(s_at(s_find(&d, LX_DC_EX_506), "/frames"));
    lx_diags_release(&d);
    c.has_frames = true;
    c.first = 10;
    c.last = 20;
    lx_diags_init(&d, NULL);
    CHECK(lx_export_plan(p, &c, &plan, &d) == LX_OK && plan.first == 10 && plan.last == 20);
    lx_diags_release(&d);
    lx_program_destroy(&p);
    /* 29.97 frames per cycle: exported as 30, with a warning (EX-503). */
    p = s_program("\"type\":\"CycleTimeRoot\",\"params\":{\"periodMs\":1248.75}", "");
    lx_export_config_init(&c);
    lx_diags_init(&d, NULL);
    CHECK(p && lx_export_plan(p, &c, &plan, &d) == LX_OK);
    const lx_diag_t *w = s_find(&d, LX_DC_EX_503);
    CHECK(w && w->severity == LX_SEV_WARNING && plan.sampling.frames_per_cycle == 30);
    CHECK(plan.first == 0 && plan.last == 29);
    lx_diags_release(&d);
    CHECK(plan.exact_closure == false); /* 29.97 frames cannot be exact */
    CHECK(!s_find(&d, LX_DC_EX_508));
    /* A bad frames-per-cycle is EX-504. */
    c.frames_per_cycle = 20000000;
    lx_diags_init(&d, NULL);
    CHECK(lx_export_plan(p, &c, &plan, &d) == LX_E_DIAG && s_find(&d, LX_DC_EX_504));
    lx_diags_release(&d);
    lx_program_destroy(&p);
    /* 70000 instances do not fit a 16-bit id (EX-507) unless id is left out. */
    p = s_program("\"type\":\"FiniteTimeRoot\",\"params\":{\"durationMs\":100}", "many");
    lx_export_config_init(&c);
    lx_diags_init(&d, NULL);
    CHECK(p && lx_export_plan(p, &c, &plan, &d) == LX_E_DIAG && s_find(&d, LX_DC_EX_507));
    lx_diags_release(&d);
    c.artifacts &= ~(uint32_t)LX_ART_ID;
    lx_diags_init(&d, NULL);
    CHECK(lx_export_plan(p, &c, &plan, &d) == LX_OK);
    lx_diags_release(&d);
    /* The config hash follows settings that change bytes, not others. */
    lx_digest_t h1 = plan.config_hash;
    c.png_level = 4;
    lx_diags_init(&d, NULL);
    CHECK(lx_export_plan(p, &c, &plan, &d) == LX_OK);
    CHECK(memcmp(h1.bytes, plan.config_hash.bytes, 32) != 0);
    lx_diags_release(&d);
    lx_program_destroy(&p);
}

/* A cyclic patch that draws with the absolute time cannot close (EX-508);
 * one driven by the phase closes exactly. */
static void test_closure_warning(void)
{
    const char *fmt =
        "{\"format\":\"lattice.patch/1\",\"id\":\"c\",\"output\":{\"width\":64,\"height\":48,"
        "\"fps\":24},\"blocks\":[{\"id\":\"t\",\"type\":\"CycleTimeRoot\",\"params\":"
        "{\"periodMs\":1000}},{\"id\":\"v\",\"type\":\"MakeVec3\"},{\"id\":\"s\",\"type\":"
        "\"Rect\"},{\"id\":\"d\",\"type\":\"RenderInstances\"}],\"edges\":[{\"from\":"
        "\"s.shape\",\"to\":\"d.shape\"},{\"from\":\"t.%s\",\"to\":\"v.x\"},{\"from\":"
        "\"v.out\",\"to\":\"d.position\"}]}";
    const char *outs[] = {"time", "cycleIndex", "phase", "cycleT"};
    for (int i = 0; i < 4; i++) {
        char text[2048];
        snprintf(text, sizeof text, fmt, outs[i]);
        rt_t rt;
        if (!rt_open_text(&rt, text, NULL)) {
            rt_close(&rt);
            continue;
        }
        lx_export_config_t c;
        lx_export_config_init(&c);
        lx_export_plan_t plan;
        lx_diags_t d;
        lx_diags_init(&d, NULL);
        CHECK(lx_export_plan(rt.p, &c, &plan, &d) == LX_OK);
        const lx_diag_t *w = s_find(&d, LX_DC_EX_508);
        if (i < 2) {
            CHECK_MSG(w && w->severity == LX_SEV_WARNING && !plan.exact_closure,
                      "t.%s: expected EX-508", outs[i]);
            CHECK(w && strstr(w->message, "block 'v' reads"));
        } else {
            CHECK_MSG(!w && plan.exact_closure, "t.%s: unexpected EX-508", outs[i]);
        }
        lx_diags_release(&d);
        rt_close(&rt);
    }
}


/* Workers rebuild the plan from the resolved config the coordinator sends
 * (lx_export_plan_config_json): loading it must give the same plan hash,
 * for every example and every kind of setting. */
static void test_resolved_round_trip(void)
{
    static const char *const examples[] = {"orbit-cards", "logo-sting", "feedback-trails",
                                           "bus-composite-lenses"};
    static const char *const configs[] = {
        "{}",
        "{\"resolution\": {\"width\": 208, \"height\": 120}, \"depthRange\": [0.5, 40]}",
        "{\"formats\": {\"color\": \"exr\", \"float\": \"npy\", \"mask\": \"exr\"},"
        " \"artifacts\": [\"rgba\", \"control\", \"id\"], \"motionScale\": -2,"
        " \"exrCompression\": \"piz\", \"pngLevel\": 9}",
        "{\"alphaThreshold\": 0.1}",
    };
    for (size_t e = 0; e < sizeof examples / sizeof *examples; e++) {
        char path[512];
        snprintf(path, sizeof path, "%s/examples/%s.patch.json", LX_SOURCE_DIR, examples[e]);
        size_t len = 0;
        char *text = t_read_path(path, &len);
        rt_t rt;
        CHECK(text && rt_open_text(&rt, text, NULL));
        free(text);
        for (size_t k = 0; rt.p && k < sizeof configs / sizeof *configs; k++) {
            lx_export_config_t c, c2;
            lx_export_config_init(&c);
            lx_export_config_init(&c2);
            c.has_frames = true;
            c.first = 3;
            c.last = 17;
            lx_diags_t d;
            lx_diags_init(&d, NULL);
            lx_export_plan_t plan, plan2;
            CHECK(lx_export_config_load_json(&c, configs[k], strlen(configs[k]), &d) == LX_OK);
            CHECK(lx_export_plan(rt.p, &c, &plan, &d) == LX_OK);
            lx_strbuf_t sb;
            lx_strbuf_init(&sb, NULL);
            lx_export_plan_config_json(&plan, &sb);
            CHECK(lx_export_config_load_json(&c2, sb.buf, sb.len, &d) == LX_OK);
            CHECK(lx_export_plan(rt.p, &c2, &plan2, &d) == LX_OK);
            CHECK(memcmp(plan.config_hash.bytes, plan2.config_hash.bytes, 32) == 0);
            CHECK(plan2.first == 3 && plan2.last == 17 && plan2.width == plan.width);
            CHECK(d.n_errors == 0);
            lx_strbuf_release(&sb);
            lx_diags_release(&d);
        }
        rt_close(&rt);
    }
}

/* alphaThreshold: a number in [0, 1], 0.5 by default, in the resolved
 * config and so in the config hash; anything else is EX-504 at its
 * pointer, from the file and from a config set in code alike. */
static void test_alpha_threshold(void)
{
    lx_export_config_t c;
    lx_export_config_init(&c);
    CHECK(c.alpha_threshold == 0.5);
    lx_diags_t d;
    lx_diags_init(&d, NULL);
    const char *ok = "{\"alphaThreshold\":0.2}";
    CHECK(lx_export_config_load_json(&c, ok, strlen(ok), &d) == LX_OK && d.count == 0);
    CHECK(c.alpha_threshold == 0.2);
    const char *edges = "{\"alphaThreshold\":0}";
    CHECK(lx_export_config_load_json(&c, edges, strlen(edges), &d) == LX_OK &&
          c.alpha_threshold == 0);
    edges = "{\"alphaThreshold\":1}";
    CHECK(lx_export_config_load_json(&c, edges, strlen(edges), &d) == LX_OK &&
          c.alpha_threshold == 1);
    lx_diags_release(&d);
    static const char *const bad[] = {"{\"alphaThreshold\":-0.01}",   "{\"alphaThreshold\":1.5}",
                                      "{\"alphaThreshold\":\"0.5\"}", "{\"alphaThreshold\":true}",
                                      "{\"alphaThreshold\":1e999}",   "{\"alphaThreshold\":[0.5]}"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        lx_export_config_init(&c);
        lx_diags_init(&d, NULL);
        CHECK_MSG(lx_export_config_load_json(&c, bad[i], strlen(bad[i]), &d) == LX_E_DIAG, "%s",
                  bad[i]);
        const lx_diag_t *e = s_find(&d, LX_DC_EX_504);
        CHECK_MSG(d.count == 1 && s_at(e, "/alphaThreshold"), "%s", bad[i]);
        CHECK(c.alpha_threshold == 0.5);
        lx_diags_release(&d);
    }
    /* A misspelling is an unknown key that suggests the right one. */
    lx_diags_init(&d, NULL);
    const char *typo = "{\"alphaTreshold\":0.5}";
    CHECK(lx_export_config_load_json(&c, typo, strlen(typo), &d) == LX_E_DIAG);
    const lx_diag_t *u = s_find(&d, LX_DC_EX_505);
    CHECK(u && u->help && strstr(u->help, "alphaThreshold"));
    lx_diags_release(&d);

    /* The plan carries it, the resolved config says it (the default too,
     * like every other setting), and the hash follows it. */
    lx_program_t *p = s_program("\"type\":\"FiniteTimeRoot\",\"params\":{\"durationMs\":100}", "");
    lx_export_config_init(&c);
    lx_export_plan_t plan;
    lx_diags_init(&d, NULL);
    CHECK(p && lx_export_plan(p, &c, &plan, &d) == LX_OK && plan.cfg.alpha_threshold == 0.5);
    lx_strbuf_t sb;
    lx_strbuf_init(&sb, NULL);
    lx_export_plan_config_json(&plan, &sb);
    CHECK_MSG(sb.buf && strstr(sb.buf, "\"alphaThreshold\":0.5,"), "%s", sb.buf);
    lx_digest_t h_default = plan.config_hash;
    c.alpha_threshold = 0.2;
    CHECK(p && lx_export_plan(p, &c, &plan, &d) == LX_OK);
    CHECK(memcmp(h_default.bytes, plan.config_hash.bytes, 32) != 0);
    lx_strbuf_release(&sb);
    lx_strbuf_init(&sb, NULL);
    lx_export_plan_config_json(&plan, &sb);
    lx_export_config_t back;
    lx_export_config_init(&back);
    CHECK(lx_export_config_load_json(&back, sb.buf, sb.len, &d) == LX_OK);
    CHECK(back.alpha_threshold == 0.2);
    lx_strbuf_release(&sb);
    lx_diags_release(&d);
    c.alpha_threshold = 2;
    lx_diags_init(&d, NULL);
    CHECK(p && lx_export_plan(p, &c, &plan, &d) == LX_E_DIAG);
    CHECK(s_at(s_find(&d, LX_DC_EX_504), "/alphaThreshold"));
    lx_diags_release(&d);
    lx_program_destroy(&p);
}

/* Frames past a finite timeline's last frame, ceil(D * fps / 1000) - 1:
 * EX-509, an error naming that frame, or with allowPastEnd a warning. The
 * opt-in stays out of the config hash unless the range needs it, and the
 * resolved config of a range that needs it plans again (the coordinator
 * and workers plan that JSON). */
static void test_past_end(void)
{
    /* 1000 ms at 24 fps: 24 frames, 0-23 (t = 1000 ms itself is not one). */
    lx_program_t *p = s_program("\"type\":\"FiniteTimeRoot\",\"params\":{\"durationMs\":1000}", "");
    lx_export_config_t c;
    lx_export_config_init(&c);
    lx_export_plan_t plan, plan2;
    lx_diags_t d;
    lx_diags_init(&d, NULL);
    CHECK(p && lx_export_plan(p, &c, &plan, &d) == LX_OK && plan.first == 0 && plan.last == 23);
    CHECK(d.count == 0);
    lx_digest_t plain = plan.config_hash;
    lx_diags_release(&d);

    c.has_frames = true;
    c.first = 0;
    c.last = 24;
    lx_diags_init(&d, NULL);
    CHECK(lx_export_plan(p, &c, &plan, &d) == LX_E_DIAG);
    const lx_diag_t *e = s_find(&d, LX_DC_EX_509);
    CHECK(e && e->severity == LX_SEV_ERROR && s_at(e, "/frames") && d.n_errors == 1);
    CHECK_MSG(e && strstr(e->message, "past frame 23,"), "%s", e ? e->message : "none");
    CHECK(e && e->help && strstr(e->help, "--allow-past-end"));
    lx_diags_release(&d);

    /* In range, the opt-in changes nothing, the hash included. */
    c.allow_past_end = true;
    c.last = 23;
    lx_diags_init(&d, NULL);
    CHECK(lx_export_plan(p, &c, &plan, &d) == LX_OK && d.count == 0);
    CHECK(memcmp(plain.bytes, plan.config_hash.bytes, 32) == 0);
    lx_diags_release(&d);

    /* Past the end with the opt-in: a warning, and a plan. */
    c.first = 20;
    c.last = 30;
    lx_diags_init(&d, NULL);
    CHECK(lx_export_plan(p, &c, &plan, &d) == LX_OK);
    e = s_find(&d, LX_DC_EX_509);
    CHECK(e && e->severity == LX_SEV_WARNING && d.n_errors == 0 && d.n_warnings == 1);
    lx_diags_release(&d);
    lx_strbuf_t sb;
    lx_strbuf_init(&sb, NULL);
    lx_export_plan_config_json(&plan, &sb);
    CHECK_MSG(strstr(sb.buf, "\"allowPastEnd\":true}") != NULL, "%s", sb.buf);
    lx_export_config_t c2;
    lx_export_config_init(&c2);
    lx_diags_init(&d, NULL);
    CHECK(lx_export_config_load_json(&c2, sb.buf, sb.len, &d) == LX_OK && c2.allow_past_end);
    CHECK(lx_export_plan(p, &c2, &plan2, &d) == LX_OK && d.n_errors == 0);
    CHECK(memcmp(plan.config_hash.bytes, plan2.config_hash.bytes, 32) == 0);
    lx_diags_release(&d);
    lx_strbuf_release(&sb);

    /* The key in a config file, and a bad value. */
    lx_export_config_init(&c2);
    lx_diags_init(&d, NULL);
    const char *on = "{\"allowPastEnd\": true, \"frames\": \"0-99\"}";
    CHECK(lx_export_config_load_json(&c2, on, strlen(on), &d) == LX_OK && c2.allow_past_end);
    CHECK(lx_export_plan(p, &c2, &plan2, &d) == LX_OK && s_find(&d, LX_DC_EX_509));
    const char *bad = "{\"allowPastEnd\": 1}";
    CHECK(lx_export_config_load_json(&c2, bad, strlen(bad), &d) == LX_E_DIAG);
    CHECK(s_at(s_find(&d, LX_DC_EX_504), "/allowPastEnd"));
    lx_diags_release(&d);
    lx_program_destroy(&p);

    /* Cyclic timelines repeat: frames past the cycle are no EX-509. */
    p = s_program("\"type\":\"CycleTimeRoot\",\"params\":{\"periodMs\":1000}", "");
    lx_export_config_init(&c);
    c.has_frames = true;
    c.last = 100;
    lx_diags_init(&d, NULL);
    CHECK(p && lx_export_plan(p, &c, &plan, &d) == LX_OK && !s_find(&d, LX_DC_EX_509));
    lx_diags_release(&d);
    lx_program_destroy(&p);
}

int main(void)
{
    test_alpha_threshold();
    test_past_end();
    test_resolved_round_trip();
    test_closure_warning();
    test_config_file();
    test_plan();
    TEST_MAIN_END();
}
