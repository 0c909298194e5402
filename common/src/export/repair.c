/* Repair scans (see repair.h). */
#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "export_internal.h"
#include "lattice/digest.h"
#include "lattice/files.h"
#include "lattice/instance.h"
#include "lattice/kernels.h"
#include "lattice/progress.h"
#include "lattice/repair.h"

static const char *s_str(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : "";
}

lx_result_t lx_repair_plan(const lx_program_t *p, const char *out_dir, lx_export_plan_t *plan,
                           lx_error_t *err)
{
    /* metadata.json, or for an export that never finished its progress
     * journal's newest header: the program and the resolved settings. */
    lx_prior_t pr;
    lx_result_t rc = lx_prior_read(out_dir, &pr, err);
    if (rc != LX_OK)
        return rc;
    bool from_journal = !pr.manifest && pr.journal;
    const char *program = from_journal ? pr.program_hash : pr.metadata_program;
    const char *config_hash = from_journal ? pr.config_hash : pr.metadata_config;
    cJSON *m = NULL;
    char *config = NULL;
    if (from_journal) {
        config = pr.config;
        pr.config = NULL;
    } else if ((m = lx_manifest_read(out_dir, err))) {
        const cJSON *cfg_json = cJSON_GetObjectItemCaseSensitive(m, "config");
        config = cJSON_IsObject(cfg_json) ? cJSON_PrintUnformatted(cfg_json) : NULL;
        program = s_str(m, "programHash");
        config_hash = s_str(m, "configHash");
    } else {
        lx_prior_release(&pr);
        return err ? err->code : LX_E_IO;
    }
    char hex[65];
    lx_hex(p->program_hash.bytes, 32, hex);
    if (strcmp(program, hex) != 0)
        rc = lx_fail(err, LX_E_VERIFY,
                     "the patch compiles to program %.12s but '%s' was exported from %.12s", hex,
                     out_dir, program);
    else if (!config)
        rc = lx_fail(err, LX_E_PARSE, "'%s/metadata.json' has no resolved config", out_dir);
    if (rc == LX_OK) {
        lx_diags_t diags;
        lx_diags_init(&diags, NULL);
        if (lx_export_plan_json(p, config, plan, &diags) != LX_OK)
            rc = lx_fail(err, LX_E_PARSE, "the manifest's config does not plan");
        lx_diags_release(&diags);
        lx_hex(plan->config_hash.bytes, 32, hex);
        if (rc == LX_OK && strcmp(hex, config_hash) != 0)
            rc = lx_fail(err, LX_E_VERIFY, "the manifest's config resolves to %.12s, not %.12s",
                         hex, config_hash);
    }
    free(config);
    cJSON_Delete(m);
    lx_prior_release(&pr);
    return rc;
}

/* Whether out_dir/key/name has SHA-256 hash: 1 yes, 0 differs, -1 missing. */
static int s_file_matches(const char *out_dir, const char *key, const char *name, const char *hash)
{
    char path[LX_PATH_MAX], hex[65];
    if (!lx_path_join(path, out_dir, key) || !lx_path_join(path, path, name) ||
        !lx_file_sha256_hex(path, hex))
        return -1;
    return strcmp(hex, hash) == 0;
}

lx_result_t lx_repair_scan(const lx_program_t *p, const lx_export_plan_t *plan, const char *out_dir,
                           int64_t first, int64_t last, unsigned only, lx_manifest_t *man,
                           lx_repair_scan_t *out, lx_error_t *err)
{
    memset(out, 0, sizeof *out);
    cJSON *m = lx_manifest_read(out_dir, err);
    if (!m)
        return err ? err->code : LX_E_IO;
    const lx_alloc_t *al = lx_alloc_default();
    const cJSON *sums = cJSON_GetObjectItemCaseSensitive(m, "checksums");
    int64_t n = plan->last - plan->first + 1;
    /* The planned files, in their order, are what every frame is recorded
     * with; checksums must list exactly those (and the camera files). */
    uint32_t n_keys = 0;
    const lx_export_file_t *planned = lx_manifest_files(man, &n_keys);
    /* Per artifact: its files, hashes and content hashes, one per frame. */
    const cJSON **cols = lx_calloc(al, (size_t)n_keys * 3 + 1, sizeof *cols);
    const char **keys = lx_calloc(al, n_keys + 1, sizeof *keys);
    lx_manifest_file_t *files = lx_calloc(al, n_keys + 1, sizeof *files);
    out->damaged = lx_calloc(al, (size_t)n, sizeof *out->damaged);
    lx_instance_config_t icfg = lx_export_plan_instance(plan);
    lx_instance_t *inst = lx_instance_new(p, lx_kernels_table(), NULL, &icfg, err);
    lx_result_t rc = cols && keys && files && out->damaged && inst
                         ? LX_OK
                         : lx_fail(err, inst ? LX_E_NOMEM : err->code, "cannot start the scan");
    for (uint32_t j = 0; j < n_keys && rc == LX_OK; j++) {
        keys[j] = planned[j].key;
        const cJSON *k = cJSON_GetObjectItemCaseSensitive(sums, keys[j]);
        if (!cJSON_IsObject(k)) {
            rc = lx_fail(err, LX_E_PARSE, "checksums has no '%s'", keys[j]);
            break;
        }
        static const char *const names[] = {"files", "hashes", "content"};
        for (int c = 0; c < 3; c++) {
            const cJSON *a = cJSON_GetObjectItemCaseSensitive(k, names[c]);
            if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) != n)
                rc = lx_fail(err, LX_E_PARSE, "checksums.%s.%s does not list %lld frames", keys[j],
                             names[c], (long long)n);
            cols[j * 3 + (uint32_t)c] = cJSON_IsArray(a) ? a->child : NULL;
        }
    }
    /* A key the plan has no file for is not an export of this plan. */
    for (const cJSON *k = cJSON_IsObject(sums) ? sums->child : NULL; k && rc == LX_OK;
         k = k->next) {
        /* The files written once per export, besides the frames'. */
        bool known = strcmp(k->string, "video") == 0 && plan->cfg.n_video;
        for (size_t o = 0; o < LX_MANIFEST_N_ONCE && !known; o++)
            known = strcmp(k->string, lx_manifest_once[o].key) == 0 &&
                    (plan->cfg.artifacts & lx_manifest_once[o].art);
        for (uint32_t j = 0; j < n_keys && !known; j++)
            known = strcmp(k->string, keys[j]) == 0;
        if (!known)
            rc = lx_fail(err, LX_E_PARSE, "checksums lists '%s', which the settings do not make",
                         k->string);
    }
    for (int64_t f = plan->first; f <= plan->last && rc == LX_OK; f++) {
        bool damaged = false, missing = false;
        for (uint32_t k = 0; k < n_keys; k++) {
            const cJSON *name = cols[k * 3], *hash = cols[k * 3 + 1], *content = cols[k * 3 + 2];
            if (!cJSON_IsString(name) || !cJSON_IsString(hash) || !cJSON_IsString(content)) {
                rc = lx_fail(err, LX_E_PARSE, "checksums.%s: entry of frame %lld is malformed",
                             keys[k], (long long)f);
                break;
            }
            files[k] = (lx_manifest_file_t){keys[k], name->valuestring, hash->valuestring,
                                            content->valuestring};
            if (f >= first && f <= last && !damaged) {
                int match = s_file_matches(out_dir, keys[k], name->valuestring, hash->valuestring);
                out->checked++;
                out->missing += match < 0;
                out->mismatched += match == 0;
                damaged = match != 1;
                missing = match < 0;
            }
            for (int c = 0; c < 3; c++)
                cols[k * 3 + (uint32_t)c] = cols[k * 3 + (uint32_t)c]->next;
        }
        if (rc != LX_OK)
            break;
        if (damaged && (only & (missing ? LX_REPAIR_MISSING : LX_REPAIR_MISMATCHED))) {
            out->damaged[out->n_damaged++] = f;
            continue;
        }
        /* Intact (or damaged in a way not asked about: kept as listed): its camera and time come
         * from an evaluation, no pixels. */
        const lx_render_frame_t *rf = NULL;
        rc = lx_instance_eval(inst, f, &rf);
        if (rc == LX_OK)
            rc = lx_manifest_add_frame(man, f, rf->time.t_ms, &rf->camera, files, n_keys, err);
    }
    lx_instance_destroy(&inst);
    lx_free(al, cols);
    lx_free(al, keys);
    lx_free(al, files);
    cJSON_Delete(m);
    if (rc != LX_OK) {
        lx_free(al, out->damaged);
        out->damaged = NULL;
    }
    return rc;
}

bool lx_repair_parse_only(const char *list, unsigned *only)
{
    static const char *const words[] = {"missing", "mismatched", "failed"};
    *only = 0;
    const char *p = list;
    while (*p) {
        size_t n = strcspn(p, ",");
        int k = 0;
        while (k < 3 && !(strlen(words[k]) == n && strncmp(p, words[k], n) == 0))
            k++;
        if (k == 3)
            return false;
        *only |= 1u << k;
        p += n + (p[n] == ',');
    }
    return *only != 0;
}
