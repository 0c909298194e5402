/* The video target's settings (video_internal.h): the "video" key, the
 * --video list, the plan's checks and the resolved config's key. */
#include <stdio.h>
#include <string.h>

#include "lattice/manifest.h"
#include "video_internal.h"

_Static_assert(LX_VIDEO_KEY_SIZE == LX_EXPORT_KEY_MAX + 1, "a video key is a frame file's key");

/* Adds key to keys (n of them): NULL, or why not. */
static const char *s_add(char (*keys)[LX_VIDEO_KEY_SIZE], uint32_t *n, const char *key, size_t len)
{
    char k[LX_VIDEO_KEY_SIZE];
    if (len == 0 || len >= sizeof k)
        return "is not an artifact file key";
    memcpy(k, key, len);
    k[len] = '\0';
    if (!lx_manifest_key_valid(k))
        return "is not an artifact file key";
    for (uint32_t i = 0; i < *n; i++)
        if (strcmp(keys[i], k) == 0)
            return "is listed twice";
    if (*n >= LX_VIDEO_MAX_KEYS)
        return "is one key too many (at most 16 videos)";
    memcpy(keys[(*n)++], k, len + 1);
    return NULL;
}

bool lx_export_config_video(lx_export_config_t *cfg, const char *list, char *why, size_t why_size)
{
    char keys[LX_VIDEO_MAX_KEYS][LX_VIDEO_KEY_SIZE] = {{0}};
    uint32_t n = 0;
    for (const char *s = list; *s;) {
        size_t len = strcspn(s, ",");
        const char *bad = s_add(keys, &n, s, len);
        if (bad) {
            snprintf(why, why_size, "video key '%.*s' %s", (int)(len < 80 ? len : 80), s, bad);
            return false;
        }
        s += len + (s[len] == ',');
    }
    memcpy(cfg->video, keys, sizeof keys);
    cfg->n_video = n;
    return true;
}

void lx_video_config_load(lx_export_config_t *cfg, const cJSON *it, const char *ptr, lx_diags_t *d)
{
    char keys[LX_VIDEO_MAX_KEYS][LX_VIDEO_KEY_SIZE] = {{0}};
    uint32_t n = 0;
    const char *bad = cJSON_IsArray(it) ? NULL : "";
    const cJSON *e = cJSON_IsArray(it) ? it->child : NULL;
    for (; e && !bad; e = bad ? e : e->next)
        bad = !cJSON_IsString(e) ? "" : s_add(keys, &n, e->valuestring, strlen(e->valuestring));
    if (!bad) {
        memcpy(cfg->video, keys, sizeof keys);
        cfg->n_video = n;
        return;
    }
    lx_diag_t *dg =
        bad[0] ? lx_diags_add(d, LX_DC_EX_504, "video key '%.80s' %s", e->valuestring, bad)
               : lx_diags_add(d, LX_DC_EX_504,
                              "video must be a list of artifact file keys, e.g. [\"rgba\", "
                              "\"control/depth\", \"mask/cards\"]");
    lx_diag_at_json(d, dg, ptr);
}

bool lx_video_file_ok(const lx_export_plan_t *plan, const lx_export_file_t *f)
{
    if (f->format != LX_EXPORT_PNG)
        return false;
    switch (f->kind) {
    case LX_EXPORT_RGBA:
    case LX_EXPORT_MASK:
    case LX_EXPORT_CONTROL_NORMAL:
    case LX_EXPORT_CONTROL_FLOW:
    case LX_EXPORT_CONTROL_SEG:
    case LX_EXPORT_EDGES:
        return true;
    case LX_EXPORT_CONTROL_DEPTH:
        return !plan->cfg.control_depth16;
    default:
        /* id and semantic are labels (and may be 16-bit): a lossy codec
         * would turn them into other labels. */
        return false;
    }
}

void lx_video_file_name(const char *key, char out[LX_VIDEO_KEY_SIZE + 4])
{
    snprintf(out, LX_VIDEO_KEY_SIZE + 4, "%s.mp4", key);
    for (char *c = out; *c; c++)
        if (*c == '/')
            *c = '_';
}

lx_result_t lx_video_config_plan(const lx_program_t *p, lx_export_plan_t *plan, lx_diags_t *d)
{
    lx_export_config_t *c = &plan->cfg;
    if (c->n_video == 0)
        return LX_OK;
    /* The cost is the frames encoded, all videos together. */
    int64_t frames = plan->last - plan->first + 1, total = frames * (int64_t)c->n_video;
    if (total > LX_VIDEO_MAX_FRAMES) {
        lx_diag_t *dg =
            lx_diags_add(d, LX_DC_EX_512,
                         "%u video%s of %lld frames %s %lld video frames; the video "
                         "target encodes at most %d per export, when the manifest is "
                         "written",
                         c->n_video, c->n_video == 1 ? "" : "s", (long long)frames,
                         c->n_video == 1 ? "is" : "are", (long long)total, LX_VIDEO_MAX_FRAMES);
        lx_diag_at_json(d, dg, "/video");
        lx_diag_help(d, dg,
                     "list fewer keys in 'video' or export fewer frames (split a longer shot "
                     "into several exports), or leave 'video' out and encode the PNGs yourself");
    }
    if (plan->width % 2 || plan->height % 2 || plan->width > LX_VIDEO_MAX_SIDE ||
        plan->height > LX_VIDEO_MAX_SIDE) {
        lx_diag_t *dg = lx_diags_add(d, LX_DC_EX_504,
                                     "the video target needs an even width and height, at most "
                                     "%u, not %ux%u (H.264 4:2:0)",
                                     LX_VIDEO_MAX_SIDE, plan->width, plan->height);
        lx_diag_at_json(d, dg, "/video");
    }
    lx_export_file_t *files = NULL;
    uint32_t n = 0;
    lx_error_t err = {0};
    if (lx_export_frame_files(p, plan, NULL, &files, &n, &err) != LX_OK)
        return err.code == LX_E_NOMEM ? LX_E_NOMEM : LX_OK; /* the renderer reports it */
    char sorted[LX_VIDEO_MAX_KEYS][LX_VIDEO_KEY_SIZE] = {{0}};
    uint32_t n_sorted = 0;
    for (uint32_t j = 0; j < n; j++)
        for (uint32_t k = 0; k < c->n_video; k++)
            if (strcmp(files[j].key, c->video[k]) == 0 && lx_video_file_ok(plan, &files[j]))
                memcpy(sorted[n_sorted++], c->video[k], LX_VIDEO_KEY_SIZE);
    for (uint32_t k = 0; k < c->n_video; k++) {
        const lx_export_file_t *f = NULL;
        for (uint32_t j = 0; j < n && !f; j++)
            f = strcmp(files[j].key, c->video[k]) == 0 ? &files[j] : NULL;
        if (f && lx_video_file_ok(plan, f))
            continue;
        lx_diag_t *dg =
            f ? lx_diags_add(d, LX_DC_EX_504,
                             "video key '%s' holds %s, not the 8-bit colour, mask or control "
                             "PNGs the video target encodes",
                             f->key,
                             f->format == LX_EXPORT_EXR        ? "EXR files"
                             : f->format == LX_EXPORT_NPY      ? "NPY files"
                             : f->format == LX_EXPORT_SVG_TEXT ? "SVG files"
                             : f->kind == LX_EXPORT_CONTROL_DEPTH
                                 ? "16-bit PNGs"
                                 : "label PNGs (a lossy video would change the labels)")
              : lx_diags_add(d, LX_DC_EX_504, "video key '%s' is not a frame file of this export",
                             c->video[k]);
        lx_diag_at_json(d, dg, "/video");
        lx_diag_help(d, dg,
                     "video takes rgba (formats.color png), mask/<layer> (formats.mask png), "
                     "control/depth (controlDepth png8), control/normal, control/flow, "
                     "control/seg and edges, of the artifacts exported");
    }
    lx_free(lx_alloc_default(), files);
    if (n_sorted == c->n_video)
        memcpy(c->video, sorted, sizeof sorted);
    return LX_OK;
}

void lx_video_config_json(const lx_export_config_t *c, lx_strbuf_t *out)
{
    if (c->n_video == 0)
        return;
    lx_strbuf_adds(out, ",\"video\":[");
    for (uint32_t k = 0; k < c->n_video; k++)
        lx_strbuf_addf(out, "%s\"%s\"", k ? "," : "", c->video[k]);
    lx_strbuf_adds(out, "]");
}
