/* lx_export_frame_files: the artifact files of every frame of a plan, the
 * one list the frame renderer renders and a manifest checks. */
#include <stdio.h>
#include <string.h>

#include "lattice/export.h"
#include "lattice/names.h"
#include "lattice/raster.h"

static const char *const s_ext[] = {"png", "exr", "npy", "svg"};

static void s_add(lx_export_file_t *files, uint32_t *n, const char *key, lx_export_kind_t kind,
                  lx_export_format_t format, uint32_t layer)
{
    lx_export_file_t *x = &files[(*n)++];
    snprintf(x->key, sizeof x->key, "%s", key);
    x->ext = s_ext[format];
    x->format = format;
    x->kind = kind;
    x->layer = layer;
}

lx_result_t lx_export_frame_files(const lx_program_t *p, const lx_export_plan_t *plan,
                                  const lx_alloc_t *alloc, lx_export_file_t **files_out,
                                  uint32_t *n_out, lx_error_t *err)
{
    *files_out = NULL;
    *n_out = 0;
    alloc = alloc ? alloc : lx_alloc_default();
    const lx_export_config_t *c = &plan->cfg;
    uint32_t arts = c->artifacts;
    const char **layers = NULL;
    uint32_t n_layers = 0;
    if (arts & LX_ART_MASK) {
        layers = lx_calloc(alloc, (size_t)p->n_sinks + 1, sizeof *layers);
        if (!layers)
            return lx_fail(err, LX_E_NOMEM, "out of memory for %u layers", p->n_sinks);
        n_layers = lx_raster_layers(p, layers, NULL);
        /* A name that is not an id would be a directory nobody may create
         * (or "..", or longer than a key): refused, never truncated. */
        for (uint32_t k = 0; k < n_layers; k++)
            if (!lx_name_id_valid(layers[k])) {
                lx_result_t rc =
                    lx_fail(err, LX_E_INVALID, "layer name '%.64s' is not an id", layers[k]);
                lx_free(alloc, layers);
                return rc;
            }
    }
    /* rgba, depth, motion, normal, id, the masks, the four control images,
     * particles, semantic, edges, svg. */
    lx_export_file_t *files = lx_calloc(alloc, (size_t)13 + n_layers, sizeof *files);
    if (!files) {
        lx_free(alloc, layers);
        return lx_fail(err, LX_E_NOMEM, "out of memory for %u layers", n_layers);
    }
    lx_export_format_t flt = c->float_npy ? LX_EXPORT_NPY : LX_EXPORT_EXR;
    uint32_t n = 0;
    if (arts & LX_ART_RGBA)
        s_add(files, &n, "rgba", LX_EXPORT_RGBA, c->color_exr ? LX_EXPORT_EXR : LX_EXPORT_PNG, 0);
    if (arts & LX_ART_DEPTH)
        s_add(files, &n, "depth", LX_EXPORT_DEPTH, flt, 0);
    if (arts & LX_ART_MOTION)
        s_add(files, &n, "motion", LX_EXPORT_MOTION, flt, 0);
    if (arts & LX_ART_NORMAL)
        s_add(files, &n, "normal", LX_EXPORT_NORMAL, flt, 0);
    if (arts & LX_ART_ID)
        s_add(files, &n, "id", LX_EXPORT_ID, LX_EXPORT_PNG, 0);
    for (uint32_t k = 0; k < n_layers; k++) {
        char key[LX_EXPORT_KEY_MAX + 1];
        snprintf(key, sizeof key, "mask/%s", layers[k]);
        s_add(files, &n, key, LX_EXPORT_MASK, c->mask_exr ? LX_EXPORT_EXR : LX_EXPORT_PNG, k);
    }
    if (arts & LX_ART_CONTROL) {
        s_add(files, &n, "control/depth", LX_EXPORT_CONTROL_DEPTH, LX_EXPORT_PNG, 0);
        s_add(files, &n, "control/normal", LX_EXPORT_CONTROL_NORMAL, LX_EXPORT_PNG, 0);
        s_add(files, &n, "control/flow", LX_EXPORT_CONTROL_FLOW, LX_EXPORT_PNG, 0);
        s_add(files, &n, "control/seg", LX_EXPORT_CONTROL_SEG, LX_EXPORT_PNG, 0);
    }
    if (arts & LX_ART_PARTICLES)
        s_add(files, &n, "particles", LX_EXPORT_PARTICLES, LX_EXPORT_NPY, 0);
    if (arts & LX_ART_SEMANTIC)
        s_add(files, &n, "semantic", LX_EXPORT_SEMANTIC, LX_EXPORT_PNG, 0);
    if (arts & LX_ART_EDGES)
        s_add(files, &n, "edges", LX_EXPORT_EDGES, LX_EXPORT_PNG, 0);
    if (arts & LX_ART_SVG)
        s_add(files, &n, "svg", LX_EXPORT_SVG, LX_EXPORT_SVG_TEXT, 0);
    lx_free(alloc, layers);
    *files_out = files;
    *n_out = n;
    return LX_OK;
}

uint32_t lx_export_semantic_classes(const lx_program_t *p, const char **names,
                                    uint16_t *class_of_sink)
{
    uint32_t n = 0;
    for (uint32_t s = 0; s < p->n_sinks; s++) {
        const char *name = p->strings[p->sinks[s].semantic];
        uint32_t k = 0;
        while (k < n && strcmp(names[k], name) != 0)
            k++;
        if (k == n)
            names[n++] = name;
        class_of_sink[s] = (uint16_t)(k + 1);
    }
    return n;
}

int lx_export_frame_digits(const lx_export_plan_t *plan)
{
    int digits = 1;
    for (int64_t v = plan->last; v >= 10; v /= 10)
        digits++;
    return digits > 6 ? digits : 6;
}

bool lx_export_frame_name(char *out, size_t size, const lx_export_plan_t *plan, int64_t f,
                          const char *ext)
{
    int n = snprintf(out, size, "frame_%0*lld.%s", lx_export_frame_digits(plan), (long long)f,
                     ext);
    return n >= 0 && (size_t)n < size;
}
