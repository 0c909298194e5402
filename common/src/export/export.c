/* lx_export_run: the frame loop; lx_manifest (manifest.c) assembles the
 * camera files and metadata.json. */
#include "lattice/export.h"
#include "lattice/files.h"
#include "lattice/manifest.h"

/* ---- the run -------------------------------------------------------- */

/* Creates out_dir/<key> for every artifact of the frame. */
static lx_result_t s_artifact_dirs(const char *out_dir, const lx_frame_result_t *res,
                                   lx_error_t *err)
{
    for (uint32_t j = 0; j < res->n_files; j++) {
        char dir[LX_PATH_MAX];
        if (!lx_path_join(dir, out_dir, res->files[j].key))
            return lx_fail(err, LX_E_INVALID, "output path too long");
        lx_result_t rc = lx_mkdirs(dir, err);
        if (rc != LX_OK)
            return rc;
    }
    return LX_OK;
}

/* Writes the frame's files and describes them in files (room for
 * res->n_files) for the manifest. */
static lx_result_t s_write_frame(const char *out_dir, const lx_frame_result_t *res,
                                 lx_manifest_file_t *files, lx_error_t *err)
{
    for (uint32_t j = 0; j < res->n_files; j++) {
        const lx_artifact_file_t *a = &res->files[j];
        char dir[LX_PATH_MAX];
        lx_result_t rc = lx_path_join(dir, out_dir, a->key)
                             ? lx_write_atomic(dir, a->name, a->bytes.buf, a->bytes.len, err)
                             : lx_fail(err, LX_E_INVALID, "output path too long");
        if (rc != LX_OK)
            return rc;
        files[j] = (lx_manifest_file_t){a->key, a->name, a->hash, a->content};
    }
    return LX_OK;
}

lx_result_t lx_export_run(const lx_program_t *p, const lx_export_plan_t *plan, const char *out_dir,
                          const lx_export_options_t *opts, lx_error_t *err)
{
    lx_export_options_t def = LX_EXPORT_OPTIONS_INIT;
    if (!opts)
        opts = &def;
    lx_result_t rc = lx_export_check_target(out_dir, p->patch_id, opts->force, err);
    if (rc != LX_OK)
        return rc;
    if ((rc = lx_mkdirs(out_dir, err)) != LX_OK)
        return rc;
    double start = opts->clock ? opts->clock(opts->clock_user) : 0;
    const lx_alloc_t *al = lx_alloc_default();
    lx_manifest_t *m = lx_manifest_new(p, plan, al, err);
    if (!m)
        return err ? err->code : LX_E_NOMEM;
    lx_frame_renderer_t *fr =
        lx_frame_renderer_new(p, plan, opts->threads, opts->clock, opts->clock_user, NULL, err);
    if (!fr) {
        lx_manifest_destroy(&m);
        return err ? err->code : LX_E_NOMEM;
    }
    /* Every frame has the same artifact files, so one array serves all. */
    lx_manifest_file_t *files = NULL;
    size_t n = (size_t)(plan->last - plan->first + 1);
    for (size_t k = 0; k < n && rc == LX_OK; k++) {
        size_t i = opts->reverse ? n - 1 - k : k;
        const lx_frame_result_t *res = NULL;
        rc = lx_frame_renderer_render(fr, plan->first + (int64_t)i, &res, err);
        if (rc != LX_OK)
            break;
        if (!files) {
            files = lx_calloc(al, res->n_files + 1, sizeof *files);
            rc = files ? s_artifact_dirs(out_dir, res, err)
                       : lx_fail(err, LX_E_NOMEM, "out of memory");
            if (rc != LX_OK)
                break;
        }
        double w0 = opts->clock ? opts->clock(opts->clock_user) : 0;
        rc = s_write_frame(out_dir, res, files, err);
        if (rc != LX_OK)
            break;
        ((lx_frame_result_t *)res)->times.write =
            opts->clock ? opts->clock(opts->clock_user) - w0 : 0;
        rc = lx_manifest_add_frame(m, res->frame, res->time.t_ms, &res->camera, files, res->n_files,
                                   err);
        if (rc != LX_OK)
            break;
        if (opts->progress)
            opts->progress(opts->progress_user, (int64_t)k + 1, (int64_t)n, res);
    }
    if (rc == LX_OK) {
        lx_manifest_run_t run = LX_MANIFEST_RUN_INIT;
        run.workers = 1;
        run.threads = opts->threads ? opts->threads : 1;
        run.elapsed_ms = opts->clock ? opts->clock(opts->clock_user) - start : 0;
        run.exported_at = opts->exported_at;
        rc = lx_manifest_write(m, out_dir, &run, err);
    }
    lx_free(al, files);
    lx_frame_renderer_destroy(&fr);
    lx_manifest_destroy(&m);
    return rc;
}
