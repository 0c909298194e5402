#include "lattice/export_config.h"

#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "lattice/patch.h"

const char *const lx_artifact_names[8] = {"rgba", "depth", "motion", "normal",
                                          "id",   "mask",  "camera", "control"};

void lx_export_config_init(lx_export_config_t *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->size = sizeof *cfg;
    cfg->artifacts = LX_ART_DEFAULT;
    cfg->motion_scale = 1.0;
    cfg->exr_compression = LX_EXR_ZIP;
    cfg->png_level = 3;
}

bool lx_export_parse_artifacts(const char *list, uint32_t *mask, const char **bad)
{
    static char word[64];
    uint32_t m = 0;
    const char *s = list;
    while (*s) {
        size_t n = strcspn(s, ",");
        if (n == 0 || n >= sizeof word) {
            snprintf(word, sizeof word, "%.*s", (int)(n < 60 ? n : 60), s);
            *bad = word;
            return false;
        }
        memcpy(word, s, n);
        word[n] = '\0';
        int k = -1;
        for (int i = 0; i < 8; i++)
            if (strcmp(word, lx_artifact_names[i]) == 0)
                k = i;
        if (strcmp(word, "all") == 0)
            m |= LX_ART_DEFAULT | LX_ART_CONTROL;
        else if (k < 0) {
            *bad = word;
            return false;
        } else {
            m |= 1u << k;
        }
        s += n;
        if (*s == ',')
            s++;
    }
    if (!m) {
        *bad = "";
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

lx_result_t lx_export_config_load_json(lx_export_config_t *cfg, const char *text, size_t len,
                                       lx_diags_t *d)
{
    static const char *const keys[] = {"frames",       "resolution",     "artifacts",
                                       "formats",      "depthRange",     "motionScale",
                                       "framesPerCycle", "exrCompression", "pngLevel",
                                       "allowPastEnd"};
    size_t errors = d->n_errors;
    cJSON *root = cJSON_ParseWithLength(text, len);
    if (!cJSON_IsObject(root)) {
        lx_diag_t *dg = lx_diags_add(d, LX_DC_EX_504, "%s",
                                     "the export config must be a JSON object");
        lx_diag_at_json(d, dg, "");
        cJSON_Delete(root);
        return LX_E_PARSE;
    }
    char ptr[160];
    for (const cJSON *it = root->child; it; it = it->next) {
        const char *k = it->string ? it->string : "";
        snprintf(ptr, sizeof ptr, "/%.100s", k);
        if (strcmp(k, "frames") == 0) {
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
            for (const cJSON *a = cJSON_IsArray(it) ? it->child : NULL; a; a = a->next) {
                uint32_t one;
                const char *bad;
                if (!cJSON_IsString(a) || !lx_export_parse_artifacts(a->valuestring, &one, &bad))
                    m = UINT32_MAX;
                else if (m != UINT32_MAX)
                    m |= one;
            }
            if (m == 0 || m == UINT32_MAX)
                s_bad(d, ptr, "%s must be a list of rgba, depth, motion, normal, id, mask, "
                              "camera, control",
                      "artifacts");
            else
                cfg->artifacts = m;
        } else if (strcmp(k, "formats") == 0 && cJSON_IsObject(it)) {
            for (const cJSON *f = it->child; f; f = f->next) {
                char fptr[200];
                snprintf(fptr, sizeof fptr, "%s/%.60s", ptr, f->string ? f->string : "");
                bool ok = false;
                if (strcmp(f->string, "color") == 0)
                    ok = s_choice(f, "png", "exr", &cfg->color_exr);
                else if (strcmp(f->string, "float") == 0)
                    ok = s_choice(f, "exr", "npy", &cfg->float_npy);
                else if (strcmp(f->string, "mask") == 0)
                    ok = s_choice(f, "png", "exr", &cfg->mask_exr);
                else {
                    static const char *const fk[] = {"color", "float", "mask"};
                    s_unknown(d, fptr, f->string, fk, 3);
                    continue;
                }
                if (!ok)
                    s_bad(d, fptr, "%s is not a supported format here (color: png|exr, float: "
                                   "exr|npy, mask: png|exr)",
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
        } else if (strcmp(k, "framesPerCycle") == 0) {
            /* 0 = the default; the resolved config of a non-cyclic patch says 0. */
            if (cJSON_IsNumber(it) && it->valuedouble >= 0 && it->valuedouble <= 1e7 &&
                it->valuedouble == floor(it->valuedouble))
                cfg->frames_per_cycle = (uint32_t)it->valuedouble;
            else
                s_bad(d, ptr, "%s must be an integer from 0 (default) to 10000000", "framesPerCycle");
        } else if (strcmp(k, "exrCompression") == 0) {
            int c = cJSON_IsString(it) ? lx_exr_compression_parse(it->valuestring) : -1;
            if (c >= 0)
                cfg->exr_compression = (lx_exr_compression_t)c;
            else
                s_bad(d, ptr, "%s must be none, rle, zips, zip or piz", "exrCompression");
        } else if (strcmp(k, "pngLevel") == 0) {
            if (cJSON_IsNumber(it) && it->valuedouble >= 0 && it->valuedouble <= 9 &&
                it->valuedouble == floor(it->valuedouble))
                cfg->png_level = (int)it->valuedouble;
            else
                s_bad(d, ptr, "%s must be an integer from 0 to 9", "pngLevel");
        } else if (strcmp(k, "allowPastEnd") == 0) {
            if (cJSON_IsBool(it))
                cfg->allow_past_end = cJSON_IsTrue(it);
            else
                s_bad(d, ptr, "%s must be true or false", "allowPastEnd");
        } else if (strcmp(k, "formats") == 0) {
            s_bad(d, ptr, "%s must be an object", "formats");
        } else {
            s_unknown(d, ptr, k, keys, sizeof keys / sizeof keys[0]);
        }
    }
    cJSON_Delete(root);
    return d->n_errors > errors ? LX_E_DIAG : LX_OK;
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

lx_result_t lx_export_plan(const lx_program_t *p, const lx_export_config_t *cfg,
                           lx_export_plan_t *plan, lx_diags_t *d)
{
    size_t errors = d->n_errors;
    memset(plan, 0, sizeof *plan);
    plan->cfg = *cfg;
    plan->width = cfg->width ? cfg->width : p->output.width;
    plan->height = cfg->height ? cfg->height : p->output.height;
    lx_error_t err = {0};
    if (lx_sampling_init(&plan->sampling, &p->time_model, p->output.fps, cfg->frames_per_cycle,
                         &err) != LX_OK) {
        lx_diag_t *dg = lx_diags_add(d, LX_DC_EX_504, "%s", err.message);
        lx_diag_at_json(d, dg, "/framesPerCycle");
    } else if (p->time_model.kind == LX_TIME_CYCLIC && !plan->sampling.exact) {
        lx_diag_t *dg = lx_diags_add(
            d, LX_DC_EX_503,
            "a cycle of %g ms at %g fps is %g frames; exporting %u frames per cycle (the "
            "phase override keeps the loop closed, but the motion runs %+.3f%% fast)",
            p->time_model.period_ms, p->output.fps, p->time_model.period_ms * p->output.fps / 1000,
            plan->sampling.frames_per_cycle,
            100.0 * (p->time_model.period_ms * p->output.fps / 1000 /
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
            p->time_model.duration_ms, p->output.fps);
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
    if (d->n_errors > errors)
        return LX_E_DIAG;
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
    for (int i = 0; i < 8; i++)
        if (c->artifacts & (1u << i)) {
            lx_strbuf_addf(out, "%s\"%s\"", first ? "" : ",", lx_artifact_names[i]);
            first = false;
        }
    lx_strbuf_addf(out,
                   "],\"formats\":{\"color\":\"%s\",\"float\":\"%s\",\"mask\":\"%s\"},"
                   "\"depthRange\":%s,\"motionScale\":%.17g,"
                   "\"framesPerCycle\":%u,\"exrCompression\":\"%s\",\"pngLevel\":%d",
                   c->color_exr ? "exr" : "png", c->float_npy ? "npy" : "exr",
                   c->mask_exr ? "exr" : "png", range, c->motion_scale,
                   plan->sampling.frames_per_cycle, comp[c->exr_compression], c->png_level);
    /* Only where it decides whether the plan exists (see the header): the
     * coordinator, the workers and `lattice rerender` plan this JSON again. */
    int64_t first_def, last_def;
    if (c->allow_past_end && plan->sampling.model.kind == LX_TIME_FINITE &&
        lx_sampling_default_range(&plan->sampling, &first_def, &last_def) &&
        plan->last > last_def)
        lx_strbuf_adds(out, ",\"allowPastEnd\":true");
    lx_strbuf_adds(out, "}");
}
