/* lx_export_prepare: request texts -> program + plan, diagnostics as text.
 * Planning (lx_export_plan) also measures the shot for the control tier
 * (lattice/shot.h), so `lattice export`, `lattice submit` and the
 * coordinator's SUBMIT all resolve the same control depth range and flow
 * scale here, once, and hand them on in the resolved config. */
#include "lattice/compile.h"
#include "lattice/export_config.h"

static void s_report(lx_diags_t *d, const char *name, lx_strbuf_t *report)
{
    if (d->count)
        lx_diags_format_text(d, name ? name : "<input>", report);
}

lx_result_t lx_export_request_check(const lx_export_request_t *req, lx_error_t *err)
{
    lx_export_config_t probe;
    lx_export_config_init(&probe);
    char bad[LX_ARTIFACT_NAME_MAX], why[160];
    if (req->artifacts && !lx_export_parse_artifacts(req->artifacts, &probe.artifacts, bad)) {
        const char *s = bad[0] ? lx_export_suggest_artifact(bad) : NULL;
        return s ? lx_fail(err, LX_E_INVALID, "unknown artifact '%s' (did you mean '%s'?)", bad, s)
                 : lx_fail(err, LX_E_INVALID, "unknown artifact '%s' (%s)", bad, LX_ARTIFACT_LIST);
    }
    if (req->preset && !lx_export_config_preset(&probe, req->preset))
        return lx_fail(err, LX_E_INVALID, "unknown preset '%s' (wan)", req->preset);
    if (req->fps != 0 && !(req->fps > 0 && req->fps <= 1000))
        return lx_fail(err, LX_E_INVALID, "fps %g is out of range (above 0, at most 1000)",
                       req->fps);
    if (req->video && !lx_export_config_video(&probe, req->video, why, sizeof why))
        return lx_fail(err, LX_E_INVALID, "--video: %s", why);
    return LX_OK;
}

void lx_export_request_apply(const lx_export_request_t *req, lx_export_config_t *cfg)
{
    char bad[LX_ARTIFACT_NAME_MAX], why[160];
    if (req->artifacts)
        lx_export_parse_artifacts(req->artifacts, &cfg->artifacts, bad);
    if (req->preset)
        lx_export_config_preset(cfg, req->preset);
    if (req->fps > 0)
        cfg->fps = req->fps;
    if (req->has_seed) {
        cfg->has_seed = true;
        cfg->seed = req->seed;
    }
    if (req->video)
        lx_export_config_video(cfg, req->video, why, sizeof why);
    if (req->allow_past_end)
        cfg->allow_past_end = true;
    if (req->has_frames) {
        cfg->has_frames = true;
        cfg->first = req->first;
        cfg->last = req->last;
    }
}

lx_result_t lx_export_prepare(const lx_export_request_t *req, const lx_alloc_t *alloc,
                              lx_program_t **out, lx_export_plan_t *plan, lx_strbuf_t *report,
                              lx_error_t *err)
{
    *out = NULL;
    lx_result_t rc = lx_export_request_check(req, err);
    if (rc != LX_OK)
        return rc;
    lx_export_config_t cfg;
    lx_export_config_init(&cfg);
    lx_diags_t diags;
    lx_diags_init(&diags, alloc);
    lx_program_t *p = NULL;
    lx_compile_config_t cc = LX_COMPILE_CONFIG_INIT;
    cc.base_dir = req->base_dir;
    cc.no_files = req->no_files;
    rc = lx_compile_ex(req->patch, req->patch_len, &cc, alloc, &diags, &p, err);
    s_report(&diags, req->patch_name, report);
    lx_diags_release(&diags);
    if (rc != LX_OK)
        return rc;
    /* Flags win over the config file: load it first, then apply them. */
    lx_diags_init(&diags, alloc);
    if (req->config)
        lx_export_config_load_json(&cfg, req->config, req->config_len, &diags);
    lx_export_request_apply(req, &cfg);
    if (diags.n_errors == 0 && lx_export_plan(p, &cfg, plan, &diags) != LX_OK && !diags.n_errors)
        rc = lx_fail(err, LX_E_NOMEM, "out of memory");
    s_report(&diags, req->config ? req->config_name : req->patch_name, report);
    if (diags.n_errors)
        rc = LX_E_DIAG;
    lx_diags_release(&diags);
    if (report->failed && rc == LX_OK)
        rc = lx_fail(err, LX_E_NOMEM, "out of memory");
    if (rc != LX_OK)
        lx_program_destroy(&p);
    *out = p;
    return rc;
}
