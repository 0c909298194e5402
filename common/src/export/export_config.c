#include "lattice/export_config.h"
#include "lattice/json_syntax.h"

#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "lattice/patch.h"
#include "lattice/shot.h"
#include "lattice/svg.h"
#include "lattice/tracks.h"
#include "lattice/audio_features.h"
#include "video_internal.h"

const char *const lx_artifact_names[LX_ART_COUNT] = {
    "rgba", "depth",  "motion",  "normal",    "id",       "mask",   "camera",
    "control", "particles", "semantic", "edges", "tracks", "svg", "audio"};

void lx_export_config_init(lx_export_config_t *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->size = sizeof *cfg;
    cfg->artifacts = LX_ART_DEFAULT;
    cfg->motion_scale = 1.0;
    cfg->alpha_threshold = 0.5;
    cfg->exr_compression = LX_EXR_ZIP;
    cfg->png_level = 3;
    cfg->edge_thickness = 1;
    cfg->svg_tolerance = LX_SVG_TOLERANCE_DEFAULT;
}

bool lx_export_config_preset(lx_export_config_t *cfg, const char *name)
{
    if (strcmp(name, "wan") != 0)
        return false;
    /* Wan 2.1/2.2 (and their VACE, Fun and ATI variants) are trained at
     * 832x480, 16 fps, on clips of 4n + 1 frames. */
    cfg->preset = LX_PRESET_WAN;
    cfg->width = 832;
    cfg->height = 480;
    cfg->fps = 16;
    return true;
}

lx_instance_config_t lx_export_plan_instance(const lx_export_plan_t *plan)
{
    lx_instance_config_t c = LX_INSTANCE_CONFIG_INIT;
    c.frames_per_cycle = plan->sampling.frames_per_cycle;
    c.fps = plan->sampling.fps;
    c.has_seed = plan->cfg.has_seed;
    c.seed = plan->cfg.seed;
    return c;
}

const char *lx_export_suggest_artifact(const char *name)
{
    const char *names[LX_ART_COUNT + 2] = {"all", "comfyui"};
    memcpy(names + 2, lx_artifact_names, sizeof lx_artifact_names);
    return lx_suggest(name, names, LX_ART_COUNT + 2);
}

bool lx_export_parse_artifacts(const char *list, uint32_t *mask, char bad[LX_ARTIFACT_NAME_MAX])
{
    char word[LX_ARTIFACT_NAME_MAX];
    uint32_t m = 0;
    const char *s = list;
    while (*s) {
        size_t n = strcspn(s, ",");
        if (n == 0 || n >= sizeof word) {
            snprintf(bad, LX_ARTIFACT_NAME_MAX, "%.*s", (int)(n < 60 ? n : 60), s);
            return false;
        }
        memcpy(word, s, n);
        word[n] = '\0';
        int k = -1;
        for (int i = 0; i < LX_ART_COUNT; i++)
            if (strcmp(word, lx_artifact_names[i]) == 0)
                k = i;
        if (strcmp(word, "all") == 0)
            m |= LX_ART_ALL;
        else if (strcmp(word, "comfyui") == 0)
            m |= LX_ART_COMFYUI;
        else if (k < 0) {
            memcpy(bad, word, n + 1);
            return false;
        } else {
            m |= 1u << k;
        }
        s += n;
        if (*s == ',')
            s++;
    }
    if (!m) {
        bad[0] = '\0';
        return false;
    }
    *mask = m;
    return true;
}

static void s_bad(lx_diags_t *d, const char *ptr, const char *fmt, const char *what)
{
    lx_diag_t *dg = lx_diags_add(d, LX_DC_EX_504, fmt, what);
    lx_diag_at_json(d, dg, ptr);
}

static bool s_frames(const cJSON *v, int64_t *a, int64_t *b)
{
    if (cJSON_IsString(v)) {
        long long x, y;
        char tail;
        int n = sscanf(v->valuestring, "%lld-%lld%c", &x, &y, &tail);
        if (n == 2 && x >= 0 && y >= x) {
            *a = x, *b = y;
            return true;
        }
        if (sscanf(v->valuestring, "%lld%c", &x, &tail) == 1 && x >= 0) {
            *a = *b = x;
            return true;
        }
        return false;
    }
    if (cJSON_IsArray(v) && cJSON_GetArraySize(v) == 2) {
        const cJSON *x = cJSON_GetArrayItem(v, 0), *y = cJSON_GetArrayItem(v, 1);
        if (cJSON_IsNumber(x) && cJSON_IsNumber(y) && x->valuedouble >= 0 &&
            y->valuedouble >= x->valuedouble && x->valuedouble == floor(x->valuedouble) &&
            y->valuedouble == floor(y->valuedouble) && y->valuedouble < 9e15) {
            *a = (int64_t)x->valuedouble, *b = (int64_t)y->valuedouble;
            return true;
        }
    }
    return false;
}

static bool s_choice(const cJSON *v, const char *a, const char *b, bool *second)
{
    if (!cJSON_IsString(v))
        return false;
    if (strcmp(v->valuestring, a) == 0)
        *second = false;
    else if (strcmp(v->valuestring, b) == 0)
        *second = true;
    else
        return false;
    return true;
}

static void s_unknown(lx_diags_t *d, const char *ptr, const char *key, const char *const *known,
                      size_t n)
{
    lx_diag_t *dg = lx_diags_add(d, LX_DC_EX_505, "unknown export setting '%s'", key);
    lx_diag_at_json(d, dg, ptr);
    const char *s = lx_suggest(key, known, n);
    if (s)
        lx_diag_help(d, dg, "did you mean '%s'?", s);
}

/* [near, far] with 0 <= near < far, both finite. */
static bool s_range(const cJSON *n, const cJSON *f, double *near, double *far)
{
    if (!cJSON_IsNumber(n) || !cJSON_IsNumber(f) || !(n->valuedouble >= 0) ||
        !(f->valuedouble > n->valuedouble) || !isfinite(f->valuedouble))
        return false;
    *near = n->valuedouble;
    *far = f->valuedouble;
    return true;
}

/* controlDepthRange: "auto" | "shot" | "camera" | [near, far], or the
 * resolved form lx_export_plan_config_json writes for a measured shot,
 * {"source": "shot", "near": N, "far": F}. */
static bool s_control_depth(const cJSON *v, lx_export_config_t *cfg)
{
    static const char *const modes[] = {"auto", "shot", "camera"};
    for (int m = 0; m < 3 && cJSON_IsString(v); m++)
        if (strcmp(v->valuestring, modes[m]) == 0) {
            cfg->control_depth = (lx_control_depth_t)m;
            cfg->control_depth_measured = false;
            return true;
        }
    const cJSON *src = cJSON_GetObjectItemCaseSensitive(v, "source");
    if (cJSON_IsObject(v) && cJSON_GetArraySize(v) == 3 && cJSON_IsString(src) &&
        strcmp(src->valuestring, "shot") == 0 &&
        s_range(cJSON_GetObjectItemCaseSensitive(v, "near"),
                cJSON_GetObjectItemCaseSensitive(v, "far"), &cfg->control_depth_near,
                &cfg->control_depth_far)) {
        cfg->control_depth = LX_CDEPTH_SHOT;
        cfg->control_depth_measured = true;
        return true;
    }
    if (cJSON_IsArray(v) && cJSON_GetArraySize(v) == 2 &&
        s_range(cJSON_GetArrayItem(v, 0), cJSON_GetArrayItem(v, 1), &cfg->control_depth_near,
                &cfg->control_depth_far)) {
        cfg->control_depth = LX_CDEPTH_RANGE;
        cfg->control_depth_measured = false;
        return true;
    }
    return false;
}

/* flowScale: "shot" | px > 0, or the resolved {"source": "shot", "px": S}. */
static bool s_flow_scale(const cJSON *v, lx_export_config_t *cfg)
{
    const cJSON *px = cJSON_GetObjectItemCaseSensitive(v, "px");
    const cJSON *src = cJSON_GetObjectItemCaseSensitive(v, "source");
    if (cJSON_IsString(v) && strcmp(v->valuestring, "shot") == 0) {
        cfg->flow_scale = 0;
        cfg->flow_scale_measured = false;
    } else if (cJSON_IsNumber(v) && v->valuedouble > 0 && isfinite(v->valuedouble)) {
        cfg->flow_scale = v->valuedouble;
        cfg->flow_scale_measured = false;
    } else if (cJSON_IsObject(v) && cJSON_GetArraySize(v) == 2 && cJSON_IsString(src) &&
               strcmp(src->valuestring, "shot") == 0 && cJSON_IsNumber(px) &&
               px->valuedouble > 0 && isfinite(px->valuedouble)) {
        cfg->flow_scale = px->valuedouble;
        cfg->flow_scale_measured = true;
    } else {
        return false;
    }
    return true;
}

/* *out = the whole number it holds, when it is one from lo to hi. */
static bool s_int_in(const cJSON *it, uint32_t lo, uint32_t hi, uint32_t *out)
{
    if (!cJSON_IsNumber(it) || !(it->valuedouble >= lo && it->valuedouble <= hi) ||
        it->valuedouble != floor(it->valuedouble))
        return false;
    *out = (uint32_t)it->valuedouble;
    return true;
}

lx_result_t lx_export_config_load_json(lx_export_config_t *cfg, const char *text, size_t len,
                                       lx_diags_t *d)
{
    static const char *const keys[] = {"frames",       "resolution",     "artifacts",
                                       "formats",      "depthRange",     "motionScale",
                                       "framesPerCycle", "exrCompression", "pngLevel",
                                       "alphaThreshold", "controlDepthRange", "flowScale",
                                       "allowPastEnd", "edgeThickness", "fps",
                                       "preset",       "svgTolerance", "seed",
                                       "video"};
    size_t errors = d->n_errors;
    cJSON *root = cJSON_ParseWithLength(text, len);
    lx_json_syntax_t syn;
    if (!root && lx_json_syntax_check(text, len, &syn)) {
        lx_diag_t *dg = lx_diags_add(d, LX_DC_EX_504, "invalid JSON at line %zu, column %zu: %s",
                                     syn.line, syn.column, syn.message);
        lx_diag_at_json(d, dg, "");
        return LX_E_PARSE;
    }
    if (!cJSON_IsObject(root)) {
        lx_diag_t *dg = lx_diags_add(d, LX_DC_EX_504, "%s",
                                     "the export config must be a JSON object");
        lx_diag_at_json(d, dg, "");
        cJSON_Delete(root);
        return LX_E_PARSE;
    }
    /* The preset first, whatever its place: the other keys win over it. */
    const cJSON *preset = cJSON_GetObjectItemCaseSensitive(root, "preset");
    if (preset && !(cJSON_IsString(preset) && lx_export_config_preset(cfg, preset->valuestring)))
        s_bad(d, "/preset", "%s must be \"wan\" (832x480, 16 fps, 4n+1 frames)", "preset");
    char ptr[160];
    for (const cJSON *it = root->child; it; it = it->next) {
        const char *k = it->string ? it->string : "";
        snprintf(ptr, sizeof ptr, "/%.100s", k);
        if (strcmp(k, "preset") == 0) {
            continue;
        } else if (strcmp(k, "seed") == 0) {
            if (s_int_in(it, 0, UINT32_MAX, &cfg->seed))
                cfg->has_seed = true;
            else
                s_bad(d, ptr, "%s must be an integer from 0 to 4294967295", "seed");
        } else if (strcmp(k, "fps") == 0) {
            if (cJSON_IsNumber(it) && it->valuedouble > 0 && it->valuedouble <= 1000)
                cfg->fps = it->valuedouble;
            else
                s_bad(d, ptr, "%s must be a number of frames per second above 0, at most 1000",
                      "fps");
        } else if (strcmp(k, "frames") == 0) {
            if (s_frames(it, &cfg->first, &cfg->last))
                cfg->has_frames = true;
            else
                s_bad(d, ptr, "%s must be \"a-b\" or [a, b] with 0 <= a <= b", "frames");
        } else if (strcmp(k, "resolution") == 0) {
            /* {width, height}, or [width, height] as the resolved config
             * (lx_export_plan_config_json) writes it. */
            bool pair = cJSON_IsArray(it) && cJSON_GetArraySize(it) == 2;
            const cJSON *w = pair ? cJSON_GetArrayItem(it, 0)
                                  : cJSON_GetObjectItemCaseSensitive(it, "width");
            const cJSON *h = pair ? cJSON_GetArrayItem(it, 1)
                                  : cJSON_GetObjectItemCaseSensitive(it, "height");
            if (cJSON_IsNumber(w) && cJSON_IsNumber(h) && w->valuedouble >= 2 &&
                h->valuedouble >= 2 && w->valuedouble <= 16384 && h->valuedouble <= 16384 &&
                fmod(w->valuedouble, 2) == 0 && fmod(h->valuedouble, 2) == 0) {
                cfg->width = (uint32_t)w->valuedouble;
                cfg->height = (uint32_t)h->valuedouble;
            } else {
                s_bad(d, ptr, "%s must be {width, height} or [width, height], even integers from 2 to 16384",
                      "resolution");
            }
        } else if (strcmp(k, "artifacts") == 0) {
            uint32_t m = 0;
            char unknown[64] = "";
            for (const cJSON *a = cJSON_IsArray(it) ? it->child : NULL; a; a = a->next) {
                uint32_t one;
                char bad[LX_ARTIFACT_NAME_MAX];
                if (!cJSON_IsString(a) || !lx_export_parse_artifacts(a->valuestring, &one, bad)) {
                    if (cJSON_IsString(a) && !unknown[0])
                        snprintf(unknown, sizeof unknown, "%s", bad);
                    m = UINT32_MAX;
                } else if (m != UINT32_MAX) {
                    m |= one;
                }
            }
            if (m == 0 || m == UINT32_MAX) {
                lx_diag_t *dg = lx_diags_add(d, LX_DC_EX_504,
                                             "%s must be a list of artifacts (%s)", "artifacts",
                                             LX_ARTIFACT_LIST);
                lx_diag_at_json(d, dg, ptr);
                const char *s = unknown[0] ? lx_export_suggest_artifact(unknown) : NULL;
                if (s)
                    lx_diag_help(d, dg, "'%s' is not an artifact: did you mean '%s'?", unknown, s);
            } else {
                cfg->artifacts = m;
            }
        } else if (strcmp(k, "formats") == 0 && cJSON_IsObject(it)) {
            for (const cJSON *f = it->child; f; f = f->next) {
                char fptr[sizeof ptr + 64]; /* ptr, "/" and a key cut to 60 bytes */
                snprintf(fptr, sizeof fptr, "%s/%.60s", ptr, f->string ? f->string : "");
                bool ok = false;
                if (strcmp(f->string, "color") == 0)
                    ok = s_choice(f, "png", "exr", &cfg->color_exr);
                else if (strcmp(f->string, "float") == 0)
                    ok = s_choice(f, "exr", "npy", &cfg->float_npy);
                else if (strcmp(f->string, "mask") == 0)
                    ok = s_choice(f, "png", "exr", &cfg->mask_exr);
                else if (strcmp(f->string, "controlDepth") == 0)
                    ok = s_choice(f, "png8", "png16", &cfg->control_depth16);
                else {
                    static const char *const fk[] = {"color", "float", "mask", "controlDepth"};
                    s_unknown(d, fptr, f->string, fk, 4);
                    continue;
                }
                if (!ok)
                    s_bad(d, fptr, "%s is not a supported format here (color: png|exr, float: "
                                   "exr|npy, mask: png|exr, controlDepth: png8|png16)",
                          f->string);
            }
        } else if (strcmp(k, "depthRange") == 0 && cJSON_IsString(it) &&
                   strcmp(it->valuestring, "camera") == 0) {
            cfg->has_depth_range = false; /* each frame's camera near/far, the default */
        } else if (strcmp(k, "depthRange") == 0) {
            const cJSON *n = cJSON_GetArrayItem(it, 0), *f = cJSON_GetArrayItem(it, 1);
            if (cJSON_IsArray(it) && cJSON_GetArraySize(it) == 2 && cJSON_IsNumber(n) &&
                cJSON_IsNumber(f) && n->valuedouble >= 0 && f->valuedouble > n->valuedouble &&
                isfinite(f->valuedouble)) {
                cfg->has_depth_range = true;
                cfg->depth_near = n->valuedouble;
                cfg->depth_far = f->valuedouble;
            } else {
                s_bad(d, ptr, "%s must be [near, far] with 0 <= near < far, or \"camera\"", "depthRange");
            }
        } else if (strcmp(k, "motionScale") == 0) {
            if (cJSON_IsNumber(it) && isfinite(it->valuedouble) && it->valuedouble != 0)
                cfg->motion_scale = it->valuedouble;
            else
                s_bad(d, ptr, "%s must be a non-zero number", "motionScale");
        } else if (strcmp(k, "alphaThreshold") == 0) {
            if (cJSON_IsNumber(it) && it->valuedouble >= 0 && it->valuedouble <= 1)
                cfg->alpha_threshold = it->valuedouble;
            else
                s_bad(d, ptr, "%s must be a number from 0 to 1", "alphaThreshold");
        } else if (strcmp(k, "framesPerCycle") == 0) {
            /* 0 = the default; the resolved config of a non-cyclic patch says 0. */
            if (!s_int_in(it, 0, 10000000, &cfg->frames_per_cycle))
                s_bad(d, ptr, "%s must be an integer from 0 (default) to 10000000", "framesPerCycle");
        } else if (strcmp(k, "exrCompression") == 0) {
            int c = cJSON_IsString(it) ? lx_exr_compression_parse(it->valuestring) : -1;
            if (c >= 0)
                cfg->exr_compression = (lx_exr_compression_t)c;
            else
                s_bad(d, ptr, "%s must be none, rle, zips, zip or piz", "exrCompression");
        } else if (strcmp(k, "edgeThickness") == 0) {
            if (!s_int_in(it, 1, 16, &cfg->edge_thickness))
                s_bad(d, ptr, "%s must be an integer from 1 to 16", "edgeThickness");
        } else if (strcmp(k, "svgTolerance") == 0) {
            if (cJSON_IsNumber(it) && it->valuedouble >= LX_SVG_TOLERANCE_MIN &&
                it->valuedouble <= LX_SVG_TOLERANCE_MAX)
                cfg->svg_tolerance = it->valuedouble;
            else
                s_bad(d, ptr, "%s must be a number of pixels from 0.01 to 16", "svgTolerance");
        } else if (strcmp(k, "pngLevel") == 0) {
            uint32_t level;
            if (s_int_in(it, 0, 9, &level))
                cfg->png_level = (int)level;
            else
                s_bad(d, ptr, "%s must be an integer from 0 to 9", "pngLevel");
        } else if (strcmp(k, "controlDepthRange") == 0) {
            if (!s_control_depth(it, cfg))
                s_bad(d, ptr, "%s must be \"auto\", \"shot\", \"camera\", [near, far] with "
                              "0 <= near < far, or {\"source\": \"shot\", \"near\", \"far\"}",
                      "controlDepthRange");
        } else if (strcmp(k, "flowScale") == 0) {
            if (!s_flow_scale(it, cfg))
                s_bad(d, ptr, "%s must be \"shot\", a number of pixels > 0, or "
                              "{\"source\": \"shot\", \"px\"}",
                      "flowScale");
        } else if (strcmp(k, "allowPastEnd") == 0) {
            if (cJSON_IsBool(it))
                cfg->allow_past_end = cJSON_IsTrue(it);
            else
                s_bad(d, ptr, "%s must be true or false", "allowPastEnd");
        } else if (strcmp(k, "video") == 0) {
            lx_video_config_load(cfg, it, ptr, d);
        } else if (strcmp(k, "formats") == 0) {
            s_bad(d, ptr, "%s must be an object", "formats");
        } else {
            s_unknown(d, ptr, k, keys, sizeof keys / sizeof keys[0]);
        }
    }
    cJSON_Delete(root);
    return d->n_errors > errors ? LX_E_DIAG : LX_OK;
}

/* The control tier's settings, resolved (see lx_export_plan): the shot is
 * measured only when a setting needs it and was not measured before. */
static lx_result_t s_control(const lx_program_t *p, lx_export_plan_t *plan)
{
    lx_export_config_t *c = &plan->cfg;
    if (c->control_depth == LX_CDEPTH_AUTO) {
        c->control_depth = c->has_depth_range ? LX_CDEPTH_RANGE : LX_CDEPTH_SHOT;
        c->control_depth_near = c->depth_near;
        c->control_depth_far = c->depth_far;
        c->control_depth_measured = false;
    }
    bool depth = c->control_depth == LX_CDEPTH_SHOT && !c->control_depth_measured;
    bool flow = c->flow_scale == 0;
    if (!depth && !flow)
        return LX_OK;
    /* The shot is the time model's whole range where it has one (finite,
     * cyclic), whatever frames are exported: every range and shard of an
     * export then normalizes alike, and ranges of one export merge
     * (docs/export-format.md, "Resume and ranges"). An infinite timeline's
     * shot is the exported frames. */
    lx_export_plan_t shot_plan = *plan;
    int64_t first, last;
    if (lx_sampling_default_range(&plan->sampling, &first, &last)) {
        shot_plan.first = first;
        shot_plan.last = last;
    }
    lx_shot_t shot;
    lx_error_t err = {0};
    lx_result_t rc = lx_shot_measure(p, &shot_plan, NULL, &shot, &err);
    if (rc != LX_OK)
        return rc;
    if (depth) {
        double near = shot.any_surface ? shot.depth_near : shot.camera_near;
        double far = shot.any_surface ? shot.depth_far : shot.camera_far;
        /* A range narrower than 0.1% of far (one flat card facing the
         * camera) would turn float rounding into contrast: widened, keeping
         * near, so such a surface is bright. */
        if (!(near >= 0 && isfinite(near) && isfinite(far)))
            near = 0, far = 1; /* no surface and an unusable camera range */
        double min_width = 1e-3 * (far > 1e-6 ? far : 1e-6);
        if (!(far - near >= min_width))
            far = near + min_width;
        c->control_depth_near = near;
        c->control_depth_far = far;
        c->control_depth_measured = true;
    }
    if (flow) {
        /* In the motion file's units (x motionScale), 1e-6 larger so that
         * float rounding of the largest vector stays inside the wheel, and
         * at least 1e-6 px (a shot that does not move is white). */
        double s = shot.motion_max * fabs(c->motion_scale) * (1 + 1e-6);
        c->flow_scale = !isfinite(s) ? 1e300 : s > 1e-6 ? s : 1e-6;
        c->flow_scale_measured = true;
    }
    return LX_OK;
}

/* A cyclic export closes when every frame is a function of the phase:
 * nothing may read the time root's absolute `time` or `cycleIndex`, and no
 * state may integrate over all earlier frames. */
static void s_closure(const lx_program_t *p, lx_export_plan_t *plan, lx_diags_t *d)
{
    const lx_expr_t *root = &p->exprs[p->time_expr];
    uint16_t time_slot = p->args[root->out_off + 0];
    uint16_t index_slot = p->args[root->out_off + 4];
    const char *reader = NULL, *what = NULL;
    for (uint32_t i = 0; i < p->n_exprs && !reader; i++) {
        const lx_expr_t *e = &p->exprs[i];
        for (uint32_t k = 0; k < e->n_in && !reader; k++) {
            uint16_t s = p->args[e->in_off + k];
            if (s == LX_SLOT_NONE || (s != time_slot && s != index_slot))
                continue;
            reader = p->blocks[e->block].id;
            what = s == time_slot ? "the absolute time" : "the cycle index";
        }
    }
    plan->exact_closure = plan->sampling.exact && !reader &&
                          p->state_horizon != LX_HORIZON_UNBOUNDED;
    if (reader || p->state_horizon == LX_HORIZON_UNBOUNDED) {
        char why[200];
        if (reader)
            snprintf(why, sizeof why, "block '%.80s' reads %s", reader, what);
        else
            snprintf(why, sizeof why, "the patch integrates state over every earlier frame");
        lx_diag_t *dg = lx_diags_add(d, LX_DC_EX_508, "frame %u will not repeat frame 0: %s",
                                     plan->sampling.frames_per_cycle, why);
        if (reader)
            lx_diag_at_block(d, dg, reader);
        lx_diag_at_json(d, dg, "/frames");
        lx_diag_help(d, dg, "drive the animation from the phase (or cycleT) to make the loop close");
    }
}

lx_result_t lx_export_plan_reseed(const lx_program_t *p, const lx_export_plan_t *plan,
                                  uint32_t seed, lx_export_plan_t *out, lx_diags_t *diags)
{
    lx_export_config_t cfg = plan->cfg;
    cfg.has_seed = true;
    cfg.seed = seed;
    /* The shot is the seed's: measured again where it was measured. */
    if (cfg.control_depth == LX_CDEPTH_SHOT)
        cfg.control_depth_measured = false;
    if (cfg.flow_scale_measured)
        cfg.flow_scale = 0, cfg.flow_scale_measured = false;
    return lx_export_plan(p, &cfg, out, diags);
}

lx_result_t lx_export_plan_json(const lx_program_t *p, const char *config, lx_export_plan_t *plan,
                                lx_diags_t *diags)
{
    lx_export_config_t cfg;
    lx_export_config_init(&cfg);
    lx_result_t rc = lx_export_config_load_json(&cfg, config, strlen(config), diags);
    return rc == LX_OK ? lx_export_plan(p, &cfg, plan, diags) : rc;
}

lx_result_t lx_export_plan(const lx_program_t *p, const lx_export_config_t *cfg,
                           lx_export_plan_t *plan, lx_diags_t *d)
{
    size_t errors = d->n_errors;
    memset(plan, 0, sizeof *plan);
    plan->cfg = *cfg;
    plan->width = cfg->width ? cfg->width : p->output.width;
    plan->height = cfg->height ? cfg->height : p->output.height;
    lx_error_t err = {0};
    double fps = cfg->fps > 0 ? cfg->fps : p->output.fps;
    if (cfg->fps == p->output.fps)
        plan->cfg.fps = 0; /* the patch's: one config, one hash */
    if (cfg->has_seed && cfg->seed == p->seed)
        plan->cfg.has_seed = false;
    if (lx_sampling_init(&plan->sampling, &p->time_model, fps, cfg->frames_per_cycle, &err) !=
        LX_OK) {
        lx_diag_t *dg = lx_diags_add(d, LX_DC_EX_504, "%s", err.message);
        lx_diag_at_json(d, dg, cfg->fps > 0 ? "/fps" : "/framesPerCycle");
    } else if (p->time_model.kind == LX_TIME_CYCLIC && !plan->sampling.exact) {
        lx_diag_t *dg = lx_diags_add(
            d, LX_DC_EX_503,
            "a cycle of %g ms at %g fps is %g frames; exporting %u frames per cycle (the "
            "phase override keeps the loop closed, but the motion runs %+.3f%% fast)",
            p->time_model.period_ms, fps, p->time_model.period_ms * fps / 1000,
            plan->sampling.frames_per_cycle,
            100.0 * (p->time_model.period_ms * fps / 1000 /
                         plan->sampling.frames_per_cycle -
                     1));
        lx_diag_at_json(d, dg, "/framesPerCycle");
    }
    if (p->time_model.kind == LX_TIME_CYCLIC)
        s_closure(p, plan, d);
    if (cfg->has_frames) {
        plan->first = cfg->first;
        plan->last = cfg->last;
    } else if (!lx_sampling_default_range(&plan->sampling, &plan->first, &plan->last)) {
        lx_diag_t *dg = lx_diags_add(d, LX_DC_EX_506,
                                     "patch '%s' has an infinite timeline: give the frames to "
                                     "export",
                                     p->patch_id);
        lx_diag_at_json(d, dg, "/frames");
        lx_diag_help(d, dg, "use --frames a-b (or \"frames\": \"a-b\" in the config)");
    }
    if (!(cfg->alpha_threshold >= 0 && cfg->alpha_threshold <= 1)) {
        lx_diag_t *dg = lx_diags_add(d, LX_DC_EX_504, "alphaThreshold %g is outside [0, 1]",
                                     cfg->alpha_threshold);
        lx_diag_at_json(d, dg, "/alphaThreshold");
    }
    /* Past a finite timeline's last frame, progress stays 1 and the phase
     * wraps to 0 while the time rail runs on: most likely a range meant
     * for another fps or duration (or a typo of many digits). */
    int64_t first_def, last_def;
    if (cfg->has_frames && p->time_model.kind == LX_TIME_FINITE &&
        lx_sampling_default_range(&plan->sampling, &first_def, &last_def) &&
        plan->last > last_def) {
        lx_diag_t *dg = lx_diags_add(
            d, LX_DC_EX_509,
            "frames %lld-%lld go past frame %lld, the last frame of the %g ms timeline at %g fps",
            (long long)plan->first, (long long)plan->last, (long long)last_def,
            p->time_model.duration_ms, fps);
        lx_diag_at_json(d, dg, "/frames");
        if (cfg->allow_past_end) {
            /* Opted in: the same finding, as a warning. */
            d->n_errors--;
            d->n_warnings++;
            if (dg)
                dg->severity = LX_SEV_WARNING;
        } else {
            lx_diag_help(d, dg,
                         "export frames 0-%lld, or allow it with --allow-past-end "
                         "(\"allowPastEnd\": true in the config)",
                         (long long)last_def);
        }
    }
    /* Wan's VAE packs 4 frames into one latent after the first: of other
     * counts it drops the rest. */
    int64_t count = plan->last - plan->first + 1, extra = (count + 3) % 4;
    if (cfg->preset == LX_PRESET_WAN && extra != 0 && d->n_errors == errors) {
        lx_diag_t *dg = lx_diags_add(d, LX_DC_EX_510,
                                     "%lld frames is not 4n+1: Wan reads clips of 4n+1 frames "
                                     "and drops the last %lld",
                                     (long long)count, (long long)extra);
        lx_diag_at_json(d, dg, "/frames");
        lx_diag_help(d, dg, "export %lld or %lld frames (frames %lld-%lld or %lld-%lld)",
                     (long long)(count - extra), (long long)(count - extra + 4),
                     (long long)plan->first, (long long)(plan->last - extra),
                     (long long)plan->first, (long long)(plan->last - extra + 4));
    }
    if (plan->last - plan->first >= 100000000) {
        lx_diag_t *dg = lx_diags_add(d, LX_DC_EX_504, "%s", "more than 100000000 frames");
        lx_diag_at_json(d, dg, "/frames");
    }
    for (uint32_t i = 0; i < p->n_sinks; i++)
        plan->n_ids += p->sinks[i].instance == LX_NONE ? 1 : p->instances[p->sinks[i].instance].count;
    if ((cfg->artifacts & LX_ART_ID) && plan->n_ids > 65535) {
        lx_diag_t *dg = lx_diags_add(d, LX_DC_EX_507,
                                     "the patch can draw %u instances; the 16-bit id artifact "
                                     "holds 65535",
                                     plan->n_ids);
        lx_diag_at_json(d, dg, "/artifacts");
        lx_diag_help(d, dg, "leave 'id' out of the artifacts, or draw fewer instances");
    }
    uint64_t points = (uint64_t)plan->n_ids * (uint64_t)(plan->last - plan->first + 1);
    if ((cfg->artifacts & LX_ART_TRACKS) && points > LX_TRACKS_MAX_POINTS) {
        lx_diag_t *dg = lx_diags_add(d, LX_DC_EX_511,
                                     "tracks of %u instances over %lld frames are %llu points; "
                                     "the tracks artifact holds %u",
                                     plan->n_ids, (long long)(plan->last - plan->first + 1),
                                     (unsigned long long)points, LX_TRACKS_MAX_POINTS);
        lx_diag_at_json(d, dg, "/artifacts");
        lx_diag_help(d, dg, "export fewer frames with 'tracks', or leave it out");
    } else if ((cfg->artifacts & LX_ART_TRACKS) &&
               lx_tracks_eval_frames(p, plan) > LX_TRACKS_MAX_EVAL) {
        lx_diag_t *dg = lx_diags_add(d, LX_DC_EX_511,
                                     "tracks evaluate %llu frames (warm-up included) to frame "
                                     "%lld; the tracks artifact evaluates at most %u",
                                     (unsigned long long)lx_tracks_eval_frames(p, plan),
                                     (long long)plan->last, LX_TRACKS_MAX_EVAL);
        lx_diag_at_json(d, dg, "/artifacts");
        lx_diag_help(d, dg, "export tracks of earlier or fewer frames, or leave them out");
    }
    int64_t count_all = plan->last - plan->first + 1;
    if ((cfg->artifacts & LX_ART_AUDIO) && p->audio && count_all > LX_AUDIO_FEATURES_MAX_FRAMES) {
        lx_diag_t *dg = lx_diags_add(d, LX_DC_EX_504,
                                     "audio features of %lld frames exceed the %d one file holds",
                                     (long long)count_all, LX_AUDIO_FEATURES_MAX_FRAMES);
        lx_diag_at_json(d, dg, "/artifacts");
    }
    if (lx_video_config_plan(p, plan, d) != LX_OK)
        return LX_E_NOMEM;
    if (d->n_errors > errors)
        return LX_E_DIAG;
    if ((cfg->artifacts & LX_ART_CONTROL) && s_control(p, plan) != LX_OK)
        return LX_E_NOMEM;
    lx_strbuf_t sb;
    lx_strbuf_init(&sb, NULL);
    lx_export_plan_config_json(plan, &sb);
    lx_result_t rc = sb.failed ? LX_E_NOMEM : lx_sha256(sb.buf, sb.len, &plan->config_hash);
    lx_strbuf_release(&sb);
    return rc;
}

void lx_export_plan_config_json(const lx_export_plan_t *plan, lx_strbuf_t *out)
{
    const lx_export_config_t *c = &plan->cfg;
    static const char *const comp[] = {"none", "rle", "zips", "zip", "piz"};
    char range[96] = "\"camera\"";
    if (c->has_depth_range)
        snprintf(range, sizeof range, "[%.17g,%.17g]", c->depth_near, c->depth_far);
    lx_strbuf_addf(out, "{\"frames\":[%lld,%lld],\"resolution\":[%u,%u],\"artifacts\":[",
                   (long long)plan->first, (long long)plan->last, plan->width, plan->height);
    bool first = true;
    for (int i = 0; i < LX_ART_COUNT; i++)
        if (c->artifacts & (1u << i)) {
            lx_strbuf_addf(out, "%s\"%s\"", first ? "" : ",", lx_artifact_names[i]);
            first = false;
        }
    /* The control tier's keys only with the control artifact, so that the
     * hash of every other export stays what it was. */
    bool control = (c->artifacts & LX_ART_CONTROL) != 0;
    lx_strbuf_addf(out,
                   "],\"formats\":{\"color\":\"%s\",\"float\":\"%s\",\"mask\":\"%s\"%s},"
                   "\"depthRange\":%s,\"motionScale\":%.17g,\"alphaThreshold\":%.17g,"
                   "\"framesPerCycle\":%u,\"exrCompression\":\"%s\",\"pngLevel\":%d",
                   c->color_exr ? "exr" : "png", c->float_npy ? "npy" : "exr",
                   c->mask_exr ? "exr" : "png",
                   !control ? "" : c->control_depth16 ? ",\"controlDepth\":\"png16\""
                                                      : ",\"controlDepth\":\"png8\"",
                   range, c->motion_scale, c->alpha_threshold, plan->sampling.frames_per_cycle,
                   comp[c->exr_compression], c->png_level);
    if (control) {
        /* Measured values in full (%.17g reads back to the same double), so
         * a plan rebuilt from this text measures nothing and hashes the same. */
        if (c->control_depth == LX_CDEPTH_CAMERA)
            lx_strbuf_adds(out, ",\"controlDepthRange\":\"camera\"");
        else if (c->control_depth == LX_CDEPTH_SHOT && c->control_depth_measured)
            lx_strbuf_addf(out,
                           ",\"controlDepthRange\":{\"source\":\"shot\",\"near\":%.17g,"
                           "\"far\":%.17g}",
                           c->control_depth_near, c->control_depth_far);
        else if (c->control_depth == LX_CDEPTH_RANGE)
            lx_strbuf_addf(out, ",\"controlDepthRange\":[%.17g,%.17g]", c->control_depth_near,
                           c->control_depth_far);
        else
            lx_strbuf_addf(out, ",\"controlDepthRange\":\"%s\"",
                           c->control_depth == LX_CDEPTH_SHOT ? "shot" : "auto");
        if (c->flow_scale > 0 && c->flow_scale_measured)
            lx_strbuf_addf(out, ",\"flowScale\":{\"source\":\"shot\",\"px\":%.17g}",
                           c->flow_scale);
        else if (c->flow_scale > 0)
            lx_strbuf_addf(out, ",\"flowScale\":%.17g", c->flow_scale);
        else
            lx_strbuf_adds(out, ",\"flowScale\":\"shot\"");
    }
    /* Only when it is not the patch's (whose fps the program hash covers),
     * so the hash of an export at the patch's rate stays what it was. */
    if (plan->cfg.fps > 0)
        lx_strbuf_addf(out, ",\"fps\":%.17g", plan->cfg.fps);
    /* Likewise the seed: the program hash covers the patch's. */
    if (plan->cfg.has_seed)
        lx_strbuf_addf(out, ",\"seed\":%u", plan->cfg.seed);
    /* Only with the edges artifact, like the control tier's keys. */
    if (c->artifacts & LX_ART_EDGES)
        lx_strbuf_addf(out, ",\"edgeThickness\":%u", c->edge_thickness);
    if (c->artifacts & LX_ART_SVG)
        lx_strbuf_addf(out, ",\"svgTolerance\":%.17g", c->svg_tolerance);
    /* Only with keys, so the hash of every other export stays what it was. */
    lx_video_config_json(c, out);
    /* Only where it decides whether the plan exists (see the header): the
     * coordinator, the workers and `lattice rerender` plan this JSON again. */
    int64_t first_def, last_def;
    if (c->allow_past_end && plan->sampling.model.kind == LX_TIME_FINITE &&
        lx_sampling_default_range(&plan->sampling, &first_def, &last_def) &&
        plan->last > last_def)
        lx_strbuf_adds(out, ",\"allowPastEnd\":true");
    lx_strbuf_adds(out, "}");
}
