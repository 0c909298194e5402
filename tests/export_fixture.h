/* Test helpers: plan an export of a patch, and render its frames as
 * workers and a coordinator do (frame files written, results recorded in
 * a manifest), in any frame order. */
#ifndef LATTICE_EXPORT_FIXTURE_H
#define LATTICE_EXPORT_FIXTURE_H

#include "lattice/compile.h"
#include "lattice/export.h"
#include "lattice/files.h"
#include "lattice/manifest.h"
#include "test.h"

/* Compiles patch and plans cfg_json over it; the diagnostics stay in d. */
static inline bool ex_plan(const char *patch, const char *cfg_json, lx_program_t **p,
                           lx_export_plan_t *plan, lx_diags_t *d)
{
    lx_error_t err = {0};
    lx_export_config_t cfg;
    lx_export_config_init(&cfg);
    *p = NULL;
    return lx_compile(patch, strlen(patch), NULL, d, p, &err) == LX_OK &&
           lx_export_config_load_json(&cfg, cfg_json, strlen(cfg_json), d) == LX_OK &&
           lx_export_plan(*p, &cfg, plan, d) == LX_OK;
}

/* Renders plan's frames with the given threads, in a stride's order
 * (stride coprime with the frame count visits every frame once), writes
 * their files under dir and records them in a new manifest, which is
 * returned unwritten (NULL on failure, reported). */
static inline lx_manifest_t *ex_render(const lx_program_t *p, const lx_export_plan_t *plan,
                                       const char *dir, uint32_t threads, size_t stride)
{
    lx_error_t err = {0};
    lx_manifest_t *m = lx_manifest_new(p, plan, NULL, &err);
    lx_frame_renderer_t *fr =
        m ? lx_frame_renderer_new(p, plan, threads, NULL, NULL, NULL, &err) : NULL;
    size_t n = (size_t)(plan->last - plan->first + 1);
    bool ok = fr != NULL;
    for (size_t k = 0; ok && k < n; k++) {
        int64_t f = plan->first + (int64_t)((k * stride) % n);
        const lx_frame_result_t *res = NULL;
        lx_manifest_file_t files[32];
        ok = lx_frame_renderer_render(fr, f, &res, &err) == LX_OK && res->n_files <= 32;
        for (uint32_t j = 0; ok && j < res->n_files; j++) {
            const lx_artifact_file_t *a = &res->files[j];
            char sub[LX_PATH_MAX];
            ok = lx_path_join(sub, dir, a->key) && lx_mkdirs(sub, &err) == LX_OK &&
                 lx_write_atomic(sub, a->name, a->bytes.buf, a->bytes.len, &err) == LX_OK;
            files[j] = (lx_manifest_file_t){a->key, a->name, a->hash, a->content};
        }
        ok = ok && lx_manifest_add_frame(m, f, res->time.t_ms, &res->camera, files, res->n_files,
                                         &err) == LX_OK;
    }
    CHECK_MSG(ok, "render into %s: %s", dir, err.message);
    lx_frame_renderer_destroy(&fr);
    if (!ok)
        lx_manifest_destroy(&m);
    return m;
}

#endif
